// Word expansion against BuildKit's behaviour. Many cases are ported from
// BuildKit's shell tests (envVarTest, wordsTest, TestProcessWithMatches); the
// expected values are BuildKit's, not this implementation's output.
#include "dockerfile_parser/expand.h"

#include <chrono>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "common/error.h"

using namespace slipway::dockerfile;
using Catch::Matchers::Contains;

namespace {

using Env = std::map<std::string, std::string>;

std::string W(std::string_view raw, const Env& env, char escape = '\\') {
  ExpandOptions opt;
  opt.escape = escape;
  return expand_word(raw, lookup_in(env), opt);
}

std::vector<std::string> Ws(std::string_view raw, const Env& env) { return expand_words(raw, lookup_in(env)); }

const Env kShellEnv = {{"PWD", "/home"}, {"SHELL", "bash"}, {"KOREAN", "한국어"}, {"NULL", ""}};

// "error" means expansion must throw slipway::Error.
void check_table(const std::vector<std::pair<std::string, std::string>>& cases, const Env& env) {
  for (const auto& [in, want] : cases) {
    INFO("input: " << in);
    if (want == "error") {
      CHECK_THROWS_AS(W(in, env), slipway::Error);
    } else {
      CHECK(W(in, env) == want);
    }
  }
}

}  // namespace

TEST_CASE("quotes and escapes as BuildKit's envVarTest", "[expand]") {
  check_table({{"hello", "hello"},
               {"he'll'o", "hello"},
               {"he'llo", "error"},
               {"he\\'llo", "he'llo"},
               {"he\\\\'llo", "error"},
               {"abc\\tdef", "abctdef"},
               {"\"abc\\tdef\"", "abc\\tdef"},
               {"\"abc\\\\tdef\"", "abc\\tdef"},
               {"'abc\\tdef'", "abc\\tdef"},
               {"hello\\", "hello"},
               {"hello\\\\", "hello\\"},
               {"\"hello", "error"},
               {"\"hello\\\"", "error"},
               {"\"hel'lo\"", "hel'lo"},
               {"'hello", "error"},
               {"'hello\\'", "hello\\"},
               {"'hello\\there'", "hello\\there"},
               {"'hello\\\\there'", "hello\\\\there"},
               {"\"''\"", "''"},
               {"'\"hello\"'", "\"hello\""},
               {"안'녕'하세요", "안녕하세요"},
               {"안'녕하세요", "error"},
               {"안녕\\'하세요", "안녕'하세요"},
               {"안\\\\'녕하세요", "error"},
               {"안녕\\t하세요", "안녕t하세요"},
               {"\"안녕\\t하세요\"", "안녕\\t하세요"},
               {"'안녕\\t하세요", "error"},
               {"안녕하세요\\", "안녕하세요"},
               {"\"안녕하세요\\\"", "error"},
               {"'안녕하세요\\'", "안녕하세요\\"}},
              kShellEnv);
}

TEST_CASE("simple variables as BuildKit's envVarTest", "[expand]") {
  check_table({{"$.", "$."},
               {"$", "$"},
               {"he$1x", "hex"},
               {"he$.x", "he$.x"},
               {"he$pwd.", "he."},  // names are case-sensitive on Linux
               {"he$PWD", "he/home"},
               {"he\\$PWD", "he$PWD"},
               {"he\\\\$PWD", "he\\/home"},
               {"\"he\\$PWD\"", "he$PWD"},
               {"\"he\\\\$PWD\"", "he\\/home"},
               {"\\${}", "${}"},
               {"\\${}aaa", "${}aaa"},
               {"he\\${}xx", "he${}xx"},
               {"he${hi}xx", "hexx"},
               {"he${PWD}", "he/home"},
               {"'he${XX}'", "he${XX}"},
               {"\"he${PWD}\"", "he/home"},
               {"\"he'$PWD'\"", "he'/home'"},
               {"'$PWD'", "$PWD"},
               {"'\\$PWD'", "\\$PWD"},
               {"'he\\$PWD'", "he\\$PWD"},
               {"$KOREAN", "한국어"},
               {"안녕$KOREAN", "안녕한국어"},
               {"안녕$PWD", "안녕/home"},
               {"${aaa}}", "}"},
               {"$PWD-x", "/home-x"},
               {"$PWD_x", ""}},
              kShellEnv);
}

TEST_CASE("syntax errors", "[expand]") {
  check_table({{"${}", "error"},
               {"${}xx", "error"},
               {"he${}", "error"},
               {"he${.}", "error"},
               {"he${XXX:YYY}", "error"},
               {"he${PWD", "error"},
               {"he${PWD:=000}xx", "error"},
               {"${{aaa}", "error"},
               {"${aaa", "error"},
               {"${{aaa", "error"},
               {"${aaa{", "error"},
               {"${aaa:-bbb", "error"},
               {"${aaa:-bbb ${foo}", "error"},
               {"${:}", "error"},
               {"${:-bbb}", "error"},
               {"${:+bbb}", "error"},
               {"${a:}", "error"},
               {"${a:}}", "error"},
               {"${a b}", "error"},
               {"${", "error"},
               {"${a:", "error"},
               {"${FOO=aaa}", "error"},
               {"${FOO=}", "error"}},
              kShellEnv);
  try {
    W("x${}", kShellEnv);
    FAIL("no error");
  } catch (const slipway::Error& e) {
    CHECK_THAT(e.what(), Contains("bad substitution") && Contains("failed to process \"x${}\""));
  }
  CHECK_THROWS_WITH(W("${a", kShellEnv), Contains("missing '}'"));
  CHECK_THROWS_WITH(W("'abc", kShellEnv), Contains("matching single-quote"));
  CHECK_THROWS_WITH(W("\"abc", kShellEnv), Contains("matching double-quote"));
  CHECK_THROWS_WITH(W("${a/x", kShellEnv), Contains("missing '/'"));
}

TEST_CASE("default and alternative values", "[expand]") {
  check_table({{"he${XXX:-000}xx", "he000xx"},
               {"he${PWD:-000}xx", "he/homexx"},
               {"he${XXX:-$PWD}xx", "he/homexx"},
               {"he${XXX:-${PWD:-yyy}}xx", "he/homexx"},
               {"he${XXX:-${YYY:-yyy}}xx", "heyyyxx"},
               {"he${XXX:+${PWD}}xx", "hexx"},
               {"he${PWD:+${XXX}}xx", "hexx"},
               {"he${PWD:+${SHELL}}xx", "hebashxx"},
               {"he${XXX:+000}xx", "hexx"},
               {"he${PWD:+000}xx", "he000xx"},
               {"he${PWD:+${PWD}:}xx", "he/home:xx"},
               {"he${XXX:-\\$PWD:}xx", "he$PWD:xx"},
               {"he${XXX:-\\${PWD}z}xx", "he${PWDz}xx"},
               {"${aaa:-bbb}}", "bbb}"},
               {"${aaa:-bbb}", "bbb"},
               {"${aaa:-${bbb:-ccc}}", "ccc"},
               {"${aaa:-bbb {foo}", "bbb {foo"},
               {"${aaa:-\"x  y\"}", "x  y"},
               {"${aaa:-'$PWD'}", "$PWD"},
               // unset vs empty: the colon forms treat empty as unset
               {"[${NULL-d}]", "[]"},
               {"[${NULL:-d}]", "[d]"},
               {"[${NULL+a}]", "[a]"},
               {"[${NULL:+a}]", "[]"},
               {"[${NOPE-d}]", "[d]"},
               {"[${NOPE+a}]", "[]"},
               {"[${PWD-d}]", "[/home]"},
               {"[${PWD+a}]", "[a]"}},
              kShellEnv);
}

TEST_CASE("required values", "[expand]") {
  check_table({{"he${XXX?}", "error"},
               {"he${XXX:?}", "error"},
               {"he${PWD?}", "he/home"},
               {"he${PWD:?}", "he/home"},
               {"he${NULL?}", "he"},
               {"he${NULL:?}", "error"}},
              kShellEnv);
  // BuildKit's TestShellParserMandatoryEnvVars
  Env set = {{"VAR", "plain"}, {"ARG", "x"}}, empty = {{"VAR", ""}, {"ARG", "x"}}, unset = {{"ARG", "x"}};
  CHECK(W("${VAR:?message here$ARG}", set) == "plain");
  CHECK_THROWS_WITH(W("${VAR:?message here$ARG}", empty), Contains("VAR: message herex"));
  CHECK_THROWS_WITH(W("${VAR:?message here$ARG}", unset), Contains("message herex"));
  CHECK(W("${VAR?message here$ARG}", set) == "plain");
  CHECK(W("${VAR?message here$ARG}", empty).empty());
  CHECK_THROWS_WITH(W("${VAR?message here$ARG}", unset), Contains("message herex"));
  CHECK_THROWS_WITH(W("${VAR?}", unset), Contains("VAR: is not allowed to be unset"));
  CHECK_THROWS_WITH(W("${VAR:?}", empty), Contains("VAR: is not allowed to be empty"));
}

TEST_CASE("positional and special parameters are names like any other", "[expand]") {
  check_table({{"$1", ""},
               {"${1}", ""},
               {"${1:+bbb}", ""},
               {"${1:-bbb}", "bbb"},
               {"$10", ""},
               {"${10:-bbb}", "bbb"},
               {"$@", ""},
               {"${@:-bbb}", "bbb"},
               {"$*", ""},
               {"${#:-bbb}", "bbb"},
               {"$?", ""},
               {"${?:-bbb}", "bbb"},
               {"$-x", "x"},
               {"${-:-bbb}", "bbb"},
               {"$$", ""},
               {"$!", ""},
               {"$0", ""},
               {"${0:-bbb}", "bbb"}},
              kShellEnv);
  CHECK(W("$1x", {{"1", "one"}}) == "onex");
  CHECK(W("$@", {{"@", "all"}}) == "all");
  CHECK(W("a$$b", {{"$", "pid"}}) == "apidb");
}

TEST_CASE("prefix and suffix removal as TestProcessWithMatches", "[expand]") {
  check_table({{"${FOO#()[]{\\}^$.\\*\\?|\\\\}", "x"}}, {{"FOO", "()[]{}^$.*?|\\x"}});
  check_table({{"${FOO%%\\**}", "xx"}}, {{"FOO", "xx**"}});
  check_table({{"${FOO%%\\**\\*}", "a"}}, {{"FOO", "a***yy*"}});
  Env e = {{"FOO", "xxyy"}, {"BAR", "x"}, {"EMPTY", ""}};
  check_table({{"${FOO#*x*y}", "y"},
               {"${FOO#*}", "xxyy"},
               {"${FOO#$BAR}", "xyy"},
               {"${FOO#$EMPTY}", "xxyy"},
               {"${FOO#}", "xxyy"},
               {"${FOO##*x}", "yy"},
               {"${FOO##}", "xxyy"},
               {"${ABC:-.}${FOO%x}${ABC:-.}", ".xxyy."},
               {"${FOO%}", "xxyy"},
               {"${FOO%%$EMPTY}", "xxyy"},
               {"${FOO%y}", "xxy"},
               {"${FOO%%y*}", "xx"},
               {"${FOO%y*}", "xxy"},
               {"${NOPE#x}", ""},
               {"${FOO:#x}", "xyy"}},  // BuildKit accepts a colon before # and %
              e);
  check_table({{"${FOO#?\\?}", "?y"}}, {{"FOO", "???y"}});
}

TEST_CASE("glob patterns in # % on paths", "[expand]") {
  Env e = {{"P", "/usr/local/lib/libz.so.1.2"}, {"K", "한국어"}, {"NL", "a/b\nc/d"}, {"B", "[ab]x"}};
  check_table({{"${P##*/}", "libz.so.1.2"},
               {"${P#*/}", "usr/local/lib/libz.so.1.2"},
               {"${P%/*}", "/usr/local/lib"},
               {"${P%%/*}", ""},
               {"${P%.*}", "/usr/local/lib/libz.so.1"},
               {"${P%%.*}", "/usr/local/lib/libz"},
               {"${P#/usr/\?\?\?\?\?/}", "lib/libz.so.1.2"},  // \? avoids a trigraph
               {"${P#/usr}", "/local/lib/libz.so.1.2"},
               {"${P#nope}", "/usr/local/lib/libz.so.1.2"},
               {"${K#?}", "국어"},
               {"${K%?}", "한국"},
               {"${K##*국}", "어"},
               // BuildKit patterns have no bracket expressions: [ is literal
               {"${B#[ab]}", "x"},
               {"${B#[a]}", "[ab]x"},
               // wildcards never match a newline (Go's `.`)
               {"${NL##*/}", "b\nc/d"},
               {"${NL%%/*}", "a/b\nc"},
               {"${P#\\x}", "error"},
               {"${P#x\\}", "error"}},
              e);
}

TEST_CASE("substitution as TestProcessWithMatches", "[expand]") {
  check_table({{"${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}", "/foo.*/*.txt - /foo..*.txt"}},
              {{"FOO", "/foo*/*/*.txt"}, {"NEEDLE", "\\*/"}});
  check_table({{"${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}", "/tmp/bar.txt - /bar.txt"}},
              {{"FOO", "/tmp/tmp/bar.txt"}, {"NEEDLE", "/tmp"}});
  check_table({{"${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}", "/foo/b/c.txt - /foo/c.txt"}},
              {{"FOO", "/a/foo/b/c.txt"}, {"NEEDLE", "/?/"}, {"REPLACEMENT", "/"}});
  check_table({{"${FOO/$NEEDLE/$REPLACEMENT}", "https://google.de"}},
              {{"FOO", "http://google.de"}, {"NEEDLE", "http://"}, {"REPLACEMENT", "https://"}});
  check_table({{"${FOO//\\//\\/}", "\\/tmp\\/foo.txt"}}, {{"FOO", "/tmp/foo.txt"}});
  check_table({{"${FOO/$BAR/ww}", "wwxxyy"},
               {"${FOO//ww}", "error"},
               {"${FOO//}", "error"},
               {"${FOO///}", "xxyy"},
               {"${NOPE///}", ""}},
              {{"FOO", "xxyy"}, {"BAR", ""}});
}

TEST_CASE("substitution follows Go's regexp replacement rules", "[expand]") {
  Env e = {{"V", "foo.bar.baz"}, {"AB", "ab"}, {"E", ""}, {"ABC", "abc"}};
  check_table({{"${V/./-}", "foo-bar.baz"},
               {"${V//./-}", "foo-bar-baz"},
               {"${V/b*/X}", "foo.X"},  // leftmost, then longest
               {"${V//b?r/X}", "foo.X.baz"},
               {"${V//a/}", "foo.br.bz"},
               {"${V/*/}", ""},
               {"${V//[/x}", "foo.bar.baz"},
               // an empty pattern matches between every character
               {"${AB//$E/-}", "-a-b-"},
               {"${AB/$E/-}", "-ab"},
               // no second replacement for the empty match right after a match
               {"${ABC//*/X}", "X"},
               // ${v//p/r} expands $0 to the match (Go's template); ${v/p/r} does not
               {"${AB//?/'<$0>'}", "<a><b>"},
               {"${AB/?/'<$0>'}", "<$0>b"},
               {"${AB//a/'$$'}", "$b"},
               {"${AB//a/'$'}", "$b"},
               {"${AB//a/'${0}'}", "ab"},
               {"${AB//a/'${0'}", "${0b"},
               {"${AB//a/'$x'}", "b"}},
              e);
}

TEST_CASE("backtick escape character", "[expand]") {
  Env e = {{"PWD", "/home"}, {"S", "`*x"}};
  CHECK(W("he`$PWD", e, '`') == "he$PWD");
  CHECK(W("C:\\path\\$PWD", e, '`') == "C:\\path\\/home");
  CHECK(W("\"a`\"b\"", e, '`') == "a\"b");
  CHECK(W("\"a\\\"", e, '`') == "a\\");
  CHECK(W("\"a``b\"", e, '`') == "a`b");
  CHECK(W("\"a`xb\"", e, '`') == "a`xb");
  CHECK(W("hello`", e, '`') == "hello");
  CHECK(W("a` b", e, '`') == "a b");
  CHECK(W("${X:-`}}", e, '`') == "}");
  // The escape char is kept raw in patterns, where only \ escapes: `* is a
  // literal backtick followed by a wildcard.
  CHECK(W("${S#`*}", e, '`') == "*x");
  CHECK(W("${S##`*}", e, '`') == "");
}

TEST_CASE("word splitting as BuildKit's wordsTest", "[expand]") {
  Env e = {{"hi", "hi"}, {"space", "abc  def"}, {"leading", "  ab c"}, {"trailing", "ab c   "}};
  using V = std::vector<std::string>;
  CHECK(Ws("hello", {}) == V{"hello"});
  CHECK(Ws("hello${hi}bye", {}) == V{"hellobye"});
  CHECK(Ws("hello${hi}bye", e) == V{"hellohibye"});
  CHECK(Ws("hello${space}bye", e) == V{"helloabc", "defbye"});
  CHECK(Ws("hello\"${space}\"bye", e) == V{"helloabc  defbye"});
  CHECK(Ws("hello \"${space}\"bye", e) == V{"hello", "abc  defbye"});
  CHECK(Ws("hello${leading}def", e) == V{"hello", "ab", "cdef"});
  CHECK(Ws("hello\"${leading}\" def", e) == V{"hello  ab c", "def"});
  CHECK(Ws("hello\"${leading}\"", e) == V{"hello  ab c"});
  CHECK(Ws("hello${leading}", e) == V{"hello", "ab", "c"});
  CHECK(Ws("hello${trailing}", e) == V{"helloab", "c"});
  CHECK(Ws("hello${trailing}d", e) == V{"helloab", "c", "d"});
  CHECK(Ws("hello\"${trailing}\"d", e) == V{"helloab c   d"});
  CHECK(Ws("hel\"lo${trailing}\"", e) == V{"helloab c   "});
  CHECK(Ws("hello\" there  \"", e) == V{"hello there  "});
  CHECK(Ws("hello there     ", e) == V{"hello", "there"});
  CHECK(Ws("hello\\ there", e) == V{"hello there"});
  CHECK_THROWS_AS(Ws("hello\" there", e), slipway::Error);
  CHECK(Ws("hello\\\" there", e) == V{"hello\"", "there"});
  CHECK(Ws("hello\"\\\\there\"", e) == V{"hello\\there"});
  CHECK(Ws("hello\"\\there\"", e) == V{"hello\\there"});
  CHECK(Ws("hello'\\\\there'", e) == V{"hello\\\\there"});
  CHECK(Ws("hello'$there'", e) == V{"hello$there"});
  CHECK(Ws("  80/tcp\t 443  ", e) == V{"80/tcp", "443"});
  CHECK(Ws("\"\" a ''", e) == V{"a"});  // empty quoted words vanish, as in BuildKit
  CHECK(Ws("", e).empty());
  // ProcessWord keeps the whitespace that ProcessWords splits on
  CHECK(W("hello${leading}", e) == "hello  ab c");
}

TEST_CASE("matched and unmatched names", "[expand]") {
  Env e = {{"FOO", "xxx"}, {"BAR", ""}};
  auto x = expand("${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}", lookup_in(e));
  CHECK(x.word == "xxx  ccc");
  CHECK(x.matched == std::set<std::string>{"FOO", "BAR"});
  CHECK(x.unmatched == std::set<std::string>{"BAZ"});
  x = expand("${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}", lookup_in(e));
  CHECK(x.word == "aaa  ");
  CHECK(x.unmatched == std::set<std::string>{"BAZ"});
  x = expand("x", lookup_in(e));
  CHECK(x.matched.empty());
  CHECK(x.unmatched.empty());
  x = expand("'$FOO' \\$BAR ${QUX:-$FOO}", lookup_in(e));
  CHECK(x.word == "$FOO $BAR xxx");
  CHECK(x.matched == std::set<std::string>{"FOO"});
  CHECK(x.unmatched == std::set<std::string>{"QUX"});
}

TEST_CASE("platform-style file names (TestProcessWithMatchesPlatform)", "[expand]") {
  const char* release = "something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz";
  CHECK(W(release, {{"VERSION", "v1.2.3"}, {"TARGETOS", "linux"}, {"TARGETARCH", "arm"}, {"TARGETVARIANT", "v7"}}) ==
        "something-v1.2.3.linux-arm-v7.tar.gz");
  CHECK(W(release, {{"VERSION", "v1.2.3"}, {"TARGETOS", "linux"}, {"TARGETARCH", "arm64"}, {"TARGETVARIANT", ""}}) ==
        "something-v1.2.3.linux-arm64.tar.gz");
  CHECK(W(release, {{"VERSION", "v1.2.3"}, {"TARGETOS", "linux"}, {"TARGETARCH", "arm64"}}) ==
        "something-v1.2.3.linux-arm64.tar.gz");
}

TEST_CASE("heredoc mode keeps quotes", "[expand]") {
  ExpandOptions opt;
  opt.process_quotes = false;
  Env e = {{"A", "1"}};
  CHECK(expand_word("echo \"$A\" '$A' \\$A", lookup_in(e), opt) == "echo \"1\" '1' $A");
}

TEST_CASE("no lookup function means every variable is unset", "[expand]") {
  auto x = expand("a${B:-c}$D", VarLookup{});
  CHECK(x.word == "ac");
  CHECK(x.unmatched == std::set<std::string>{"B", "D"});
}

TEST_CASE("hostile input: deep nesting, long values, random bytes", "[expand]") {
  std::string deep;
  for (int i = 0; i < 10000; ++i) deep += "${a:-";
  CHECK_THROWS_WITH(W(deep + "x" + std::string(10000, '}'), {}), Contains("nested too deeply"));
  std::string ok;
  for (int i = 0; i < 30; ++i) ok += "${a:-";
  CHECK(W(ok + "x" + std::string(30, '}'), {}) == "x");

  // Long values must not take quadratic time in the pattern operators.
  Env big = {{"V", std::string(200000, 'a')}, {"N", std::string(200000, 'a') + "\n"}};
  auto t0 = std::chrono::steady_clock::now();
  CHECK(W("${V//a/b}", big) == std::string(200000, 'b'));
  CHECK(W("${V%%*b}", big).size() == 200000);
  CHECK(W("${V##*b}", big).size() == 200000);
  CHECK(W("${V/*b/x}", big).size() == 200000);
  CHECK(W("${N//a*b/x}", big).size() == 200001);
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(secs < 5.0);

  std::mt19937 rng(42);
  const std::string alphabet = "${}:-+?#%/'\"\\`ab* \n\xff\xc3";
  Env e = {{"a", "x*y"}, {"b", ""}};
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    size_t len = rng() % 24;
    for (size_t j = 0; j < len; ++j) s += alphabet[rng() % alphabet.size()];
    try {
      (void)expand(s, lookup_in(e), {(i % 2) ? '`' : '\\', (i % 3) != 0});
    } catch (const slipway::Error&) {
    }
  }
}

TEST_CASE("which instructions and flags expand", "[expand]") {
  for (const char* c : {"ADD", "copy", "ENV", "expose", "FROM", "label", "STOPSIGNAL", "user", "VOLUME", "workdir", "ARG"}) {
    INFO(c);
    CHECK(expands_variables(c));
  }
  for (const char* c : {"RUN", "cmd", "ENTRYPOINT", "shell", "HEALTHCHECK", "maintainer", "ONBUILD", "bogus"}) {
    INFO(c);
    CHECK_FALSE(expands_variables(c));
  }
  CHECK(flag_expands("run", "mount"));
  CHECK_FALSE(flag_expands("run", "network"));
  CHECK(flag_expands("COPY", "chown"));
  CHECK_FALSE(flag_expands("copy", "from"));
  CHECK(flag_expands("copy", "chmod"));
  CHECK(flag_expands("ADD", "chmod"));
  CHECK(flag_expands("add", "chown"));
  CHECK(flag_expands("add", "checksum"));
  CHECK(flag_expands("from", "platform"));
  CHECK_FALSE(flag_expands("copy", "link"));
}

#include "builder/dockerignore.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/error.h"

using slipway::IgnoreMatcher;

namespace {

IgnoreMatcher matcher(const std::vector<std::string>& patterns) {
  std::string text;
  for (const auto& p : patterns) text += p + "\n";
  return IgnoreMatcher::parse(text);
}

bool ex(const std::vector<std::string>& patterns, const std::string& path) {
  return matcher(patterns).excluded(path, false);
}

std::string parse_error(const std::string& text, const std::string& source = ".dockerignore") {
  try {
    IgnoreMatcher::parse(text, source);
  } catch (const slipway::Error& e) {
    return e.message();
  }
  return "";
}

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/slipway-ignore-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  void write(const std::string& rel, const std::string& content) const {
    std::ofstream(path + "/" + rel) << content;
  }
};

}  // namespace

TEST_CASE("reading a .dockerignore like BuildKit") {
  auto m = IgnoreMatcher::parse(
      "\xEF\xBB\xBFtest1\r\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n"
      "  # not a comment\n\t./x/../y/ \n//z\n");
  CHECK(m.patterns() == std::vector<std::string>{"test1", "test2", "a/file/here", "lastfile", "!inverted/abs/path",
                                                 "# not a comment", "y", "z"});
  CHECK(m.has_exceptions());
  CHECK(IgnoreMatcher::parse("").empty());
  CHECK(IgnoreMatcher::parse("# only\n\n   \n").empty());
  CHECK_FALSE(IgnoreMatcher::parse("a\n").has_exceptions());
}

TEST_CASE("invalid patterns name the file, line and pattern") {
  CHECK(parse_error("ok\n\n[a-\n", "ctx/.dockerignore") ==
        "ctx/.dockerignore:3: invalid pattern \"[a-\": syntax error in pattern");
  CHECK(parse_error("a\n!\n") == ".dockerignore:2: invalid pattern \"!\": an exception '!' needs a pattern after it");
  CHECK(parse_error("! \n").find(":1: invalid pattern \"!\"") != std::string::npos);
  for (const char* bad : {"[", "[^", "[^bc", "a[", "[]a]", "[-]", "[x-]", "[-x]", "[a-b-c]", "\\", "x/[z-a]",
                          "ok*/[", "*[", "a\\"}) {
    INFO(bad);
    std::string msg = parse_error(std::string(bad) + "\n");
    CHECK(msg.find(".dockerignore:1: invalid pattern \"" + std::string(bad) + "\"") == 0);
  }
  CHECK(parse_error("[\\]a]\n[\\-x]\n[x\\-]\na[b-d]e\n[a-\xCE\xB6]*\n") == "");
}

// The single-pattern table of moby/patternmatcher's TestMatches, under
// MatchesOrParentMatches semantics (a parent directory match counts).
TEST_CASE("patternmatcher match table") {
  struct Case {
    const char* pattern;
    const char* text;
    bool match;
  };
  const Case cases[] = {
      {"**", "file", true},
      {"**", "file/", true},
      {"**/", "file", true},
      {"**/", "file/", true},
      {"**", "/", true},
      {"**/", "/", true},
      {"**", "dir/file", true},
      {"**/", "dir/file", true},
      {"**", "dir/file/", true},
      {"**/", "dir/file/", true},
      {"**/**", "dir/file", true},
      {"**/**", "dir/file/", true},
      {"dir/**", "dir/file", true},
      {"dir/**", "dir/file/", true},
      {"dir/**", "dir/dir2/file", true},
      {"dir/**", "dir/dir2/file/", true},
      {"**/dir", "dir", true},
      {"**/dir", "dir/file", true},
      {"**/dir2/*", "dir/dir2/file", true},
      {"**/dir2/*", "dir/dir2/file/", true},
      {"**/dir2/**", "dir/dir2/dir3/file", true},
      {"**/dir2/**", "dir/dir2/dir3/file/", true},
      {"**file", "file", true},
      {"**file", "dir/file", true},
      {"**/file", "dir/file", true},
      {"**file", "dir/dir/file", true},
      {"**/file", "dir/dir/file", true},
      {"**/file*", "dir/dir/file", true},
      {"**/file*", "dir/dir/file.txt", true},
      {"**/file*txt", "dir/dir/file.txt", true},
      {"**/file*.txt", "dir/dir/file.txt", true},
      {"**/file*.txt*", "dir/dir/file.txt", true},
      {"**/**/*.txt", "dir/dir/file.txt", true},
      {"**/**/*.txt2", "dir/dir/file.txt", false},
      {"**/*.txt", "file.txt", true},
      {"**/**/*.txt", "file.txt", true},
      {"a**/*.txt", "a/file.txt", true},
      {"a**/*.txt", "a/dir/file.txt", true},
      {"a**/*.txt", "a/dir/dir/file.txt", true},
      {"a/*.txt", "a/dir/file.txt", false},
      {"a/*.txt", "a/file.txt", true},
      {"a/*.txt**", "a/file.txt", true},
      {"a[b-d]e", "ae", false},
      {"a[b-d]e", "ace", true},
      {"a[b-d]e", "aae", false},
      {"a[^b-d]e", "aze", true},
      {".*", ".foo", true},
      {".*", "foo", false},
      {"abc.def", "abcdef", false},
      {"abc.def", "abc.def", true},
      {"abc.def", "abcZdef", false},
      {"abc?def", "abcZdef", true},
      {"abc?def", "abcdef", false},
      {"**/foo/bar", "foo/bar", true},
      {"**/foo/bar", "dir/foo/bar", true},
      {"**/foo/bar", "dir/dir2/foo/bar", true},
      {"abc/**", "abc", false},
      {"abc/**", "abc/def", true},
      {"abc/**", "abc/def/ghi", true},
      {"**/.foo", ".foo", true},
      {"**/.foo", "bar.foo", false},
      {"a(b)c/def", "a(b)c/def", true},
      {"a(b)c/def", "a(b)c/xyz", false},
      {"a.|)$(}+{bc", "a.|)$(}+{bc", true},
      {"dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
       "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true},
      {"dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true},
      {"a\\\\", "a\\", true},
      {"a\\*b", "a*b", true},
      {"a\\*b", "axb", false},
      // Go's filepath.Match table, as patternmatcher runs it.
      {"abc", "abc", true},
      {"*", "abc", true},
      {"*c", "abc", true},
      {"a*", "a", true},
      {"a*", "abc", true},
      {"a*", "ab/c", true},
      {"a*/b", "abc/b", true},
      {"a*/b", "a/c/b", false},
      {"a*b*c*d*e*/f", "axbxcxdxe/f", true},
      {"a*b*c*d*e*/f", "axbxcxdxexxx/f", true},
      {"a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false},
      {"a*b*c*d*e*/f", "axbxcxdxexxx/fff", false},
      {"a*b?c*x", "abxbbxdbxebxczzx", true},
      {"a*b?c*x", "abxbbxdbxebxczzy", false},
      {"ab[c]", "abc", true},
      {"ab[b-d]", "abc", true},
      {"ab[e-g]", "abc", false},
      {"ab[^c]", "abc", false},
      {"ab[^b-d]", "abc", false},
      {"ab[^e-g]", "abc", true},
      {"a?b", "a\xE2\x98\xBA" "b", true},
      {"a[^a]b", "a\xE2\x98\xBA" "b", true},
      {"a???b", "a\xE2\x98\xBA" "b", false},
      {"[a-\xCE\xB6]*", "\xCE\xB1", true},
      {"*[a-\xCE\xB6]", "A", false},
      {"a?b", "a/b", false},
      {"a*b", "a/b", false},
      {"[\\]a]", "]", true},
      {"[\\-]", "-", true},
      {"[x\\-]", "x", true},
      {"[x\\-]", "-", true},
      {"[x\\-]", "z", false},
      {"*x", "xxx", true},
      // Docker's quirks, kept so contexts match docker build's.
      {"**file", "dir/myfile", true},  // leading ** is a plain suffix test
      {"a**b", "ab", true},
      {"a**b", "ax/b", true},
      {"a**b", "axb", false},
      {"[!a]", "!", true},  // only '^' negates
      {"[!a]", "b", false},
      {"docs/", "docs/README.md", true},
  };
  for (const auto& c : cases) {
    INFO("pattern=" << c.pattern << " text=" << c.text);
    CHECK(ex({c.pattern}, c.text) == c.match);
  }
}

TEST_CASE("the last matching pattern wins; exceptions re-include") {
  CHECK(ex({"*"}, "fileutils.go"));
  CHECK(ex({"*.go"}, "fileutils.go"));
  CHECK(ex({"!fileutils.go", "*.go"}, "fileutils.go"));
  CHECK_FALSE(ex({"*.go", "!fileutils.go"}, "fileutils.go"));
  CHECK_FALSE(ex({"docs", "!docs/README.md"}, "docs/README.md"));
  CHECK_FALSE(ex({"docs/", "!docs/README.md"}, "docs/README.md"));
  CHECK_FALSE(ex({"docs/*", "!docs/README.md"}, "docs/README.md"));
  CHECK(ex({"docs", "!docs/README.md"}, "docs/other.md"));
  CHECK_FALSE(ex({"**", "!util/docker/web"}, "util/docker/web/foo"));
  CHECK(ex({"**", "!util/docker/web", "util/docker/web/foo"}, "util/docker/web/foo"));
  CHECK_FALSE(ex({"**", "!dist/*.whl"}, "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl"));
  CHECK_FALSE(ex({}, "any/path"));
  // A pattern that matched a parent still counts after a later exception
  // (moby's MatchesOrParentMatches; its parent-results shortcut gets this wrong).
  CHECK(ex({"a", "!a/b", "a"}, "a/b"));
  CHECK_FALSE(ex({"a", "a", "!a/b"}, "a/b/c"));
}

TEST_CASE("incremental matching agrees with whole-path matching") {
  auto m = matcher({"build", "!build/keep*", "**/*.log", "!important.log", "x/**/y"});
  for (const char* path : {"build/keep.txt", "build/a", "build/keepdir/z.log", "src/a.log", "important.log",
                           "x/y", "x/a/b/y/z", "x/ay", "other"}) {
    std::string p = path;
    IgnoreMatcher::Matches parent, cur;
    bool incremental = false;
    size_t start = 0;
    while (true) {
      size_t slash = p.find('/', start);
      incremental = m.excluded(std::string_view(p).substr(0, slash), parent, &cur);
      parent.swap(cur);
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
    INFO(path);
    CHECK(incremental == m.excluded(p, false));
  }
  CHECK_FALSE(m.excluded("build/keep.txt", false));
  CHECK(m.excluded("build/keepdir/z.log", false));
  CHECK(m.excluded("src/a.log", false));
  CHECK_FALSE(m.excluded("important.log", false));
  CHECK(m.excluded("x/a/b/y/z", false));
  CHECK_FALSE(m.excluded("x/ay", false));
}

TEST_CASE("may_reinclude_under tells when an excluded directory can be pruned") {
  auto m = matcher({"build", "node_modules", "!build/keep.txt", "!**/KEEP", "dist", "!dist/*/bin"});
  CHECK(m.may_reinclude_under("build"));
  CHECK(m.may_reinclude_under("node_modules"));  // "!**/KEEP" could match inside
  CHECK(m.may_reinclude_under("dist"));
  CHECK(m.may_reinclude_under("dist/a"));

  auto n = matcher({"build", "!build/keep.txt", "!src/*.c", "dist", "!dist/*/bin", "!y/q**"});
  CHECK(n.may_reinclude_under("build"));
  CHECK_FALSE(n.may_reinclude_under("buildx"));
  CHECK_FALSE(n.may_reinclude_under("build/sub"));
  CHECK_FALSE(n.may_reinclude_under("src/a.c"));  // an exception matching the dir itself re-includes nothing below
  CHECK(n.may_reinclude_under("dist"));
  CHECK(n.may_reinclude_under("dist/a"));
  CHECK_FALSE(n.may_reinclude_under("dist/a/b"));
  CHECK(n.may_reinclude_under("y"));
  CHECK_FALSE(n.may_reinclude_under("y/r"));
  CHECK_FALSE(n.may_reinclude_under("other"));

  // An exception before the exclusion that covers the directory is overridden
  // below it, so the directory can be pruned.
  auto o = matcher({"!build/keep.txt", "build"});
  CHECK_FALSE(o.may_reinclude_under("build"));
  CHECK(o.excluded("build/keep.txt", false));
  CHECK_FALSE(matcher({"build"}).may_reinclude_under("build"));
}

TEST_CASE("clean_path and path_match follow Go") {
  using slipway::clean_path;
  CHECK(clean_path("") == ".");
  CHECK(clean_path("a/./b/") == "a/b");
  CHECK(clean_path("a//b/../c") == "a/c");
  CHECK(clean_path("../../x") == "../../x");
  CHECK(clean_path("/../x") == "/x");
  CHECK(clean_path("/") == "/");
  CHECK(clean_path("a/..") == ".");
  CHECK(clean_path("abc/def/../../..") == "..");
  CHECK(clean_path("./") == ".");
  CHECK(slipway::path_match("*.txt", "a.txt"));
  CHECK_FALSE(slipway::path_match("*.txt", "d/a.txt"));
  CHECK(slipway::path_match("d/*.go", "d/x.go"));
  CHECK(slipway::path_match("[!a]", "!"));
  CHECK_THROWS_AS(slipway::path_match("a[", "x"), slipway::Error);
  CHECK_THROWS_AS(slipway::path_match("x*[", "y"), slipway::Error);
}

TEST_CASE("the Dockerfile's own ignore file wins over the context's") {
  TempDir ctx;
  std::string used;
  auto none = slipway::load_dockerignore(ctx.path, ctx.path + "/Dockerfile", &used);
  CHECK(none.empty());
  CHECK(used.empty());

  ctx.write(".dockerignore", "from-context\n");
  auto m = slipway::load_dockerignore(ctx.path, ctx.path + "/Dockerfile", &used);
  CHECK(used == ctx.path + "/.dockerignore");
  CHECK(m.excluded("from-context", false));

  std::filesystem::create_directory(ctx.path + "/sub");
  ctx.write("sub/app.Dockerfile.dockerignore", "from-dockerfile\n");
  m = slipway::load_dockerignore(ctx.path, ctx.path + "/sub/app.Dockerfile", &used);
  CHECK(used == ctx.path + "/sub/app.Dockerfile.dockerignore");
  CHECK(m.excluded("from-dockerfile", false));
  CHECK_FALSE(m.excluded("from-context", false));

  ctx.write("bad.Dockerfile.dockerignore", "ok\n[x\n");
  try {
    slipway::load_dockerignore(ctx.path, ctx.path + "/bad.Dockerfile");
    FAIL("expected an error");
  } catch (const slipway::Error& e) {
    CHECK(std::string(e.what()) ==
          ctx.path + "/bad.Dockerfile.dockerignore:2: invalid pattern \"[x\": syntax error in pattern");
  }

  // A FIFO must not hang the build.
  REQUIRE(::mkfifo((ctx.path + "/fifo.Dockerfile.dockerignore").c_str(), 0600) == 0);
  CHECK_THROWS_AS(slipway::load_dockerignore(ctx.path, ctx.path + "/fifo.Dockerfile"), slipway::Error);
}

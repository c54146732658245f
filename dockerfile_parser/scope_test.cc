// ARG/ENV scoping against BuildKit's dockerfile2llb behaviour.
#include "dockerfile_parser/scope.h"

#include <algorithm>

#include <catch2/catch.hpp>

#include "common/error.h"
#include "dockerfile_parser/parser.h"

using namespace slipway;
using namespace slipway::dockerfile;
using Catch::Matchers::Contains;

namespace {

Dockerfile with_args(std::vector<ArgDecl> args, char escape = '\\') {
  Dockerfile df;
  df.path = "Dockerfile";
  df.escape = escape;
  df.args = std::move(args);
  return df;
}

const Platform kAmd64 = parse_platform("linux/amd64");
const Platform kArm64 = parse_platform("linux/arm64/v8");

std::optional<std::string> find(const EnvList& env, const std::string& key) {
  std::optional<std::string> out;
  int n = 0;
  for (const auto& [k, v] : env) {
    if (k == key) out = v, ++n;
  }
  REQUIRE(n <= 1);  // each key at most once
  return out;
}

bool has_arg(const StageScope& s, const std::string& name) {
  const auto& a = s.args();
  return std::any_of(a.begin(), a.end(), [&](const ArgValue& v) { return v.name == name; });
}

}  // namespace

TEST_CASE("platform args use containerd's normalised form", "[scope]") {
  CHECK(platform_arg_form(kArm64).str() == "linux/arm64");
  CHECK(platform_arg_form(kArm64).variant.empty());
  CHECK(platform_arg_form(parse_platform("linux/aarch64")).str() == "linux/arm64");
  CHECK(platform_arg_form(parse_platform("linux/arm")).str() == "linux/arm/v7");
  CHECK(platform_arg_form(parse_platform("linux/arm/v6")).variant == "v6");
  CHECK(platform_arg_form(kAmd64).str() == "linux/amd64");
}

TEST_CASE("global scope: platform args, defaults in order, build args", "[scope]") {
  auto df = with_args({{"A", "1", 1}, {"B", "${A}-2", 2}, {"C", std::nullopt, 3}, {"D", "$TARGETARCH$TARGETVARIANT", 4},
                       {"E", "$F", 5}, {"F", "f", 6}});
  GlobalScope g(df, {}, kAmd64, kArm64);
  CHECK(g.lookup("A") == "1");
  CHECK(g.lookup("B") == "1-2");
  CHECK_FALSE(g.lookup("C"));  // no default, no build arg: unset, not empty
  CHECK(g.lookup("D") == "arm64");
  CHECK(g.lookup("E") == "");  // F is declared after E
  CHECK(g.lookup("TARGETPLATFORM") == "linux/arm64");
  CHECK(g.lookup("TARGETOS") == "linux");
  CHECK(g.lookup("TARGETARCH") == "arm64");
  CHECK(g.lookup("TARGETVARIANT") == "");
  CHECK(g.lookup("BUILDPLATFORM") == "linux/amd64");
  CHECK(g.lookup("BUILDARCH") == "amd64");
  CHECK(g.lookup("BUILDVARIANT") == "");
  CHECK(g.expand("alpine:${A}").word == "alpine:1");
  CHECK(g.expand("--${C:-none}").word == "--none");

  GlobalScope g2(df, {{"A", "9"}, {"C", "c"}, {"F", "ff"}, {"NOTDECLARED", "x"}}, kAmd64,
                 parse_platform("linux/arm/v7"));
  CHECK(g2.lookup("A") == "9");
  CHECK(g2.lookup("B") == "9-2");  // a default sees the overridden value
  CHECK(g2.lookup("C") == "c");
  CHECK(g2.lookup("D") == "armv7");
  CHECK(g2.lookup("E") == "");
  CHECK(g2.lookup("F") == "ff");
  CHECK_FALSE(g2.lookup("NOTDECLARED"));  // build args need an ARG to be seen
  CHECK(g2.lookup("TARGETPLATFORM") == "linux/arm/v7");

  GlobalScope g3(df, {{"B", "bb"}, {"TARGETARCH", "riscv64"}}, kAmd64, kArm64);
  CHECK(g3.lookup("B") == "bb");
  CHECK(g3.lookup("TARGETARCH") == "riscv64");  // platform args can be overridden
  CHECK(g3.lookup("D") == "riscv64");
}

TEST_CASE("global scope errors carry the ARG's line", "[scope]") {
  auto df = with_args({{"A", "1", 1}, {"B", "${A", 3}});
  CHECK_THROWS_WITH(GlobalScope(df, {}, kAmd64, kAmd64), Contains("Dockerfile:3:1: ") && Contains("missing '}'"));
  // A build arg replaces the broken default, which is then never expanded.
  CHECK_NOTHROW(GlobalScope(df, {{"B", "ok"}}, kAmd64, kAmd64));
}

TEST_CASE("a stage sees a global ARG only after re-declaring it", "[scope]") {
  auto df = with_args({{"VERSION", "1.0", 1}, {"G", std::nullopt, 2}});
  GlobalScope g(df, {}, kAmd64, kArm64);
  StageScope s(g, {});
  CHECK_FALSE(s.lookup("VERSION"));
  CHECK(s.expand_word("v$VERSION") == "v");
  CHECK_FALSE(s.lookup("TARGETARCH"));  // platform args too

  s.declare_arg("VERSION");
  CHECK(s.lookup("VERSION") == "1.0");
  s.declare_arg("TARGETARCH");
  CHECK(s.lookup("TARGETARCH") == "arm64");
  s.declare_arg("G");  // global without value: still unset
  CHECK_FALSE(s.lookup("G"));
  CHECK(s.expand_word("${G-unset}") == "unset");

  StageScope s2(g, {});
  s2.declare_arg("VERSION=2.0");  // a stage default beats the global value
  CHECK(s2.lookup("VERSION") == "2.0");

  GlobalScope gb(df, {{"VERSION", "3.0"}}, kAmd64, kArm64);
  StageScope s3(gb, {});
  s3.declare_arg("VERSION=2.0");  // ... and a build arg beats both
  CHECK(s3.lookup("VERSION") == "3.0");
  StageScope s4(gb, {});
  s4.declare_arg("VERSION");
  CHECK(s4.lookup("VERSION") == "3.0");
}

TEST_CASE("stage ARG words and defaults", "[scope]") {
  GlobalScope g(with_args({}), {}, kAmd64, kArm64);
  StageScope s(g, {"HOME=/root"});
  s.declare_arg("Q=\"x y\"");
  CHECK(s.lookup("Q") == "x y");
  s.declare_arg("EMPTY=");
  CHECK(s.lookup("EMPTY") == "");
  s.declare_arg("UNSET");
  CHECK_FALSE(s.lookup("UNSET"));
  s.declare_arg("KV=a=b");
  CHECK(s.lookup("KV") == "a=b");
  s.declare_arg("H=$HOME/x");  // defaults see the image ENV
  CHECK(s.lookup("H") == "/root/x");
  s.declare_arg("V=${TARGETARCH:-none}");  // not declared in this stage
  CHECK(s.lookup("V") == "none");
  s.declare_arg("TARGETARCH");
  s.declare_arg("V2=${TARGETARCH}-x");
  CHECK(s.lookup("V2") == "arm64-x");
  s.declare_arg("SQ='$HOME'");
  CHECK(s.lookup("SQ") == "$HOME");
  CHECK_THROWS_AS(s.declare_arg("=x"), Error);
  CHECK_THROWS_WITH(s.declare_arg("BAD=${"), Contains("missing '}'"));
  s.declare_arg("BUILDKIT_SBOM_SCAN_STAGE=true");  // an ARG BuildKit keeps out of the env
  CHECK_FALSE(s.lookup("BUILDKIT_SBOM_SCAN_STAGE"));
  CHECK(has_arg(s, "BUILDKIT_SBOM_SCAN_STAGE"));

  const auto& a = s.args();
  REQUIRE(a.size() >= 3);
  CHECK(a[0].name == "Q");
  CHECK(a[0].value == "x y");
  CHECK(a[2].name == "UNSET");
  CHECK_FALSE(a[2].value);
  auto run = s.run_environment();
  CHECK(find(run, "Q") == "x y");
  CHECK_FALSE(find(run, "UNSET"));
  CHECK_FALSE(find(s.env(), "Q"));  // ARGs never reach the image config
}

TEST_CASE("stage ARG with a backtick escape", "[scope]") {
  GlobalScope g(with_args({{"W", "a`$b", 1}}, '`'), {}, kAmd64, kAmd64);
  CHECK(g.lookup("W") == "a$b");
  StageScope s(g, {});
  s.declare_arg("P=C:\\dir`$x");
  CHECK(s.lookup("P") == "C:\\dir$x");
}

TEST_CASE("ENV and ARG share one environment, the later one winning", "[scope]") {
  GlobalScope g(with_args({}), {{"B", "from-build-arg"}}, kAmd64, kAmd64);
  StageScope s(g, {});
  s.declare_arg("A=arg");
  s.set_env("A", "env");  // Docker's documented case: ENV after ARG
  CHECK(s.lookup("A") == "env");
  CHECK(find(s.env(), "A") == "env");
  CHECK(find(s.run_environment(), "A") == "env");

  // BuildKit: an ARG with a value after an ENV of the same name replaces it
  // for expansion and RUN; the image config keeps the ENV value.
  s.set_env("B", "env");
  s.declare_arg("B");
  CHECK(s.lookup("B") == "from-build-arg");
  CHECK(find(s.run_environment(), "B") == "from-build-arg");
  CHECK(find(s.env(), "B") == "env");

  // An ARG that stays unset leaves the ENV alone.
  s.set_env("C", "env");
  s.declare_arg("C");
  CHECK(s.lookup("C") == "env");
  CHECK(s.expand_word("$A-$B-$C") == "env-from-build-arg-env");
}

TEST_CASE("stage from an image config", "[scope]") {
  GlobalScope g(with_args({}), {}, kAmd64, kAmd64);
  StageScope s(g, {"PATH=/bin", "HOME=/root", "X=1", "X=2", "NOVALUE"});
  CHECK(s.lookup("X") == "2");
  CHECK(s.lookup("NOVALUE") == "");
  CHECK(to_env_strings(s.env()) == std::vector<std::string>{"PATH=/bin", "HOME=/root", "X=2", "NOVALUE="});
  s.set_env("HOME", "/home/u");  // replaced in place, order kept
  CHECK(to_env_strings(s.env()) == std::vector<std::string>{"PATH=/bin", "HOME=/home/u", "X=2", "NOVALUE="});

  StageScope scratch(g, {});
  CHECK(to_env_strings(scratch.env()) ==
        std::vector<std::string>{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"});
  CHECK(scratch.lookup("PATH"));
}

TEST_CASE("FROM an earlier stage carries its ENV and ARGs", "[scope]") {
  GlobalScope g(with_args({{"V", "1", 1}}), {}, kAmd64, kAmd64);
  StageScope base(g, {});
  base.declare_arg("V");
  base.declare_arg("LOCAL=l");
  base.set_env("E", "e");
  StageScope child = base.inherit();  // FROM base
  CHECK(child.lookup("V") == "1");
  CHECK(child.lookup("LOCAL") == "l");
  CHECK(child.lookup("E") == "e");
  CHECK(has_arg(child, "LOCAL"));
  CHECK(find(child.env(), "E") == "e");
  CHECK_FALSE(find(child.env(), "LOCAL"));
  child.set_env("E", "changed");
  child.declare_arg("MORE=m");
  CHECK(base.lookup("E") == "e");  // the parent is unaffected
  CHECK_FALSE(base.lookup("MORE"));

  // The image ENV is applied again in the child, over the parent's ARG.
  base.set_env("S", "env");
  base.declare_arg("S=arg");
  CHECK(base.lookup("S") == "arg");
  StageScope child2 = base.inherit();
  CHECK(child2.lookup("S") == "env");
  CHECK(has_arg(child2, "S"));
}

TEST_CASE("proxy build args reach RUN without a declaration", "[scope]") {
  GlobalScope g(with_args({}),
                {{"http_proxy", "http://proxy:3128"}, {"NO_PROXY", "localhost"}, {"HTTPS_PROXY", ""}, {"Ftp_Proxy", "ftp://f"}},
                kAmd64, kAmd64);
  StageScope s(g, {});
  auto run = s.run_environment();
  CHECK(find(run, "HTTP_PROXY") == "http://proxy:3128");
  CHECK(find(run, "http_proxy") == "http://proxy:3128");
  CHECK(find(run, "NO_PROXY") == "localhost");
  CHECK(find(run, "no_proxy") == "localhost");
  CHECK(find(run, "FTP_PROXY") == "ftp://f");
  CHECK_FALSE(find(run, "HTTPS_PROXY"));  // empty: not set
  CHECK_FALSE(s.lookup("http_proxy"));    // not visible to expansion undeclared
  CHECK(s.args().empty());                // nor recorded for history
  CHECK_FALSE(find(s.env(), "HTTP_PROXY"));

  s.declare_arg("http_proxy");
  CHECK(s.lookup("http_proxy") == "http://proxy:3128");
  run = s.run_environment();  // find() checks the key is not duplicated
  CHECK(find(run, "http_proxy") == "http://proxy:3128");
  CHECK(find(run, "HTTP_PROXY") == "http://proxy:3128");
  CHECK(g.unused_build_args().empty());
}

TEST_CASE("unused build args", "[scope]") {
  GlobalScope g(with_args({{"A", std::nullopt, 1}}),
                {{"A", "a"}, {"UNUSED", "u"}, {"Z", "z"}, {"TARGETOS", "linux"}, {"HTTP_PROXY", "p"}}, kAmd64, kAmd64);
  CHECK(g.unused_build_args() == std::vector<std::string>{"UNUSED", "Z"});
  StageScope s(g, {});
  s.declare_arg("Z");
  CHECK(g.unused_build_args() == std::vector<std::string>{"UNUSED"});
  CHECK(g.unused_build_args_warning() == "[Warning] One or more build-args [UNUSED] were not consumed");
  StageScope other(g, {});
  other.declare_arg("UNUSED=default");
  CHECK(g.unused_build_args_warning().empty());
  CHECK(other.lookup("UNUSED") == "u");
}

TEST_CASE("history prefix of RUN lists the declared ARGs", "[scope]") {
  GlobalScope g(with_args({}), {{"B", "bb"}, {"HTTP_PROXY", "p"}}, kAmd64, kAmd64);
  StageScope s(g, {});
  CHECK(s.run_history_args().empty());
  s.declare_arg("A=1");
  s.declare_arg("B");
  s.declare_arg("U");
  s.set_env("A", "env");  // the environment's value is what BuildKit records
  s.declare_arg("B=again");
  CHECK(s.run_history_args() == std::vector<std::string>{"|3", "A=env", "B=bb", "U="});
}

TEST_CASE("scopes over a parsed Dockerfile", "[scope]") {
  Dockerfile df = parse(
      "ARG BASE=alpine\n"
      "ARG TAG=3.19\n"
      "ARG SUFFIX=-${TAG}\n"
      "FROM ${BASE}:${TAG} AS build\n"
      "ARG TAG\n"
      "ARG LOCAL=\"x y\" OTHER=$TAG$SUFFIX\n"
      "ENV E=$LOCAL F=${E:-unset}\n"
      "FROM build\n"
      "ARG TARGETOS\n",
      "Dockerfile");
  GlobalScope g(df, {{"TAG", "3.20"}}, kAmd64, kArm64);
  REQUIRE(df.stages.size() == 2);
  CHECK(g.expand(df.stages[0].base).word == "alpine:3.20");
  CHECK(g.lookup("SUFFIX") == "-3.20");

  auto run_stage = [](StageScope& s, const Stage& st) {
    for (const Instruction& in : st.instructions) {
      if (in.cmd == "arg") {
        for (const auto& w : in.args) s.declare_arg(w);
      } else if (in.cmd == "env") {
        std::vector<std::pair<std::string, std::string>> kv;
        for (size_t i = 0; i + 1 < in.args.size(); i += 2) {
          kv.emplace_back(s.expand_word(in.args[i]), s.expand_word(in.args[i + 1]));
        }
        for (const auto& [k, v] : kv) s.set_env(k, v);
      }
    }
  };
  StageScope build(g, {"PATH=/bin"});
  run_stage(build, df.stages[0]);
  CHECK(build.lookup("TAG") == "3.20");
  CHECK(build.lookup("LOCAL") == "x y");
  CHECK(build.lookup("OTHER") == "3.20");  // SUFFIX was not re-declared
  CHECK(build.lookup("E") == "x y");
  CHECK(build.lookup("F") == "unset");  // the pairs of one ENV see the old values
  CHECK(to_env_strings(build.env()) == std::vector<std::string>{"PATH=/bin", "E=x y", "F=unset"});

  StageScope second = build.inherit();
  run_stage(second, df.stages[1]);
  CHECK(second.lookup("TARGETOS") == "linux");
  CHECK(second.lookup("LOCAL") == "x y");
}

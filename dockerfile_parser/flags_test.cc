#include "dockerfile_parser/flags.h"

#include <catch2/catch.hpp>

using namespace slipway::dockerfile;
using slipway::Error;

TEST_CASE("parse_mount: defaults per type", "[flags]") {
  Mount b = parse_mount("target=/src");
  CHECK(b.type == "bind");
  CHECK(b.target == "/src");
  CHECK(b.readonly);
  Mount c = parse_mount("type=cache,target=/root/.cache,id=x,sharing=locked,uid=1000,gid=2,mode=0755");
  CHECK(c.type == "cache");
  CHECK_FALSE(c.readonly);
  CHECK(c.id == "x");
  CHECK(c.sharing == "locked");
  CHECK(c.uid == 1000u);
  CHECK(c.gid == 2u);
  CHECK(c.mode == 0755u);
  CHECK(parse_mount("type=cache,dst=/c").sharing == "shared");
  Mount s = parse_mount("type=secret,id=tok,required,env=TOKEN");
  CHECK(s.target.empty());
  CHECK(s.required);
  CHECK(s.env == "TOKEN");
  Mount t = parse_mount("type=tmpfs,destination=/t,size=64m");
  CHECK(t.size == 64 * 1024 * 1024);
  CHECK_FALSE(t.readonly);
  Mount r = parse_mount("type=bind,source=a,from=build,target=/b,rw=true");
  CHECK_FALSE(r.readonly);
  CHECK(r.from == "build");
  CHECK(r.source == "a");
  CHECK(parse_mount("\"target=/a,b\",ro").target == "/a,b");
  CHECK(parse_mount("type=ssh").type == "ssh");
}

TEST_CASE("parse_mount: errors say what is wrong", "[flags]") {
  auto err = [](const char* v) {
    try {
      (void)parse_mount(v);
    } catch (const Error& e) {
      return std::string(e.message());
    }
    return std::string("no error");
  };
  CHECK(err("type=cache").find("requires a target") != std::string::npos);
  CHECK(err("type=bind,source=x").find("requires a target") != std::string::npos);
  CHECK(err("type=nfs,target=/x").find("unsupported mount type") != std::string::npos);
  CHECK(err("target=/x,foo=bar").find("unexpected key 'foo'") != std::string::npos);
  CHECK(err("target=/x,bogus").find("must be a key=value pair") != std::string::npos);
  CHECK(err("type=cache,target=/x,sharing=sometimes").find("unsupported sharing value") != std::string::npos);
  CHECK(err("target=/x,sharing=shared").find("invalid cache sharing") != std::string::npos);
  CHECK(err("target=/x,mode=0755").find("mode not allowed") != std::string::npos);
  CHECK(err("type=cache,target=/x,mode=9").find("invalid value 9 for mode") != std::string::npos);
  CHECK(err("type=cache,target=/x,uid=-1").find("uid") != std::string::npos);
  CHECK(err("target=/x,required").find("unexpected key 'required'") != std::string::npos);
  CHECK(err("type=secret").find("secret mount requires one of id, source or target") != std::string::npos);
  CHECK(err("type=secret,id=a,from=b").find("don't support from") != std::string::npos);
  CHECK(err("target=/x,ro=maybe").find("invalid value for ro") != std::string::npos);
  CHECK(err("type=tmpfs,target=/x,size=lots").find("invalid value for size") != std::string::npos);
}

TEST_CASE("parse_duration: Go syntax", "[flags]") {
  CHECK(parse_duration("0") == 0);
  CHECK(parse_duration("30s") == 30'000'000'000LL);
  CHECK(parse_duration("1m30s") == 90'000'000'000LL);
  CHECK(parse_duration("1.5h") == 5'400'000'000'000LL);
  CHECK(parse_duration("500ms") == 500'000'000LL);
  CHECK(parse_duration("10us") == 10'000LL);
  CHECK(parse_duration("-2s") == -2'000'000'000LL);
  for (const char* bad : {"", "30", "s", "1x", "1.s.", "1d", "--1s"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_duration(bad), Error);
  }
}

TEST_CASE("parse_chmod and parse_chown", "[flags]") {
  CHECK(parse_chmod("755") == 0755u);
  CHECK(parse_chmod("0644") == 0644u);
  CHECK_THROWS_AS(parse_chmod("999"), Error);
  CHECK_THROWS_AS(parse_chmod("u+x"), Error);
  CHECK_THROWS_AS(parse_chmod("17777"), Error);
  CHECK_THROWS_AS(parse_chmod(""), Error);
  Chown c = parse_chown("app:staff");
  CHECK(c.user == "app");
  CHECK(c.group == "staff");
  CHECK_FALSE(parse_chown("1000").group);
  CHECK_THROWS_AS(parse_chown(":g"), Error);
  CHECK_THROWS_AS(parse_chown("u:"), Error);
  CHECK_THROWS_AS(parse_chown("a:b:c"), Error);
}

TEST_CASE("parse_flags: kinds, repeats, errors", "[flags]") {
  std::map<std::string, std::vector<std::string>> out;
  parse_flags("copy", {{"--link", 0}, {"--parents=FALSE", 0}, {"--exclude=a", 0}, {"--exclude=b", 0}}, out);
  CHECK(out["link"] == std::vector<std::string>{"true"});
  CHECK(out["parents"] == std::vector<std::string>{"false"});
  CHECK(out["exclude"] == std::vector<std::string>{"a", "b"});

  auto idx = [](std::string_view cmd, std::vector<FlagWord> w, std::string& msg) -> long {
    std::map<std::string, std::vector<std::string>> o;
    try {
      parse_flags(cmd, w, o);
    } catch (const FlagError& e) {
      msg = e.message();
      return static_cast<long>(e.index());
    }
    return -1;
  };
  std::string m;
  CHECK(idx("copy", {{"--from=a", 0}, {"--foo", 0}}, m) == 1);
  CHECK(m == "unknown flag: --foo");
  CHECK(idx("env", {{"--from=a", 0}}, m) == 0);
  CHECK(m == "unknown flag: --from");
  CHECK(idx("copy", {{"--from=a", 0}, {"--from=b", 0}}, m) == 1);
  CHECK(m == "duplicate flag specified: --from");
  CHECK(idx("copy", {{"--link", 0}, {"--link", 0}}, m) == 1);
  CHECK(idx("copy", {{"--from", 0}}, m) == 0);
  CHECK(m == "missing a value on flag: --from");
  CHECK(idx("copy", {{"--link=", 0}}, m) == 0);
  CHECK(idx("add", {{"--unpack=yes", 0}}, m) == 0);
  CHECK(m.find("expecting boolean value") != std::string::npos);
  CHECK(idx("run", {{"--mount=type=cache", 0}}, m) == 0);
  CHECK(idx("run", {{"--network=bridge", 0}}, m) == 0);
  CHECK(idx("run", {{"--security=high", 0}}, m) == 0);
  CHECK(idx("healthcheck", {{"--retries=-1", 0}}, m) == 0);
  CHECK(m.find("cannot be negative") != std::string::npos);
  CHECK(idx("healthcheck", {{"--retries=0", 0}, {"--timeout=0s", 0}}, m) == -1);
  CHECK(idx("healthcheck", {{"--retries=x", 0}}, m) == 0);
  CHECK(idx("healthcheck", {{"--timeout=1ns", 0}}, m) == 0);
  CHECK(idx("healthcheck", {{"--start-interval=5", 0}}, m) == 0);
  CHECK(idx("copy", {{"--chmod=8", 0}}, m) == 0);
  // An empty value means "unset" to BuildKit.
  CHECK(idx("copy", {{"--chmod=", 0}, {"--chown=", 0}}, m) == -1);
  CHECK(idx("healthcheck", {{"--interval=", 0}, {"--retries=", 0}}, m) == -1);
  // Values with '$' of expanded flags are left for the builder to validate.
  CHECK(idx("run", {{"--mount=type=$T", 0}}, m) == -1);
  CHECK(idx("copy", {{"--chmod=$MODE", 0}, {"--chown=$U", 0}}, m) == -1);
  // BuildKit never expands these, so "$X" is just a bad value.
  CHECK(idx("run", {{"--network=$NET", 0}}, m) == 0);
  CHECK(idx("run", {{"--security=$S", 0}}, m) == 0);
  CHECK(idx("copy", {{"--link=$L", 0}}, m) == 0);
  CHECK(idx("healthcheck", {{"--interval=$I", 0}}, m) == 0);
  CHECK(idx("run", {{"--mount=type=bind,from=$STAGE,target=/x", 0}}, m) == 0);
  CHECK(m.find("'from' doesn't support variable expansion") != std::string::npos);
  CHECK(idx("run", {{"--mount=type=bind,from=stage$,target=$T", 0}}, m) == -1);
  CHECK(idx("healthcheck", {{"--interval=5s", 0}, {"--retries=3", 0}, {"--start-interval=0", 0}}, m) == -1);
}

TEST_CASE("allowed_flags per instruction", "[flags]") {
  CHECK(allowed_flags("from").size() == 1);
  CHECK(allowed_flags("run").size() == 3);
  CHECK(allowed_flags("copy").size() == 6);
  CHECK(allowed_flags("add").size() == 7);
  CHECK(allowed_flags("healthcheck").size() == 5);
  CHECK(allowed_flags("env").empty());
  CHECK(allowed_flags("workdir").empty());
}

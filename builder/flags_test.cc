#include "builder/flags.h"

#include <catch2/catch.hpp>

#include "common/error.h"

using slipway::cli::FlagSet;

TEST_CASE("flags take --name=value, --name value and -n value") {
  FlagSet fs("slipway test", "[options] ARG", "Test.");
  std::string file;
  std::vector<std::string> dest;
  bool json = false;
  int level = 0;
  fs.add_string("dockerfile", 'f', "FILE", &file, "the Dockerfile");
  fs.add_list("destination", 'd', "REF", &dest, "where to push");
  fs.add_bool("json", 0, &json, "print JSON");
  fs.add_int("level", 0, "N", &level, "level");
  auto pos = fs.parse({"-f", "a/Dockerfile", "ctx", "--destination=r/a:1", "-d", "r/a:2", "--json",
                       "--level", "7", "--", "--not-a-flag"});
  CHECK(file == "a/Dockerfile");
  CHECK(dest == std::vector<std::string>{"r/a:1", "r/a:2"});
  CHECK(json);
  CHECK(level == 7);
  CHECK(pos == std::vector<std::string>{"ctx", "--not-a-flag"});
}

TEST_CASE("unknown flags and missing values are usage errors with exit code 2") {
  FlagSet fs("slipway test", "", "Test.");
  std::string s;
  bool b = false;
  fs.add_string("name", 'n', "X", &s, "");
  fs.add_bool("flag", 0, &b, "");
  try {
    fs.parse({"--bogus"});
    FAIL("expected an error");
  } catch (const slipway::Error& e) {
    CHECK(e.exit_code() == 2);
    CHECK(std::string(e.what()).find("--bogus") != std::string::npos);
  }
  CHECK_THROWS_AS(fs.parse({"--name"}), slipway::Error);
  CHECK_THROWS_AS(fs.parse({"--flag=maybe"}), slipway::Error);
}

TEST_CASE("--help stops parsing and the help lists every flag") {
  FlagSet fs("slipway test", "[options]", "Test command.");
  std::string s;
  fs.add_string("name", 'n', "X", &s, "a name");
  fs.parse({"--help", "--bogus"});
  CHECK(fs.help_requested());
  CHECK(fs.help().find("--name X") != std::string::npos);
  CHECK(fs.help().find("usage: slipway test") == 0);
}

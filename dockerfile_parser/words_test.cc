#include "dockerfile_parser/words.h"

#include <catch2/catch.hpp>

using namespace slipway::dockerfile;

TEST_CASE("split_command: keyword, flags, rest", "[words]") {
  auto s = split_command("  RUN --mount=type=cache,target=/x  --network=none  echo --not-a-flag  ");
  CHECK(s.cmd.text == "RUN");
  CHECK(s.cmd.offset == 2);
  REQUIRE(s.flags.size() == 2);
  CHECK(s.flags[0].text == "--mount=type=cache,target=/x");
  CHECK(s.flags[0].offset == 6);
  CHECK(s.flags[1].text == "--network=none");
  CHECK(s.rest == "echo --not-a-flag");
  CHECK(s.rest_offset == 52);
}

TEST_CASE("split_command: quotes and backslashes in flags are removed", "[words]") {
  auto s = split_command("COPY --chown=\"a b\" --from='x' --y=a\\ b src dst");
  REQUIRE(s.flags.size() == 3);
  CHECK(s.flags[0].text == "--chown=a b");
  CHECK(s.flags[1].text == "--from=x");
  CHECK(s.flags[2].text == "--y=a b");
  CHECK(s.rest == "src dst");
}

TEST_CASE("split_command: -- ends the flags", "[words]") {
  auto s = split_command("RUN --network=host -- --foo");
  REQUIRE(s.flags.size() == 1);
  CHECK(s.rest == "--foo");
  auto t = split_command("RUN --");
  CHECK(t.flags.empty());
  CHECK(t.rest.empty());
  auto u = split_command("RUN -x");
  CHECK(u.flags.empty());
  CHECK(u.rest == "-x");
}

TEST_CASE("parse_words keeps quotes and escapes", "[words]") {
  size_t open = 0;
  auto w = parse_words("A=\"x y\" B='a\\'  C=a\\ b", 10, '\\', &open);
  CHECK(open == std::string::npos);
  REQUIRE(w.size() == 3);
  CHECK(w[0].text == "A=\"x y\"");
  CHECK(w[0].offset == 10);
  CHECK(w[1].text == "B='a\\'");
  CHECK(w[2].text == "C=a\\ b");
  auto u = parse_words("A=\"x", 0, '\\', &open);
  CHECK(open == 2);
  auto bt = parse_words("A=a` b", 0, '`', &open);
  REQUIRE(bt.size() == 1);
  CHECK(bt[0].text == "A=a` b");
}

TEST_CASE("split_whitespace keeps quotes as they are", "[words]") {
  auto w = split_whitespace("\"a b\"\t c", 5);
  REQUIRE(w.size() == 3);
  CHECK(w[0].text == "\"a");
  CHECK(w[1].text == "b\"");
  CHECK(w[2].text == "c");
  CHECK(w[2].offset == 5 + 7);
}

TEST_CASE("parse_json_array", "[words]") {
  std::vector<std::string> v;
  CHECK(parse_json_array(R"(  ["a", "b\n\u00e9\ud83d\ude00", "\/"] )", v) == JsonArray::kOk);
  REQUIRE(v.size() == 3);
  CHECK(v[1] == "b\n\xC3\xA9\xF0\x9F\x98\x80");
  CHECK(v[2] == "/");
  CHECK(parse_json_array("[]", v) == JsonArray::kOk);
  CHECK(v.empty());
  CHECK(parse_json_array("[\"a\", 1]", v) == JsonArray::kNotStrings);
  CHECK(parse_json_array("[[\"a\"], {\"k\": [1, true, null]}]", v) == JsonArray::kNotStrings);
  CHECK(parse_json_array("[\"a\"] && b", v) == JsonArray::kInvalid);
  CHECK(parse_json_array("[a]", v) == JsonArray::kInvalid);
  CHECK(parse_json_array("['a']", v) == JsonArray::kInvalid);
  CHECK(parse_json_array("[\"a\",]", v) == JsonArray::kInvalid);
  CHECK(parse_json_array("[\"a\"", v) == JsonArray::kInvalid);
  CHECK(parse_json_array("[\"a\tb\"]", v) == JsonArray::kInvalid);
  CHECK(parse_json_array("[01]", v) == JsonArray::kInvalid);
  CHECK(parse_json_array("x[]", v) == JsonArray::kInvalid);
  CHECK(parse_json_array(std::string(20000, '[') + std::string(20000, ']'), v) == JsonArray::kInvalid);
  CHECK(parse_json_array(std::string(100, '[') + std::string(100, ']'), v) == JsonArray::kNotStrings);
}

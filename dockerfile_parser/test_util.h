#pragma once
// Helpers shared by the parser's unit tests.
#include <catch2/catch.hpp>
#include <string>
#include <string_view>

#include "dockerfile_parser/parser.h"

namespace slipway::dockerfile::testing {

// Parses `text` and requires a ParseError at line:col whose message contains
// `needle`.
inline void expect_error(std::string_view text, int line, int col, const std::string& needle) {
  INFO("input: " << std::string(text));
  try {
    (void)parse(text, "Dockerfile");
    FAIL("expected a ParseError containing \"" << needle << "\"");
  } catch (const ParseError& e) {
    INFO("error: " << e.what());
    CHECK(e.line() == line);
    CHECK(e.col() == col);
    CHECK(e.reason().find(needle) != std::string::npos);
    CHECK(std::string(e.what()).rfind("Dockerfile:" + std::to_string(line) + ":" + std::to_string(col) + ": ", 0) == 0);
  }
}

// The first instruction of the first stage of "FROM a\n" + text.
inline Instruction first(std::string_view text) {
  Dockerfile df = parse("FROM a\n" + std::string(text));
  REQUIRE(df.stages.size() >= 1);
  REQUIRE(!df.stages[0].instructions.empty());
  return df.stages[0].instructions[0];
}

}  // namespace slipway::dockerfile::testing

#include "dockerfile_parser/lexer.h"

#include <catch2/catch.hpp>

#include "dockerfile_parser/test_util.h"

using namespace slipway::dockerfile;
using slipway::dockerfile::testing::expect_error;

namespace {

std::vector<LogicalLine> lex(std::string_view text, Lexer** keep = nullptr) {
  static std::unique_ptr<Lexer> lx;
  lx = std::make_unique<Lexer>(text, "Dockerfile");
  if (keep) *keep = lx.get();
  std::vector<LogicalLine> out;
  LogicalLine l;
  while (lx->next(l)) out.push_back(l);
  return out;
}

}  // namespace

TEST_CASE("lexer: continuation joins BuildKit-style", "[lexer]") {
  auto ls = lex("RUN a \\\n  b\\  \n\tc\n");
  REQUIRE(ls.size() == 1);
  // The escape char and trailing blanks go; continuation lines keep their indent.
  CHECK(ls[0].text == "RUN a   b\tc");
  CHECK(ls[0].start_line == 1);
  CHECK(ls[0].end_line == 3);
}

TEST_CASE("lexer: comments and blank lines inside continuations are skipped", "[lexer]") {
  auto ls = lex("RUN a \\\n# c1\n   # c2\n\n   \nb\nRUN c\n");
  REQUIRE(ls.size() == 2);
  CHECK(ls[0].text == "RUN a b");
  CHECK(ls[0].end_line == 6);
  CHECK(ls[1].text == "RUN c");
  CHECK(ls[1].start_line == 7);
}

TEST_CASE("lexer: an escaped escape char does not continue", "[lexer]") {
  auto ls = lex("RUN a \\\\\nRUN b\n");
  REQUIRE(ls.size() == 2);
  CHECK(ls[0].text == "RUN a \\\\");
}

TEST_CASE("lexer: a lone escape char line continues", "[lexer]") {
  auto ls = lex("RUN a \\\n\\\nb\n");
  REQUIRE(ls.size() == 1);
  CHECK(ls[0].text == "RUN a b");
}

TEST_CASE("lexer: continuation at end of file", "[lexer]") {
  auto ls = lex("RUN a \\");
  REQUIRE(ls.size() == 1);
  CHECK(ls[0].text == "RUN a ");
}

TEST_CASE("lexer: CRLF line ends and leading blanks", "[lexer]") {
  auto ls = lex("  FROM a\r\nRUN b \\\r\n c\r\n");
  REQUIRE(ls.size() == 2);
  CHECK(ls[0].text == "FROM a");
  CHECK(ls[0].position(0) == std::make_pair(1, 3));
  CHECK(ls[1].text == "RUN b  c");
}

TEST_CASE("lexer: positions map through continuations", "[lexer]") {
  auto ls = lex("\n  RUN a \\\n   bcd\n");
  REQUIRE(ls.size() == 1);
  const auto& l = ls[0];
  CHECK(l.position(0) == std::make_pair(2, 3));  // R
  size_t b = l.text.find('b');
  CHECK(l.position(b) == std::make_pair(3, 4));
}

TEST_CASE("lexer: BOM is stripped but counted in byte columns", "[lexer]") {
  auto ls =
      lex("\xEF\xBB\xBF"
          "FROM a\n");
  REQUIRE(ls.size() == 1);
  CHECK(ls[0].text == "FROM a");
  CHECK(ls[0].position(0) == std::make_pair(1, 4));
}

TEST_CASE("lexer: directives at the top", "[lexer]") {
  Lexer* lx = nullptr;
  auto ls = lex("# syntax=docker/dockerfile:1\n#escape = `\n# check=skip=all\nFROM a\nRUN b `\n c\n", &lx);
  CHECK(lx->directives().at("syntax") == "docker/dockerfile:1");
  CHECK(lx->directives().at("check") == "skip=all");
  CHECK(lx->escape() == '`');
  REQUIRE(ls.size() == 2);
  CHECK(ls[1].text == "RUN b  c");
}

TEST_CASE("lexer: directive keys are case-insensitive, values trimmed", "[lexer]") {
  Lexer* lx = nullptr;
  lex("# SYNTAX =  foo  \nFROM a\n", &lx);
  CHECK(lx->directives().at("syntax") == "foo");
}

TEST_CASE("lexer: directives stop at the first non-directive line", "[lexer]") {
  Lexer* lx = nullptr;
  lex("# a comment\n# escape=`\nFROM a\n", &lx);
  CHECK(lx->directives().empty());
  CHECK(lx->escape() == '\\');
  lex("\n# escape=`\nFROM a\n", &lx);
  CHECK(lx->directives().empty());
  lex("# unknown=1\n# escape=`\nFROM a\n", &lx);
  CHECK(lx->directives().empty());
  lex("FROM a\n# escape=`\n", &lx);
  CHECK(lx->directives().empty());
}

TEST_CASE("lexer: directive errors", "[lexer]") {
  expect_error("# escape=x\nFROM a\n", 1, 1, "invalid escape token 'x'");
  expect_error("# escape=\\\n  # escape=`\nFROM a\n", 2, 3, "only one escape parser directive can be used");
  expect_error("# syntax=a\n# syntax=b\nFROM a\n", 2, 1, "only one syntax parser directive");
}

TEST_CASE("lexer: heredoc bodies", "[lexer]") {
  Lexer lx("RUN <<EOF\nline1\n\tEOF\nEOF\nRUN x\n", "Dockerfile");
  LogicalLine l;
  REQUIRE(lx.next(l));
  std::string body;
  REQUIRE(lx.read_heredoc("EOF", false, body));
  CHECK(body == "line1\n\tEOF\n");
  CHECK(lx.line() == 4);
  REQUIRE(lx.next(l));
  CHECK(l.text == "RUN x");
  CHECK(lx.original(1, 4) == "RUN <<EOF\nline1\n\tEOF\nEOF");

  Lexer lx2("RUN <<-EOF\n\tx\n\t\tEOF\n", "Dockerfile");
  REQUIRE(lx2.next(l));
  body.clear();
  REQUIRE(lx2.read_heredoc("EOF", true, body));
  CHECK(body == "\tx\n");

  Lexer lx3("RUN <<EOF\nx\n", "Dockerfile");
  REQUIRE(lx3.next(l));
  body.clear();
  CHECK_FALSE(lx3.read_heredoc("EOF", false, body));
}

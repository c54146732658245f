#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "dockerfile_parser/parser.h"

using namespace slipway::dockerfile;

TEST_CASE("to_json: the documented shape", "[json]") {
  Dockerfile df = parse(
      "# syntax=x\nARG V=1\nARG W\nFROM --platform=linux/arm64 a AS b\n"
      "RUN --mount=type=cache,target=/c <<EOF\nx\nEOF\nONBUILD RUN y\n");
  nlohmann::json j = to_json(df);
  CHECK(j["directives"] == nlohmann::json{{"syntax", "x"}});
  CHECK(j["args"][0]["name"] == "V");
  CHECK(j["args"][0]["default"] == "1");
  CHECK(j["args"][1]["default"].is_null());
  const auto& st = j["stages"][0];
  CHECK(st["name"] == "b");
  CHECK(st["base"] == "a");
  CHECK(st["platform"] == "linux/arm64");
  CHECK(st["line"] == 4);
  const auto& run = st["instructions"][0];
  CHECK(run["cmd"] == "run");
  CHECK(run["line"] == 5);
  CHECK(run["end_line"] == 7);
  CHECK(run["flags"] == nlohmann::json{{"mount", {"type=cache,target=/c"}}});
  CHECK(run["args"] == nlohmann::json{"<<EOF"});
  CHECK(run["json"] == false);
  CHECK(run["heredocs"] == nlohmann::json::parse(R"([{"name":"EOF","content":"x\n","expand":true,"chomp":false}])"));
  CHECK(run["original"] == "RUN --mount=type=cache,target=/c <<EOF\nx\nEOF");
  CHECK(run.count("trigger") == 0);
  const auto& ob = st["instructions"][1];
  CHECK(ob["trigger"]["cmd"] == "run");
  CHECK(ob["trigger"]["args"] == nlohmann::json{"y"});
  Dockerfile plain = parse("FROM a\n");
  nlohmann::json p = to_json(plain);
  CHECK(p["stages"][0]["name"].is_null());
  CHECK(p["stages"][0]["platform"].is_null());
  CHECK(p["directives"].is_object());
  CHECK(p["args"].is_array());
}

TEST_CASE("to_json: invalid UTF-8 never makes dump() throw", "[json]") {
  Dockerfile df = parse("FROM a\xff\nRUN \xc3(\xe2\x82 ok \xc3\xa9\n");
  std::string s;
  REQUIRE_NOTHROW(s = to_json(df).dump());
  nlohmann::json j = nlohmann::json::parse(s);
  CHECK(j["stages"][0]["base"] == "a\xEF\xBF\xBD");
  CHECK(j["stages"][0]["instructions"][0]["args"][0] == "\xEF\xBF\xBD(\xEF\xBF\xBD\xEF\xBF\xBD ok \xc3\xa9");
}

TEST_CASE("outline: directives, args, stages, lines", "[json]") {
  Dockerfile df = parse("# escape=\\\nARG V=1\nFROM a AS b\nRUN echo \\\n hi\nCOPY [\"x\", \"y\"]\nFROM b\nUSER u\n");
  std::string o = outline(df);
  CHECK(o ==
        "directive escape=\\\n"
        "global ARG V=1 (line 2)\n"
        "stage 0 \"b\": FROM a (line 3)\n"
        "  line 4: RUN echo  hi\n"
        "  line 6: COPY [\"x\", \"y\"]\n"
        "stage 1: FROM b (line 7)\n"
        "  line 8: USER u\n");
}

TEST_CASE("parse_file: reads files, plain Error for missing files and directories", "[json]") {
  char tmpl[] = "/tmp/slipway-parse-XXXXXX";
  int fd = mkstemp(tmpl);
  REQUIRE(fd >= 0);
  std::string text = "FROM a\nRUN b\n";
  REQUIRE(write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  close(fd);
  Dockerfile df = parse_file(tmpl);
  CHECK(df.path == tmpl);
  CHECK(df.stages.at(0).instructions.at(0).args == std::vector<std::string>{"b"});
  unlink(tmpl);
  auto message = [](const std::string& p) {
    try {
      (void)parse_file(p);
    } catch (const ParseError&) {
      return std::string("ParseError");
    } catch (const slipway::Error& e) {
      return std::string(e.message());
    }
    return std::string("no error");
  };
  CHECK(message(tmpl).find("No such file") != std::string::npos);
  CHECK(message("/tmp").find("Is a directory") != std::string::npos);
}

// Runs the Dockerfile corpus in testdata/dockerfiles: every NAME.Dockerfile is
// parsed and checked against NAME.json (a subset of the AST JSON) or
// NAME.error ("LINE:COL: substring" of the expected ParseError). The corpus
// is written from the Dockerfile reference and BuildKit's behaviour, not from
// this parser's output, so it is the parser's independent oracle.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "dockerfile_parser/parser.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path corpus_dir() {
  if (const char* src = std::getenv("SLIPWAY_SOURCE_DIR"); src && *src) {
    return fs::path(src) / "testdata" / "dockerfiles";
  }
  // Running the binary by hand, outside ctest: find the tree from this file.
  return fs::path(__FILE__).parent_path().parent_path() / "testdata" / "dockerfiles";
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// JSON pointer escaping (RFC 6901), so the reported location can be pasted
// into `jq` or nlohmann's json_pointer.
std::string pointer_token(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string brief(const json& j) {
  std::string s = j.dump();
  if (s.size() > 300) s = s.substr(0, 300) + "...";
  return s;
}

// Subset match: every key of an expected object must be in the actual one
// and match; arrays must have the same length and match element-wise;
// scalars must be equal. Returns a description of the first difference.
std::optional<std::string> first_difference(const json& expected, const json& actual,
                                            const std::string& where) {
  const std::string at = where.empty() ? "/" : where;
  if (expected.is_object()) {
    if (!actual.is_object()) return at + ": expected an object, got " + brief(actual);
    for (const auto& [key, value] : expected.items()) {
      const std::string child = where + "/" + pointer_token(key);
      if (!actual.contains(key)) return child + ": missing (expected " + brief(value) + ")";
      if (auto d = first_difference(value, actual.at(key), child)) return d;
    }
    return std::nullopt;
  }
  if (expected.is_array()) {
    if (!actual.is_array()) return at + ": expected an array, got " + brief(actual);
    if (expected.size() != actual.size()) {
      return at + ": expected " + std::to_string(expected.size()) + " elements, got " +
             std::to_string(actual.size()) + ": " + brief(actual);
    }
    for (size_t i = 0; i < expected.size(); ++i) {
      if (auto d = first_difference(expected[i], actual[i], where + "/" + std::to_string(i))) return d;
    }
    return std::nullopt;
  }
  if (expected != actual) return at + ": expected " + brief(expected) + ", got " + brief(actual);
  return std::nullopt;
}

struct ExpectedError {
  int line = 0;
  int col = 0;
  std::string substring;
};

ExpectedError parse_error_file(const fs::path& p) {
  std::string text = read_file(p);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  ExpectedError e;
  size_t c1 = text.find(':');
  size_t c2 = c1 == std::string::npos ? c1 : text.find(':', c1 + 1);
  if (c2 == std::string::npos || text.find('\n') != std::string::npos) {
    throw std::runtime_error(p.string() + ": expected one line LINE:COL: substring");
  }
  e.line = std::stoi(text.substr(0, c1));
  e.col = std::stoi(text.substr(c1 + 1, c2 - c1 - 1));
  e.substring = text.substr(c2 + 1);
  size_t start = e.substring.find_first_not_of(' ');
  e.substring = start == std::string::npos ? "" : e.substring.substr(start);
  if (e.substring.empty()) throw std::runtime_error(p.string() + ": empty error substring");
  return e;
}

struct Case {
  std::string name;
  fs::path dockerfile;
  std::vector<fs::path> expectations;  // NAME.json and/or NAME.error
};

std::map<std::string, Case> load_cases() {
  std::map<std::string, Case> cases;
  for (const auto& entry : fs::directory_iterator(corpus_dir())) {
    const fs::path& p = entry.path();
    const std::string ext = p.extension().string();
    const std::string stem = p.stem().string();
    if (ext == ".Dockerfile") {
      cases[stem].name = stem;
      cases[stem].dockerfile = p;
    } else if (ext == ".json" || ext == ".error") {
      cases[stem].name = stem;
      cases[stem].expectations.push_back(p);
    }
  }
  return cases;
}

void check_case(const Case& c) {
  const fs::path& expectation = c.expectations.front();
  const std::string text = read_file(c.dockerfile);
  const std::string path = c.dockerfile.string();
  if (expectation.extension() == ".json") {
    const json expected = json::parse(read_file(expectation));
    json actual;
    try {
      actual = slipway::dockerfile::to_json(slipway::dockerfile::parse(text, path));
    } catch (const std::exception& e) {
      FAIL(path << ": unexpected error: " << e.what());
    }
    auto diff = first_difference(expected, actual, "");
    if (diff) FAIL(expectation.string() << " at " << *diff);
    SUCCEED();
    return;
  }
  const ExpectedError want = parse_error_file(expectation);
  try {
    json actual = slipway::dockerfile::to_json(slipway::dockerfile::parse(text, path));
    FAIL(path << ": expected error " << want.line << ":" << want.col << ": " << want.substring
              << ", but it parsed: " << brief(actual));
  } catch (const slipway::dockerfile::ParseError& e) {
    INFO(path << ": got error " << e.what());
    INFO("expected " << want.line << ":" << want.col << ": " << want.substring);
    CHECK(e.line() == want.line);
    CHECK(e.col() == want.col);
    CHECK(lower(e.reason()).find(lower(want.substring)) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("corpus: every Dockerfile has exactly one expectation") {
  const auto cases = load_cases();
  size_t negative = 0;
  for (const auto& [name, c] : cases) {
    INFO(name);
    CHECK_FALSE(c.dockerfile.empty());
    CHECK(c.expectations.size() == 1);
    if (c.expectations.size() == 1 && c.expectations.front().extension() == ".error") ++negative;
  }
  CHECK(cases.size() >= 80);
  CHECK(negative >= 25);
}

TEST_CASE("corpus: subset matcher reports the first difference") {
  const json actual = json::parse(R"({"a":{"b/c":[1,{"x":"y","z":2}]},"n":null})");
  CHECK_FALSE(first_difference(json::parse(R"({"a":{"b/c":[1,{"x":"y"}]}})"), actual, ""));
  CHECK_FALSE(first_difference(json::parse(R"({"n":null})"), actual, ""));
  CHECK(first_difference(json::parse(R"({"a":{"b/c":[1]}})"), actual, "").value() ==
        "/a/b~1c: expected 1 elements, got 2: [1,{\"x\":\"y\",\"z\":2}]");
  CHECK(first_difference(json::parse(R"({"a":{"b/c":[1,{"x":"q"}]}})"), actual, "").value() ==
        "/a/b~1c/1/x: expected \"q\", got \"y\"");
  CHECK(first_difference(json::parse(R"({"m":1})"), actual, "").value() == "/m: missing (expected 1)");
  CHECK(first_difference(json::parse(R"({"n":"x"})"), actual, "").value() ==
        "/n: expected \"x\", got null");
}

TEST_CASE("corpus: Dockerfiles parse as expected") {
  const auto cases = load_cases();
  REQUIRE_FALSE(cases.empty());
  for (const auto& [name, c] : cases) {
    if (c.dockerfile.empty() || c.expectations.size() != 1) continue;  // reported above
    DYNAMIC_SECTION(name) { check_case(c); }
  }
}

// Placeholder until the parser lands (issue 2); replaced by the real parser.
#include "dockerfile_parser/parser.h"

#include <nlohmann/json.hpp>

namespace slipway::dockerfile {
Dockerfile parse(std::string_view, const std::string& path) { throw ParseError(path, 1, 1, "parser not built yet"); }
Dockerfile parse_file(const std::string& path) { return parse("", path); }
nlohmann::json to_json(const Dockerfile&) { return nlohmann::json::object(); }
std::string outline(const Dockerfile&) { return ""; }
}  // namespace slipway::dockerfile

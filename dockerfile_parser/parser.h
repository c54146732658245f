#pragma once
// Dockerfile text to AST, following BuildKit's frontend. Errors are thrown as
// ParseError whose what() is "FILE:LINE:COL: message".
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "common/error.h"
#include "dockerfile_parser/ast.h"

namespace slipway::dockerfile {

class ParseError : public Error {
 public:
  ParseError(const std::string& file, int line, int col, const std::string& message)
      : Error(file + ":" + std::to_string(line) + ":" + std::to_string(col) + ": " + message),
        file_(file), line_(line), col_(col), reason_(message) {}
  const std::string& file() const { return file_; }
  int line() const { return line_; }
  int col() const { return col_; }
  const std::string& reason() const { return reason_; }

 private:
  std::string file_;
  int line_;
  int col_;
  std::string reason_;
};

// Parses Dockerfile text. `path` is used only for error messages and
// Dockerfile::path.
Dockerfile parse(std::string_view text, const std::string& path = "Dockerfile");

// Reads and parses a file. A missing file is an Error (not a ParseError).
Dockerfile parse_file(const std::string& path);

// The JSON form printed by `slipway parse --json`.
nlohmann::json to_json(const Dockerfile& df);

// The readable outline printed by `slipway parse`.
std::string outline(const Dockerfile& df);

}  // namespace slipway::dockerfile

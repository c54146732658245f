#pragma once
// Dockerfile text to AST, following BuildKit's frontend. Errors are thrown as
// ParseError whose what() is "FILE:LINE:COL: message" (1-based, byte columns).
//
// AST conventions (the JSON of to_json is the contract):
// - Top level: {"directives": {syntax, escape, check}, "args": [{"name",
//   "default": string|null, "line"}] (global ARGs before the first FROM),
//   "stages": [...]}.
// - Stage: {"name": lower-cased|null, "base": raw, "platform": raw|null,
//   "line", "instructions": [...]}; FROM itself is not an instruction.
// - Instruction: {"cmd": lower case, "line", "end_line", "col", "flags":
//   {name: [values]}, "args": [...], "json": bool, "heredocs": [{"name",
//   "content", "expand", "chomp"}], "original"}; ONBUILD adds "trigger" (an
//   instruction object whose "original" is the text after ONBUILD).
// - Flags are only the leading --x words (BuildKit): quotes removed, values
//   otherwise raw; a bare bool flag is "true", --link=false is "false".
//   Values are validated (flags.h), except '$' values of flags BuildKit
//   expands (--mount, --platform, COPY/ADD --chmod/--chown/...): see
//   expanded_flag(); the builder validates those after expansion.
// - args: RUN/CMD/ENTRYPOINT shell form: [the command text after the flags,
//   continuation lines joined as BuildKit does, trimmed]; exec form: the JSON
//   elements, json=true. COPY/ADD/VOLUME: the whitespace-separated words
//   (quotes NOT removed) or the JSON elements; a heredoc source is its "<<EOF"
//   word. ENV/LABEL: flat [k1, v1, k2, v2...] raw (ENV A="x y" -> ["A",
//   "\"x y\""]); legacy "ENV k v w" -> ["k", "v w"]. ARG: raw words
//   ["a=1", "b"]. EXPOSE, FROM: words. USER, WORKDIR, STOPSIGNAL, MAINTAINER:
//   [whole text]. HEALTHCHECK: ["NONE"], ["CMD", text] or ["CMD", elem...]
//   (json=true). SHELL: JSON elements (json required). ONBUILD: [trigger text].
// - Heredocs (RUN/COPY/ADD shell form): content keeps a newline per line, the
//   terminator line excluded; <<- strips leading tabs; a quoted delimiter
//   gives expand=false. RUN's args stay the first line's text ("<<EOF").
// - original: the source lines line..end_line joined by "\n" (line ends
//   stripped), heredoc bodies and continuation lines included.
// - Nothing is expanded or unquoted: the builder does that (expand.h).
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

#pragma once
// The Dockerfile AST. It keeps raw words: variable expansion is a separate
// function (expand.h) that the builder calls with a scope, because which
// variables are visible depends on build args and stage order.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace slipway::dockerfile {

struct Heredoc {
  std::string name;     // delimiter word, quotes removed
  std::string content;  // body; with chomp, leading tabs already stripped
  bool expand = true;   // false when the delimiter was quoted
  bool chomp = false;   // <<- form
};

struct Instruction {
  std::string cmd;  // lower case: "run", "copy", ...
  int line = 0;     // 1-based first line
  int end_line = 0; // 1-based last line (heredoc bodies and continuations included)
  int col = 1;      // 1-based column of the instruction keyword
  // Flag name (without "--") to raw values, in order of appearance. A bare
  // boolean flag ("--link") is recorded as "true".
  std::map<std::string, std::vector<std::string>> flags;
  // Shell form: one string, the whole command text. Exec (JSON) form: the
  // elements. Other instructions: their raw words (see parser.h).
  std::vector<std::string> args;
  bool json = false;
  std::vector<Heredoc> heredocs;
  std::string original;  // source text of the instruction as written
  // ONBUILD only: the trigger instruction, parsed.
  std::shared_ptr<Instruction> trigger;

  bool has_flag(const std::string& name) const { return flags.count(name) != 0; }
  // Last value of a flag, or nullopt.
  std::optional<std::string> flag(const std::string& name) const {
    auto it = flags.find(name);
    if (it == flags.end() || it->second.empty()) return std::nullopt;
    return it->second.back();
  }
};

struct Stage {
  std::optional<std::string> name;      // "AS name", lower-cased as BuildKit does
  std::string base;                     // raw image reference, stage name or "scratch"
  std::optional<std::string> platform;  // raw --platform value
  int line = 0;
  std::vector<Instruction> instructions;  // everything after FROM, up to the next FROM
};

struct ArgDecl {
  std::string name;
  std::optional<std::string> default_value;  // raw word, unexpanded
  int line = 0;
};

struct Dockerfile {
  std::string path;                           // as given, used in error messages
  std::map<std::string, std::string> directives;  // syntax, escape, check
  char escape = '\\';
  std::vector<ArgDecl> args;  // global ARGs before the first FROM
  std::vector<Stage> stages;
};

}  // namespace slipway::dockerfile

#pragma once
// Phase 2 of parsing, as BuildKit's instructions package: checks a Node's
// flags and arguments and turns it into an Instruction (or, for FROM, a
// Stage). Errors point at the keyword, flag, word or quote at fault.
#include <string>

#include "dockerfile_parser/ast.h"
#include "dockerfile_parser/node.h"

namespace slipway::dockerfile {

class InstructionBuilder {
 public:
  explicit InstructionBuilder(const std::string& path) : path_(path) {}

  // Any instruction but FROM. `original` is the source text of the node's
  // lines; line numbers come from the node.
  Instruction build(const Node& n, int end_line, const std::string& original) const;

  // FROM: base, platform, "AS name" (lower-cased and validated). Sets
  // `name_offset` to where the name is, for duplicate-name errors.
  Stage build_stage(const Node& n, size_t& name_offset) const;

  [[noreturn]] void fail(const Node& n, size_t offset, const std::string& msg) const;

 private:
  void check_args(const Node& n) const;
  const std::string& path_;
};

}  // namespace slipway::dockerfile

#pragma once
// Phase 1 of parsing, as BuildKit's parser package: one logical line becomes
// a Node (keyword, flags, arguments split by the instruction's line parser,
// heredoc bodies). Phase 2 (instructions.h) checks and converts nodes.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dockerfile_parser/heredoc.h"
#include "dockerfile_parser/lexer.h"
#include "dockerfile_parser/words.h"

namespace slipway::dockerfile {

struct Node {
  const LogicalLine* line = nullptr;  // shared by an ONBUILD node and its trigger
  SplitLine split;
  std::string cmd;  // lower case
  std::vector<Word> args;
  bool json = false;
  std::unique_ptr<Node> trigger;  // ONBUILD
  std::vector<HeredocStart> heredocs;
};

class NodeBuilder {
 public:
  NodeBuilder(const std::string& path, char escape) : path_(path), escape_(escape) {}

  // newNodeFromLine on line.text from `begin` on. Throws ParseError.
  Node build(const LogicalLine& line, size_t begin = 0) const;

  // Whether heredocs on this node's line are read (RUN/COPY/ADD, not JSON,
  // possibly as an ONBUILD trigger); returns the node that owns them.
  static Node* heredoc_owner(Node& n);

  [[noreturn]] void fail(const LogicalLine& line, size_t offset, const std::string& msg) const;

 private:
  void parse_args(Node& n) const;
  void parse_name_val(Node& n, const char* key) const;
  void parse_maybe_json(Node& n, std::string_view rest, size_t base, bool to_list) const;

  const std::string& path_;
  char escape_;
};

}  // namespace slipway::dockerfile

// The driver: BuildKit's two passes. Pass 1 (lexer + NodeBuilder) turns the
// whole file into nodes and reads heredoc bodies, so its errors (directives,
// heredocs, JSON, ENV syntax) win over pass 2's, as in BuildKit. Pass 2
// (InstructionBuilder) checks each node and groups instructions into stages.
#include "dockerfile_parser/parser.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <set>

#include "common/fd.h"
#include "dockerfile_parser/instructions.h"
#include "dockerfile_parser/lexer.h"
#include "dockerfile_parser/node.h"

namespace slipway::dockerfile {

namespace {

struct ParsedNode {
  std::unique_ptr<LogicalLine> line;  // stable address: nodes point into it
  Node node;
  int end_line = 0;
};

}  // namespace

Dockerfile parse(std::string_view text, const std::string& path) {
  Lexer lexer(text, path);
  std::vector<ParsedNode> nodes;
  for (;;) {
    auto line = std::make_unique<LogicalLine>();
    if (!lexer.next(*line)) break;
    NodeBuilder nb(path, lexer.escape());
    Node node = nb.build(*line);
    if (Node* owner = NodeBuilder::heredoc_owner(node)) {
      owner->heredocs = heredocs_from_line(line->text);
      for (auto& h : owner->heredocs) {
        if (!lexer.read_heredoc(h.doc.name, h.doc.chomp, h.doc.content)) {
          nb.fail(*line, h.offset, "unterminated heredoc: expected a line \"" + h.doc.name + "\" to end it");
        }
        if (h.doc.chomp) h.doc.content = chomp_heredoc(h.doc.content);
      }
    }
    nodes.push_back({std::move(line), std::move(node), lexer.line()});
  }

  Dockerfile df;
  df.path = path;
  df.directives = lexer.directives();
  df.escape = lexer.escape();
  InstructionBuilder ib(path);
  std::vector<std::pair<size_t, size_t>> names;  // (node index, name offset)
  for (size_t i = 0; i < nodes.size(); ++i) {
    const ParsedNode& pn = nodes[i];
    const Node& n = pn.node;
    if (n.cmd == "from") {
      size_t name_off = 0;
      df.stages.push_back(ib.build_stage(n, name_off));
      if (df.stages.back().name) names.emplace_back(i, name_off);
      continue;
    }
    Instruction ins = ib.build(n, pn.end_line, lexer.original(pn.line->start_line, pn.end_line));
    if (!df.stages.empty()) {
      df.stages.back().instructions.push_back(std::move(ins));
    } else if (ins.cmd == "arg") {
      for (const auto& a : ins.args) {
        ArgDecl d;
        d.line = ins.line;
        size_t eq = a.find('=');
        d.name = a.substr(0, eq);
        if (eq != std::string::npos) d.default_value = a.substr(eq + 1);
        df.args.push_back(std::move(d));
      }
    } else {
      ib.fail(n, n.split.cmd.offset,
              "no FROM instruction: " + n.split.cmd.text + " comes before the first FROM (only ARG may)");
    }
  }
  if (df.stages.empty()) throw ParseError(path, 1, 1, "no FROM instruction: expected FROM IMAGE");
  // Duplicate stage names are checked last, as dockerfile2llb does.
  std::set<std::string> seen;
  size_t k = 0;
  for (const auto& st : df.stages) {
    if (!st.name) continue;
    auto [idx, off] = names[k++];
    if (!seen.insert(*st.name).second) {
      ib.fail(nodes[idx].node, off, "duplicate stage name \"" + *st.name + "\"");
    }
  }
  return df;
}

Dockerfile parse_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw sys_error("reading " + path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw sys_error("reading " + path);
  if (S_ISDIR(st.st_mode)) throw sys_error("reading " + path, EISDIR);
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw sys_error("reading " + path);
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  return parse(text, path);
}

}  // namespace slipway::dockerfile

#include "dockerfile_parser/node.h"

#include <algorithm>

#include "dockerfile_parser/parser.h"

namespace slipway::dockerfile {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

void NodeBuilder::fail(const LogicalLine& line, size_t offset, const std::string& msg) const {
  auto [l, c] = line.position(offset);
  throw ParseError(path_, l, c, msg);
}

Node NodeBuilder::build(const LogicalLine& line, size_t begin) const {
  Node n;
  n.line = &line;
  std::string_view text(line.text);
  n.split = split_command(text.substr(begin));
  // split_command offsets are relative to `begin`.
  n.split.cmd.offset += begin;
  for (auto& f : n.split.flags) f.offset += begin;
  n.split.rest_offset += begin;
  n.cmd = lower(n.split.cmd.text);
  parse_args(n);
  return n;
}

void NodeBuilder::parse_maybe_json(Node& n, std::string_view rest, size_t base, bool to_list) const {
  std::vector<std::string> elems;
  switch (parse_json_array(rest, elems)) {
    case JsonArray::kOk:
      n.json = true;
      for (auto& e : elems) n.args.push_back({std::move(e), base});
      return;
    case JsonArray::kNotStrings:
      fail(*n.line, base, "when using JSON array syntax, arrays must be comprised of strings only");
    case JsonArray::kInvalid:
      break;
  }
  if (to_list) {
    n.args = split_whitespace(rest, base);
  } else if (!rest.empty()) {
    n.args.push_back({std::string(rest), base});
  }
}

// parseNameVal: "k=v k2=v2" or the legacy "k v..." (first word has no '=').
void NodeBuilder::parse_name_val(Node& n, const char* key) const {
  const std::string& rest = n.split.rest;
  size_t base = n.split.rest_offset;
  size_t open = std::string::npos;
  auto words = parse_words(rest, base, escape_, &open);
  if (open != std::string::npos) {
    fail(*n.line, open,
         std::string("unterminated quote in ") + key + ": expected a closing " + n.line->text[open] +
             " before the end of the instruction");
  }
  if (words.empty()) return;
  if (words[0].text.find('=') == std::string::npos) {
    size_t i = 0;
    while (i < rest.size() &&
           !(rest[i] == ' ' || rest[i] == '\t' || rest[i] == '\v' || rest[i] == '\f' || rest[i] == '\r')) {
      ++i;
    }
    if (i == rest.size()) {
      fail(*n.line, n.split.cmd.offset, std::string(key) + " must have two arguments (NAME VALUE or NAME=VALUE)");
    }
    n.args.push_back({rest.substr(0, i), base});
    while (i < rest.size() &&
           (rest[i] == ' ' || rest[i] == '\t' || rest[i] == '\v' || rest[i] == '\f' || rest[i] == '\r')) {
      ++i;
    }
    n.args.push_back({rest.substr(i), base + i});
    return;
  }
  for (const auto& w : words) {
    size_t eq = w.text.find('=');
    if (eq == std::string::npos) {
      fail(*n.line, w.offset, "Syntax error - can't find = in \"" + w.text + "\". Must be of the form: name=value");
    }
    n.args.push_back({w.text.substr(0, eq), w.offset});
    n.args.push_back({w.text.substr(eq + 1), w.offset + eq + 1});
  }
}

void NodeBuilder::parse_args(Node& n) const {
  const std::string& c = n.cmd;
  const std::string& rest = n.split.rest;
  size_t base = n.split.rest_offset;
  if (c == "add" || c == "copy" || c == "volume") {
    parse_maybe_json(n, rest, base, true);
  } else if (c == "run" || c == "cmd" || c == "entrypoint" || c == "shell") {
    if (!rest.empty()) parse_maybe_json(n, rest, base, false);
  } else if (c == "env") {
    parse_name_val(n, "ENV");
  } else if (c == "label") {
    parse_name_val(n, "LABEL");
  } else if (c == "arg") {
    size_t open = std::string::npos;
    n.args = parse_words(rest, base, escape_, &open);
    if (open != std::string::npos) {
      fail(*n.line, open,
           std::string("unterminated quote in ARG: expected a closing ") + n.line->text[open] +
               " before the end of the instruction");
    }
  } else if (c == "expose" || c == "from") {
    n.args = split_whitespace(rest, base);
  } else if (c == "maintainer" || c == "stopsignal" || c == "user" || c == "workdir") {
    if (!rest.empty()) n.args.push_back({rest, base});
  } else if (c == "healthcheck") {
    size_t sep = 0;
    while (sep < rest.size() && !is_space(rest[sep])) ++sep;
    if (sep == 0) return;
    size_t next = sep;
    while (next < rest.size() && is_space(rest[next])) ++next;
    n.args.push_back({rest.substr(0, sep), base});
    std::string_view tail = std::string_view(rest).substr(next);
    if (!tail.empty()) parse_maybe_json(n, tail, base + next, false);
  } else if (c == "onbuild") {
    if (rest.empty()) return;
    n.args.push_back({rest, base});
    // The trigger is parsed like a line of its own. An ONBUILD trigger of
    // an ONBUILD is an error anyway; failing before recursing keeps
    // "ONBUILD ONBUILD ONBUILD..." from recursing once per word.
    size_t kw = 0;
    while (kw < rest.size() && !is_space(rest[kw])) ++kw;
    if (lower(rest.substr(0, kw)) == "onbuild") {
      fail(*n.line, base, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    }
    n.trigger = std::make_unique<Node>(build(*n.line, base));
  }
  // Unknown instructions keep no arguments; phase 2 rejects them.
}

Node* NodeBuilder::heredoc_owner(Node& n) {
  Node* t = &n;
  if (n.cmd == "onbuild" && n.trigger) t = n.trigger.get();
  if (t->cmd != "run" && t->cmd != "copy" && t->cmd != "add") return nullptr;
  if (t->json) return nullptr;
  return t;
}

}  // namespace slipway::dockerfile

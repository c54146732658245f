#include "dockerfile_parser/instructions.h"

#include <algorithm>

#include "dockerfile_parser/flags.h"
#include "dockerfile_parser/heredoc.h"
#include "dockerfile_parser/parser.h"

namespace slipway::dockerfile {

namespace {

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

bool known(const std::string& c) {
  static const char* const kAll[] = {"add",    "arg",   "cmd",         "copy",  "entrypoint", "env",
                                     "expose", "from",  "healthcheck", "label", "maintainer", "onbuild",
                                     "run",    "shell", "stopsignal",  "user",  "volume",     "workdir"};
  return std::any_of(std::begin(kAll), std::end(kAll), [&](const char* k) { return c == k; });
}

bool valid_stage_name(const std::string& s) {
  if (s.empty() || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  });
}

// BuildKit's ONBUILD expression: the original text minus `(?i)^\s*ONBUILD\s*`.
std::string strip_onbuild(const std::string& original) {
  size_t i = 0;
  while (i < original.size() && is_space(original[i])) ++i;
  if (upper(original.substr(i, 7)) == "ONBUILD") {
    i += 7;
    while (i < original.size() && is_space(original[i])) ++i;
    return original.substr(i);
  }
  return original;
}

}  // namespace

void InstructionBuilder::fail(const Node& n, size_t offset, const std::string& msg) const {
  auto [l, c] = n.line->position(offset);
  throw ParseError(path_, l, c, msg);
}

void InstructionBuilder::check_args(const Node& n) const {
  const std::string& c = n.cmd;
  const std::string u = upper(c);
  size_t at = n.split.cmd.offset;
  auto at_least_one = [&] {
    if (n.args.empty()) fail(n, at, u + " requires at least one argument");
  };
  if (c == "add" || c == "copy") {
    if (n.args.size() < 2) {
      fail(n, at,
           u + " requires at least two arguments, but only one was provided. "
               "Destination could not be determined.");
    }
    if (is_heredoc_word(n.args.back().text)) {
      fail(n, n.args.back().offset, u + " cannot accept a heredoc as a destination");
    }
  } else if (c == "env" || c == "label") {
    at_least_one();
    for (size_t i = 0; i < n.args.size(); i += 2) {
      if (n.args[i].text.empty()) fail(n, n.args[i].offset, u + " names can not be blank");
    }
  } else if (c == "arg") {
    at_least_one();
    for (const auto& w : n.args) {
      if (w.text.empty() || w.text[0] == '=') fail(n, w.offset, "ARG names can not be blank");
    }
  } else if (c == "maintainer" || c == "workdir" || c == "user" || c == "stopsignal") {
    if (n.args.size() != 1) fail(n, at, u + " requires exactly one argument");
  } else if (c == "expose" || c == "volume" || c == "onbuild") {
    at_least_one();
    if (c == "volume") {
      for (const auto& w : n.args) {
        if (trim_space(w.text).empty()) fail(n, w.offset, "VOLUME specified can not be an empty string");
      }
    }
  } else if (c == "shell") {
    if (n.args.empty()) fail(n, at, "SHELL requires at least one argument");
    if (!n.json) fail(n, n.split.rest_offset, "SHELL requires the arguments to be in JSON form");
  } else if (c == "healthcheck") {
    at_least_one();
    std::string typ = upper(n.args[0].text);
    if (typ == "NONE") {
      if (n.args.size() != 1) fail(n, n.args[1].offset, "HEALTHCHECK NONE takes no arguments");
    } else if (typ == "CMD") {
      if (n.args.size() < 2) fail(n, n.args[0].offset, "Missing command after HEALTHCHECK CMD");
    } else {
      fail(n, n.args[0].offset, "Unknown type \"" + n.args[0].text + "\" in HEALTHCHECK (try CMD or NONE)");
    }
  }
}

Instruction InstructionBuilder::build(const Node& n, int end_line, const std::string& original) const {
  if (!known(n.cmd)) fail(n, n.split.cmd.offset, "unknown instruction: " + upper(n.split.cmd.text));
  Instruction ins;
  ins.cmd = n.cmd;
  ins.line = n.line->start_line;
  ins.end_line = end_line;
  ins.col = n.line->position(n.split.cmd.offset).second;
  ins.original = original;
  // BuildKit checks the argument count of these before their flags.
  static const char* const kArgsFirst[] = {"add",    "copy", "maintainer", "onbuild",    "workdir",
                                           "expose", "user", "volume",     "stopsignal", "arg"};
  bool args_first =
      std::any_of(std::begin(kArgsFirst), std::end(kArgsFirst), [&](const char* k) { return n.cmd == k; });
  if (args_first) check_args(n);
  if (n.cmd == "healthcheck" && n.args.empty()) {
    fail(n, n.split.cmd.offset, "HEALTHCHECK requires at least one argument");
  }
  std::vector<FlagWord> fw;
  fw.reserve(n.split.flags.size());
  for (const auto& f : n.split.flags) fw.push_back({f.text, f.offset});
  try {
    parse_flags(n.cmd, fw, ins.flags);
  } catch (const FlagError& e) {
    fail(n, fw[e.index()].offset, e.message());
  }
  if (!args_first) check_args(n);
  if (n.cmd == "onbuild") {
    const Node& t = *n.trigger;
    std::string tc = upper(t.cmd);
    if (tc == "MAINTAINER" || tc == "FROM") {
      fail(n, t.split.cmd.offset, tc + " isn't allowed as an ONBUILD trigger");
    }
    std::string expr = strip_onbuild(original);
    ins.trigger = std::make_shared<Instruction>(build(t, end_line, expr));
  }
  ins.json = n.json;
  if (n.cmd == "healthcheck") {
    ins.args.push_back(upper(n.args[0].text));
    for (size_t i = 1; i < n.args.size(); ++i) ins.args.push_back(n.args[i].text);
  } else {
    ins.args.reserve(n.args.size());
    for (const auto& a : n.args) ins.args.push_back(a.text);
  }
  for (const auto& h : n.heredocs) ins.heredocs.push_back(h.doc);
  return ins;
}

Stage InstructionBuilder::build_stage(const Node& n, size_t& name_offset) const {
  Stage st;
  st.line = n.line->start_line;
  const auto& a = n.args;
  if (a.size() == 3 && upper(a[1].text) == "AS") {
    std::string name = a[2].text;
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    if (!valid_stage_name(name)) {
      fail(n, a[2].offset,
           "invalid name for build stage: \"" + a[2].text + "\", name can't start with a number or contain symbols");
    }
    st.name = name;
    name_offset = a[2].offset;
  } else if (a.size() != 1) {
    size_t at = a.size() >= 2 ? a[1].offset : n.split.cmd.offset;
    fail(n, at, "FROM requires either one or three arguments (FROM IMAGE [AS NAME])");
  }
  std::map<std::string, std::vector<std::string>> flags;
  std::vector<FlagWord> fw;
  for (const auto& f : n.split.flags) fw.push_back({f.text, f.offset});
  try {
    parse_flags("from", fw, flags);
  } catch (const FlagError& e) {
    fail(n, fw[e.index()].offset, e.message());
  }
  st.base = a[0].text;
  if (auto it = flags.find("platform"); it != flags.end()) st.platform = it->second.back();
  return st;
}

}  // namespace slipway::dockerfile

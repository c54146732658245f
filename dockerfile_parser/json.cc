// The AST as JSON (the contract documented in parser.h) and as a readable
// outline.
#include <nlohmann/json.hpp>
#include <sstream>

#include "dockerfile_parser/parser.h"

namespace slipway::dockerfile {

namespace {

// nlohmann's dump() throws on invalid UTF-8; a Dockerfile may contain any
// bytes, so invalid sequences become U+FFFD here.
std::string valid_utf8(const std::string& s) {
  std::string out;
  size_t i = 0;
  const size_t n = s.size();
  bool clean = true;
  while (i < n) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    unsigned cp = 0;
    if (c < 0x80) {
      len = 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    }
    bool ok = len > 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (ok && len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp < 0xE000))) ok = false;
    if (ok && len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ok = false;
    if (!ok) {
      if (clean) out.assign(s, 0, i);
      clean = false;
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    if (!clean) out.append(s, i, len);
    i += len;
  }
  return clean ? s : out;
}

nlohmann::json str(const std::string& s) { return valid_utf8(s); }

nlohmann::json opt(const std::optional<std::string>& s) { return s ? str(*s) : nlohmann::json(nullptr); }

nlohmann::json instruction_json(const Instruction& ins) {
  nlohmann::json j;
  j["cmd"] = ins.cmd;
  j["line"] = ins.line;
  j["end_line"] = ins.end_line;
  j["col"] = ins.col;
  nlohmann::json flags = nlohmann::json::object();
  for (const auto& [name, values] : ins.flags) {
    nlohmann::json vs = nlohmann::json::array();
    for (const auto& v : values) vs.push_back(str(v));
    flags[valid_utf8(name)] = std::move(vs);
  }
  j["flags"] = std::move(flags);
  nlohmann::json args = nlohmann::json::array();
  for (const auto& a : ins.args) args.push_back(str(a));
  j["args"] = std::move(args);
  j["json"] = ins.json;
  nlohmann::json docs = nlohmann::json::array();
  for (const auto& h : ins.heredocs) {
    docs.push_back({{"name", str(h.name)}, {"content", str(h.content)}, {"expand", h.expand}, {"chomp", h.chomp}});
  }
  j["heredocs"] = std::move(docs);
  j["original"] = str(ins.original);
  if (ins.trigger) j["trigger"] = instruction_json(*ins.trigger);
  return j;
}

// One line of outline text: control bytes shown escaped so a heredoc or
// odd byte cannot break the layout.
std::string oneline(const std::string& s, size_t max = 70) {
  std::string out;
  for (char c : s) {
    if (out.size() >= max) {
      out += "...";
      break;
    }
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += '?';
    } else {
      out += c;
    }
  }
  return out;
}

void outline_instruction(std::ostringstream& o, const Instruction& ins, const std::string& indent) {
  std::string kw = ins.cmd;
  for (auto& c : kw) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  o << indent << "line " << ins.line << ": " << kw;
  for (const auto& [name, values] : ins.flags) {
    for (const auto& v : values) o << " --" << name << "=" << oneline(v, 40);
  }
  if (ins.trigger) {
    o << "\n";
    outline_instruction(o, *ins.trigger, indent + "  ");
    return;
  }
  if (ins.json) {
    o << " [";
    for (size_t i = 0; i < ins.args.size(); ++i) o << (i ? ", " : "") << "\"" << oneline(ins.args[i], 40) << "\"";
    o << "]";
  } else {
    std::string joined;
    for (const auto& a : ins.args) joined += " " + a;
    o << oneline(joined);
  }
  for (const auto& h : ins.heredocs) {
    o << " <<" << (h.chomp ? "-" : "") << h.name << " (" << h.content.size() << " bytes"
      << (h.expand ? "" : ", no expansion") << ")";
  }
  o << "\n";
}

}  // namespace

nlohmann::json to_json(const Dockerfile& df) {
  nlohmann::json j;
  nlohmann::json dirs = nlohmann::json::object();
  for (const auto& [k, v] : df.directives) dirs[valid_utf8(k)] = str(v);
  j["directives"] = std::move(dirs);
  nlohmann::json args = nlohmann::json::array();
  for (const auto& a : df.args) {
    args.push_back({{"name", str(a.name)}, {"default", opt(a.default_value)}, {"line", a.line}});
  }
  j["args"] = std::move(args);
  nlohmann::json stages = nlohmann::json::array();
  for (const auto& st : df.stages) {
    nlohmann::json s;
    s["name"] = opt(st.name);
    s["base"] = str(st.base);
    s["platform"] = opt(st.platform);
    s["line"] = st.line;
    nlohmann::json ins = nlohmann::json::array();
    for (const auto& i : st.instructions) ins.push_back(instruction_json(i));
    s["instructions"] = std::move(ins);
    stages.push_back(std::move(s));
  }
  j["stages"] = std::move(stages);
  return j;
}

std::string outline(const Dockerfile& df) {
  std::ostringstream o;
  for (const auto& [k, v] : df.directives) o << "directive " << k << "=" << oneline(v) << "\n";
  for (const auto& a : df.args) {
    o << "global ARG " << oneline(a.name);
    if (a.default_value) o << "=" << oneline(*a.default_value);
    o << " (line " << a.line << ")\n";
  }
  for (size_t i = 0; i < df.stages.size(); ++i) {
    const Stage& st = df.stages[i];
    o << "stage " << i;
    if (st.name) o << " \"" << oneline(*st.name) << "\"";
    o << ": FROM " << oneline(st.base);
    if (st.platform) o << " --platform=" << oneline(*st.platform);
    o << " (line " << st.line << ")\n";
    for (const auto& ins : st.instructions) outline_instruction(o, ins, "  ");
  }
  return o.str();
}

}  // namespace slipway::dockerfile

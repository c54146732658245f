#include "dockerfile_parser/lexer.h"

#include <algorithm>

#include "dockerfile_parser/parser.h"

namespace slipway::dockerfile {

namespace {

// Go's regexp \s: no \v.
bool is_re_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'; }

std::string_view trim_left_space(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && is_space(s[i])) ++i;
  return s.substr(i);
}

bool is_comment(std::string_view s) {
  s = trim_left_space(s);
  return !s.empty() && s[0] == '#';
}

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_alnum(char c) { return is_alpha(c) || (c >= '0' && c <= '9'); }

}  // namespace

std::string_view trim_space(std::string_view s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  return s.substr(b, e - b);
}

std::string_view trim_newline(std::string_view s) {
  size_t e = s.size();
  while (e > 0 && (s[e - 1] == '\n' || s[e - 1] == '\r')) --e;
  return s.substr(0, e);
}

std::pair<int, int> LogicalLine::position(size_t offset) const {
  if (segments.empty()) return {start_line, 1};
  offset = std::min(offset, text.size());
  auto it = std::upper_bound(segments.begin(), segments.end(), offset,
                             [](size_t off, const Segment& s) { return off < s.offset; });
  if (it != segments.begin()) --it;
  return {it->line, it->col + static_cast<int>(offset - it->offset)};
}

Lexer::Lexer(std::string_view text, std::string path) : path_(std::move(path)) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    lines_.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  if (!lines_.empty() && lines_[0].substr(0, 3) == "\xEF\xBB\xBF") {
    lines_[0].remove_prefix(3);
    bom_ = 3;
  }
}

// BuildKit's DirectiveParser: `#\s*key\s*=\s*(.+?)\s*$` on each line until the
// first line that is not a known directive (an instruction, a plain comment,
// a blank line, or an unknown directive).
void Lexer::directive(std::string_view s, int lineno, int col) {
  if (directives_done_) return;
  size_t i = 0;
  if (s.empty() || s[0] != '#') {
    directives_done_ = true;
    return;
  }
  ++i;
  while (i < s.size() && is_re_space(s[i])) ++i;
  size_t kb = i;
  if (i >= s.size() || !is_alpha(s[i])) {
    directives_done_ = true;
    return;
  }
  while (i < s.size() && is_alnum(s[i])) ++i;
  std::string key(s.substr(kb, i - kb));
  while (i < s.size() && is_re_space(s[i])) ++i;
  if (i >= s.size() || s[i] != '=') {
    directives_done_ = true;
    return;
  }
  std::string_view rest = s.substr(i + 1);
  if (rest.empty()) {
    directives_done_ = true;
    return;
  }
  std::string_view value = rest;
  while (!value.empty() && is_re_space(value.front())) value.remove_prefix(1);
  while (!value.empty() && is_re_space(value.back())) value.remove_suffix(1);
  // `(.+?)` must take at least one byte: an all-blank value is its last byte.
  if (value.empty()) value = rest.substr(rest.size() - 1);
  std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
  if (key != "syntax" && key != "escape" && key != "check") {
    directives_done_ = true;
    return;
  }
  if (directives_.count(key)) {
    throw ParseError(path_, lineno, col, "only one " + key + " parser directive can be used");
  }
  if (key == "escape") {
    if (value != "`" && value != "\\") {
      throw ParseError(path_, lineno, col, "invalid escape token '" + std::string(value) + "' does not match ` or \\");
    }
    escape_ = value[0];
  }
  directives_[key] = std::string(value);
}

// BuildKit's `([^E])E[ \t]*$|^E[ \t]*$` for escape char E: a trailing escape
// char continues the line unless it is itself escaped.
bool Lexer::cut_continuation(std::string_view& s) const {
  size_t e = s.size();
  while (e > 0 && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  if (e == 0 || s[e - 1] != escape_) return false;
  if (e >= 2 && s[e - 2] == escape_) return false;
  s = s.substr(0, e - 1);
  return true;
}

bool Lexer::next(LogicalLine& out) {
  while (next_ < lines_.size()) {
    int lineno = static_cast<int>(next_) + 1;
    std::string_view s = trim_newline(lines_[next_++]);
    size_t lead = s.size() - trim_left_space(s).size();
    s.remove_prefix(lead);
    int col = static_cast<int>(lead + 1 + (lineno == 1 ? bom_ : 0));
    directive(s, lineno, col);
    if (is_comment(s)) s = {};
    bool more = cut_continuation(s);
    if (!more && s.empty()) continue;

    out.text.assign(s);
    out.segments.clear();
    out.segments.push_back({0, lineno, col});
    out.start_line = lineno;
    while (more && next_ < lines_.size()) {
      int ln = static_cast<int>(next_) + 1;
      std::string_view c = trim_newline(lines_[next_++]);
      directive(c, ln, 1);
      if (is_comment(c)) continue;
      if (trim_left_space(c).empty()) continue;
      more = cut_continuation(c);
      out.segments.push_back({out.text.size(), ln, 1});
      out.text.append(c);
    }
    out.end_line = static_cast<int>(next_);
    return true;
  }
  return false;
}

bool Lexer::read_heredoc(std::string_view name, bool chomp, std::string& content) {
  while (next_ < lines_.size()) {
    std::string_view raw = lines_[next_++];
    std::string_view t = trim_newline(raw);
    if (chomp) {
      while (!t.empty() && t[0] == '\t') t.remove_prefix(1);
    }
    if (t == name) return true;
    content.append(raw);
  }
  return false;
}

std::string Lexer::original(int from, int to) const {
  std::string out;
  for (int i = from; i <= to && i >= 1 && static_cast<size_t>(i) <= lines_.size(); ++i) {
    if (i != from) out += '\n';
    out.append(trim_newline(lines_[static_cast<size_t>(i) - 1]));
  }
  return out;
}

}  // namespace slipway::dockerfile

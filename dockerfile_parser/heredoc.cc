#include "dockerfile_parser/heredoc.h"

#include <optional>

#include "dockerfile_parser/lexer.h"

namespace slipway::dockerfile {

namespace {

struct RawWord {
  std::string_view text;
  size_t offset;
};

// Shell words with quotes and escapes kept raw (BuildKit's lexer with
// RawQuotes and RawEscapes, always '\' as escape). An unterminated quote
// makes BuildKit drop the whole line's heredocs: nullopt.
std::optional<std::vector<RawWord>> shell_words(std::string_view s) {
  std::vector<RawWord> words;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) ++i;
    if (i >= s.size()) break;
    size_t b = i;
    while (i < s.size() && !is_space(s[i])) {
      char c = s[i];
      if (c == '\\') {
        i += 2;
      } else if (c == '\'') {
        size_t e = s.find('\'', i + 1);
        if (e == std::string_view::npos) return std::nullopt;
        i = e + 1;
      } else if (c == '"') {
        ++i;
        while (i < s.size() && s[i] != '"') i += s[i] == '\\' ? 2 : 1;
        if (i >= s.size()) return std::nullopt;
        ++i;
      } else if (c == '<' && i + 1 < s.size() && s[i + 1] == '<') {
        // BuildKit's lexer keeps blanks after "<<" in the word: "<<  EOF".
        i += 2;
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
      } else if (c == '$' && i + 1 < s.size() && s[i + 1] == '{') {
        size_t e = s.find('}', i + 2);
        if (e == std::string_view::npos) return std::nullopt;
        i = e + 1;
      } else {
        ++i;
      }
    }
    i = std::min(i, s.size());
    words.push_back({s.substr(b, i - b), b});
  }
  return words;
}

// The delimiter with quotes and escapes processed; `quoted` tells whether a
// quote pair was used (BuildKit then turns expansion off). nullopt when the
// text is not exactly one word.
std::optional<std::string> unquote(std::string_view s, bool& quoted) {
  std::string out;
  quoted = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (is_space(c)) return std::nullopt;
    if (c == '\\') {
      if (i + 1 < s.size()) out += s[++i];
    } else if (c == '\'') {
      size_t e = s.find('\'', i + 1);
      if (e == std::string_view::npos) return std::nullopt;
      out.append(s.substr(i + 1, e - i - 1));
      i = e;
      quoted = true;
    } else if (c == '"') {
      size_t j = i + 1;
      for (; j < s.size() && s[j] != '"'; ++j) {
        if (s[j] == '\\' && j + 1 < s.size() && (s[j + 1] == '"' || s[j + 1] == '\\' || s[j + 1] == '$')) {
          ++j;
        }
        out += s[j];
      }
      if (j >= s.size()) return std::nullopt;
      i = j;
      quoted = true;
    } else {
      out += c;
    }
  }
  return out;
}

// ^(\d*)<<(-?)\s*([^<]*)$ with a one-word delimiter.
std::optional<Heredoc> parse_heredoc_word(std::string_view t) {
  size_t i = 0;
  while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
  if (t.substr(i, 2) != "<<") return std::nullopt;
  i += 2;
  bool chomp = false;
  if (i < t.size() && t[i] == '-') {
    chomp = true;
    ++i;
  }
  while (i < t.size() && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\f' || t[i] == '\r')) ++i;
  std::string_view rest = t.substr(i);
  if (rest.empty() || rest.find('<') != std::string_view::npos) return std::nullopt;
  bool quoted = false;
  auto name = unquote(rest, quoted);
  if (!name) return std::nullopt;
  Heredoc h;
  h.name = *name;
  h.expand = !quoted;
  h.chomp = chomp;
  return h;
}

}  // namespace

bool is_heredoc_word(std::string_view word) { return parse_heredoc_word(word).has_value(); }

std::vector<HeredocStart> heredocs_from_line(std::string_view line) {
  std::vector<HeredocStart> out;
  if (line.find("<<") == std::string_view::npos) return out;
  auto words = shell_words(line);
  if (!words) return out;
  for (const auto& w : *words) {
    auto doc = parse_heredoc_word(w.text);
    if (!doc) continue;
    out.push_back({std::move(*doc), w.offset});
  }
  return out;
}

std::string chomp_heredoc(std::string_view content) {
  std::string out;
  out.reserve(content.size());
  bool at_line_start = true;
  for (char c : content) {
    if (at_line_start && c == '\t') continue;
    at_line_start = c == '\n';
    out += c;
  }
  return out;
}

}  // namespace slipway::dockerfile

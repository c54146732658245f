#include "dockerfile_parser/words.h"

#include "dockerfile_parser/lexer.h"

namespace slipway::dockerfile {

namespace {

bool is_split_space(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r'; }

}  // namespace

SplitLine split_command(std::string_view line) {
  SplitLine out;
  std::string_view t = trim_space(line);
  size_t base = static_cast<size_t>(t.data() - line.data());
  size_t i = 0;
  while (i < t.size() && !is_split_space(t[i])) ++i;
  out.cmd = {std::string(t.substr(0, i)), base};
  while (i < t.size() && is_split_space(t[i])) ++i;
  std::string_view r = t.substr(i);
  size_t rbase = base + i;

  // extractBuilderFlags: only words that start with "--" are flags; "--"
  // alone ends them. Quotes group and are removed, '\' escapes one byte.
  enum { kSpaces, kWord, kQuote } phase = kSpaces;
  std::string word;
  size_t word_start = 0;
  bool blank_ok = false;
  char quote = 0;
  size_t rest_at = r.size();
  bool done = false;
  for (size_t pos = 0; pos <= r.size() && !done; ++pos) {
    char ch = pos < r.size() ? r[pos] : '\0';
    if (phase == kSpaces) {
      if (pos == r.size()) break;
      if (is_space(ch)) continue;
      if (ch != '-' || pos + 1 == r.size() || r[pos + 1] != '-') {
        rest_at = pos;
        break;
      }
      phase = kWord;
      word_start = pos;
    }
    if (pos == r.size()) {
      if (word != "--" && (blank_ok || !word.empty())) out.flags.push_back({word, rbase + word_start});
      break;
    }
    if (phase == kWord) {
      if (is_space(ch)) {
        phase = kSpaces;
        if (word == "--") {
          rest_at = pos;
          done = true;
          break;
        }
        if (blank_ok || !word.empty()) out.flags.push_back({word, rbase + word_start});
        word.clear();
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blank_ok = true;
        phase = kQuote;
        continue;
      }
      if (ch == '\\') {
        if (pos + 1 == r.size()) continue;
        ch = r[++pos];
      }
      word += ch;
      continue;
    }
    // kQuote
    if (ch == quote) {
      phase = kWord;
      continue;
    }
    if (ch == '\\') {
      if (pos + 1 == r.size()) {
        phase = kWord;
        continue;
      }
      ch = r[++pos];
    }
    word += ch;
  }
  std::string_view rest = r.substr(std::min(rest_at, r.size()));
  std::string_view rt = trim_space(rest);
  out.rest = std::string(rt);
  out.rest_offset = rt.empty() ? rbase + r.size() : rbase + static_cast<size_t>(rt.data() - r.data());
  return out;
}

std::vector<Word> parse_words(std::string_view rest, size_t base, char escape, size_t* open_quote) {
  std::vector<Word> words;
  enum { kSpaces, kWord, kQuote } phase = kSpaces;
  std::string word;
  size_t word_start = 0;
  size_t quote_at = 0;
  bool blank_ok = false;
  char quote = 0;
  *open_quote = std::string_view::npos;
  for (size_t pos = 0; pos <= rest.size(); ++pos) {
    char ch = pos < rest.size() ? rest[pos] : '\0';
    if (phase == kSpaces) {
      if (pos == rest.size()) break;
      if (is_space(ch)) continue;
      phase = kWord;
      word_start = pos;
    }
    if (pos == rest.size()) {
      if (phase == kQuote) *open_quote = base + quote_at;
      if (blank_ok || !word.empty()) words.push_back({word, base + word_start});
      break;
    }
    if (phase == kWord) {
      if (is_space(ch)) {
        phase = kSpaces;
        if (blank_ok || !word.empty()) words.push_back({word, base + word_start});
        word.clear();
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        quote_at = pos;
        blank_ok = true;
        phase = kQuote;
      }
      if (ch == escape) {
        if (pos + 1 == rest.size()) continue;
        word += ch;
        ch = rest[++pos];
      }
      word += ch;
      continue;
    }
    // kQuote: the escape char works except inside single quotes.
    if (ch == quote) phase = kWord;
    if (ch == escape && quote != '\'') {
      if (pos + 1 == rest.size()) {
        phase = kWord;
        continue;
      }
      word += ch;
      ch = rest[++pos];
    }
    word += ch;
  }
  return words;
}

std::vector<Word> split_whitespace(std::string_view rest, size_t base) {
  std::vector<Word> words;
  size_t i = 0;
  while (i < rest.size()) {
    size_t b = i;
    while (i < rest.size() && !is_split_space(rest[i])) ++i;
    words.push_back({std::string(rest.substr(b, i - b)), base + b});
    if (i == rest.size()) break;
    while (i < rest.size() && is_split_space(rest[i])) ++i;
    if (i == rest.size()) words.push_back({"", base + i});  // Go's Split keeps a trailing empty field
  }
  return words;
}

namespace {

bool json_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void put_utf8(std::string& out, unsigned cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// A JSON string at s[i] == '"'; on success i is past the closing quote.
bool json_string(std::string_view s, size_t& i, std::string* out) {
  ++i;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"') {
      ++i;
      return true;
    }
    if (c < 0x20) return false;
    if (c != '\\') {
      if (out) *out += static_cast<char>(c);
      ++i;
      continue;
    }
    if (++i >= s.size()) return false;
    char e = s[i++];
    switch (e) {
      case '"':
      case '\\':
      case '/':
        if (out) *out += e;
        break;
      case 'b':
        if (out) *out += '\b';
        break;
      case 'f':
        if (out) *out += '\f';
        break;
      case 'n':
        if (out) *out += '\n';
        break;
      case 'r':
        if (out) *out += '\r';
        break;
      case 't':
        if (out) *out += '\t';
        break;
      case 'u': {
        auto hex4 = [&](size_t at, unsigned& v) {
          if (at + 4 > s.size()) return false;
          v = 0;
          for (size_t k = 0; k < 4; ++k) {
            int h = hexval(s[at + k]);
            if (h < 0) return false;
            v = v * 16 + static_cast<unsigned>(h);
          }
          return true;
        };
        unsigned cp = 0;
        if (!hex4(i, cp)) return false;
        i += 4;
        if (cp >= 0xD800 && cp < 0xDC00) {
          unsigned lo = 0;
          if (i + 1 < s.size() && s[i] == '\\' && s[i + 1] == 'u' && hex4(i + 2, lo) && lo >= 0xDC00 && lo < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
          } else {
            cp = 0xFFFD;  // as Go: a lone surrogate decodes to U+FFFD
          }
        } else if (cp >= 0xDC00 && cp < 0xE000) {
          cp = 0xFFFD;
        }
        if (out) put_utf8(*out, cp);
        break;
      }
      default:
        return false;
    }
  }
  return false;
}

bool json_literal(std::string_view s, size_t& i) {
  for (std::string_view lit : {"true", "false", "null"}) {
    if (s.substr(i, lit.size()) == lit) {
      i += lit.size();
      return true;
    }
  }
  return false;
}

bool json_number(std::string_view s, size_t& i) {
  auto digit = [&](size_t k) { return k < s.size() && s[k] >= '0' && s[k] <= '9'; };
  if (i < s.size() && s[i] == '-') ++i;
  if (!digit(i)) return false;
  if (s[i] == '0') {
    ++i;
  } else {
    while (digit(i)) ++i;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digit(i)) return false;
    while (digit(i)) ++i;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digit(i)) return false;
    while (digit(i)) ++i;
  }
  return true;
}

}  // namespace

// Iterative, so deep nesting cannot overflow the stack; Go's scanner gives up
// past 10000 levels, and so do we.
JsonArray parse_json_array(std::string_view s, std::vector<std::string>& out) {
  out.clear();
  size_t i = 0;
  while (i < s.size() && is_space(s[i])) ++i;
  if (i >= s.size() || s[i] != '[') return JsonArray::kInvalid;
  std::vector<char> stack;  // '[' or '{'
  bool all_strings = true;
  std::vector<std::string> elems;
  // state: expecting a value (or a close right after an opener)
  stack.push_back('[');
  ++i;
  bool after_open = true;
  for (;;) {
    while (i < s.size() && json_ws(s[i])) ++i;
    if (i >= s.size()) return JsonArray::kInvalid;
    char top = stack.back();
    if (after_open && ((top == '[' && s[i] == ']') || (top == '{' && s[i] == '}'))) {
      ++i;
      stack.pop_back();
      if (stack.empty()) break;
    } else {
      if (top == '{') {
        if (s[i] != '"' || !json_string(s, i, nullptr)) return JsonArray::kInvalid;
        while (i < s.size() && json_ws(s[i])) ++i;
        if (i >= s.size() || s[i] != ':') return JsonArray::kInvalid;
        ++i;
        while (i < s.size() && json_ws(s[i])) ++i;
        if (i >= s.size()) return JsonArray::kInvalid;
      }
      bool element = stack.size() == 1;
      char c = s[i];
      if (c == '[' || c == '{') {
        if (stack.size() >= 10000) return JsonArray::kInvalid;
        if (element) all_strings = false;
        stack.push_back(c);
        ++i;
        after_open = true;
        continue;
      }
      if (c == '"') {
        std::string v;
        if (!json_string(s, i, element ? &v : nullptr)) return JsonArray::kInvalid;
        if (element) elems.push_back(std::move(v));
      } else if (c == 't' || c == 'f' || c == 'n') {
        if (!json_literal(s, i)) return JsonArray::kInvalid;
        if (element) all_strings = false;
      } else {
        if (!json_number(s, i)) return JsonArray::kInvalid;
        if (element) all_strings = false;
      }
    }
    // after a value: ',' or the closer of the current container
    for (;;) {
      while (i < s.size() && json_ws(s[i])) ++i;
      if (i >= s.size()) return JsonArray::kInvalid;
      char closer = stack.back() == '[' ? ']' : '}';
      if (s[i] == ',') {
        ++i;
        after_open = false;
        break;
      }
      if (s[i] != closer) return JsonArray::kInvalid;
      ++i;
      stack.pop_back();
      if (stack.empty()) break;
    }
    if (stack.empty()) break;
  }
  // json.Unmarshal checks the whole input: only blanks may follow the array.
  while (i < s.size() && json_ws(s[i])) ++i;
  if (i != s.size()) return JsonArray::kInvalid;
  if (!all_strings) return JsonArray::kNotStrings;
  out = std::move(elems);
  return JsonArray::kOk;
}

}  // namespace slipway::dockerfile

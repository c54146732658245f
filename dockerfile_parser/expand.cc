#include "dockerfile_parser/expand.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <utility>

#include "common/error.h"

namespace slipway::dockerfile {
namespace {

constexpr int kEof = -1;
// BuildKit recurses without limit; a bound keeps hostile input off our stack.
constexpr int kMaxDepth = 64;

// One UTF-8 character of the input. Invalid bytes are single-byte runes of
// their own, so they pass through unchanged (Go would turn them into U+FFFD).
struct Rune {
  int cp = kEof;
  size_t len = 0;
};

Rune decode(std::string_view s, size_t pos) {
  if (pos >= s.size()) return {};
  auto c = static_cast<unsigned char>(s[pos]);
  if (c < 0x80) return {c, 1};
  size_t n = 0;
  int cp = 0;
  if ((c & 0xE0) == 0xC0) {
    n = 2, cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3, cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4, cp = c & 0x07;
  } else {
    return {0xFFFD, 1};
  }
  if (pos + n > s.size()) return {0xFFFD, 1};
  for (size_t i = 1; i < n; ++i) {
    auto cc = static_cast<unsigned char>(s[pos + i]);
    if ((cc & 0xC0) != 0x80) return {0xFFFD, 1};
    cp = (cp << 6) | (cc & 0x3F);
  }
  bool overlong = (n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000);
  if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {0xFFFD, 1};
  return {cp, n};
}

// Go's unicode.IsSpace.
bool is_space(int cp) {
  switch (cp) {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
    case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

// Go's unicode.IsDigit (category Nd), for the scripts people write in.
bool is_digit(int cp) {
  if (cp >= '0' && cp <= '9') return true;
  static constexpr int kZeros[] = {0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6,
                                   0xC66, 0xCE6, 0xD66, 0xE50, 0xED0, 0xF20, 0x1040, 0xFF10};
  for (int z : kZeros) {
    if (cp >= z && cp <= z + 9) return true;
  }
  return false;
}

// An approximation of Go's unicode.IsLetter: exact for ASCII and Latin-1,
// covering the main alphabetic blocks beyond (Greek, Cyrillic, Hebrew,
// Arabic, Indic, CJK, Kana, Hangul).
bool is_letter(int cp) {
  if (cp < 0x80) return std::isalpha(cp) != 0;
  if (cp == 0xAA || cp == 0xB5 || cp == 0xBA) return true;
  if (cp < 0xC0 || cp == 0xD7 || cp == 0xF7) return false;
  static constexpr std::pair<int, int> kRanges[] = {
      {0xC0, 0x2C1},     {0x370, 0x373},     {0x376, 0x377},   {0x37B, 0x37D},   {0x386, 0x386},
      {0x388, 0x3FF},    {0x400, 0x481},     {0x48A, 0x52F},   {0x531, 0x556},   {0x561, 0x587},
      {0x5D0, 0x5EA},    {0x620, 0x64A},     {0x671, 0x6D3},   {0x904, 0x939},   {0x985, 0x9B9},
      {0xE01, 0xE30},    {0x10A0, 0x10FF},   {0x1100, 0x11FF}, {0x1E00, 0x1FBC}, {0x3041, 0x3096},
      {0x30A1, 0x30FA},  {0x3105, 0x312F},   {0x3131, 0x318E}, {0x3400, 0x4DBF}, {0x4E00, 0x9FFF},
      {0xAC00, 0xD7A3},  {0xF900, 0xFAFF},   {0xFF21, 0xFF3A}, {0xFF41, 0xFF5A}, {0xFF66, 0xFFDC},
      {0x20000, 0x2FFFF}};
  for (auto [lo, hi] : kRanges) {
    if (cp >= lo && cp <= hi) return true;
  }
  return false;
}

// POSIX special parameters, which BuildKit reads as one-character names.
bool is_special_param(int cp) {
  switch (cp) {
    case '@': case '*': case '#': case '?': case '-': case '$': case '!': case '0':
      return true;
    default:
      return false;
  }
}

// Internal error: carries BuildKit's inner message; expand() wraps it.
struct LexError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// ---- patterns for ${v#p} ${v%p} ${v/p/r} -------------------------------

// The input cut into runes (byte offsets), so wildcards match characters.
struct Units {
  std::string_view text;
  std::vector<size_t> off;  // off[i] = byte offset of rune i; off.back() = size
  explicit Units(std::string_view s) : text(s) {
    for (size_t p = 0; p < s.size(); p += decode(s, p).len) off.push_back(p);
    off.push_back(s.size());
  }
  size_t size() const { return off.size() - 1; }
  std::string_view at(size_t i) const { return text.substr(off[i], off[i + 1] - off[i]); }
};

struct PatElem {
  enum Kind { kLit, kAny, kStar } kind;
  std::string lit;
};
using Pattern = std::vector<PatElem>;

// BuildKit's convertShellPatternToRegex: `*` any run, `?` any character,
// `\*` `\?` `\\` literal, `\}` `\/` drop the backslash (they had to be escaped
// inside ${}), any other escape is an error. Everything else is literal.
Pattern compile_pattern(std::string_view p) {
  Pattern out;
  size_t i = 0;
  while (i < p.size()) {
    Rune r = decode(p, i);
    std::string_view bytes = p.substr(i, r.len);
    i += r.len;
    if (r.cp == '*') {
      out.push_back({PatElem::kStar, {}});
      continue;
    }
    if (r.cp == '?') {
      out.push_back({PatElem::kAny, {}});
      continue;
    }
    if (r.cp == '\\') {
      int next = i < p.size() ? static_cast<unsigned char>(p[i]) : kEof;
      if (next == '}' || next == '/') continue;
      if (next != '*' && next != '?' && next != '\\') {
        std::string shown = next == kEof ? "" : std::string(p.substr(i, decode(p, i).len));
        throw LexError("invalid pattern (" + std::string(p) + ") in substitution: invalid escape '\\" +
                       shown + "'");
      }
      bytes = p.substr(i, 1);
      ++i;
    }
    out.push_back({PatElem::kLit, std::string(bytes)});
  }
  return out;
}

bool elem_matches(const PatElem& e, const Units& u, size_t i) {
  if (e.kind == PatElem::kLit) return u.at(i) == e.lit;
  return u.at(i) != "\n";  // Go's `.` never matches a newline
}

// Positions e such that the pattern matches units [from, e): a simulation of
// the pattern as an automaton, O(len(value) * len(pattern)).
std::vector<size_t> match_ends(const Pattern& pat, const Units& u, size_t from) {
  const size_t m = pat.size();
  // std::string rather than vector<char>: GCC 12 sees a null dereference in
  // the latter at -O2 (a false positive).
  std::string cur(m + 1, 0), nxt(m + 1, 0);
  auto close = [&](std::string& s) {  // a star may match nothing
    for (size_t j = 0; j < m; ++j) {
      if (s[j] && pat[j].kind == PatElem::kStar) s[j + 1] = 1;
    }
  };
  std::vector<size_t> ends;
  cur[0] = 1;
  close(cur);
  for (size_t i = from;; ++i) {
    if (cur[m]) ends.push_back(i);
    if (i == u.size()) break;
    std::fill(nxt.begin(), nxt.end(), 0);
    bool any = false;
    for (size_t j = 0; j < m; ++j) {
      if (!cur[j] || !elem_matches(pat[j], u, i)) continue;
      nxt[pat[j].kind == PatElem::kStar ? j : j + 1] = 1;
      any = true;
    }
    if (!any) break;
    close(nxt);
    cur.swap(nxt);
  }
  return ends;
}

// True where the pattern matches the whole suffix [s, end): the same
// automaton run backwards, one row per start position.
std::string suffix_matches(const Pattern& pat, const Units& u) {
  const size_t m = pat.size(), n = u.size();
  std::string row(m + 1, 0), below(m + 1, 0), result(n + 1, 0);
  for (size_t i = n + 1; i-- > 0;) {
    row[m] = (i == n);
    for (size_t j = m; j-- > 0;) {
      bool ok = false;
      if (pat[j].kind == PatElem::kStar) ok = row[j + 1] || (i < n && elem_matches(pat[j], u, i) && below[j]);
      else ok = i < n && elem_matches(pat[j], u, i) && below[j + 1];
      row[j] = ok;
    }
    result[i] = row[0];
    below.swap(row);
  }
  return result;
}

// ${v#p} and ${v##p}: BuildKit anchors the regex at the start; greedy stars
// then give the longest match and lazy ones the shortest.
std::string trim_prefix(std::string_view pattern, const std::string& value, bool greedy) {
  Pattern pat = compile_pattern(pattern);
  Units u(value);
  auto ends = match_ends(pat, u, 0);
  if (ends.empty()) return value;
  size_t e = greedy ? ends.back() : ends.front();
  return value.substr(u.off[e]);
}

// ${v%p} and ${v%%p}: BuildKit reverses pattern and value and trims a prefix,
// which is a match against a suffix of the value.
std::string trim_suffix(std::string_view pattern, const std::string& value, bool greedy) {
  Pattern pat = compile_pattern(pattern);
  Units u(value);
  auto ok = suffix_matches(pat, u);
  size_t n = u.size();
  std::optional<size_t> start;
  for (size_t s = 0; s <= n; ++s) {
    if (!ok[s]) continue;
    if (greedy) {
      start = s;
      break;
    }
    start = s;  // keep the last one: the shortest suffix
  }
  if (!start) return value;
  return value.substr(0, u.off[*start]);
}

// Leftmost match at or after `from`, longest for that start (Go's leftmost-
// first with greedy stars): one automaton pass remembering each state's
// earliest start, so O(len * pattern) instead of one pass per start.
std::optional<std::pair<size_t, size_t>> find_match(const Pattern& pat, const Units& u, size_t from) {
  const size_t m = pat.size();
  constexpr size_t kNone = static_cast<size_t>(-1);
  std::vector<size_t> cur(m + 1, kNone), nxt(m + 1, kNone);
  auto add = [&](std::vector<size_t>& s, size_t j, size_t start) {
    for (;;) {
      if (start >= s[j]) return;
      s[j] = start;
      if (j == m || pat[j].kind != PatElem::kStar) return;
      ++j;
    }
  };
  std::optional<std::pair<size_t, size_t>> best;
  for (size_t i = from;; ++i) {
    if (!best) add(cur, 0, i);
    if (cur[m] != kNone && (!best || cur[m] <= best->first)) {
      best = std::pair{cur[m], i};
    }
    if (i == u.size()) break;
    std::fill(nxt.begin(), nxt.end(), kNone);
    bool alive = false;
    for (size_t j = 0; j < m; ++j) {
      if (cur[j] == kNone || (best && cur[j] > best->first)) continue;
      if (!elem_matches(pat[j], u, i)) continue;
      add(nxt, pat[j].kind == PatElem::kStar ? j : j + 1, cur[j]);
      alive = true;
    }
    if (!alive && best) break;
    cur.swap(nxt);
  }
  return best;
}

// Go's Regexp.Expand for a pattern without groups: $0 and ${0} are the whole
// match, $$ is a dollar, any other valid reference is empty and a malformed
// one is kept literally. BuildKit's ${v//p/r} goes through it; ${v/p/r} not.
std::string expand_template(std::string_view tmpl, std::string_view match) {
  std::string out;
  while (!tmpl.empty()) {
    size_t d = tmpl.find('$');
    if (d == std::string_view::npos) break;
    out += tmpl.substr(0, d);
    tmpl.remove_prefix(d + 1);
    if (!tmpl.empty() && tmpl[0] == '$') {
      out += '$';
      tmpl.remove_prefix(1);
      continue;
    }
    std::string_view s = tmpl;
    bool brace = !s.empty() && s[0] == '{';
    if (brace) s.remove_prefix(1);
    size_t i = 0;
    while (i < s.size()) {
      Rune r = decode(s, i);
      if (!is_letter(r.cp) && !is_digit(r.cp) && r.cp != '_') break;
      i += r.len;
    }
    if (i == 0 || (brace && (i >= s.size() || s[i] != '}'))) {
      out += '$';
      continue;
    }
    std::string_view name = s.substr(0, i);
    if (name == "0") out += match;
    tmpl = s.substr(i + (brace ? 1 : 0));
  }
  out += tmpl;
  return out;
}

std::string replace(std::string_view pattern, const std::string& value, std::string_view repl, bool all) {
  Pattern pat = compile_pattern(pattern);
  Units u(value);
  if (!all) {
    auto mt = find_match(pat, u, 0);
    if (!mt) return value;
    return value.substr(0, u.off[mt->first]) + std::string(repl) + value.substr(u.off[mt->second]);
  }
  // Go's replaceAll loop, in rune units: no replacement for an empty match
  // right after a previous match, and always advance at least one rune.
  std::string out;
  size_t last_end = 0, search = 0;
  while (search <= u.size()) {
    auto mt = find_match(pat, u, search);
    if (!mt) break;
    auto [a, b] = *mt;
    out += value.substr(u.off[last_end], u.off[a] - u.off[last_end]);
    if (b > last_end || a == 0) {
      out += expand_template(repl, std::string_view(value).substr(u.off[a], u.off[b] - u.off[a]));
    }
    last_end = b;
    search = search + 1 > b ? search + 1 : b;
  }
  out += value.substr(u.off[last_end]);
  return out;
}

// ---- the lexer ---------------------------------------------------------

// BuildKit's wordsStruct: text from variables is split on whitespace, quoted
// text and escaped characters are not.
struct Words {
  std::string word;
  std::vector<std::string> list;
  bool in_word = false;

  void add_char(int cp, std::string_view bytes) {
    if (is_space(cp)) {
      if (in_word && !word.empty()) {
        list.push_back(std::move(word));
        word.clear();
        in_word = false;
      }
    } else {
      add_raw(bytes);
    }
  }
  void add_raw(std::string_view bytes) {
    word += bytes;
    in_word = true;
  }
  void add_string(std::string_view s) {
    for (size_t p = 0; p < s.size();) {
      Rune r = decode(s, p);
      add_char(r.cp, s.substr(p, r.len));
      p += r.len;
    }
  }
  std::vector<std::string> finish() {
    if (!word.empty()) list.push_back(std::move(word));
    return std::move(list);
  }
};

class Lexer {
 public:
  Lexer(std::string_view in, const VarLookup& vars, const ExpandOptions& opt, Expansion& out)
      : in_(in), vars_(vars), opt_(opt), out_(out) {}

  void run() {
    Words words;
    out_.word = stop_on(kEof, false, &words);
    out_.words = words.finish();
  }

 private:
  Rune peek() const { return decode(in_, pos_); }
  std::string_view take(Rune r) {
    std::string_view b = in_.substr(pos_, r.len);
    pos_ += r.len;
    return b;
  }
  bool is_escape(int cp) const { return cp == static_cast<unsigned char>(opt_.escape); }

  std::optional<std::string> get(const std::string& name) {
    std::optional<std::string> v = vars_ ? vars_(name) : std::nullopt;
    (v ? out_.matched : out_.unmatched).insert(name);
    return v;
  }

  // processStopOn: up to `stop` (consumed) or the end of input.
  std::string stop_on(int stop, bool raw_escapes, Words* words) {
    std::string result;
    while (peek().cp != kEof) {
      Rune r = peek();
      if (stop != kEof && r.cp == stop) {
        take(r);
        return result;
      }
      if (r.cp == '$') {
        std::string v = dollar();
        if (words) words->add_string(v);
        result += v;
        continue;
      }
      if (opt_.process_quotes && (r.cp == '\'' || r.cp == '"')) {
        std::string v = r.cp == '\'' ? single_quote() : double_quote(raw_escapes);
        if (words) words->add_raw(v);
        result += v;
        continue;
      }
      std::string_view bytes = take(r);
      if (is_escape(r.cp)) {
        if (raw_escapes) {
          if (words) words->add_raw(bytes);
          result += bytes;
        }
        Rune e = peek();
        if (e.cp == kEof) break;  // a trailing escape is dropped
        bytes = take(e);
        if (words) words->add_raw(bytes);
      } else if (words) {
        words->add_char(r.cp, bytes);
      }
      result += bytes;
    }
    if (stop != kEof) {
      throw LexError("unexpected end of statement while looking for matching " + std::string(1, char(stop)));
    }
    return result;
  }

  std::string single_quote() {
    take(peek());
    std::string result;
    for (;;) {
      Rune r = peek();
      if (r.cp == kEof) throw LexError("unexpected end of statement while looking for matching single-quote");
      std::string_view bytes = take(r);
      if (r.cp == '\'') return result;
      result += bytes;
    }
  }

  // Inside double quotes the escape character only escapes `"`, `$` and
  // itself; before anything else it stays.
  std::string double_quote(bool raw_escapes) {
    take(peek());
    std::string result;
    for (;;) {
      Rune r = peek();
      if (r.cp == kEof) throw LexError("unexpected end of statement while looking for matching double-quote");
      if (r.cp == '"') {
        take(r);
        return result;
      }
      if (r.cp == '$') {
        result += dollar();
        continue;
      }
      std::string_view bytes = take(r);
      if (is_escape(r.cp)) {
        if (raw_escapes) result += bytes;
        Rune e = peek();
        if (e.cp == kEof) continue;
        if (e.cp == '"' || e.cp == '$' || is_escape(e.cp)) bytes = take(e);
      }
      result += bytes;
    }
  }

  std::string name() {
    std::string n;
    for (Rune r = peek(); r.cp != kEof; r = peek()) {
      if (n.empty() && is_digit(r.cp)) {
        while (is_digit(peek().cp)) n += take(peek());
        return n;
      }
      if (n.empty() && is_special_param(r.cp)) return std::string(take(r));
      if (!is_letter(r.cp) && !is_digit(r.cp) && r.cp != '_') break;
      n += take(r);
    }
    return n;
  }

  // A word inside ${...}: BuildKit reports a missing `}` for any failure
  // that ran into the end of input.
  std::string inner(int stop, bool raw_escapes, const char* missing) {
    try {
      return stop_on(stop, raw_escapes, nullptr);
    } catch (const LexError&) {
      if (peek().cp == kEof) throw LexError(missing);
      throw;
    }
  }

  std::string dollar() {
    struct Depth {
      int& d;
      explicit Depth(int& v) : d(v) {
        if (++d > kMaxDepth) throw LexError("variable substitutions nested too deeply");
      }
      ~Depth() { --d; }
    } guard(depth_);

    take(peek());  // $
    if (peek().cp != '{') {
      std::string n = name();
      if (n.empty()) return "$";
      return get(n).value_or("");
    }
    take(peek());  // {
    switch (peek().cp) {
      case kEof:
        throw LexError("syntax error: missing '}'");
      case '{': case '}': case ':':
        throw LexError("syntax error: bad substitution");
      default:
        break;
    }
    std::string n = name();
    Rune r = peek();
    if (r.cp == kEof) throw LexError("syntax error: missing '}'");
    std::string mod(take(r));
    int op = r.cp;
    if (op == '}') return get(n).value_or("");
    bool null_is_unset = false;
    if (op == ':') {
      null_is_unset = true;
      r = peek();
      mod += take(r);
      op = r.cp;
    }
    if (null_is_unset || op == '+' || op == '-' || op == '?' || op == '#' || op == '%') {
      std::string word = inner('}', op == '#' || op == '%', "syntax error: missing '}'");
      std::optional<std::string> v = get(n);
      bool empty = !v || (null_is_unset && v->empty());
      switch (op) {
        case '-':
          return empty ? word : *v;
        case '+':
          return empty ? "" : word;
        case '?':
          if (!v) throw LexError(n + ": " + (word.empty() ? "is not allowed to be unset" : word));
          if (empty) throw LexError(n + ": " + (word.empty() ? "is not allowed to be empty" : word));
          return *v;
        case '#':
        case '%': {
          bool greedy = !word.empty() && word[0] == op;
          std::string_view pat = greedy ? std::string_view(word).substr(1) : std::string_view(word);
          std::string value = v.value_or("");
          return op == '%' ? trim_suffix(pat, value, greedy) : trim_prefix(pat, value, greedy);
        }
        default:
          throw LexError("unsupported modifier (" + mod + ") in substitution");
      }
    }
    if (op == '/') {
      bool all = peek().cp == '/';
      if (all) take(peek());
      std::string pattern = inner('/', true, "syntax error: missing '/' in ${}");
      std::string repl = inner('}', true, "syntax error: missing '}'");
      std::optional<std::string> v = get(n);
      return replace(pattern, v.value_or(""), repl, all);
    }
    throw LexError("unsupported modifier (" + mod + ") in substitution");
  }

  std::string_view in_;
  size_t pos_ = 0;
  const VarLookup& vars_;
  const ExpandOptions& opt_;
  Expansion& out_;
  int depth_ = 0;
};

// Go's %q, enough for messages: quotes, backslashes and control characters.
std::string quoted(std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7F) {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

VarLookup lookup_in(const std::map<std::string, std::string>& vars) {
  return [&vars](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

Expansion expand(std::string_view raw, const VarLookup& vars, const ExpandOptions& opt) {
  Expansion out;
  try {
    Lexer(raw, vars, opt, out).run();
  } catch (const LexError& e) {
    throw Error("failed to process " + quoted(raw) + ": " + e.what());
  }
  return out;
}

std::string expand_word(std::string_view raw, const VarLookup& vars, const ExpandOptions& opt) {
  return expand(raw, vars, opt).word;
}

std::vector<std::string> expand_words(std::string_view raw, const VarLookup& vars, const ExpandOptions& opt) {
  return expand(raw, vars, opt).words;
}

bool expands_variables(std::string_view cmd) {
  static constexpr std::string_view kExpanding[] = {"add",   "arg",        "copy", "env",    "expose", "from",
                                                    "label", "stopsignal", "user", "volume", "workdir"};
  return std::any_of(std::begin(kExpanding), std::end(kExpanding),
                     [&](std::string_view c) { return iequals(c, cmd); });
}

bool flag_expands(std::string_view cmd, std::string_view flag) {
  if (iequals(cmd, "run")) return flag == "mount";
  if (iequals(cmd, "add")) return flag == "chown" || flag == "checksum";
  if (iequals(cmd, "copy")) return flag == "chown";
  if (iequals(cmd, "from")) return flag == "platform";
  return false;
}

}  // namespace slipway::dockerfile

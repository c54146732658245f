#include "dockerfile_parser/expand_pattern.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <utility>
#include <vector>

namespace slipway::dockerfile::expand_detail {

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

namespace {

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

}  // namespace

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

namespace {

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

}  // namespace

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

}  // namespace slipway::dockerfile::expand_detail

#include "builder/dockerignore.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/error.h"
#include "common/fd.h"

namespace slipway {
namespace {

// A malformed pattern, caught and turned into a user-facing Error with the
// file and line by the caller.
struct BadPattern {
  std::string why;
};

// Decodes one UTF-8 rune at s[i]; invalid bytes decode as U+FFFD, length 1,
// like Go's utf8.DecodeRuneInString.
char32_t decode_rune(std::string_view s, size_t i, size_t* len) {
  auto b = static_cast<unsigned char>(s[i]);
  size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
  if (n == 0 || i + n > s.size()) {
    *len = 1;
    return b < 0x80 ? b : 0xFFFD;
  }
  char32_t r = n == 1 ? b : n == 2 ? (b & 0x1F) : n == 3 ? (b & 0x0F) : (b & 0x07);
  for (size_t k = 1; k < n; ++k) {
    auto c = static_cast<unsigned char>(s[i + k]);
    if ((c >> 6) != 2) {
      *len = 1;
      return 0xFFFD;
    }
    r = (r << 6) | (c & 0x3F);
  }
  *len = n;
  return r;
}

std::u32string to_runes(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0, n = 0; i < s.size(); i += n) out += decode_rune(s, i, &n);
  return out;
}

std::string_view trim_space(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// ---- Go's filepath.Match, ported for '/' as the only separator ----

// getEsc: one possibly-escaped rune of a character class.
char32_t class_rune(std::string_view& chunk) {
  if (chunk.empty() || chunk[0] == '-' || chunk[0] == ']') throw BadPattern{"syntax error in pattern"};
  if (chunk[0] == '\\') {
    chunk.remove_prefix(1);
    if (chunk.empty()) throw BadPattern{"syntax error in pattern"};
  }
  size_t n = 0;
  char32_t r = decode_rune(chunk, 0, &n);
  if (r == 0xFFFD && n == 1) {
    throw BadPattern{"invalid UTF-8 in pattern"};
  }
  chunk.remove_prefix(n);
  if (chunk.empty()) throw BadPattern{"syntax error in pattern"};
  return r;
}

// matchChunk: matches chunk (no '*') against the start of s. Returns false if
// it does not match; on a match, *rest is what is left of s. Parses the whole
// chunk even after a mismatch so that syntax errors are always reported.
bool match_chunk(std::string_view chunk, std::string_view s, std::string_view* rest) {
  bool failed = false;
  while (!chunk.empty()) {
    if (!failed && s.empty()) failed = true;
    switch (chunk[0]) {
      case '[': {
        char32_t r = 0;
        if (!failed) {
          size_t n = 0;
          r = decode_rune(s, 0, &n);
          s.remove_prefix(n);
        }
        chunk.remove_prefix(1);
        bool negated = false;
        if (!chunk.empty() && chunk[0] == '^') {
          negated = true;
          chunk.remove_prefix(1);
        }
        bool match = false;
        int nrange = 0;
        while (true) {
          if (!chunk.empty() && chunk[0] == ']' && nrange > 0) {
            chunk.remove_prefix(1);
            break;
          }
          char32_t lo = class_rune(chunk);
          char32_t hi = lo;
          if (chunk[0] == '-') {
            chunk.remove_prefix(1);
            hi = class_rune(chunk);
          }
          if (lo <= r && r <= hi) match = true;
          ++nrange;
        }
        if (match == negated) failed = true;
        break;
      }
      case '?':
        if (!failed) {
          if (s[0] == '/') failed = true;
          size_t n = 0;
          decode_rune(s, 0, &n);
          s.remove_prefix(n);
        }
        chunk.remove_prefix(1);
        break;
      case '\\':
        chunk.remove_prefix(1);
        if (chunk.empty()) throw BadPattern{"syntax error in pattern"};
        [[fallthrough]];
      default:
        if (!failed) {
          if (chunk[0] != s[0]) failed = true;
          s.remove_prefix(1);
        }
        chunk.remove_prefix(1);
        break;
    }
  }
  if (failed) return false;
  *rest = s;
  return true;
}

// scanChunk: leading stars, then everything up to the next '*' outside [].
void scan_chunk(std::string_view& pattern, bool* star, std::string_view* chunk) {
  *star = false;
  while (!pattern.empty() && pattern[0] == '*') {
    pattern.remove_prefix(1);
    *star = true;
  }
  bool in_range = false;
  size_t i = 0;
  for (; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\') {
      if (i + 1 < pattern.size()) ++i;
    } else if (c == '[') {
      in_range = true;
    } else if (c == ']') {
      in_range = false;
    } else if (c == '*' && !in_range) {
      break;
    }
  }
  *chunk = pattern.substr(0, i);
  pattern.remove_prefix(i);
}

bool go_match(std::string_view pattern, std::string_view name) {
  while (!pattern.empty()) {
    bool star = false;
    std::string_view chunk;
    scan_chunk(pattern, &star, &chunk);
    if (star && chunk.empty()) return name.find('/') == std::string_view::npos;
    std::string_view t;
    if (match_chunk(chunk, name, &t) && (t.empty() || !pattern.empty())) {
      name = t;
      continue;
    }
    bool advanced = false;
    if (star) {
      for (size_t i = 0; i < name.size() && name[i] != '/'; ++i) {
        if (match_chunk(chunk, name.substr(i + 1), &t)) {
          if (pattern.empty() && !t.empty()) continue;
          name = t;
          advanced = true;
          break;
        }
      }
    }
    if (advanced) continue;
    // Report a syntax error in the rest of the pattern even on a mismatch.
    while (!pattern.empty()) {
      scan_chunk(pattern, &star, &chunk);
      match_chunk(chunk, "", &t);
    }
    return false;
  }
  return name.empty();
}

// ---- moby/patternmatcher's compile step ----

IgnoreMatcher::CharClass compile_class(const std::u32string& p, size_t* pos) {
  IgnoreMatcher::CharClass k;
  size_t i = *pos;
  if (i < p.size() && p[i] == U'^') {
    k.negated = true;
    ++i;
  }
  auto one = [&]() -> char32_t {
    if (i >= p.size() || p[i] == U'-' || p[i] == U']') throw BadPattern{"syntax error in pattern"};
    if (p[i] == U'\\' && ++i >= p.size()) throw BadPattern{"syntax error in pattern"};
    return p[i++];
  };
  while (true) {
    if (i < p.size() && p[i] == U']' && !k.ranges.empty()) {
      ++i;
      break;
    }
    char32_t lo = one();
    char32_t hi = lo;
    if (i < p.size() && p[i] == U'-') {
      ++i;
      hi = one();
    }
    // filepath.Match accepts "[z-a]" but Docker's regexp translation of it
    // fails at match time; reject it up front instead.
    if (lo > hi) throw BadPattern{"invalid character class range"};
    k.ranges.emplace_back(lo, hi);
  }
  *pos = i;
  return k;
}

IgnoreMatcher::Pattern compile(std::string_view text, bool exception) {
  using P = IgnoreMatcher::Pattern;
  using T = IgnoreMatcher::Token;
  P pat;
  pat.text = std::string(text);
  pat.exception = exception;
  std::u32string p = to_runes(text);
  size_t pos = 0;
  for (int i = 0; pos < p.size(); ++i) {
    char32_t ch = p[pos++];
    if (ch == U'*') {
      if (pos < p.size() && p[pos] == U'*') {
        ++pos;
        if (pos < p.size() && p[pos] == U'/') ++pos;  // "**/" is "**"
        if (pos == p.size()) {
          // Trailing "**" accepts everything below, as in .gitignore.
          if (pat.type == P::kExact) {
            pat.type = P::kPrefix;
          } else {
            pat.tokens.push_back({T::kAnyTail});
            pat.type = P::kRegexp;
          }
        } else {
          pat.tokens.push_back({T::kAnyDirs});
          pat.type = P::kRegexp;
        }
        // Docker's fast path for a leading "**": if only literals follow it
        // is a plain suffix test ("**file" then matches "myfile" too).
        if (i == 0) pat.type = P::kSuffix;
      } else {
        pat.tokens.push_back({T::kStar});
        pat.type = P::kRegexp;
      }
    } else if (ch == U'?') {
      pat.tokens.push_back({T::kQuestion});
      pat.type = P::kRegexp;
    } else if (ch == U'\\') {
      if (pos < p.size()) {
        pat.tokens.push_back({T::kLiteral, p[pos++]});
        pat.type = P::kRegexp;
      } else {
        pat.tokens.push_back({T::kLiteral, ch});
      }
    } else if (ch == U'[') {
      pat.classes.push_back(compile_class(p, &pos));
      pat.tokens.push_back({T::kClass, 0, pat.classes.size() - 1});
      pat.type = P::kRegexp;
    } else {
      if (ch == U']') pat.type = P::kRegexp;
      pat.tokens.push_back({T::kLiteral, ch});
    }
  }
  return pat;
}

// Runs the pattern's token NFA over `path`. State 2*j is "before token j";
// state 2*j+1 is "inside token j" (only for "**/", which must end on a '/').
// With `prefix_only`, reports whether any state survives the input, i.e.
// whether some continuation of `path` could still match.
bool run_nfa(const IgnoreMatcher::Pattern& pat, std::string_view path, bool prefix_only) {
  using T = IgnoreMatcher::Token;
  const auto& toks = pat.tokens;
  const size_t nt = toks.size();
  // Reused across calls: the walker runs every pattern on every entry.
  // std::string rather than vector<char>: GCC 12 -Wnull-dereference misfires on the latter.
  thread_local std::string cur, next;
  cur.assign(2 * nt + 2, 0);
  next.assign(2 * nt + 2, 0);
  auto closure = [&](std::string& set) {
    for (size_t j = 0; j < nt; ++j) {
      if (set[2 * j] && (toks[j].kind == T::kStar || toks[j].kind == T::kAnyTail || toks[j].kind == T::kAnyDirs)) {
        set[2 * (j + 1)] = 1;
      }
    }
  };
  cur[0] = 1;
  closure(cur);
  for (size_t i = 0, n = 0; i < path.size(); i += n) {
    char32_t c = decode_rune(path, i, &n);
    std::fill(next.begin(), next.end(), 0);
    bool any = false;
    for (size_t j = 0; j < nt; ++j) {
      if (!cur[2 * j] && !cur[2 * j + 1]) continue;
      const T& t = toks[j];
      switch (t.kind) {
        case T::kLiteral:
          if (cur[2 * j] && c == t.ch) next[2 * (j + 1)] = any = true;
          break;
        case T::kQuestion:
          if (cur[2 * j] && c != U'/') next[2 * (j + 1)] = any = true;
          break;
        case T::kClass: {
          const auto& k = pat.classes[t.klass];
          bool in = false;
          for (auto [lo, hi] : k.ranges) in = in || (lo <= c && c <= hi);
          if (cur[2 * j] && in != k.negated) next[2 * (j + 1)] = any = true;
          break;
        }
        case T::kStar:
          if (c != U'/') next[2 * j] = any = true;
          break;
        case T::kAnyTail:
          next[2 * j] = any = true;
          break;
        case T::kAnyDirs:
          next[2 * j + 1] = any = true;
          if (c == U'/') next[2 * (j + 1)] = 1;
          break;
      }
    }
    if (!any && !next[2 * nt]) return false;
    closure(next);
    cur.swap(next);
  }
  if (prefix_only) return std::find(cur.begin(), cur.end(), 1) != cur.end();
  return cur[2 * nt] != 0;
}

bool read_small_file(const std::string& path, std::string* out) {
  // O_NONBLOCK so that a FIFO planted in the context cannot hang the build.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd) {
    if (errno == ENOENT || errno == ENOTDIR) return false;
    throw sys_error("opening " + path);
  }
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0) throw sys_error("stat " + path);
  if (!S_ISREG(st.st_mode)) throw Error(path + ": not a regular file");
  out->clear();
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw sys_error("reading " + path);
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

std::string clean_path(std::string_view path) {
  if (path.empty()) return ".";
  const bool rooted = path[0] == '/';
  const size_t n = path.size();
  std::string out;
  size_t r = 0, dotdot = 0;
  if (rooted) {
    out += '/';
    r = dotdot = 1;
  }
  while (r < n) {
    if (path[r] == '/') {
      ++r;
    } else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
      ++r;
    } else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/')) {
      r += 2;
      if (out.size() > dotdot) {
        out.pop_back();
        while (out.size() > dotdot && out.back() != '/') out.pop_back();
        if (out.size() > dotdot && out.back() == '/') out.pop_back();
      } else if (!rooted) {
        if (!out.empty()) out += '/';
        out += "..";
        dotdot = out.size();
      }
    } else {
      if ((rooted && out.size() != 1) || (!rooted && !out.empty())) out += '/';
      for (; r < n && path[r] != '/'; ++r) out += path[r];
    }
  }
  return out.empty() ? "." : out;
}

bool path_match(std::string_view pattern, std::string_view name) {
  try {
    return go_match(pattern, name);
  } catch (const BadPattern& e) {
    throw Error("invalid pattern \"" + std::string(pattern) + "\": " + e.why);
  }
}

IgnoreMatcher IgnoreMatcher::parse(std::string_view text, std::string_view source) {
  IgnoreMatcher m;
  int line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (++line_no == 1 && line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);
    if (line.starts_with("#")) continue;
    std::string_view raw = trim_space(line);
    if (raw.empty()) continue;

    // BuildKit's reader: clean, and make "/abs" relative to the context.
    std::string_view body = raw;
    const bool invert = body[0] == '!';
    if (invert) body = trim_space(body.substr(1));
    std::string pattern;
    if (!body.empty()) {
      pattern = clean_path(body);
      if (pattern.size() > 1 && pattern[0] == '/') pattern.erase(0, 1);
    }
    if (invert) pattern.insert(0, "!");
    // patternmatcher.New cleans once more, then splits off the '!'.
    pattern = clean_path(trim_space(pattern));

    auto fail = [&](const std::string& why) {
      return Error(std::string(source) + ":" + std::to_string(line_no) + ": invalid pattern \"" + std::string(raw) +
                   "\": " + why);
    };
    bool exception = false;
    if (pattern[0] == '!') {
      if (pattern.size() == 1) throw fail("an exception '!' needs a pattern after it");
      exception = true;
      pattern.erase(0, 1);
    }
    try {
      go_match(pattern, ".");  // Docker validates with filepath.Match
      m.patterns_.push_back(compile(pattern, exception));
    } catch (const BadPattern& e) {
      throw fail(e.why);
    }
    m.has_exceptions_ = m.has_exceptions_ || exception;
  }
  return m;
}

std::vector<std::string> IgnoreMatcher::patterns() const {
  std::vector<std::string> out;
  for (const auto& p : patterns_) out.push_back((p.exception ? "!" : "") + p.text);
  return out;
}

bool IgnoreMatcher::matches_one(const Pattern& p, std::string_view path) const {
  switch (p.type) {
    case Pattern::kExact:
      return path == p.text;
    case Pattern::kPrefix:
      return path.starts_with(std::string_view(p.text).substr(0, p.text.size() - 2));
    case Pattern::kSuffix: {
      std::string_view suffix = std::string_view(p.text).substr(2);
      if (path.ends_with(suffix)) return true;
      return !suffix.empty() && suffix[0] == '/' && path == suffix.substr(1);
    }
    case Pattern::kRegexp:
      return run_nfa(p, path, false);
  }
  return false;
}

bool IgnoreMatcher::excluded(std::string_view rel_path, const Matches& parent, Matches* out) const {
  out->assign(patterns_.size(), false);
  bool result = false;
  for (size_t i = 0; i < patterns_.size(); ++i) {
    bool m = (!parent.empty() && parent[i]) || matches_one(patterns_[i], rel_path);
    (*out)[i] = m;
    if (m) result = !patterns_[i].exception;
  }
  return result;
}

bool IgnoreMatcher::excluded(std::string_view rel_path, bool /*is_dir*/) const {
  if (patterns_.empty()) return false;
  Matches parent, cur;
  for (size_t slash = rel_path.find('/'); slash != std::string_view::npos; slash = rel_path.find('/', slash + 1)) {
    excluded(rel_path.substr(0, slash), parent, &cur);
    parent.swap(cur);
  }
  return excluded(rel_path, parent, &cur);
}

bool IgnoreMatcher::may_reinclude_under(std::string_view dir, const Matches& dir_matches) const {
  // Every pattern that matched `dir` also matches all below it, so only
  // exceptions after the last of those can change the outcome below it.
  size_t first = 0;
  for (size_t i = 0; i < dir_matches.size(); ++i) {
    if (dir_matches[i]) first = i + 1;
  }
  const std::string prefix = std::string(dir) + "/";
  for (size_t i = first; i < patterns_.size(); ++i) {
    const Pattern& p = patterns_[i];
    if (!p.exception) continue;
    switch (p.type) {
      case Pattern::kExact:
        if (std::string_view(p.text).starts_with(prefix)) return true;
        break;
      case Pattern::kPrefix: {
        std::string_view lit = std::string_view(p.text).substr(0, p.text.size() - 2);
        if (lit.starts_with(prefix) || std::string_view(prefix).starts_with(lit)) return true;
        break;
      }
      case Pattern::kSuffix:
        return true;
      case Pattern::kRegexp:
        if (run_nfa(p, prefix, true)) return true;
        break;
    }
  }
  return false;
}

bool IgnoreMatcher::may_reinclude_under(std::string_view dir) const {
  if (!has_exceptions_) return false;
  Matches parent, cur;
  size_t slash = 0;
  while (true) {
    slash = dir.find('/', slash);
    excluded(dir.substr(0, slash), parent, &cur);
    parent.swap(cur);
    if (slash == std::string_view::npos) break;
    ++slash;
  }
  return may_reinclude_under(dir, parent);
}

IgnoreMatcher load_dockerignore(const std::string& context_dir, const std::string& dockerfile_path,
                                std::string* used_path) {
  std::vector<std::string> candidates;
  if (!dockerfile_path.empty()) candidates.push_back(dockerfile_path + ".dockerignore");
  candidates.push_back(context_dir + "/.dockerignore");
  std::string text;
  for (const auto& path : candidates) {
    if (read_small_file(path, &text)) {
      if (used_path) *used_path = path;
      return IgnoreMatcher::parse(text, path);
    }
  }
  if (used_path) used_path->clear();
  return IgnoreMatcher();
}

}  // namespace slipway

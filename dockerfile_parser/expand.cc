#include "dockerfile_parser/expand.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <utility>

#include "common/error.h"
#include "dockerfile_parser/expand_pattern.h"

namespace slipway::dockerfile {
namespace {

using namespace expand_detail;

// BuildKit recurses without limit; a bound keeps hostile input off our stack.
constexpr int kMaxDepth = 64;

// POSIX special parameters, which BuildKit reads as one-character names.
bool is_special_param(int cp) {
  switch (cp) {
    case '@': case '*': case '#': case '?': case '-': case '$': case '!': case '0':
      return true;
    default:
      return false;
  }
}

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
  if (iequals(cmd, "add")) return flag == "chown" || flag == "chmod" || flag == "checksum";
  if (iequals(cmd, "copy")) return flag == "chown" || flag == "chmod";
  if (iequals(cmd, "from")) return flag == "platform";
  return false;
}

}  // namespace slipway::dockerfile

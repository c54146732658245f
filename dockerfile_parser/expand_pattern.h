#pragma once
// The self-contained parts of variable expansion (expand.cc): UTF-8 runes,
// Go's character classes, and BuildKit's glob patterns for ${v#p} ${v%p}
// ${v/p/r}. Internal to expand.cc and its tests.
#include <stdexcept>
#include <string>
#include <string_view>

namespace slipway::dockerfile::expand_detail {

constexpr int kEof = -1;

// One UTF-8 character of the input. Invalid bytes are single-byte runes of
// their own, so they pass through unchanged (Go would turn them into U+FFFD).
struct Rune {
  int cp = kEof;
  size_t len = 0;
};

Rune decode(std::string_view s, size_t pos);
bool is_space(int cp);   // Go's unicode.IsSpace
bool is_digit(int cp);   // Go's unicode.IsDigit, for the common scripts
bool is_letter(int cp);  // Go's unicode.IsLetter, approximated (see .cc)

// Internal error: carries BuildKit's inner message; expand() wraps it.
struct LexError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// ${v#p} (greedy: ${v##p}): `value` without the shortest (longest) prefix
// matching `pattern`, which is the word after expansion with raw escapes.
std::string trim_prefix(std::string_view pattern, const std::string& value, bool greedy);
// ${v%p} and ${v%%p}: the same for suffixes.
std::string trim_suffix(std::string_view pattern, const std::string& value, bool greedy);
// ${v/p/r} and (all) ${v//p/r}.
std::string replace(std::string_view pattern, const std::string& value, std::string_view repl, bool all);

}  // namespace slipway::dockerfile::expand_detail

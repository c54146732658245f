#pragma once
// .dockerignore with Docker's semantics: BuildKit's ignore-file reader and
// moby/patternmatcher's matching, quirks included, so a context excludes the
// same files here as under `docker build`.
//
//  - `#` in column 1 starts a comment; lines are trimmed; blank lines skipped.
//  - Patterns are cleaned like Go's filepath.Clean and a leading '/' dropped,
//    so "/a/./b/" means "a/b". A trailing '/' does not restrict to directories.
//  - Syntax is Go's filepath.Match ('*', '?', '[a-z]', '[^a]', '\' escapes)
//    plus '**' for any number of directories. Note: as in Docker, only '^'
//    negates a class; '[!a]' is the set {'!', 'a'}.
//  - A pattern matches a path if it matches the path or any parent directory.
//    The last matching pattern wins; '!pattern' re-includes.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace slipway {

class IgnoreMatcher {
 public:
  // Which patterns matched a directory (or one of its parents). A walker
  // keeps one per directory so children are matched without re-testing every
  // ancestor.
  using Matches = std::vector<bool>;

  IgnoreMatcher() = default;

  // Parses .dockerignore text. `source` names the file in errors
  // ("ctx/.dockerignore:3: invalid pattern \"[a\": ..."). Throws Error.
  static IgnoreMatcher parse(std::string_view text, std::string_view source = ".dockerignore");

  // True if `rel_path` ("a/b.txt", '/'-separated, relative to the context) is
  // excluded. `is_dir` is accepted for callers' clarity but, as in Docker,
  // does not change the answer.
  bool excluded(std::string_view rel_path, bool is_dir) const;
  // The same, given the Matches of rel_path's parent directory (empty for a
  // top-level entry); stores rel_path's own Matches in *out for its children.
  bool excluded(std::string_view rel_path, const Matches& parent, Matches* out) const;

  // For an excluded directory: could an exception ('!' pattern) re-include
  // anything below it? If not, the walker can skip the whole directory.
  // Conservative: may say true when nothing is re-included in the end.
  bool may_reinclude_under(std::string_view dir) const;
  bool may_reinclude_under(std::string_view dir, const Matches& dir_matches) const;

  bool empty() const { return patterns_.empty(); }
  bool has_exceptions() const { return has_exceptions_; }
  // The cleaned patterns, with a leading '!' for exceptions, in file order.
  std::vector<std::string> patterns() const;

  // A compiled pattern: moby/patternmatcher's regexp translation, run by a
  // small NFA instead of a regexp engine.
  struct Token {
    enum Kind : uint8_t { kLiteral, kStar, kQuestion, kAnyDirs, kAnyTail, kClass } kind;
    char32_t ch = 0;   // kLiteral
    size_t klass = 0;  // kClass: index into Pattern::classes
  };
  struct CharClass {
    bool negated = false;
    std::vector<std::pair<char32_t, char32_t>> ranges;
  };
  struct Pattern {
    enum Type : uint8_t { kExact, kPrefix, kSuffix, kRegexp } type = kExact;
    std::string text;  // cleaned, without the '!'
    bool exception = false;
    std::vector<Token> tokens;
    std::vector<CharClass> classes;
  };

 private:
  bool matches_one(const Pattern& p, std::string_view path) const;

  std::vector<Pattern> patterns_;
  bool has_exceptions_ = false;
};

// Finds and parses the ignore file for a build, as BuildKit does:
// "<dir of Dockerfile>/<Dockerfile name>.dockerignore" if it exists, else
// "<context>/.dockerignore", else an empty matcher. *used_path (if given) is
// set to the file read, or "" if none.
IgnoreMatcher load_dockerignore(const std::string& context_dir, const std::string& dockerfile_path,
                                std::string* used_path = nullptr);

// Go's filepath.Match on '/'-separated names: '*' and '?' never match '/'.
// Throws Error for a malformed pattern (even if the name does not match), as
// Go reports ErrBadPattern.
bool path_match(std::string_view pattern, std::string_view name);

// Go's path.Clean: lexically removes ".", "..", repeated and trailing
// slashes; "" becomes ".".
std::string clean_path(std::string_view path);

}  // namespace slipway

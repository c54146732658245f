#pragma once
// Variable expansion of Dockerfile words, following BuildKit's shell lexer
// (frontend/dockerfile/shell/lex.go) rule for rule, quirks included: which
// variables are visible is the caller's business (see scope.h); this file only
// turns one raw word from the AST into its expanded form.
//
// Supported: $v ${v} ${v:-w} ${v-w} ${v:+w} ${v+w} ${v:?m} ${v?m} ${v#p}
// ${v##p} ${v%p} ${v%%p} ${v/p/r} ${v//p/r}, single and double quotes, the
// Dockerfile's escape character, special parameters ($1, $@, $#, ...: looked
// up by name like any variable, so they are normally unset and empty).
// Patterns follow BuildKit: `*` and `?` are wildcards (never matching a
// newline) and `[` is a literal, not a bracket expression.
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace slipway::dockerfile {

// The scope seen by an expansion: the value of a variable, or nullopt when it
// is unset (an unset variable differs from an empty one for ${v-w}, ${v+w}
// and ${v?m}). Names compare case-sensitively, as BuildKit does on Linux.
using VarLookup = std::function<std::optional<std::string>(std::string_view name)>;

// A lookup over a map the caller keeps alive.
VarLookup lookup_in(const std::map<std::string, std::string>& vars);

struct ExpandOptions {
  char escape = '\\';  // the Dockerfile's escape directive: '\\' or '`'
  // False for heredoc bodies, where BuildKit expands variables but keeps quote
  // characters as they are (its SkipProcessQuotes mode). BuildKit expands
  // heredocs with escape '\\' whatever the escape directive says.
  bool process_quotes = true;
};

struct Expansion {
  std::string word;                // the whole input, expanded (ProcessWord)
  std::vector<std::string> words;  // the input split into words (ProcessWords)
  std::set<std::string> matched;   // variables referenced that were set
  std::set<std::string> unmatched; // variables referenced that were unset
};

// Expands `raw` once, giving both the single-word and the split forms plus
// the names it referenced (the builder keys its cache on `matched`). Throws
// slipway::Error on a syntax error (`${}`, `${a:}`, a missing `}`, an
// unterminated quote, a bad pattern escape) or on ${v?msg} with v unset; the
// message has no location, the caller adds "FILE:LINE:COL".
Expansion expand(std::string_view raw, const VarLookup& vars, const ExpandOptions& opt = {});

// ProcessWord: one word with quotes removed, escapes processed and variables
// expanded. Whitespace inside the word is kept.
std::string expand_word(std::string_view raw, const VarLookup& vars, const ExpandOptions& opt = {});

// ProcessWords: `raw` split on unquoted whitespace after expansion (a value
// coming from a variable is split too, quoted text is not); empty words are
// dropped. Used for EXPOSE and similar word lists.
std::vector<std::string> expand_words(std::string_view raw, const VarLookup& vars,
                                      const ExpandOptions& opt = {});

// True when BuildKit expands variables in the arguments of instruction `cmd`
// (any case): ADD ARG COPY ENV EXPOSE FROM LABEL STOPSIGNAL USER VOLUME
// WORKDIR. RUN CMD ENTRYPOINT SHELL HEALTHCHECK MAINTAINER ONBUILD do not (an
// ONBUILD trigger is expanded as its own instruction when it runs).
bool expands_variables(std::string_view cmd);

// True when BuildKit expands the value of flag `flag` (no "--") of `cmd`:
// RUN --mount (each option value; `from=` must not contain a variable), ADD
// --chown/--chmod/--checksum, COPY --chown/--chmod (--chmod since BuildKit
// v0.16), FROM --platform (with the global scope). COPY --from is resolved to
// a stage before expansion, so it is never expanded (moby/buildkit#2374).
bool flag_expands(std::string_view cmd, std::string_view flag);

}  // namespace slipway::dockerfile

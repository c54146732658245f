#pragma once
// Word-level splitting of a logical line, after BuildKit's split_command.go
// and line_parsers.go. Every word keeps the logical-line offset of its first
// byte so errors can point at it.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace slipway::dockerfile {

struct Word {
  std::string text;
  size_t offset = 0;
};

struct SplitLine {
  Word cmd;                 // the instruction keyword as written
  std::vector<Word> flags;  // leading "--x[=v]" words, quotes and \ removed
  std::string rest;         // the rest, trimmed
  size_t rest_offset = 0;
};

// splitCommand + extractBuilderFlags.
SplitLine split_command(std::string_view line);

// parseWords (ENV, LABEL, ARG): quotes kept, escape char + next byte kept.
// `open_quote` is set to the offset of a quote left open, else npos.
std::vector<Word> parse_words(std::string_view rest, size_t base, char escape, size_t* open_quote);

// parseStringsWhitespaceDelimited: split on runs of [\t\v\f\r ].
std::vector<Word> split_whitespace(std::string_view rest, size_t base);

enum class JsonArray { kOk, kInvalid, kNotStrings };

// parseJSON: a JSON array of strings after optional blanks. Like Go's
// json.Unmarshal, any text after the array makes it invalid (shell form);
// kNotStrings only for valid JSON with a non-string element.
JsonArray parse_json_array(std::string_view rest, std::vector<std::string>& out);

}  // namespace slipway::dockerfile

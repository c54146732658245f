#pragma once
// Physical lines to logical lines, as BuildKit's parser.Parse does it: parser
// directives at the top, escape-char line continuations (BuildKit's exact
// joining: the escape char and trailing blanks are cut, continuation lines are
// not left-trimmed), comment and blank lines skipped inside continuations, and
// heredoc bodies read on demand. Every byte of a logical line maps back to
// its LINE:COL so later stages can point errors at the exact spot.
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace slipway::dockerfile {

struct LogicalLine {
  // Where a run of logical bytes came from: bytes from `offset` on are
  // physical line `line` starting at column `col`.
  struct Segment {
    size_t offset;
    int line;
    int col;
  };
  std::string text;
  std::vector<Segment> segments;
  int start_line = 0;
  int end_line = 0;

  // 1-based (line, col) of the logical byte at `offset` (clamped to the end).
  std::pair<int, int> position(size_t offset) const;
};

class Lexer {
 public:
  Lexer(std::string_view text, std::string path);

  // The next logical line that is not blank or a comment; false at the end.
  // Throws ParseError for a bad parser directive.
  bool next(LogicalLine& out);

  // Reads a heredoc body up to its terminator line (BuildKit: the line without
  // its newline, and without leading tabs for <<-, equals the name). The body
  // keeps its newlines. False when the input ends first.
  bool read_heredoc(std::string_view name, bool chomp, std::string& content);

  // Number of physical lines consumed so far (= the last line's number).
  int line() const { return static_cast<int>(next_); }

  // Physical lines [from, to] (1-based) without their line ends, joined by "\n".
  std::string original(int from, int to) const;

  const std::map<std::string, std::string>& directives() const { return directives_; }
  char escape() const { return escape_; }

 private:
  void directive(std::string_view line, int lineno, int col);
  bool cut_continuation(std::string_view& s) const;

  std::string path_;
  std::vector<std::string_view> lines_;  // newline included
  size_t next_ = 0;
  size_t bom_ = 0;  // bytes of UTF-8 BOM stripped from line 1
  bool directives_done_ = false;
  std::map<std::string, std::string> directives_;
  char escape_ = '\\';
};

// Shared byte classes (ASCII, as Go's unicode.IsSpace on single bytes).
inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }
std::string_view trim_space(std::string_view s);
std::string_view trim_newline(std::string_view s);

}  // namespace slipway::dockerfile

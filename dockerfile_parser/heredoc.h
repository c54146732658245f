#pragma once
// Heredoc words on an instruction line (BuildKit's heredocsFromLine): the line
// is split into shell words (quotes and escapes kept), and every word that
// matches ^(\d*)<<(-?)\s*([^<]*)$ with a single-word delimiter starts a
// heredoc (BuildKit's lexer keeps the blanks after "<<" in the word).
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "dockerfile_parser/ast.h"

namespace slipway::dockerfile {

struct HeredocStart {
  Heredoc doc;        // name, expand, chomp; content still empty
  size_t offset = 0;  // logical-line offset of the word holding the "<<"
};

std::vector<HeredocStart> heredocs_from_line(std::string_view line);

// Whether one word is a heredoc start (BuildKit's ParseHeredoc != nil).
bool is_heredoc_word(std::string_view word);

// <<- bodies: leading tabs removed from every line.
std::string chomp_heredoc(std::string_view content);

}  // namespace slipway::dockerfile

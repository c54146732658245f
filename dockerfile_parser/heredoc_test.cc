#include "dockerfile_parser/heredoc.h"

#include <catch2/catch.hpp>

using namespace slipway::dockerfile;

TEST_CASE("heredocs_from_line finds every heredoc word", "[heredoc]") {
  auto h = heredocs_from_line("RUN cat <<EOF >/x && cat <<-\"END\" 3<<'Q'");
  REQUIRE(h.size() == 3);
  CHECK(h[0].doc.name == "EOF");
  CHECK(h[0].doc.expand);
  CHECK_FALSE(h[0].doc.chomp);
  CHECK(h[0].offset == 8);
  CHECK(h[1].doc.name == "END");
  CHECK_FALSE(h[1].doc.expand);
  CHECK(h[1].doc.chomp);
  CHECK(h[2].doc.name == "Q");
  CHECK_FALSE(h[2].doc.expand);
}

TEST_CASE("heredocs_from_line: blanks after the marker", "[heredoc]") {
  auto h = heredocs_from_line("RUN <<  EOF  > foo");
  REQUIRE(h.size() == 1);
  CHECK(h[0].doc.name == "EOF");
  CHECK(h[0].offset == 4);
  // Only blanks right after "<<" join the word: "<<-" and "EOF" are two.
  CHECK(heredocs_from_line("RUN <<- EOF").empty());
  auto d = heredocs_from_line("RUN << -EOF");
  REQUIRE(d.size() == 1);
  CHECK(d[0].doc.name == "-EOF");
  CHECK_FALSE(d[0].doc.chomp);
  CHECK(heredocs_from_line("RUN cat <<  ").empty());
}

TEST_CASE("heredocs_from_line: what is not a heredoc", "[heredoc]") {
  CHECK(heredocs_from_line("RUN echo a<<EOF").empty());
  CHECK(heredocs_from_line("RUN echo <<").empty());
  CHECK(heredocs_from_line("RUN echo <<<EOF").empty());
  CHECK(heredocs_from_line("RUN echo '<<EOF'").empty());
  CHECK(heredocs_from_line("RUN echo \"<<EOF\"").empty());
  CHECK(heredocs_from_line("RUN echo \"unterminated <<EOF").empty());
  auto h = heredocs_from_line("COPY <<EOF>/x");  // BuildKit: the name runs to the end of the word
  REQUIRE(h.size() == 1);
  CHECK(h[0].doc.name == "EOF>/x");
}

TEST_CASE("is_heredoc_word", "[heredoc]") {
  CHECK(is_heredoc_word("<<EOF"));
  CHECK(is_heredoc_word("<<-'X'"));
  CHECK_FALSE(is_heredoc_word("a<<EOF"));
  CHECK_FALSE(is_heredoc_word("<<"));
}

TEST_CASE("chomp_heredoc strips leading tabs only", "[heredoc]") {
  CHECK(chomp_heredoc("\t\ta\n\t b\t\n  c\n") == "a\n b\t\n  c\n");
}

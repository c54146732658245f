#include "dockerfile_parser/instructions.h"

#include <catch2/catch.hpp>

#include "dockerfile_parser/test_util.h"

using namespace slipway::dockerfile;
using slipway::dockerfile::testing::expect_error;
using slipway::dockerfile::testing::first;
using V = std::vector<std::string>;

TEST_CASE("instructions: names are case-insensitive", "[instructions]") {
  Dockerfile df = parse("from a As B\nrUn x\n");
  REQUIRE(df.stages.size() == 1);
  CHECK(df.stages[0].name == "b");
  CHECK(df.stages[0].instructions[0].cmd == "run");
}

TEST_CASE("instructions: RUN/CMD/ENTRYPOINT shell and exec forms", "[instructions]") {
  Instruction r = first("RUN --network=none  echo  a \\\n  && b  \n");
  CHECK(r.args == V{"echo  a   && b"});
  CHECK_FALSE(r.json);
  CHECK(r.flags.at("network") == V{"none"});
  CHECK(r.line == 2);
  CHECK(r.end_line == 3);
  CHECK(r.original == "RUN --network=none  echo  a \\\n  && b  ");
  Instruction c = first("CMD [\"a\", \"b c\"]\n");
  CHECK(c.json);
  CHECK(c.args == V{"a", "b c"});
  Instruction e = first("ENTRYPOINT [\"a\"] x\n");  // trailing text: shell form
  CHECK_FALSE(e.json);
  CHECK(e.args == V{"[\"a\"] x"});
  CHECK(first("CMD [a]\n").args == V{"[a]"});
  CHECK(first("RUN\n").args.empty());
  CHECK(first("CMD []\n").json);
  Instruction m = first("RUN --mount=type=cache,target=/a --mount=type=secret,id=s true\n");
  CHECK(m.flags.at("mount") == V{"type=cache,target=/a", "type=secret,id=s"});
}

TEST_CASE("instructions: COPY/ADD words and JSON", "[instructions]") {
  Instruction c = first("COPY --from=b --chown=1:2 --chmod=0644 --link \"a b\" c /d/\n");
  CHECK(c.args == V{"\"a", "b\"", "c", "/d/"});
  CHECK(c.flags.at("from") == V{"b"});
  CHECK(c.flags.at("link") == V{"true"});
  CHECK(first("COPY --link=false a b\n").flags.at("link") == V{"false"});
  Instruction j = first("COPY [\"a b\", \"/c\"]\n");
  CHECK(j.json);
  CHECK(j.args == V{"a b", "/c"});
  Instruction a = first("ADD --checksum=sha256:00 --keep-git-dir --unpack=true --exclude=*.md --exclude=x a b\n");
  CHECK(a.flags.at("exclude") == V{"*.md", "x"});
  CHECK(a.flags.at("keep-git-dir") == V{"true"});
  CHECK(first("COPY --parents a b\n").flags.at("parents") == V{"true"});
}

TEST_CASE("instructions: ENV and LABEL", "[instructions]") {
  CHECK(first("ENV A=\"x y\" B=2 C=\n").args == V{"A", "\"x y\"", "B", "2", "C", ""});
  CHECK(first("ENV k v w\n").args == V{"k", "v w"});
  CHECK(first("ENV k  \"v  w\"\n").args == V{"k", "\"v  w\""});
  CHECK(first("LABEL a=b \"c d\"=e\n").args == V{"a", "b", "\"c d\"", "e"});
  CHECK(first("LABEL version 1.0\n").args == V{"version", "1.0"});
  CHECK(first("ENV A=a\\ b\n").args == V{"A", "a\\ b"});
}

TEST_CASE("instructions: the rest", "[instructions]") {
  CHECK(first("ARG a=1 b \"c\"=\"x y\"\n").args == V{"a=1", "b", "\"c\"=\"x y\""});
  CHECK(first("EXPOSE 80/tcp  443\n").args == V{"80/tcp", "443"});
  Instruction v = first("VOLUME [\"/a\", \"/b\"]\n");
  CHECK(v.json);
  CHECK(v.args == V{"/a", "/b"});
  CHECK(first("VOLUME /a /b\n").args == V{"/a", "/b"});
  CHECK(first("USER app:app\n").args == V{"app:app"});
  CHECK(first("WORKDIR /a b\n").args == V{"/a b"});
  CHECK(first("STOPSIGNAL SIGKILL\n").args == V{"SIGKILL"});
  CHECK(first("MAINTAINER Jane <j@x>\n").args == V{"Jane <j@x>"});
  CHECK(first("HEALTHCHECK NONE\n").args == V{"NONE"});
  Instruction h = first(
      "HEALTHCHECK --interval=5m --timeout=3s --start-period=1s --start-interval=1s --retries=3 "
      "cmd curl -f http://x/ || exit 1\n");
  CHECK(h.args == V{"CMD", "curl -f http://x/ || exit 1"});
  CHECK_FALSE(h.json);
  CHECK(h.flags.at("retries") == V{"3"});
  Instruction hj = first("HEALTHCHECK CMD [\"curl\", \"-f\"]\n");
  CHECK(hj.json);
  CHECK(hj.args == V{"CMD", "curl", "-f"});
  Instruction s = first("SHELL [\"/bin/bash\", \"-c\"]\n");
  CHECK(s.json);
  CHECK(s.args == V{"/bin/bash", "-c"});
}

TEST_CASE("instructions: ONBUILD has a parsed trigger", "[instructions]") {
  Instruction o = first("ONBUILD  COPY --from=x a b\n");
  CHECK(o.args == V{"COPY --from=x a b"});
  REQUIRE(o.trigger);
  CHECK(o.trigger->cmd == "copy");
  CHECK(o.trigger->col == 10);
  CHECK(o.trigger->flags.at("from") == V{"x"});
  CHECK(o.trigger->args == V{"a", "b"});
  CHECK(o.trigger->original == "COPY --from=x a b");
  Instruction h = first("ONBUILD RUN <<EOF\nx\nEOF\n");
  REQUIRE(h.trigger);
  REQUIRE(h.trigger->heredocs.size() == 1);
  CHECK(h.trigger->heredocs[0].content == "x\n");
  CHECK(h.end_line == 4);
}

TEST_CASE("instructions: heredocs", "[instructions]") {
  Instruction r = first("RUN <<EOF\necho a\n  echo b\nEOF\nRUN x\n");
  CHECK(r.args == V{"<<EOF"});
  REQUIRE(r.heredocs.size() == 1);
  CHECK(r.heredocs[0].content == "echo a\n  echo b\n");
  CHECK(r.heredocs[0].expand);
  CHECK(r.end_line == 5);
  CHECK(r.original == "RUN <<EOF\necho a\n  echo b\nEOF");
  Instruction two = first("RUN cat <<A <<-'B' > /x\na\nA\n\tb\n\tB\n");
  CHECK(two.args == V{"cat <<A <<-'B' > /x"});
  REQUIRE(two.heredocs.size() == 2);
  CHECK(two.heredocs[0].content == "a\n");
  CHECK(two.heredocs[1].content == "b\n");
  CHECK(two.heredocs[1].chomp);
  CHECK_FALSE(two.heredocs[1].expand);
  Instruction c = first("COPY <<\"EOF\" /etc/x\n$HOME\nEOF\n");
  CHECK(c.args == V{"<<\"EOF\"", "/etc/x"});
  CHECK_FALSE(c.heredocs[0].expand);
  CHECK(c.heredocs[0].content == "$HOME\n");
  // Exec form and other instructions take no heredocs.
  CHECK(first("RUN [\"<<EOF\"]\n").heredocs.empty());
  CHECK(first("CMD <<EOF\n").heredocs.empty());
  // Continuation before the heredoc: the body starts after the last line.
  Instruction k = first("RUN a \\\n <<EOF\nbody\nEOF\n");
  CHECK(k.heredocs[0].content == "body\n");
  CHECK(k.end_line == 5);
}

TEST_CASE("instructions: global args and stages", "[instructions]") {
  Dockerfile df = parse("ARG A=1 B\nARG C=\"x y\"\nFROM --platform=$P img:1 AS One\nARG D\nFROM one\n");
  REQUIRE(df.args.size() == 3);
  CHECK(df.args[0].name == "A");
  CHECK(df.args[0].default_value == "1");
  CHECK_FALSE(df.args[1].default_value);
  CHECK(df.args[2].default_value == "\"x y\"");
  CHECK(df.args[2].line == 2);
  REQUIRE(df.stages.size() == 2);
  CHECK(df.stages[0].platform == "$P");
  CHECK(df.stages[0].base == "img:1");
  CHECK(df.stages[0].name == "one");
  CHECK(df.stages[0].line == 3);
  CHECK(df.stages[0].instructions.size() == 1);
  CHECK(df.stages[1].base == "one");
  CHECK_FALSE(df.stages[1].name);
}

TEST_CASE("errors: structure and instructions", "[instructions][errors]") {
  expect_error("", 1, 1, "no FROM instruction");
  expect_error("# just a comment\n\n", 1, 1, "no FROM instruction");
  expect_error("ARG a\n", 1, 1, "no FROM instruction");
  expect_error("ARG a\n  RUN x\nFROM a\n", 2, 3, "no FROM instruction");
  expect_error("FROM a\n  FOO bar\n", 2, 3, "unknown instruction: FOO");
  expect_error("FROM a AS x\nFROM b AS X\n", 2, 11, "duplicate stage name \"x\"");
  expect_error("FROM a AS 1x\n", 1, 11, "invalid name for build stage");
  expect_error("FROM a AS b$c\n", 1, 11, "invalid name for build stage");
  expect_error("FROM a b c\n", 1, 8, "FROM requires either one or three arguments");
  expect_error("FROM a AS\n", 1, 8, "FROM requires either one or three arguments");
  expect_error("FROM\n", 1, 1, "FROM requires either one or three arguments");
  expect_error("FROM --platfrom=x a\n", 1, 6, "unknown flag: --platfrom");
}

TEST_CASE("errors: flags point at the flag", "[instructions][errors]") {
  expect_error("FROM a\nCOPY --from=a \\\n  --foo a b\n", 3, 3, "unknown flag: --foo");
  expect_error("FROM a\nCOPY --from=a --from=b a b\n", 2, 15, "duplicate flag specified: --from");
  expect_error("FROM a\nENV --x=1 a=b\n", 2, 5, "unknown flag: --x");
  expect_error("FROM a\nRUN --mount=type=cache true\n", 2, 5, "requires a target");
  expect_error("FROM a\nRUN --network=bridge true\n", 2, 5, "unsupported network mode");
  expect_error("FROM a\nRUN --security=x true\n", 2, 5, "unsupported security mode");
  expect_error("FROM a\nCOPY --chmod=0999 a b\n", 2, 6, "invalid chmod");
  expect_error("FROM a\nCOPY --chown=:x a b\n", 2, 6, "invalid chown");
  expect_error("FROM a\nCOPY --link=maybe a b\n", 2, 6, "expecting boolean value for flag --link");
  expect_error("FROM a\nHEALTHCHECK --interval=5 CMD x\n", 2, 13, "invalid duration");
  expect_error("FROM a\nHEALTHCHECK --retries=-2 CMD x\n", 2, 13, "--retries cannot be negative");
  expect_error("FROM a\nHEALTHCHECK --timeout=10us CMD x\n", 2, 13, "cannot be less than 1ms");
  expect_error("FROM a\nCOPY --from a b\n", 2, 6, "missing a value on flag: --from");
  // As in BuildKit, some instructions check their argument count first.
  expect_error("FROM a\nCOPY --foo a\n", 2, 1, "COPY requires at least two arguments");
  expect_error("FROM a\nENV --foo\n", 2, 5, "unknown flag: --foo");
}

TEST_CASE("errors: arguments", "[instructions][errors]") {
  expect_error("FROM a\nCOPY a\n", 2, 1, "COPY requires at least two arguments");
  expect_error("FROM a\nADD\n", 2, 1, "ADD requires at least two arguments");
  expect_error("FROM a\nCOPY a <<EOF\nx\nEOF\n", 2, 8, "COPY cannot accept a heredoc as a destination");
  expect_error("FROM a\nENV\n", 2, 1, "ENV requires at least one argument");
  expect_error("FROM a\nENV a\n", 2, 1, "ENV must have two arguments");
  expect_error("FROM a\nENV a=1 b\n", 2, 9, "can't find = in \"b\"");
  expect_error("FROM a\nENV =1\n", 2, 5, "ENV names can not be blank");
  expect_error("FROM a\nLABEL\n", 2, 1, "LABEL requires at least one argument");
  expect_error("FROM a\nARG\n", 2, 1, "ARG requires at least one argument");
  expect_error("FROM a\nARG =x\n", 2, 5, "ARG names can not be blank");
  expect_error("FROM a\nEXPOSE\n", 2, 1, "EXPOSE requires at least one argument");
  expect_error("FROM a\nVOLUME\n", 2, 1, "VOLUME requires at least one argument");
  expect_error("FROM a\nVOLUME [\"\"]\n", 2, 8, "VOLUME specified can not be an empty string");
  expect_error("FROM a\nUSER\n", 2, 1, "USER requires exactly one argument");
  expect_error("FROM a\nWORKDIR\n", 2, 1, "WORKDIR requires exactly one argument");
  expect_error("FROM a\nSTOPSIGNAL\n", 2, 1, "STOPSIGNAL requires exactly one argument");
  expect_error("FROM a\nMAINTAINER\n", 2, 1, "MAINTAINER requires exactly one argument");
  expect_error("FROM a\nCMD [\"a\", 1]\n", 2, 5, "arrays must be comprised of strings only");
  expect_error("FROM a\nSHELL sh -c\n", 2, 7, "SHELL requires the arguments to be in JSON form");
  expect_error("FROM a\nSHELL []\n", 2, 1, "SHELL requires at least one argument");
  expect_error("FROM a\nHEALTHCHECK\n", 2, 1, "HEALTHCHECK requires at least one argument");
  expect_error("FROM a\nHEALTHCHECK  PING x\n", 2, 14, "Unknown type \"PING\" in HEALTHCHECK");
  expect_error("FROM a\nHEALTHCHECK NONE x\n", 2, 18, "HEALTHCHECK NONE takes no arguments");
  expect_error("FROM a\nHEALTHCHECK CMD\n", 2, 13, "Missing command after HEALTHCHECK CMD");
  expect_error("FROM a\nONBUILD\n", 2, 1, "ONBUILD requires at least one argument");
  expect_error("FROM a\nONBUILD onbuild RUN x\n", 2, 9, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  std::string chain = "FROM a\n";
  for (int i = 0; i < 200000; ++i) chain += "ONBUILD ";
  expect_error(chain + "RUN x\n", 2, 9, "Chaining ONBUILD");  // no recursion per word
  expect_error("FROM a\nONBUILD FROM x\n", 2, 9, "FROM isn't allowed as an ONBUILD trigger");
  expect_error("FROM a\nONBUILD MAINTAINER x\n", 2, 9, "MAINTAINER isn't allowed as an ONBUILD trigger");
  expect_error("FROM a\nONBUILD FOO x\n", 2, 9, "unknown instruction: FOO");
}

TEST_CASE("errors: quotes and heredocs", "[instructions][errors]") {
  expect_error("FROM a\nENV A=\"x \\\n  y\n", 2, 7, "unterminated quote");
  expect_error("FROM a\nLABEL a='b\n", 2, 9, "unterminated quote");
  expect_error("FROM a\nARG x=\"1\n", 2, 7, "unterminated quote");
  expect_error("FROM a\nRUN echo \\\n  <<EOF\nnever ends\n", 3, 3, "unterminated heredoc");
  expect_error("FROM a\nCOPY <<A <<B /x\na\nA\nb\n", 2, 10, "unterminated heredoc");
  // Pass-1 errors (heredocs) come before pass-2 errors on earlier lines, as in BuildKit.
  expect_error("FROM a\nFOO\nRUN <<EOF\n", 3, 5, "unterminated heredoc");
}

TEST_CASE("escape directive: backtick files", "[instructions]") {
  Dockerfile df = parse("# escape=`\nFROM a\nRUN dir c:\\ `\n  /b\nENV P=c:\\a` b\n");
  CHECK(df.escape == '`');
  CHECK(df.directives.at("escape") == "`");
  const auto& ins = df.stages[0].instructions;
  CHECK(ins[0].args == V{"dir c:\\   /b"});
  CHECK(ins[1].args == V{"P", "c:\\a` b"});
}

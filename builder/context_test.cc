#include "builder/context.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/error.h"

using slipway::BuildContext;
using slipway::ContextEntry;
using slipway::EntryType;
using slipway::IgnoreMatcher;

namespace {

// A scratch directory tree, removed with everything in it.
struct TempTree {
  std::string root;
  TempTree() {
    char tmpl[] = "/tmp/slipway-context-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    root = tmpl;
  }
  ~TempTree() { std::filesystem::remove_all(root); }
  TempTree(const TempTree&) = delete;
  TempTree& operator=(const TempTree&) = delete;

  std::string at(const std::string& rel) const { return root + "/" + rel; }
  void dir(const std::string& rel) const { std::filesystem::create_directories(at(rel)); }
  void file(const std::string& rel, const std::string& content = "x") const {
    std::filesystem::create_directories(std::filesystem::path(at(rel)).parent_path());
    std::ofstream(at(rel)) << content;
  }
  void link(const std::string& rel, const std::string& target) const {
    REQUIRE(::symlink(target.c_str(), at(rel).c_str()) == 0);
  }
};

std::vector<std::string> paths(std::span<const ContextEntry> entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.path);
  return out;
}

std::vector<std::string> walk(const TempTree& t, const std::string& dockerignore) {
  return paths(BuildContext::load(t.root, IgnoreMatcher::parse(dockerignore)).entries());
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const slipway::Error& e) {
    return e.message();
  }
  return "";
}

}  // namespace

TEST_CASE("entries come sorted, parents before children") {
  TempTree t;
  for (const char* f : {"b/z", "a.txt", "a/b", "a-b", "a/c/d", "B", "_"}) t.file(f);
  t.dir("empty");
  // '/' sorts before every other byte: "a/..." comes before "a-b" and "a.txt".
  CHECK(walk(t, "") == std::vector<std::string>{"B", "_", "a", "a/b", "a/c", "a/c/d", "a-b", "a.txt", "b", "b/z",
                                                "empty"});
  auto ctx = BuildContext::load(t.root, IgnoreMatcher());
  std::vector<std::string> sorted = paths(ctx.entries());
  CHECK(std::is_sorted(sorted.begin(), sorted.end(), slipway::context_path_less));
  CHECK(ctx.find("a/c")->type == EntryType::kDir);
  CHECK(ctx.find("a/c/d")->type == EntryType::kFile);
  CHECK(ctx.find("a/c/d")->st.st_size == 1);
  CHECK(ctx.find("a/x") == nullptr);
  CHECK(ctx.find(".") == &ctx.root());
  CHECK(paths(ctx.below("a")) == std::vector<std::string>{"a/b", "a/c", "a/c/d"});
  CHECK(ctx.below("a/b").empty());
  CHECK(ctx.below(".").size() == ctx.entries().size());
}

TEST_CASE("excluded directories are pruned unless an exception reaches inside") {
  TempTree t;
  t.file("src/main.c");
  t.file("node_modules/a/b/c.js");
  t.file("node_modules/d.js");
  t.file("build/out.o");
  t.file("build/keep/k.txt");
  t.file("build/sub/keep/deep.txt");
  t.file("build/sub/other.txt");
  t.file("x.log");
  t.file("logs/y.log");
  t.file("Dockerfile");

  const std::string ignore = "node_modules\nbuild\n!build/keep\n**/*.log\n";
  auto ctx = BuildContext::load(t.root, IgnoreMatcher::parse(ignore));
  CHECK(paths(ctx.entries()) ==
        std::vector<std::string>{"Dockerfile", "build", "build/keep", "build/keep/k.txt", "logs", "src", "src/main.c"});
  // Read: root, build (for the exception), build/keep, logs, src. Not
  // node_modules nor build/sub: no exception can reach into them.
  CHECK(ctx.stats().dirs_read == 5);
  CHECK(ctx.stats().entries == ctx.entries().size());

  // A wildcard exception may reach anywhere below: build/sub is read, and it
  // and build are yielded only because something inside is re-included.
  ctx = BuildContext::load(t.root, IgnoreMatcher::parse("build\n!**/keep/*.txt\n"));
  CHECK(paths(ctx.below("build")) == std::vector<std::string>{"build/keep", "build/keep/k.txt", "build/sub",
                                                             "build/sub/keep", "build/sub/keep/deep.txt"});
  CHECK(ctx.find("build") != nullptr);
  CHECK(ctx.find("build/out.o") == nullptr);
  CHECK(ctx.find("build/sub/other.txt") == nullptr);

  // Everything excluded, one file re-included deep down.
  CHECK(walk(t, "*\n!build/sub/keep/deep.txt\n") ==
        std::vector<std::string>{"build", "build/sub", "build/sub/keep", "build/sub/keep/deep.txt"});
  // An excluded directory with nothing re-included is not yielded at all.
  CHECK(walk(t, "*\n!build/nothing-here\n").empty());
}

TEST_CASE("symlinks are yielded as symlinks, never followed") {
  TempTree outside;
  outside.file("secret.txt", "secret");
  TempTree t;
  t.file("real/file.txt");
  t.link("out", outside.root);                   // a directory outside the context
  t.link("out-file", outside.at("secret.txt"));  // a file outside the context
  t.link("inside", "real");                      // a directory inside
  t.link("dangling", "does/not/exist");
  t.link("loop", "loop");

  auto ctx = BuildContext::load(t.root, IgnoreMatcher());
  CHECK(paths(ctx.entries()) ==
        std::vector<std::string>{"dangling", "inside", "loop", "out", "out-file", "real", "real/file.txt"});
  const ContextEntry* out = ctx.find("out");
  REQUIRE(out != nullptr);
  CHECK(out->type == EntryType::kSymlink);
  CHECK(out->link_target == outside.root);
  CHECK(S_ISLNK(out->st.st_mode));
  CHECK(ctx.find("inside")->link_target == "real");
  CHECK(ctx.find("out/secret.txt") == nullptr);
  CHECK(ctx.find("inside/file.txt") == nullptr);

  // Opening through a symlink, or climbing out, is refused.
  CHECK_THROWS_AS(ctx.open("out/secret.txt", O_RDONLY), slipway::Error);
  CHECK_THROWS_AS(ctx.open("out-file", O_RDONLY), slipway::Error);
  CHECK_THROWS_AS(ctx.open("../x", O_RDONLY), slipway::Error);
  CHECK_THROWS_AS(ctx.open("/etc/passwd", O_RDONLY), slipway::Error);
  auto fd = ctx.open("real/file.txt", O_RDONLY);
  char c = 0;
  CHECK(::read(fd.get(), &c, 1) == 1);
  CHECK(c == 'x');

  // A glob does not descend through symlinks either.
  CHECK_THROWS_AS(ctx.resolve_copy_source("out/*"), slipway::Error);
  CHECK(paths(ctx.resolve_copy_source("out*")) == std::vector<std::string>{"out", "out-file"});
}

TEST_CASE("a directory swapped for a symlink during the walk is an error") {
  TempTree outside;
  outside.file("secret.txt");
  TempTree t;
  t.file("a/x");
  t.file("b/y");
  int fd = ::open(t.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  slipway::UniqueFd root(fd);
  std::vector<std::string> seen;
  std::string err = error_of([&] {
    slipway::walk_context(root.get(), IgnoreMatcher(), [&](const ContextEntry& e, int) {
      seen.push_back(e.path);
      if (e.path == "a") {  // after lstat, before the walker opens it
        std::filesystem::rename(t.at("a"), t.at("a.old"));
        REQUIRE(::symlink(outside.root.c_str(), t.at("a").c_str()) == 0);
      }
    });
  });
  CHECK(err == "build context changed while reading it: a is no longer a directory");
  CHECK(seen == std::vector<std::string>{"a"});

  // Swapped for another directory: caught by comparing device and inode.
  std::filesystem::remove(t.at("a"));
  std::filesystem::rename(t.at("a.old"), t.at("a"));
  err = error_of([&] {
    slipway::walk_context(root.get(), IgnoreMatcher(), [&](const ContextEntry& e, int) {
      if (e.path == "b") {
        std::filesystem::rename(t.at("b"), t.at("b.old"));
        std::filesystem::create_directory(t.at("b"));
      }
    });
  });
  CHECK(err == "build context changed while reading it: b was replaced");
}

TEST_CASE("the visitor gets the parent directory fd for safe reads") {
  TempTree t;
  t.file("d/e/f.txt", "hello");
  int fd = ::open(t.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  slipway::UniqueFd root(fd);
  std::string content;
  auto stats = slipway::walk_context(root.get(), IgnoreMatcher(), [&](const ContextEntry& e, int parent_fd) {
    if (e.type != EntryType::kFile) return;
    slipway::UniqueFd f(::openat(parent_fd, "f.txt", O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    REQUIRE(f);
    char buf[16];
    ssize_t n = ::read(f.get(), buf, sizeof buf);
    content.assign(buf, static_cast<size_t>(n));
  });
  CHECK(content == "hello");
  CHECK(stats.entries == 3);
  CHECK(stats.dirs_read == 3);
  // The same fd walks again from the start (no shared read offset).
  auto again = slipway::walk_context(root.get(), IgnoreMatcher(), [](const ContextEntry&, int) {});
  CHECK(again.entries == 3);
}

TEST_CASE("COPY sources resolve against the walked context") {
  TempTree t;
  for (const char* f : {"a.txt", "b.txt", "c.md", "src/x.go", "src/y.go", "src/z.c", "src/sub/w.go", "dir/a.txt",
                        "ignored.txt", "q?.txt"}) {
    t.file(f);
  }
  auto ctx = BuildContext::load(t.root, IgnoreMatcher::parse("ignored.txt\n"));

  CHECK(paths(ctx.resolve_copy_source("*.txt")) == std::vector<std::string>{"a.txt", "b.txt", "q?.txt"});
  CHECK(paths(ctx.resolve_copy_source("src/*.go")) == std::vector<std::string>{"src/x.go", "src/y.go"});
  CHECK(paths(ctx.resolve_copy_source("*/a.txt")) == std::vector<std::string>{"dir/a.txt"});
  CHECK(paths(ctx.resolve_copy_source("src/[xz].*")) == std::vector<std::string>{"src/x.go", "src/z.c"});
  CHECK(paths(ctx.resolve_copy_source("q?.txt")) == std::vector<std::string>{"q?.txt"});
  CHECK(paths(ctx.resolve_copy_source("src")) == std::vector<std::string>{"src"});
  CHECK(paths(ctx.resolve_copy_source("./src/")) == std::vector<std::string>{"src"});
  // The context is the root: ".." cannot climb out of it.
  CHECK(paths(ctx.resolve_copy_source("../a.txt")) == std::vector<std::string>{"a.txt"});
  CHECK(paths(ctx.resolve_copy_source("/../../src/../b.txt")) == std::vector<std::string>{"b.txt"});
  CHECK(paths(ctx.resolve_copy_source("../*.md")) == std::vector<std::string>{"c.md"});
  auto all = ctx.resolve_copy_source(".");
  REQUIRE(all.size() == 1);
  CHECK(all[0].path == ".");
  CHECK(all[0].type == EntryType::kDir);
  CHECK(ctx.resolve_copy_source("/").at(0).path == ".");
  CHECK(ctx.resolve_copy_source("..").at(0).path == ".");

  CHECK(error_of([&] { ctx.resolve_copy_source("*.rs"); }) ==
        "COPY failed: no source files were specified: \"*.rs\" matches nothing in the build context "
        "(is it excluded by .dockerignore?)");
  CHECK(error_of([&] { ctx.resolve_copy_source("ignored.txt"); }).find("\"ignored.txt\" matches nothing") !=
        std::string::npos);
  CHECK(error_of([&] { ctx.resolve_copy_source("missing"); }).find("\"missing\"") != std::string::npos);
  CHECK(error_of([&] { ctx.resolve_copy_source("src/*/*/*.go"); }).find("no source files") != std::string::npos);
  CHECK(error_of([&] { ctx.resolve_copy_source("src/[x"); }).find("invalid pattern") != std::string::npos);
  CHECK(slipway::clean_context_path("a/../../b/./c/") == "b/c");
}

TEST_CASE("a missing context directory is a clear error") {
  TempTree t;
  std::string err = error_of([&] { BuildContext::load(t.at("nope"), IgnoreMatcher()); });
  CHECK(err.find("opening build context " + t.at("nope")) == 0);
}

TEST_CASE("absurdly deep contexts are refused, not crashed on") {
  TempTree t;
  int fd = ::open(t.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  slipway::UniqueFd cur(fd);
  for (int i = 0; i < 2100; ++i) {  // mkdirat: the path is too long for mkdir
    REQUIRE(::mkdirat(cur.get(), "d", 0755) == 0);
    slipway::UniqueFd next(::openat(cur.get(), "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    REQUIRE(next);
    cur = std::move(next);
  }
  std::string err = error_of([&] { BuildContext::load(t.root, IgnoreMatcher()); });
  CHECK(err.find("is nested more than 2048 levels deep") != std::string::npos);
  // Pruned by .dockerignore, the same tree is fine.
  CHECK(BuildContext::load(t.root, IgnoreMatcher::parse("d\n")).entries().empty());
}

#include "builder/cache_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <string>

#include "common/error.h"

using slipway::BuildContext;
using slipway::IgnoreMatcher;
using slipway::build::context_sources_digest;
using slipway::build::step_key;
using slipway::build::StepKeyInput;

namespace {

StepKeyInput sample() {
  StepKeyInput in;
  in.parent = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
  in.platform = "linux/amd64";
  in.instruction = "run";
  in.words = {"make install"};
  in.flags = {{"mount", {"type=cache,target=/root/.cache"}}};
  in.heredocs = {{"EOF", "echo hi\n"}};
  in.env = {{"PATH", "/usr/bin:/bin"}, {"VERSION", "1.2"}};
  in.user = "app";
  in.workdir = "/src";
  in.shell = {"/bin/sh", "-c"};
  in.inputs = {{"sources", "abc"}};
  in.layer_format = "gzip:-1:oci";
  in.source_date_epoch = 0;
  return in;
}

struct TempTree {
  std::string root;
  TempTree() {
    char tmpl[] = "/tmp/slipway-cache-key-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    root = tmpl;
  }
  ~TempTree() { std::filesystem::remove_all(root); }
  TempTree(const TempTree&) = delete;
  TempTree& operator=(const TempTree&) = delete;
  std::string at(const std::string& rel) const { return root + "/" + rel; }
  void file(const std::string& rel, const std::string& content) const {
    std::filesystem::create_directories(std::filesystem::path(at(rel)).parent_path());
    std::ofstream(at(rel), std::ios::trunc) << content;
  }
};

std::string digest_of(const TempTree& t, const std::vector<std::string>& sources, const std::string& ignore = "",
                      const std::string& exclude = "") {
  auto ctx = BuildContext::load(t.root, IgnoreMatcher::parse(ignore));
  return context_sources_digest(ctx, sources, IgnoreMatcher::parse(exclude, "--exclude"));
}

}  // namespace

TEST_CASE("a step key is 64 hex digits and deterministic") {
  std::string k = step_key(sample());
  CHECK(k.size() == 64);
  CHECK(k.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(step_key(sample()) == k);
}

TEST_CASE("every input of a step changes its key") {
  const std::string base = step_key(sample());
  std::vector<std::pair<const char*, std::function<void(StepKeyInput&)>>> changes = {
      {"parent", [](StepKeyInput& i) { i.parent = "scratch"; }},
      {"platform", [](StepKeyInput& i) { i.platform = "linux/arm64/v8"; }},
      {"instruction", [](StepKeyInput& i) { i.instruction = "copy"; }},
      {"words", [](StepKeyInput& i) { i.words = {"make  install"}; }},
      {"word split", [](StepKeyInput& i) { i.words = {"make", "install"}; }},
      {"flag value", [](StepKeyInput& i) { i.flags["mount"] = {"type=cache,target=/root/.npm"}; }},
      {"flag added", [](StepKeyInput& i) { i.flags["network"] = {"none"}; }},
      {"chown", [](StepKeyInput& i) { i.flags["chown"] = {"1000:1000"}; }},
      {"chmod", [](StepKeyInput& i) { i.flags["chmod"] = {"0755"}; }},
      {"exec form", [](StepKeyInput& i) { i.json_form = true; }},
      {"heredoc body", [](StepKeyInput& i) { i.heredocs[0].second = "echo ho\n"; }},
      {"heredoc name", [](StepKeyInput& i) { i.heredocs[0].first = "END"; }},
      {"env value", [](StepKeyInput& i) { i.env[1].second = "1.3"; }},
      {"env added", [](StepKeyInput& i) { i.env.emplace_back("DEBUG", ""); }},
      {"env order", [](StepKeyInput& i) { std::swap(i.env[0], i.env[1]); }},
      {"user", [](StepKeyInput& i) { i.user = "root"; }},
      {"workdir", [](StepKeyInput& i) { i.workdir = "/"; }},
      {"shell", [](StepKeyInput& i) { i.shell = {"/bin/bash", "-c"}; }},
      {"sources", [](StepKeyInput& i) { i.inputs["sources"] = "abd"; }},
      {"from stage", [](StepKeyInput& i) { i.inputs["from"] = "k"; }},
      {"compression", [](StepKeyInput& i) { i.layer_format = "zstd:-1:oci"; }},
      {"epoch", [](StepKeyInput& i) { i.source_date_epoch = 1700000000; }},
      {"no epoch", [](StepKeyInput& i) { i.source_date_epoch.reset(); }},
  };
  std::set<std::string> seen = {base};
  for (const auto& [what, change] : changes) {
    StepKeyInput in = sample();
    change(in);
    INFO(what);
    CHECK(seen.insert(step_key(in)).second);
  }
}

TEST_CASE("field boundaries cannot be shifted to make two keys equal") {
  StepKeyInput a = sample(), b = sample();
  a.user = "ab";
  a.workdir = "c";
  b.user = "a";
  b.workdir = "bc";
  CHECK(step_key(a) != step_key(b));
  a = sample();
  b = sample();
  a.env = {{"A", "B=C"}};
  b.env = {{"A=B", "C"}};
  CHECK(step_key(a) != step_key(b));
}

TEST_CASE("context sources: content, mode, symlink target, new files and names change the digest") {
  TempTree t;
  t.file("src/a.txt", "alpha");
  t.file("src/b.txt", "beta");
  t.file("other.txt", "unrelated");
  REQUIRE(::symlink("a.txt", t.at("src/link").c_str()) == 0);
  const std::string d0 = digest_of(t, {"src"});
  CHECK(d0.size() == 64);
  CHECK(digest_of(t, {"src"}) == d0);

  t.file("src/a.txt", "alphA");
  std::string d1 = digest_of(t, {"src"});
  CHECK(d1 != d0);
  t.file("src/a.txt", "alpha");
  CHECK(digest_of(t, {"src"}) == d0);

  REQUIRE(::chmod(t.at("src/b.txt").c_str(), 0755) == 0);
  CHECK(digest_of(t, {"src"}) != d0);
  REQUIRE(::chmod(t.at("src/b.txt").c_str(), 0644) == 0);
  CHECK(digest_of(t, {"src"}) == d0);

  REQUIRE(::unlink(t.at("src/link").c_str()) == 0);
  REQUIRE(::symlink("b.txt", t.at("src/link").c_str()) == 0);
  CHECK(digest_of(t, {"src"}) != d0);
  REQUIRE(::unlink(t.at("src/link").c_str()) == 0);
  REQUIRE(::symlink("a.txt", t.at("src/link").c_str()) == 0);
  CHECK(digest_of(t, {"src"}) == d0);

  t.file("src/c.txt", "");
  CHECK(digest_of(t, {"src"}) != d0);
  std::filesystem::remove(t.at("src/c.txt"));
  CHECK(digest_of(t, {"src"}) == d0);

  std::filesystem::rename(t.at("src/b.txt"), t.at("src/B.txt"));
  CHECK(digest_of(t, {"src"}) != d0);
  std::filesystem::rename(t.at("src/B.txt"), t.at("src/b.txt"));

  // The source words themselves count: the same files under another name
  // land elsewhere.
  CHECK(digest_of(t, {"src/"}) != d0);
  CHECK(digest_of(t, {"src/a.txt", "src/b.txt"}) != digest_of(t, {"src/b.txt", "src/a.txt"}));
}

TEST_CASE("context sources: hard links are part of the digest") {
  TempTree t;
  t.file("d/a", "same");
  t.file("d/b", "same");
  const std::string apart = digest_of(t, {"d"});
  std::filesystem::remove(t.at("d/b"));
  REQUIRE(::link(t.at("d/a").c_str(), t.at("d/b").c_str()) == 0);
  CHECK(digest_of(t, {"d"}) != apart);
}

TEST_CASE("context sources: what the step does not read leaves the digest alone") {
  TempTree t;
  t.file("app/main.c", "int main(){}");
  t.file("app/build.log", "1");
  t.file("docs/readme", "r");
  const std::string d0 = digest_of(t, {"app"}, "app/*.log\n");
  // A file outside the sources.
  t.file("docs/readme", "changed");
  t.file("new.txt", "n");
  CHECK(digest_of(t, {"app"}, "app/*.log\n") == d0);
  // A file .dockerignore excludes.
  t.file("app/build.log", "2");
  t.file("app/more.log", "3");
  CHECK(digest_of(t, {"app"}, "app/*.log\n") == d0);
  // Without the ignore rule the same change counts.
  CHECK(digest_of(t, {"app"}) != digest_of(t, {"app"}, "app/*.log\n"));
  // --exclude works like .dockerignore.
  const std::string e0 = digest_of(t, {"app"}, "", "app/*.log");
  t.file("app/build.log", "4");
  CHECK(digest_of(t, {"app"}, "", "app/*.log") == e0);
  // mtimes and owners are not read: a fresh checkout hits.
  struct timespec ts[2] = {{1000, 0}, {1000, 0}};
  REQUIRE(::utimensat(AT_FDCWD, t.at("app/main.c").c_str(), ts, 0) == 0);
  CHECK(digest_of(t, {"app"}, "", "app/*.log") == e0);
  if (::geteuid() == 0) {
    REQUIRE(::chown(t.at("app/main.c").c_str(), 1234, 1234) == 0);
    CHECK(digest_of(t, {"app"}, "", "app/*.log") == e0);
  }
}

TEST_CASE("context sources: a source that matches nothing is an error") {
  TempTree t;
  t.file("a", "1");
  CHECK_THROWS_AS(digest_of(t, {"missing"}), slipway::Error);
}

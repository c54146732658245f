// The overlay differ and the walking differ must give identical layers for
// the same change. Each operation runs twice on the same base: once through
// a real overlayfs mount (then overlay_diff over its upper dir), once on a
// plain copy (then walk_diff); the two tars must be byte-identical.
#include "layers/diff.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/fd.h"
#include "layers/byte_sink.h"

namespace fs = std::filesystem;
using namespace slipway;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/slipway-diff-test.XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

int sh(const fs::path& cwd, const std::string& script) {
  std::string cmd = "cd '" + cwd.string() + "' && (" + script + ") >/dev/null 2>&1";
  return std::system(cmd.c_str());
}

void make_base(const fs::path& root) {
  fs::create_directories(root);
  REQUIRE(sh(root, "mkdir -p d/sub bin etc && printf one > d/file1 && printf two > d/file2 && "
                   "printf deep > d/sub/deep && printf f > f && chmod 644 f && printf wxyz > f4 && "
                   "touch -d @100 f4 && printf tool > bin/tool && chmod 755 bin/tool && ln -s f link && "
                   "printf other > other && printf x > xf && setfattr -n user.base -v 1 xf && "
                   "printf root > etc/passwd") == 0);
}

UniqueFd open_dir(const fs::path& p) {
  UniqueFd fd(open(p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  REQUIRE(fd);
  return fd;
}

std::string tar_of(std::vector<TarEntry> entries, int source_fd) {
  StringSink sink;
  TarOptions opts;
  opts.source_date_epoch = 1000;  // the two runs happen at different times
  opts.source_dir_fd = source_fd;
  write_tar(std::move(entries), sink, opts);
  return sink.out;
}

std::vector<std::string> paths_of(const std::vector<TarEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) {
    std::string p = e.path;
    if (e.kind == TarKind::kWhiteout) p += " (whiteout)";
    if (e.kind == TarKind::kOpaque) p += " (opaque)";
    out.push_back(p);
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct Result {
  std::vector<std::string> overlay_paths, walk_paths;
  std::string overlay_tar, walk_tar;
};

Result run_both(const std::string& op) {
  TempDir t;
  fs::path lower = t.path / "lower", upper = t.path / "upper", work = t.path / "work", merged = t.path / "merged",
           copy = t.path / "copy";
  make_base(lower);
  for (const auto& d : {upper, work, merged}) fs::create_directories(d);
  REQUIRE(sh(t.path, "cp -a lower copy") == 0);

  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) _exit(2);
    std::string opts = "lowerdir=" + lower.string() + ",upperdir=" + upper.string() + ",workdir=" + work.string() +
                       ",redirect_dir=off,metacopy=off";
    if (mount("overlay", merged.c_str(), "overlay", 0, opts.c_str()) != 0) _exit(3);
    _exit(sh(merged, op) == 0 ? 0 : 4);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);

  auto copy_fd = open_dir(copy);
  auto lower_fd = open_dir(lower);
  auto upper_fd = open_dir(upper);
  TreeState before = snapshot_tree(copy_fd.get());
  REQUIRE(sh(copy, op) == 0);

  Result r;
  auto ov = overlay_diff(upper_fd.get(), {lower_fd.get()});
  auto wk = walk_diff(before, copy_fd.get(), lower_fd.get());
  r.overlay_paths = paths_of(ov);
  r.walk_paths = paths_of(wk);
  r.overlay_tar = tar_of(ov, upper_fd.get());
  r.walk_tar = tar_of(wk, copy_fd.get());
  return r;
}

using V = std::vector<std::string>;

}  // namespace

TEST_CASE("overlay and walking differs agree across a matrix of operations") {
  if (geteuid() != 0) {
    WARN("skipped: mounting overlayfs with trusted xattrs needs root (CI runs as root)");
    return;
  }
  struct Case {
    const char* name;
    const char* op;
    V expected;
  };
  const Case cases[] = {
      {"create", "printf new > newfile && mkdir -p newdir/sub && printf x > newdir/sub/f",
       {"newdir", "newdir/sub", "newdir/sub/f", "newfile"}},
      {"modify", "printf more >> d/file1", {"d", "d/file1"}},
      {"chmod", "chmod 600 f", {"f"}},
      {"chown", "chown 1234:5678 f", {"f"}},
      {"delete file", "rm d/file1", {"d", "d/file1 (whiteout)"}},
      {"delete dir", "rm -rf d", {"d (whiteout)"}},
      {"replace dir with file", "rm -rf d && printf x > d", {"d"}},
      {"replace dir with symlink", "rm -rf d && ln -s /etc d", {"d"}},
      {"rename file", "mv f g", {"f (whiteout)", "g"}},
      {"rename dir", "mv d d2", {"d (whiteout)", "d2", "d2/file1", "d2/file2", "d2/sub", "d2/sub/deep"}},
      {"hardlink", "ln other hl", {"hl", "other"}},
      {"xattr set", "setfattr -n user.test -v hello f", {"f"}},
      {"xattr remove", "setfattr -x user.base xf", {"xf"}},
      {"setuid", "chmod u+s bin/tool", {"bin", "bin/tool"}},
      {"setcap", "setcap cap_net_raw+ep bin/tool", {"bin", "bin/tool"}},
      {"symlink retarget", "ln -sfn other link", {"link"}},
      {"no-op chmod", "chmod 644 f", {}},
      {"rewrite with same size and mtime", "printf abcd > f4 && touch -d @100 f4", {"f4"}},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      auto r = run_both(c.op);
      CHECK(r.overlay_paths == r.walk_paths);
      CHECK(r.overlay_paths == c.expected);
      CHECK(r.overlay_tar == r.walk_tar);
    }
  }
}

TEST_CASE("walk_diff without a reference copy counts a touched file as changed") {
  TempDir t;
  make_base(t.path / "root");
  auto fd = open_dir(t.path / "root");
  auto before = snapshot_tree(fd.get());
  CHECK(walk_diff(before, fd.get()).empty());
  REQUIRE(sh(t.path / "root", "printf abcd > f4 && touch -d @100 f4") == 0);
  CHECK(paths_of(walk_diff(before, fd.get())) == V{"f4"});
}

TEST_CASE("excluded paths never reach a layer") {
  TempDir t;
  make_base(t.path / "root");
  auto fd = open_dir(t.path / "root");
  DiffOptions opts;
  opts.exclude = {"proc", "etc/resolv.conf"};
  auto before = snapshot_tree(fd.get(), opts);
  REQUIRE(sh(t.path / "root", "mkdir proc && printf x > proc/y && printf ns > etc/resolv.conf && printf z > z") == 0);
  CHECK(paths_of(walk_diff(before, fd.get(), -1, opts)) == V{"etc", "z"});
}

TEST_CASE("an overlay upper dir with a redirect is refused") {
  if (geteuid() != 0) {
    WARN("skipped: trusted xattrs need root");
    return;
  }
  TempDir t;
  fs::create_directories(t.path / "upper/moved");
  fs::create_directories(t.path / "lower");
  REQUIRE(sh(t.path, "setfattr -n trusted.overlay.redirect -v /orig upper/moved") == 0);
  auto up = open_dir(t.path / "upper");
  auto lo = open_dir(t.path / "lower");
  CHECK_THROWS_WITH(overlay_diff(up.get(), {lo.get()}), Catch::Contains("redirect_dir=off"));
}

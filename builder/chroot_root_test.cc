// ChrootRoot must leave the root exactly as it found it, put every path it
// dresses where the differ is told to skip it, and never act outside the
// root however the image's symlinks point.
#include "builder/chroot_root.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "common/temp_dir.h"
#include "layers/diff.h"

using namespace slipway;

namespace {

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }
std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TreeState state_of(const std::string& root) {
  UniqueFd fd(open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  REQUIRE(fd);
  return snapshot_tree(fd.get());
}

// Equal apart from ctime and inode: what the walking differ compares.
void require_same(const TreeState& a, const TreeState& b) {
  REQUIRE(a.files.size() == b.files.size());
  for (const auto& [rel, s] : a.files) {
    INFO(rel);
    auto it = b.files.find(rel);
    REQUIRE(it != b.files.end());
    CHECK(it->second.mode == s.mode);
    CHECK(it->second.size == s.size);
    CHECK(it->second.mtime_ns == s.mtime_ns);
    CHECK(it->second.link_target == s.link_target);
  }
}

}  // namespace

TEST_CASE("a dressed root is undressed exactly") {
  TempDir base;
  std::string root = base.path() + "/r", scratch = base.path() + "/s";
  REQUIRE(mkdir(root.c_str(), 0755) == 0);
  REQUIRE(mkdir(scratch.c_str(), 0700) == 0);
  REQUIRE(mkdir((root + "/etc").c_str(), 0755) == 0);
  REQUIRE(mkdir((root + "/dev").c_str(), 0750) == 0);
  write(root + "/etc/hosts", "image hosts\n");
  write(root + "/dev/keep", "the image's own /dev content\n");
  write(base.path() + "/resolv", "nameserver 192.0.2.1\n");
  write(base.path() + "/hosts", "127.0.0.1 localhost\n");
  write(base.path() + "/secret", "s3cret");
  chmod((base.path() + "/secret").c_str(), 0400);
  // Old mtimes, so a restored time is told from a fresh one.
  for (const char* p : {"/etc", "/dev", ""}) {
    struct timespec ts[2] = {{1000, 0}, {1000, 0}};
    utimensat(AT_FDCWD, (root + p).c_str(), ts, 0);
  }
  TreeState before = state_of(root);

  sandbox::RunSpec spec;
  spec.binds.push_back({base.path() + "/resolv", "/etc/resolv.conf", true, true});
  spec.binds.push_back({base.path() + "/hosts", "/etc/hosts", true, true});
  spec.binds.push_back({base.path() + "/secret", "/run/secrets/token", true, true});
  spec.tmpfs.push_back({"/var/scratch", 0});
  {
    sandbox::ChrootRoot dressed(root, spec, scratch);
    CHECK(read(root + "/etc/hosts") == "127.0.0.1 localhost\n");
    CHECK(read(root + "/etc/resolv.conf") == "nameserver 192.0.2.1\n");
    CHECK(read(root + "/run/secrets/token") == "s3cret");
    CHECK(access((root + "/dev/keep").c_str(), F_OK) != 0);
    struct stat st {};
    REQUIRE(stat((root + "/dev/shm").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 01777);
    REQUIRE(stat((root + "/tmp").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 01777);
    REQUIRE(stat((root + "/proc").c_str(), &st) == 0);
    if (geteuid() == 0) {
      REQUIRE(stat((root + "/dev/null").c_str(), &st) == 0);
      CHECK(S_ISCHR(st.st_mode));
    }
    const auto& ex = dressed.exclude();
    for (const char* p : {"dev", "proc", "etc/hosts", "etc/resolv.conf", "run/secrets/token", "var/scratch"}) {
      INFO(p);
      CHECK(ex.count(p) == 1);
    }
    // The step: writes beside a dressed file, and into a dressed dir.
    write(root + "/etc/hosts", "changed by the step\n");
    write(root + "/dev/junk", "x");
    write(root + "/var/scratch/tmpfile", "x");
    dressed.restore();
  }
  CHECK(read(root + "/etc/hosts") == "image hosts\n");
  CHECK(read(root + "/dev/keep") == "the image's own /dev content\n");
  require_same(before, state_of(root));
}

TEST_CASE("a step's real change to a parent dir keeps its mtime") {
  TempDir base;
  std::string root = base.path() + "/r", scratch = base.path() + "/s";
  REQUIRE(mkdir(root.c_str(), 0755) == 0);
  REQUIRE(mkdir(scratch.c_str(), 0700) == 0);
  REQUIRE(mkdir((root + "/etc").c_str(), 0755) == 0);
  write(base.path() + "/hosts", "h\n");
  struct timespec old[2] = {{1000, 0}, {1000, 0}};
  utimensat(AT_FDCWD, (root + "/etc").c_str(), old, 0);
  sandbox::RunSpec spec;
  spec.binds.push_back({base.path() + "/hosts", "/etc/hosts", true, true});
  sandbox::ChrootRoot dressed(root, spec, scratch);
  write(root + "/etc/new", "added by the step\n");
  struct timespec later[2] = {{2000, 0}, {2000, 0}};
  utimensat(AT_FDCWD, (root + "/etc").c_str(), later, 0);
  dressed.restore();
  struct stat st {};
  REQUIRE(stat((root + "/etc").c_str(), &st) == 0);
  CHECK(st.st_mtim.tv_sec == 2000);
  CHECK(access((root + "/etc/hosts").c_str(), F_OK) != 0);
}

TEST_CASE("symlinks in the image never lead the dressing outside the root") {
  TempDir base;
  std::string root = base.path() + "/r", scratch = base.path() + "/s";
  REQUIRE(mkdir(root.c_str(), 0755) == 0);
  REQUIRE(mkdir(scratch.c_str(), 0700) == 0);
  REQUIRE(mkdir((base.path() + "/sentinel").c_str(), 0755) == 0);
  REQUIRE(mkdir((root + "/sentinel").c_str(), 0755) == 0);
  // Followed from the host, ../sentinel would leave the root.
  REQUIRE(symlink("../sentinel", (root + "/etc").c_str()) == 0);
  REQUIRE(symlink("/", (root + "/run").c_str()) == 0);
  write(base.path() + "/hosts", "h\n");
  sandbox::RunSpec spec;
  spec.binds.push_back({base.path() + "/hosts", "/etc/hosts", true, true});
  spec.binds.push_back({base.path() + "/hosts", "/run/x/secret", true, true});
  {
    sandbox::ChrootRoot dressed(root, spec, scratch);
    CHECK(read(root + "/sentinel/hosts") == "h\n");
    CHECK(read(root + "/x/secret") == "h\n");
    CHECK(dressed.exclude().count("sentinel/hosts") == 1);
    CHECK(dressed.exclude().count("x/secret") == 1);
  }
  CHECK(access((base.path() + "/sentinel/hosts").c_str(), F_OK) != 0);
  CHECK(access((root + "/sentinel/hosts").c_str(), F_OK) != 0);
  CHECK(access((root + "/x").c_str(), F_OK) != 0);
}

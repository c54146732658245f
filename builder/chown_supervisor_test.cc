// The chown supervisor against a real seccomp user-notification filter: a
// child process loads the filter and makes every chown-family call; this
// process serves them and checks what was recorded. Runs as any user: the
// files are the caller's, so nothing needs privileges.
#include "builder/chown_supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "builder/seccomp_filter.h"
#include "common/fd_pass.h"
#include "layers/unpack.h"

namespace fs = std::filesystem;
using namespace slipway;
using namespace slipway::sandbox;

namespace {

std::optional<std::pair<uint32_t, uint32_t>> recorded(const fs::path& p) {
  UniqueFd fd(open(p.c_str(), O_RDONLY | O_CLOEXEC));
  REQUIRE(fd);
  return layers::read_rootless_owner(fd.get());
}

struct Tree {
  fs::path dir;
  Tree() {
    std::string tmpl = (fs::current_path() / "chown-supervisor-test.XXXXXX").string();
    dir = mkdtemp(tmpl.data());
    std::ofstream(dir / "file") << "x";
    std::ofstream(dir / "other") << "y";
    std::ofstream(dir / "suid") << "z";
    fs::permissions(dir / "suid", fs::perms(04755));
    fs::create_directory(dir / "sub");
    fs::create_symlink("file", dir / "link");
  }
  ~Tree() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

}  // namespace

TEST_CASE("chown supervisor: records intended owners and answers success") {
  Tree t;
  {
    // User xattrs are what the supervisor records into; skip where the test
    // directory's file system has none.
    std::string v = "x";
    if (setxattr((t.dir / "other").c_str(), "user.slipway-test", v.data(), v.size(), 0) != 0) {
      WARN("skipped: no user xattrs on " << t.dir);
      return;
    }
  }
  struct stat before {};
  REQUIRE(lstat((t.dir / "file").c_str(), &before) == 0);
  int sv[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
  UniqueFd ours(sv[0]), theirs(sv[1]);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    SeccompResult r;
    try {
      r = install_seccomp_filter({true, true});
    } catch (...) {
      _exit(20);
    }
    if (r.listener < 0) _exit(21);
    send_fd(theirs.get(), r.listener);
    close(r.listener);
    if (chdir(t.dir.c_str()) != 0) _exit(22);
    int bad = 0;
    // Owners outside any mapping would fail for real (EPERM here): only
    // the supervisor's answer makes them succeed.
    if (chown("file", 1234, 5678) != 0) bad |= 1;
    int fd = open("other", O_RDONLY);
    if (fchown(fd, static_cast<uid_t>(-1), 99) != 0) bad |= 2;  // only the group
    if (fchown(fd, 77, static_cast<gid_t>(-1)) != 0) bad |= 4;   // then only the user
    int dfd = open(".", O_RDONLY | O_DIRECTORY);
    if (fchownat(dfd, "sub", 42, 43, 0) != 0) bad |= 8;
    if (lchown("link", 7, 8) != 0) bad |= 16;
    if (fchownat(AT_FDCWD, (t.dir / "suid").c_str(), 3, 3, 0) != 0) bad |= 32;
    if (chown("missing", 1, 1) == 0 || errno != ENOENT) bad |= 64;  // errors pass through
    if (fchownat(dfd, "", 0, 0, AT_EMPTY_PATH) != 0) bad |= 128;   // the directory itself, back to 0:0
    _exit(bad);
  }
  theirs.reset();
  UniqueFd listener(receive_fd(ours.get()));
  REQUIRE(listener);
  UniqueFd proc(open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC));
  ChownSupervisor sup(listener.release(), proc.get());
  int status = 0;
  for (;;) {
    if (waitpid(child, &status, WNOHANG) == child) break;
    pollfd p{sup.listener(), POLLIN, 0};
    if (poll(&p, 1, 50) > 0 && (p.revents & POLLIN)) REQUIRE(sup.serve_one());
  }
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(recorded(t.dir / "file") == std::make_pair(1234u, 5678u));
  // -1 keeps the other id: the recorded one, else the file's.
  CHECK(recorded(t.dir / "other") == std::make_pair(77u, 99u));
  CHECK(recorded(t.dir / "sub") == std::make_pair(42u, 43u));
  CHECK(recorded(t.dir / "suid") == std::make_pair(3u, 3u));
  // As the kernel's chown: the setuid bit is dropped.
  CHECK((fs::status(t.dir / "suid").permissions() & fs::perms::set_uid) == fs::perms::none);
  // 0:0 removes the record (the directory had none, so none now).
  CHECK_FALSE(recorded(t.dir).has_value());
  // A symlink cannot carry the xattr: its owner is kept by path.
  auto side = sup.side_owners();
  auto it = side.find((t.dir / "link").string());
  REQUIRE(it != side.end());
  CHECK(it->second == std::make_pair(7u, 8u));
  CHECK(side.count((t.dir / "file").string()) == 0);
  // Nothing was chowned for real.
  struct stat after {};
  REQUIRE(lstat((t.dir / "file").c_str(), &after) == 0);
  CHECK(after.st_uid == before.st_uid);
  CHECK(after.st_gid == before.st_gid);
}

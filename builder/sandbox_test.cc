// Runs real commands in the sandbox over a busybox root: as host root, and
// as an unprivileged user inside a single-id user namespace (the rootless
// path without subordinate ids).
#include "builder/sandbox.h"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"

namespace fs = std::filesystem;
using namespace slipway::sandbox;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/slipway-sandbox-test.XXXXXX";
    path = mkdtemp(tmpl);
    fs::permissions(path, fs::perms::all & ~fs::perms::group_write & ~fs::perms::others_write);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// A lower dir with busybox and a few applet links.
void make_busybox_root(const fs::path& lower) {
  fs::create_directories(lower / "bin");
  fs::create_directories(lower / "etc");
  fs::create_directories(lower / "tmp");
  fs::permissions(lower / "tmp", fs::perms::all | fs::perms::sticky_bit);
  fs::copy_file("/bin/busybox", lower / "bin/busybox");
  for (const char* a : {"sh", "echo", "cat", "id", "ls", "hostname", "mkdir", "touch", "grep", "chown", "stat"}) {
    fs::create_symlink("busybox", lower / "bin" / a);
  }
  std::ofstream(lower / "etc/passwd") << "root:x:0:0:root:/root:/bin/sh\n";
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Fixture {
  TempDir dir;
  fs::path lower, upper, work, merged, out;
  Fixture() {
    lower = dir.path / "lower";
    upper = dir.path / "upper";
    work = dir.path / "work";
    merged = dir.path / "merged";
    out = dir.path / "out";
    for (const auto& d : {upper, work, merged, out}) fs::create_directories(d);
    make_busybox_root(lower);
    fs::permissions(out, fs::perms::all);
  }
  RunSpec spec(const std::string& script) const {
    RunSpec s;
    s.rootfs = merged;
    s.use_overlay = true;
    s.overlay = {{lower.string()}, upper.string(), work.string(), false};
    s.argv = {"/bin/sh", "-c", script};
    s.env = {"PATH=/bin"};
    s.binds.push_back({out.string(), "/out", false, false});
    return s;
  }
};

}  // namespace

TEST_CASE("sandbox: a command runs in the overlay root and its writes land in the upper dir") {
  if (geteuid() != 0) { WARN("skipped: " "needs root (CI runs as root; rootless is covered below)"); return; }
  Fixture f;
  auto r = run(f.spec("echo hello > /tmp/x && hostname > /out/hostname && ls /proc/1 >/dev/null && "
                      "echo $$ > /out/pid && grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status > /out/status"));
  CHECK(r.exit_code == 0);
  CHECK(read_file(f.upper / "tmp/x") == "hello\n");
  CHECK_FALSE(fs::exists(f.lower / "tmp/x"));
  CHECK(read_file(f.out / "hostname") == "slipway\n");
  CHECK(read_file(f.out / "pid") == "1\n");  // PID 1 of its own namespace
  auto status = read_file(f.out / "status");
  CHECK(status.find("NoNewPrivs:\t1") != std::string::npos);
  CHECK(status.find("Seccomp:\t2") != std::string::npos);
  // /proc and /dev were mount points the image lacked: reported, so the
  // caller can keep them out of the layer.
  CHECK(std::find(r.created_mountpoints.begin(), r.created_mountpoints.end(), "/proc") != r.created_mountpoints.end());
  CHECK(std::find(r.created_mountpoints.begin(), r.created_mountpoints.end(), "/out") != r.created_mountpoints.end());
}

TEST_CASE("sandbox: the exit code is passed on and a missing command is a setup error") {
  if (geteuid() != 0) { WARN("skipped: " "needs root"); return; }
  Fixture f;
  CHECK(run(f.spec("exit 7")).exit_code == 7);
  auto s = f.spec("");
  s.argv = {"no-such-command"};
  CHECK_THROWS_WITH(run(s), Catch::Contains("no-such-command"));
}

TEST_CASE("sandbox: user, cwd, network none and devices") {
  if (geteuid() != 0) { WARN("skipped: " "needs root"); return; }
  Fixture f;
  auto s = f.spec("id -u > /out/uid; id -g > /out/gid; pwd > /out/pwd; echo x > /dev/null; "
                  "cat /proc/net/dev | grep -c : > /out/ifaces; touch /out/ok");
  s.uid = 1234;
  s.gid = 5678;
  s.cwd = "/work/dir";
  s.network_none = true;
  auto r = run(s);
  CHECK(r.exit_code == 0);
  CHECK(read_file(f.out / "uid") == "1234\n");
  CHECK(read_file(f.out / "gid") == "5678\n");
  CHECK(read_file(f.out / "pwd") == "/work/dir\n");
  CHECK(read_file(f.out / "ifaces") == "1\n");  // only lo
  CHECK(fs::is_directory(f.upper / "work/dir"));
}

TEST_CASE("sandbox: a killed builder leaves no step process behind") {
  if (geteuid() != 0) { WARN("skipped: " "needs root"); return; }
  Fixture f;
  pid_t builder = fork();
  REQUIRE(builder >= 0);
  if (builder == 0) {
    auto s = f.spec("echo $PPID > /out/started; sleep 1000 & sleep 1000");
    try {
      run(s);
    } catch (...) {
    }
    _exit(0);
  }
  for (int i = 0; i < 200 && !fs::exists(f.out / "started"); ++i) usleep(20000);
  REQUIRE(fs::exists(f.out / "started"));
  kill(builder, SIGKILL);
  waitpid(builder, nullptr, 0);
  // Every process of the step was in one PID namespace whose init died.
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = true;
    for (const auto& e : fs::directory_iterator("/proc")) {
      std::string cmd = read_file(e.path() / "cmdline");
      if (cmd.find("sleep") != std::string::npos && cmd.find("1000") != std::string::npos) gone = false;
    }
    if (!gone) usleep(20000);
  }
  CHECK(gone);
}

TEST_CASE("sandbox: rootless, inside a single-id user namespace") {
  // As an unprivileged uid: a user namespace mapping only that uid to 0,
  // the overlay mounted with userxattr, chown faked by seccomp.
  Fixture f;
  fs::permissions(f.dir.path, fs::perms::all);
  // As after a rootless unpack: the base belongs to the user, i.e. to root
  // inside the namespace.
  for (const auto& d : {f.upper, f.work, f.merged}) REQUIRE(chown(d.c_str(), 65534, 65534) == 0);
  for (const auto& e : fs::recursive_directory_iterator(f.lower)) {
    REQUIRE(lchown(e.path().c_str(), 65534, 65534) == 0);
  }
  REQUIRE(chown(f.lower.c_str(), 65534, 65534) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    if (geteuid() == 0 && (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 ||
                           setresuid(65534, 65534, 65534) != 0)) {
      _exit(10);
    }
    // A uid change clears the dumpable flag, which makes /proc/self/*_map
    // root's; a process started as that user would be dumpable.
    prctl(PR_SET_DUMPABLE, 1);
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) _exit(11);
    std::ofstream("/proc/self/setgroups") << "deny";
    std::ofstream("/proc/self/uid_map") << "0 65534 1";
    std::ofstream("/proc/self/gid_map") << "0 65534 1";
    auto s = f.spec("id -u > /out/uid; chown 1000:1000 /tmp && echo chown-ok > /out/chown; echo x > /etc/new");
    s.overlay.userxattr = true;
    s.fake_chown = true;
    try {
      auto r = run(s);
      _exit(r.exit_code);
    } catch (const slipway::Error& e) {
      std::ofstream(f.out / "error") << e.what();
      _exit(12);
    }
  }
  int status = 0;
  waitpid(child, &status, 0);
  INFO(read_file(f.out / "error"));
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(read_file(f.out / "uid") == "0\n");
  CHECK(read_file(f.out / "chown") == "chown-ok\n");
  CHECK(read_file(f.upper / "etc/new") == "x\n");
}

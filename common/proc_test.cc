#include "common/proc.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/error.h"

using namespace slipway;

TEST_CASE("require_proc passes where /proc is mounted") { CHECK_NOTHROW(require_proc()); }

TEST_CASE("require_proc names the fix where /proc is hidden") {
  // A child in its own user+mount namespace covers /proc with an empty tmpfs.
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0 && unshare(CLONE_NEWNS) != 0) _exit(2);
    if (mount("none", "/proc", "tmpfs", 0, nullptr) != 0) _exit(2);
    try {
      require_proc();
    } catch (const Error& e) {
      _exit(std::string(e.what()).find("mount -t proc proc /proc") != std::string::npos ? 0 : 1);
    }
    _exit(1);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 2) {
    WARN("no user or mount namespace to hide /proc in: not checked here");
    return;
  }
  CHECK(WEXITSTATUS(status) == 0);
}

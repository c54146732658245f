#include "builder/isolation.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "common/error.h"
#include "common/fd.h"

namespace slipway::sandbox {

namespace {

bool write_all(const char* path, const std::string& data) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
  close(fd);
  return ok;
}

// Runs `attempt` in a forked child, which reports "" for success or what
// failed; the child's namespaces and mounts die with it.
template <typename Fn>
std::string in_child(Fn attempt) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return std::string("pipe: ") + strerror(errno);
  UniqueFd rd(fds[0]), wr(fds[1]);
  pid_t pid = fork();
  if (pid < 0) return std::string("fork: ") + strerror(errno);
  if (pid == 0) {
    rd.reset();
    std::string failed = attempt();
    (void)!write(wr.get(), failed.data(), failed.size());
    _exit(0);
  }
  wr.reset();
  std::string out;
  char buf[512];
  for (ssize_t n; (n = read(rd.get(), buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (out.empty() && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) out = "the probe died";
  return out;
}

std::string failed(const char* what) { return std::string(what) + ": " + strerror(errno); }

// What the namespace sandbox needs, after unshare(CLONE_NEWNS|CLONE_NEWPID):
// a private mount namespace where a fresh proc (of the new PID namespace)
// and a tmpfs can be mounted. A container that masks parts of its /proc
// refuses the proc mount inside a user namespace, and then the sandbox
// could not start a single step.
std::string try_mounts() {
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return failed("mount --make-rprivate /");
  pid_t init = fork();  // PID 1 of the new namespace: only it sees it as its own
  if (init < 0) return failed("fork");
  if (init == 0) _exit(mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) == 0 ? 0 : errno);
  int status = 0;
  while (waitpid(init, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    errno = WIFEXITED(status) ? WEXITSTATUS(status) : EPERM;
    return failed("mount proc");
  }
  if (mount("tmpfs", "/", "tmpfs", 0, "size=4k") != 0) return failed("mount tmpfs");
  return "";
}

}  // namespace

IsolationProbe probe_isolation() {
  IsolationProbe p;
  p.uid = geteuid();
  p.root = p.uid == 0;
  if (p.root) {
    p.namespaces = in_child([] {
      if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS) != 0) {
        return failed("unshare(CLONE_NEWNS|CLONE_NEWPID|CLONE_NEWIPC|CLONE_NEWUTS)");
      }
      return try_mounts();
    });
    p.chroot = in_child([] { return chroot("/") == 0 ? std::string() : failed("chroot"); });
  } else {
    p.namespaces = "not root";
    p.chroot = "not root";
  }
  uid_t uid = geteuid();
  gid_t gid = getegid();
  p.userns = in_child([uid, gid] {
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID) != 0) {
      return failed("unshare(CLONE_NEWUSER|CLONE_NEWNS|CLONE_NEWPID)");
    }
    if (!write_all("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1\n")) return failed("write uid_map");
    if (!write_all("/proc/self/setgroups", "deny")) return failed("write setgroups");
    if (!write_all("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1\n")) return failed("write gid_map");
    return try_mounts();
  });
  return p;
}

std::string mode_name(Mode mode) {
  switch (mode) {
    case Mode::kHostNamespaces: return "host namespaces";
    case Mode::kUserns: return "userns";
    case Mode::kChroot: return "chroot";
  }
  return "?";
}

IsolationChoice choose_isolation(build::Isolation requested, const IsolationProbe& p) {
  using build::Isolation;
  const std::string uid = std::to_string(p.uid);
  if (requested == Isolation::kChroot) {
    if (!p.root) {
      throw Error("--isolation chroot needs root (uid 0) in the container, and slipway runs as uid " + uid +
                  (p.userns.empty() ? "; --isolation userns works here" : ""));
    }
    if (!p.chroot.empty()) {
      throw Error("--isolation chroot: " + p.chroot + " (the container lacks CAP_SYS_CHROOT, which Docker's default set has)");
    }
    return {Mode::kChroot, "as requested; RUN steps are chrooted, not namespaced (not a security boundary)"};
  }
  if (p.root && p.namespaces.empty()) {
    return {Mode::kHostNamespaces, "running as root where namespaces and mounts work"};
  }
  if (p.userns.empty()) {
    return {Mode::kUserns, p.root ? "root without mount privileges (" + p.namespaces + "), but user namespaces work"
                                  : "running as uid " + uid + " and user namespaces work"};
  }
  const std::string lacks = "this environment allows no namespaces (" + p.userns + ")";
  if (requested == Isolation::kUserns) {
    throw Error("--isolation userns: " + lacks +
                (p.root && p.chroot.empty() ? "; --isolation chroot works here (running as root)"
                                            : "; --isolation chroot would need root"));
  }
  if (p.root && p.chroot.empty()) {
    return {Mode::kChroot, "running as root where namespaces are refused (" + p.namespaces + "; " + p.userns +
                               "); RUN steps are chrooted (not a security boundary)"};
  }
  if (p.root) {
    throw Error("cannot isolate RUN steps: " + lacks + " and " + p.chroot +
                " (--isolation chroot needs CAP_SYS_CHROOT, which Docker's default set has)");
  }
  throw Error("cannot isolate RUN steps: " + lacks + ", and slipway runs as uid " + uid +
              ", not root. Either allow user namespaces (for --isolation userns: e.g. a seccomp profile that "
              "permits unshare, kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0) or run the "
              "build as root in the container (for --isolation chroot, as Kaniko does)");
}

}  // namespace slipway::sandbox

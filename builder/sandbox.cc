#include "builder/sandbox.h"

#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "builder/chroot_runner.h"
#include "builder/seccomp_filter.h"
#include "builder/step_report.h"
#include "common/error.h"
#include "common/fd.h"
#include "common/fd_pass.h"

namespace slipway::sandbox {

namespace {

volatile sig_atomic_t g_step_pid = 0;

// mkdir -p inside the new root, before pivot_root; records what it made.
void make_dirs(const std::string& root, const std::string& path, Reporter& rep) {
  std::string cur;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) {
      cur += "/" + path.substr(i, j - i);
      std::string full = root + cur;
      struct stat st {};
      if (lstat(full.c_str(), &st) != 0) {
        if (mkdir(full.c_str(), 0755) != 0) rep.fail("mkdir " + cur, errno);
        rep.created(cur);
      } else if (!S_ISDIR(st.st_mode)) {
        // A symlink or file where a mount point must go: refuse rather than
        // follow it, since a hostile image could point it at the host.
        rep.fail("mount point " + cur + " is not a directory", ENOTDIR);
      }
    }
    i = j + 1;
  }
}

void make_file(const std::string& root, const std::string& path, Reporter& rep) {
  auto slash = path.rfind('/');
  make_dirs(root, path.substr(0, slash), rep);
  std::string full = root + path;
  struct stat st {};
  if (lstat(full.c_str(), &st) == 0) {
    if (S_ISREG(st.st_mode)) return;
    if (S_ISLNK(st.st_mode) && unlink(full.c_str()) != 0) rep.fail("replace " + path, errno);
    else if (!S_ISLNK(st.st_mode)) rep.fail("mount point " + path + " is not a file", EINVAL);
  }
  int fd = open(full.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) rep.fail("create " + path, errno);
  close(fd);
  rep.created(path);
}

void do_mount(const char* src, const std::string& target, const char* type, unsigned long flags,
              const char* data, Reporter& rep) {
  if (mount(src, target.c_str(), type, flags, data) != 0) {
    rep.fail(std::string("mount ") + (type ? type : "bind") + " on " + target, errno);
  }
}

void setup_dev(const std::string& root, Reporter& rep) {
  std::string dev = root + "/dev";
  make_dirs(root, "/dev", rep);
  do_mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=65536k", rep);
  // Device nodes cannot be made in a user namespace; bind the host's.
  for (const char* name : {"null", "zero", "full", "random", "urandom", "tty"}) {
    std::string target = dev + "/" + name;
    int fd = open(target.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
    if (fd < 0) rep.fail("create /dev/" + std::string(name), errno);
    close(fd);
    std::string src = std::string("/dev/") + name;
    do_mount(src.c_str(), target, nullptr, MS_BIND, nullptr, rep);
  }
  for (const char* d : {"/pts", "/shm", "/mqueue"}) {
    if (mkdir((dev + d).c_str(), 0755) != 0) rep.fail(std::string("mkdir /dev") + d, errno);
  }
  do_mount("devpts", dev + "/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620", rep);
  do_mount("shm", dev + "/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k", rep);
  const std::pair<const char*, const char*> links[] = {
      {"pts/ptmx", "/ptmx"}, {"/proc/self/fd", "/fd"}, {"/proc/self/fd/0", "/stdin"},
      {"/proc/self/fd/1", "/stdout"}, {"/proc/self/fd/2", "/stderr"}};
  for (const auto& [target, name] : links) {
    if (symlink(target, (dev + name).c_str()) != 0) rep.fail(std::string("symlink /dev") + name, errno);
  }
}

// Brings up lo in a fresh network namespace so --network=none still has
// loopback, as Docker's none network does.
void loopback_up() {
  UniqueFd sock(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) return;
  struct ifreq ifr {};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (ioctl(sock.get(), SIOCGIFFLAGS, &ifr) == 0) {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    ioctl(sock.get(), SIOCSIFFLAGS, &ifr);
  }
}

[[noreturn]] void exec_command(const RunSpec& spec, Reporter& rep) {
  std::string what;
  int err = exec_step_command(spec, &what);
  rep.fail(what, err);
}

// The step's parent, while the step runs: answers chown notifications until
// the step's init is gone, then reports the owners kept on the side.
int supervise(pid_t init, int sock, int proc_fd, Reporter& rep) {
  UniqueFd listener(receive_fd(sock));
  UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, init, 0)));
  std::optional<ChownSupervisor> sup;
  if (listener) sup.emplace(listener.release(), proc_fd);
  bool serving = sup.has_value();
  int status = 0;
  for (;;) {
    pid_t done = waitpid(init, &status, WNOHANG);
    if (done == init) break;
    pollfd fds[2] = {{serving ? sup->listener() : -1, POLLIN, 0}, {pidfd.get(), POLLIN, 0}};
    // Without a pidfd (Linux < 5.3) the exit is noticed by polling waitpid.
    int n = poll(fds, 2, pidfd ? -1 : 100);
    if (n < 0 && errno != EINTR) break;
    if (n > 0 && serving && (fds[0].revents & POLLIN) && !sup->serve_one()) serving = false;
    // POLLHUP: no process uses the filter any more; the owners stay.
    if (serving && (fds[0].revents & (POLLHUP | POLLERR | POLLNVAL)) && !(fds[0].revents & POLLIN)) serving = false;
  }
  if (sup) {
    for (const auto& [path, owner] : sup->side_owners()) rep.owner(path, owner.first, owner.second);
  }
  return status;
}

// PID 1 of the step: builds the root, drops to the step's user, execs.
// `notify_sock`, if >= 0, gets the chown notification listener.
[[noreturn]] void step_init(const RunSpec& spec, Reporter& rep, int notify_sock) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  const std::string& root = spec.rootfs;
  if (spec.use_overlay) {
    std::string opts = "lowerdir=";
    for (size_t i = 0; i < spec.overlay.lowers.size(); ++i) {
      if (i) opts += ":";
      opts += spec.overlay.lowers[i];
    }
    opts += ",upperdir=" + spec.overlay.upper + ",workdir=" + spec.overlay.work;
    // redirect_dir and metacopy would store renames and metadata-only copies
    // as xattrs the differ cannot turn into a layer; userxattr turns both off.
    opts += spec.overlay.userxattr ? ",userxattr" : ",redirect_dir=off,metacopy=off";
    do_mount("overlay", root, "overlay", 0, opts.c_str(), rep);
  } else {
    do_mount(root.c_str(), root, nullptr, MS_BIND | MS_REC, nullptr, rep);
  }
  make_dirs(root, "/proc", rep);
  do_mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr, rep);
  setup_dev(root, rep);
  for (const auto& b : spec.binds) {
    if (b.is_file) make_file(root, b.target, rep);
    else make_dirs(root, b.target, rep);
    do_mount(b.source.c_str(), root + b.target, nullptr, MS_BIND | MS_REC, nullptr, rep);
    if (b.expect_ino) {
      struct stat st {};
      if (stat((root + b.target).c_str(), &st) != 0 || st.st_dev != b.expect_dev || st.st_ino != b.expect_ino) {
        rep.fail("bind source " + b.source + " changed while it was being mounted", ESTALE);
      }
    }
    if (b.readonly) {
      do_mount(nullptr, root + b.target, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, nullptr, rep);
    }
  }
  for (const auto& t : spec.tmpfs) {
    make_dirs(root, t.target, rep);
    std::string data = t.size ? "size=" + std::to_string(t.size) : "";
    do_mount("tmpfs", root + t.target, "tmpfs", MS_NOSUID | MS_NODEV, data.c_str(), rep);
  }
  make_dirs(root, spec.cwd, rep);
  // The workdir is part of the image, not a mount point: it stays.
  if (sethostname(spec.hostname.data(), spec.hostname.size()) != 0) rep.fail("sethostname", errno);
  if (spec.network_none) loopback_up();

  // pivot_root(".", ".") stacks the old root on top of the new one; the
  // detach then drops it, with no directory needed inside the image.
  if (chdir(root.c_str()) != 0) rep.fail("chdir " + root, errno);
  if (syscall(SYS_pivot_root, ".", ".") != 0) rep.fail("pivot_root", errno);
  if (umount2(".", MNT_DETACH) != 0) rep.fail("detach old root", errno);
  if (chdir(spec.cwd.c_str()) != 0) rep.fail("chdir " + spec.cwd, errno);

  if (setgroups(spec.groups.size(), spec.groups.data()) != 0 && !(errno == EPERM && spec.fake_chown)) {
    rep.fail("setgroups", errno);
  }
  if (setresgid(spec.gid, spec.gid, spec.gid) != 0 && !(errno == EINVAL && spec.fake_chown)) {
    rep.fail("setgid " + std::to_string(spec.gid), errno);
  }
  if (setresuid(spec.uid, spec.uid, spec.uid) != 0 && !(errno == EINVAL && spec.fake_chown)) {
    rep.fail("setuid " + std::to_string(spec.uid), errno);
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) rep.fail("no_new_privs", errno);
  try {
    auto r = install_seccomp_filter({spec.fake_chown, notify_sock >= 0});
    if (r.listener >= 0) {
      send_fd(notify_sock, r.listener);
      close(r.listener);
    } else if (notify_sock >= 0) {
      rep.warn("chown in RUN succeeds without effect: owners cannot be tracked (" + r.fallback_reason + ")");
    }
  } catch (const Error& e) {
    rep.fail(e.what(), EPERM);
  }
  if (notify_sock >= 0) close(notify_sock);
  exec_command(spec, rep);
}

}  // namespace

void kill_running_step() {
  kill_running_chroot_step();
  if (g_step_pid > 0) kill(static_cast<pid_t>(g_step_pid), SIGKILL);
}

RunResult run(const RunSpec& spec) {
  if (spec.argv.empty()) throw Error("RUN: empty command");
  if (spec.chroot) return run_chroot(spec);
  auto [pid, rd] = fork_reporting_child([&spec](int report_fd) {
    Reporter rep(report_fd);
    int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;
    if (spec.network_none) flags |= CLONE_NEWNET;
    if (unshare(flags) != 0) rep.fail("unshare", errno);
    // Nothing mounted below may propagate back to the builder's namespace.
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) rep.fail("make mounts private", errno);
    // Tracking owners: this process serves the step's chown calls, and
    // resolves their paths through a procfs of its own PID namespace.
    UniqueFd proc, sock_ours, sock_init;
    if (spec.fake_chown && spec.track_owners) {
      std::string why;
      proc.reset(open_own_proc(&why));
      int sv[2];
      if (proc && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0) {
        sock_ours.reset(sv[0]);
        sock_init.reset(sv[1]);
      } else {
        if (why.empty()) why = std::string("socketpair: ") + strerror(errno);
        rep.warn("chown in RUN succeeds without effect: owners cannot be tracked (" + why + ")");
      }
    }
    pid_t init = fork();
    if (init < 0) rep.fail("fork", errno);
    if (init == 0) step_init(spec, rep, sock_init ? sock_init.get() : -1);
    sock_init.reset();
    int status = 0;
    if (sock_ours) {
      status = supervise(init, sock_ours.get(), proc.get(), rep);
    } else {
      while (waitpid(init, &status, 0) < 0 && errno == EINTR) {
      }
    }
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  });
  g_step_pid = pid;
  RunResult result;
  std::string error;
  read_report(rd.get(), [&](char tag, const std::string& text) {
    if (tag == 'M') result.created_mountpoints.push_back(text);
    if (tag == 'E') error = text;
    if (tag == 'W') result.warnings.push_back(text);
    if (tag == 'O') parse_owner(text, result.side_owners);
  });
  int code = wait_exit_code(pid, g_step_pid);
  if (!error.empty()) throw Error("setting up the RUN sandbox: " + error);
  result.exit_code = code;
  return result;
}

namespace {

std::string env_value(const std::vector<std::string>& env, const std::string& key) {
  for (const auto& kv : env) {
    if (kv.size() > key.size() && kv.compare(0, key.size(), key) == 0 && kv[key.size()] == '=') {
      return kv.substr(key.size() + 1);
    }
  }
  return "";
}

}  // namespace

int exec_step_command(const RunSpec& spec, std::string* what) {
  std::vector<char*> argv, envp;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const std::string& cmd = spec.argv[0];
  if (cmd.find('/') != std::string::npos) {
    execve(cmd.c_str(), argv.data(), envp.data());
    *what = "exec " + cmd;
    return errno;
  }
  std::string path = env_value(spec.env, "PATH");
  if (path.empty()) path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  int err = ENOENT;
  for (size_t i = 0; i <= path.size();) {
    size_t j = path.find(':', i);
    if (j == std::string::npos) j = path.size();
    std::string dir = path.substr(i, j - i);
    execve(((dir.empty() ? "." : dir) + "/" + cmd).c_str(), argv.data(), envp.data());
    // EACCES on one PATH entry is remembered, as execvp does, but the search
    // goes on: a later directory may hold a runnable one.
    if (errno != ENOENT && errno != ENOTDIR) err = errno;
    i = j + 1;
  }
  *what = "exec " + cmd + " (not found in PATH " + path + ")";
  return err;
}

}  // namespace slipway::sandbox

#include "builder/chroot_runner.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>

#include "builder/seccomp_filter.h"
#include "builder/step_report.h"
#include "common/error.h"
#include "common/fd.h"

namespace slipway::sandbox {

namespace {

volatile sig_atomic_t g_runner_pid = 0;
volatile sig_atomic_t g_step_pgid = 0;

// Docker's default capability set (moby/oci/caps/defaults.go) without
// CAP_SYS_CHROOT: a step that may chroot can leave ours.
constexpr int kStepCaps[] = {CAP_CHOWN,  CAP_DAC_OVERRIDE, CAP_FSETID,  CAP_FOWNER,  CAP_MKNOD,
                             CAP_NET_RAW, CAP_SETGID,      CAP_SETUID,  CAP_SETFCAP, CAP_SETPCAP,
                             CAP_NET_BIND_SERVICE, CAP_KILL, CAP_AUDIT_WRITE};

[[noreturn]] void fail(int fd, const std::string& what, int err) { Reporter(fd).fail(what, err); }

int last_cap() {
  std::ifstream in("/proc/sys/kernel/cap_last_cap");
  int n = CAP_LAST_CAP;
  in >> n;
  return n;
}

// Narrows the bounding set (needs CAP_SETPCAP, which Docker gives) and the
// current sets to kStepCaps. Without CAP_SETPCAP the bounding set stays, and
// a root step regains the dropped capabilities at exec (docs/isolation.md).
void narrow_capabilities(int report_fd) {
  uint64_t keep = 0;
  for (int c : kStepCaps) keep |= uint64_t{1} << c;
  for (int c = 0; c <= last_cap(); ++c) {
    if (!(keep & (uint64_t{1} << c)) && prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1 &&
        prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EPERM) {
      fail(report_fd, "dropping capability " + std::to_string(c) + " from the bounding set", errno);
    }
  }
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &hdr, data) != 0) fail(report_fd, "capget", errno);
  for (int i = 0; i < 2; ++i) {
    uint32_t k = static_cast<uint32_t>(keep >> (32 * i));
    data[i].effective &= k;
    data[i].permitted &= k;
    data[i].inheritable &= k;
  }
  if (syscall(SYS_capset, &hdr, data) != 0) fail(report_fd, "capset", errno);
}

// No fd of the builder (the state dir, the content store) may reach the step.
void close_on_exec_from(int first) {
  constexpr unsigned kCloseRangeCloexec = 1U << 2;
  if (syscall(SYS_close_range, first, ~0U, kCloseRangeCloexec) == 0) return;
  long max = sysconf(_SC_OPEN_MAX);
  if (max < 0 || max > 65536) max = 65536;
  for (int fd = first; fd < max; ++fd) fcntl(fd, F_SETFD, FD_CLOEXEC);
}

[[noreturn]] void exec_step(const RunSpec& spec, int report_fd) {
  std::string what;
  int err = exec_step_command(spec, &what);
  fail(report_fd, what, err);
}

void make_dirs_inside(const std::string& path, int report_fd) {
  std::string cur;
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      cur = path.substr(0, i);
      if (cur.size() > 1 && mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) fail(report_fd, "mkdir " + cur, errno);
    }
  }
}

// The step itself: chroot, user, exec. Runs in a child of the runner.
[[noreturn]] void step(const RunSpec& spec, int report_fd) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  close_on_exec_from(3);
  if (chroot(spec.rootfs.c_str()) != 0) {
    fail(report_fd, "chroot " + spec.rootfs + " (--isolation chroot needs root with CAP_SYS_CHROOT)", errno);
  }
  if (chdir("/") != 0) fail(report_fd, "chdir /", errno);
  // Inside the chroot the kernel resolves every path within the root, so the
  // working dir (part of the image, as in Docker) is made here.
  make_dirs_inside(spec.cwd, report_fd);
  if (chdir(spec.cwd.c_str()) != 0) fail(report_fd, "chdir " + spec.cwd, errno);
  narrow_capabilities(report_fd);
  if (setgroups(spec.groups.size(), spec.groups.data()) != 0) fail(report_fd, "setgroups", errno);
  if (setresgid(spec.gid, spec.gid, spec.gid) != 0) fail(report_fd, "setgid " + std::to_string(spec.gid), errno);
  if (setresuid(spec.uid, spec.uid, spec.uid) != 0) fail(report_fd, "setuid " + std::to_string(spec.uid), errno);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(report_fd, "no_new_privs", errno);
  try {
    SeccompOptions opts;
    install_seccomp_filter(opts);
  } catch (const Error& e) {
    // A pod whose own profile forbids stacking a filter: the step still
    // runs (no worse than Kaniko's), and the log says so.
    std::string msg = std::string("warning: this RUN step runs without slipway's seccomp filter: ") + e.what() + "\n";
    (void)!write(2, msg.data(), msg.size());
  }
  exec_step(spec, report_fd);
}

// Our children, from the pod's /proc (the runner is not chrooted).
std::vector<pid_t> children_of(pid_t self) {
  std::vector<pid_t> out;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (struct dirent* e = readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end) continue;
    std::ifstream in("/proc/" + std::string(e->d_name) + "/stat");
    std::string line;
    std::getline(in, line);
    auto close = line.rfind(')');  // the command name may hold spaces and ')'
    if (close == std::string::npos) continue;
    char state = 0;
    long ppid = 0;
    if (std::sscanf(line.c_str() + close + 1, " %c %ld", &state, &ppid) == 2 && ppid == self) {
      out.push_back(static_cast<pid_t>(pid));
    }
  }
  closedir(d);
  return out;
}

// The runner: a child subreaper, so whatever the step leaves behind becomes
// its child and is killed when the step's main process is done.
[[noreturn]] void runner(const RunSpec& spec, int report_fd) {
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) fail(report_fd, "PR_SET_CHILD_SUBREAPER", errno);
  pid_t main_pid = fork();
  if (main_pid < 0) fail(report_fd, "fork", errno);
  if (main_pid == 0) step(spec, report_fd);
  setpgid(main_pid, main_pid);  // also done by the child: no race either way
  Reporter(report_fd).pgid(main_pid);
  close(report_fd);
  int status = 0;
  while (waitpid(main_pid, &status, 0) < 0 && errno == EINTR) {
  }
  for (;;) {
    kill(-main_pid, SIGKILL);
    for (pid_t p : children_of(getpid())) kill(p, SIGKILL);
    int st = 0;
    if (waitpid(-1, &st, 0) < 0 && errno == ECHILD) break;
  }
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

}  // namespace

void kill_running_chroot_step() {
  if (g_step_pgid > 0) kill(-static_cast<pid_t>(g_step_pgid), SIGKILL);
  if (g_runner_pid > 0) kill(static_cast<pid_t>(g_runner_pid), SIGKILL);
}

RunResult run_chroot(const RunSpec& spec) {
  if (spec.argv.empty()) throw Error("RUN: empty command");
  auto [pid, rd] = fork_reporting_child([&spec](int report_fd) { runner(spec, report_fd); });
  g_runner_pid = pid;
  // "P<pgid>" comes first, then "E<message>" if setup fails; EOF means the
  // step exec'd (or died), so the pgid is known while the step runs.
  std::string error;
  read_report(rd.get(), [&](char tag, const std::string& text) {
    if (tag == 'P') g_step_pgid = std::atoi(text.c_str());
    if (tag == 'E' && error.empty()) error = text;
  });
  int code = wait_exit_code(pid, g_runner_pid);
  g_step_pgid = 0;
  if (!error.empty()) throw Error("setting up the chrooted RUN step: " + error);
  RunResult result;
  result.exit_code = code;
  return result;
}

}  // namespace slipway::sandbox

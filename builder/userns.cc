#include "builder/userns.h"

#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "common/fd.h"

namespace slipway::sandbox {

namespace {

constexpr const char* kUsernsEnv = "_SLIPWAY_USERNS_MAP";

std::string format_ranges(const std::vector<IdRange>& ranges) {
  std::string s;
  for (const auto& r : ranges) {
    s += std::to_string(r.inside) + " " + std::to_string(r.outside) + " " + std::to_string(r.count) + "\n";
  }
  return s;
}

std::vector<IdRange> parse_ranges(const std::string& text) {
  std::vector<IdRange> out;
  std::istringstream in(text);
  IdRange r;
  while (in >> r.inside >> r.outside >> r.count) out.push_back(r);
  return out;
}

bool executable(const char* path) { return access(path, X_OK) == 0; }

void write_file(const std::string& path, const std::string& content) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) throw sys_error("open " + path);
  if (write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
    throw sys_error("write " + path);
  }
}

// Runs newuidmap/newgidmap: PID then triples, as the tools expect.
void run_map_helper(const char* tool, pid_t pid, const std::vector<IdRange>& ranges) {
  std::vector<std::string> args = {tool, std::to_string(pid)};
  for (const auto& r : ranges) {
    args.push_back(std::to_string(r.inside));
    args.push_back(std::to_string(r.outside));
    args.push_back(std::to_string(r.count));
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t child = fork();
  if (child < 0) throw sys_error("fork");
  if (child == 0) {
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw Error(std::string(tool) + " failed to map ids for the build's user namespace (check /etc/subuid and /etc/subgid)");
  }
}

volatile sig_atomic_t g_forward_pid = 0;

void forward_signal(int sig) {
  if (g_forward_pid > 0) kill(static_cast<pid_t>(g_forward_pid), sig);
}

}  // namespace

std::optional<IdRange> find_subordinate_range(const std::string& file, const std::string& user, uid_t id) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    auto c1 = line.find(':');
    auto c2 = line.find(':', c1 == std::string::npos ? 0 : c1 + 1);
    if (c1 == std::string::npos || c2 == std::string::npos) continue;
    std::string who = line.substr(0, c1);
    if (who != user && who != std::to_string(id)) continue;
    try {
      IdRange r;
      r.outside = static_cast<uint32_t>(std::stoul(line.substr(c1 + 1, c2 - c1 - 1)));
      r.count = static_cast<uint32_t>(std::stoul(line.substr(c2 + 1)));
      r.inside = 1;
      if (r.count > 0) return r;
    } catch (const std::exception&) {
      continue;  // a malformed line is skipped, as shadow-utils does
    }
  }
  return std::nullopt;
}

IdMapping plan_id_mapping() {
  IdMapping m;
  uid_t uid = geteuid();
  gid_t gid = getegid();
  m.uids.push_back({0, uid, 1});
  m.gids.push_back({0, gid, 1});
  if (!executable("/usr/bin/newuidmap") || !executable("/usr/bin/newgidmap")) return m;
  std::string name = std::to_string(uid);
  if (struct passwd* pw = getpwuid(uid)) name = pw->pw_name;
  auto su = find_subordinate_range("/etc/subuid", name, uid);
  auto sg = find_subordinate_range("/etc/subgid", name, uid);
  if (su && sg) {
    m.uids.push_back(*su);
    m.gids.push_back(*sg);
  }
  return m;
}

NamespaceState namespace_state() {
  if (getenv(kUsernsEnv)) return NamespaceState::kInUserns;
  if (geteuid() == 0) return NamespaceState::kHostRoot;
  return NamespaceState::kUnprivileged;
}

IdMapping current_mapping() {
  IdMapping m;
  const char* env = getenv(kUsernsEnv);
  if (!env) {
    m.uids.push_back({0, 0, 4294967295U});
    m.gids.push_back({0, 0, 4294967295U});
    return m;
  }
  std::string s = env;
  auto bar = s.find('|');
  m.uids = parse_ranges(s.substr(0, bar));
  m.gids = parse_ranges(bar == std::string::npos ? "" : s.substr(bar + 1));
  return m;
}

int reexec_in_userns(const std::vector<std::string>& argv, const IdMapping& mapping) {
  // Two pipes: the child says "unshared", the parent says "mapped".
  int to_parent[2], to_child[2];
  if (pipe2(to_parent, O_CLOEXEC) != 0 || pipe2(to_child, O_CLOEXEC) != 0) throw sys_error("pipe");
  UniqueFd p_read(to_parent[0]), p_write(to_parent[1]), c_read(to_child[0]), c_write(to_child[1]);

  std::string env_value = format_ranges(mapping.uids) + "|" + format_ranges(mapping.gids);
  pid_t pid = fork();
  if (pid < 0) throw sys_error("fork");
  if (pid == 0) {
    // Child. Only async-signal-safe work plus exec from here on.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    char ok = 0;
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID) != 0) {
      int err = errno;
      (void)!write(p_write.get(), &err, sizeof err);
      _exit(125);
    }
    int zero = 0;
    (void)!write(p_write.get(), &zero, sizeof zero);
    if (read(c_read.get(), &ok, 1) != 1 || ok != 1) _exit(125);
    // The first child after unshare(CLONE_NEWPID) is PID 1 of the new
    // namespace; when it exits, the kernel kills everything left in it.
    pid_t init = fork();
    if (init < 0) _exit(125);
    if (init == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0) _exit(125);
      setenv(kUsernsEnv, env_value.c_str(), 1);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv("/proc/self/exe", args.data());
      _exit(127);
    }
    g_forward_pid = init;
    signal(SIGINT, forward_signal);
    signal(SIGTERM, forward_signal);
    signal(SIGHUP, forward_signal);
    int status = 0;
    while (waitpid(init, &status, 0) < 0 && errno == EINTR) {
    }
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  }

  p_write.reset();
  c_read.reset();
  auto reap = [pid] {
    kill(pid, SIGKILL);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
  };
  int child_err = 0;
  if (read(p_read.get(), &child_err, sizeof child_err) != sizeof child_err) {
    reap();
    throw Error("cannot create a user namespace: the child died before unshare");
  }
  if (child_err != 0) {
    reap();
    throw Error(std::string("cannot create a user namespace: ") + strerror(child_err) +
                " (unprivileged user namespaces are disabled here, e.g. by seccomp, "
                "kernel.unprivileged_userns_clone=0 or user.max_user_namespaces=0; "
                "run as root with --isolation chroot instead)");
  }
  try {
    std::string proc = "/proc/" + std::to_string(pid);
    if (mapping.uids.size() > 1) {
      run_map_helper("/usr/bin/newuidmap", pid, mapping.uids);
      run_map_helper("/usr/bin/newgidmap", pid, mapping.gids);
    } else {
      write_file(proc + "/uid_map", format_ranges(mapping.uids));
      write_file(proc + "/setgroups", "deny");  // required before gid_map without CAP_SETGID
      write_file(proc + "/gid_map", format_ranges(mapping.gids));
    }
  } catch (...) {
    reap();
    throw;
  }
  char ok = 1;
  if (write(c_write.get(), &ok, 1) != 1) {
    reap();
    throw sys_error("signalling the namespace child");
  }
  g_forward_pid = pid;
  struct sigaction sa {};
  sa.sa_handler = forward_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw sys_error("waitpid");
  }
  g_forward_pid = 0;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string userns_unavailable_reason() {
  pid_t pid = fork();
  if (pid < 0) return std::string("fork: ") + strerror(errno);
  if (pid == 0) _exit(unshare(CLONE_NEWUSER) == 0 ? 0 : (errno & 0xff));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  int err = WIFEXITED(status) ? WEXITSTATUS(status) : EPERM;
  return std::string("unshare(CLONE_NEWUSER) fails: ") + strerror(err);
}

}  // namespace slipway::sandbox

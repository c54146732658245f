// A Kubernetes pod in one process: runs a command as root (or as --uid) with
// Docker's default capability set and a seccomp filter that denies what the
// RuntimeDefault profile denies to a container without CAP_SYS_ADMIN
// (namespaces, mount, pivot_root, setns). Tests use it to show that
// `slipway build` works, or fails clearly, where Kaniko runs.
//
//   pod_harness [--uid N --gid N] -- COMMAND [ARG...]
//
// Must start as root on a normal host; the restrictions apply to the child
// only, and are irreversible there.
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace {

// Docker's default capability set (moby/oci/caps/defaults.go).
constexpr int kDockerCaps[] = {CAP_CHOWN,  CAP_DAC_OVERRIDE,     CAP_FSETID,  CAP_FOWNER,      CAP_MKNOD,
                               CAP_NET_RAW, CAP_SETGID,          CAP_SETUID,  CAP_SETFCAP,     CAP_SETPCAP,
                               CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_KILL, CAP_AUDIT_WRITE};

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "pod_harness: %s: %s\n", what, std::strerror(errno));
  _exit(125);
}

[[noreturn]] void die_rc(const char* what, int rc) {
  std::fprintf(stderr, "pod_harness: %s: %s\n", what, std::strerror(-rc));
  _exit(125);
}

void deny(scmp_filter_ctx ctx, const char* name, int err, unsigned n = 0, const scmp_arg_cmp* cmp = nullptr) {
  int nr = seccomp_syscall_resolve_name(name);
  if (nr == __NR_SCMP_ERROR) return;
  int rc = n ? seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(static_cast<uint32_t>(err)), nr, n, cmp)
             : seccomp_rule_add(ctx, SCMP_ACT_ERRNO(static_cast<uint32_t>(err)), nr, 0);
  if (rc < 0) die_rc(name, rc);
}

// What RuntimeDefault does without CAP_SYS_ADMIN: no namespaces of any kind,
// no mounts. clone3 gets ENOSYS, as in Docker's profile, because its flags
// sit behind a pointer seccomp cannot read; glibc then falls back to clone.
void install_filter() {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) die("seccomp_init");
  if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
    for (uint32_t arch : {SCMP_ARCH_X86, SCMP_ARCH_X32}) {
      int rc = seccomp_arch_add(ctx, arch);
      if (rc < 0 && rc != -EEXIST) die_rc("seccomp_arch_add", rc);
    }
  }
  for (const char* name : {"unshare", "mount", "umount", "umount2", "pivot_root", "setns", "fsopen", "fsmount",
                           "move_mount", "open_tree", "mount_setattr"}) {
    deny(ctx, name, EPERM);
  }
  const uint64_t ns_flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
                            CLONE_NEWNET | CLONE_NEWCGROUP | 0x80 /* CLONE_NEWTIME */;
  // One rule per flag: a seccomp rule's comparisons are ANDed, and clone
  // must fail when *any* namespace flag is set.
  for (uint64_t bit = 1; bit; bit <<= 1) {
    if (!(ns_flags & bit)) continue;
    scmp_arg_cmp cmp = SCMP_A0(SCMP_CMP_MASKED_EQ, bit, bit);
    deny(ctx, "clone", EPERM, 1, &cmp);
  }
  deny(ctx, "clone3", ENOSYS);
  int rc = seccomp_load(ctx);
  if (rc < 0) die_rc("seccomp_load", rc);
  seccomp_release(ctx);
}

int last_cap() {
  std::ifstream in("/proc/sys/kernel/cap_last_cap");
  int n = CAP_LAST_CAP;
  in >> n;
  return n;
}

void drop_to_docker_caps() {
  uint64_t keep = 0;
  for (int c : kDockerCaps) keep |= uint64_t{1} << c;
  for (int c = 0; c <= last_cap(); ++c) {
    if (!(keep & (uint64_t{1} << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0) die("PR_CAPBSET_DROP");
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) die("clear ambient caps");
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  for (int i = 0; i < 2; ++i) {
    data[i].effective = data[i].permitted = static_cast<uint32_t>(keep >> (32 * i));
    data[i].inheritable = 0;
  }
  if (syscall(SYS_capset, &hdr, data) != 0) die("capset");
}

}  // namespace

int main(int argc, char** argv) {
  long uid = -1, gid = -1;
  int i = 1;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a == "--uid" && i + 1 < argc) uid = std::atol(argv[++i]);
    else if (a == "--gid" && i + 1 < argc) gid = std::atol(argv[++i]);
    else {
      std::fprintf(stderr, "usage: pod_harness [--uid N --gid N] -- COMMAND [ARG...]\n");
      return 2;
    }
  }
  if (i >= argc) {
    std::fprintf(stderr, "usage: pod_harness [--uid N --gid N] -- COMMAND [ARG...]\n");
    return 2;
  }
  if (geteuid() != 0) {
    std::fprintf(stderr, "pod_harness: must start as root\n");
    return 2;
  }
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    // The filter goes in while CAP_SYS_ADMIN still allows it without
    // no_new_privs: RuntimeDefault leaves no_new_privs off, and so must we.
    install_filter();
    if (uid >= 0) {
      gid_t g = static_cast<gid_t>(gid >= 0 ? gid : uid);
      if (setgroups(0, nullptr) != 0 || setresgid(g, g, g) != 0) die("setgid");
      if (setresuid(static_cast<uid_t>(uid), static_cast<uid_t>(uid), static_cast<uid_t>(uid)) != 0) die("setuid");
    } else {
      drop_to_docker_caps();
    }
    execvp(argv[i], argv + i);
    die(argv[i]);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) die("waitpid");
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

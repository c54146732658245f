#pragma once
// Runs one RUN step's command in a sandbox: its own mount, PID, IPC and UTS
// namespaces (and network, with --network=none), an overlayfs root (or a
// plain directory), fresh /proc, a tmpfs /dev, the host's resolv.conf, hosts
// and hostname bound in, no_new_privs and a seccomp filter.
//
// Mounts are made inside the step's own mount namespace, so they vanish with
// it: an interrupted build can leave no mount behind. The step's first
// process is PID 1 of its namespace and dies with the builder (PDEATHSIG), so
// killing it kills the whole process tree.
#include <sys/types.h>

#include <string>
#include <vector>

#include "builder/chown_supervisor.h"

namespace slipway::sandbox {

struct BindMount {
  std::string source;  // host path
  std::string target;  // absolute path inside the root
  bool readonly = true;
  bool is_file = false;  // mount point is a file, not a directory
  // When set, the mounted source must be this inode: the caller resolved
  // `source` safely and a path that changed in between is refused.
  dev_t expect_dev = 0;
  ino_t expect_ino = 0;
  // A cache dir whose changes must persist: --isolation chroot moves it
  // into the root for the step instead of copying it.
  bool persistent = false;
};

struct TmpfsMount {
  std::string target;
  uint64_t size = 0;  // bytes; 0 = kernel default
};

struct Overlay {
  std::vector<std::string> lowers;  // top-most first
  std::string upper;
  std::string work;
  bool userxattr = false;  // required inside a user namespace
};

struct RunSpec {
  // Either an overlay to mount at `rootfs`, or `rootfs` is used as it is.
  std::string rootfs;
  bool use_overlay = false;
  Overlay overlay;

  std::vector<std::string> argv;
  std::vector<std::string> env;  // KEY=VALUE; PATH is also used to find argv[0]
  std::string cwd = "/";
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::string hostname = "slipway";
  bool network_none = false;
  bool fake_chown = false;  // see SeccompOptions
  // With fake_chown: record the intended owners (see chown_supervisor.h)
  // rather than only faking success.
  bool track_owners = true;
  std::vector<BindMount> binds;
  std::vector<TmpfsMount> tmpfs;
  // --isolation chroot: no namespaces and no mounts; `rootfs` is a plain
  // dir already dressed by ChrootRoot (chroot_root.h). See chroot_runner.h.
  bool chroot = false;
  // chroot: whether ChrootRoot may mount proc (only in the builder's private
  // mount namespace, so nothing leaks to the host's).
  bool may_mount = true;
};

// Paths made inside the root only to serve as mount points (for example
// /etc/resolv.conf when the image has none). The caller removes them from the
// upper layer before snapshotting, so they never reach a layer.
struct RunResult {
  int exit_code = 0;    // the command's, or 128+signal
  std::vector<std::string> created_mountpoints;  // absolute in-root paths
  // Owners chown gave to inodes that cannot carry the rootless xattr
  // (symlinks, devices, fifos), by in-root path; the layer must apply them.
  OwnerMap side_owners;
  // Degraded behaviour worth one warning (e.g. chown faked without tracking).
  std::vector<std::string> warnings;
};

// Runs the command and waits for it. Throws Error when the sandbox cannot be
// set up (with the failing step: "mount overlay: ..."); a non-zero exit of
// the command is returned, not thrown.
RunResult run(const RunSpec& spec);

// Kills the running step, if any, from a signal handler (async-signal-safe).
void kill_running_step();

// In the step's child process, after its root and user are set up: execs
// spec.argv[0], searched in the step's own PATH (not the builder's) as
// execvp would. Returns only on failure: errno's value, and *what says what
// failed ("exec foo (not found in PATH ...)").
int exec_step_command(const RunSpec& spec, std::string* what);

}  // namespace slipway::sandbox

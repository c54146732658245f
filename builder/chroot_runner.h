#pragma once
// --isolation chroot: a RUN step where the pod allows no namespaces and no
// mounts (Kubernetes RuntimeDefault, run as root, as Kaniko runs). The step
// is forked, chrooted into the stage's root dir (already dressed by
// ChrootRoot), given the step's user, environment and working dir, and
// exec'd with no_new_privs and the seccomp deny list.
//
// Not a security boundary against root in the build: the step shares the
// pod's PID, network and IPC namespaces and its kernel. It runs with
// Docker's default capabilities minus CAP_SYS_CHROOT, so the classic
// chroot-in-a-chroot escape is closed and (its capabilities no longer being a
// superset of the builder's) it cannot ptrace the builder; it can still
// signal it. See docs/isolation.md.
//
// No PID namespace means no kernel-provided "kill everything" when the step
// ends: the runner is a child subreaper and kills whatever the step left
// running (daemons included) before it returns, as the end of a container
// would.
#include "builder/sandbox.h"

namespace slipway::sandbox {

// Runs spec.argv chrooted into spec.rootfs and waits for it and everything
// it started. Throws Error when the step cannot be started ("chroot: ...");
// the command's own non-zero exit is returned.
RunResult run_chroot(const RunSpec& spec);

// Kills the running chrooted step and its process group, from a signal
// handler (async-signal-safe).
void kill_running_chroot_step();

}  // namespace slipway::sandbox

#pragma once
// The seccomp filter installed before a RUN step's command is exec'd.

namespace slipway::sandbox {

struct SeccompOptions {
  // With a single-id user namespace mapping, chown to any other id fails with
  // EINVAL; package managers then abort. Make the chown family succeed without
  // effect instead, as Charliecloud does, so such RUN steps still work.
  bool fake_chown = false;
};

// Loads the filter into the calling thread: deny the syscalls Docker's
// default profile denies to containers (kexec, kernel modules, bpf,
// perf_event_open, the keyring, open_by_handle_at, swap) with EPERM.
// Throws Error if libseccomp fails.
void install_seccomp_filter(const SeccompOptions& options);

}  // namespace slipway::sandbox

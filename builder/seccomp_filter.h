#pragma once
// The seccomp filter installed before a RUN step's command is exec'd.
#include <string>

namespace slipway::sandbox {

struct SeccompOptions {
  // With a single-id user namespace mapping, chown to any other id fails with
  // EINVAL; package managers then abort. Make the chown family succeed
  // instead, as Charliecloud does, so such RUN steps still work.
  bool fake_chown = false;
  // With fake_chown: send the chown family to a supervisor (seccomp user
  // notification) that records the intended owner, instead of faking success
  // blindly. Falls back to blind success where the kernel or libseccomp lack
  // user notification, or another listener already exists (nested sandbox).
  bool notify_chown = false;
};

struct SeccompResult {
  int listener = -1;            // the notification fd (close-on-exec), or -1
  std::string fallback_reason;  // why notify_chown fell back to blind success
};

// The chown-family syscalls the filter handles, by name (16- and 32-bit).
extern const char* const kChownSyscalls[7];

// Loads the filter into the calling thread: deny the syscalls Docker's
// default profile denies to containers (kexec, kernel modules, bpf,
// perf_event_open, the keyring, open_by_handle_at, swap) with EPERM.
// Throws Error if libseccomp fails.
SeccompResult install_seccomp_filter(const SeccompOptions& options);

}  // namespace slipway::sandbox

#include "builder/seccomp_filter.h"

#include <seccomp.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "common/error.h"

namespace slipway::sandbox {

namespace {

struct CtxDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};

void add_rule(scmp_filter_ctx ctx, uint32_t action, const char* name) {
  int nr = seccomp_syscall_resolve_name(name);
  if (nr == __NR_SCMP_ERROR) return;  // not a syscall on this architecture
  int rc = seccomp_rule_add(ctx, action, nr, 0);
  if (rc < 0) throw sys_error(std::string("seccomp: adding rule for ") + name, -rc);
}

}  // namespace

const char* const kChownSyscalls[7] = {"chown", "fchown", "lchown", "fchownat", "chown32", "fchown32", "lchown32"};

namespace {

using Ctx = std::unique_ptr<void, CtxDeleter>;

Ctx build_filter(bool fake_chown, bool notify) {
  Ctx ctx(seccomp_init(SCMP_ACT_ALLOW));
  if (!ctx) throw Error("seccomp: cannot initialise filter");
  // x86_64 processes can still make i386 and x32 syscalls; the filter must
  // cover every ABI the kernel accepts from this process.
  for (uint32_t arch : {SCMP_ARCH_X86, SCMP_ARCH_X32}) {
    if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
      int rc = seccomp_arch_add(ctx.get(), arch);
      if (rc < 0 && rc != -EEXIST) throw sys_error("seccomp: adding architecture", -rc);
    }
  }
  static const char* const denied[] = {
      "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
      "bpf", "perf_event_open", "keyctl", "add_key", "request_key", "open_by_handle_at",
      "swapon", "swapoff", "reboot", "lookup_dcookie", "iopl", "ioperm", "acct",
      "quotactl", "nfsservctl", "create_module", "get_kernel_syms", "query_module",
      "uselib", "userfaultfd",
  };
  for (const char* name : denied) add_rule(ctx.get(), SCMP_ACT_ERRNO(EPERM), name);
  if (fake_chown) {
    for (const char* name : kChownSyscalls) add_rule(ctx.get(), notify ? SCMP_ACT_NOTIFY : SCMP_ACT_ERRNO(0), name);
  }
  return ctx;
}

}  // namespace

SeccompResult install_seccomp_filter(const SeccompOptions& options) {
  SeccompResult result;
  if (options.fake_chown && options.notify_chown) {
    // API level 5: the kernel and libseccomp both support user notification.
    if (seccomp_api_get() < 5) {
      result.fallback_reason = "seccomp user notification needs Linux 5.0 or later";
    } else {
      Ctx ctx = build_filter(true, true);
      int rc = seccomp_load(ctx.get());
      if (rc == 0) {
        result.listener = seccomp_notify_fd(ctx.get());
        if (result.listener >= 0) return result;
        // Loaded without a listener: nobody could answer, and a filter cannot
        // be unloaded; in the blind filter stacked below ERRNO(0) wins, as
        // ERRNO takes precedence over USER_NOTIF.
        result.fallback_reason = "no seccomp notification fd";
      } else {
        result.fallback_reason = std::string("loading a notifying seccomp filter: ") + strerror(-rc);
      }
    }
  }
  Ctx ctx = build_filter(options.fake_chown, false);
  int rc = seccomp_load(ctx.get());
  if (rc < 0) throw sys_error("seccomp: loading filter", -rc);
  return result;
}

}  // namespace slipway::sandbox

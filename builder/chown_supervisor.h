#pragma once
// Ownership emulation for single-id user namespaces. Only the caller's id is
// mapped, so a RUN step's chown to any other id cannot happen for real. The
// step's seccomp filter hands the chown family to this supervisor (seccomp
// user notification), which records the intended owner and answers success:
//
//  * regular files and directories: in the `user.rootlesscontainers` xattr,
//    as umoci does (and as a rootless unpack records base images' owners);
//    the layer writer turns it back into the tar header's uid/gid;
//  * symlinks, device nodes and fifos cannot carry user.* xattrs: their owner
//    is kept in a table by in-root path, and the inode is copied up so it is
//    part of the step's layer.
//
// Inside the step the files keep showing as owned by root (`ls -ln` gives 0):
// only the layers carry the recorded owners.
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "common/fd.h"

namespace slipway::sandbox {

// In-root absolute path -> uid, gid.
using OwnerMap = std::map<std::string, std::pair<uint32_t, uint32_t>>;

class ChownSupervisor {
 public:
  // `listener`: the filter's notification fd (taken over). `proc_fd`: a
  // procfs showing this process's PID namespace, where the notifications'
  // PIDs are valid.
  ChownSupervisor(int listener, int proc_fd);

  // Receives and answers one notification (blocks until one arrives).
  // Returns false when the listener failed (no process can be served).
  bool serve_one();

  int listener() const { return listener_.get(); }
  const OwnerMap& side_owners() const { return side_; }

 private:
  UniqueFd listener_;
  int proc_fd_;
  OwnerMap side_;
};

// A procfs for this process's PID namespace: /proc when it is one, else a
// fresh instance mounted over /proc (the caller must be in a mount namespace
// of its own). Returns an O_PATH fd, or -1 with `why` set.
int open_own_proc(std::string* why);

}  // namespace slipway::sandbox

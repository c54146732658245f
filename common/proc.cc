#include "common/proc.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "common/error.h"

namespace slipway {

void require_proc() {
  if (access("/proc/self/fd", F_OK) == 0) return;
  throw Error(std::string("/proc is not mounted here (/proc/self/fd: ") + strerror(errno) +
              "); slipway reaches files by descriptor through it. Mount proc in the container or chroot "
              "(mount -t proc proc /proc)");
}

}  // namespace slipway

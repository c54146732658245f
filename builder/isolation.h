#pragma once
// Choosing how RUN steps are isolated (--isolation auto|userns|chroot), from
// what this process may do here. See docs/isolation.md.
//
//   host namespaces  root where unshare and mount work (a normal host, a
//                    privileged container): mount/PID/IPC/UTS namespaces,
//                    overlayfs, no user namespace needed.
//   userns           a user namespace in which slipway is root (rootless),
//                    then the same sandbox.
//   chroot           root where no namespace and no mount is allowed (a
//                    Kubernetes pod with RuntimeDefault, as Kaniko runs):
//                    chroot into a private copy of the tree.
#include <string>

#include "builder/build_options.h"

namespace slipway::sandbox {

// What works here; each field is "" when it does, else the reason it fails
// ("unshare(CLONE_NEWUSER|CLONE_NEWNS): Operation not permitted").
struct IsolationProbe {
  bool root = false;  // euid 0, outside slipway's own user namespace
  unsigned uid = 0;
  std::string namespaces;  // unshare(NEWNS|NEWPID|NEWIPC|NEWUTS), mount proc and tmpfs, as root
  std::string userns;      // unshare(NEWUSER|NEWNS|NEWPID), map our id, mount proc and tmpfs
  std::string chroot;      // chroot("/"), as root
};

// Tries each in a throw-away child: nothing changes in this process.
IsolationProbe probe_isolation();

enum class Mode { kHostNamespaces, kUserns, kChroot };

struct IsolationChoice {
  Mode mode = Mode::kHostNamespaces;
  std::string why;  // one line for the build log
};

// The choice for `requested`, or an Error saying what the environment lacks
// and which isolation would work. Pure: unit-tested on made-up probes.
IsolationChoice choose_isolation(build::Isolation requested, const IsolationProbe& probe);

// "chroot", "userns", "host namespaces".
std::string mode_name(Mode mode);

}  // namespace slipway::sandbox

#pragma once
// Entering the build's user namespace. A rootless `slipway build` re-execs
// itself inside a new user, mount and PID namespace where it is root, so it
// can mount overlayfs, tmpfs and proc for its RUN steps. The host sees only
// the caller's own ids (and its subordinate ranges, when newuidmap maps them).
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace slipway::sandbox {

struct IdRange {
  uint32_t inside = 0;
  uint32_t outside = 0;
  uint32_t count = 0;
};

// How ids map between the namespace and the host.
struct IdMapping {
  std::vector<IdRange> uids;
  std::vector<IdRange> gids;
  // True when only the caller's id is mapped (no subordinate ranges), so
  // chown to other ids cannot work for real and is emulated.
  bool single_id() const { return uids.size() <= 1 && (uids.empty() || uids[0].count <= 1); }
};

// The subordinate range of `user` (name or numeric uid) in an /etc/subuid or
// /etc/subgid style file, or nullopt.
std::optional<IdRange> find_subordinate_range(const std::string& file, const std::string& user,
                                              uid_t id);

// The mapping this process would get: the caller's id to 0 plus, when
// newuidmap/newgidmap exist and subordinate ranges are configured, the
// subordinate range from 1 up.
IdMapping plan_id_mapping();

// Where this process stands.
enum class NamespaceState {
  kHostRoot,    // euid 0 in the initial user namespace: no user namespace needed
  kInUserns,    // already inside the namespace slipway made (re-exec'd child)
  kUnprivileged // a normal user: must re-exec into a user namespace
};
NamespaceState namespace_state();

// Re-execs /proc/self/exe with `argv` inside a new user+mount+PID namespace
// with `mapping`, waits for it, forwards SIGINT/SIGTERM/SIGHUP, and returns
// its exit code. Throws Error naming what the environment lacks when a user
// namespace cannot be created.
int reexec_in_userns(const std::vector<std::string>& argv, const IdMapping& mapping);

// In the re-exec'd child: the mapping it was given (from the environment).
IdMapping current_mapping();

// Checks, without side effects on this process, whether a user namespace can
// be created here (forks a child that tries). Returns an empty string when
// it can, else the reason.
std::string userns_unavailable_reason();

}  // namespace slipway::sandbox

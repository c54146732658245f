#pragma once
// Resolution of layer entry names inside a root directory, so a hostile layer
// can never make us touch anything outside it (the CVE class of umoci
// CVE-2021-29136, buildah CVE-2020-10696, moby CVE-2018-15664).
//
// Entry names are first cleaned *lexically*: a leading '/' is dropped, "."
// and empty components vanish and ".." pops the previous component, clamped
// at the root ("../../etc/x" is "etc/x"), the way RESOLVE_IN_ROOT treats "..".
// Symlinks met while walking to a directory are then followed with the root
// acting as "/", so an absolute or ".."-laden link target also stays inside.
// Callers get a directory fd and then act on one final component with *at()
// calls that never follow it; no checked path string is ever re-used.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/fd.h"

namespace slipway::layers {

// The cleaned components of an entry name; empty for the root itself.
std::vector<std::string> clean_components(std::string_view name);

// "a/b/c" for components {"a","b","c"}; "." for none.
std::string join_components(const std::vector<std::string>& comps, size_t count);

enum class Resolver {
  kAuto,      // openat2(RESOLVE_IN_ROOT) first; the fallback if the kernel or a seccomp filter refuses it
  kFallback,  // always walk component by component with O_PATH|O_NOFOLLOW
};

// Opens the directory named by comps[0..count) beneath root_fd as an
// O_PATH|O_DIRECTORY|O_CLOEXEC fd, following symlinks as if root_fd were "/".
// Returns an invalid fd and sets *err (ENOENT, ENOTDIR, ELOOP, ...) on failure.
// The choice between openat2 and the fallback is made on every call, never
// cached: a seccomp filter may differ between threads or change under us.
UniqueFd resolve_dir(int root_fd, const std::vector<std::string>& comps, size_t count, Resolver resolver, int* err);

// Like resolve_dir, but creates missing directories (mode 0755, owned by the
// caller) on the way, as container runtimes do for tar files that omit
// parent entries. Throws slipway::Error naming `what` when that is impossible
// (a component is a file, a symlink dangles, ...).
// `on_denied(parent_fd, n)`, when given, may make parent_fd writable after
// creating comps[n-1] in it failed with EACCES; the mkdir is then retried.
using DeniedFn = std::function<void(int parent_fd, size_t n)>;
UniqueFd resolve_dir_create(int root_fd, const std::vector<std::string>& comps, size_t count, Resolver resolver,
                            const std::string& what, const DeniedFn& on_denied = {});

// True when the openat2 syscall works here (for tests that want to know
// which path they exercised).
bool openat2_available();

}  // namespace slipway::layers

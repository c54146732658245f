#pragma once
// Snapshots: turn what a build step changed into the entries of a layer
// (containerd's diff.Comparer). Two differs that must agree:
//
//  * overlay_diff reads an overlayfs upper dir. Its cost is proportional to
//    the upper dir (what the step touched), never to the lower tree.
//  * The walking differ (snapshot_tree + walk_diff) is the fallback where
//    overlay cannot be mounted: it records a compact state of the tree before
//    the step and compares after it, reading content only when stat cannot
//    decide.
//
// Both apply the same rule: a path is in the layer when it is new, its type,
// mode, owner, size, mtime, link target, device number or xattrs changed, or
// its content changed; a deleted path becomes a whiteout (only the top-most
// deleted directory, not its children); a directory is also included when
// anything beneath it is, so parents precede children with their current
// metadata; every path of a hardlinked inode that is included brings the
// other paths of that inode present in the tree, so the tar can link them.
#include <sys/stat.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/fd.h"
#include "layers/tar_writer.h"

namespace slipway {

struct DiffOptions {
  // Paths (relative, "/"-separated, e.g. "proc", "etc/resolv.conf") that are
  // never part of a layer: mount points of the sandbox.
  std::set<std::string> exclude;
  ScanOptions scan;  // xattr and rootless-owner handling for emitted entries
};

// Diffs an overlayfs upper dir against its lower dirs (top-most first).
// Emitted entries' `source` is relative to upper_fd: pass it as
// TarOptions::source_dir_fd. Throws Error on a redirect_dir or metacopy
// layout, which cannot be expressed as a layer (mount with them off).
std::vector<TarEntry> overlay_diff(int upper_fd, const std::vector<int>& lower_fds, const DiffOptions& options = {});

// A path found in a stack of overlay layer dirs.
struct LayerHit {
  UniqueFd parent;  // directory holding the entry, in the layer dir that has it
  std::string name; // last component
  struct stat st {};
};

// Looks `rel` up in the merged view of overlay layer dirs (top-most first)
// with overlayfs' rules: a whiteout or a non-directory hides what is below,
// an opaque directory hides the lower layers' contents. Components are opened
// one by one with O_NOFOLLOW, so nothing resolves outside a layer dir; a
// symlink on the way counts as "not found".
std::optional<LayerHit> lookup_in_layers(const std::vector<int>& layer_fds, const std::string& rel);

// The compact state of one path.
struct FileState {
  uint32_t mode = 0;  // st_mode: type and permission bits
  uint32_t uid = 0, gid = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0, ctime_ns = 0;
  uint64_t ino = 0, dev = 0, rdev = 0, nlink = 0;
  std::string link_target;
  std::string xattr_digest;  // sha256 over sorted name/value pairs, "" if none
};

struct TreeState {
  std::map<std::string, FileState> files;  // relative path -> state; root excluded
};

// Records the state of the tree under root_fd.
TreeState snapshot_tree(int root_fd, const DiffOptions& options = {});

// Compares the tree under root_fd with `before`. When stat cannot decide
// (only ctime or inode changed) the content is compared with the same path
// under reference_fd, a pristine copy of the tree before the step; without
// one (-1) such a file counts as changed. Entries' `source` is relative to
// root_fd.
std::vector<TarEntry> walk_diff(const TreeState& before, int root_fd, int reference_fd = -1,
                                const DiffOptions& options = {});

}  // namespace slipway

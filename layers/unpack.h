#pragma once
// Applying a layer blob (tar, tar+gzip or tar+zstd) to a root directory: the
// counterpart of containerd's diff.Applier. Base images are hostile input, so
// every path is resolved inside the root (see layers/safe_path.h), inodes are
// replaced rather than written through, and sizes and counts are bounded.
//
// Whiteouts follow the OCI image-spec layer.md: `.wh.NAME` deletes NAME and
// `.wh..wh..opq` empties its directory, and both only ever remove what lower
// layers left: an entry this same layer wrote survives a whiteout that
// comes after it (so the order of entries does not matter).
//
// Parents missing from the archive are created (mode 0755 less the umask);
// a parent that is a file or a dangling symlink is an error, as is an entry
// that would replace the root itself. `..` is clamped at the root, so
// "../../x" is "x" (see layers/safe_path.h).
//
// Ownership: with CAP_CHOWN we chown. Without it (rootless) the intended owner
// goes into the `user.rootlesscontainers` xattr exactly as umoci writes it, and
// files without it are owned by 0:0; read_rootless_owner() gives it back.
// Rootless, directories of mode 0555 and the like are made u+rwx while we
// write into or remove from them, and get their mode back (as umoci does).
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "layers/safe_path.h"

namespace slipway::layers {

enum class Ownership {
  kAuto,    // kChown when we have CAP_CHOWN, else kRecord
  kChown,   // fchownat; where the kernel refuses (EPERM/EINVAL), record instead
  kRecord,  // never chown; record owners other than 0:0 in user.rootlesscontainers
};

struct ApplyOptions {
  uint64_t max_bytes = 64ULL << 30;      // total file content, checked against headers and real data
  uint64_t max_entries = 2'000'000;      // tar headers, whiteouts included
  size_t max_path_length = 4096;         // entry names, after PAX/GNU long-name extension
  size_t max_link_length = 4095;         // symlink and hardlink targets (PATH_MAX minus the NUL)
  bool force_fallback_resolver = false;  // skip openat2, for tests and seccomp'd hosts
  Ownership ownership = Ownership::kAuto;
};

struct OwnerRecord {
  std::string path;  // cleaned entry name, relative to the root
  uint32_t uid = 0;
  uint32_t gid = 0;
};

struct ApplyResult {
  uint64_t entries = 0;  // headers read, whiteouts included
  uint64_t bytes = 0;    // file content written
  uint64_t whiteouts = 0;
  // "name: reason" for entries or attributes not applied because the host
  // does not permit them (device nodes, security.capability, trusted.*, ...).
  std::vector<std::string> skipped;
  // Owners that could neither be chowned nor recorded in an xattr (symlinks,
  // or a filesystem without user xattrs): the caller must keep them.
  std::vector<OwnerRecord> unrecorded_owners;
  bool chowned = false;  // ownership was applied with chown (not recorded)
};

// Reads the layer from blob_fd (from its current offset) and applies it to
// the directory root_dirfd. Throws slipway::Error naming the offending entry.
ApplyResult apply_layer(int root_dirfd, int blob_fd, const ApplyOptions& options = {});

// Same, reading the blob through `read`: it fills up to `size` bytes of
// `buf` and returns how many (0 at the end); it may throw.
using ReadFn = std::function<size_t(void* buf, size_t size)>;
ApplyResult apply_layer(int root_dirfd, const ReadFn& read, const ApplyOptions& options = {});

// Path convenience: opens both and applies.
ApplyResult apply_layer(const std::string& root_dir, const std::string& blob_path, const ApplyOptions& options = {});

// The `user.rootlesscontainers` xattr: protobuf `Resource { uint32 uid = 1;
// uint32 gid = 2; }` where umoci writes 0xFFFFFFFF ("no change", i.e. 0)
// for a zero id and omits the xattr when both are zero.
inline constexpr const char* kRootlessXattr = "user.rootlesscontainers";
std::string encode_rootless_owner(uint32_t uid, uint32_t gid);
// Parses the value; nullopt when malformed. Missing fields and 0xFFFFFFFF read as 0.
std::optional<std::pair<uint32_t, uint32_t>> decode_rootless_owner(const std::string& value);
// The recorded owner of the inode at `name` inside dirfd (never followed);
// nullopt when it has no such xattr (then it is 0:0 in a rootless unpack).
std::optional<std::pair<uint32_t, uint32_t>> read_rootless_owner(int dirfd, const std::string& name);
// The same for an open file or directory (not an O_PATH fd).
std::optional<std::pair<uint32_t, uint32_t>> read_rootless_owner(int fd);
// So a repack finds the true owner of an inode: the xattr when present;
// else st_uid/st_gid after a chowned apply (ApplyResult::chowned), or 0:0
// after a recorded (rootless) one.

}  // namespace slipway::layers

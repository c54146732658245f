#pragma once
// Deterministic layer tars. The caller describes each entry (owner, mode,
// mtime, xattrs come from the entry, never from the host), the writer sorts
// them by path component by component (so parents precede children), turns
// repeated inodes into hardlinks to their first occurrence, clamps mtimes to
// SOURCE_DATE_EPOCH and writes a PAX tar with libarchive ("pax restricted":
// plain ustar headers unless a field needs an extended header, as Go's
// archive/tar does). The same entries always give the same bytes.
#include <fcntl.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "layers/byte_sink.h"

namespace slipway {

enum class TarKind {
  kFile,
  kDir,
  kSymlink,
  kHardlink,  // link_target is the archive path of an earlier entry
  kCharDev,
  kBlockDev,
  kFifo,
  kWhiteout,  // path names the deleted file; written as "<dir>/.wh.<name>"
  kOpaque,    // path names the directory; written as "<dir>/.wh..wh..opq"
};

struct TarEntry {
  std::string path;  // relative archive path, "/"-separated ("usr/bin/env")
  TarKind kind = TarKind::kFile;
  uint32_t mode = 0644;  // permission bits including setuid/setgid/sticky
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t mtime = 0;  // seconds since the epoch
  std::string link_target;
  uint32_t dev_major = 0;
  uint32_t dev_minor = 0;
  std::map<std::string, std::string> xattrs;
  // Content of a regular file: the file `source` (relative to
  // TarOptions::source_dir_fd, or absolute) when set, otherwise `data`.
  std::string source;
  std::string data;
  // Entries with the same nonzero link_id are one inode: the first in archive
  // order carries the content, the others become hardlinks to it.
  uint64_t link_id = 0;
};

struct TarOptions {
  std::optional<int64_t> source_date_epoch;  // mtimes later than this are clamped to it
  int source_dir_fd = AT_FDCWD;
};

// Writes the entries as one tar stream into `out`. Throws Error on an invalid
// or duplicate path, a hardlink to a path not written before it, or a source
// file that changed size while being read.
void write_tar(std::vector<TarEntry> entries, ByteSink& out, const TarOptions& options = {});

// Component-wise path order: "a" < "a/b" < "a-b" (a "/" sorts before any byte).
bool tar_path_less(const std::string& a, const std::string& b);

struct ScanOptions {
  std::string prefix;  // archive path prefix for every entry ("app" -> "app/x")
  bool xattrs = true;
  // Take owner from umoci's user.rootlesscontainers xattr when present.
  bool rootless_owner = true;
};

// Describes the tree under root_fd (not root itself) from lstat(2): each
// entry's `source` is relative to root_fd, so pass root_fd as
// TarOptions::source_dir_fd. Sockets are skipped. Xattrs are read except
// host-specific ones (security.selinux, system.*, overlayfs' own); the
// rootless-owner xattr is consumed, not copied.
std::vector<TarEntry> scan_tree(int root_fd, const ScanOptions& options = {});

// One entry from lstat of `rel` under dir_fd, with archive path `archive_path`:
// what an explicit layer (COPY) is built from. link_id is left 0.
TarEntry entry_from_file(int dir_fd, const std::string& rel, std::string archive_path, const ScanOptions& options = {});

}  // namespace slipway

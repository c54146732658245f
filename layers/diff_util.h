#pragma once
// Helpers shared by the overlay and walking differs. Internal to layers/.
#include <sys/stat.h>

#include <map>
#include <string>
#include <vector>

#include "layers/diff.h"

namespace slipway::diff_detail {

// Xattrs of `name` under dir_fd (not following a symlink), without the ones
// that belong to the host or to overlayfs rather than to the image.
std::map<std::string, std::string> read_xattrs(int dir_fd, const std::string& name);

// The overlayfs bookkeeping xattr `key` ("opaque", "redirect", "metacopy")
// under either the trusted. or the user. (userxattr mounts) namespace.
bool has_overlay_xattr(int dir_fd, const std::string& name, const std::string& key, std::string* value = nullptr);

// sha256 over the sorted name/value pairs; "" for none.
std::string xattr_digest(const std::map<std::string, std::string>& xattrs);

// The metadata that defines "changed": type, permission bits, owner, size,
// mtime, device number, link target and xattrs.
bool same_metadata(const struct stat& a, const std::string& link_a, const std::string& xattrs_a,
                   const struct stat& b, const std::string& link_b, const std::string& xattrs_b);

std::string read_link(int dir_fd, const std::string& name);

// Byte-wise comparison of two regular files, each named under its dir fd.
bool same_content(int dir_a, const std::string& name_a, int dir_b, const std::string& name_b);

// Directory entries of dir_fd (without "." and ".."), sorted.
std::vector<std::string> list_dir(int dir_fd);

// Joins a relative prefix and a name with "/".
inline std::string join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "/" + name;
}

bool is_whiteout_device(const struct stat& st);

// Completes a differ's raw list of changed paths into a layer: for every
// emitted path whose inode has other names in `groups`, those names too (every
// member of a group gets the same link_id), then every missing parent
// directory with its current metadata, so parents precede children.
void finish_entries(std::vector<TarEntry>& entries, const std::map<uint64_t, std::vector<std::string>>& groups,
                        const std::map<std::string, uint64_t>& inode_of, int source_fd, const ScanOptions& scan);

}  // namespace slipway::diff_detail

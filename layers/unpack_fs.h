#pragma once
// The filesystem half of apply_layer: creates, replaces and removes inodes
// beneath a root fd for one decoded tar entry at a time. Knows nothing of tar
// or compression; layers/unpack.cc feeds it.
#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "layers/unpack.h"

namespace slipway::layers {

struct EntryInfo {
  std::string name;  // as in the archive, for messages
  mode_t type = 0;   // S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK
  mode_t mode = 0;   // permission bits incl. setuid/setgid/sticky
  uint32_t uid = 0, gid = 0;
  dev_t rdev = 0;
  bool has_mtime = false, has_atime = false;
  struct timespec mtime {
  }, atime{};
  std::string symlink;   // symlink target, verbatim
  std::string hardlink;  // hardlink target entry name; non-empty makes this a hardlink
  std::vector<std::pair<std::string, std::string>> xattrs;
  uint64_t size = 0;
};

// Writes the entry's content into an open, empty regular file.
using WriteData = std::function<void(int fd)>;

class Applier {
 public:
  Applier(int root_fd, const ApplyOptions& options, ApplyResult* result);
  void apply(const EntryInfo& e, const WriteData& write_data);
  // Directory modes and times, deferred so that writing their contents
  // neither fails (read-only dirs) nor bumps their mtimes.
  void finish();

 private:
  using NameKey = std::tuple<dev_t, ino_t, std::string>;
  struct DeferredDir {
    std::vector<std::string> comps;
    mode_t mode;
    bool has_times;
    struct timespec times[2];
  };

  void whiteout(const EntryInfo& e, const std::vector<std::string>& comps);
  // Removes parent/name recursively, sparing what this layer wrote when
  // `spare_upper`; returns true when it is gone.
  bool remove_tree(int parent, const std::string& name, bool spare_upper, int depth);
  void make_room(int parent, const std::string& name, const std::string& what);
  void mark_upper(int parent, const std::string& name);
  void unlock_dir(int dirfd, const std::vector<std::string>* entry_comps);
  void set_owner(int fd, int parent, const std::string& name, const EntryInfo& e, const std::string& path);
  void set_xattrs(int fd, int parent, const std::string& name, const EntryInfo& e);
  void apply_dir(const EntryInfo& e, int parent, const std::string& name, const std::vector<std::string>& comps);
  void apply_file(const EntryInfo& e, int parent, const std::string& name, const std::string& path,
                  const WriteData& write_data);
  void apply_hardlink(const EntryInfo& e, int parent, const std::string& name);
  void apply_node(const EntryInfo& e, int parent, const std::string& name, const std::string& path);
  void apply_symlink(const EntryInfo& e, int parent, const std::string& name, const std::string& path);

  int root_fd_;
  ApplyOptions options_;
  ApplyResult* result_;
  Resolver resolver_;
  bool chown_;
  bool dac_override_;  // permission bits do not stop us
  // (parent dir dev, parent dir ino, name) of every inode this layer wrote:
  // whiteouts only remove what lower layers left (image-spec layer.md).
  std::set<NameKey> upper_;
  std::map<std::pair<dev_t, ino_t>, DeferredDir> deferred_;
};

}  // namespace slipway::layers

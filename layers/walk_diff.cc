// The walking differ: a compact state of the whole tree before a step, then a
// second walk after it. Content is read only when stat cannot decide.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fd.h"
#include "layers/diff.h"
#include "layers/diff_util.h"

namespace slipway {

using namespace diff_detail;

namespace {

FileState state_of(int dir_fd, const std::string& name, const struct stat& st) {
  FileState s;
  s.mode = st.st_mode;
  s.uid = st.st_uid;
  s.gid = st.st_gid;
  s.size = static_cast<uint64_t>(st.st_size);
  s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  s.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
  s.ino = st.st_ino;
  s.dev = st.st_dev;
  s.rdev = st.st_rdev;
  s.nlink = st.st_nlink;
  if (S_ISLNK(st.st_mode)) s.link_target = read_link(dir_fd, name);
  s.xattr_digest = xattr_digest(read_xattrs(dir_fd, name));
  return s;
}

bool same_metadata(const FileState& a, const FileState& b) {
  if (a.mode != b.mode || a.uid != b.uid || a.gid != b.gid || a.mtime_ns != b.mtime_ns) return false;
  if (!S_ISDIR(a.mode) && a.size != b.size) return false;
  if ((S_ISCHR(a.mode) || S_ISBLK(a.mode)) && a.rdev != b.rdev) return false;
  return a.link_target == b.link_target && a.xattr_digest == b.xattr_digest;
}

// Calls fn(dir_fd, name, rel, stat) for every path below dir_fd, parents first.
template <typename Fn>
void walk_tree(int dir_fd, const std::string& prefix, const DiffOptions& options, Fn&& fn) {
  for (const auto& name : list_dir(dir_fd)) {
    std::string rel = join(prefix, name);
    if (options.exclude.count(rel)) continue;
    struct stat st {};
    if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) throw sys_error("stat " + rel);
    fn(dir_fd, name, rel, st);
    if (S_ISDIR(st.st_mode)) {
      UniqueFd sub(openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub) throw sys_error("open " + rel);
      walk_tree(sub.get(), rel, options, fn);
    }
  }
}

}  // namespace

TreeState snapshot_tree(int root_fd, const DiffOptions& options) {
  TreeState state;
  walk_tree(root_fd, "", options, [&](int dir_fd, const std::string& name, const std::string& rel, const struct stat& st) {
    if (!S_ISSOCK(st.st_mode)) state.files.emplace(rel, state_of(dir_fd, name, st));
  });
  return state;
}

std::vector<TarEntry> walk_diff(const TreeState& before, int root_fd, int reference_fd, const DiffOptions& options) {
  std::vector<TarEntry> entries;
  std::map<uint64_t, std::vector<std::string>> groups;
  std::map<std::string, uint64_t> inode_of;
  std::map<std::string, bool> after_is_dir;
  walk_tree(root_fd, "", options, [&](int dir_fd, const std::string& name, const std::string& rel, const struct stat& st) {
    if (S_ISSOCK(st.st_mode)) return;
    after_is_dir[rel] = S_ISDIR(st.st_mode);
    FileState now = state_of(dir_fd, name, st);
    if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
      groups[st.st_ino].push_back(rel);
      inode_of[rel] = st.st_ino;
    }
    auto it = before.files.find(rel);
    bool changed = true;
    if (it != before.files.end() && same_metadata(now, it->second)) {
      changed = false;
      bool touched = now.ctime_ns != it->second.ctime_ns || now.ino != it->second.ino;
      if (touched && S_ISREG(st.st_mode)) {
        // Rewritten with the old size and mtime put back: only the bytes tell.
        changed = reference_fd < 0 || !same_content(dir_fd, name, reference_fd, rel);
      }
    }
    if (changed) entries.push_back(entry_from_file(root_fd, rel, rel, options.scan));
  });
  // Deletions: only the top-most deleted path; below a directory that became
  // a file or symlink, the new entry already hides everything.
  for (const auto& [rel, state] : before.files) {
    if (after_is_dir.count(rel)) continue;
    auto slash = rel.rfind('/');
    if (slash != std::string::npos) {
      auto parent = after_is_dir.find(rel.substr(0, slash));
      if (parent == after_is_dir.end() || !parent->second) continue;
    }
    TarEntry e;
    e.path = rel;
    e.kind = TarKind::kWhiteout;
    entries.push_back(std::move(e));
  }
  finish_entries(entries, groups, inode_of, root_fd, options.scan);
  return entries;
}

}  // namespace slipway

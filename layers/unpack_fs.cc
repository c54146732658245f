#include "layers/unpack_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/error.h"

namespace slipway::layers {
namespace {

// Deeper trees are refused rather than risk running out of fds while
// removing them (one fd per level).
constexpr int kMaxRemoveDepth = 512;

bool have_capability(unsigned cap) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
  if (::syscall(SYS_capget, &hdr, data) != 0) return false;
  return (data[cap / 32].effective & (1u << (cap % 32))) != 0;
}

// A path naming `name` in the directory `parent` that *xattr calls can use
// without following `name` (the l* variants) or that reaches an O_PATH fd's
// inode itself: /proc/self/fd is the only way to do either by fd.
std::string fd_path(int fd, const std::string& name = {}) {
  std::string p = "/proc/self/fd/" + std::to_string(fd);
  if (!name.empty()) p += "/" + name;
  return p;
}

std::string errno_text(int err) {
  char buf[128];
  return strerror_r(err, buf, sizeof buf);
}

struct stat stat_fd(int fd, const std::string& what) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw sys_error(what);
  return st;
}

std::vector<std::string> list_dir(int dirfd, const std::string& what) {
  int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw sys_error(what + ": opening directory");
  DIR* d = ::fdopendir(fd);
  if (!d) {
    int err = errno;
    ::close(fd);
    throw sys_error(what + ": opening directory", err);
  }
  std::vector<std::string> names;
  errno = 0;
  while (dirent* de = ::readdir(d)) {
    if (std::strcmp(de->d_name, ".") != 0 && std::strcmp(de->d_name, "..") != 0) names.emplace_back(de->d_name);
  }
  int err = errno;
  ::closedir(d);
  if (err) throw sys_error(what + ": reading directory", err);
  return names;
}

}  // namespace

Applier::Applier(int root_fd, const ApplyOptions& options, ApplyResult* result)
    : root_fd_(root_fd),
      options_(options),
      result_(result),
      resolver_(options.force_fallback_resolver ? Resolver::kFallback : Resolver::kAuto),
      chown_(options.ownership == Ownership::kChown ||
             (options.ownership == Ownership::kAuto && have_capability(CAP_CHOWN))),
      dac_override_(have_capability(CAP_DAC_OVERRIDE)) {
  result_->chowned = chown_;
}

void Applier::apply(const EntryInfo& e, const WriteData& write_data) {
  std::vector<std::string> comps = clean_components(e.name);
  std::string path = join_components(comps, comps.size());
  if (!comps.empty() && comps.back().starts_with(".wh.")) {
    whiteout(e, comps);
    return;
  }
  if (comps.empty()) {
    // "/", "." or "./": metadata for the root itself, which is never replaced.
    if (e.type != S_IFDIR || !e.hardlink.empty()) {
      throw Error("layer entry " + e.name + ": refusing to replace the root directory");
    }
    apply_dir(e, -1, "", comps);
    return;
  }
  const std::string& name = comps.back();
  UniqueFd parent = resolve_dir_create(
      root_fd_, comps, comps.size() - 1, resolver_, "layer entry " + e.name, [&](int dirfd, size_t n) {
        std::vector<std::string> created(comps.begin(), comps.begin() + static_cast<std::ptrdiff_t>(n));
        unlock_dir(dirfd, &created);
      });
  unlock_dir(parent.get(), &comps);
  if (!e.hardlink.empty()) {
    apply_hardlink(e, parent.get(), name);
  } else {
    switch (e.type) {
      case S_IFDIR:
        apply_dir(e, parent.get(), name, comps);
        break;
      case S_IFREG:
        apply_file(e, parent.get(), name, path, write_data);
        break;
      case S_IFLNK:
        apply_symlink(e, parent.get(), name, path);
        break;
      case S_IFIFO:
      case S_IFCHR:
      case S_IFBLK:
        apply_node(e, parent.get(), name, path);
        break;
      default:
        result_->skipped.push_back(path + ": unsupported entry type (not extracted)");
        return;
    }
  }
  mark_upper(parent.get(), name);
}

// Without CAP_DAC_OVERRIDE we cannot write into our own directories of mode 0555 (/proc,
// /sys, /var/empty in real images) the way root can; as umoci does, add
// u+rwx for the operation. `comps` (the directory's entry components,
// or null when it is about to be removed) lets finish() restore the mode.
void Applier::unlock_dir(int dirfd, const std::vector<std::string>* entry_comps) {
  if (dac_override_) return;
  struct stat st = stat_fd(dirfd, "directory");
  if (st.st_uid != ::geteuid() || (st.st_mode & 0700) == 0700) return;
  if (::chmod(fd_path(dirfd).c_str(), (st.st_mode & 07777) | 0700) != 0) return;  // the operation will report it
  if (!entry_comps) return;
  auto key = std::make_pair(st.st_dev, st.st_ino);
  if (deferred_.count(key)) return;  // this layer sets its mode anyway
  // The parent's own components: entry_comps names an entry inside it.
  std::vector<std::string> dir_comps(entry_comps->begin(), entry_comps->end() - 1);
  DeferredDir d{std::move(dir_comps), static_cast<mode_t>(st.st_mode & 07777), false, {}};
  deferred_.emplace(key, std::move(d));
}

void Applier::mark_upper(int parent, const std::string& name) {
  struct stat st = stat_fd(parent, name);
  upper_.emplace(st.st_dev, st.st_ino, name);
}

void Applier::whiteout(const EntryInfo& e, const std::vector<std::string>& comps) {
  ++result_->whiteouts;
  const std::string& last = comps.back();
  int err = 0;
  UniqueFd parent = resolve_dir(root_fd_, comps, comps.size() - 1, resolver_, &err);
  if (!parent) {
    // Nothing beneath a missing directory to delete.
    if (err == ENOENT || err == ENOTDIR) return;
    throw sys_error("layer entry " + e.name + ": whiteout parent", err);
  }
  unlock_dir(parent.get(), &comps);
  if (last == ".wh..wh..opq") {
    for (const std::string& child : list_dir(parent.get(), "layer entry " + e.name)) {
      remove_tree(parent.get(), child, /*spare_upper=*/true, 0);
    }
    return;
  }
  if (last.starts_with(".wh..wh.")) {
    // aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): meaningless here.
    result_->skipped.push_back(join_components(comps, comps.size()) + ": aufs metadata whiteout ignored");
    return;
  }
  std::string target = last.substr(4);
  if (target.empty() || target == "." || target == "..") {
    throw Error("layer entry " + e.name + ": invalid whiteout of \"" + target + "\"");
  }
  remove_tree(parent.get(), target, /*spare_upper=*/true, 0);
}

bool Applier::remove_tree(int parent, const std::string& name, bool spare_upper, int depth) {
  if (depth > kMaxRemoveDepth) throw Error("removing " + name + ": directory tree too deep");
  struct stat st {};
  if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return true;
    throw sys_error("removing " + name);
  }
  bool is_upper = false;
  if (spare_upper) {
    struct stat pst = stat_fd(parent, name);
    is_upper = upper_.count(NameKey(pst.st_dev, pst.st_ino, name)) > 0;
  }
  if (!S_ISDIR(st.st_mode)) {
    if (is_upper) return false;
    if (::unlinkat(parent, name.c_str(), 0) != 0 && errno != ENOENT) throw sys_error("removing " + name);
    return true;
  }
  UniqueFd dir(::openat(parent, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir) throw sys_error("removing " + name);
  unlock_dir(dir.get(), nullptr);
  bool all_gone = true;
  for (const std::string& child : list_dir(dir.get(), "removing " + name)) {
    all_gone &= remove_tree(dir.get(), child, spare_upper, depth + 1);
  }
  if (is_upper || !all_gone) return false;
  if (::unlinkat(parent, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) throw sys_error("removing " + name);
  return true;
}

// Makes parent/name free for a new inode: the old one is unlinked (a
// directory recursively, via fds), never opened or written through.
void Applier::make_room(int parent, const std::string& name, const std::string& what) {
  struct stat st {};
  if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return;
    throw sys_error(what);
  }
  if (S_ISDIR(st.st_mode)) {
    remove_tree(parent, name, /*spare_upper=*/false, 0);
  } else if (::unlinkat(parent, name.c_str(), 0) != 0) {
    throw sys_error(what + ": replacing the existing file");
  }
}

void Applier::set_owner(int fd, int parent, const std::string& name, const EntryInfo& e, const std::string& path) {
  if (chown_) {
    int rc = fd >= 0 ? ::fchown(fd, e.uid, e.gid) : ::fchownat(parent, name.c_str(), e.uid, e.gid, AT_SYMLINK_NOFOLLOW);
    if (rc == 0) return;
    // EPERM: no CAP_CHOWN here; EINVAL: the id is not mapped in our user namespace.
    if (errno != EPERM && errno != EINVAL) throw sys_error("layer entry " + e.name + ": chown");
  }
  std::string proc = fd >= 0 ? fd_path(fd) : fd_path(parent, name);
  if (e.uid == 0 && e.gid == 0) {
    // A directory kept from a lower layer may carry a stale record.
    ::lremovexattr(proc.c_str(), kRootlessXattr);
    return;
  }
  std::string value = encode_rootless_owner(e.uid, e.gid);
  int rc = fd >= 0 ? ::fsetxattr(fd, kRootlessXattr, value.data(), value.size(), 0)
                   : ::lsetxattr(proc.c_str(), kRootlessXattr, value.data(), value.size(), 0);
  // Symlinks cannot carry user.* xattrs (EPERM), nor can some filesystems.
  if (rc != 0) result_->unrecorded_owners.push_back(OwnerRecord{path, e.uid, e.gid});
}

void Applier::set_xattrs(int fd, int parent, const std::string& name, const EntryInfo& e) {
  std::string path = join_components(clean_components(e.name), clean_components(e.name).size());
  for (const auto& [key, value] : e.xattrs) {
    if (key == kRootlessXattr) {
      // Our own bookkeeping: a layer must not forge recorded owners.
      result_->skipped.push_back(path + ": xattr " + key + " in layer ignored");
      continue;
    }
    if (key.starts_with("trusted.overlay.") || key.starts_with("user.overlay.")) {
      // overlayfs reads these (redirect, origin, metacopy, opaque) when this
      // root later serves as a lower dir: a layer must not steer it.
      result_->skipped.push_back(path + ": xattr " + key + " is reserved for overlayfs (ignored)");
      continue;
    }
    int rc = fd >= 0 ? ::fsetxattr(fd, key.c_str(), value.data(), value.size(), 0)
                     : ::lsetxattr(fd_path(parent, name).c_str(), key.c_str(), value.data(), value.size(), 0);
    if (rc != 0) result_->skipped.push_back(path + ": xattr " + key + " not set: " + errno_text(errno));
  }
}

static void entry_times(const EntryInfo& e, struct timespec times[2]) {
  if (!e.has_mtime) {
    times[0].tv_nsec = times[1].tv_nsec = UTIME_OMIT;
    return;
  }
  times[1] = e.mtime;
  times[0] = e.has_atime ? e.atime : e.mtime;
}

void Applier::apply_dir(const EntryInfo& e, int parent, const std::string& name,
                        const std::vector<std::string>& comps) {
  UniqueFd fd;
  if (parent < 0) {
    fd.reset(::openat(root_fd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  } else {
    struct stat st {};
    bool keep = ::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
    if (!keep) {
      make_room(parent, name, "layer entry " + e.name);
      // Private until finish() applies the real mode.
      if (::mkdirat(parent, name.c_str(), 0700) != 0) throw sys_error("layer entry " + e.name + ": mkdir");
    }
    fd.reset(::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  }
  if (!fd) throw sys_error("layer entry " + e.name + ": opening directory");
  std::string path = join_components(comps, comps.size());
  set_owner(fd.get(), -1, "", e, path);
  set_xattrs(fd.get(), -1, "", e);
  struct stat st = stat_fd(fd.get(), e.name);
  DeferredDir d{comps, static_cast<mode_t>(e.mode & 07777), e.has_mtime, {}};
  entry_times(e, d.times);
  deferred_[{st.st_dev, st.st_ino}] = std::move(d);
}

void Applier::apply_file(const EntryInfo& e, int parent, const std::string& name, const std::string& path,
                         const WriteData& write_data) {
  make_room(parent, name, "layer entry " + e.name);
  UniqueFd fd(::openat(parent, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) throw sys_error("layer entry " + e.name + ": create");
  write_data(fd.get());
  // Owner first: chown clears setuid/setgid, and a write or chown clears
  // security.capability, so mode and xattrs come after both.
  set_owner(fd.get(), -1, "", e, path);
  if (::fchmod(fd.get(), e.mode & 07777) != 0) throw sys_error("layer entry " + e.name + ": chmod");
  set_xattrs(fd.get(), -1, "", e);
  struct timespec times[2];
  entry_times(e, times);
  if (::futimens(fd.get(), times) != 0) throw sys_error("layer entry " + e.name + ": set times");
}

void Applier::apply_symlink(const EntryInfo& e, int parent, const std::string& name, const std::string& path) {
  make_room(parent, name, "layer entry " + e.name);
  if (::symlinkat(e.symlink.c_str(), parent, name.c_str()) != 0) throw sys_error("layer entry " + e.name + ": symlink");
  set_owner(-1, parent, name, e, path);
  set_xattrs(-1, parent, name, e);
  struct timespec times[2];
  entry_times(e, times);
  if (::utimensat(parent, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    throw sys_error("layer entry " + e.name + ": set times");
  }
}

void Applier::apply_node(const EntryInfo& e, int parent, const std::string& name, const std::string& path) {
  make_room(parent, name, "layer entry " + e.name);
  if (::mknodat(parent, name.c_str(), e.type | 0600, e.type == S_IFIFO ? 0 : e.rdev) != 0) {
    if (errno != EPERM && errno != EACCES) throw sys_error("layer entry " + e.name + ": mknod");
    result_->skipped.push_back(path + (e.type == S_IFIFO ? ": fifo" : ": device node") +
                               " not permitted here (not extracted)");
    return;
  }
  set_owner(-1, parent, name, e, path);
  // glibc implements AT_SYMLINK_NOFOLLOW through an O_PATH fd, so this
  // cannot reach through a symlink even if one appeared meanwhile.
  if (::fchmodat(parent, name.c_str(), e.mode & 07777, AT_SYMLINK_NOFOLLOW) != 0) {
    throw sys_error("layer entry " + e.name + ": chmod");
  }
  set_xattrs(-1, parent, name, e);
  struct timespec times[2];
  entry_times(e, times);
  if (::utimensat(parent, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    throw sys_error("layer entry " + e.name + ": set times");
  }
}

void Applier::apply_hardlink(const EntryInfo& e, int parent, const std::string& name) {
  std::vector<std::string> target = clean_components(e.hardlink);
  if (target.empty()) throw Error("layer entry " + e.name + ": hardlink to the root directory");
  int err = 0;
  UniqueFd tparent = resolve_dir(root_fd_, target, target.size() - 1, resolver_, &err);
  if (!tparent) throw sys_error("layer entry " + e.name + ": hardlink target " + e.hardlink, err);
  struct stat tst {};
  if (::fstatat(tparent.get(), target.back().c_str(), &tst, AT_SYMLINK_NOFOLLOW) != 0) {
    throw sys_error("layer entry " + e.name + ": hardlink target " + e.hardlink);
  }
  if (S_ISDIR(tst.st_mode)) throw Error("layer entry " + e.name + ": hardlink to a directory " + e.hardlink);
  struct stat st {};
  if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == tst.st_dev &&
      st.st_ino == tst.st_ino) {
    return;  // already that inode
  }
  make_room(parent, name, "layer entry " + e.name);
  // Flags 0: a symlink target is linked itself, never followed.
  if (::linkat(tparent.get(), target.back().c_str(), parent, name.c_str(), 0) != 0) {
    throw sys_error("layer entry " + e.name + ": hardlink to " + e.hardlink);
  }
}

void Applier::finish() {
  // Deepest first, so a parent made read-only does not block its children.
  std::vector<std::pair<std::pair<dev_t, ino_t>, DeferredDir*>> dirs;
  for (auto& [key, d] : deferred_) dirs.emplace_back(key, &d);
  std::stable_sort(dirs.begin(), dirs.end(),
                   [](const auto& a, const auto& b) { return a.second->comps.size() > b.second->comps.size(); });
  for (auto& [key, d] : dirs) {
    int err = 0;
    UniqueFd fd = resolve_dir(root_fd_, d->comps, d->comps.size(), resolver_, &err);
    if (!fd) continue;  // replaced or removed by a later entry
    struct stat st = stat_fd(fd.get(), join_components(d->comps, d->comps.size()));
    if (st.st_dev != key.first || st.st_ino != key.second) continue;
    // By O_PATH fd through /proc: works even on a directory we cannot open.
    std::string proc = fd_path(fd.get());
    std::string what = join_components(d->comps, d->comps.size());
    if (::chmod(proc.c_str(), d->mode) != 0) throw sys_error("directory " + what + ": chmod");
    if (d->has_times && ::utimensat(AT_FDCWD, proc.c_str(), d->times, 0) != 0) {
      throw sys_error("directory " + what + ": set times");
    }
  }
  deferred_.clear();
}

}  // namespace slipway::layers

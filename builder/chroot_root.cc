#include "builder/chroot_root.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>
#include <mutex>

#include "builder/tree_copy.h"
#include "common/error.h"
#include "common/temp_dir.h"
#include "layers/safe_path.h"

namespace slipway::sandbox {

namespace {

std::mutex g_warned_mu;
std::set<std::string> g_warned;

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

std::string real_path_of(int fd) {
  char buf[4096];
  ssize_t n = readlink(fd_path(fd).c_str(), buf, sizeof buf - 1);
  if (n <= 0) throw sys_error("resolving a dir in the build root");
  return std::string(buf, static_cast<size_t>(n));
}

void copy_file_to(int src, int dst, const std::string& what) {
  char buf[65536];
  for (;;) {
    ssize_t n = read(src, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw sys_error("read " + what);
    if (n == 0) return;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(dst, buf + off, static_cast<size_t>(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) throw sys_error("write " + what);
      off += w;
    }
  }
}

}  // namespace

ChrootRoot::ChrootRoot(const std::string& root, const RunSpec& spec, const std::string& scratch) {
  root_.reset(open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root_) throw sys_error("open " + root);
  TempDir dir(scratch, "chroot-aside-");
  scratch_path_ = dir.release();
  scratch_.reset(open(scratch_path_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!scratch_) throw sys_error("open " + scratch_path_);
  try {
    setup(spec);
  } catch (...) {
    try {
      restore();
    } catch (...) {
    }
    throw;
  }
}

ChrootRoot::~ChrootRoot() {
  try {
    restore();
  } catch (...) {
    // A destructor runs on the error path; the first error is the one to see.
  }
}

std::vector<std::string> ChrootRoot::take_warnings() {
  std::lock_guard<std::mutex> lock(g_warned_mu);
  std::vector<std::string> out;
  for (const auto& w : warnings_) {
    if (g_warned.insert(w).second) out.push_back(w);
  }
  warnings_.clear();
  return out;
}

std::string ChrootRoot::path_of(int dir_fd, const std::string& name) const { return fd_path(dir_fd) + "/" + name; }

void ChrootRoot::remember_times(int dir_fd) {
  struct stat st {};
  if (fstat(dir_fd, &st) != 0) throw sys_error("stat a dir in the build root");
  for (const auto& t : times_) {
    if (t.dev == st.st_dev && t.ino == st.st_ino) return;
  }
  Times t;
  t.dir.reset(openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!t.dir) throw sys_error("open a dir in the build root");
  t.dev = st.st_dev;
  t.ino = st.st_ino;
  t.atime = st.st_atim;
  t.mtime = st.st_mtim;
  times_.push_back(std::move(t));
}

UniqueFd ChrootRoot::parent_of(const std::string& target, std::string* name) {
  auto comps = layers::clean_components(target);
  if (comps.empty()) throw Error("cannot mount over the root of the image");
  *name = comps.back();
  for (size_t k = 1; k < comps.size(); ++k) {
    int err = 0;
    UniqueFd have = layers::resolve_dir(root_.get(), comps, k, layers::Resolver::kAuto, &err);
    if (have) continue;
    if (err != ENOENT) return UniqueFd();
    UniqueFd up = layers::resolve_dir(root_.get(), comps, k - 1, layers::Resolver::kAuto, &err);
    if (!up) return UniqueFd();
    remember_times(up.get());
    if (mkdirat(up.get(), comps[k - 1].c_str(), 0755) != 0) throw sys_error("create /" + layers::join_components(comps, k));
    created_.push_back({std::move(up), comps[k - 1]});
  }
  int err = 0;
  return layers::resolve_dir(root_.get(), comps, comps.size() - 1, layers::Resolver::kAuto, &err);
}

ChrootRoot::Swap& ChrootRoot::swap_out(UniqueFd parent, const std::string& name, const std::string& target) {
  remember_times(parent.get());
  // The differ sees real paths: a target reached through a symlink
  // (/var/run -> /run) is excluded where it really is.
  std::string root_real = real_path_of(root_.get()), dir_real = real_path_of(parent.get());
  std::string rel = dir_real.size() > root_real.size() ? dir_real.substr(root_real.size() + 1) + "/" + name : name;
  exclude_.insert(rel);
  std::string saved;
  struct stat st {};
  if (fstatat(parent.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    saved = "s" + std::to_string(next_saved_++);
    if (renameat(parent.get(), name.c_str(), scratch_.get(), saved.c_str()) != 0) {
      throw sys_error("moving the image's " + target + " aside");
    }
  }
  swaps_.push_back({std::move(parent), name, saved, "", false});
  return swaps_.back();
}

void ChrootRoot::make_dev(const std::string& target) {
  std::string name;
  UniqueFd parent = parent_of(target, &name);
  if (!parent) throw Error("cannot set up " + target + " in the image: a path component is not a directory");
  Swap& s = swap_out(std::move(parent), name, target);
  if (mkdirat(s.parent.get(), name.c_str(), 0755) != 0) throw sys_error("mkdir " + target);
  UniqueFd dev(openat(s.parent.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dev) throw sys_error("open " + target);
  fchmodat(s.parent.get(), name.c_str(), 0755, 0);
  struct Node {
    const char* name;
    unsigned major, minor;
  };
  static const Node nodes[] = {{"null", 1, 3}, {"zero", 1, 5},    {"full", 1, 7},
                               {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
  std::string missing, unusable;
  int missing_err = 0;
  for (const auto& n : nodes) {
    if (mknodat(dev.get(), n.name, S_IFCHR | 0666, makedev(n.major, n.minor)) != 0) {
      missing_err = errno;
      missing += std::string(missing.empty() ? "" : ", ") + "/dev/" + n.name;
      continue;
    }
    fchmodat(dev.get(), n.name, 0666, 0);  // the umask must not narrow it
  }
  if (!missing.empty()) {
    warnings_.push_back("RUN steps have no " + missing + ": mknod fails (" + strerror(missing_err) +
                        "); give the container CAP_MKNOD (Docker's default set has it)");
  } else {
    UniqueFd null_fd(openat(dev.get(), "null", O_WRONLY | O_CLOEXEC));
    if (!null_fd) {
      unusable = strerror(errno);
      warnings_.push_back("device nodes cannot be opened in the state dir (" + unusable +
                          "; is it on a file system mounted nodev?): RUN steps have no working /dev/null");
    }
  }
  for (const char* d : {"shm", "pts", "mqueue"}) {
    if (mkdirat(dev.get(), d, 0755) != 0) throw sys_error("mkdir /dev/" + std::string(d));
  }
  fchmodat(dev.get(), "shm", 01777, 0);
  const std::pair<const char*, const char*> links[] = {{"/proc/self/fd", "fd"},
                                                       {"/proc/self/fd/0", "stdin"},
                                                       {"/proc/self/fd/1", "stdout"},
                                                       {"/proc/self/fd/2", "stderr"}};
  for (const auto& [to, link] : links) {
    if (symlinkat(to, dev.get(), link) != 0) throw sys_error(std::string("symlink /dev/") + link);
  }
}

void ChrootRoot::make_proc(bool may_mount) {
  std::string name;
  UniqueFd parent = parent_of("/proc", &name);
  if (!parent) throw Error("cannot set up /proc in the image: not a directory");
  Swap& s = swap_out(std::move(parent), name, "/proc");
  if (mkdirat(s.parent.get(), name.c_str(), 0555) != 0) throw sys_error("mkdir /proc");
  // Only real root on a host gets here with mount working; a pod refuses it.
  std::string at = path_of(s.parent.get(), name);
  if (!may_mount) {
    warnings_.push_back("RUN steps see an empty /proc: slipway has no private mount namespace to mount it in "
                        "(it runs chrooted, or unshare is refused); see docs/isolation.md");
  } else if (mount("proc", at.c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) == 0) {
    s.mounted = true;
    proc_mounted_ = true;
  } else {
    warnings_.push_back(std::string("RUN steps see an empty /proc: proc cannot be mounted here (") + strerror(errno) +
                        "); see docs/isolation.md");
  }
}

void ChrootRoot::bind_file(const BindMount& b) {
  UniqueFd src(open(b.source.c_str(), O_RDONLY | O_CLOEXEC));
  if (!src) throw sys_error("open " + b.source);
  struct stat st {};
  if (fstat(src.get(), &st) != 0) throw sys_error("stat " + b.source);
  if (b.expect_ino && (st.st_dev != b.expect_dev || st.st_ino != b.expect_ino)) {
    throw Error("bind source " + b.source + " changed while it was being copied");
  }
  std::string name;
  UniqueFd parent = parent_of(b.target, &name);
  if (!parent) throw Error("mount target " + b.target + ": a path component is not a directory");
  Swap& s = swap_out(std::move(parent), name, b.target);
  UniqueFd dst(openat(s.parent.get(), name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!dst) throw sys_error("create " + b.target);
  copy_file_to(src.get(), dst.get(), b.target);
  (void)!fchown(dst.get(), st.st_uid, st.st_gid);
  if (fchmod(dst.get(), st.st_mode & 07777) != 0) throw sys_error("chmod " + b.target);
}

void ChrootRoot::bind_dir(const BindMount& b) {
  std::string name;
  UniqueFd parent = parent_of(b.target, &name);
  if (!parent) throw Error("mount target " + b.target + ": a path component is not a directory");
  Swap& s = swap_out(std::move(parent), name, b.target);
  if (b.persistent) {
    // A cache lives on between builds: the step works on the dir itself.
    if (renameat(AT_FDCWD, b.source.c_str(), s.parent.get(), name.c_str()) != 0) {
      throw sys_error("moving cache " + b.source + " into the build root (the state dir must be one file system)");
    }
    s.move_back = b.source;
    return;
  }
  struct stat st {};
  if (stat(b.source.c_str(), &st) != 0) throw sys_error("stat " + b.source);
  if (b.expect_ino && (st.st_dev != b.expect_dev || st.st_ino != b.expect_ino)) {
    throw Error("bind source " + b.source + " changed while it was being copied");
  }
  if (mkdirat(s.parent.get(), name.c_str(), 0755) != 0) throw sys_error("mkdir " + b.target);
  // A bind mount's writes never reach the source; the copy is dropped after.
  build::copy_tree(b.source, path_of(s.parent.get(), name));
}

void ChrootRoot::empty_dir(const std::string& target, mode_t mode) {
  std::string name;
  UniqueFd parent = parent_of(target, &name);
  if (!parent) throw Error("mount target " + target + ": a path component is not a directory");
  Swap& s = swap_out(std::move(parent), name, target);
  if (mkdirat(s.parent.get(), name.c_str(), 0755) != 0) throw sys_error("mkdir " + target);
  fchmodat(s.parent.get(), name.c_str(), mode, 0);
}

void ChrootRoot::ensure_tmp() {
  struct stat st {};
  if (fstatat(root_.get(), "tmp", &st, AT_SYMLINK_NOFOLLOW) == 0) return;
  // Not a swap: what a step leaves in /tmp is part of its layer, as in
  // Docker. An empty /tmp we made goes again after the step.
  remember_times(root_.get());
  if (mkdirat(root_.get(), "tmp", 0755) != 0) throw sys_error("mkdir /tmp");
  fchmodat(root_.get(), "tmp", 01777, 0);
  UniqueFd self(openat(root_.get(), ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  created_.push_back({std::move(self), "tmp"});
}

void ChrootRoot::setup(const RunSpec& spec) {
  remember_times(root_.get());
  make_dev("/dev");
  make_proc(spec.may_mount);
  ensure_tmp();
  for (const auto& b : spec.binds) {
    if (b.is_file) bind_file(b);
    else bind_dir(b);
  }
  for (const auto& t : spec.tmpfs) empty_dir(t.target, 01777);
  if (spec.network_none) {
    warnings_.push_back("RUN --network=none cannot be honoured with --isolation chroot: the step shares the pod's network");
  }
  for (auto& t : times_) {
    struct stat st {};
    if (fstat(t.dir.get(), &st) == 0) t.dressed_mtime = st.st_mtim;
  }
}

void ChrootRoot::restore() {
  if (restored_) return;
  restored_ = true;
  std::string first_error;
  auto note = [&](const std::string& what) {
    if (first_error.empty()) first_error = what + ": " + strerror(errno);
  };
  // A dir the step changed keeps the mtime the step gave it; one that only
  // we touched gets its own back, so the next snapshot sees it unchanged.
  std::vector<struct timespec> now;
  for (const auto& t : times_) {
    struct stat st {};
    fstat(t.dir.get(), &st);
    bool untouched = st.st_mtim.tv_sec == t.dressed_mtime.tv_sec && st.st_mtim.tv_nsec == t.dressed_mtime.tv_nsec;
    now.push_back(untouched ? t.mtime : st.st_mtim);
  }
  for (auto it = swaps_.rbegin(); it != swaps_.rend(); ++it) {
    std::string ours = path_of(it->parent.get(), it->name);
    if (it->mounted && umount2(ours.c_str(), MNT_DETACH) != 0) note("unmount " + it->name);
    if (!it->move_back.empty() && renameat(it->parent.get(), it->name.c_str(), AT_FDCWD, it->move_back.c_str()) != 0) {
      // The step removed the cache (or its parent): it starts empty again.
      if (errno != ENOENT) note("moving cache " + it->move_back + " back");
      mkdir(it->move_back.c_str(), 0755);
    }
    try {
      remove_tree(ours);
    } catch (const Error& e) {
      if (first_error.empty()) first_error = e.what();
    }
    // ENOENT: the step removed the parent dir itself (rm -rf /etc), so the
    // image's entry goes with it, as the differ already recorded.
    if (!it->saved.empty() && renameat(scratch_.get(), it->saved.c_str(), it->parent.get(), it->name.c_str()) != 0 &&
        errno != ENOENT) {
      note("putting the image's " + it->name + " back");
    }
  }
  for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
    if (unlinkat(it->parent.get(), it->name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOTEMPTY && errno != EEXIST &&
        errno != ENOENT) {
      note("removing " + it->name);
    }
  }
  for (size_t i = 0; i < times_.size(); ++i) {
    struct timespec ts[2] = {times_[i].atime, now[i]};
    futimens(times_[i].dir.get(), ts);
  }
  swaps_.clear();
  created_.clear();
  times_.clear();
  if (first_error.empty()) {
    try {
      remove_tree(scratch_path_);
    } catch (const Error&) {
    }
  }
  if (!first_error.empty()) {
    throw Error("restoring the build root after a chrooted RUN: " + first_error + " (the image's entries are in " +
                scratch_path_ + ")");
  }
}

}  // namespace slipway::sandbox

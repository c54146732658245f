#include "builder/chown_supervisor.h"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "common/error.h"
#include "layers/unpack.h"

namespace slipway::sandbox {

namespace {

constexpr uint32_t kUnchanged = 0xFFFFFFFFu;

// One chown-family call, decoded from the notification.
struct ChownCall {
  bool by_fd = false;      // fchown: `fd` is the target
  int fd = AT_FDCWD;       // fchown's fd, or the *at call's dirfd
  uint64_t path_addr = 0;  // in the target's memory
  bool nofollow = false;   // lchown, AT_SYMLINK_NOFOLLOW
  bool empty_path = false; // AT_EMPTY_PATH
  uint32_t uid = kUnchanged, gid = kUnchanged;
};

std::optional<ChownCall> decode(const seccomp_notif& req) {
  char* raw = seccomp_syscall_resolve_num_arch(req.data.arch, req.data.nr);
  if (!raw) return std::nullopt;
  std::string name(raw);
  free(raw);
  const auto* a = req.data.args;
  auto u32 = [](uint64_t v) { return static_cast<uint32_t>(v); };
  ChownCall c;
  if (name == "fchownat") {
    c.fd = static_cast<int>(u32(a[0]));
    c.path_addr = a[1];
    c.uid = u32(a[2]);
    c.gid = u32(a[3]);
    c.nofollow = (a[4] & AT_SYMLINK_NOFOLLOW) != 0;
    c.empty_path = (a[4] & AT_EMPTY_PATH) != 0;
    return c;
  }
  if (name == "fchown" || name == "fchown32") {
    c.by_fd = true;
    c.fd = static_cast<int>(u32(a[0]));
  } else if (name == "chown" || name == "chown32" || name == "lchown" || name == "lchown32") {
    c.path_addr = a[0];
    c.nofollow = name.starts_with("lchown");
  } else {
    return std::nullopt;
  }
  c.uid = u32(a[1]);
  c.gid = u32(a[2]);
  // i386 and 32-bit ARM keep the old 16-bit calls under the plain names.
  bool legacy16 = (req.data.arch == SCMP_ARCH_X86 || req.data.arch == SCMP_ARCH_ARM) && !name.ends_with("32");
  if (legacy16) {
    c.uid = (c.uid & 0xFFFF) == 0xFFFF ? kUnchanged : (c.uid & 0xFFFF);
    c.gid = (c.gid & 0xFFFF) == 0xFFFF ? kUnchanged : (c.gid & 0xFFFF);
  }
  return c;
}

// Reads a NUL-terminated path from the target, never across a 4 KiB
// boundary in one read, so an unmapped page after the string is harmless.
int read_path(pid_t pid, uint64_t addr, std::string* out) {
  out->clear();
  char buf[4096];
  while (out->size() < PATH_MAX) {
    size_t chunk = 4096 - (addr % 4096);
    iovec local{buf, chunk};
    iovec remote{reinterpret_cast<void*>(addr), chunk};
    ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (n <= 0) return EFAULT;
    if (auto* nul = static_cast<char*>(memchr(buf, 0, static_cast<size_t>(n)))) {
      out->append(buf, static_cast<size_t>(nul - buf));
      return 0;
    }
    out->append(buf, static_cast<size_t>(n));
    addr += static_cast<uint64_t>(n);
  }
  return ENAMETOOLONG;
}

// Resolves paths as the target does: its root becomes ours (when it differs)
// and its cwd or dirfd is the starting point of a relative path.
int enter_root(int root_fd) {
  struct stat mine {}, theirs {};
  if (stat("/", &mine) == 0 && fstat(root_fd, &theirs) == 0 && mine.st_dev == theirs.st_dev &&
      mine.st_ino == theirs.st_ino) {
    return 0;
  }
  if (fchdir(root_fd) != 0 || chroot(".") != 0) return errno;
  return 0;
}

std::string self_fd(int fd) { return "self/fd/" + std::to_string(fd); }

}  // namespace

ChownSupervisor::ChownSupervisor(int listener, int proc_fd) : listener_(listener), proc_fd_(proc_fd) {}

bool ChownSupervisor::serve_one() {
  seccomp_notif* req = nullptr;
  seccomp_notif_resp* resp = nullptr;
  if (seccomp_notify_alloc(&req, &resp) != 0) return false;
  struct Free {
    seccomp_notif* q;
    seccomp_notif_resp* p;
    ~Free() { seccomp_notify_free(q, p); }
  } free_on_exit{req, resp};
  int rc = seccomp_notify_receive(listener_.get(), req);
  if (rc == -ENOENT || rc == -EINTR) return true;  // the target died or was interrupted meanwhile
  if (rc != 0) return false;
  resp->id = req->id;
  resp->flags = 0;
  resp->val = 0;
  resp->error = 0;

  auto fail = [&](int err) { resp->error = -err; };
  auto call = decode(*req);
  std::string pid = std::to_string(req->pid);
  std::string path;
  UniqueFd root, base, target;
  if (!call) {
    fail(ENOSYS);
  } else if (!call->by_fd && (rc = read_path(static_cast<pid_t>(req->pid), call->path_addr, &path)) != 0) {
    fail(rc);
  } else {
    root.reset(openat(proc_fd_, (pid + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    bool cwd_base = !call->by_fd && call->fd == AT_FDCWD;
    std::string base_link = cwd_base ? pid + "/cwd" : pid + "/fd/" + std::to_string(call->fd);
    base.reset(openat(proc_fd_, base_link.c_str(), O_PATH | O_CLOEXEC));
    if (!root) fail(ESRCH);
    else if (!base) fail(cwd_base ? ENOENT : EBADF);
  }
  // Everything read from the target (its memory, its fds) is only trusted
  // if the notification is still pending: else the PID may be reused.
  if (seccomp_notify_id_valid(listener_.get(), req->id) != 0) return true;

  if (resp->error == 0) {
    // Our root becomes the target's even for fchown: the side table is keyed
    // by in-root path, which readlink gives relative to our root.
    if (int err = enter_root(root.get()); err != 0) {
      fail(err);
    } else if (call->by_fd || (call->empty_path && path.empty())) {
      target = std::move(base);
    } else if (path.empty()) {
      fail(ENOENT);
    } else {
      target.reset(openat(base.get(), path.c_str(), O_PATH | O_CLOEXEC | (call->nofollow ? O_NOFOLLOW : 0)));
      if (!target) fail(errno);
    }
  }
  struct stat st {};
  if (resp->error == 0 && fstat(target.get(), &st) != 0) fail(errno);
  if (resp->error == 0) {
    bool xattr_ok = S_ISREG(st.st_mode) || S_ISDIR(st.st_mode);
    UniqueFd file;
    if (xattr_ok) {
      file.reset(openat(proc_fd_, self_fd(target.get()).c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
      if (!file) fail(errno);
    }
    std::pair<uint32_t, uint32_t> owner{st.st_uid, st.st_gid};
    if (file) {
      try {
        if (auto recorded = layers::read_rootless_owner(file.get())) owner = *recorded;
      } catch (const Error&) {
        // A malformed record is replaced.
      }
    }
    if (resp->error == 0) {
      if (call->uid != kUnchanged) owner.first = call->uid;
      if (call->gid != kUnchanged) owner.second = call->gid;
      int err = 0;
      if (file) {
        std::string v = layers::encode_rootless_owner(owner.first, owner.second);
        if (owner == std::pair<uint32_t, uint32_t>{0, 0}) {
          if (fremovexattr(file.get(), layers::kRootlessXattr) != 0 && errno != ENODATA) err = errno;
        } else if (fsetxattr(file.get(), layers::kRootlessXattr, v.data(), v.size(), 0) != 0) {
          err = errno;
        }
        if (err == ENOTSUP) xattr_ok = false;  // a file system without user xattrs: keep it on the side
        else if (err != 0) fail(err);
        // As the kernel does on chown: drop setuid, setgid-with-group-exec
        // and file capabilities of a non-directory.
        if (resp->error == 0 && S_ISREG(st.st_mode)) {
          mode_t kill = S_ISUID | ((st.st_mode & S_IXGRP) ? S_ISGID : 0);
          if (st.st_mode & kill) fchmod(file.get(), st.st_mode & 07777 & ~kill);
          fremovexattr(file.get(), "security.capability");
        }
      }
      if (resp->error == 0 && !xattr_ok) {
        char buf[PATH_MAX];
        ssize_t n = readlinkat(proc_fd_, self_fd(target.get()).c_str(), buf, sizeof buf);
        std::string in_root = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
        // A no-op chown copies the inode up into the step's upper dir, so
        // the layer has an entry to carry the owner.
        // (By path: fchownat(fd, "", AT_EMPTY_PATH) on the O_PATH fd fails
        // with EINVAL here. We share the step's root, so the path is its.)
        const auto keep_uid = static_cast<uid_t>(-1);
        const auto keep_gid = static_cast<gid_t>(-1);
        int crc = in_root.starts_with("/") ? lchown(in_root.c_str(), keep_uid, keep_gid) : 0;
        if (crc != 0 && errno == EROFS) {
          fail(EROFS);
        } else if (in_root.starts_with("/")) {
          side_[in_root] = owner;
        }
      }
    }
  }
  if (seccomp_notify_respond(listener_.get(), resp) != 0) {
    // ENOENT: the target died meanwhile; nothing to answer.
  }
  return true;
}

int open_own_proc(std::string* why) {
  char buf[32];
  ssize_t n = readlink("/proc/self", buf, sizeof buf - 1);
  if (n > 0 && std::string(buf, static_cast<size_t>(n)) == std::to_string(getpid())) {
    int fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) *why = std::string("open /proc: ") + strerror(errno);
    return fd;
  }
  if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    *why = std::string("mount proc: ") + strerror(errno);
    return -1;
  }
  int fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) *why = std::string("open /proc: ") + strerror(errno);
  return fd;
}

}  // namespace slipway::sandbox

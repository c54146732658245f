#include "layers/safe_path.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <deque>

#include "common/error.h"

namespace slipway::layers {
namespace {

// The kernel's own limit on symlinks followed in one lookup (MAXSYMLINKS).
constexpr int kMaxSymlinks = 40;

void split_into(std::string_view path, std::deque<std::string>* out, bool front) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > start) parts.emplace_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  if (front) {
    out->insert(out->begin(), parts.begin(), parts.end());
  } else {
    out->insert(out->end(), parts.begin(), parts.end());
  }
}

UniqueFd reopen_root(int root_fd, int* err) {
  int fd = ::openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) *err = errno;
  return UniqueFd(fd);
}

// RESOLVE_IN_ROOT done by hand: a stack of O_PATH fds, one per directory
// walked, so ".." pops (and cannot pop past the root) and an absolute symlink
// restarts at the root. Every step opens exactly one component with
// O_NOFOLLOW, so nothing is followed that we did not read ourselves.
UniqueFd fallback_resolve(int root_fd, const std::vector<std::string>& comps, size_t count, int* err) {
  std::deque<std::string> todo(comps.begin(), comps.begin() + static_cast<std::ptrdiff_t>(count));
  std::vector<UniqueFd> stack;
  int links = 0;
  while (!todo.empty()) {
    std::string c = std::move(todo.front());
    todo.pop_front();
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (!stack.empty()) stack.pop_back();
      continue;
    }
    int dir = stack.empty() ? root_fd : stack.back().get();
    UniqueFd next(::openat(dir, c.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!next) {
      *err = errno;
      return {};
    }
    struct stat st {};
    if (::fstat(next.get(), &st) != 0) {
      *err = errno;
      return {};
    }
    if (S_ISLNK(st.st_mode)) {
      if (++links > kMaxSymlinks) {
        *err = ELOOP;
        return {};
      }
      char buf[4096];
      ssize_t n = ::readlinkat(next.get(), "", buf, sizeof buf);
      if (n < 0) {
        *err = errno;
        return {};
      }
      if (n == 0 || static_cast<size_t>(n) >= sizeof buf) {
        *err = n == 0 ? ENOENT : ENAMETOOLONG;
        return {};
      }
      std::string_view target(buf, static_cast<size_t>(n));
      if (target.front() == '/') stack.clear();
      split_into(target, &todo, /*front=*/true);
      continue;
    }
    if (!S_ISDIR(st.st_mode)) {
      *err = ENOTDIR;
      return {};
    }
    stack.push_back(std::move(next));
  }
  if (stack.empty()) return reopen_root(root_fd, err);
  return std::move(stack.back());
}

// Returns true and sets *out/*err when openat2 gave an answer; false when it
// is unusable here and the caller must fall back.
bool try_openat2(int root_fd, const std::string& path, UniqueFd* out, int* err) {
  struct open_how how {};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  // EAGAIN means a concurrent rename raced the lookup; the kernel asks us to retry.
  for (int attempt = 0; attempt < 32; ++attempt) {
    long fd = ::syscall(SYS_openat2, root_fd, path.c_str(), &how, sizeof how);
    if (fd >= 0) {
      out->reset(static_cast<int>(fd));
      return true;
    }
    if (errno == EAGAIN) continue;
    if (errno == ENOSYS || errno == EPERM || errno == E2BIG) return false;
    *err = errno;
    return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> clean_components(std::string_view name) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= name.size()) {
    size_t slash = name.find('/', start);
    if (slash == std::string_view::npos) slash = name.size();
    std::string_view c = name.substr(start, slash - start);
    start = slash + 1;
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (!out.empty()) out.pop_back();
      continue;
    }
    out.emplace_back(c);
  }
  return out;
}

std::string join_components(const std::vector<std::string>& comps, size_t count) {
  if (count == 0) return ".";
  std::string s;
  for (size_t i = 0; i < count; ++i) {
    if (i) s += '/';
    s += comps[i];
  }
  return s;
}

UniqueFd resolve_dir(int root_fd, const std::vector<std::string>& comps, size_t count, Resolver resolver, int* err) {
  *err = 0;
  if (resolver == Resolver::kAuto) {
    UniqueFd fd;
    if (try_openat2(root_fd, join_components(comps, count), &fd, err)) return fd;
    *err = 0;
  }
  return fallback_resolve(root_fd, comps, count, err);
}

UniqueFd resolve_dir_create(int root_fd, const std::vector<std::string>& comps, size_t count, Resolver resolver,
                            const std::string& what, const DeniedFn& on_denied) {
  int err = 0;
  UniqueFd fd = resolve_dir(root_fd, comps, count, resolver, &err);
  if (fd) return fd;
  if (err != ENOENT) throw sys_error(what + ": parent directory " + join_components(comps, count), err);
  // Some prefix is missing: walk prefix by prefix, creating what is absent.
  UniqueFd parent = reopen_root(root_fd, &err);
  if (!parent) throw sys_error(what + ": root directory", err);
  for (size_t i = 1; i <= count; ++i) {
    UniqueFd cur = resolve_dir(root_fd, comps, i, resolver, &err);
    if (!cur && err == ENOENT) {
      // mkdirat never follows a final symlink: a dangling link gives EEXIST
      // and the second lookup below fails, which we report.
      int rc = ::mkdirat(parent.get(), comps[i - 1].c_str(), 0755);
      if (rc != 0 && errno == EACCES && on_denied) {
        on_denied(parent.get(), i);
        rc = ::mkdirat(parent.get(), comps[i - 1].c_str(), 0755);
      }
      if (rc != 0 && errno != EEXIST)
        throw sys_error(what + ": creating parent directory " + join_components(comps, i));
      cur = resolve_dir(root_fd, comps, i, resolver, &err);
    }
    if (!cur) throw sys_error(what + ": parent directory " + join_components(comps, i), err);
    parent = std::move(cur);
  }
  return parent;
}

bool openat2_available() {
  struct open_how how {};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT;
  long fd = ::syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof how);
  if (fd < 0) return false;
  ::close(static_cast<int>(fd));
  return true;
}

}  // namespace slipway::layers

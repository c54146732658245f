#include "layers/diff_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "common/digest.h"
#include "common/error.h"
#include "common/fd.h"

namespace slipway::diff_detail {

namespace {

// Xattrs that describe the host or overlayfs, not the image.
bool host_xattr(const std::string& name) {
  return name.rfind("trusted.overlay.", 0) == 0 || name.rfind("user.overlay.", 0) == 0 ||
         name == "security.selinux" || name.rfind("system.", 0) == 0;
}

std::string proc_path(int dir_fd, const std::string& name) {
  return "/proc/self/fd/" + std::to_string(dir_fd) + "/" + name;
}

}  // namespace

std::map<std::string, std::string> read_xattrs(int dir_fd, const std::string& name) {
  std::map<std::string, std::string> out;
  std::string path = proc_path(dir_fd, name);
  ssize_t len = llistxattr(path.c_str(), nullptr, 0);
  if (len <= 0) return out;  // none, or a file system without xattrs
  std::string names(static_cast<size_t>(len), '\0');
  len = llistxattr(path.c_str(), names.data(), names.size());
  if (len < 0) return out;
  names.resize(static_cast<size_t>(len));
  for (size_t i = 0; i < names.size();) {
    std::string key = names.c_str() + i;
    i += key.size() + 1;
    if (key.empty() || host_xattr(key)) continue;
    ssize_t vlen = lgetxattr(path.c_str(), key.c_str(), nullptr, 0);
    if (vlen < 0) continue;
    std::string value(static_cast<size_t>(vlen), '\0');
    vlen = lgetxattr(path.c_str(), key.c_str(), value.data(), value.size());
    if (vlen < 0) continue;
    value.resize(static_cast<size_t>(vlen));
    out.emplace(std::move(key), std::move(value));
  }
  return out;
}

bool has_overlay_xattr(int dir_fd, const std::string& name, const std::string& key, std::string* value) {
  std::string path = proc_path(dir_fd, name);
  for (const char* ns : {"trusted.overlay.", "user.overlay."}) {
    std::string attr = ns + key;
    char buf[4096];
    ssize_t n = lgetxattr(path.c_str(), attr.c_str(), buf, sizeof buf);
    if (n >= 0) {
      if (value) value->assign(buf, static_cast<size_t>(n));
      return true;
    }
  }
  return false;
}

std::string xattr_digest(const std::map<std::string, std::string>& xattrs) {
  if (xattrs.empty()) return "";
  Sha256 h;
  for (const auto& [k, v] : xattrs) {
    h.update(k);
    h.update("\0", 1);
    std::string len = std::to_string(v.size());
    h.update(len);
    h.update("\0", 1);
    h.update(v);
  }
  return h.finish().hex;
}

bool same_metadata(const struct stat& a, const std::string& link_a, const std::string& xattrs_a,
                   const struct stat& b, const std::string& link_b, const std::string& xattrs_b) {
  if (a.st_mode != b.st_mode || a.st_uid != b.st_uid || a.st_gid != b.st_gid) return false;
  if (!S_ISDIR(a.st_mode) && a.st_size != b.st_size) return false;
  if (a.st_mtim.tv_sec != b.st_mtim.tv_sec || a.st_mtim.tv_nsec != b.st_mtim.tv_nsec) return false;
  if ((S_ISCHR(a.st_mode) || S_ISBLK(a.st_mode)) && a.st_rdev != b.st_rdev) return false;
  return link_a == link_b && xattrs_a == xattrs_b;
}

std::string read_link(int dir_fd, const std::string& name) {
  std::string buf(4096, '\0');
  for (;;) {
    ssize_t n = readlinkat(dir_fd, name.c_str(), buf.data(), buf.size());
    if (n < 0) throw sys_error("readlink " + name);
    if (static_cast<size_t>(n) < buf.size()) {
      buf.resize(static_cast<size_t>(n));
      return buf;
    }
    buf.resize(buf.size() * 2);
  }
}

bool same_content(int dir_a, const std::string& name_a, int dir_b, const std::string& name_b) {
  UniqueFd a(openat(dir_a, name_a.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  UniqueFd b(openat(dir_b, name_b.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!a || !b) return false;
  std::vector<char> ba(1 << 16), bb(1 << 16);
  for (;;) {
    ssize_t na = read(a.get(), ba.data(), ba.size());
    if (na < 0) throw sys_error("read " + name_a);
    size_t got = 0;
    while (got < static_cast<size_t>(na)) {
      ssize_t nb = read(b.get(), bb.data() + got, static_cast<size_t>(na) - got);
      if (nb < 0) throw sys_error("read " + name_b);
      if (nb == 0) return false;
      got += static_cast<size_t>(nb);
    }
    if (na == 0) {
      char c;
      return read(b.get(), &c, 1) == 0;
    }
    if (std::memcmp(ba.data(), bb.data(), static_cast<size_t>(na)) != 0) return false;
  }
}

std::vector<std::string> list_dir(int dir_fd) {
  int dup_fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dup_fd < 0) throw sys_error("open directory");
  DIR* d = fdopendir(dup_fd);
  if (!d) {
    close(dup_fd);
    throw sys_error("fdopendir");
  }
  std::vector<std::string> names;
  while (struct dirent* e = readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    names.emplace_back(e->d_name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

bool is_whiteout_device(const struct stat& st) {
  return S_ISCHR(st.st_mode) && major(st.st_rdev) == 0 && minor(st.st_rdev) == 0;
}

void finish_entries(std::vector<TarEntry>& entries, const std::map<uint64_t, std::vector<std::string>>& groups,
                    const std::map<std::string, uint64_t>& inode_of, int source_fd, const ScanOptions& scan) {
  std::set<std::string> present;
  for (const auto& e : entries) present.insert(e.path);
  std::set<uint64_t> linked;
  for (const auto& e : entries) {
    auto it = inode_of.find(e.path);
    if (it != inode_of.end()) linked.insert(it->second);
  }
  for (uint64_t ino : linked) {
    for (const auto& p : groups.at(ino)) {
      if (present.insert(p).second) entries.push_back(entry_from_file(source_fd, p, p, scan));
    }
  }
  for (auto& e : entries) {
    auto it = inode_of.find(e.path);
    if (it != inode_of.end() && e.kind == TarKind::kFile) e.link_id = it->second + 1;
  }
  std::vector<std::string> parents;
  for (const auto& e : entries) {
    std::string p = e.path;
    for (auto slash = p.rfind('/'); slash != std::string::npos; slash = p.rfind('/')) {
      p.resize(slash);
      if (!present.insert(p).second) break;
      parents.push_back(p);
    }
  }
  for (const auto& p : parents) entries.push_back(entry_from_file(source_fd, p, p, scan));
}

}  // namespace slipway::diff_detail

#pragma once
// Test-only helpers for the unpack tests: archives built field by field with
// libarchive's writer (so hostile headers are easy), compression, a
// self-deleting temp dir and a recursive lstat+content snapshot to prove that
// nothing outside a root changed. Header-only: included only by *_test.cc.
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "common/fd.h"
#include "layers/unpack.h"

namespace slipway::layers::unpack_testing {

struct TarEntry {
  std::string name;
  mode_t type = S_IFREG;
  mode_t mode = 0644;
  std::string data;
  std::string link;  // symlink target, or hardlink target when hardlink
  bool hardlink = false;
  int64_t uid = 0, gid = 0;
  dev_t rdev = 0;
  time_t mtime = 1600000000;
  long mtime_nsec = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
  // Sparse file of `sparse_size` bytes (the length of `data`, its logical
  // content) storing only these (offset, length) regions.
  std::vector<std::pair<int64_t, int64_t>> sparse;
  int64_t sparse_size = 0;
};

inline TarEntry file(std::string name, std::string data = "data", mode_t mode = 0644) {
  TarEntry e;
  e.name = std::move(name);
  e.data = std::move(data);
  e.mode = mode;
  return e;
}
inline TarEntry dir(std::string name, mode_t mode = 0755) {
  TarEntry e;
  e.name = std::move(name);
  e.type = S_IFDIR;
  e.mode = mode;
  return e;
}
inline TarEntry symlink(std::string name, std::string target) {
  TarEntry e;
  e.name = std::move(name);
  e.type = S_IFLNK;
  e.mode = 0777;
  e.link = std::move(target);
  return e;
}
inline TarEntry hardlink(std::string name, std::string target) {
  TarEntry e;
  e.name = std::move(name);
  e.link = std::move(target);
  e.hardlink = true;
  return e;
}
inline TarEntry node(std::string name, mode_t type, dev_t rdev = 0) {
  TarEntry e;
  e.name = std::move(name);
  e.type = type;
  e.rdev = rdev;
  return e;
}

inline la_ssize_t append_cb(archive*, void* out, const void* buf, size_t n) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

// A pax tar of `entries` (format_code: ARCHIVE_FORMAT_TAR_PAX_RESTRICTED,
// ARCHIVE_FORMAT_TAR_GNUTAR, ARCHIVE_FORMAT_ZIP, ...).
// Each format by its own setter: archive_write_set_format(code) would link
// every writer libarchive has, xar's libxml2 with it (CMakeLists.txt).
inline void set_write_format(archive* a, int format_code) {
  switch (format_code) {
    case ARCHIVE_FORMAT_TAR_PAX_RESTRICTED: archive_write_set_format_pax_restricted(a); break;
    case ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE: archive_write_set_format_pax(a); break;
    case ARCHIVE_FORMAT_TAR_GNUTAR: archive_write_set_format_gnutar(a); break;
    case ARCHIVE_FORMAT_TAR_USTAR: archive_write_set_format_ustar(a); break;
    case ARCHIVE_FORMAT_CPIO_POSIX: archive_write_set_format_cpio(a); break;
    case ARCHIVE_FORMAT_ZIP: archive_write_set_format_zip(a); break;
    default: throw std::runtime_error("make_tar: add format " + std::to_string(format_code));
  }
}

inline std::string make_tar(const std::vector<TarEntry>& entries, int format_code = ARCHIVE_FORMAT_TAR_PAX_RESTRICTED) {
  std::string out;
  archive* a = archive_write_new();
  set_write_format(a, format_code);
  archive_write_set_bytes_per_block(a, 0);
  if (archive_write_open2(a, &out, nullptr, append_cb, nullptr, nullptr) != ARCHIVE_OK) {
    throw std::runtime_error(archive_error_string(a));
  }
  for (const TarEntry& t : entries) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, t.name.c_str());
    archive_entry_set_perm(e, t.mode);
    archive_entry_set_uid(e, t.uid);
    archive_entry_set_gid(e, t.gid);
    archive_entry_set_mtime(e, t.mtime, t.mtime_nsec);
    if (t.hardlink) {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_hardlink(e, t.link.c_str());
      archive_entry_set_size(e, 0);
    } else {
      archive_entry_set_filetype(e, t.type);
      if (t.type == S_IFLNK) archive_entry_set_symlink(e, t.link.c_str());
      if (t.type == S_IFCHR || t.type == S_IFBLK) archive_entry_set_rdev(e, t.rdev);
      archive_entry_set_size(e, t.type == S_IFREG ? static_cast<la_int64_t>(t.data.size()) : 0);
      if (!t.sparse.empty()) {
        archive_entry_set_size(e, t.sparse_size);
        for (auto [off, len] : t.sparse) archive_entry_sparse_add_entry(e, off, len);
      }
    }
    for (const auto& [k, v] : t.xattrs) archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());
    if (archive_write_header(a, e) < ARCHIVE_WARN) throw std::runtime_error(archive_error_string(a));
    if (!t.hardlink && t.type == S_IFREG && !t.data.empty()) {
      archive_write_data(a, t.data.data(), t.data.size());
    }
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

// One raw ustar header block, for fields libarchive's writer will not
// produce (a size of 1 TB without writing 1 TB). Sizes that do not fit
// in octal use the GNU base-256 form.
inline std::string raw_header(const std::string& name, char typeflag, uint64_t size, const std::string& link = {}) {
  std::string h(512, '\0');
  std::memcpy(&h[0], name.data(), std::min<size_t>(name.size(), 100));
  std::snprintf(&h[100], 8, "%07o", 0644);
  std::snprintf(&h[108], 8, "%07o", 0);
  std::snprintf(&h[116], 8, "%07o", 0);
  if (size < 077777777777ULL) {
    std::snprintf(&h[124], 12, "%011llo", static_cast<unsigned long long>(size));
  } else {
    h[124] = static_cast<char>(0x80);
    for (int i = 0; i < 8; ++i) h[135 - i] = static_cast<char>((size >> (8 * i)) & 0xff);
  }
  std::snprintf(&h[136], 12, "%011o", 1600000000);
  h[156] = typeflag;
  std::memcpy(&h[157], link.data(), std::min<size_t>(link.size(), 100));
  std::memcpy(&h[257], "ustar", 6);
  std::memcpy(&h[263], "00", 2);
  std::memset(&h[148], ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(&h[148], 8, "%06o", sum);
  return h;
}

inline std::string gzip(const std::string& in, int level = 6) {
  z_stream z{};
  deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, in.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

inline std::string zstd(const std::string& in) {
  std::string out(ZSTD_compressBound(in.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
  out.resize(n);
  return out;
}

inline ApplyResult apply_bytes(int root_fd, const std::string& blob, const ApplyOptions& options = {}) {
  size_t pos = 0;
  return apply_layer(
      root_fd,
      [&](void* buf, size_t size) -> size_t {
        size_t n = std::min(size, blob.size() - pos);
        std::memcpy(buf, blob.data() + pos, n);
        pos += n;
        return n;
      },
      options);
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/slipway-unpack-XXXXXX";
    if (!::mkdtemp(tmpl)) throw sys_error("mkdtemp");
    path_ = tmpl;
  }
  ~TempDir() { remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

  static void remove_all(const std::string& path) {
    // Depth-first, never following symlinks; dirs made 0700 first so
    // read-only test dirs can be emptied.
    ::nftw(
        path.c_str(),
        [](const char* p, const struct stat* st, int flag, FTW*) {
          if (flag == FTW_D || flag == FTW_DNR) ::chmod(p, 0700);
          (void)st;
          return 0;
        },
        64, FTW_PHYS);
    ::nftw(
        path.c_str(), [](const char* p, const struct stat*, int, FTW*) { return ::remove(p) == 0 ? 0 : 0; }, 64,
        FTW_PHYS | FTW_DEPTH);
  }

 private:
  std::string path_;
};

inline UniqueFd open_dir(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw sys_error("open " + path);
  return fd;
}

inline std::string read_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) throw sys_error("open " + path);
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd.get(), buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

inline void write_file(const std::string& path, const std::string& data, mode_t mode = 0644) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd) throw sys_error("create " + path);
  if (::write(fd.get(), data.data(), data.size()) != static_cast<ssize_t>(data.size())) throw sys_error("write");
}

// path -> "type mode uid gid size nlink mtime ino | content or link target"
// for everything under `path` (itself included), never following symlinks.
inline std::map<std::string, std::string> snapshot(const std::string& path) {
  std::map<std::string, std::string> out;
  struct Walk {
    static void go(const std::string& p, const std::string& rel, std::map<std::string, std::string>* out) {
      struct stat st {};
      if (::lstat(p.c_str(), &st) != 0) return;
      std::string v = std::to_string(st.st_mode) + " " + std::to_string(st.st_uid) + " " + std::to_string(st.st_gid) +
                      " " + std::to_string(st.st_size) + " " + std::to_string(st.st_nlink) + " " +
                      std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + " " +
                      std::to_string(st.st_ino) + " | ";
      if (S_ISREG(st.st_mode)) {
        v += read_file(p);
      } else if (S_ISLNK(st.st_mode)) {
        char buf[4096];
        ssize_t n = ::readlink(p.c_str(), buf, sizeof buf);
        if (n > 0) v.append(buf, static_cast<size_t>(n));
      }
      (*out)[rel] = v;
      if (!S_ISDIR(st.st_mode)) return;
      std::vector<std::string> names;
      if (DIR* d = ::opendir(p.c_str())) {
        while (dirent* de = ::readdir(d)) {
          if (std::strcmp(de->d_name, ".") && std::strcmp(de->d_name, "..")) names.emplace_back(de->d_name);
        }
        ::closedir(d);
      }
      for (const auto& n : names) go(p + "/" + n, rel + "/" + n, out);
    }
  };
  Walk::go(path, ".", &out);
  return out;
}

}  // namespace slipway::layers::unpack_testing

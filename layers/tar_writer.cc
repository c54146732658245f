#include "layers/tar_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <clocale>
#include <exception>
#include <memory>
#include <set>

#include "common/error.h"
#include "common/fd.h"
#include "layers/safe_path.h"
#include "layers/unpack.h"  // the shared user.rootlesscontainers codec

namespace slipway {
namespace {

// Opens a regular file's content. A relative source is resolved beneath
// source_dir_fd as if it were "/": the tree (a build context, a stage) may
// be changed by someone else between scan and write, and a directory swapped
// for a symlink must not make us read a file outside it.
UniqueFd open_source(int dir_fd, const std::string& source) {
  UniqueFd fd;
  if (source[0] == '/' || dir_fd == AT_FDCWD) {
    fd.reset(::openat(dir_fd, source.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) throw sys_error("tar: opening " + source);
    return fd;
  }
  auto comps = layers::clean_components(source);
  if (comps.empty()) throw Error("tar: source \"" + source + "\" names no file");
  int err = 0;
  UniqueFd parent = layers::resolve_dir(dir_fd, comps, comps.size() - 1, layers::Resolver::kAuto, &err);
  if (!parent) {
    errno = err;
    throw sys_error("tar: opening " + source);
  }
  fd.reset(::openat(parent.get(), comps.back().c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) throw sys_error("tar: opening " + source);
  return fd;
}

constexpr size_t kChunk = 128 * 1024;

// Checks an archive path and returns it normalised: no leading "./" or "/",
// no trailing "/", no "." / ".." / empty components.
std::string clean_path(const std::string& raw, bool allow_empty) {
  std::string p = raw;
  while (p.starts_with("./")) p.erase(0, 2);
  while (!p.empty() && p.back() == '/') p.pop_back();
  if (p == ".") p.clear();
  if (p.empty()) {
    if (allow_empty) return p;
    throw Error("tar: empty archive path \"" + raw + "\"");
  }
  if (p.front() == '/') throw Error("tar: absolute archive path \"" + raw + "\"");
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string::npos) end = p.size();
    std::string_view comp(p.data() + start, end - start);
    if (comp.empty() || comp == "." || comp == "..") throw Error("tar: invalid archive path \"" + raw + "\"");
    start = end + 1;
  }
  if (p.find('\0') != std::string::npos) throw Error("tar: archive path contains NUL");
  return p;
}

std::string emitted_path(const TarEntry& e) {
  if (e.kind == TarKind::kOpaque) {
    std::string dir = clean_path(e.path, true);
    return dir.empty() ? ".wh..wh..opq" : dir + "/.wh..wh..opq";
  }
  std::string p = clean_path(e.path, false);
  if (e.kind == TarKind::kWhiteout) {
    auto slash = p.rfind('/');
    return slash == std::string::npos ? ".wh." + p : p.substr(0, slash + 1) + ".wh." + p.substr(slash + 1);
  }
  return p;
}

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

struct WriteContext {
  ByteSink* sink;
  std::exception_ptr error;
};

la_ssize_t write_cb(archive*, void* client, const void* buf, size_t n) {
  auto* ctx = static_cast<WriteContext*>(client);
  // Exceptions must not unwind through libarchive's C frames.
  try {
    ctx->sink->write(buf, n);
    return la_ssize_t(n);
  } catch (...) {
    ctx->error = std::current_exception();
    return -1;
  }
}

[[noreturn]] void fail(archive* a, WriteContext& ctx, const std::string& what) {
  if (ctx.error) std::rethrow_exception(ctx.error);
  const char* msg = archive_error_string(a);
  throw Error("tar: " + what + ": " + (msg ? msg : "unknown error"));
}

void check(int rc, archive* a, WriteContext& ctx, const std::string& what) {
  if (rc < ARCHIVE_WARN) fail(a, ctx, what);  // a warning (e.g. a non-UTF-8 name) is fine
}

mode_t type_bits(TarKind k) {
  switch (k) {
    case TarKind::kDir: return AE_IFDIR;
    case TarKind::kSymlink: return AE_IFLNK;
    case TarKind::kCharDev: return AE_IFCHR;
    case TarKind::kBlockDev: return AE_IFBLK;
    case TarKind::kFifo: return AE_IFIFO;
    default: return AE_IFREG;
  }
}

void write_data(archive* a, WriteContext& ctx, const void* data, size_t n, const std::string& path) {
  auto p = static_cast<const char*>(data);
  while (n > 0) {
    la_ssize_t w = archive_write_data(a, p, n);
    if (w <= 0) fail(a, ctx, "writing " + path);
    p += w;
    n -= size_t(w);
  }
}

// libarchive converts names from the locale's charset to UTF-8 for pax
// records. Under the C locale any non-ASCII name "fails" conversion and gets
// hdrcharset=BINARY, so the output would depend on the caller's locale. A
// C.UTF-8 thread locale for the archive's lifetime makes UTF-8 names pass
// through unchanged (only names that are not UTF-8 are marked BINARY).
class Utf8Locale {
 public:
  Utf8Locale() : loc_(::newlocale(LC_ALL_MASK, "C.UTF-8", static_cast<locale_t>(nullptr))) {
    if (loc_) old_ = ::uselocale(loc_);
  }
  ~Utf8Locale() {
    if (loc_) {
      ::uselocale(old_);
      ::freelocale(loc_);
    }
  }
  Utf8Locale(const Utf8Locale&) = delete;
  Utf8Locale& operator=(const Utf8Locale&) = delete;

 private:
  locale_t loc_;
  locale_t old_ = static_cast<locale_t>(nullptr);
};

}  // namespace

bool tar_path_less(const std::string& a, const std::string& b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (a[i] == b[i]) continue;
    if (a[i] == '/') return true;
    if (b[i] == '/') return false;
    return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]);
  }
  return a.size() < b.size();
}

void write_tar(std::vector<TarEntry> entries, ByteSink& out, const TarOptions& options) {
  std::vector<std::pair<std::string, TarEntry*>> order;
  order.reserve(entries.size());
  for (auto& e : entries) order.emplace_back(emitted_path(e), &e);
  std::sort(order.begin(), order.end(), [](const auto& x, const auto& y) { return tar_path_less(x.first, y.first); });
  for (size_t i = 1; i < order.size(); ++i) {
    if (order[i].first == order[i - 1].first) throw Error("tar: duplicate archive path \"" + order[i].first + "\"");
  }

  Utf8Locale utf8;  // declared first: it must outlive the archive
  std::unique_ptr<archive, ArchiveDeleter> a(archive_write_new());
  if (!a) throw Error("tar: out of memory");
  WriteContext ctx{&out, nullptr};
  check(archive_write_set_format_pax_restricted(a.get()), a.get(), ctx, "setting format");
  // Only the SCHILY.xattr records that Docker, containerd and Go read, not a
  // second LIBARCHIVE.xattr copy of each.
  archive_write_set_format_option(a.get(), "pax", "xattrheader", "SCHILY");
  check(archive_write_add_filter_none(a.get()), a.get(), ctx, "setting filter");
  check(archive_write_open2(a.get(), &ctx, nullptr, write_cb, nullptr, nullptr), a.get(), ctx, "opening");

  std::map<uint64_t, std::string> first_of_inode;
  std::set<std::string> written_files;
  std::vector<char> buf(kChunk);
  for (auto& [path, e] : order) {
    std::unique_ptr<archive_entry, EntryDeleter> ae(archive_entry_new());
    archive_entry_copy_pathname(ae.get(), path.c_str());
    archive_entry_set_uid(ae.get(), e->uid);
    archive_entry_set_gid(ae.get(), e->gid);
    archive_entry_set_perm(ae.get(), e->mode & 07777);
    int64_t mtime = e->mtime;
    if (options.source_date_epoch && mtime > *options.source_date_epoch) mtime = *options.source_date_epoch;
    archive_entry_set_mtime(ae.get(), time_t(mtime), 0);
    for (auto& [name, value] : e->xattrs) archive_entry_xattr_add_entry(ae.get(), name.c_str(), value.data(), value.size());

    TarKind kind = e->kind;
    std::string link = e->link_target;
    if (e->link_id != 0 && kind == TarKind::kFile) {
      auto [it, inserted] = first_of_inode.emplace(e->link_id, path);
      if (!inserted) {
        kind = TarKind::kHardlink;
        link = it->second;
      }
    }
    archive_entry_set_filetype(ae.get(), type_bits(kind));

    UniqueFd src;
    uint64_t size = 0;
    switch (kind) {
      case TarKind::kFile:
        if (!e->source.empty()) {
          src = open_source(options.source_dir_fd, e->source);
          struct stat st;
          if (::fstat(src.get(), &st) != 0) throw sys_error("tar: stat " + e->source);
          if (!S_ISREG(st.st_mode)) throw Error("tar: " + e->source + " is not a regular file");
          size = uint64_t(st.st_size);
        } else {
          size = e->data.size();
        }
        written_files.insert(path);
        break;
      case TarKind::kHardlink:
        link = clean_path(link, false);
        if (!written_files.count(link)) {
          throw Error("tar: hardlink \"" + path + "\" points to \"" + link + "\", which is not a file written before it");
        }
        archive_entry_copy_hardlink(ae.get(), link.c_str());
        break;
      case TarKind::kSymlink:
        if (link.empty()) throw Error("tar: symlink \"" + path + "\" has no target");
        archive_entry_copy_symlink(ae.get(), link.c_str());
        break;
      case TarKind::kCharDev:
      case TarKind::kBlockDev:
        archive_entry_set_rdevmajor(ae.get(), e->dev_major);
        archive_entry_set_rdevminor(ae.get(), e->dev_minor);
        break;
      default:
        break;
    }
    archive_entry_set_size(ae.get(), la_int64_t(size));
    check(archive_write_header(a.get(), ae.get()), a.get(), ctx, "writing header of " + path);
    if (kind != TarKind::kFile || size == 0) continue;
    if (!src) {
      write_data(a.get(), ctx, e->data.data(), e->data.size(), path);
      continue;
    }
    uint64_t left = size;
    while (left > 0) {
      ssize_t n = ::read(src.get(), buf.data(), std::min<uint64_t>(left, buf.size()));
      if (n < 0) {
        if (errno == EINTR) continue;
        throw sys_error("tar: reading " + e->source);
      }
      if (n == 0) throw Error("tar: " + e->source + " shrank while it was being archived");
      write_data(a.get(), ctx, buf.data(), size_t(n), path);
      left -= uint64_t(n);
    }
  }
  check(archive_write_close(a.get()), a.get(), ctx, "closing");
}

namespace {

bool keep_xattr(const std::string& name) {
  return !(name == "security.selinux" || name.starts_with("system.") || name.starts_with("trusted.overlay.") ||
           name.starts_with("user.overlay.") || name == layers::kRootlessXattr);
}

// Reads xattrs through /proc/self/fd so that a dir fd plus a name works for
// symlinks too (the l*xattr calls take a path, not a dir fd).
void read_xattrs(int dir_fd, const std::string& name, TarEntry& e, const ScanOptions& opts) {
  std::string p = dir_fd == AT_FDCWD ? name : "/proc/self/fd/" + std::to_string(dir_fd) + "/" + name;
  ssize_t len = ::llistxattr(p.c_str(), nullptr, 0);
  if (len < 0) {
    if (errno == ENOTSUP || errno == EOPNOTSUPP) return;
    throw sys_error("listing xattrs of " + name);
  }
  std::string names(size_t(len), '\0');
  len = ::llistxattr(p.c_str(), names.data(), names.size());
  if (len < 0) throw sys_error("listing xattrs of " + name);
  names.resize(size_t(len));
  for (size_t pos = 0; pos < names.size();) {
    std::string key = names.c_str() + pos;
    pos += key.size() + 1;
    bool rootless = key == layers::kRootlessXattr && opts.rootless_owner;
    if (!rootless && !(opts.xattrs && keep_xattr(key))) continue;
    ssize_t vlen = ::lgetxattr(p.c_str(), key.c_str(), nullptr, 0);
    if (vlen < 0) {
      if (errno == ENODATA) continue;
      throw sys_error("reading xattr " + key + " of " + name);
    }
    std::string value(size_t(vlen), '\0');
    vlen = ::lgetxattr(p.c_str(), key.c_str(), value.data(), value.size());
    if (vlen < 0) throw sys_error("reading xattr " + key + " of " + name);
    value.resize(size_t(vlen));
    if (rootless) {
      // NoopID and absent fields read as 0, as an unprivileged unpack leaves them.
      if (auto owner = layers::decode_rootless_owner(value)) {
        e.uid = owner->first;
        e.gid = owner->second;
      }
      continue;
    }
    e.xattrs[key] = value;
  }
}

std::optional<TarEntry> entry_from_stat(int dir_fd, const std::string& name, const struct stat& st, std::string source,
                                        std::string archive_path, const ScanOptions& opts) {
  TarEntry e;
  e.path = std::move(archive_path);
  e.mode = st.st_mode & 07777;
  e.uid = st.st_uid;
  e.gid = st.st_gid;
  e.mtime = st.st_mtim.tv_sec;
  switch (st.st_mode & S_IFMT) {
    case S_IFREG: e.kind = TarKind::kFile; e.source = std::move(source); break;
    case S_IFDIR: e.kind = TarKind::kDir; break;
    case S_IFLNK: {
      e.kind = TarKind::kSymlink;
      std::string target(size_t(st.st_size) + 1, '\0');
      for (;;) {
        ssize_t n = ::readlinkat(dir_fd, name.c_str(), target.data(), target.size());
        if (n < 0) throw sys_error("reading symlink " + name);
        if (size_t(n) < target.size()) { target.resize(size_t(n)); break; }
        target.resize(target.size() * 2);
      }
      e.link_target = target;
      break;
    }
    case S_IFCHR: e.kind = TarKind::kCharDev; break;
    case S_IFBLK: e.kind = TarKind::kBlockDev; break;
    case S_IFIFO: e.kind = TarKind::kFifo; break;
    default: return std::nullopt;  // sockets have no tar representation
  }
  if (e.kind == TarKind::kCharDev || e.kind == TarKind::kBlockDev) {
    e.dev_major = major(st.st_rdev);
    e.dev_minor = minor(st.st_rdev);
  }
  if (opts.xattrs || opts.rootless_owner) read_xattrs(dir_fd, name, e, opts);
  return e;
}

struct Scanner {
  const ScanOptions& opts;
  std::vector<TarEntry>& out;
  std::map<std::pair<dev_t, ino_t>, uint64_t> inodes;

  void walk(int dir_fd, const std::string& rel, const std::string& archive) {
    UniqueFd dup_fd(::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dup_fd) throw sys_error("opening " + (rel.empty() ? "." : rel));
    DIR* dp = ::fdopendir(dup_fd.release());
    if (!dp) throw sys_error("reading directory " + rel);
    std::vector<std::string> names;
    while (dirent* d = ::readdir(dp)) {
      std::string n = d->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    ::closedir(dp);
    std::sort(names.begin(), names.end());
    for (auto& name : names) {
      struct stat st;
      if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) throw sys_error("stat " + rel + name);
      std::string child_rel = rel + name;
      std::string child_archive = archive.empty() ? name : archive + "/" + name;
      auto e = entry_from_stat(dir_fd, name, st, child_rel, child_archive, opts);
      if (!e) continue;
      if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
        auto [it, inserted] = inodes.emplace(std::make_pair(st.st_dev, st.st_ino), inodes.size() + 1);
        e->link_id = it->second;
      }
      out.push_back(std::move(*e));
      if (S_ISDIR(st.st_mode)) {
        UniqueFd sub(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!sub) throw sys_error("opening " + child_rel);
        walk(sub.get(), child_rel + "/", child_archive);
      }
    }
  }
};

}  // namespace

std::vector<TarEntry> scan_tree(int root_fd, const ScanOptions& options) {
  std::vector<TarEntry> out;
  Scanner s{options, out, {}};
  std::string prefix = clean_path(options.prefix, true);
  s.walk(root_fd, "", prefix);
  return out;
}

TarEntry entry_from_file(int dir_fd, const std::string& rel, std::string archive_path, const ScanOptions& options) {
  struct stat st;
  if (::fstatat(dir_fd, rel.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) throw sys_error("stat " + rel);
  // readlinkat and the xattr calls need the parent dir and the last name.
  auto slash = rel.rfind('/');
  UniqueFd parent;
  int pfd = dir_fd;
  std::string name = rel;
  if (slash != std::string::npos) {
    std::string dir = slash == 0 ? "/" : rel.substr(0, slash);
    parent.reset(::openat(dir_fd, dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!parent) throw sys_error("opening " + dir);
    pfd = parent.get();
    name = rel.substr(slash + 1);
  }
  auto e = entry_from_stat(pfd, name, st, rel, std::move(archive_path), options);
  if (!e) throw Error(rel + ": sockets cannot be put in a layer");
  return *e;
}

}  // namespace slipway

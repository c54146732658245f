#include "builder/context.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "common/error.h"

namespace slipway {
namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
// Each level holds an fd and a stack frame. No path this deep can be named
// (PATH_MAX is 4096), so a deeper context is hostile or broken: refuse it
// cleanly rather than run out of fds or stack.
constexpr int kMaxDepth = 2048;

EntryType type_of(mode_t mode) {
  if (S_ISREG(mode)) return EntryType::kFile;
  if (S_ISDIR(mode)) return EntryType::kDir;
  if (S_ISLNK(mode)) return EntryType::kSymlink;
  return EntryType::kOther;
}

std::string display(std::string_view rel) { return rel.empty() ? "." : std::string(rel); }

// The names in a directory, sorted bytewise, with d_type as a hint.
struct DirName {
  std::string name;
  unsigned char d_type;
};

std::vector<DirName> read_dir(int dir_fd, std::string_view rel) {
  // fdopendir takes over the fd it is given, so give it a fresh open of the
  // same directory: a dup() would share the read offset, and a second walk of
  // the same fd would then see an empty directory.
  UniqueFd dup(::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dup) throw sys_error("reading build context directory " + display(rel));
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::fdopendir(dup.get()), ::closedir);
  if (!dir) throw sys_error("reading build context directory " + display(rel));
  dup.release();
  std::vector<DirName> names;
  while (true) {
    errno = 0;
    const dirent* d = ::readdir(dir.get());
    if (!d) {
      if (errno != 0) throw sys_error("reading build context directory " + display(rel));
      break;
    }
    std::string_view n = d->d_name;
    if (n == "." || n == "..") continue;
    names.push_back({std::string(n), d->d_type});
  }
  std::sort(names.begin(), names.end(), [](const DirName& a, const DirName& b) { return a.name < b.name; });
  return names;
}

std::string read_link(int dir_fd, const std::string& name, std::string_view rel, off_t size_hint) {
  std::string buf(static_cast<size_t>(std::max<off_t>(size_hint, 64)) + 1, '\0');
  while (true) {
    ssize_t n = ::readlinkat(dir_fd, name.c_str(), buf.data(), buf.size());
    if (n < 0) throw sys_error("reading symlink " + std::string(rel) + " in the build context");
    if (static_cast<size_t>(n) < buf.size()) {
      buf.resize(static_cast<size_t>(n));
      return buf;
    }
    buf.resize(buf.size() * 2);  // the link changed since lstat; try again
  }
}

class Walker {
 public:
  Walker(const IgnoreMatcher& ignore, const WalkVisitor& visit) : ignore_(ignore), visit_(visit) {}

  // An excluded directory we descended into; yielded only once something
  // below it is, so that parents always precede their children.
  struct Pending {
    ContextEntry entry;
    int parent_fd;
    bool emitted;
    Pending* up;
  };

  void walk(int dir_fd, const std::string& prefix, const IgnoreMatcher::Matches& dir_matches, Pending* pending,
            int depth = 0) {
    if (depth > kMaxDepth) {
      throw Error("directory " + prefix.substr(0, 200) + "... is nested more than " + std::to_string(kMaxDepth) +
                  " levels deep");
    }
    ++stats_.dirs_read;
    for (const DirName& dn : read_dir(dir_fd, prefix)) {
      std::string rel = prefix.empty() ? dn.name : prefix + "/" + dn.name;
      IgnoreMatcher::Matches matches;
      bool excluded = !ignore_.empty() && ignore_.excluded(rel, dir_matches, &matches);
      // Excluded non-directories need no lstat at all.
      if (excluded && dn.d_type != DT_DIR && dn.d_type != DT_UNKNOWN) continue;

      ContextEntry e;
      e.path = std::move(rel);
      if (::fstatat(dir_fd, dn.name.c_str(), &e.st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;  // removed since readdir: as if never there
        throw sys_error("stat " + e.path + " in the build context");
      }
      e.type = type_of(e.st.st_mode);

      if (e.type != EntryType::kDir) {
        if (excluded) continue;
        if (e.type == EntryType::kSymlink) e.link_target = read_link(dir_fd, dn.name, e.path, e.st.st_size);
        yield(pending, e, dir_fd);
        continue;
      }
      if (excluded && !ignore_.may_reinclude_under(e.path, matches)) continue;  // pruned
      if (!excluded) yield(pending, e, dir_fd);
      UniqueFd child = open_child(dir_fd, dn.name, e);
      if (!child) continue;
      if (excluded) {
        Pending node{e, dir_fd, false, pending};
        walk(child.get(), node.entry.path, matches, &node, depth + 1);
      } else {
        walk(child.get(), e.path, matches, nullptr, depth + 1);
      }
    }
  }

  WalkStats stats() const { return stats_; }

 private:
  void emit(Pending* p) {
    if (!p || p->emitted) return;
    emit(p->up);
    p->emitted = true;
    ++stats_.entries;
    visit_(p->entry, p->parent_fd);
  }

  void yield(Pending* pending, const ContextEntry& e, int parent_fd) {
    emit(pending);
    ++stats_.entries;
    visit_(e, parent_fd);
  }

  // Opens a subdirectory without following links and checks it is the very
  // directory lstat saw: a hostile context could have swapped it meanwhile.
  static UniqueFd open_child(int dir_fd, const std::string& name, const ContextEntry& e) {
    UniqueFd fd(::openat(dir_fd, name.c_str(), kDirFlags));
    if (!fd) {
      if (errno == ENOENT) return fd;
      if (errno == ELOOP || errno == ENOTDIR) {
        throw Error("build context changed while reading it: " + e.path + " is no longer a directory");
      }
      throw sys_error("opening " + e.path + " in the build context");
    }
    struct stat st{};
    if (::fstat(fd.get(), &st) != 0) throw sys_error("stat " + e.path + " in the build context");
    if (st.st_dev != e.st.st_dev || st.st_ino != e.st.st_ino) {
      throw Error("build context changed while reading it: " + e.path + " was replaced");
    }
    return fd;
  }

  const IgnoreMatcher& ignore_;
  const WalkVisitor& visit_;
  WalkStats stats_;
};

bool has_wildcards(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '*' || s[i] == '?' || s[i] == '[') {
      return true;
    }
  }
  return false;
}

}  // namespace

bool context_path_less(std::string_view a, std::string_view b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    int ca = a[i] == '/' ? 0 : static_cast<unsigned char>(a[i]) + 1;
    int cb = b[i] == '/' ? 0 : static_cast<unsigned char>(b[i]) + 1;
    if (ca != cb) return ca < cb;
  }
  return a.size() < b.size();
}

WalkStats walk_context(int root_fd, const IgnoreMatcher& ignore, const WalkVisitor& visit) {
  Walker w(ignore, visit);
  w.walk(root_fd, "", {}, nullptr);
  return w.stats();
}

UniqueFd open_in_context(int root_fd, std::string_view rel_path, int flags) {
  std::string what = "opening " + std::string(rel_path) + " in the build context";
  std::vector<std::string> parts;
  for (size_t start = 0; start <= rel_path.size();) {
    size_t slash = std::min(rel_path.find('/', start), rel_path.size());
    std::string_view part = rel_path.substr(start, slash - start);
    if (part.empty() || part == "." || part == "..") throw Error(what + ": not a clean relative path");
    parts.emplace_back(part);
    start = slash + 1;
  }
  UniqueFd cur;
  int at = root_fd;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    UniqueFd next(::openat(at, parts[i].c_str(), kDirFlags));
    if (!next) throw sys_error(what);
    cur = std::move(next);
    at = cur.get();
  }
  UniqueFd fd(::openat(at, parts.back().c_str(), flags | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) throw sys_error(what);
  return fd;
}

std::string clean_context_path(std::string_view source) {
  std::string p = clean_path("/" + std::string(source));
  return p == "/" ? "." : p.substr(1);
}

BuildContext BuildContext::load(const std::string& dir, const IgnoreMatcher& ignore) {
  BuildContext ctx;
  ctx.dir_ = dir;
  ctx.root_fd_ = UniqueFd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!ctx.root_fd_) throw sys_error("opening build context " + dir);
  ctx.root_.path = ".";
  ctx.root_.type = EntryType::kDir;
  ctx.filtered_ = !ignore.empty();
  if (::fstat(ctx.root_fd_.get(), &ctx.root_.st) != 0) throw sys_error("stat build context " + dir);
  try {
    ctx.stats_ = walk_context(ctx.root_fd_.get(), ignore,
                              [&](const ContextEntry& e, int) { ctx.entries_.push_back(e); });
  } catch (const Error& e) {
    throw e.with_context("reading build context " + dir);
  }
  return ctx;
}

const ContextEntry* BuildContext::find(std::string_view rel_path) const {
  if (rel_path == ".") return &root_;
  auto it = std::lower_bound(entries_.begin(), entries_.end(), rel_path,
                             [](const ContextEntry& e, std::string_view p) { return context_path_less(e.path, p); });
  return it != entries_.end() && it->path == rel_path ? &*it : nullptr;
}

std::span<const ContextEntry> BuildContext::below(std::string_view dir) const {
  if (dir == ".") return entries_;
  const std::string prefix = std::string(dir) + "/";
  // Descendants sort right after their directory, as one contiguous run.
  auto first = std::upper_bound(entries_.begin(), entries_.end(), dir, [](std::string_view p, const ContextEntry& e) {
    return context_path_less(p, e.path);
  });
  auto last = std::find_if(first, entries_.end(), [&](const ContextEntry& e) { return !e.path.starts_with(prefix); });
  return {first, last};
}

std::vector<ContextEntry> BuildContext::resolve_copy_source(std::string_view source) const {
  const std::string path = clean_context_path(source);
  auto none = [&] {
    return Error("COPY failed: no source files were specified: \"" + std::string(source) +
                 "\" matches nothing in the build context (is it excluded by .dockerignore?)");
  };
  if (!has_wildcards(path)) {
    const ContextEntry* e = find(path);
    if (!e) throw none();
    return {*e};
  }
  std::vector<ContextEntry> out;
  try {
    path_match(path, ".");  // reports a malformed pattern even in an empty context
    for (const ContextEntry& e : entries_) {
      if (path_match(path, e.path)) out.push_back(e);
    }
  } catch (const Error& e) {
    throw e.with_context("COPY failed: source \"" + std::string(source) + "\"");
  }
  if (out.empty()) throw none();
  return out;
}

}  // namespace slipway

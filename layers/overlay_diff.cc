// The overlay differ: reads only the upper dir, looking up each upper path in
// the lower dirs with overlayfs' own rules (whiteouts and opaque dirs in the
// lowers, which are earlier steps' upper dirs, hide what is below them).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>

#include "common/error.h"
#include "common/fd.h"
#include "layers/diff.h"
#include "layers/diff_util.h"

namespace slipway {

using namespace diff_detail;

namespace {

using LowerHit = LayerHit;

std::optional<LowerHit> lookup_lower(const std::vector<int>& lowers, const std::string& rel) {
  return lookup_in_layers(lowers, rel);
}

}  // namespace

std::optional<LayerHit> lookup_in_layers(const std::vector<int>& lowers, const std::string& rel) {
  std::vector<std::string> comps;
  for (size_t i = 0; i <= rel.size();) {
    size_t j = rel.find('/', i);
    if (j == std::string::npos) j = rel.size();
    comps.push_back(rel.substr(i, j - i));
    i = j + 1;
  }
  for (int lower : lowers) {
    UniqueFd dir(fcntl(lower, F_DUPFD_CLOEXEC, 0));
    if (!dir) throw sys_error("dup");
    bool opaque_below = false;  // an opaque ancestor hides the lowers under this one
    bool missing = false;
    for (size_t c = 0; c + 1 < comps.size(); ++c) {
      struct stat st {};
      if (fstatat(dir.get(), comps[c].c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        missing = true;
        break;
      }
      if (!S_ISDIR(st.st_mode)) return std::nullopt;  // a whiteout or non-dir hides the path
      if (has_overlay_xattr(dir.get(), comps[c], "opaque")) opaque_below = true;
      UniqueFd next(openat(dir.get(), comps[c].c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!next) throw sys_error("open lower " + rel);
      dir = std::move(next);
    }
    if (!missing) {
      LowerHit hit;
      hit.name = comps.back();
      if (fstatat(dir.get(), hit.name.c_str(), &hit.st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (is_whiteout_device(hit.st)) return std::nullopt;
        hit.parent = std::move(dir);
        return hit;
      }
    }
    if (opaque_below) return std::nullopt;
  }
  return std::nullopt;
}

namespace {

struct Walker {
  const std::vector<int>& lowers;
  const DiffOptions& options;
  std::vector<TarEntry> entries;
  std::map<uint64_t, std::vector<std::string>> groups;
  std::map<std::string, uint64_t> inode_of;

  // `hidden`: nothing below this directory is visible from the lowers (an
  // opaque or new ancestor), so every path is new.
  void walk(int dir_fd, int upper_fd, const std::string& prefix, bool hidden) {
    for (const auto& name : list_dir(dir_fd)) {
      std::string rel = join(prefix, name);
      if (options.exclude.count(rel)) continue;
      struct stat st {};
      if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) throw sys_error("stat upper " + rel);
      if (is_whiteout_device(st)) {
        if (!hidden && lookup_lower(lowers, rel)) {
          TarEntry e;
          e.path = rel;
          e.kind = TarKind::kWhiteout;
          entries.push_back(std::move(e));
        }
        continue;
      }
      if (has_overlay_xattr(dir_fd, name, "redirect") || has_overlay_xattr(dir_fd, name, "metacopy")) {
        throw Error("overlay upper dir has a redirect_dir or metacopy entry at " + rel +
                    ": mount overlayfs with redirect_dir=off,metacopy=off");
      }
      std::optional<LowerHit> lower;
      if (!hidden) lower = lookup_lower(lowers, rel);
      std::string link = S_ISLNK(st.st_mode) ? read_link(dir_fd, name) : "";
      std::string xd = xattr_digest(read_xattrs(dir_fd, name));
      bool changed = true;
      if (lower) {
        std::string lower_link = S_ISLNK(lower->st.st_mode) ? read_link(lower->parent.get(), lower->name) : "";
        std::string lower_xd = xattr_digest(read_xattrs(lower->parent.get(), lower->name));
        changed = !same_metadata(st, link, xd, lower->st, lower_link, lower_xd) ||
                  (S_ISREG(st.st_mode) && !same_content(dir_fd, name, lower->parent.get(), lower->name));
      }
      if (S_ISDIR(st.st_mode)) {
        bool opaque = has_overlay_xattr(dir_fd, name, "opaque");
        bool replaced = opaque && lower && S_ISDIR(lower->st.st_mode);
        if (changed || replaced) entries.push_back(entry_from_file(upper_fd, rel, rel, options.scan));
        if (replaced) {
          TarEntry e;
          e.path = rel;
          e.kind = TarKind::kOpaque;
          entries.push_back(std::move(e));
        }
        UniqueFd sub(openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!sub) throw sys_error("open upper " + rel);
        walk(sub.get(), upper_fd, rel, hidden || opaque || !lower || !S_ISDIR(lower->st.st_mode));
        continue;
      }
      if (S_ISSOCK(st.st_mode)) continue;  // sockets cannot be stored in a tar
      if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
        groups[st.st_ino].push_back(rel);
        inode_of[rel] = st.st_ino;
      }
      if (changed) entries.push_back(entry_from_file(upper_fd, rel, rel, options.scan));
    }
  }
};

}  // namespace

std::vector<TarEntry> overlay_diff(int upper_fd, const std::vector<int>& lower_fds, const DiffOptions& options) {
  Walker w{lower_fds, options, {}, {}, {}};
  w.walk(upper_fd, upper_fd, "", false);
  finish_entries(w.entries, w.groups, w.inode_of, upper_fd, options.scan);
  return std::move(w.entries);
}

}  // namespace slipway

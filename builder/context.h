#pragma once
// The build context: a directory walked once, with .dockerignore applied,
// into a sorted list of entries that COPY/ADD sources are resolved against.
//
// The context may be hostile (a checkout of untrusted code) and may change
// while we read it, so the walk never follows symlinks and never re-resolves
// path strings: every directory is opened with openat(parent_fd, name,
// O_NOFOLLOW | O_DIRECTORY) and checked against the lstat taken just before.
#include <sys/stat.h>

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "builder/dockerignore.h"
#include "common/fd.h"

namespace slipway {

enum class EntryType { kFile, kDir, kSymlink, kOther };  // kOther: fifo, socket, device

struct ContextEntry {
  std::string path;         // "dir/file.txt": relative to the context, '/'-separated, no "./"
  EntryType type = EntryType::kOther;
  struct stat st {};        // lstat(2) of the entry, taken during the walk
  std::string link_target;  // symlinks only: readlink(2), never resolved
};

// Order of a walk: parents before children, siblings by byte order. Equal to
// comparing paths bytewise with '/' sorting before every other byte.
bool context_path_less(std::string_view a, std::string_view b);

struct WalkStats {
  size_t dirs_read = 0;   // directories listed (pruned ones are not)
  size_t entries = 0;     // entries yielded
};

// Called for each entry that survives the ignore rules, in context order.
// `parent_fd` is the entry's directory, open only during the call: use it
// with openat(parent_fd, basename, O_NOFOLLOW) to read the entry safely.
using WalkVisitor = std::function<void(const ContextEntry& entry, int parent_fd)>;

// Walks the directory open at `root_fd` (not yielded itself). Excluded
// directories are skipped whole unless an exception may re-include something
// inside them; then they are read and yielded only if something inside them
// is (so parents still precede children). Throws Error on I/O errors and if
// a directory is swapped (e.g. for a symlink) while being walked.
WalkStats walk_context(int root_fd, const IgnoreMatcher& ignore, const WalkVisitor& visit);

// Opens `rel_path` below `root_fd` one component at a time with O_NOFOLLOW,
// so neither a symlink nor ".." can lead outside. `flags` are for the last
// component (O_CLOEXEC and O_NOFOLLOW are added). Throws Error.
UniqueFd open_in_context(int root_fd, std::string_view rel_path, int flags);

// A walked context directory.
class BuildContext {
 public:
  // Opens `dir` (following a symlink only for `dir` itself) and walks it.
  static BuildContext load(const std::string& dir, const IgnoreMatcher& ignore);

  const std::string& dir() const { return dir_; }
  int root_fd() const { return root_fd_.get(); }
  const ContextEntry& root() const { return root_; }  // path "."
  const std::vector<ContextEntry>& entries() const { return entries_; }
  const WalkStats& stats() const { return stats_; }
  // Whether ignore rules applied (entries() may then lack files of dir()).
  bool filtered() const { return filtered_; }

  // The entry at a cleaned relative path ("." is root()), or nullptr.
  const ContextEntry* find(std::string_view rel_path) const;
  // Everything below a directory entry (all entries for "."), in order.
  std::span<const ContextEntry> below(std::string_view dir) const;

  // Resolves one COPY/ADD source as Docker does: the source is cleaned with
  // the context as "/" (so "../x" is "x"), then either names an entry or, if
  // it has wildcards, is matched with Go's filepath.Match against every entry
  // ('*' stays within one path component). Returns the matching entries in
  // context order; throws Error naming the source if nothing matches.
  std::vector<ContextEntry> resolve_copy_source(std::string_view source) const;

  UniqueFd open(std::string_view rel_path, int flags) const { return open_in_context(root_fd(), rel_path, flags); }

 private:
  std::string dir_;
  UniqueFd root_fd_;
  ContextEntry root_;
  std::vector<ContextEntry> entries_;
  WalkStats stats_;
  bool filtered_ = false;
};

// "../a/./b/" -> "a/b", "/" -> ".": a COPY source as a path inside the context.
std::string clean_context_path(std::string_view source);

}  // namespace slipway

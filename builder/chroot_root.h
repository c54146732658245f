#pragma once
// The stage root of a chrooted RUN step (--isolation chroot), dressed for the
// step and undressed after it. Nothing can be mounted in a pod without
// CAP_SYS_ADMIN, so what the namespace sandbox mounts is put into the root
// dir itself: a fresh /dev with device nodes and /dev/shm, an empty /proc
// (a real proc mount only where mount works), copies of the host's
// resolv.conf and hosts, secrets, heredoc scripts, RUN --mount targets.
//
// Each such path is *swapped*: the image's own entry, if any, is renamed
// aside into a scratch dir on the same file system and ours takes its place;
// restore() puts the image's entry back. Swapped paths are excluded from the
// walking differ, so neither ours nor anything the step did to them reaches a
// layer, as with the mounts of Docker and BuildKit. Missing parent dirs are
// created before the "before" snapshot and removed again (when still empty)
// after the layer is written, and the parents' mtimes are put back, so the
// differ sees nothing of the dressing.
//
// Every path is resolved inside the root (symlinks followed as if the root
// were "/") and the parent dirs stay open as fds until restore(), so a step
// that moves or replaces them cannot make the builder act outside the root.
#include <sys/stat.h>

#include <set>
#include <string>
#include <vector>

#include "builder/sandbox.h"
#include "common/fd.h"

namespace slipway::sandbox {

class ChrootRoot {
 public:
  // Dresses `root` for `spec` (its binds and tmpfs mounts). `scratch` is an
  // empty-able dir on the same file system as `root`, for the image's
  // entries while they are swapped out. Throws Error if a path cannot be set
  // up; what was done by then is undone.
  ChrootRoot(const std::string& root, const RunSpec& spec, const std::string& scratch);
  ChrootRoot(const ChrootRoot&) = delete;
  ChrootRoot& operator=(const ChrootRoot&) = delete;
  ~ChrootRoot();

  // Relative paths ("dev", "etc/resolv.conf") the differ must skip.
  const std::set<std::string>& exclude() const { return exclude_; }
  // What the step will lack ("/dev/null: mknod: ..."); each message is given
  // once per process, so a build warns once, not at every step.
  std::vector<std::string> take_warnings();
  // Whether /proc is a real proc mount (only where mount is allowed).
  bool proc_mounted() const { return proc_mounted_; }

  // Undresses the root. Throws Error on the first failure, after trying the
  // rest. Idempotent; the destructor calls it and swallows errors.
  void restore();

 private:
  struct Swap {
    UniqueFd parent;     // O_PATH dir fd inside the root
    std::string name;
    std::string saved;   // the image's entry, renamed into scratch; "" if none
    std::string move_back;  // a cache dir moved in: its home ("" if ours was made)
    bool mounted = false;
  };
  struct Created {
    UniqueFd parent;
    std::string name;
  };
  struct Times {
    UniqueFd dir;  // O_RDONLY, for futimens
    dev_t dev = 0;
    ino_t ino = 0;
    struct timespec atime {}, mtime {}, dressed_mtime {};
  };

  void setup(const RunSpec& spec);
  // Opens the parent of `target` (absolute in-root path), creating missing
  // dirs. Returns an invalid fd if a component is not a directory.
  UniqueFd parent_of(const std::string& target, std::string* name);
  void remember_times(int dir_fd);
  Swap& swap_out(UniqueFd parent, const std::string& name, const std::string& target);
  void make_dev(const std::string& target);
  void make_proc(bool may_mount);
  void bind_file(const BindMount& b);
  void bind_dir(const BindMount& b);
  void empty_dir(const std::string& target, mode_t mode);
  void ensure_tmp();
  std::string path_of(int dir_fd, const std::string& name) const;

  UniqueFd root_;
  UniqueFd scratch_;
  std::string scratch_path_;
  std::vector<Swap> swaps_;
  std::vector<Created> created_;
  std::vector<Times> times_;
  std::set<std::string> exclude_;
  std::vector<std::string> warnings_;
  bool proc_mounted_ = false;
  bool restored_ = false;
  int next_saved_ = 0;
};

}  // namespace slipway::sandbox

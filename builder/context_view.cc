#include "builder/context_view.h"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fd.h"

namespace slipway::build {

namespace {

void copy_file(const BuildContext& ctx, const ContextEntry& e, const std::string& to) {
  UniqueFd in = ctx.open(e.path, O_RDONLY);
  UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!out) throw sys_error("create " + to);
  struct stat st {};
  if (fstat(in.get(), &st) != 0) throw sys_error("stat " + e.path);
  off_t left = st.st_size;
  while (left > 0) {
    ssize_t n = sendfile(out.get(), in.get(), nullptr, static_cast<size_t>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw sys_error("copy " + e.path);
    if (n == 0) break;  // shrank while copied: what was there is what the step sees
    left -= n;
  }
  if (fchmod(out.get(), e.st.st_mode & 07777) != 0) throw sys_error("chmod " + to);
  // Owners as the context has them, when we may set them (root); rootless,
  // the files are ours as the context's are.
  if (fchown(out.get(), e.st.st_uid, e.st.st_gid) != 0) {
    // not ours to give away: the step sees our ids, as with any rootless bind
  }
  struct timespec times[2] = {e.st.st_atim, e.st.st_mtim};
  futimens(out.get(), times);
}

void set_dir_metadata(const std::string& path, const struct stat& st) {
  if (chmod(path.c_str(), st.st_mode & 07777) != 0) throw sys_error("chmod " + path);
  if (lchown(path.c_str(), st.st_uid, st.st_gid) != 0) {
    // as for files
  }
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW);
}

}  // namespace

std::string context_view(BuildEnv& env) {
  const BuildContext& ctx = *env.context;
  if (!ctx.filtered()) return ctx.dir();
  const std::string key = "context";
  if (auto it = env.views.find(key); it != env.views.end()) return it->second;
  std::string root = env.work_dir + "/context-view";
  if (mkdir(root.c_str(), 0700) != 0) throw sys_error("mkdir " + root);
  try {
    for (const auto& e : ctx.entries()) {
      std::string to = root + "/" + e.path;
      switch (e.type) {
        case EntryType::kDir:
          if (mkdir(to.c_str(), 0700) != 0) throw sys_error("mkdir " + to);
          break;
        case EntryType::kFile:
          copy_file(ctx, e, to);
          break;
        case EntryType::kSymlink:
          if (symlink(e.link_target.c_str(), to.c_str()) != 0) throw sys_error("symlink " + to);
          if (lchown(to.c_str(), e.st.st_uid, e.st.st_gid) != 0) {
            // as for files
          }
          break;
        case EntryType::kOther:
          break;  // fifos, sockets, devices: not shown (opening one could block)
      }
    }
    // Directories last: a read-only one could not have been filled.
    for (auto it = ctx.entries().rbegin(); it != ctx.entries().rend(); ++it) {
      if (it->type == EntryType::kDir) set_dir_metadata(root + "/" + it->path, it->st);
    }
    set_dir_metadata(root, ctx.root().st);
  } catch (const Error& e) {
    throw e.with_context("making the view of the build context for a bind mount");
  }
  env.views[key] = root;
  return root;
}

}  // namespace slipway::build

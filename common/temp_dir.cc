#include "common/temp_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "common/error.h"

namespace slipway {

TempDir::TempDir(const std::string& parent, const std::string& prefix) {
  std::string dir = parent;
  if (dir.empty()) {
    const char* t = getenv("TMPDIR");
    dir = t && *t ? t : "/tmp";
  }
  std::string tmpl = dir + "/" + prefix + "XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) throw sys_error("creating a temporary directory in " + dir);
  path_ = buf.data();
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  try {
    remove_tree(path_);
  } catch (...) {
    // A destructor must not throw; what is left is in the state dir's tmp.
  }
}

namespace {

void remove_children(int dir_fd) {
  int dup_fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return;
  DIR* d = fdopendir(dup_fd);
  if (!d) {
    close(dup_fd);
    return;
  }
  std::vector<std::pair<std::string, bool>> names;
  while (struct dirent* e = readdir(d)) {
    if (!std::strcmp(e->d_name, ".") || !std::strcmp(e->d_name, "..")) continue;
    names.emplace_back(e->d_name, e->d_type == DT_DIR || e->d_type == DT_UNKNOWN);
  }
  closedir(d);
  for (const auto& [name, maybe_dir] : names) {
    if (unlinkat(dir_fd, name.c_str(), 0) == 0) continue;
    if (!maybe_dir && errno != EISDIR) continue;
    fchmodat(dir_fd, name.c_str(), 0700, 0);
    int sub = openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub >= 0) {
      remove_children(sub);
      close(sub);
    }
    unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR);
  }
}

}  // namespace

void remove_tree(const std::string& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) return;
  if (!S_ISDIR(st.st_mode)) {
    unlink(path.c_str());
    return;
  }
  chmod(path.c_str(), 0700);
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) {
    remove_children(fd);
    close(fd);
  }
  if (rmdir(path.c_str()) != 0 && errno != ENOENT) throw sys_error("removing " + path);
}

}  // namespace slipway

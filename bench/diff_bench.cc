// Snapshot cost: a RUN that changes 10 files on top of a large lower tree.
// The overlay differ reads only the overlayfs upper dir; the walking differ
// (the fallback) records the whole tree before the step and walks it again
// after. Both run on the same lower, in the same run, and the ratio is
// printed. Needs root (or a user namespace) to mount overlayfs.
//
//   diff_bench [--files 50000] [--changed 10] [--repeat 5] [--dir /tmp]
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/fd.h"
#include "common/temp_dir.h"
#include "layers/diff.h"

using namespace slipway;

namespace {

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void write_file(const std::string& path, const std::string& data) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd || write(fd.get(), data.data(), data.size()) != static_cast<ssize_t>(data.size())) {
    throw sys_error("write " + path);
  }
}

// files spread over dirs of 100, like a distribution's /usr.
void make_tree(const std::string& root, int files) {
  for (int i = 0; i < files; ++i) {
    std::string dir = root + "/d" + std::to_string(i / 100);
    if (i % 100 == 0 && mkdir(dir.c_str(), 0755) != 0) throw sys_error("mkdir " + dir);
    write_file(dir + "/f" + std::to_string(i), "content of file " + std::to_string(i) + "\n");
  }
}

// The step: modify some files, create one, delete one.
void change(const std::string& root, int changed, int files) {
  for (int k = 0; k < changed; ++k) {
    int i = (k * 7919) % files;
    write_file(root + "/d" + std::to_string(i / 100) + "/f" + std::to_string(i), "changed\n");
  }
  write_file(root + "/d0/new", "new\n");
  unlink((root + "/d1/f150").c_str());
}

UniqueFd open_dir(const std::string& p) {
  UniqueFd fd(open(p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw sys_error("open " + p);
  return fd;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int files = 50000, changed = 10, repeat = 5;
  std::string base_dir = "/tmp";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--files") files = std::atoi(argv[i + 1]);
    else if (a == "--changed") changed = std::atoi(argv[i + 1]);
    else if (a == "--repeat") repeat = std::atoi(argv[i + 1]);
    else if (a == "--dir") base_dir = argv[i + 1];
  }
  try {
    if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      throw sys_error("a private mount namespace (run as root)");
    }
    TempDir work(base_dir, "slipway-diff-bench-");
    std::string lower = work.path() + "/lower";
    mkdir(lower.c_str(), 0755);
    make_tree(lower, files);
    std::printf("lower: %d files in %d dirs; the step changes %d files, adds 1, deletes 1\n", files,
                (files + 99) / 100, changed);
    std::vector<double> overlay_ms, snap_ms, walk_ms;
    size_t overlay_entries = 0, walk_entries = 0;
    for (int r = 0; r < repeat; ++r) {
      // Overlay: mount, change, unmount, diff the upper.
      std::string run = work.path() + "/run" + std::to_string(r);
      for (const char* d : {"", "/u", "/w", "/m", "/copy"}) mkdir((run + d).c_str(), 0755);
      std::string opts = "lowerdir=" + lower + ",upperdir=" + run + "/u,workdir=" + run + "/w,redirect_dir=off,metacopy=off";
      if (mount("overlay", (run + "/m").c_str(), "overlay", 0, opts.c_str()) != 0) throw sys_error("mount overlay");
      change(run + "/m", changed, files);
      umount2((run + "/m").c_str(), 0);
      auto up = open_dir(run + "/u");
      auto lo = open_dir(lower);
      double t0 = now_ms();
      auto ov = overlay_diff(up.get(), {lo.get()});
      overlay_ms.push_back(now_ms() - t0);
      overlay_entries = ov.size();

      // Walking: a copy of the lower (hard links would share inodes with
      // the lower; a real copy is what the fallback works on).
      if (std::system(("cp -a " + lower + "/. " + run + "/copy").c_str()) != 0) throw Error("cp -a failed");
      auto cp = open_dir(run + "/copy");
      t0 = now_ms();
      auto before = snapshot_tree(cp.get());
      snap_ms.push_back(now_ms() - t0);
      change(run + "/copy", changed, files);
      t0 = now_ms();
      auto wk = walk_diff(before, cp.get());
      walk_ms.push_back(now_ms() - t0);
      walk_entries = wk.size();
      remove_tree(run);
    }
    double o = median(overlay_ms), s = median(snap_ms), w = median(walk_ms);
    std::printf("overlay differ:  %8.2f ms (median of %d), %zu entries\n", o, repeat, overlay_entries);
    std::printf("walking differ:  %8.2f ms snapshot before + %.2f ms walk after = %.2f ms, %zu entries\n", s, w, s + w,
                walk_entries);
    std::printf("walking / overlay: %.0fx\n", (s + w) / o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "diff_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}

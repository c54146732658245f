// Unpack throughput: one gzip layer of a generated tree (half compressible
// text, half random bytes) applied by Slipway's safe unpacker, by
// `tar -xzf` and by `umoci unpack`, on the same blob in the same run.
//
//   unpack_bench [--size-mb 256] [--files 10000] [--repeat 3] [--dir /tmp]
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <random>
#include <string>

#include "common/error.h"
#include "common/fd.h"
#include "common/temp_dir.h"
#include "layers/oci_layout.h"
#include "layers/pipeline.h"
#include "layers/unpack.h"

using namespace slipway;

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void make_tree(const std::string& root, size_t total, int files) {
  std::mt19937_64 rng(42);
  const char* words[] = {"layer ", "image ", "build ", "slipway ", "overlay ", "registry ", "digest ", "manifest\n"};
  size_t per_file = total / static_cast<size_t>(files);
  std::string buf;
  for (int i = 0; i < files; ++i) {
    std::string dir = root + "/d" + std::to_string(i / 100);
    if (i % 100 == 0) mkdir(dir.c_str(), 0755);
    buf.clear();
    if (i % 2 == 0) {
      while (buf.size() < per_file) buf += words[rng() % 8];
      buf.resize(per_file);
    } else {
      buf.resize(per_file);
      for (size_t k = 0; k + 8 <= per_file; k += 8) {
        uint64_t v = rng();
        std::memcpy(&buf[k], &v, 8);
      }
    }
    UniqueFd fd(open((dir + "/f" + std::to_string(i)).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd || write(fd.get(), buf.data(), buf.size()) != static_cast<ssize_t>(buf.size())) throw sys_error("write");
  }
}

template <typename Fn>
double best_of(int repeat, Fn&& fn) {
  double best = 1e99;
  for (int r = 0; r < repeat; ++r) {
    double t0 = now_s();
    fn(r);
    best = std::min(best, now_s() - t0);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  size_t size_mb = 256;
  int files = 10000, repeat = 3;
  std::string base = "/tmp";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--size-mb") size_mb = std::strtoul(argv[i + 1], nullptr, 10);
    else if (a == "--files") files = std::atoi(argv[i + 1]);
    else if (a == "--repeat") repeat = std::atoi(argv[i + 1]);
    else if (a == "--dir") base = argv[i + 1];
  }
  try {
    TempDir work(base, "slipway-unpack-bench-");
    std::string tree = work.path() + "/tree";
    mkdir(tree.c_str(), 0755);
    make_tree(tree, size_mb << 20, files);
    auto layout = OciLayout::create(work.path() + "/layout");
    UniqueFd tree_fd(open(tree.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    TarOptions tar;
    tar.source_dir_fd = tree_fd.get();
    auto layer = write_layer(layout.store(), scan_tree(tree_fd.get()), tar);
    ImageConfig config;
    config.os = "linux";
    config.architecture = "amd64";
    config.diff_ids = {layer.diff_id};
    layout.write_image(config, {layer.descriptor}, "bench");
    std::string blob = layout.store().blob_path(layer.descriptor.digest);
    std::printf("layer: %zu MB in %d files, %.1f MB gzip\n", size_mb, files, double(layer.descriptor.size) / 1e6);
    std::system("sync");

    auto fresh = [&](const std::string& name, int r) {
      std::string d = work.path() + "/" + name + std::to_string(r);
      remove_tree(d);
      return d;
    };
    double ours = best_of(repeat, [&](int r) {
      std::string d = fresh("ours", r);
      mkdir(d.c_str(), 0755);
      layers::apply_layer(d, blob);
    });
    double tar_s = best_of(repeat, [&](int r) {
      std::string d = fresh("tar", r);
      mkdir(d.c_str(), 0755);
      if (std::system(("tar -xzf " + blob + " -C " + d).c_str()) != 0) throw Error("tar -xzf failed");
    });
    double umoci = best_of(repeat, [&](int r) {
      std::string d = fresh("umoci", r);
      if (std::system(("umoci unpack --image " + work.path() + "/layout:bench " + d + " >/dev/null").c_str()) != 0) {
        throw Error("umoci unpack failed");
      }
    });
    double mb = double(size_mb);
    std::printf("slipway apply_layer  %6.2f s  %7.1f MB/s\n", ours, mb / ours);
    std::printf("tar -xzf             %6.2f s  %7.1f MB/s   slipway/tar   %.2fx\n", tar_s, mb / tar_s, tar_s / ours);
    std::printf("umoci unpack         %6.2f s  %7.1f MB/s   slipway/umoci %.2fx\n", umoci, mb / umoci, umoci / ours);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unpack_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}

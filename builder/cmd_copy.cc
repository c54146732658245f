// slipway copy SRC DST: an image, or with --all a whole index, between
// registries, OCI layouts and docker-archives, as `skopeo copy` does.
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>

#include "builder/commands.h"
#include "builder/flags.h"
#include "builder/image_copy.h"
#include "builder/interrupt.h"
#include "builder/progress.h"
#include "builder/registry_flags.h"
#include "common/error.h"
#include "registry/log.h"

namespace slipway::cli {

int cmd_copy(const Args& args) {
  build::BuildOptions o;
  o.verbosity = "warn";  // the per-blob lines below say what the registry log would
  std::string platform_text, digest_file;
  bool all = false, quiet = false;
  int parallel = 4;
  FlagSet fs("slipway copy", "[options] SRC DST",
             "Copy an image from SRC to DST: docker://REF (or a plain REF), oci:PATH[:TAG]\n"
             "or docker-archive:PATH[:REF]. An index SRC gives the image for --platform, or\n"
             "with --all every image and the index itself. Blobs DST has are skipped, blobs in\n"
             "another repository of the same registry are mounted; manifests keep their bytes\n"
             "and digests. Prints the digest of what DST now names.");
  fs.add_bool("all", 'a', &all, "copy the whole index: every platform's image and the index");
  fs.add_string("platform", 0, "OS/ARCH[/VARIANT]", &platform_text,
                "the image to take from an index SRC without --all (default: the host's)");
  fs.add_string("digestfile", 0, "FILE", &digest_file, "write the digest of the copied manifest to FILE");
  fs.add_string("state-dir", 0, "DIR", &o.state_dir,
                "content store for blobs passing through the disk (default as for build)");
  fs.add_int("parallel", 'j', "N", &parallel, "blobs copied at once (default 4)");
  fs.add_bool("quiet", 'q', &quiet, "no progress lines");
  add_registry_flags(fs, o);
  fs.add_string("verbosity", 'v', "LEVEL", &o.verbosity, "registry log level: warn (default), info, debug or trace");
  auto pos = fs.parse(args);
  if (fs.help_requested()) {
    std::cout << fs.help();
    return 0;
  }
  if (pos.size() != 2) throw usage_error("copy takes SRC and DST (see 'slipway copy --help')");
  if (parallel < 1 || parallel > 64) throw usage_error("--parallel takes 1 to 64");
  static const std::map<std::string, registry::LogLevel> levels = {{"warn", registry::LogLevel::kWarn},
                                                                   {"info", registry::LogLevel::kInfo},
                                                                   {"debug", registry::LogLevel::kDebug},
                                                                   {"trace", registry::LogLevel::kTrace}};
  auto level = levels.find(o.verbosity);
  if (level == levels.end()) throw usage_error("--verbosity takes warn, info, debug or trace");

  copy::Location src = copy::Location::parse(pos[0]);
  copy::Location dst = copy::Location::parse(pos[1]);
  copy::CopyOptions co;
  co.all = all;
  if (!platform_text.empty()) co.platform = parse_platform(platform_text);
  co.state_dir = o.state_dir;
  co.parallel = parallel;
  // Validates the registry flags now, so a typo is a usage error before any transfer.
  registry_options(o, true, "");
  co.registry_options = [&o](const std::string& host, bool pushing) { return registry_options(o, pushing, host); };
  std::mutex out_mu;
  registry::set_log_sink(
      [&out_mu](registry::LogLevel, const std::string& m) {
        std::lock_guard lock(out_mu);
        std::cerr << m << "\n";
      },
      level->second);
  if (!quiet) {
    co.progress = [&out_mu](const std::string& line) {
      std::lock_guard lock(out_mu);
      std::cerr << line << "\n";
    };
  }

  // Ctrl-C removes the scratch space (blobs passing through the disk).
  build::install_interrupt_handler();
  auto start = std::chrono::steady_clock::now();
  copy::CopyResult r = copy::copy_image(src, dst, co);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!digest_file.empty()) {
    std::ofstream f(digest_file, std::ios::trunc);
    if (!(f << r.digest.str()) || !f.flush()) throw Error("cannot write --digestfile " + digest_file);
  }
  if (!quiet) {
    char took[32];
    std::snprintf(took, sizeof took, "%.2fs", secs);
    std::cerr << "copied " << src.text << " to " << dst.text << ": " << r.manifests << " manifest"
              << (r.manifests == 1 ? "" : "s") << ", " << r.blobs_uploaded << " blobs copied ("
              << build::human_size(static_cast<int64_t>(r.bytes_uploaded)) << "), " << r.blobs_mounted << " mounted, "
              << r.blobs_existed << " already there, in " << took << "\n";
  }
  std::cout << r.digest.str() << "\n";
  return 0;
}

}  // namespace slipway::cli

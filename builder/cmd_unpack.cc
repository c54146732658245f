// slipway unpack SRC DIR: every layer of an image applied to DIR through the
// safe unpacker, as `umoci unpack --rootless` or `crane export` do. As an
// unprivileged user, owners that cannot be set are recorded in the
// user.rootlesscontainers xattr.
#include <sys/stat.h>

#include <iostream>

#include "builder/commands.h"
#include "builder/flags.h"
#include "builder/registry_flags.h"
#include "common/error.h"
#include "common/proc.h"
#include "common/temp_dir.h"
#include "layers/docker_archive.h"
#include "layers/oci_layout.h"
#include "layers/unpack.h"
#include "registry/client.h"
#include "registry/reference.h"

namespace slipway::cli {

int cmd_unpack(const Args& args) {
  build::BuildOptions o;
  std::string platform_text;
  FlagSet fs("slipway unpack", "[options] SRC DIR",
             "Apply every layer of an image to DIR, safely: no entry, symlink or hardlink can\n"
             "write outside DIR. SRC is oci:PATH[:TAG], docker-archive:PATH or docker://REF\n"
             "(a plain reference means docker://).");
  fs.add_string("platform", 0, "OS/ARCH[/VARIANT]", &platform_text, "the platform to pick from an index (default: the host's)");
  add_registry_flags(fs, o);
  auto pos = fs.parse(args);
  if (fs.help_requested()) {
    std::cout << fs.help();
    return 0;
  }
  if (pos.size() != 2) throw usage_error("unpack takes SRC and DIR (see 'slipway unpack --help')");
  require_proc();
  const std::string& src = pos[0];
  const std::string& dir = pos[1];
  Platform platform = platform_text.empty() ? host_platform() : parse_platform(platform_text);
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) throw sys_error("mkdir " + dir);

  std::vector<std::string> blobs;
  std::optional<TempDir> scratch;
  std::optional<ContentStore> store;
  if (src.rfind("oci:", 0) == 0) {
    std::string rest = src.substr(4), path = rest, tag;
    auto colon = rest.rfind(':');
    if (colon != std::string::npos && rest.find('/', colon) == std::string::npos) {
      path = rest.substr(0, colon);
      tag = rest.substr(colon + 1);
    }
    auto layout = OciLayout::open(path);
    auto r = layout.resolve(tag, platform);
    for (const auto& l : r.manifest.layers) blobs.push_back(layout.store().blob_path(l.digest));
  } else if (src.rfind("docker-archive:", 0) == 0) {
    scratch.emplace();
    store.emplace(scratch->path());
    auto images = read_docker_archive(src.substr(15), *store);
    if (images.empty()) throw Error(src + " holds no image");
    for (const auto& l : images[0].manifest.layers) blobs.push_back(store->blob_path(l.digest));
  } else {
    std::string text = src.rfind("docker://", 0) == 0 ? src.substr(9) : src;
    auto ref = registry::Reference::parse(text);
    registry::RegistryClient client(ref.registry, registry_options(o, false, ref.registry));
    auto fetched = client.get_image_manifest(ref.repository, ref.manifest_ref(), platform);
    Manifest m = parse_manifest(fetched.body);
    scratch.emplace();
    store.emplace(scratch->path());
    for (const auto& l : m.layers) {
      auto w = store->writer();
      client.get_blob(ref.repository, l.digest, [&w](const char* d, size_t n) { w.write(d, n); }, l.size);
      w.commit(l.digest, static_cast<uint64_t>(l.size));
      blobs.push_back(store->blob_path(l.digest));
    }
  }
  uint64_t entries = 0, bytes = 0;
  for (const auto& b : blobs) {
    auto r = layers::apply_layer(dir, b);
    entries += r.entries;
    bytes += r.bytes;
    for (const auto& s : r.skipped) std::cerr << "slipway: skipped " << s << "\n";
  }
  std::cerr << "unpacked " << blobs.size() << " layers, " << entries << " entries, " << bytes << " bytes into "
            << dir << "\n";
  return 0;
}

}  // namespace slipway::cli

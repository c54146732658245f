// `slipway manifest inspect` and `slipway manifest create`: read a manifest
// or index from a registry, and assemble a multi-platform index from images
// already pushed to the same registry.
#include <iostream>
#include <map>

#include <nlohmann/json.hpp>

#include "builder/commands.h"
#include "builder/flags.h"
#include "builder/registry_flags.h"
#include "common/error.h"
#include "registry/client.h"
#include "registry/log.h"
#include "registry/reference.h"

namespace slipway::cli {
namespace {

using registry::Descriptor;
using registry::RegistryClient;

// The registry flags shared with `slipway build`, plus the log level.
struct RegistryFlags {
  build::BuildOptions options;

  void add_to(FlagSet& fs) {
    add_registry_flags(fs, options);
    fs.add_string("verbosity", 'v', "LEVEL", &options.verbosity, "log level: warn, info, debug or trace");
  }

  registry::RegistryOptions for_host(const std::string& host, bool pushing) const {
    static const std::map<std::string, registry::LogLevel> levels = {{"warn", registry::LogLevel::kWarn},
                                                                     {"info", registry::LogLevel::kInfo},
                                                                     {"debug", registry::LogLevel::kDebug},
                                                                     {"trace", registry::LogLevel::kTrace}};
    auto it = levels.find(options.verbosity);
    if (it == levels.end()) throw usage_error("--verbosity takes warn, info, debug or trace");
    registry::set_log_sink([](registry::LogLevel, const std::string& m) { std::cerr << m << "\n"; }, it->second);
    return registry_options(options, pushing, host);
  }
};

int inspect(const Args& args) {
  FlagSet fs("slipway manifest inspect", "[--raw] REF",
             "Print the manifest or index REF names: a summary, or with --raw the exact bytes\n"
             "the registry serves (their sha256 is the digest).");
  bool raw = false;
  RegistryFlags rf;
  fs.add_bool("raw", 0, &raw, "print the manifest bytes unchanged");
  rf.add_to(fs);
  auto pos = fs.parse(args);
  if (fs.help_requested()) {
    std::cout << fs.help();
    return 0;
  }
  if (pos.size() != 1) throw usage_error("manifest inspect takes exactly one REF");
  Reference ref = Reference::parse(pos[0]);
  RegistryClient client(ref.registry, rf.for_host(ref.registry, false));
  registry::FetchedManifest m = client.get_manifest(ref.repository, ref.manifest_ref());
  if (raw) {
    std::cout << m.body;
    return 0;
  }
  std::cout << "Name:       " << ref.str() << "\n"
            << "Digest:     " << m.digest.str() << "\n"
            << "MediaType:  " << m.media_type << "\n"
            << "Size:       " << m.body.size() << "\n";
  if (registry::is_index_media_type(m.media_type)) {
    registry::ImageIndex index = registry::parse_index(m.body);
    std::cout << "Manifests:\n";
    for (const auto& d : index.manifests) {
      std::cout << "  " << (d.platform ? d.platform->str() : std::string("(no platform)")) << "  " << d.digest.str()
                << "  " << d.media_type << "\n";
    }
    for (const auto& [k, v] : index.annotations) std::cout << "Annotation: " << k << "=" << v << "\n";
  } else {
    registry::ImageManifest im = registry::parse_manifest(m.body);
    std::cout << "Config:     " << im.config.digest.str() << "\n"
              << "Layers:\n";
    for (const auto& l : im.layers) std::cout << "  " << l.digest.str() << "  " << l.size << "  " << l.media_type << "\n";
  }
  return 0;
}

// One SRC of `manifest create`: "REF" or "REF=os/arch[/variant]".
struct Source {
  Reference ref;
  std::optional<Platform> platform;
};

Source parse_source(const std::string& text) {
  Source s;
  auto eq = text.rfind('=');
  s.ref = Reference::parse(text.substr(0, eq));
  if (eq != std::string::npos) s.platform = parse_platform(text.substr(eq + 1));
  return s;
}

Platform platform_from_config(const std::string& config_json, const std::string& where) {
  auto j = nlohmann::json::parse(config_json, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("os") || !j.contains("architecture") ||
      !j["os"].is_string() || !j["architecture"].is_string()) {
    throw Error(where + ": image config has no os/architecture; give the platform as SRC=os/arch[/variant]");
  }
  Platform p;
  p.os = j["os"].get<std::string>();
  p.architecture = j["architecture"].get<std::string>();
  if (j.contains("variant") && j["variant"].is_string()) p.variant = j["variant"].get<std::string>();
  if (j.contains("os.version") && j["os.version"].is_string()) p.os_version = j["os.version"].get<std::string>();
  return p;
}

int create(const Args& args) {
  FlagSet fs("slipway manifest create", "--target REF [--format oci|docker] [--annotation K=V]... SRC...",
             "Push an index (manifest list) to REF that lists the single-platform images SRC.\n"
             "Each SRC is an image in the same registry as REF, optionally with its platform\n"
             "as SRC=os/arch[/variant] (default: read from the image's config). Images from\n"
             "other repositories are mounted into REF's repository first.");
  std::string target, format = "oci";
  std::vector<std::string> annotations;
  RegistryFlags rf;
  fs.add_string("target", 't', "REF", &target, "where to push the index (a tag)");
  fs.add_string("format", 0, "oci|docker", &format, "OCI image index (default) or Docker manifest list");
  fs.add_list("annotation", 0, "K=V", &annotations, "annotation on the index (OCI only)");
  rf.add_to(fs);
  auto pos = fs.parse(args);
  if (fs.help_requested()) {
    std::cout << fs.help();
    return 0;
  }
  if (target.empty()) throw usage_error("manifest create needs --target REF");
  if (pos.empty()) throw usage_error("manifest create needs at least one SRC image");
  if (format != "oci" && format != "docker") throw usage_error("--format takes oci or docker, got \"" + format + "\"");
  if (format == "docker" && !annotations.empty()) throw usage_error("--annotation needs --format oci");
  Reference dest = Reference::parse(target);
  std::vector<Source> sources;
  for (const auto& p : pos) {
    sources.push_back(parse_source(p));
    if (sources.back().ref.registry != dest.registry) {
      throw usage_error("SRC " + p + " is not in the target's registry " + dest.registry);
    }
  }
  registry::ImageIndex index;
  index.media_type = format == "oci" ? registry::media_type::kOciIndex : registry::media_type::kDockerManifestList;
  for (const auto& a : annotations) {
    auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0) throw usage_error("--annotation takes K=V, got \"" + a + "\"");
    index.annotations[a.substr(0, eq)] = a.substr(eq + 1);
  }

  RegistryClient client(dest.registry, rf.for_host(dest.registry, true));
  for (const auto& src : sources) {
    const std::string name = src.ref.str();
    registry::FetchedManifest m = client.get_manifest(src.ref.repository, src.ref.manifest_ref());
    if (registry::is_index_media_type(m.media_type)) {
      throw Error(name + " is itself an index; list its single-platform images instead");
    }
    registry::ImageManifest im = registry::parse_manifest(m.body);
    Platform platform = src.platform
                            ? *src.platform
                            : platform_from_config(client.get_blob_bytes(src.ref.repository, im.config.digest), name);
    if (src.ref.repository != dest.repository) {
      // An index may only name manifests its own repository holds.
      std::vector<Descriptor> blobs = im.layers;
      blobs.push_back(im.config);
      for (const auto& b : blobs) {
        if (client.blob_size(dest.repository, b.digest)) continue;
        if (!client.mount_blob(dest.repository, b.digest, src.ref.repository)) {
          throw Error("could not mount " + b.digest.str() + " from " + src.ref.repository + " into " +
                      dest.repository);
        }
      }
      client.put_manifest(dest.repository, m.digest.str(), m.media_type, m.body);
    }
    Descriptor d;
    d.media_type = m.media_type;
    d.digest = m.digest;
    d.size = static_cast<int64_t>(m.body.size());
    d.platform = platform;
    index.manifests.push_back(d);
    std::cerr << "added " << name << " as " << platform.str() << " (" << m.digest.str() << ")\n";
  }
  std::string body = registry::to_json(index);
  std::string tag = dest.tag.empty() ? "" : dest.tag;
  Digest digest = client.put_manifest(dest.repository, tag, index.media_type, body);
  std::cout << dest.name() << (tag.empty() ? "" : ":" + tag) << "@" << digest.str() << "\n";
  return 0;
}

}  // namespace

int cmd_manifest(const Args& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << "usage: slipway manifest inspect [--raw] REF\n"
                 "       slipway manifest create --target REF [--format oci|docker] [--annotation K=V] SRC...\n";
    return args.empty() ? kExitUsage : 0;
  }
  Args rest(args.begin() + 1, args.end());
  if (args[0] == "inspect") return inspect(rest);
  if (args[0] == "create") return create(rest);
  throw usage_error("unknown manifest subcommand \"" + args[0] + "\" (inspect or create)");
}

}  // namespace slipway::cli

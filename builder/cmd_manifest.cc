// `slipway manifest inspect` and `slipway manifest create`: read a manifest
// or index from a registry, and assemble a multi-platform index from images
// already pushed to the same registry.
#include <algorithm>
#include <iostream>
#include <map>
#include <mutex>

#include <nlohmann/json.hpp>

#include "builder/commands.h"
#include "builder/flags.h"
#include "builder/image_copy.h"
#include "builder/registry_flags.h"
#include "common/error.h"
#include "common/oci.h"
#include "registry/client.h"
#include "registry/log.h"
#include "registry/reference.h"

namespace slipway::cli {
namespace {

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
  if (is_index_media_type(m.media_type)) {
    Index index = parse_index(m.body);
    std::cout << "Manifests:\n";
    for (const auto& d : index.manifests) {
      std::cout << "  " << (d.platform ? d.platform->str() : std::string("(no platform)")) << "  " << d.digest.str()
                << "  " << d.media_type << "\n";
    }
    for (const auto& [k, v] : index.annotations) std::cout << "Annotation: " << k << "=" << v << "\n";
  } else {
    Manifest im = parse_manifest(m.body);
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

// Makes the manifest `digest` of `from` (and everything it references)
// available in `to`: an index may only name manifests its own repository holds.
void bring_manifest(RegistryClient& client, const std::string& from, const std::string& to,
                    const registry::FetchedManifest& m) {
  if (from == to) return;
  Manifest im = parse_manifest(m.body);
  std::vector<Descriptor> blobs = im.layers;
  blobs.push_back(im.config);
  for (const auto& b : blobs) {
    if (client.blob_size(to, b.digest)) continue;
    if (!client.mount_blob(to, b.digest, from)) {
      throw Error("could not mount " + b.digest.str() + " from " + from + " into " + to);
    }
  }
  client.put_manifest(to, m.digest.str(), m.media_type, m.body);
}

// The index entries one SRC contributes: an image gives one (its platform
// from its config unless SRC names one), an index gives all of its own.
std::vector<Descriptor> entries_for(RegistryClient& client, const Source& src, const Reference& dest) {
  const std::string name = src.ref.str();
  registry::FetchedManifest m = client.get_manifest(src.ref.repository, src.ref.manifest_ref());
  std::vector<Descriptor> out;
  if (is_index_media_type(m.media_type)) {
    if (src.platform) throw usage_error(name + " is an index: it cannot take a =os/arch override");
    for (const auto& child : parse_index(m.body).manifests) {
      auto cm = client.get_manifest(src.ref.repository, child.digest.str());
      if (is_index_media_type(cm.media_type)) throw Error(name + " nests an index; that is not supported");
      bring_manifest(client, src.ref.repository, dest.repository, cm);
      out.push_back(child);
    }
    if (src.ref.repository != dest.repository) {
      client.put_manifest(dest.repository, m.digest.str(), m.media_type, m.body);
    }
    return out;
  }
  Manifest im = parse_manifest(m.body);
  Descriptor d;
  d.media_type = m.media_type;
  d.digest = m.digest;
  d.size = static_cast<int64_t>(m.body.size());
  d.platform = src.platform ? *src.platform
                            : platform_from_config(client.get_blob_bytes(src.ref.repository, im.config.digest), name);
  bring_manifest(client, src.ref.repository, dest.repository, m);
  out.push_back(d);
  return out;
}

// Adds an entry; an entry of the same platform already there is replaced
// (the later one wins), with a warning.
void put_entry(Index& index, const Descriptor& d) {
  auto same = [&](const Descriptor& e) {
    return e.platform && d.platform && normalize_platform(*e.platform) == normalize_platform(*d.platform) &&
           e.platform->os_version == d.platform->os_version;
  };
  auto it = std::find_if(index.manifests.begin(), index.manifests.end(), same);
  if (it != index.manifests.end()) {
    if (it->digest != d.digest) {
      std::cerr << "warning: " << d.platform->str() << " was " << it->digest.str() << ", now " << d.digest.str()
                << "\n";
    }
    *it = d;
  } else {
    index.manifests.push_back(d);
  }
}

std::vector<Source> parse_sources(const std::vector<std::string>& pos) {
  std::vector<Source> sources;
  for (const auto& p : pos) sources.push_back(parse_source(p));
  return sources;
}

// An index may only name manifests of its own repository, and a mount only
// works within one registry: a SRC in another registry is copied (its whole
// index, if it is one) into the target repository, untagged, and taken from
// there like any other SRC.
void bring_from_other_registries(std::vector<Source>& sources, const Reference& dest, const RegistryFlags& rf) {
  for (auto& src : sources) {
    if (src.ref.registry == dest.registry) continue;
    copy::CopyOptions co;
    co.all = true;
    co.state_dir = rf.options.state_dir;
    const build::BuildOptions& o = rf.options;
    co.registry_options = [&o](const std::string& host, bool pushing) { return registry_options(o, pushing, host); };
    co.progress = [](const std::string& line) {
      static std::mutex mu;  // blobs are copied on several threads
      std::lock_guard lock(mu);
      std::cerr << line << "\n";
    };
    Reference into;
    into.registry = dest.registry;
    into.repository = dest.repository;
    copy::Location to = copy::Location::registry(into);
    to.text = dest.name() + " (untagged)";
    copy::CopyResult r = copy::copy_image(copy::Location::registry(src.ref), to, co);
    std::cerr << "copied " << src.ref.str() << " into " << dest.name() << " as " << r.digest.str() << "\n";
    src.ref = into.with_digest(r.digest.str());
  }
}

int push_index(RegistryClient& client, const Reference& dest, const Index& index) {
  std::string tag = dest.tag.empty() ? "" : dest.tag;
  Digest digest = client.put_manifest(dest.repository, tag, index.media_type, index_json(index));
  std::cout << dest.name() << (tag.empty() ? "" : ":" + tag) << "@" << digest.str() << "\n";
  return 0;
}

int create(const Args& args) {
  FlagSet fs("slipway manifest create", "--target REF [--format oci|docker] [--annotation K=V]... SRC...",
             "Push an index (manifest list) to REF that lists the images SRC. Each SRC is an\n"
             "image, optionally with its platform as SRC=os/arch[/variant] (default: read\n"
             "from the image's config), or an index whose entries are all taken. A repeated\n"
             "platform: the later SRC wins. Images from other repositories of REF's registry\n"
             "are mounted into REF's repository first; images in other registries are copied.");
  std::string target, format = "oci";
  std::vector<std::string> annotations;
  RegistryFlags rf;
  fs.add_string("target", 't', "REF", &target, "where to push the index (a tag)");
  fs.add_string("format", 0, "oci|docker", &format, "OCI image index (default) or Docker manifest list");
  fs.add_list("annotation", 0, "K=V", &annotations, "annotation on the index (OCI only)");
  rf.add_to(fs);
  fs.add_string("state-dir", 0, "DIR", &rf.options.state_dir, "content store for blobs copied from other registries");
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
  auto sources = parse_sources(pos);
  Index index;
  index.media_type = format == "oci" ? media::kOciIndex : media::kDockerManifestList;
  for (const auto& a : annotations) {
    auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0) throw usage_error("--annotation takes K=V, got \"" + a + "\"");
    index.annotations[a.substr(0, eq)] = a.substr(eq + 1);
  }
  RegistryClient client(dest.registry, rf.for_host(dest.registry, true));
  bring_from_other_registries(sources, dest, rf);
  for (const auto& src : sources) {
    for (const auto& d : entries_for(client, src, dest)) {
      put_entry(index, d);
      std::cerr << "added " << src.ref.str() << " as " << (d.platform ? d.platform->str() : "?") << " ("
                << d.digest.str() << ")\n";
    }
  }
  return push_index(client, dest, index);
}

// Read, modify, write: two appends to one index at the same moment can lose
// one of them (the registry has no compare-and-swap on tags). Let one job
// own the index, or run the appends one after the other.
int append(const Args& args) {
  FlagSet fs("slipway manifest append", "--target REF SRC...",
             "Add the images SRC to the existing index at REF, replacing entries of the same\n"
             "platform (SRC as in `manifest create`). The index keeps its media type and\n"
             "annotations. It reads, changes and writes the index: two appends at the same\n"
             "moment can lose one entry, so let one job own an index.");
  std::string target;
  RegistryFlags rf;
  fs.add_string("target", 't', "REF", &target, "the index to change (a tag)");
  rf.add_to(fs);
  fs.add_string("state-dir", 0, "DIR", &rf.options.state_dir, "content store for blobs copied from other registries");
  auto pos = fs.parse(args);
  if (fs.help_requested()) {
    std::cout << fs.help();
    return 0;
  }
  if (target.empty()) throw usage_error("manifest append needs --target REF");
  if (pos.empty()) throw usage_error("manifest append needs at least one SRC image");
  Reference dest = Reference::parse(target);
  auto sources = parse_sources(pos);
  RegistryClient client(dest.registry, rf.for_host(dest.registry, true));
  if (!client.head_manifest(dest.repository, dest.manifest_ref())) {
    throw Error("no index at " + dest.str() + ": create it with `slipway manifest create`");
  }
  bring_from_other_registries(sources, dest, rf);
  auto existing = client.get_manifest(dest.repository, dest.manifest_ref());
  if (!is_index_media_type(existing.media_type)) throw Error(dest.str() + " is an image, not an index");
  Index index = parse_index(existing.body);
  for (const auto& src : sources) {
    for (const auto& d : entries_for(client, src, dest)) put_entry(index, d);
  }
  return push_index(client, dest, index);
}

}  // namespace

int cmd_manifest(const Args& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << "usage: slipway manifest inspect [--raw] REF\n"
                 "       slipway manifest create --target REF [--format oci|docker] [--annotation K=V] SRC...\n"
                 "       slipway manifest append --target REF SRC...\n";
    return args.empty() ? kExitUsage : 0;
  }
  Args rest(args.begin() + 1, args.end());
  if (args[0] == "inspect") return inspect(rest);
  if (args[0] == "create") return create(rest);
  if (args[0] == "append") return append(rest);
  throw usage_error("unknown manifest subcommand \"" + args[0] + "\" (inspect, create or append)");
}

}  // namespace slipway::cli

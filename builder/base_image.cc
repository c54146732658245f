#include "builder/base_image.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "builder/registry_flags.h"
#include "common/error.h"
#include "common/temp_dir.h"
#include "layers/oci_layout.h"
#include "layers/unpack.h"
#include "registry/client.h"
#include "registry/reference.h"

namespace slipway::build {

namespace {

// Copies a verified blob from another store (an OCI layout) into ours.
void import_blob(const ContentStore& from, ContentStore& to, const Descriptor& d) {
  if (to.exists(d.digest)) return;
  auto w = to.writer();
  from.copy_to(d.digest, w);
  w.commit(d.digest, static_cast<uint64_t>(d.size));
}

std::vector<LayerRecord> layer_records(const Manifest& m, const ImageConfig& c, const std::string& host,
                                       const std::string& repo) {
  if (m.layers.size() != c.diff_ids.size()) {
    throw Error("image has " + std::to_string(m.layers.size()) + " layers but its config lists " +
                std::to_string(c.diff_ids.size()) + " diff IDs");
  }
  std::vector<LayerRecord> out;
  for (size_t i = 0; i < m.layers.size(); ++i) out.push_back({m.layers[i], c.diff_ids[i], host, repo});
  return out;
}

// "oci-layout://PATH[:TAG]" or "oci:PATH[:TAG]" -> PATH, TAG.
std::pair<std::string, std::string> layout_path_tag(const std::string& spec) {
  std::string rest = spec.rfind("oci-layout://", 0) == 0 ? spec.substr(13) : spec.substr(4);
  auto colon = rest.rfind(':');
  if (colon != std::string::npos && rest.find('/', colon) == std::string::npos) {
    return {rest.substr(0, colon), rest.substr(colon + 1)};
  }
  return {rest, ""};
}

void pull_layer(BuildEnv& env, registry::RegistryClient& client, const registry::Reference& ref, const Descriptor& l) {
  env.progress.info("pulling " + l.digest.str() + " (" + human_size(l.size) + ") from " + ref.name());
  auto w = env.store.writer();
  w.skip_hashing();  // get_blob verifies the digest and throws before commit
  uint64_t got = 0;
  auto total = static_cast<uint64_t>(l.size);
  client.get_blob(ref.repository, l.digest, [&](const char* data, size_t len) {
    w.write(data, len);
    got += len;
    env.progress.transfer("pull", got, total);
  }, l.size);
  w.commit(l.digest, static_cast<uint64_t>(l.size));
}

}  // namespace

bool ImageSource::fetch(const Descriptor& layer) {
  auto it = deferred_.find(layer.digest);
  if (it == deferred_.end()) return false;
  if (env_.store.exists(layer.digest)) return true;
  const registry::Reference& ref = it->second;
  try {
    registry::RegistryClient client(ref.registry, cli::registry_options(env_.options, false, ref.registry));
    pull_layer(env_, client, ref, layer);
  } catch (const Error& e) {
    throw e.with_context("pulling base image " + ref.str());
  }
  return true;
}

SourceImage ImageSource::resolve(const std::string& ref, const Platform& platform) {
  auto ctx = env_.options.build_contexts.find(ref);
  std::string spec = ctx != env_.options.build_contexts.end() ? ctx->second : ref;
  if (spec.rfind("oci-layout://", 0) == 0 || spec.rfind("oci:", 0) == 0) return from_layout(spec, platform);
  if (spec.rfind("docker-image://", 0) == 0) spec = spec.substr(15);
  return from_registry(spec, platform);
}

std::optional<Digest> ImageSource::pinned_digest(const std::string& ref, const Platform& platform) {
  auto ctx = env_.options.build_contexts.find(ref);
  std::string spec = ctx != env_.options.build_contexts.end() ? ctx->second : ref;
  if (spec.rfind("oci-layout://", 0) == 0 || spec.rfind("oci:", 0) == 0) {
    auto [path, tag] = layout_path_tag(spec);
    return OciLayout::open(path).resolve(tag, platform).descriptor.digest;
  }
  if (spec.rfind("docker-image://", 0) == 0) spec = spec.substr(15);
  auto at = spec.find("@sha256:");
  if (at == std::string::npos) return std::nullopt;
  return Digest::parse(spec.substr(at + 1));
}

SourceImage ImageSource::from_layout(const std::string& spec, const Platform& platform) {
  auto [path, tag] = layout_path_tag(spec);
  try {
    auto layout = OciLayout::open(path);
    auto r = layout.resolve(tag, platform);
    SourceImage img;
    img.name = spec;
    img.config = r.config;
    img.manifest_digest = r.descriptor.digest;
    env_.store.put(r.config_bytes, r.manifest.config.digest);
    for (const auto& l : r.manifest.layers) import_blob(layout.store(), env_.store, l);
    img.layers = layer_records(r.manifest, r.config, "", "");
    return img;
  } catch (const Error& e) {
    throw e.with_context("loading base image " + spec);
  }
}

SourceImage ImageSource::from_registry(const std::string& text, const Platform& platform) {
  registry::Reference ref = registry::Reference::parse(text);
  try {
    registry::RegistryClient client(ref.registry, cli::registry_options(env_.options, false, ref.registry));
    auto fetched = client.get_image_manifest(ref.repository, ref.manifest_ref(), platform);
    Manifest m = parse_manifest(fetched.body);
    std::string config_bytes = client.get_blob_bytes(ref.repository, m.config.digest);
    env_.store.put(config_bytes, m.config.digest);
    SourceImage img;
    img.name = ref.str();
    img.config = parse_image_config(config_bytes);
    img.manifest_digest = fetched.digest;
    for (const auto& l : m.layers) {
      if (env_.store.exists(l.digest)) continue;
      if (lazy_) deferred_.emplace(l.digest, ref);
      else pull_layer(env_, client, ref, l);
    }
    img.layers = layer_records(m, img.config, ref.registry, ref.repository);
    return img;
  } catch (const Error& e) {
    throw e.with_context("pulling base image " + ref.str());
  }
}

std::string ImageSource::unpack(const SourceImage& image) {
  std::string chain;
  for (const auto& l : image.layers) chain += l.diff_id.str() + "\n";
  std::string parent = env_.state_dir + "/rootfs";
  if (mkdir(parent.c_str(), 0700) != 0 && errno != EEXIST) throw sys_error("mkdir " + parent);
  std::string dir = parent + "/" + sha256_of(chain).hex;
  struct stat st {};
  if (stat(dir.c_str(), &st) == 0) return dir;
  for (const auto& l : image.layers) fetch(l.descriptor);
  TempDir tmp(parent, ".unpack-");
  std::string root = tmp.path() + "/root";
  if (mkdir(root.c_str(), 0755) != 0) throw sys_error("mkdir " + root);
  for (const auto& l : image.layers) {
    auto r = layers::apply_layer(root, env_.store.blob_path(l.descriptor.digest));
    for (const auto& s : r.skipped) env_.progress.debug("unpack " + image.name + ": skipped " + s);
  }
  // Publish atomically: another build may be unpacking the same image.
  if (rename(root.c_str(), dir.c_str()) != 0 && errno != EEXIST && errno != ENOTEMPTY) {
    throw sys_error("publishing unpacked image to " + dir);
  }
  return dir;
}

}  // namespace slipway::build

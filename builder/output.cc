#include "builder/output.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>

#include "builder/fd_sink.h"
#include "builder/parallel.h"
#include "builder/registry_flags.h"
#include "builder/reproducible.h"
#include "common/fd.h"
#include "layers/docker_archive.h"
#include "common/error.h"
#include "layers/oci_layout.h"
#include "registry/client.h"
#include "registry/reference.h"

namespace slipway::build {

namespace {

void write_text_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) throw Error("cannot write " + path);
  out << text;
  if (!out.flush()) throw Error("cannot write " + path);
}

// Bytes pushed across the blobs in flight, for the one progress line (on a
// TTY): with blobs moving in parallel, per-blob counts would flicker.
struct PushMeter {
  explicit PushMeter(Progress& p) : progress(p) {}
  Progress& progress;
  std::mutex mu;
  std::map<Digest, uint64_t> done;  // high-water mark: a retry re-reads from 0
  uint64_t sum = 0, total = 0;

  void add(const Digest& d, uint64_t size) {
    std::lock_guard lock(mu);
    if (done.emplace(d, 0).second) total += size;
  }
  void read_to(const Digest& d, uint64_t end) {
    std::lock_guard lock(mu);
    uint64_t& seen = done[d];
    if (end <= seen) return;
    sum += end - seen;
    seen = end;
    progress.transfer("push", sum, total);
  }
};

// A cache hit's layer may not be in the store yet: the registry usually has
// it already or mounts it from the cache repo, so it is fetched only when
// the push really has to read it. `fetch_mu` serialises those fetches: the
// cache's stores are not made for parallel callers.
registry::BlobSource blob_source_of(BuildEnv& env, const Descriptor& d, std::mutex& fetch_mu) {
  const std::string path = env.store.blob_path(d.digest);
  const auto size = static_cast<uint64_t>(d.size);
  if (!env.fetch_blob || env.store.exists(d.digest)) return registry::BlobSource::from_file(path, d.digest, size);
  auto file = std::make_shared<std::optional<registry::BlobSource>>();
  registry::BlobSource b;
  b.digest = d.digest;
  b.size = size;
  b.read = [&env, &fetch_mu, d, path, size, file](uint64_t offset, char* buf, size_t len) -> size_t {
    if (!*file) {
      {
        std::lock_guard lock(fetch_mu);
        env.fetch_blob(d);
      }
      *file = registry::BlobSource::from_file(path, d.digest, size);
    }
    return (*file)->read(offset, buf, len);
  };
  return b;
}

// The same, counting the bytes read into `meter`.
registry::BlobSource blob_source(BuildEnv& env, const Descriptor& d, std::mutex& fetch_mu, PushMeter& meter) {
  registry::BlobSource b = blob_source_of(env, d, fetch_mu);
  meter.add(d.digest, b.size);
  b.read = [inner = std::move(b.read), digest = b.digest, &meter](uint64_t offset, char* buf, size_t len) -> size_t {
    size_t n = inner(offset, buf, len);
    meter.read_to(digest, offset + n);
    return n;
  };
  return b;
}

// Pushes `blobs` (layers, then the config) with up to kParallelPushes in
// flight, as `slipway copy` does. `mount_from(i)` names repositories of the
// same registry that may hold blob i.
void push_blobs(registry::RegistryClient& client, const std::string& repository, BuildEnv& env,
                const std::vector<Descriptor>& blobs,
                const std::function<std::vector<std::string>(size_t)>& mount_from) {
  constexpr int kParallelPushes = 4;
  std::mutex fetch_mu;
  PushMeter meter(env.progress);
  auto push = [&](size_t i) {
    const Descriptor& b = blobs[i];
    auto how = client.push_blob(repository, blob_source(env, b, fetch_mu, meter), mount_from(i));
    env.progress.debug(std::string(how == registry::BlobPush::kExisted   ? "exists "
                                   : how == registry::BlobPush::kMounted ? "mounted "
                                                                         : "pushed ") +
                       b.digest.str());
  };
  if (blobs.empty()) return;
  // The config (last, small) goes first and alone: that request learns the
  // registry's auth scheme before the parallel ones start.
  push(blobs.size() - 1);
  // Largest first, so the long uploads overlap instead of trailing.
  // A layer listed twice (two identical RUN outputs) is pushed once.
  std::vector<size_t> order;
  std::set<Digest> seen{blobs.back().digest};
  for (size_t i = 0; i + 1 < blobs.size(); ++i) {
    if (seen.insert(blobs[i].digest).second) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return blobs[a].size > blobs[b].size; });
  parallel_for(order.size(), kParallelPushes, [&](size_t k) { push(order[k]); });
}

registry::Reference destination(const std::string& text, const Platform& p, bool suffix) {
  auto ref = registry::Reference::parse(text);
  if (suffix) {
    if (!ref.digest.empty()) throw Error("--arch-suffix needs a tag, not a digest, in " + text);
    ref = ref.with_tag((ref.tag.empty() ? "latest" : ref.tag) + "-" + arch_suffix(p));
  }
  return ref;
}

// --manifest REF: read the index at REF (or start one), put this image in
// it for its platform (replacing an entry of the same platform), write it
// back. Read-modify-write: two builds appending to one index at the same
// moment can lose one entry; the pipeline's per-arch jobs usually leave that
// to a final `slipway manifest create` job, which has no such race.
void add_to_index(const std::string& ref_text, const StageState& st, BuildEnv& env, const Manifest& m,
                  const std::string& manifest_bytes, const Descriptor& manifest_desc, const Platform& platform) {
  const BuildOptions& o = env.options;
  auto ref = registry::Reference::parse(ref_text);
  if (ref.tag.empty()) throw Error("--manifest needs a tag: " + ref_text);
  registry::RegistryClient client(ref.registry, cli::registry_options(o, true, ref.registry));
  std::vector<Descriptor> blobs = m.layers;
  blobs.push_back(m.config);
  push_blobs(client, ref.repository, env, blobs, [&](size_t i) {
    std::vector<std::string> mount_from;
    if (i < st.layers.size() && st.layers[i].source_host == ref.registry && !st.layers[i].source_repository.empty()) {
      mount_from.push_back(st.layers[i].source_repository);
    }
    return mount_from;
  });
  client.put_manifest(ref.repository, manifest_desc.digest.str(), m.media_type, manifest_bytes);

  Index index;
  index.media_type = o.image_format == "docker" ? media::kDockerManifestList : media::kOciIndex;
  if (client.head_manifest(ref.repository, ref.tag)) {
    auto existing = client.get_manifest(ref.repository, ref.tag);
    if (!is_index_media_type(existing.media_type)) {
      throw Error("--manifest " + ref_text + " is an image, not an index");
    }
    index = parse_index(existing.body);
  }
  Descriptor entry = manifest_desc;
  entry.platform = platform;
  std::erase_if(index.manifests, [&](const Descriptor& d) {
    return d.platform && normalize_platform(*d.platform) == normalize_platform(platform);
  });
  index.manifests.push_back(entry);
  auto digest = client.put_manifest(ref.repository, ref.tag, index.media_type, index_json(index));
  env.progress.result("added to index", ref.name() + ":" + ref.tag + " as " + platform.str(), digest.str());
}

// A base image's layers keep their bytes but take the media types of the
// manifest they now sit in: skopeo and Docker refuse a Docker manifest that
// lists OCI layer types. Foreign, non-distributable and zstd types have no
// counterpart and stay as they are.
std::string layer_type_for(const std::string& media_type, bool docker) {
  if (media_type == media::kOciLayerGzip || media_type == media::kDockerLayerGzip || media_type == media::kOciLayer ||
      media_type == media::kDockerLayer) {
    return layer_media_type(layer_compression(media_type), docker);
  }
  return media_type;
}

}  // namespace

std::string arch_suffix(const Platform& p) {
  if (p.architecture == "arm" && !p.variant.empty()) return "arm" + p.variant;
  return p.architecture;
}

BuildResult write_outputs(StageState& st, BuildEnv& env) {
  const BuildOptions& o = env.options;
  bool docker = o.image_format == "docker";
  std::string config_bytes = image_config_json(st.config);
  Descriptor config_desc = describe_json(docker ? media::kDockerConfig : media::kOciConfig, config_bytes);
  env.store.put(config_bytes, config_desc.digest);
  Manifest m;
  m.media_type = docker ? media::kDockerManifest : media::kOciManifest;
  m.config = config_desc;
  for (const auto& l : st.layers) {
    m.layers.push_back(l.descriptor);
    m.layers.back().media_type = layer_type_for(l.descriptor.media_type, docker);
  }
  if (!docker) m.annotations = o.annotations;
  std::string manifest_bytes = manifest_json(m);
  Descriptor manifest_desc = describe_json(m.media_type, manifest_bytes);
  env.store.put(manifest_bytes, manifest_desc.digest);
  if (o.expect_digest && *o.expect_digest != manifest_desc.digest) {
    throw Error("--verify-reproducible: the second build gave " + manifest_desc.digest.str() + ", the first " +
                o.expect_digest->str() + "; nothing was pushed or written. What differs:\n" +
                explain_difference(env.store, *o.expect_digest, manifest_desc.digest));
  }

  BuildResult result;
  result.manifest_digest = manifest_desc.digest;
  result.manifest_media_type = m.media_type;
  result.manifest_size = manifest_desc.size;
  Platform platform{st.config.os, st.config.architecture, st.config.variant, ""};

  // Files on disk need every blob: cache hits not fetched yet come now.
  if (env.fetch_blob && (!o.oci_layout_path.empty() || !o.tar_path.empty())) {
    for (const auto& l : m.layers) env.fetch_blob(l);
  }
  if (!o.oci_layout_path.empty()) {
    auto layout = OciLayout::create(o.oci_layout_path);
    // Hard links would tie the layout to our store's inodes; a layout is
    // handed to other tools, so it gets its own verified copies.
    for (const auto& l : m.layers) {
      if (layout.store().exists(l.digest)) continue;
      auto w = layout.store().writer();
      env.store.copy_to(l.digest, w);
      w.commit(l.digest, static_cast<uint64_t>(l.size));
    }
    std::string tag = "latest";
    if (!o.destinations.empty()) {
      auto ref = destination(o.destinations[0], platform, o.arch_suffix);
      if (!ref.tag.empty()) tag = ref.tag;
    }
    auto d = layout.write_image(st.config, m.layers, tag, docker);
    if (d.digest != manifest_desc.digest) {
      // write_image serialises the same structs canonically: a difference
      // would mean two different images under one build.
      throw Error("internal error: OCI layout manifest " + d.digest.str() + " differs from " +
                  manifest_desc.digest.str());
    }
    env.progress.result("wrote OCI layout", o.oci_layout_path + ":" + tag, d.digest.str());
  }
  if (!o.tar_path.empty()) {
    std::vector<std::string> tags;
    for (const auto& d : o.destinations) tags.push_back(destination(d, platform, o.arch_suffix).familiar());
    std::string tmp = o.tar_path + ".tmp";
    {
      UniqueFd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
      if (!fd) throw sys_error("create " + tmp);
      FdSink sink(fd.get(), o.tar_path);
      write_docker_archive(env.store, m, tags, sink);
      if (fsync(fd.get()) != 0) throw sys_error("fsync " + tmp);
    }
    if (rename(tmp.c_str(), o.tar_path.c_str()) != 0) throw sys_error("rename " + tmp);
    env.progress.result("wrote docker-archive", o.tar_path, manifest_desc.digest.str());
  }

  if (!o.no_push) {
    for (const auto& text : o.destinations) {
      auto ref = destination(text, platform, o.arch_suffix);
      registry::RegistryClient client(ref.registry, cli::registry_options(o, true, ref.registry));
      std::vector<Descriptor> blobs = m.layers;
      blobs.push_back(config_desc);
      push_blobs(client, ref.repository, env, blobs, [&](size_t i) {
        std::vector<std::string> mount_from;
        if (i < st.layers.size() && st.layers[i].source_host == ref.registry &&
            !st.layers[i].source_repository.empty() && st.layers[i].source_repository != ref.repository) {
          mount_from.push_back(st.layers[i].source_repository);
        }
        return mount_from;
      });
      auto digest = client.put_manifest(ref.repository, ref.tag.empty() ? manifest_desc.digest.str() : ref.tag,
                                        m.media_type, manifest_bytes);
      std::string pushed = ref.name() + (ref.tag.empty() ? "" : ":" + ref.tag) + "@" + digest.str();
      result.pushed.push_back(pushed);
      env.progress.result("pushed", pushed, "");
    }
  }
  if (!o.manifest.empty()) add_to_index(o.manifest, st, env, m, manifest_bytes, manifest_desc, platform);
  if (!o.digest_file.empty()) write_text_file(o.digest_file, manifest_desc.digest.str());
  if (!o.image_name_with_digest_file.empty()) {
    std::string text;
    for (const auto& p : result.pushed) text += p + "\n";
    write_text_file(o.image_name_with_digest_file, text);
  }
  return result;
}

}  // namespace slipway::build

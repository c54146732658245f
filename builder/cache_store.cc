#include "builder/cache_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <ctime>
#include <fstream>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/fd.h"

namespace slipway::build {

namespace {

bool is_key(const std::string& key) {
  return key.size() == 64 && key.find_first_not_of("0123456789abcdef") == std::string::npos;
}

bool expired(const CacheEntry& e, int64_t ttl) {
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  return ttl > 0 && now - e.created > ttl;
}

}  // namespace

std::string cache_entry_json(const CacheEntry& e) {
  nlohmann::json j = {{"key", e.key},
                      {"created", e.created},
                      {"created_by", e.history.created_by},
                      {"comment", e.history.comment},
                      {"empty_layer", e.history.empty_layer}};
  if (e.layer) {
    j["layer"] = descriptor_json(*e.layer);
    j["diff_id"] = e.diff_id.str();
  }
  return j.dump();
}

CacheEntry parse_cache_entry(const std::string& text) {
  try {
    auto j = nlohmann::json::parse(text);
    CacheEntry e;
    e.key = j.at("key").get<std::string>();
    if (!is_key(e.key)) throw Error("bad key");
    e.created = j.at("created").get<int64_t>();
    e.history.created_by = j.at("created_by").get<std::string>();
    e.history.comment = j.at("comment").get<std::string>();
    e.history.empty_layer = j.at("empty_layer").get<bool>();
    if (j.contains("layer")) {
      e.layer = parse_descriptor(j.at("layer"));
      layer_compression(e.layer->media_type);  // throws for a non-layer type
      e.diff_id = Digest::parse(j.at("diff_id").get<std::string>());
    }
    if (e.history.empty_layer == e.layer.has_value()) throw Error("empty_layer disagrees with the layer");
    return e;
  } catch (const Error& e) {
    throw Error("malformed cache entry: " + e.message());
  } catch (const std::exception& e) {
    throw Error(std::string("malformed cache entry: ") + e.what());
  }
}

int64_t parse_duration_seconds(const std::string& text) {
  if (text == "0") return 0;
  if (text.empty()) throw Error("empty duration");
  double total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
    if (i == start) throw Error("bad duration \"" + text + "\" (want e.g. 168h, 90m, 1h30m)");
    double n = std::stod(text.substr(start, i - start));
    size_t u = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string unit = text.substr(u, i - u);
    if (unit == "h") total += n * 3600;
    else if (unit == "m") total += n * 60;
    else if (unit == "s") total += n;
    else if (unit == "ms") total += n / 1000;
    else throw Error("bad duration \"" + text + "\": unit must be h, m, s or ms");
  }
  return static_cast<int64_t>(total);
}

// --- directory --------------------------------------------------------------

DirCacheStore::DirCacheStore(const std::string& dir, int64_t ttl_seconds)
    : dir_(dir), blobs_(dir), ttl_(ttl_seconds) {
  std::string entries = dir_ + "/entries";
  if (mkdir(entries.c_str(), 0755) != 0 && errno != EEXIST) throw sys_error("mkdir " + entries);
  // Other tools may open the dir as an OCI layout: say that it is one.
  std::string marker = dir_ + "/oci-layout";
  if (access(marker.c_str(), F_OK) != 0) std::ofstream(marker) << R"({"imageLayoutVersion":"1.0.0"})";
}

std::optional<CacheEntry> DirCacheStore::get(const std::string& key) {
  if (!is_key(key)) return std::nullopt;
  std::ifstream in(dir_ + "/entries/" + key + ".json");
  if (!in) return std::nullopt;
  CacheEntry e = parse_cache_entry(std::string(std::istreambuf_iterator<char>(in), {}));
  if (e.key != key || expired(e, ttl_)) return std::nullopt;
  if (e.layer && !blobs_.exists(e.layer->digest)) return std::nullopt;
  return e;
}

void DirCacheStore::fetch_blob(const Descriptor& layer, const ContentStore& to) {
  if (to.exists(layer.digest)) return;
  // Same file system: a hard link is free, and both stores only ever
  // rename complete, verified files into place, so sharing the inode is safe.
  if (link(blobs_.blob_path(layer.digest).c_str(), to.blob_path(layer.digest).c_str()) == 0 || errno == EEXIST) {
    return;
  }
  auto w = to.writer();
  blobs_.copy_to(layer.digest, w);
  w.commit(layer.digest, static_cast<uint64_t>(layer.size));
}

void DirCacheStore::put(const CacheEntry& e, const ContentStore& from) {
  if (!is_key(e.key)) throw Error("internal error: bad cache key " + e.key);
  if (e.layer && !blobs_.exists(e.layer->digest)) {
    auto w = blobs_.writer();
    from.copy_to(e.layer->digest, w);
    w.commit(e.layer->digest, static_cast<uint64_t>(e.layer->size));
  }
  std::string path = dir_ + "/entries/" + e.key + ".json";
  // mkstemp, not a pid suffix: pods sharing the volume may all be pid 1.
  std::string tmp = dir_ + "/entries/.tmp-XXXXXX";
  UniqueFd fd(mkstemp(tmp.data()));
  if (!fd) throw sys_error("create a temp file in " + dir_ + "/entries");
  std::string text = cache_entry_json(e);
  if (write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()) || fchmod(fd.get(), 0644) != 0) {
    unlink(tmp.c_str());
    throw sys_error("write " + tmp);
  }
  // Two builds writing the same key write equivalent entries: the last
  // rename wins and readers never see a partial file.
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    unlink(tmp.c_str());
    throw sys_error("rename " + tmp);
  }
}

// --- registry ---------------------------------------------------------------

RegistryCacheStore::RegistryCacheStore(const registry::Reference& repo, registry::RegistryOptions options,
                                       int64_t ttl_seconds, std::vector<std::string> mount_from)
    : ref_(repo),
      client_(std::make_unique<registry::RegistryClient>(repo.registry, std::move(options))),
      ttl_(ttl_seconds),
      mount_from_(std::move(mount_from)) {}

std::optional<CacheEntry> RegistryCacheStore::get(const std::string& key) {
  if (!is_key(key)) return std::nullopt;
  if (!client_->head_manifest(ref_.repository, key)) return std::nullopt;
  auto fetched = client_->get_manifest(ref_.repository, key);
  Manifest m = parse_manifest(fetched.body);
  auto it = m.annotations.find(kCacheEntryAnnotation);
  if (it == m.annotations.end()) return std::nullopt;  // a tag someone else made
  CacheEntry e = parse_cache_entry(it->second);
  if (e.key != key || expired(e, ttl_)) return std::nullopt;
  // The entry's layer must be the manifest's, which the registry verified
  // it holds when the manifest was put.
  if (e.layer && (m.layers.size() != 1 || m.layers[0].digest != e.layer->digest)) {
    throw Error("cache entry " + key + " names a layer its manifest does not hold");
  }
  return e;
}

void RegistryCacheStore::fetch_blob(const Descriptor& layer, const ContentStore& to) {
  if (to.exists(layer.digest)) return;
  auto w = to.writer();
  w.skip_hashing();  // get_blob verifies the digest and throws before commit
  client_->get_blob(ref_.repository, layer.digest, [&w](const char* data, size_t len) { w.write(data, len); },
                    layer.size);
  w.commit(layer.digest, static_cast<uint64_t>(layer.size));
}

void RegistryCacheStore::put(const CacheEntry& e, const ContentStore& from) {
  ImageConfig config;
  config.os = "linux";
  config.architecture = "unknown";  // not runnable: a cache entry, not an image
  History h = e.history;
  h.created = "";
  config.history.push_back(h);
  Manifest m;
  m.media_type = media::kOciManifest;
  if (e.layer) {
    config.diff_ids.push_back(e.diff_id);
    auto src = registry::BlobSource::from_file(from.blob_path(e.layer->digest), e.layer->digest,
                                               static_cast<uint64_t>(e.layer->size));
    client_->push_blob(ref_.repository, src, mount_from_);
    // Some registries refuse Docker layer types in an OCI manifest: the
    // manifest says the OCI type of the same bytes, the entry the real one.
    Descriptor d = *e.layer;
    d.media_type = layer_media_type(layer_compression(d.media_type), false);
    m.layers.push_back(d);
  }
  std::string config_bytes = image_config_json(config);
  m.config = describe_json(media::kOciConfig, config_bytes);
  client_->push_blob(ref_.repository, registry::BlobSource::from_string(config_bytes));
  m.annotations[kCacheEntryAnnotation] = cache_entry_json(e);
  client_->put_manifest(ref_.repository, e.key, m.media_type, manifest_json(m));
}

}  // namespace slipway::build

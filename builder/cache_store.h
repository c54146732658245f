#pragma once
// Where cache entries live: a local directory (--cache-dir) or a registry
// repository (--cache-repo). An entry is what one step did to the image: its
// history entry and its layer (blob descriptor and diffID), or no layer.
//
// --cache-dir DIR:
//   DIR/blobs/sha256/<hex>    layer blobs (a content store, as in an OCI layout)
//   DIR/entries/<key>.json    one entry per key, written atomically
// --cache-repo HOST/REPO: one tiny OCI image per entry, tagged <key> (as
// Kaniko does): its layer is the step's layer, its config a minimal image
// config, and the entry itself rides in a manifest annotation, so a lookup
// is one HEAD and one GET of a small manifest.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "layers/content_store.h"
#include "layers/image.h"
#include "registry/client.h"
#include "registry/reference.h"

namespace slipway::build {

struct CacheEntry {
  std::string key;
  int64_t created = 0;  // unix seconds when the entry was made: --cache-ttl counts from here
  History history;      // `created` is left empty: a hit takes the build's own time
  std::optional<Descriptor> layer;
  Digest diff_id;       // when `layer` is set
};

std::string cache_entry_json(const CacheEntry& e);
// Throws Error on anything malformed (a cache is read, never trusted to parse).
CacheEntry parse_cache_entry(const std::string& text);

// Go-style durations as Kaniko's --cache-ttl takes them: "168h", "90m",
// "1h30m", "3600s", "0"; returns seconds. Throws Error on anything else.
int64_t parse_duration_seconds(const std::string& text);

// The annotation on a registry cache manifest holding the entry.
inline constexpr const char* kCacheEntryAnnotation = "dev.slipway.cache.entry.v1";

class CacheStore {
 public:
  virtual ~CacheStore() = default;
  virtual std::string describe() const = 0;
  // The entry for `key`, or nullopt (absent, unreadable, or older than ttl).
  virtual std::optional<CacheEntry> get(const std::string& key) = 0;
  // Copies the entry's blob from `store` into `to` (verified).
  virtual void fetch_blob(const Descriptor& layer, const ContentStore& to) = 0;
  // Stores the entry, its blob read from `from`.
  virtual void put(const CacheEntry& e, const ContentStore& from) = 0;
  // For hits from a registry: where the blob can be mounted from.
  virtual std::string registry_host() const { return ""; }
  virtual std::string repository() const { return ""; }
};

class DirCacheStore : public CacheStore {
 public:
  DirCacheStore(const std::string& dir, int64_t ttl_seconds);
  std::string describe() const override { return dir_; }
  std::optional<CacheEntry> get(const std::string& key) override;
  void fetch_blob(const Descriptor& layer, const ContentStore& to) override;
  void put(const CacheEntry& e, const ContentStore& from) override;

 private:
  std::string dir_;
  ContentStore blobs_;
  int64_t ttl_;
};

class RegistryCacheStore : public CacheStore {
 public:
  // `mount_from`: repositories of the same registry that may already hold
  // blobs (the destinations), tried as cross-repository mounts on put.
  RegistryCacheStore(const registry::Reference& repo, registry::RegistryOptions options, int64_t ttl_seconds,
                     std::vector<std::string> mount_from);
  std::string describe() const override { return ref_.name(); }
  std::optional<CacheEntry> get(const std::string& key) override;
  void fetch_blob(const Descriptor& layer, const ContentStore& to) override;
  void put(const CacheEntry& e, const ContentStore& from) override;
  std::string registry_host() const override { return ref_.registry; }
  std::string repository() const override { return ref_.repository; }

 private:
  registry::Reference ref_;
  std::unique_ptr<registry::RegistryClient> client_;
  int64_t ttl_;
  std::vector<std::string> mount_from_;
};

}  // namespace slipway::build

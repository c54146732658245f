#pragma once
// Where `slipway copy` reads from: a registry, an OCI layout or a
// docker-archive, behind one interface so the copy logic is written once.
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "builder/image_copy.h"
#include "common/temp_dir.h"
#include "layers/content_store.h"
#include "registry/client.h"
#include "registry/manifest.h"

namespace slipway::copy {

// A manifest or index with its exact bytes (their sha256 is `digest`).
struct RawManifest {
  std::string media_type;
  std::string bytes;
  Digest digest;
};

// Scratch space under the state dir's tmp/ for blobs that must pass through
// the disk: made on first use, removed when the copy ends (or is
// interrupted), so copies do not grow the state dir.
class Staging {
 public:
  explicit Staging(std::string state_dir) : state_dir_(std::move(state_dir)) {}
  ~Staging();
  Staging(const Staging&) = delete;
  Staging& operator=(const Staging&) = delete;
  // A content store for registry blobs. Thread-safe.
  const ContentStore& store();
  // A fresh directory `name` inside the scratch space.
  std::string scratch(const std::string& name);
  // The path of a file `name` inside the scratch space (not created).
  std::string scratch_file(const std::string& name);

 private:
  const std::string& dir();  // with mu_ held
  std::mutex mu_;
  std::string state_dir_;
  std::optional<TempDir> tmp_;
  std::unique_ptr<ContentStore> store_;
};

class CopySource {
 public:
  virtual ~CopySource() = default;
  // What SRC names: an image manifest or an index.
  virtual RawManifest top() = 0;
  // A manifest an index refers to.
  virtual RawManifest manifest(const Descriptor& d) = 0;
  // A file holding the verified blob: where it already is, or fetched into
  // store() first. Safe to call from several threads for different blobs.
  virtual std::string blob_file(const Descriptor& d) = 0;
  // The store blob_file() puts blobs in (a docker-archive is written from it).
  virtual const ContentStore& store() = 0;
  // Streams the blob into `w`; the caller commits (which verifies it).
  virtual void stream_blob(const Descriptor& d, ContentStore::Writer& w);
  // A registry SRC streams each blob into `sink`, verified as it ends;
  // false when SRC is local (then blob_file() is the way).
  virtual bool can_fetch() const { return false; }
  virtual void fetch(const Descriptor& d, const registry::BodySink& sink);
  // For cross-repository mounts: SRC's registry and repository ("" when
  // SRC is not in a registry).
  virtual std::string registry_host() const { return ""; }
  virtual std::string repository() const { return ""; }
};

std::unique_ptr<CopySource> open_source(const Location& src, const CopyOptions& options, Staging& staging);

}  // namespace slipway::copy

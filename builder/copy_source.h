#pragma once
// Where `slipway copy` reads from: a registry, an OCI layout or a
// docker-archive, behind one interface so the copy logic is written once.
#include <memory>
#include <string>

#include "builder/image_copy.h"
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

// The content store under the state dir, made when first needed.
class Staging {
 public:
  explicit Staging(std::string state_dir) : state_dir_(std::move(state_dir)) {}
  const ContentStore& store();
  // A scratch directory parent on the same filesystem as the store.
  std::string tmp_parent();

 private:
  std::string dir();
  std::string state_dir_;
  std::unique_ptr<ContentStore> store_;
};

class CopySource {
 public:
  virtual ~CopySource() = default;
  // What SRC names: an image manifest or an index.
  virtual RawManifest top() = 0;
  // A manifest an index refers to.
  virtual RawManifest manifest(const registry::Descriptor& d) = 0;
  // A file holding the verified blob: where it already is, or fetched into
  // store() first. Safe to call from several threads for different blobs.
  virtual std::string blob_file(const registry::Descriptor& d) = 0;
  // The store blob_file() puts blobs in (a docker-archive is written from it).
  virtual const ContentStore& store() = 0;
  // Streams the blob into `w`; the caller commits (which verifies it).
  virtual void stream_blob(const registry::Descriptor& d, ContentStore::Writer& w);
  // For cross-repository mounts: SRC's registry and repository ("" when
  // SRC is not in a registry).
  virtual std::string registry_host() const { return ""; }
  virtual std::string repository() const { return ""; }
};

std::unique_ptr<CopySource> open_source(const Location& src, const CopyOptions& options, Staging& staging);

}  // namespace slipway::copy

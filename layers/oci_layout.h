#pragma once
// An OCI image layout directory (image-spec "image-layout.md"): the
// `oci-layout` marker, `index.json` naming each tagged manifest with the
// org.opencontainers.image.ref.name annotation, and blobs/sha256/... — the
// directory itself is a ContentStore. skopeo's and umoci's "oci:DIR:TAG".
#include <optional>
#include <string>
#include <vector>

#include "common/platform.h"
#include "layers/content_store.h"
#include "layers/image.h"

namespace slipway {

class OciLayout {
 public:
  // Opens a layout, creating the directory, `oci-layout` and an empty
  // index.json when missing.
  static OciLayout create(const std::string& dir);
  // Opens an existing layout; throws Error when `oci-layout` is missing or
  // has an unsupported version.
  static OciLayout open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const ContentStore& store() const { return store_; }
  Index index() const;

  // Records a manifest (or index) in index.json under `tag`, replacing any
  // entry with the same tag; an empty tag adds an untagged entry. The
  // read-modify-write holds flock on the directory and ends in an atomic
  // rename, so concurrent taggers do not lose each other's entries.
  void tag(const Descriptor& manifest, const std::string& tag);

  // Stores the config and a manifest for it (the layers must already be in
  // the store), tags it and returns the manifest's descriptor. docker_types
  // picks the Docker v2s2 manifest and config media types.
  Descriptor write_image(const ImageConfig& config, const std::vector<Descriptor>& layers, const std::string& tag,
                         bool docker_types = false);

  struct Resolved {
    Descriptor descriptor;  // of the manifest
    Manifest manifest;
    std::string config_bytes;  // exactly as stored, so its digest holds
    ImageConfig config;
  };
  // Finds `tag` (or, when empty, the only entry of index.json) and follows
  // indexes to the manifest for `platform` (default: the host's).
  Resolved resolve(const std::string& tag, const std::optional<Platform>& platform = std::nullopt) const;

 private:
  explicit OciLayout(std::string dir);
  std::string dir_;
  ContentStore store_;
};

}  // namespace slipway

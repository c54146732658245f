#pragma once
// Base images for FROM, COPY --from and RUN --mount from=: resolved from a
// named build context (an OCI layout on disk) or a registry, their blobs
// brought into the content store once, and their root filesystem unpacked
// once into the state dir and shared by later builds (read-only: it is only
// ever an overlay lower).
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "builder/stage.h"
#include "registry/reference.h"

namespace slipway::build {

struct SourceImage {
  std::string name;  // as the log shows it
  ImageConfig config;
  std::vector<LayerRecord> layers;
  std::optional<Digest> manifest_digest;
};

class ImageSource {
 public:
  // `lazy` (--cache): a registry image's layers are pulled only when
  // something reads them (unpack(), fetch()), not when it is resolved, so a
  // build whose steps all hit fetches only the manifest and config.
  explicit ImageSource(BuildEnv& env, bool lazy = false) : env_(env), lazy_(lazy) {}

  // `ref` as written after FROM (expanded): a --build-context name, an
  // "oci-layout://PATH[:TAG]" / "oci:PATH[:TAG]" path, or a registry reference.
  SourceImage resolve(const std::string& ref, const Platform& platform);

  // The unpacked root filesystem of `image` (all layers applied), cached in
  // the state dir by the chain of its diff IDs.
  std::string unpack(const SourceImage& image);

  // The manifest digest `ref` stands for when it cannot change under a
  // cache key: a --build-context naming an OCI layout (read from its index,
  // nothing copied) or an image by digest; nullopt otherwise (a tag).
  std::optional<Digest> pinned_digest(const std::string& ref, const Platform& platform);

  // Pulls a layer of a resolved image that `lazy` left behind into the
  // content store. False when `layer` is no such layer (nothing done).
  bool fetch(const Descriptor& layer);

 private:
  SourceImage from_layout(const std::string& spec, const Platform& platform);
  SourceImage from_registry(const std::string& ref, const Platform& platform);
  BuildEnv& env_;
  bool lazy_ = false;
  // Layers not pulled yet (lazy), by digest: the reference to pull them
  // from. Written only while resolving, before anything reads it.
  std::map<Digest, registry::Reference> deferred_;
};

}  // namespace slipway::build

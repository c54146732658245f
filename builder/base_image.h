#pragma once
// Base images for FROM, COPY --from and RUN --mount from=: resolved from a
// named build context (an OCI layout on disk) or a registry, their blobs
// brought into the content store once, and their root filesystem unpacked
// once into the state dir and shared by later builds (read-only: it is only
// ever an overlay lower).
#include <optional>
#include <string>
#include <vector>

#include "builder/stage.h"

namespace slipway::build {

struct SourceImage {
  std::string name;  // as the log shows it
  ImageConfig config;
  std::vector<LayerRecord> layers;
  std::optional<Digest> manifest_digest;
};

class ImageSource {
 public:
  explicit ImageSource(BuildEnv& env) : env_(env) {}

  // `ref` as written after FROM (expanded): a --build-context name, an
  // "oci-layout://PATH[:TAG]" / "oci:PATH[:TAG]" path, or a registry reference.
  SourceImage resolve(const std::string& ref, const Platform& platform);

  // The unpacked root filesystem of `image` (all layers applied), cached in
  // the state dir by the chain of its diff IDs.
  std::string unpack(const SourceImage& image);

 private:
  SourceImage from_layout(const std::string& spec, const Platform& platform);
  SourceImage from_registry(const std::string& ref, const Platform& platform);
  BuildEnv& env_;
};

}  // namespace slipway::build

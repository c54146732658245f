#pragma once
// OCI and Docker v2 manifests and indexes (manifest lists): media types,
// descriptors, JSON in and out, and platform selection from an index.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/digest.h"
#include "common/platform.h"

namespace slipway::registry {

namespace media_type {
inline constexpr const char* kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* kOciLayerTar = "application/vnd.oci.image.layer.v1.tar";
inline constexpr const char* kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr const char* kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr const char* kDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr const char* kDockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr const char* kDockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr const char* kDockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws";
}  // namespace media_type

bool is_index_media_type(std::string_view mt);
bool is_manifest_media_type(std::string_view mt);
// The Accept header for manifest requests: every type we can read.
std::string manifest_accept_header();

struct Descriptor {
  std::string media_type;
  Digest digest;
  int64_t size = 0;
  std::optional<Platform> platform;
  std::vector<std::string> urls;
  std::map<std::string, std::string> annotations;
  std::string artifact_type;
};

struct ImageManifest {
  std::string media_type;  // OCI or Docker v2s2
  Descriptor config;
  std::vector<Descriptor> layers;
  std::map<std::string, std::string> annotations;
  std::optional<Descriptor> subject;
};

struct ImageIndex {
  std::string media_type;  // OCI index or Docker manifest list
  std::vector<Descriptor> manifests;
  std::map<std::string, std::string> annotations;
};

nlohmann::json descriptor_to_json(const Descriptor& d);
Descriptor descriptor_from_json(const nlohmann::json& j);

// Serialises with schemaVersion 2; the bytes returned are what gets pushed
// and digested.
std::string to_json(const ImageManifest& m);
std::string to_json(const ImageIndex& i);

// The media type of manifest bytes: the Content-Type the registry sent when
// it is specific, else the document's own mediaType field, else guessed from
// its shape. Throws Error for schema 1 and for anything that is not a
// manifest or index.
std::string detect_manifest_media_type(std::string_view body, std::string_view content_type);

ImageManifest parse_manifest(std::string_view body);
ImageIndex parse_index(std::string_view body);

// The entry of `index` for `want` (platform_matches), preferring an exact
// variant match. Throws Error listing the available platforms when none fits.
const Descriptor& select_platform(const ImageIndex& index, const Platform& want);

}  // namespace slipway::registry

#pragma once
// OCI image / Docker v2 schema 2 descriptors, manifests and indexes: the one
// definition shared by layers/ (layouts, archives, builds) and registry/
// (push, pull), so neither converts the other's structs. Serialisation is
// canonical (sorted keys, no whitespace): the same struct always gives the
// same bytes, hence the same digest.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/digest.h"
#include "common/platform.h"

namespace slipway {

namespace media {
inline constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr const char* kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr const char* kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr const char* kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* kDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr const char* kDockerLayer = "application/vnd.docker.image.rootfs.diff.tar";
inline constexpr const char* kDockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr const char* kDockerForeignLayerGzip = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
inline constexpr const char* kDockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr const char* kDockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws";
}  // namespace media

inline constexpr const char* kAnnotationRefName = "org.opencontainers.image.ref.name";

bool is_index_media_type(std::string_view media_type);
bool is_manifest_media_type(std::string_view media_type);
// Docker schema 1, signed or not: deprecated, refused everywhere with this message.
bool is_schema1_media_type(std::string_view media_type);
extern const char* const kSchema1Unsupported;

struct Descriptor {
  std::string media_type;
  Digest digest;
  int64_t size = 0;
  std::optional<Platform> platform;
  std::vector<std::string> urls;
  std::map<std::string, std::string> annotations;
  std::string artifact_type;
};

struct Manifest {
  int schema_version = 2;
  std::string media_type = media::kOciManifest;  // or Docker v2s2
  std::string artifact_type;
  Descriptor config;
  std::vector<Descriptor> layers;
  std::optional<Descriptor> subject;
  std::map<std::string, std::string> annotations;
};

struct Index {
  int schema_version = 2;
  std::string media_type = media::kOciIndex;  // or a Docker manifest list
  std::vector<Descriptor> manifests;
  std::map<std::string, std::string> annotations;
};

// Parsers throw Error with a clear message on malformed JSON; serialisers
// omit empty optional fields.
Descriptor parse_descriptor(const nlohmann::json& j);
nlohmann::json descriptor_json(const Descriptor& d);
// A manifest without mediaType is OCI; Docker schema 1 gets its own message.
Manifest parse_manifest(std::string_view text);
std::string manifest_json(const Manifest& m);
// An index without mediaType is OCI; anything but an index type is refused.
Index parse_index(std::string_view text);
std::string index_json(const Index& i);

// The media type a manifest or index claims; "" when absent (old Docker JSON).
std::string sniff_media_type(std::string_view text);

// The entry of `index` for `want` (platform_matches), preferring an exact
// variant match. Throws Error listing the available platforms when none fits.
const Descriptor& select_platform(const Index& index, const Platform& want);

// A descriptor for canonical JSON bytes.
Descriptor describe_json(const std::string& media_type, const std::string& bytes);

}  // namespace slipway

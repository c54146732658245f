#pragma once
// OCI / Docker v2 schema 2 image JSON as plain structs: descriptors,
// manifests, indexes and the image config. Serialisation is canonical (keys
// in sorted order, no whitespace), so the same struct always hashes to the
// same digest. Fields this code does not model are kept in `extra` and
// written back unchanged, so a base image's config survives a round trip.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/digest.h"
#include "common/platform.h"
#include "layers/compress.h"

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
}  // namespace media

inline constexpr const char* kAnnotationRefName = "org.opencontainers.image.ref.name";

// The layer media type for a compression. Docker v2s2 has no zstd type, so
// zstd always gets the OCI one.
std::string layer_media_type(Compression c, bool docker);
// The compression a layer media type implies; throws Error for a non-layer type.
Compression layer_compression(const std::string& media_type);
bool is_index_media_type(const std::string& media_type);
bool is_manifest_media_type(const std::string& media_type);

struct Descriptor {
  std::string media_type;
  Digest digest;
  int64_t size = 0;
  std::vector<std::string> urls;
  std::map<std::string, std::string> annotations;
  std::optional<Platform> platform;
  std::string artifact_type;
};

struct Manifest {
  int schema_version = 2;
  std::string media_type = media::kOciManifest;
  std::string artifact_type;
  Descriptor config;
  std::vector<Descriptor> layers;
  std::optional<Descriptor> subject;
  std::map<std::string, std::string> annotations;
};

struct Index {
  int schema_version = 2;
  std::string media_type = media::kOciIndex;
  std::vector<Descriptor> manifests;
  std::map<std::string, std::string> annotations;
};

// Durations are nanoseconds, as in Docker's JSON.
struct HealthConfig {
  std::vector<std::string> test;  // ["NONE"], ["CMD", ...], ["CMD-SHELL", "..."]
  int64_t interval = 0;
  int64_t timeout = 0;
  int64_t start_period = 0;
  int64_t start_interval = 0;
  int retries = 0;
};

// The "config" object of an image config: what a container starts with.
struct ContainerConfig {
  std::string user;
  std::set<std::string> exposed_ports;  // "80/tcp"
  std::vector<std::string> env;         // "KEY=value"
  // nullopt is "not set" (inherit); an empty vector is "set to nothing".
  std::optional<std::vector<std::string>> entrypoint;
  std::optional<std::vector<std::string>> cmd;
  std::set<std::string> volumes;
  std::string working_dir;
  std::map<std::string, std::string> labels;
  std::string stop_signal;
  std::optional<HealthConfig> healthcheck;            // Docker extension
  std::optional<std::vector<std::string>> shell;      // Docker extension
  std::vector<std::string> on_build;                  // Docker extension
  bool args_escaped = false;                          // Docker, Windows only
  nlohmann::json extra = nlohmann::json::object();    // fields not modelled above
};

struct History {
  std::string created;  // RFC 3339
  std::string created_by;
  std::string author;
  std::string comment;
  bool empty_layer = false;
};

struct ImageConfig {
  std::string created;  // RFC 3339, empty = absent
  std::string author;
  std::string architecture;
  std::string os;
  std::string variant;
  std::string os_version;
  ContainerConfig config;
  std::vector<Digest> diff_ids;  // rootfs.diff_ids; rootfs.type is always "layers"
  std::vector<History> history;
  nlohmann::json extra = nlohmann::json::object();

  Platform platform() const { return Platform{os, architecture, variant, os_version}; }
};

// Parse (throw Error with a clear message on malformed JSON) and serialise.
Descriptor parse_descriptor(const nlohmann::json& j);
nlohmann::json descriptor_json(const Descriptor& d);
Manifest parse_manifest(const std::string& text);
std::string manifest_json(const Manifest& m);
Index parse_index(const std::string& text);
std::string index_json(const Index& i);
ImageConfig parse_image_config(const std::string& text);
std::string image_config_json(const ImageConfig& c);

// The media type a manifest or index claims; "" when absent (old Docker JSON).
std::string sniff_media_type(const std::string& text);

// A descriptor for canonical JSON bytes.
Descriptor describe_json(const std::string& media_type, const std::string& bytes);

}  // namespace slipway

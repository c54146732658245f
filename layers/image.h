#pragma once
// The OCI / Docker v2 schema 2 image config as plain structs, plus layer
// media types (descriptors, manifests and indexes are in common/oci.h).
// Serialisation is canonical (keys in sorted order, no whitespace), so the
// same struct always hashes to the same digest. Fields this code does not
// model are kept in `extra` and written back unchanged, so a base image's
// config survives a round trip.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/digest.h"
#include "common/oci.h"
#include "common/platform.h"
#include "layers/compress.h"

namespace slipway {

// The layer media type for a compression. Docker v2s2 has no zstd type, so
// zstd always gets the OCI one.
std::string layer_media_type(Compression c, bool docker);
// The compression a layer media type implies; throws Error for a non-layer type.
Compression layer_compression(const std::string& media_type);

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
ImageConfig parse_image_config(const std::string& text);
std::string image_config_json(const ImageConfig& c);

}  // namespace slipway

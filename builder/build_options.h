#pragma once
// Everything `slipway build` was asked to do, after flag parsing. Flag names
// follow Kaniko's so a CI job can swap /kaniko/executor for slipway build.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/digest.h"
#include "common/platform.h"

namespace slipway::build {

enum class Isolation { kAuto, kUserns, kChroot };
enum class LogFormat { kText, kJson };

struct SecretSpec {
  std::string id;
  std::string src;  // file path, or empty
  std::string env;  // environment variable name, or empty
};

struct BuildOptions {
  std::string context = ".";   // directory, or tar://FILE, tar://-
  std::string dockerfile;      // default: <context>/Dockerfile
  std::vector<std::string> destinations;
  bool no_push = false;
  std::string tar_path;        // docker-archive output
  std::string oci_layout_path; // OCI image layout output
  std::string digest_file;
  std::string image_name_with_digest_file;
  std::map<std::string, std::string> build_args;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::string target;
  Platform platform;           // target platform (default: the host)
  bool reproducible = false;
  // --verify-reproducible: the digest the first of two builds gave; the
  // second fails, before writing any output, when it differs.
  std::optional<Digest> expect_digest;
  std::optional<int64_t> source_date_epoch;
  bool single_snapshot = false;
  std::string compression = "gzip";
  int compression_level = -1;  // -1: the compressor's default
  std::string image_format = "oci";  // oci | docker
  bool arch_suffix = false;
  std::string manifest;        // also add the image to this index
  std::vector<SecretSpec> secrets;
  Isolation isolation = Isolation::kAuto;
  // Named build contexts (BuildKit's --build-context): name -> source
  // ("oci-layout:///path[:tag]", "docker-image://ref", or a directory).
  std::map<std::string, std::string> build_contexts;
  std::string state_dir;       // content store, base image cache, cache mounts
  // How RUN steps are snapshotted: "overlay" (an overlayfs upper dir),
  // "copy" (a private copy of the tree and the walking differ), or "auto"
  // (overlay when it can be mounted).
  std::string snapshot_mode = "auto";
  LogFormat log_format = LogFormat::kText;
  std::string verbosity = "info";
  // Registry flags (passed to registry::RegistryOptions).
  std::vector<std::string> insecure_registries;
  std::vector<std::string> skip_tls_verify_registries;
  std::vector<std::string> registry_certificates;  // host=path
  std::vector<std::string> registry_client_certs;  // host=cert,key
  std::vector<std::string> registry_mirrors;
  bool insecure = false;
  bool skip_tls_verify = false;
  int push_retry = 3;
  // --push-chunk-size: "" or 0 pushes each blob in one streaming PUT;
  // otherwise PATCHes of this size ("16M"), for proxies limiting bodies.
  std::string push_chunk_size;
  int image_download_retry = 3;
  // Layer cache (Kaniko's --cache flags; see docs/cache.md).
  bool cache = false;
  std::string cache_repo;              // registry repository of cache entries
  std::string cache_dir;               // local directory of cache entries
  int64_t cache_ttl_seconds = 14 * 24 * 3600;  // older entries are misses
};

}  // namespace slipway::build

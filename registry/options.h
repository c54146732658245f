#pragma once
// How Slipway talks to registries: TLS per host, plain-HTTP registries,
// retries, mirrors. Hosts are keyed as they appear in references,
// "host[:port]" ("127.0.0.1:5000", "ghcr.io").
#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace slipway::registry {

struct ClientCert {
  std::string cert_file;  // PEM
  std::string key_file;   // PEM
};

struct RegistryOptions {
  std::map<std::string, std::string> ca_files;       // host -> extra CA bundle (PEM)
  std::set<std::string> insecure_hosts;              // spoken to over plain HTTP
  std::set<std::string> skip_tls_verify_hosts;      // TLS without verification
  std::map<std::string, ClientCert> client_certs;    // host -> mTLS cert/key
  // Pull-through mirrors tried, in order, before the registry itself for
  // manifests and blobs fetched by digest or tag (host -> mirror hosts).
  std::map<std::string, std::vector<std::string>> mirrors;

  int retries = 4;  // extra attempts after the first, for transient failures
  std::chrono::milliseconds retry_base_delay{300};
  std::chrono::milliseconds retry_max_delay{15000};
  uint64_t upload_chunk_size = 16u << 20;
  bool chunked_upload = true;  // false: one PUT per blob
  bool http2 = true;           // negotiated by ALPN over TLS only
  long connect_timeout_seconds = 30;
  // A transfer slower than 1 byte/s for this long counts as a dropped
  // connection (and is retried or resumed).
  long low_speed_timeout_seconds = 60;
};

}  // namespace slipway::registry


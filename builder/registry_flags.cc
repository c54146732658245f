#include "builder/registry_flags.h"

#include <cstdint>
#include <stdexcept>

#include "common/error.h"

namespace slipway::cli {
namespace {

// "16M", "16MiB", "512k", "1048576" -> bytes (binary multiples).
uint64_t parse_size(const std::string& text) {
  size_t end = 0;
  uint64_t n = 0;
  try {
    if (text.empty() || text[0] < '0' || text[0] > '9') throw std::invalid_argument("not a number");
    n = std::stoull(text, &end);
  } catch (const std::exception&) {
    throw usage_error("--push-chunk-size takes a size like 16M, not \"" + text + "\"");
  }
  std::string unit = text.substr(end);
  if (unit.size() > 1 && (unit.substr(1) == "iB" || unit.substr(1) == "B")) unit = unit.substr(0, 1);
  int shift = unit.empty() || unit == "B" ? 0 : unit == "K" || unit == "k" ? 10 : unit == "M" ? 20 : unit == "G" ? 30 : -1;
  if (shift < 0 || n > (uint64_t{1} << (63 - shift))) {
    throw usage_error("--push-chunk-size takes a size like 16M, not \"" + text + "\"");
  }
  return n << shift;
}

}  // namespace

void add_registry_flags(FlagSet& fs, build::BuildOptions& o) {
  fs.add_bool("insecure", 0, &o.insecure, "push and pull over plain HTTP to every registry");
  fs.add_list("insecure-registry", 0, "HOST", &o.insecure_registries, "use plain HTTP for HOST (repeatable)");
  fs.add_bool("skip-tls-verify", 0, &o.skip_tls_verify, "do not verify registries' TLS certificates");
  fs.add_list("skip-tls-verify-registry", 0, "HOST", &o.skip_tls_verify_registries,
              "do not verify HOST's TLS certificate (repeatable)");
  fs.add_list("registry-certificate", 0, "HOST=PATH", &o.registry_certificates,
              "trust the CA bundle PATH for HOST (repeatable)");
  fs.add_list("registry-client-cert", 0, "HOST=CERT,KEY", &o.registry_client_certs,
              "authenticate to HOST with a TLS client certificate (repeatable)");
  fs.add_list("registry-mirror", 0, "[HOST=]MIRROR", &o.registry_mirrors,
              "pull from MIRROR before HOST (default docker.io; repeatable)");
  fs.add_int("push-retry", 0, "N", &o.push_retry, "retries for each push request (default 3)");
  fs.add_string("push-chunk-size", 0, "SIZE", &o.push_chunk_size,
                "upload blobs in PATCHes of SIZE bytes (K, M, G suffixes) instead of one PUT each (default 0: one PUT)");
  fs.add_int("image-download-retry", 0, "N", &o.image_download_retry,
             "retries for each pull request (default 3)");
}

registry::RegistryOptions registry_options(const build::BuildOptions& o, bool pushing, const std::string& host) {
  registry::RegistryOptions r;
  if (o.insecure) r.insecure_hosts.insert(host);
  if (o.skip_tls_verify) r.skip_tls_verify_hosts.insert(host);
  for (const auto& h : o.insecure_registries) r.insecure_hosts.insert(h);
  for (const auto& h : o.skip_tls_verify_registries) r.skip_tls_verify_hosts.insert(h);
  for (const auto& c : o.registry_certificates) {
    auto eq = c.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == c.size()) {
      throw usage_error("--registry-certificate takes HOST=PATH, not \"" + c + "\"");
    }
    r.ca_files[c.substr(0, eq)] = c.substr(eq + 1);
  }
  for (const auto& c : o.registry_client_certs) {
    auto eq = c.find('=');
    auto comma = c.find(',', eq == std::string::npos ? 0 : eq);
    if (eq == std::string::npos || comma == std::string::npos) {
      throw usage_error("--registry-client-cert takes HOST=CERT,KEY, not \"" + c + "\"");
    }
    r.client_certs[c.substr(0, eq)] = {c.substr(eq + 1, comma - eq - 1), c.substr(comma + 1)};
  }
  for (const auto& m : o.registry_mirrors) {
    // [HOST=]MIRROR: a mirror of HOST, docker.io when no host is named.
    auto eq = m.find('=');
    std::string of = eq == std::string::npos ? "docker.io" : m.substr(0, eq);
    std::string mirror = eq == std::string::npos ? m : m.substr(eq + 1);
    if (of.empty() || mirror.empty()) throw usage_error("--registry-mirror takes [HOST=]MIRROR, not \"" + m + "\"");
    r.mirrors[of].push_back(mirror);
  }
  r.retries = pushing ? o.push_retry : o.image_download_retry;
  // Every blob we push has a known size and is re-readable, so one streaming
  // PUT is the default: a PATCH per chunk costs a round trip each and makes
  // the registry append to a temporary object. The client still falls back
  // to chunks when a proxy refuses the body as too large.
  const uint64_t chunk = o.push_chunk_size.empty() ? 0 : parse_size(o.push_chunk_size);
  r.chunked_upload = chunk > 0;
  if (chunk > 0) r.upload_chunk_size = chunk;
  return r;
}

}  // namespace slipway::cli

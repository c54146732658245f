#include "builder/registry_flags.h"

#include "common/error.h"

namespace slipway::cli {

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
  return r;
}

}  // namespace slipway::cli

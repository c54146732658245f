#include "registry/options.h"

#include "common/error.h"

namespace slipway::registry {
namespace {

std::pair<std::string, std::string> split_eq(const std::string& flag, const std::string& value) {
  auto eq = value.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == value.size()) {
    throw usage_error("--" + flag + " takes HOST=VALUE, got \"" + value + "\"");
  }
  return {value.substr(0, eq), value.substr(eq + 1)};
}

}  // namespace

void apply_registry_flag(RegistryOptions& o, const std::string& flag, const std::string& value) {
  if (value.empty()) throw usage_error("--" + flag + " needs a value");
  if (flag == "insecure-registry") {
    o.insecure_hosts.insert(value);
  } else if (flag == "skip-tls-verify-registry") {
    o.skip_tls_verify_hosts.insert(value);
  } else if (flag == "registry-certificate") {
    auto [host, path] = split_eq(flag, value);
    o.ca_files[host] = path;
  } else if (flag == "registry-client-cert") {
    auto [host, pair] = split_eq(flag, value);
    auto comma = pair.find(',');
    if (comma == std::string::npos || comma == 0 || comma + 1 == pair.size()) {
      throw usage_error("--registry-client-cert takes HOST=CERT.pem,KEY.pem, got \"" + value + "\"");
    }
    o.client_certs[host] = ClientCert{pair.substr(0, comma), pair.substr(comma + 1)};
  } else if (flag == "registry-mirror") {
    auto eq = value.find('=');
    std::string host = eq == std::string::npos ? "docker.io" : value.substr(0, eq);
    std::string mirror = eq == std::string::npos ? value : value.substr(eq + 1);
    if (host.empty() || mirror.empty()) throw usage_error("--registry-mirror takes [HOST=]MIRROR, got \"" + value + "\"");
    o.mirrors[host].push_back(mirror);
  } else if (flag == "push-retry") {
    try {
      size_t used = 0;
      int n = std::stoi(value, &used);
      if (used != value.size() || n < 0 || n > 100) throw std::invalid_argument("range");
      o.retries = n;
    } catch (const std::exception&) {
      throw usage_error("--push-retry takes a count from 0 to 100, got \"" + value + "\"");
    }
  } else {
    throw usage_error("unknown registry flag --" + flag);
  }
}

}  // namespace slipway::registry

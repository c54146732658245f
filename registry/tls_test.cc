// TLS to a real docker-registry: a CA made at test time, skip-verify,
// mutual TLS, and refusal of an unknown CA.
#include <catch2/catch.hpp>

#include "common/error.h"
#include "registry/client.h"
#include "registry/log.h"
#include "tests/registry_fixture/registry_server.h"

using namespace slipway;
using namespace slipway::registry;
using slipway::testing::RegistryConfig;
using slipway::testing::RegistryServer;
using slipway::testing::TempDir;
using slipway::testing::TestCerts;

namespace {

Authenticator::CredentialSource none() {
  return [] { return std::optional<FoundCredential>(); };
}

RegistryOptions quick() {
  RegistryOptions o;
  o.retries = 1;
  o.retry_base_delay = std::chrono::milliseconds(5);
  return o;
}

}  // namespace

TEST_CASE("TLS: the registry's CA file, skip-verify, and an unknown CA refused") {
  TempDir dir;
  TestCerts certs(dir);
  RegistryConfig cfg;
  cfg.tls = true;
  cfg.certs = &certs;
  RegistryServer server(cfg);
  BlobSource blob = BlobSource::from_string("over tls");

  RegistryClient untrusted(server.host(), quick(), none());
  CHECK_THROWS_WITH(untrusted.push_blob("tls/x", blob),
                    Catch::Contains("https://" + server.host()) &&
                        Catch::Contains("--registry-certificate " + server.host() + "=CA.pem"));

  RegistryOptions with_ca = quick();
  with_ca.ca_files[server.host()] = certs.ca_cert;
  RegistryClient c(server.host(), with_ca, none());
  std::string trace;
  set_log_sink([&](LogLevel, const std::string& l) { trace += l + "\n"; }, LogLevel::kTrace);
  CHECK(c.push_blob("tls/x", blob) == BlobPush::kUploaded);
  CHECK(c.get_blob_bytes("tls/x", blob.digest) == "over tls");
  set_log_sink(nullptr);
  // ALPN picks HTTP/2, and one connection serves the whole push.
  CHECK_THAT(trace, Catch::Contains("< HTTP/2 201"));
  CHECK_THAT(trace, Catch::Contains("Re-using existing connection"));

  RegistryOptions skip = quick();
  skip.skip_tls_verify_hosts.insert(server.host());
  RegistryClient s(server.host(), skip, none());
  CHECK(s.blob_size("tls/x", blob.digest) == blob.size);

  // Plain HTTP is used only for hosts marked insecure; a TLS server then
  // fails, it is never silently downgraded the other way.
  RegistryOptions insecure = quick();
  insecure.insecure_hosts.insert(server.host());
  RegistryClient p(server.host(), insecure, none());
  CHECK_THROWS(p.blob_size("tls/x", blob.digest));
}

TEST_CASE("TLS to a plain-HTTP registry fails at once with a hint") {
  RegistryServer server({});
  RegistryOptions o = quick();
  o.retries = 3;
  o.retry_base_delay = std::chrono::milliseconds(1000);
  RegistryClient c(server.host(), o, none());
  auto start = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH(c.blob_size("x/y", sha256_of("x")), Catch::Contains("--insecure-registry " + server.host()));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(900));  // no retries
}

TEST_CASE("TLS: mutual TLS with a client certificate") {
  TempDir dir;
  TestCerts certs(dir);
  RegistryConfig cfg;
  cfg.tls = true;
  cfg.certs = &certs;
  cfg.require_client_cert = true;
  RegistryServer server(cfg);
  BlobSource blob = BlobSource::from_string("mtls");

  RegistryOptions no_cert = quick();
  no_cert.ca_files[server.host()] = certs.ca_cert;
  RegistryClient without(server.host(), no_cert, none());
  CHECK_THROWS(without.push_blob("m/x", blob));

  RegistryOptions with_cert = no_cert;
  with_cert.client_certs[server.host()] = ClientCert{certs.client_cert, certs.client_key};
  RegistryClient c(server.host(), with_cert, none());
  CHECK(c.push_blob("m/x", blob) == BlobPush::kUploaded);
  CHECK(c.get_blob_bytes("m/x", blob.digest) == "mtls");
}

TEST_CASE("TLS: SSL_CERT_FILE names the trusted CA bundle, as in Kaniko's image") {
  TempDir dir;
  TestCerts certs(dir);
  RegistryConfig cfg;
  cfg.tls = true;
  cfg.certs = &certs;
  RegistryServer server(cfg);
  BlobSource blob = BlobSource::from_string("trusted by environment");
  struct Env {
    explicit Env(const std::string& v) { ::setenv("SSL_CERT_FILE", v.c_str(), 1); }
    ~Env() { ::unsetenv("SSL_CERT_FILE"); }
  };
  {
    Env env(certs.ca_cert);
    RegistryClient c(server.host(), quick(), none());
    CHECK(c.push_blob("tls/env", blob) == BlobPush::kUploaded);
  }
  {
    // A bundle without our CA: refused, so the variable really is what counts.
    Env env("/etc/ssl/certs/ca-certificates.crt");
    RegistryClient c(server.host(), quick(), none());
    CHECK_THROWS(c.blob_size("tls/env", blob.digest));
  }
}

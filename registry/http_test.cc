// Transport behaviour a real registry cannot stage on demand: redirects to
// another host, 5xx/429 with Retry-After, downloads cut mid-way, lost upload
// sessions, schema 1 manifests. A scripted HTTP server plays the registry.
#include "registry/http.h"

#include <catch2/catch.hpp>

#include <atomic>

#include "common/error.h"
#include "registry/client.h"
#include "tests/registry_fixture/http_server.h"

using namespace slipway;
using namespace slipway::registry;
using slipway::testing::TestHttpServer;
using slipway::testing::TestRequest;
using slipway::testing::TestResponse;

namespace {

RegistryOptions options_for(std::initializer_list<std::string> hosts) {
  RegistryOptions o;
  for (const auto& h : hosts) o.insecure_hosts.insert(h);
  o.retries = 3;
  o.retry_base_delay = std::chrono::milliseconds(5);
  return o;
}

std::string host_of(const TestHttpServer& s) { return "127.0.0.1:" + std::to_string(s.port()); }

Authenticator::CredentialSource user(std::string u, std::string p) {
  return [=] { return std::optional<FoundCredential>(FoundCredential{Credential{u, p, "", ""}, "test"}); };
}

}  // namespace

TEST_CASE("redirects keep Authorization on the same host and drop it on another") {
  const std::string data = "redirected blob";
  const Digest d = sha256_of(data);
  TestHttpServer storage([&](const TestRequest&) { return TestResponse{200, {}, data}; });
  TestHttpServer reg([&](const TestRequest& r) -> TestResponse {
    if (r.headers.count("authorization") == 0) return {401, {{"WWW-Authenticate", "Basic realm=\"t\""}}, ""};
    if (r.path.find("/same") != std::string::npos) return {307, {{"Location", "/v2/r/blobs/" + d.str()}}, ""};
    if (r.path.find("/blobs/") != std::string::npos && r.target.find("hop") == std::string::npos &&
        r.path.find("/r/") == std::string::npos) {
      // Another host by name: localhost is not 127.0.0.1 to a browser or curl.
      return {302, {{"Location", "http://localhost:" + std::to_string(storage.port()) + "/s3/obj?sig=abc"}}, ""};
    }
    return {200, {}, data};
  });
  RegistryOptions o = options_for({host_of(reg)});
  RegistryClient c(host_of(reg), o, user("u", "p"));
  CHECK(c.get_blob_bytes("other", d) == data);
  auto sreqs = storage.requests();
  REQUIRE(sreqs.size() == 1);
  CHECK(sreqs[0].headers.count("authorization") == 0);
  CHECK(sreqs[0].target == "/s3/obj?sig=abc");

  CHECK(c.get_blob_bytes("same", d) == data);
  auto rreqs = reg.requests();
  CHECK(rreqs.back().path == "/v2/r/blobs/" + d.str());
  CHECK(rreqs.back().headers.count("authorization") == 1);
}

TEST_CASE("5xx and 429 are retried, honouring Retry-After; 4xx is not") {
  std::atomic<int> calls{0};
  TestHttpServer reg([&](const TestRequest& r) -> TestResponse {
    int n = calls++;
    if (r.path == "/v2/flaky/manifests/v1") {
      if (n == 0) return {503, {}, ""};
      if (n == 1) return {429, {{"Retry-After", "1"}}, ""};
      return {200, {{"Content-Type", "application/vnd.oci.image.manifest.v1+json"}},
              R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"x","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":1},"layers":[]})"};
    }
    return {400, {{"Content-Type", "application/json"}},
            R"({"errors":[{"code":"NAME_INVALID","message":"invalid repository name","detail":"bad/name"}]})"};
  });
  RegistryOptions o = options_for({host_of(reg)});
  o.retry_max_delay = std::chrono::milliseconds(2000);
  RegistryClient c(host_of(reg), o, user("u", "p"));
  auto start = std::chrono::steady_clock::now();
  CHECK(c.get_manifest("flaky", "v1").media_type == media::kOciManifest);
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(900));
  CHECK(calls == 3);

  calls = 10;
  CHECK_THROWS_WITH(c.get_manifest("bad", "v1"),
                    Catch::Contains("pulling manifest v1 of " + host_of(reg) + "/bad: HTTP 400") &&
                        Catch::Contains("NAME_INVALID: invalid repository name (bad/name)"));
  CHECK(calls == 11);
}

TEST_CASE("a download cut mid-way resumes with Range, also when the server ignores it") {
  std::string data(300000, 'z');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
  const Digest d = sha256_of(data);
  bool honour_range = true;
  std::atomic<int> calls{0};
  TestHttpServer reg([&](const TestRequest& r) -> TestResponse {
    int n = calls++;
    auto range = r.headers.find("range");
    if (range != r.headers.end() && honour_range) {
      size_t from = std::stoul(range->second.substr(6));
      return {206, {{"Content-Range", "bytes " + std::to_string(from) + "-" + std::to_string(data.size() - 1) + "/*"}},
              data.substr(from)};
    }
    TestResponse resp{200, {}, data};
    if (n == 0) resp.cut_after = 100000;
    return resp;
  });
  RegistryClient c(host_of(reg), options_for({host_of(reg)}), user("u", "p"));
  CHECK(c.get_blob_bytes("r", d) == data);
  auto reqs = reg.requests();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[1].headers["range"] == "bytes=100000-");

  calls = 0;
  honour_range = false;
  CHECK(c.get_blob_bytes("r", d) == data);

  // A server that keeps sending wrong bytes is caught by the digest.
  TestHttpServer liar([&](const TestRequest&) { return TestResponse{200, {}, "not the blob"}; });
  RegistryClient l(host_of(liar), options_for({host_of(liar)}), user("u", "p"));
  CHECK_THROWS_WITH(l.get_blob_bytes("r", d), Catch::Contains("content has digest " + sha256_of("not the blob").str()));
}

TEST_CASE("a lost upload session restarts cleanly; refused chunking falls back to one PUT") {
  std::string data(50000, 'q');
  const Digest d = sha256_of(data);
  std::atomic<int> sessions{0};
  std::atomic<bool> lose_first{true};
  std::atomic<bool> refuse_patch{false};
  std::string received;
  std::mutex mu;
  TestHttpServer reg([&](const TestRequest& r) -> TestResponse {
    std::lock_guard lock(mu);
    if (r.method == "HEAD") return {404, {}, ""};
    if (r.method == "POST") {
      int s = ++sessions;
      received.clear();
      return {202, {{"Location", "/v2/r/blobs/uploads/s" + std::to_string(s) + "?_state=x"}}, ""};
    }
    if (r.method == "PATCH") {
      if (refuse_patch) return {405, {}, ""};
      if (lose_first && r.path.find("/s1") != std::string::npos) return {404, {}, R"({"errors":[{"code":"BLOB_UPLOAD_UNKNOWN"}]})"};
      received += r.body;
      return {202, {{"Location", r.target}, {"Range", "0-" + std::to_string(received.size() - 1)}}, ""};
    }
    if (r.method == "GET") return {404, {}, ""};  // the session is gone
    if (r.method == "PUT") {
      received += r.body;
      if (sha256_of(received).str() != r.query.find("digest")->second) return {400, {}, R"({"errors":[{"code":"DIGEST_INVALID"}]})"};
      return {201, {{"Docker-Content-Digest", d.str()}}, ""};
    }
    return {500, {}, ""};
  });
  RegistryOptions o = options_for({host_of(reg)});
  o.upload_chunk_size = 20000;
  RegistryClient c(host_of(reg), o, user("u", "p"));
  CHECK(c.push_blob("r", BlobSource::from_string(data)) == BlobPush::kUploaded);
  CHECK(sessions == 2);
  CHECK(received == data);

  lose_first = false;
  refuse_patch = true;
  sessions = 0;
  CHECK(c.push_blob("r", BlobSource::from_string(data)) == BlobPush::kUploaded);
  CHECK(sessions == 2);  // the chunked one, then a fresh one for the PUT
  CHECK(received == data);
}

TEST_CASE("schema 1 manifests are rejected with a clear message") {
  TestHttpServer reg([](const TestRequest&) {
    return TestResponse{200, {{"Content-Type", "application/vnd.docker.distribution.manifest.v1+prettyjws"}},
                        R"({"schemaVersion":1,"name":"old","tag":"v1","fsLayers":[]})"};
  });
  RegistryClient c(host_of(reg), options_for({host_of(reg)}), user("u", "p"));
  CHECK_THROWS_WITH(c.get_manifest("old", "v1"), Catch::Contains("schema 1") && Catch::Contains("/old"));
}

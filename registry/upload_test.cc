// Blob transfers under faults a real registry does not produce on demand:
// every failure counts against one retry budget per blob, and none of them
// loops forever or turns into a success over missing data. A scripted HTTP
// server plays the registry (tests/registry_faults_test.sh covers the same
// through a proxy in front of docker-registry).
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "common/error.h"
#include "registry/client.h"
#include "tests/registry_fixture/http_server.h"

using namespace slipway;
using namespace slipway::registry;
using slipway::testing::TestHttpServer;
using slipway::testing::TestRequest;
using slipway::testing::TestResponse;

namespace {

RegistryOptions fast_options(const TestHttpServer& s, int retries) {
  RegistryOptions o;
  o.insecure_hosts.insert("127.0.0.1:" + std::to_string(s.port()));
  o.retries = retries;
  o.retry_base_delay = std::chrono::milliseconds(2);
  return o;
}

RegistryClient client_for(const TestHttpServer& s, RegistryOptions o) {
  return RegistryClient("127.0.0.1:" + std::to_string(s.port()), std::move(o),
                        [] { return std::optional<FoundCredential>(); });
}

int count(const std::vector<TestRequest>& reqs, const std::string& method) {
  return static_cast<int>(std::count_if(reqs.begin(), reqs.end(), [&](const TestRequest& r) { return r.method == method; }));
}

std::string blob_data() {
  std::string data(40000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + (i * 13) % 26);
  return data;
}

}  // namespace

TEST_CASE("a PATCH failing every time ends the push after the retries, naming the repository") {
  TestHttpServer reg([](const TestRequest& r) -> TestResponse {
    if (r.method == "HEAD") return {404, {}, ""};
    if (r.method == "POST") return {202, {{"Location", "/v2/team/app/blobs/uploads/s1"}}, ""};
    if (r.method == "PATCH") return {500, {}, ""};
    if (r.method == "GET") return {204, {{"Range", "0-0"}}, ""};  // distribution's empty session
    return {400, {}, ""};
  });
  auto c = client_for(reg, fast_options(reg, 2));
  CHECK_THROWS_WITH(c.push_blob("team/app", BlobSource::from_string(blob_data())),
                    Catch::Contains("/team/app: HTTP 500") && Catch::Contains("gave up after 3"));
  CHECK(count(reg.requests(), "PATCH") == 3);
}

TEST_CASE("429 on a PATCH waits for Retry-After and resumes the same chunked session") {
  std::mutex mu;
  std::string received;
  int patches = 0;
  const std::string data = blob_data();
  TestHttpServer reg([&](const TestRequest& r) -> TestResponse {
    std::lock_guard lock(mu);
    if (r.method == "HEAD") return {404, {}, ""};
    if (r.method == "POST") return {202, {{"Location", "/v2/r/blobs/uploads/s1"}}, ""};
    if (r.method == "PATCH") {
      if (patches++ == 0) return {429, {{"Retry-After", "1"}}, ""};
      received += r.body;
      return {202, {{"Range", "0-" + std::to_string(received.size() - 1)}}, ""};
    }
    if (r.method == "GET") return {204, {{"Range", received.empty() ? "0-0" : "0-" + std::to_string(received.size() - 1)}}, ""};
    if (r.method == "PUT") return {r.body.empty() && received == data ? 201 : 400, {}, ""};
    return {400, {}, ""};
  });
  auto c = client_for(reg, fast_options(reg, 2));
  auto start = std::chrono::steady_clock::now();
  CHECK(c.push_blob("r", BlobSource::from_string(data)) == BlobPush::kUploaded);
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(950));
  auto reqs = reg.requests();
  CHECK(count(reqs, "POST") == 1);   // no new session, no fallback to one PUT
  CHECK(count(reqs, "PATCH") == 2);
}

TEST_CASE("a closing PUT whose answer is lost: the blob is there, so no second upload") {
  std::atomic<bool> stored{false};
  const std::string data = blob_data();
  TestHttpServer reg([&](const TestRequest& r) -> TestResponse {
    if (r.method == "HEAD") {
      if (!stored) return {404, {}, ""};
      return {200, {{"Content-Length", std::to_string(data.size())}}, ""};
    }
    if (r.method == "POST") return {202, {{"Location", "/v2/r/blobs/uploads/s1"}}, ""};
    if (r.method == "PATCH") return {202, {{"Range", "0-" + std::to_string(data.size() - 1)}}, ""};
    if (r.method == "PUT") {
      stored = true;
      TestResponse resp{201, {}, "stored, but this answer never arrives"};
      resp.cut_after = 3;
      return resp;
    }
    return {400, {}, ""};
  });
  auto c = client_for(reg, fast_options(reg, 2));
  CHECK(c.push_blob("r", BlobSource::from_string(data)) == BlobPush::kUploaded);
  auto reqs = reg.requests();
  CHECK(count(reqs, "POST") == 1);
  CHECK(count(reqs, "PATCH") == 1);
}

TEST_CASE("downloads: drops, 5xx and short answers share one retry budget") {
  const std::string data = blob_data();
  const Digest d = sha256_of(data);
  SECTION("a connection that always drops before the body: retries + 1 GETs, not (retries + 1)^2") {
    TestHttpServer reg([&](const TestRequest&) {
      TestResponse resp{200, {}, data};
      resp.cut_after = 0;
      return resp;
    });
    auto c = client_for(reg, fast_options(reg, 3));
    CHECK_THROWS_WITH(c.get_blob_bytes("r", d), Catch::Contains("gave up after 4"));
    CHECK(reg.requests().size() == 4);
  }
  SECTION("a 2xx answer shorter than the descriptor resumes with Range") {
    std::atomic<int> calls{0};
    TestHttpServer reg([&](const TestRequest& r) -> TestResponse {
      ++calls;
      auto range = r.headers.find("range");
      if (range == r.headers.end()) return {200, {}, data.substr(0, 1000)};
      size_t from = std::stoul(range->second.substr(6));
      return {206, {}, data.substr(from)};
    });
    auto c = client_for(reg, fast_options(reg, 3));
    std::string out;
    c.get_blob("r", d, [&](const char* p, size_t n) { out.append(p, n); }, static_cast<int64_t>(data.size()));
    CHECK(out == data);
    CHECK(calls == 2);
  }
  SECTION("always short: a clear error after the retries") {
    TestHttpServer reg([&](const TestRequest&) { return TestResponse{200, {}, data.substr(0, 10)}; });
    auto c = client_for(reg, fast_options(reg, 1));
    std::string out;
    CHECK_THROWS_WITH(
        c.get_blob("r", d, [&](const char* p, size_t n) { out.append(p, n); }, static_cast<int64_t>(data.size())),
        Catch::Contains("/r: the answer ended after") && Catch::Contains("gave up after 2"));
    CHECK(reg.requests().size() == 2);
  }
}

TEST_CASE("an answer stalled past the low-speed timeout is retried, not waited for") {
  const std::string data = blob_data();
  const Digest d = sha256_of(data);
  std::atomic<int> calls{0};
  TestHttpServer reg([&](const TestRequest&) {
    if (calls++ == 0) std::this_thread::sleep_for(std::chrono::seconds(3));
    return TestResponse{200, {}, data};
  });
  RegistryOptions o = fast_options(reg, 2);
  o.low_speed_timeout_seconds = 1;
  auto c = client_for(reg, o);
  CHECK(c.get_blob_bytes("r", d) == data);
  // This one-thread server serves the retry only after the stall ends, so
  // the retry may time out as well: two or three attempts.
  CHECK(calls >= 2);
}

TEST_CASE("a manifest answer cut short is reported by its digest, not as bad JSON") {
  const std::string body = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"})";
  TestHttpServer reg([&](const TestRequest&) {
    return TestResponse{200,
                        {{"Content-Type", "application/vnd.oci.image.manifest.v1+json"},
                         {"Docker-Content-Digest", sha256_of(body).str()},
                         {"Content-Length", std::to_string(body.size() / 2)}},
                        body.substr(0, body.size() / 2)};
  });
  auto c = client_for(reg, fast_options(reg, 1));
  CHECK_THROWS_WITH(c.get_manifest("r", "v1"), Catch::Contains("but the registry announced " + sha256_of(body).str()));
}

TEST_CASE("a restarted upload cancels the session it abandons, and a failing DELETE does not fail the push") {
  std::mutex mu;
  int sessions = 0;
  std::vector<std::string> deleted;
  const std::string data = blob_data();
  TestHttpServer reg([&](const TestRequest& r) -> TestResponse {
    std::lock_guard lock(mu);
    if (r.method == "HEAD") return {404, {}, ""};
    if (r.method == "POST") return {202, {{"Location", "/v2/r/blobs/uploads/s" + std::to_string(++sessions)}}, ""};
    if (r.method == "PUT" && r.path == "/v2/r/blobs/uploads/s1") return {404, {}, ""};  // the registry lost it
    if (r.method == "PUT") return {r.body == data ? 201 : 400, {}, ""};
    if (r.method == "DELETE") {
      deleted.push_back(r.path);
      return {500, {}, ""};
    }
    return {400, {}, ""};
  });
  RegistryOptions o = fast_options(reg, 2);
  o.chunked_upload = false;
  auto c = client_for(reg, o);
  CHECK(c.push_blob("r", BlobSource::from_string(data)) == BlobPush::kUploaded);
  std::lock_guard lock(mu);
  CHECK(sessions == 2);
  REQUIRE(deleted.size() == 1);
  CHECK(deleted[0] == "/v2/r/blobs/uploads/s1");
}

TEST_CASE("a 413 on the single PUT falls back to chunks in a new session, cancelling the refused one") {
  std::mutex mu;
  std::string received;
  int sessions = 0, deletes = 0;
  const std::string data = blob_data();
  TestHttpServer reg([&](const TestRequest& r) -> TestResponse {
    std::lock_guard lock(mu);
    if (r.method == "HEAD") return {404, {}, ""};
    if (r.method == "POST") return {202, {{"Location", "/v2/r/blobs/uploads/s" + std::to_string(++sessions)}}, ""};
    if (r.method == "PUT" && !r.body.empty()) return {413, {}, ""};
    if (r.method == "PATCH") {
      if (r.body.size() > 10000) return {413, {}, ""};
      received += r.body;
      return {202, {{"Range", "0-" + std::to_string(received.size() - 1)}}, ""};
    }
    if (r.method == "PUT") return {received == data ? 201 : 400, {}, ""};
    if (r.method == "DELETE") {
      ++deletes;
      return {204, {}, ""};
    }
    return {400, {}, ""};
  });
  RegistryOptions o = fast_options(reg, 2);
  o.chunked_upload = false;
  o.upload_chunk_size = 10000;
  auto c = client_for(reg, o);
  CHECK(c.push_blob("r", BlobSource::from_string(data)) == BlobPush::kUploaded);
  std::lock_guard lock(mu);
  CHECK(sessions == 2);
  CHECK(deletes == 1);
  CHECK(received == data);
}

TEST_CASE("chunks refused after a 413 on the single PUT end the push instead of switching back and forth") {
  TestHttpServer reg([](const TestRequest& r) -> TestResponse {
    if (r.method == "HEAD") return {404, {}, ""};
    if (r.method == "POST") return {202, {{"Location", "/v2/r/blobs/uploads/s1"}}, ""};
    if (r.method == "PUT" || r.method == "PATCH") return {413, {}, ""};
    return {204, {}, ""};
  });
  RegistryOptions o = fast_options(reg, 2);
  o.chunked_upload = false;
  auto c = client_for(reg, o);
  CHECK_THROWS_WITH(c.push_blob("r", BlobSource::from_string(blob_data())), Catch::Contains("HTTP 413"));
  CHECK(count(reg.requests(), "POST") == 2);
}

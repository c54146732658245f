#include "builder/blob_relay.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "common/error.h"
#include "tests/registry_fixture/registry_server.h"

using namespace slipway;
using slipway::testing::RegistryServer;

namespace {

registry::RegistryOptions plain(const RegistryServer& a, const RegistryServer& b) {
  registry::RegistryOptions o;
  o.insecure_hosts = {a.host(), b.host()};
  o.chunked_upload = false;
  o.retries = 1;
  o.retry_base_delay = std::chrono::milliseconds(10);
  return o;
}

// 6 MiB that do not compress, so the upload cannot outrun the download.
std::string payload() {
  std::string s(6u << 20, '\0');
  uint32_t x = 12345;
  for (auto& c : s) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

}  // namespace

TEST_CASE("relay_blob copies a blob between two registries while it downloads") {
  RegistryServer a({}), b({});
  registry::RegistryClient from(a.host(), plain(a, b)), to(b.host(), plain(a, b));
  auto blob = registry::BlobSource::from_string(payload());
  from.push_blob("src", blob);
  Descriptor d;
  d.digest = blob.digest;
  d.size = static_cast<int64_t>(blob.size);
  slipway::testing::TempDir dir;
  std::string scratch = dir / "relay";

  auto how = copy::relay_blob(to, "dst", d, scratch, [&](const registry::BodySink& sink) {
    from.get_blob("src", d.digest, sink, d.size);
  });
  CHECK(how == registry::BlobPush::kUploaded);
  CHECK(to.blob_size("dst", d.digest) == std::optional<uint64_t>(blob.size));
  CHECK(to.get_blob_bytes("dst", d.digest, 8u << 20) == payload());
  struct stat st;
  CHECK(::stat(scratch.c_str(), &st) != 0);  // the scratch file is gone
}

TEST_CASE("relay_blob fails, and uploads nothing, when the download goes wrong") {
  RegistryServer a({}), b({});
  registry::RegistryClient to(b.host(), plain(a, b));
  std::string data = payload();
  Descriptor d;
  d.digest = sha256_of(data);
  d.size = static_cast<int64_t>(data.size());
  slipway::testing::TempDir dir;

  SECTION("the download breaks off halfway") {
    CHECK_THROWS_WITH(copy::relay_blob(to, "dst", d, dir / "relay",
                                       [&](const registry::BodySink& sink) {
                                         sink(data.data(), data.size() / 2);
                                         throw Error("connection reset by the source");
                                       }),
                      Catch::Contains("connection reset by the source"));
  }
  SECTION("the bytes are not the digest's") {
    std::string bad = data;
    bad[100] ^= 1;
    CHECK_THROWS(copy::relay_blob(to, "dst", d, dir / "relay", [&](const registry::BodySink& sink) {
      sink(bad.data(), bad.size());
      // get_blob would throw here, once every byte went through the sink.
      throw Error("content has digest " + sha256_of(bad).str());
    }));
  }
  CHECK_FALSE(to.blob_size("dst", d.digest));
}

// The distribution protocol against a real docker-registry over plain HTTP.
#include "registry/client.h"

#include <catch2/catch.hpp>

#include <fstream>

#include "common/error.h"
#include "registry/log.h"
#include "tests/registry_fixture/registry_server.h"

using namespace slipway;
using namespace slipway::registry;
using slipway::testing::RegistryServer;

namespace {

RegistryOptions plain_options(const RegistryServer& server) {
  RegistryOptions o;
  o.insecure_hosts.insert(server.host());
  o.retry_base_delay = std::chrono::milliseconds(10);
  return o;
}

auto anonymous() {
  return [] { return std::optional<FoundCredential>(); };
}

std::string pattern(size_t size, char seed) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>(seed + (i * 7 + i / 251) % 61);
  return s;
}

std::string pull(RegistryClient& c, const std::string& repo, const Digest& d, int64_t size = -1) {
  std::string out;
  c.get_blob(repo, d, [&](const char* p, size_t n) { out.append(p, n); }, size);
  return out;
}

Manifest tiny_manifest(const BlobSource& config, const BlobSource& layer) {
  Manifest m;
  m.media_type = media::kOciManifest;
  m.config = Descriptor{media::kOciConfig, config.digest, static_cast<int64_t>(config.size), {}, {}, {}, {}};
  m.layers.push_back(Descriptor{media::kOciLayerGzip, layer.digest, static_cast<int64_t>(layer.size), {}, {}, {}, {}});
  return m;
}

}  // namespace

TEST_CASE("blobs: chunked and monolithic push, skip existing, mount, pull back") {
  RegistryServer server({});
  RegistryOptions opts = plain_options(server);
  opts.upload_chunk_size = 100000;  // several PATCHes for the big blob
  RegistryClient c(server.host(), opts, anonymous());

  BlobSource big = BlobSource::from_string(pattern(350000, 'a'));
  REQUIRE_FALSE(c.blob_size("team/app", big.digest));
  std::vector<std::string> lines;
  set_log_sink([&](LogLevel, const std::string& l) { lines.push_back(l); }, LogLevel::kDebug);
  CHECK(c.push_blob("team/app", big) == BlobPush::kUploaded);
  set_log_sink(nullptr);
  CHECK(std::count_if(lines.begin(), lines.end(), [](const std::string& l) {
          return l.rfind("PATCH ", 0) == 0 && l.find(" -> 202") != std::string::npos;
        }) == 4);
  CHECK(c.blob_size("team/app", big.digest) == big.size);
  CHECK(c.push_blob("team/app", big) == BlobPush::kExisted);
  CHECK(pull(c, "team/app", big.digest, static_cast<int64_t>(big.size)) == pattern(350000, 'a'));

  RegistryOptions mono = plain_options(server);
  mono.chunked_upload = false;
  RegistryClient m(server.host(), mono, anonymous());
  BlobSource small = BlobSource::from_string(pattern(5000, 'k'));
  CHECK(m.push_blob("team/other", small) == BlobPush::kUploaded);
  CHECK(pull(m, "team/other", small.digest) == pattern(5000, 'k'));

  BlobSource empty = BlobSource::from_string("");
  CHECK(c.push_blob("team/app", empty) == BlobPush::kUploaded);
  CHECK(pull(c, "team/app", empty.digest).empty());

  // Mount: the blob exists in team/app; team/copy gets it without upload.
  REQUIRE_FALSE(c.blob_size("team/copy", big.digest));
  CHECK(c.push_blob("team/copy", big, {"team/app"}) == BlobPush::kMounted);
  CHECK(c.blob_size("team/copy", big.digest) == big.size);
  // A mount source that lacks the blob falls back to an upload.
  CHECK(c.push_blob("team/copy2", small, {"team/app"}) == BlobPush::kUploaded);
  CHECK(pull(c, "team/copy2", small.digest) == pattern(5000, 'k'));
}

TEST_CASE("blobs from files stream through pread") {
  RegistryServer server({});
  RegistryClient c(server.host(), plain_options(server), anonymous());
  slipway::testing::TempDir dir;
  std::string content = pattern(200000, 'f');
  slipway::testing::write_file(dir / "blob", content);
  BlobSource src = BlobSource::from_file(dir / "blob", sha256_of(content), content.size());
  CHECK(c.push_blob("files/x", src) == BlobPush::kUploaded);
  CHECK(pull(c, "files/x", src.digest) == content);
}

TEST_CASE("a blob pulled under the wrong digest is rejected") {
  RegistryServer server({});
  RegistryClient c(server.host(), plain_options(server), anonymous());
  BlobSource b = BlobSource::from_string("real content");
  c.push_blob("r/x", b);
  // Corrupt the stored blob on disk: the registry serves the bad bytes
  // under the old digest, as a broken mirror or a tampered store would.
  std::string data_path = slipway::testing::run("find " + server.storage_dir() + "/storage -path '*" + b.digest.hex +
                                                "/data' | head -1");
  data_path.erase(data_path.find_last_not_of('\n') + 1);
  REQUIRE_FALSE(data_path.empty());
  slipway::testing::write_file(data_path, "fake content");
  try {
    pull(c, "r/x", b.digest);
    FAIL("corrupted blob accepted");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("content has digest " + sha256_of("fake content").str()));
  }
  // An absent blob says what, where and why.
  Digest missing = sha256_of("nope");
  try {
    pull(c, "r/x", missing);
    FAIL("missing blob accepted");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Catch::Contains(server.host() + "/r/x"));
    CHECK_THAT(e.what(), Catch::Contains("404"));
    CHECK_THAT(e.what(), Catch::Contains("BLOB_UNKNOWN"));
  }
}

TEST_CASE("manifests: push to a tag, verify with HEAD, pull back by tag and digest") {
  RegistryServer server({});
  RegistryClient c(server.host(), plain_options(server), anonymous());
  BlobSource config = BlobSource::from_string(R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}})");
  BlobSource layer = BlobSource::from_string(pattern(1000, 'l'));
  c.push_blob("img/a", config);
  c.push_blob("img/a", layer);
  std::string body = manifest_json(tiny_manifest(config, layer));
  Digest d = c.put_manifest("img/a", "v1", media::kOciManifest, body);
  CHECK(d == sha256_of(body));

  auto head = c.head_manifest("img/a", "v1");
  REQUIRE(head);
  CHECK(head->digest == d);
  CHECK(head->media_type == media::kOciManifest);
  CHECK_FALSE(c.head_manifest("img/a", "nosuchtag"));

  FetchedManifest by_tag = c.get_manifest("img/a", "v1");
  CHECK(by_tag.body == body);
  CHECK(by_tag.digest == d);
  FetchedManifest by_digest = c.get_manifest("img/a", d.str());
  CHECK(by_digest.body == body);
  Manifest parsed = parse_manifest(by_digest.body);
  CHECK(c.get_blob_bytes("img/a", parsed.config.digest) == R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}})");

  // A manifest whose blobs are missing is refused by the registry.
  BlobSource ghost = BlobSource::from_string("ghost");
  std::string bad = manifest_json(tiny_manifest(config, ghost));
  CHECK_THROWS_WITH(c.put_manifest("img/a", "bad", media::kOciManifest, bad),
                    Catch::Contains("MANIFEST_BLOB_UNKNOWN"));
}

TEST_CASE("an index selects the platform, and says which exist when none match") {
  RegistryServer server({});
  RegistryClient c(server.host(), plain_options(server), anonymous());
  Index index;
  index.media_type = media::kOciIndex;
  std::vector<Digest> digests;
  for (const char* arch : {"amd64", "arm64"}) {
    BlobSource config = BlobSource::from_string(std::string(R"({"architecture":")") + arch + R"(","os":"linux"})");
    BlobSource layer = BlobSource::from_string(pattern(100, arch[1]));
    c.push_blob("multi/x", config);
    c.push_blob("multi/x", layer);
    std::string body = manifest_json(tiny_manifest(config, layer));
    Digest d = c.put_manifest("multi/x", "", media::kOciManifest, body);
    digests.push_back(d);
    Descriptor desc{media::kOciManifest, d, static_cast<int64_t>(body.size()), Platform{"linux", arch, "", ""}, {}, {}, {}};
    index.manifests.push_back(desc);
  }
  std::string body = index_json(index);
  c.put_manifest("multi/x", "latest", media::kOciIndex, body);
  CHECK(c.get_manifest("multi/x", "latest").media_type == media::kOciIndex);
  CHECK(c.get_image_manifest("multi/x", "latest", parse_platform("linux/arm64")).digest == digests[1]);
  CHECK(c.get_image_manifest("multi/x", "latest", parse_platform("linux/amd64")).digest == digests[0]);
  CHECK_THROWS_WITH(c.get_image_manifest("multi/x", "latest", parse_platform("linux/s390x")),
                    Catch::Contains("available: linux/amd64, linux/arm64"));
}

TEST_CASE("a dead registry fails with a transport error after the retries") {
  int port = slipway::testing::free_port();
  RegistryOptions o;
  std::string host = "127.0.0.1:" + std::to_string(port);
  o.insecure_hosts.insert(host);
  o.retries = 2;
  o.retry_base_delay = std::chrono::milliseconds(5);
  RegistryClient c(host, o, anonymous());
  CHECK_THROWS_WITH(c.get_manifest("x/y", "latest"), Catch::Contains("HEAD") || Catch::Contains("GET http://" + host));
}

TEST_CASE("mirrors serve pulls first; a dead or empty mirror falls back to the registry") {
  RegistryServer origin({});
  RegistryServer mirror({});
  RegistryOptions o = plain_options(origin);
  o.insecure_hosts.insert(mirror.host());
  RegistryClient direct_mirror(mirror.host(), o, anonymous());
  RegistryClient direct_origin(origin.host(), o, anonymous());
  BlobSource config = BlobSource::from_string(R"({"os":"linux"})");
  BlobSource layer = BlobSource::from_string("layer in the mirror only");
  direct_mirror.push_blob("lib/x", config);
  direct_mirror.push_blob("lib/x", layer);
  Digest d = direct_mirror.put_manifest("lib/x", "v1", media::kOciManifest, manifest_json(tiny_manifest(config, layer)));

  std::string dead = "127.0.0.1:" + std::to_string(slipway::testing::free_port());
  o.insecure_hosts.insert(dead);
  o.retries = 0;
  o.mirrors[origin.host()] = {dead, mirror.host()};
  RegistryClient c(origin.host(), o, anonymous());
  CHECK(c.get_manifest("lib/x", "v1").digest == d);
  CHECK(c.get_blob_bytes("lib/x", layer.digest) == "layer in the mirror only");
  // Not in any mirror: the registry itself answers (here: 404).
  CHECK_THROWS_WITH(c.get_manifest("lib/x", "v2"), Catch::Contains(origin.host() + "/lib/x: HTTP 404"));
  CHECK_FALSE(direct_origin.blob_size("lib/x", layer.digest));
}

TEST_CASE("throughput of a 256 MiB push and pull (hidden: run with [.throughput])", "[.throughput]") {
  RegistryServer server({});
  RegistryClient c(server.host(), plain_options(server), anonymous());
  slipway::testing::TempDir dir;
  const uint64_t size = 256u << 20;
  slipway::testing::run("head -c " + std::to_string(size) + " /dev/urandom > " + (dir / "blob"));
  Sha256 h;
  std::string chunk(1 << 20, '\0');
  {
    std::ifstream in(dir / "blob", std::ios::binary);
    while (in.read(chunk.data(), static_cast<std::streamsize>(chunk.size())) || in.gcount() > 0) {
      h.update(chunk.data(), static_cast<size_t>(in.gcount()));
    }
  }
  BlobSource src = BlobSource::from_file(dir / "blob", h.finish(), size);
  auto t0 = std::chrono::steady_clock::now();
  CHECK(c.push_blob("bench/x", src) == BlobPush::kUploaded);
  auto t1 = std::chrono::steady_clock::now();
  uint64_t got = 0;
  c.get_blob("bench/x", src.digest, [&](const char*, size_t n) { got += n; }, static_cast<int64_t>(size));
  auto t2 = std::chrono::steady_clock::now();
  CHECK(got == size);
  auto mbps = [&](auto d) { return 256.0 / std::chrono::duration<double>(d).count(); };
  RegistryOptions mono = plain_options(server);
  mono.chunked_upload = false;
  RegistryClient m(server.host(), mono, anonymous());
  auto t3 = std::chrono::steady_clock::now();
  CHECK(m.push_blob("bench/y", src) == BlobPush::kUploaded);
  auto t4 = std::chrono::steady_clock::now();
  WARN("push chunked " << mbps(t1 - t0) << " MiB/s, monolithic " << mbps(t4 - t3) << " MiB/s, pull (sha256-verified) "
                       << mbps(t2 - t1) << " MiB/s");
}

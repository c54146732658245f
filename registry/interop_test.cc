// Interoperability with skopeo (containers/image): an image we push is read
// and copied by skopeo, and an image skopeo pushes is pulled by us.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "registry/client.h"
#include "tests/registry_fixture/registry_server.h"

using namespace slipway;
using namespace slipway::registry;
using slipway::testing::RegistryServer;
using slipway::testing::run;
using slipway::testing::TempDir;

namespace {

Digest file_digest(const std::string& path) { return sha256_of(slipway::testing::read_file(path)); }

}  // namespace

TEST_CASE("skopeo reads and copies an image we pushed, and we pull one skopeo pushed") {
  RegistryServer server({});
  RegistryOptions o;
  o.insecure_hosts.insert(server.host());
  RegistryClient c(server.host(), o, [] { return std::optional<FoundCredential>(); });
  TempDir dir;

  // A one-file layer made by the tar CLI.
  std::filesystem::create_directories(dir / "root/etc");
  slipway::testing::write_file(dir / "root/etc/hello.txt", "hello from slipway\n");
  run("cd " + dir.path() + " && tar --owner=0 --group=0 --mtime=@0 -C root -cf layer.tar etc"
      " && gzip -n -c layer.tar > layer.tar.gz");
  Digest diff_id = file_digest(dir / "layer.tar");
  Digest layer_digest = file_digest(dir / "layer.tar.gz");
  uint64_t layer_size = std::filesystem::file_size(dir / "layer.tar.gz");
  nlohmann::json config = {{"architecture", "arm64"},
                           {"variant", "v8"},
                           {"os", "linux"},
                           {"config", {{"Env", {"PATH=/bin"}}}},
                           {"rootfs", {{"type", "layers"}, {"diff_ids", {diff_id.str()}}}}};
  BlobSource config_blob = BlobSource::from_string(config.dump());
  BlobSource layer_blob = BlobSource::from_file(dir / "layer.tar.gz", layer_digest, layer_size);
  c.push_blob("interop/hello", layer_blob);
  c.push_blob("interop/hello", config_blob);
  Manifest m;
  m.media_type = media::kDockerManifest;
  m.config = Descriptor{media::kDockerConfig, config_blob.digest, static_cast<int64_t>(config_blob.size), {}, {}, {}, {}};
  m.layers.push_back(Descriptor{media::kDockerLayerGzip, layer_digest, static_cast<int64_t>(layer_size), {}, {}, {}, {}});
  Digest manifest_digest = c.put_manifest("interop/hello", "v1", media::kDockerManifest, manifest_json(m));

  const std::string ref = "docker://" + server.host() + "/interop/hello:v1";
  auto inspect = nlohmann::json::parse(run("skopeo --insecure-policy inspect --tls-verify=false " + ref));
  CHECK(inspect["Digest"] == manifest_digest.str());
  CHECK(inspect["Architecture"] == "arm64");
  CHECK(inspect["Layers"][0] == layer_digest.str());
  // A copy re-reads and verifies every blob.
  run("skopeo --insecure-policy copy -q --src-tls-verify=false " + ref + " oci:" + (dir / "oci") + ":v1 2>&1");
  CHECK(std::filesystem::exists(dir / ("oci/blobs/sha256/" + layer_digest.hex)));

  // The other way: skopeo pushes (as OCI, with its own upload strategy) and
  // we pull through the platform-resolving path, verifying everything.
  run("skopeo --insecure-policy copy -q --dest-tls-verify=false --format oci oci:" + (dir / "oci") + ":v1 docker://" +
      server.host() + "/interop/copied:v2 2>&1");
  FetchedManifest pulled = c.get_image_manifest("interop/copied", "v2", parse_platform("linux/arm64"));
  CHECK(pulled.media_type == media::kOciManifest);
  Manifest pm = parse_manifest(pulled.body);
  REQUIRE(pm.layers.size() == 1);
  std::string layer;
  c.get_blob("interop/copied", pm.layers[0].digest, [&](const char* p, size_t n) { layer.append(p, n); },
             pm.layers[0].size);
  CHECK(sha256_of(layer) == pm.layers[0].digest);
  auto cfg = nlohmann::json::parse(c.get_blob_bytes("interop/copied", pm.config.digest));
  CHECK(cfg["rootfs"]["diff_ids"][0] == diff_id.str());
}

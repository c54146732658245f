#include "registry/manifest.h"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "registry/base64.h"

using namespace slipway;
using namespace slipway::registry;

namespace {
const std::string kD1 = "sha256:" + std::string(64, 'a');
const std::string kD2 = "sha256:" + std::string(64, 'b');
}  // namespace

TEST_CASE("media types are detected from Content-Type, the document, or its shape") {
  std::string oci = R"({"schemaVersion":2,"config":{"mediaType":"x","digest":")" + kD1 + R"(","size":3},"layers":[]})";
  CHECK(detect_manifest_media_type(oci, "") == media::kOciManifest);
  CHECK(detect_manifest_media_type(oci, std::string(media::kDockerManifest) + "; charset=utf-8") ==
        media::kDockerManifest);
  CHECK(detect_manifest_media_type(R"({"schemaVersion":2,"manifests":[]})", "application/json") == media::kOciIndex);
  CHECK(detect_manifest_media_type(
            R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[]})",
            "") == media::kDockerManifestList);
  CHECK_THROWS_WITH(detect_manifest_media_type(R"({"schemaVersion":1,"fsLayers":[]})", "application/json"),
                    Catch::Contains("schema 1"));
  CHECK_THROWS_WITH(detect_manifest_media_type("{}", media::kDockerSchema1Signed), Catch::Contains("schema 1"));
  CHECK_THROWS_WITH(detect_manifest_media_type("not json", ""), Catch::Contains("not a JSON object"));
  CHECK_THROWS_WITH(detect_manifest_media_type(R"({"mediaType":"text/plain"})", ""),
                    Catch::Contains("unsupported manifest media type text/plain"));
}

TEST_CASE("manifests and indexes round-trip through JSON") {
  Manifest m;
  m.media_type = media::kOciManifest;
  m.config = Descriptor{media::kOciConfig, Digest::parse(kD1), 10, {}, {}, {}, {}};
  m.layers.push_back(Descriptor{media::kOciLayerGzip, Digest::parse(kD2), 20, {}, {}, {{"k", "v"}}, {}});
  m.annotations["org.opencontainers.image.created"] = "2024-01-01T00:00:00Z";
  Manifest back = parse_manifest(manifest_json(m));
  CHECK(back.config.digest == m.config.digest);
  CHECK(back.layers.at(0).size == 20);
  CHECK(back.layers.at(0).annotations.at("k") == "v");
  CHECK(back.annotations == m.annotations);

  Index i;
  i.media_type = media::kDockerManifestList;
  i.manifests.push_back(Descriptor{media::kDockerManifest, Digest::parse(kD1), 5,
                                   Platform{"linux", "arm", "v7", ""}, {}, {}, {}});
  auto j = nlohmann::json::parse(index_json(i));
  CHECK(j["schemaVersion"] == 2);
  CHECK(j["manifests"][0]["platform"]["variant"] == "v7");
  CHECK(parse_index(index_json(i)).manifests.at(0).platform->architecture == "arm");

  CHECK_THROWS_WITH(parse_manifest(R"({"schemaVersion":2,"config":{"digest":"sha256:../x","size":1}})"),
                    Catch::Contains("sha256"));
  CHECK_THROWS_WITH(parse_manifest(R"({"schemaVersion":2,"config":{"digest":")" + kD1 + R"(","size":-1}})"),
                    Catch::Contains("size"));
}

TEST_CASE("base64 both alphabets, with and without padding") {
  CHECK(base64_encode("user:pa$$") == "dXNlcjpwYSQk");
  CHECK(base64_encode("ab") == "YWI=");
  CHECK(base64_encode("\xfb\xff", true, false) == "-_8");
  CHECK(base64_decode("YWI=") == "ab");
  CHECK(base64_decode("YWI") == "ab");
  CHECK(base64_decode("-_8") == "\xfb\xff");
  CHECK_FALSE(base64_decode("a!b="));
}

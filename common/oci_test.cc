#include "common/oci.h"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "common/error.h"

using namespace slipway;

namespace {
const std::string kD1 = "sha256:" + std::string(64, 'a');
const std::string kD2 = "sha256:" + std::string(64, 'b');
}  // namespace

// Pushed manifests are addressed by these bytes: a change here changes the
// digest of every image built, so the expected text is spelled out.
TEST_CASE("oci: a manifest serialises to fixed canonical bytes and parses back") {
  Manifest m;
  m.config = Descriptor{media::kOciConfig, Digest::parse(kD1), 10, std::nullopt, {}, {}, ""};
  Descriptor l{media::kOciLayerGzip, Digest::parse(kD2), 20, std::nullopt, {"https://x/y"}, {{"k", "v"}}, ""};
  m.layers.push_back(l);
  m.annotations["org.opencontainers.image.created"] = "2024-01-01T00:00:00Z";
  const std::string want =
      R"({"annotations":{"org.opencontainers.image.created":"2024-01-01T00:00:00Z"},)"
      R"("config":{"digest":")" + kD1 + R"(","mediaType":"application/vnd.oci.image.config.v1+json","size":10},)"
      R"("layers":[{"annotations":{"k":"v"},"digest":")" + kD2 +
      R"(","mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":20,"urls":["https://x/y"]}],)"
      R"("mediaType":"application/vnd.oci.image.manifest.v1+json","schemaVersion":2})";
  CHECK(manifest_json(m) == want);
  Manifest back = parse_manifest(want);
  CHECK(manifest_json(back) == want);
  CHECK(back.layers.at(0).urls == std::vector<std::string>{"https://x/y"});

  m.artifact_type = "application/x-test";
  m.subject = Descriptor{media::kOciManifest, Digest::parse(kD2), 3, std::nullopt, {}, {}, ""};
  std::string text = manifest_json(m);
  CHECK(text.find(R"("artifactType":"application/x-test")") != std::string::npos);
  CHECK(text.find(R"("subject":{"digest":")" + kD2) != std::string::npos);
  Manifest with_subject = parse_manifest(text);
  REQUIRE(with_subject.subject);
  CHECK(with_subject.subject->size == 3);
  CHECK(with_subject.artifact_type == "application/x-test");
}

TEST_CASE("oci: an index keeps platforms, Docker media types and fixed bytes") {
  Index i;
  i.media_type = media::kDockerManifestList;
  Descriptor d = describe_json(media::kDockerManifest, "{}");
  d.platform = Platform{"linux", "arm", "v7", ""};
  i.manifests.push_back(d);
  const std::string want = R"({"manifests":[{"digest":")" + d.digest.str() +
                           R"(","mediaType":"application/vnd.docker.distribution.manifest.v2+json",)"
                           R"("platform":{"architecture":"arm","os":"linux","variant":"v7"},"size":2}],)"
                           R"("mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","schemaVersion":2})";
  CHECK(index_json(i) == want);
  Index back = parse_index(want);
  CHECK(back.manifests.at(0).platform == d.platform);
  CHECK(index_json(back) == want);
  // OCI lets mediaType be absent.
  CHECK(parse_index(R"({"schemaVersion":2,"manifests":[]})").media_type == media::kOciIndex);
  CHECK(parse_manifest(R"({"schemaVersion":2,"config":{"digest":")" + kD1 + R"(","size":1}})").media_type ==
        media::kOciManifest);
}

TEST_CASE("oci: malformed documents are refused with a reason") {
  auto manifest = [](const std::string& config) {
    return R"({"schemaVersion":2,"config":)" + config + "}";
  };
  CHECK_THROWS_WITH(parse_manifest(manifest(R"({"digest":"sha256:../x","size":1})")), Catch::Contains("sha256"));
  CHECK_THROWS_WITH(parse_manifest(manifest(R"({"digest":")" + kD1 + R"(","size":-1})")),
                    Catch::Contains("negative size"));
  CHECK_THROWS_WITH(parse_manifest(manifest(R"({"digest":")" + kD1 + R"("})")), Catch::Contains("no size"));
  CHECK_THROWS_WITH(parse_manifest(manifest(R"({"digest":")" + kD1 + R"(","size":1,"annotations":{"a":1}})")),
                    Catch::Contains("annotations.a"));
  CHECK_THROWS_WITH(parse_manifest(R"({"schemaVersion":1,"fsLayers":[]})"), Catch::Contains("schema 1"));
  CHECK_THROWS_WITH(parse_manifest(R"({"schemaVersion":3})"), Catch::Contains("schemaVersion 3"));
  CHECK_THROWS_WITH(parse_manifest("not json"), Catch::Contains("malformed manifest JSON"));
  CHECK_THROWS_WITH(parse_manifest(R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json"})"),
                    Catch::Contains("is not an image manifest"));
  CHECK_THROWS_WITH(parse_index(R"({"schemaVersion":2})"), Catch::Contains("no manifests array"));
  CHECK_THROWS_WITH(parse_index(R"({"schemaVersion":2,"mediaType":"text/plain","manifests":[]})"),
                    Catch::Contains("not an image index"));
  CHECK(is_index_media_type(media::kDockerManifestList));
  CHECK_FALSE(is_index_media_type(media::kDockerManifest));
  CHECK(is_manifest_media_type(media::kDockerManifest));
  CHECK(sniff_media_type(R"({"schemaVersion":2})").empty());
}

TEST_CASE("platform selection prefers exact variants and lists what exists") {
  Index i;
  i.media_type = media::kOciIndex;
  auto add = [&](Platform p, char c) {
    i.manifests.push_back(Descriptor{media::kOciManifest, Digest::parse("sha256:" + std::string(64, c)), 1, p, {}, {}, {}});
  };
  add({"linux", "amd64", "", ""}, '1');
  add({"linux", "arm", "v6", ""}, '2');
  add({"linux", "arm", "v7", ""}, '3');
  add({"linux", "arm64", "", ""}, '4');
  add({"unknown", "unknown", "", ""}, '5');
  CHECK(select_platform(i, parse_platform("linux/arm/v7")).digest.hex[0] == '3');
  CHECK(select_platform(i, parse_platform("linux/arm64/v8")).digest.hex[0] == '4');
  CHECK(select_platform(i, parse_platform("linux/x86_64")).digest.hex[0] == '1');
  CHECK_THROWS_WITH(select_platform(i, parse_platform("windows/amd64")),
                    Catch::Equals("no image for platform windows/amd64 in the index; available: linux/amd64, "
                                  "linux/arm/v6, linux/arm/v7, linux/arm64"));
}

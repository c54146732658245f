#include "layers/image.h"

#include <catch2/catch.hpp>

#include "common/error.h"

using namespace slipway;

TEST_CASE("image config: round trip keeps modelled and unknown fields, output is canonical") {
  // Shaped like a config Docker writes, with fields we do not model.
  std::string text = R"({
    "architecture": "amd64", "os": "linux", "created": "2024-01-02T03:04:05Z",
    "docker_version": "24.0.7", "container": "abc",
    "config": {"User": "app", "Env": ["PATH=/usr/bin", "A=b"], "Entrypoint": ["/bin/sh", "-c"], "Cmd": [],
               "ExposedPorts": {"80/tcp": {}, "443/tcp": {}}, "Volumes": {"/data": {}}, "WorkingDir": "/srv",
               "Labels": {"k": "v"}, "StopSignal": "SIGTERM", "Shell": ["/bin/bash", "-c"], "OnBuild": ["RUN x"],
               "Healthcheck": {"Test": ["CMD-SHELL", "true"], "Interval": 30000000000, "Retries": 3},
               "Hostname": "h", "Image": "sha256:00"},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447"]},
    "history": [{"created": "2024-01-02T03:04:05Z", "created_by": "/bin/sh -c #(nop) ADD", "empty_layer": true}]
  })";
  ImageConfig c = parse_image_config(text);
  CHECK(c.platform() == Platform{"linux", "amd64", "", ""});
  CHECK(c.config.user == "app");
  CHECK(c.config.env == std::vector<std::string>{"PATH=/usr/bin", "A=b"});
  REQUIRE(c.config.cmd);
  CHECK(c.config.cmd->empty());
  CHECK(c.config.exposed_ports == std::set<std::string>{"443/tcp", "80/tcp"});
  CHECK(c.config.healthcheck->interval == 30000000000);
  CHECK(c.config.healthcheck->retries == 3);
  CHECK(c.config.shell->at(0) == "/bin/bash");
  CHECK(c.config.on_build == std::vector<std::string>{"RUN x"});
  CHECK(c.diff_ids.size() == 1);
  CHECK(c.history.at(0).empty_layer);
  CHECK(c.extra["docker_version"] == "24.0.7");
  CHECK(c.config.extra["Hostname"] == "h");

  std::string out = image_config_json(c);
  CHECK(out.find('\n') == std::string::npos);
  CHECK(out.find(R"("docker_version":"24.0.7")") != std::string::npos);
  // Keys are sorted, so re-serialising a parse gives the same bytes.
  CHECK(image_config_json(parse_image_config(out)) == out);
  CHECK(out.find(R"("Cmd":[])") != std::string::npos);
  CHECK(out.find("\"Entrypoint\":[\"/bin/sh\",\"-c\"]") != std::string::npos);
  CHECK(out.find(R"({"architecture":"amd64",)") != std::string::npos);
}

TEST_CASE("manifest and index: parse, serialise, media types") {
  Manifest m;
  m.config = describe_json(media::kOciConfig, "{}");
  Descriptor l = describe_json(layer_media_type(Compression::kGzip, false), "layer");
  l.annotations["a"] = "b";
  m.layers.push_back(l);
  std::string text = manifest_json(m);
  Manifest back = parse_manifest(text);
  CHECK(back.config.digest == m.config.digest);
  CHECK(back.layers.at(0).annotations.at("a") == "b");
  CHECK(manifest_json(back) == text);
  CHECK(sniff_media_type(text) == media::kOciManifest);

  Index idx;
  Descriptor md = describe_json(media::kOciManifest, text);
  md.platform = Platform{"linux", "arm64", "v8", ""};
  md.annotations[kAnnotationRefName] = "v1";
  idx.manifests.push_back(md);
  Index ib = parse_index(index_json(idx));
  CHECK(ib.manifests.at(0).platform == md.platform);
  CHECK(index_json(ib) == index_json(idx));

  CHECK(layer_compression(media::kDockerLayerGzip) == Compression::kGzip);
  CHECK(layer_compression(media::kOciLayerZstd) == Compression::kZstd);
  CHECK(layer_compression(media::kOciLayer) == Compression::kNone);
  CHECK(layer_media_type(Compression::kZstd, true) == media::kOciLayerZstd);
  CHECK_THROWS_AS(layer_compression("text/plain"), Error);
  CHECK_THROWS_WITH(parse_manifest(R"({"schemaVersion":2,"config":{"digest":"sha256:zz","size":1}})"),
                    Catch::Contains("parsing image manifest"));
  CHECK_THROWS_AS(parse_manifest("not json"), Error);
  CHECK_THROWS_AS(parse_image_config(R"({"rootfs":{"type":"layers","diff_ids":["../x"]}})"), Error);
}

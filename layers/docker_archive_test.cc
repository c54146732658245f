#include "layers/docker_archive.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "common/error.h"
#include "common/fd.h"
#include "layers/oci_layout.h"
#include "layers/pack_test_util.h"
#include "layers/pipeline.h"

using namespace slipway;
using slipway::testing::read_tar;
using slipway::testing::run;
using slipway::testing::TempDir;
using slipway::testing::write_file;

namespace {

struct TwoLayerImage {
  Manifest manifest;
  ImageConfig config;
};

// Two layers (gzip and zstd) in `layout`, tagged "img".
TwoLayerImage make_image(OciLayout& layout, const std::string& tmp, Compression second) {
  TwoLayerImage out;
  for (int i = 0; i < 2; ++i) {
    std::string root = tmp + "/root" + std::to_string(i);
    ::mkdir(root.c_str(), 0755);
    write_file(root + "/file" + std::to_string(i), std::string(100000 + i, char('a' + i)));
    UniqueFd fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY));
    TarOptions tar;
    tar.source_dir_fd = fd.get();
    LayerOptions lo;
    lo.compression.algorithm = i == 0 ? Compression::kGzip : second;
    LayerResult l = write_layer(layout.store(), scan_tree(fd.get()), tar, lo);
    out.manifest.layers.push_back(l.descriptor);
    out.config.diff_ids.push_back(l.diff_id);
  }
  out.config.os = "linux";
  out.config.architecture = "amd64";
  out.config.config.cmd = std::vector<std::string>{"/bin/true"};
  Descriptor md = layout.write_image(out.config, out.manifest.layers, "img");
  out.manifest = parse_manifest(layout.store().read_all(md.digest));
  return out;
}

std::string archive_of(const ContentStore& store, const Manifest& m, const std::vector<std::string>& tags) {
  StringSink s;
  write_docker_archive(store, m, tags, s);
  return s.out;
}

}  // namespace

TEST_CASE("docker-archive: deterministic, uncompressed layers named by diffID, read by skopeo") {
  TempDir tmp;
  OciLayout layout = OciLayout::create(tmp / "oci");
  TwoLayerImage img = make_image(layout, tmp.path(), Compression::kZstd);
  std::string tar = archive_of(layout.store(), img.manifest, {"example.com/app:1.0"});
  CHECK(tar == archive_of(layout.store(), img.manifest, {"example.com/app:1.0"}));

  auto entries = read_tar(tar);
  std::map<std::string, std::string> by_path;
  for (auto& e : entries) by_path[e.path] = e.data;
  auto manifest = nlohmann::json::parse(by_path.at("manifest.json"));
  CHECK(manifest[0]["RepoTags"][0] == "example.com/app:1.0");
  CHECK(manifest[0]["Config"] == "blobs/sha256/" + img.manifest.config.digest.hex);
  for (int i = 0; i < 2; ++i) {
    std::string p = manifest[0]["Layers"][i];
    CHECK(p == "blobs/sha256/" + img.config.diff_ids[size_t(i)].hex);
    CHECK(sha256_of(by_path.at(p)) == img.config.diff_ids[size_t(i)]);
  }
  CHECK(nlohmann::json::parse(by_path.at("repositories"))["example.com/app"]["1.0"] ==
        img.config.diff_ids.back().hex);

  write_file(tmp / "image.tar", tar);
  auto j = nlohmann::json::parse(run("skopeo inspect 'docker-archive:" + tmp / "image.tar" + "'"));
  CHECK(j["Layers"].size() == 2);
  CHECK(j["Layers"][1] == img.config.diff_ids[1].str());
  CHECK_NOTHROW(run("skopeo copy --quiet 'docker-archive:" + tmp / "image.tar" + "' 'oci:" + tmp / "back" + ":x' 2>&1"));
}

TEST_CASE("docker-archive: read back what we wrote and what skopeo writes") {
  TempDir tmp;
  OciLayout layout = OciLayout::create(tmp / "oci");
  TwoLayerImage img = make_image(layout, tmp.path(), Compression::kGzip);
  write_file(tmp / "ours.tar", archive_of(layout.store(), img.manifest, {"app:latest", "app:v2"}));

  ContentStore fresh(tmp / "fresh");
  auto images = read_docker_archive(tmp / "ours.tar", fresh);
  REQUIRE(images.size() == 1);
  CHECK(images[0].repo_tags == std::vector<std::string>{"app:latest", "app:v2"});
  CHECK(images[0].manifest.config.digest == img.manifest.config.digest);
  CHECK(images[0].manifest.media_type == media::kDockerManifest);
  REQUIRE(images[0].manifest.layers.size() == 2);
  CHECK(images[0].manifest.layers[0].digest == img.config.diff_ids[0]);
  CHECK(images[0].manifest.layers[0].media_type == media::kDockerLayer);
  // Only the config and the two layers are kept: no manifest.json or repositories blob.
  CHECK(fresh.list().size() == 3);

  // skopeo's own docker-archive (a different writer, legacy names) reads too.
  run("skopeo copy --quiet 'oci:" + tmp / "oci" + ":img' 'docker-archive:" + tmp / "skopeo.tar" + ":other:tag' 2>&1");
  ContentStore third(tmp / "third");
  auto theirs = read_docker_archive(tmp / "skopeo.tar", third);
  REQUIRE(theirs.size() == 1);
  CHECK(theirs[0].repo_tags == std::vector<std::string>{"docker.io/library/other:tag"});
  CHECK(theirs[0].config.diff_ids == img.config.diff_ids);
  CHECK(theirs[0].manifest.layers.size() == 2);
}

TEST_CASE("docker-archive: errors") {
  TempDir tmp;
  OciLayout layout = OciLayout::create(tmp / "oci");
  TwoLayerImage img = make_image(layout, tmp.path(), Compression::kGzip);
  CHECK_THROWS_WITH(archive_of(layout.store(), img.manifest, {"no-tag"}), Catch::Contains("name:tag"));
  Manifest wrong = img.manifest;
  std::swap(wrong.layers[0], wrong.layers[1]);
  CHECK_THROWS_WITH(archive_of(layout.store(), wrong, {}), Catch::Contains("but the config says"));
  write_file(tmp / "empty.tar", std::string(1024, '\0'));
  ContentStore s(tmp / "s");
  CHECK_THROWS_WITH(read_docker_archive(tmp / "empty.tar", s), Catch::Contains("manifest.json"));
  CHECK_THROWS_AS(read_docker_archive(tmp / "missing.tar", s), Error);
}

#include "layers/oci_layout.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/error.h"
#include "common/fd.h"
#include "layers/pack_test_util.h"
#include "layers/pipeline.h"

using namespace slipway;
using slipway::testing::run;
using slipway::testing::TempDir;
using slipway::testing::write_file;

namespace {

void make_tree(const std::string& root) {
  ::mkdir(root.c_str(), 0755);
  ::mkdir((root + "/etc").c_str(), 0755);
  ::mkdir((root + "/usr").c_str(), 0755);
  ::mkdir((root + "/usr/bin").c_str(), 0711);
  write_file(root + "/etc/hostname", "slipway\n");
  write_file(root + "/usr/bin/tool", "#!/bin/sh\necho hi\n");
  ::chmod((root + "/usr/bin/tool").c_str(), 0755);
  write_file(root + "/etc/secret", "s");
  ::chmod((root + "/etc/secret").c_str(), 0600);
  REQUIRE(::symlink("../usr/bin/tool", (root + "/etc/tool-link").c_str()) == 0);
  REQUIRE(::link((root + "/etc/hostname").c_str(), (root + "/usr/hostname-hardlink").c_str()) == 0);
}

// Layer + config + manifest for the tree, tagged in an OCI layout.
Descriptor write_test_image(OciLayout& layout, const std::string& root, const std::string& tag, Compression c) {
  UniqueFd fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY));
  REQUIRE(fd);
  TarOptions tar;
  tar.source_dir_fd = fd.get();
  LayerOptions lo;
  lo.compression.algorithm = c;
  LayerResult layer = write_layer(layout.store(), scan_tree(fd.get()), tar, lo);
  ImageConfig cfg;
  cfg.os = "linux";
  cfg.architecture = host_platform().architecture;
  cfg.variant = host_platform().variant;
  cfg.created = "2024-01-01T00:00:00Z";
  cfg.config.env = {"PATH=/usr/bin"};
  cfg.config.cmd = std::vector<std::string>{"/usr/bin/tool"};
  cfg.diff_ids = {layer.diff_id};
  cfg.history.push_back({"2024-01-01T00:00:00Z", "COPY . /", "", "", false});
  return layout.write_image(cfg, {layer.descriptor}, tag);
}

// "mode type target-or-content" per path, for comparing two trees.
std::string describe_tree(const std::string& root) {
  return run("cd '" + root + "' && find . -mindepth 1 -printf '%P %m %y %l\\n' | sort && "
             "find . -type f -printf '%P\\n' | sort | xargs sha256sum");
}

}  // namespace

TEST_CASE("oci layout: skopeo inspects and copies, umoci unpacks the same tree") {
  TempDir tmp;
  make_tree(tmp / "root");
  OciLayout layout = OciLayout::create(tmp / "oci");
  Descriptor md = write_test_image(layout, tmp / "root", "v1", Compression::kGzip);
  CHECK(run("cat '" + tmp / "oci/oci-layout" + "'") == R"({"imageLayoutVersion":"1.0.0"})");

  std::string inspect = run("skopeo inspect 'oci:" + tmp / "oci" + ":v1' 2>&1");
  auto j = nlohmann::json::parse(inspect);
  OciLayout::Resolved r = layout.resolve("v1");
  REQUIRE(j["Layers"].size() == 1);
  CHECK(j["Layers"][0] == r.manifest.layers.at(0).digest.str());
  CHECK(j["Digest"] == md.digest.str());
  CHECK(j["Env"][0] == "PATH=/usr/bin");

  CHECK_NOTHROW(run("skopeo copy --quiet 'oci:" + tmp / "oci" + ":v1' 'dir:" + tmp / "copy" + "' 2>&1"));
  CHECK(run("cat '" + tmp / "copy/manifest.json" + "'") == layout.store().read_all(md.digest));

  run("umoci unpack --rootless --image '" + tmp / "oci" + ":v1' '" + tmp / "bundle" + "' 2>&1");
  CHECK(describe_tree(tmp / "bundle/rootfs") == describe_tree(tmp / "root"));
  CHECK(run("stat -c %h '" + tmp / "bundle/rootfs/etc/hostname" + "'") == "2\n");
}

TEST_CASE("oci layout: zstd layers are accepted by skopeo") {
  TempDir tmp;
  make_tree(tmp / "root");
  OciLayout layout = OciLayout::create(tmp / "oci");
  write_test_image(layout, tmp / "root", "z", Compression::kZstd);
  auto j = nlohmann::json::parse(run("skopeo inspect --raw 'oci:" + tmp / "oci" + ":z'"));
  CHECK(j["layers"][0]["mediaType"] == media::kOciLayerZstd);
  CHECK_NOTHROW(run("skopeo copy --quiet 'oci:" + tmp / "oci" + ":z' 'dir:" + tmp / "copy" + "' 2>&1"));
}

TEST_CASE("oci layout: tags, retagging, untagged resolution, indexes and platforms") {
  TempDir tmp;
  make_tree(tmp / "root");
  OciLayout layout = OciLayout::create(tmp / "oci");
  Descriptor a = write_test_image(layout, tmp / "root", "a", Compression::kGzip);
  CHECK(layout.resolve("").descriptor.digest == a.digest);  // the only entry
  CHECK(layout.resolve("a").config.config.env.at(0) == "PATH=/usr/bin");
  layout.tag(a, "b");
  layout.tag(a, "b");  // retagging replaces, it does not duplicate
  CHECK(layout.index().manifests.size() == 2);
  CHECK_THROWS_WITH(layout.resolve(""), Catch::Contains("name one by tag"));
  CHECK_THROWS_WITH(layout.resolve("nope"), Catch::Contains("it has: a, b"));

  // A multi-platform index as the tagged entry: the host's manifest is chosen.
  Index multi;
  Descriptor other = a;
  other.annotations.clear();
  other.platform = Platform{"linux", "s390x", "", ""};
  Descriptor host = a;
  host.annotations.clear();
  host.platform = host_platform();
  multi.manifests = {other, host};
  std::string ib = index_json(multi);
  Descriptor id = describe_json(media::kOciIndex, ib);
  layout.store().put(ib);
  layout.tag(id, "multi");
  CHECK(layout.resolve("multi").descriptor.digest == a.digest);
  // As from a registry: the error lists what the index has.
  CHECK_THROWS_WITH(layout.resolve("multi", Platform{"linux", "riscv64", "", ""}),
                    Catch::Contains("no image for platform linux/riscv64") && Catch::Contains("available: linux/s390x"));

  // Reopening reads the same index; a non-layout is refused.
  CHECK(OciLayout::open(tmp / "oci").index().manifests.size() == 3);
  CHECK_THROWS_WITH(OciLayout::open(tmp / "root"), Catch::Contains("not an OCI image layout"));
  // skopeo reads every tag of what we wrote.
  CHECK_NOTHROW(run("skopeo inspect --raw 'oci:" + tmp / "oci" + ":b' >/dev/null"));
}

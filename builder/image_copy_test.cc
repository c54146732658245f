#include "builder/image_copy.h"

#include <catch2/catch.hpp>

#include "common/error.h"
#include "common/temp_dir.h"
#include "layers/docker_archive.h"
#include "layers/oci_layout.h"

using namespace slipway;
using copy::Location;

namespace {

// An image whose one layer is an empty tar (zero blocks; `blocks` makes the
// two images differ), stored uncompressed so its digest is its diffID.
Descriptor add_image(OciLayout& layout, const std::string& arch, size_t blocks) {
  std::string tar(512 * blocks, '\0');
  Descriptor layer;
  layer.media_type = media::kOciLayer;
  layer.digest = layout.store().put(tar);
  layer.size = static_cast<int64_t>(tar.size());
  ImageConfig cfg;
  cfg.os = "linux";
  cfg.architecture = arch;
  cfg.diff_ids = {layer.digest};
  return layout.write_image(cfg, {layer}, arch);
}

struct TwoPlatformLayout {
  TempDir dir;
  Descriptor amd64, arm64, index;

  TwoPlatformLayout() {
    auto layout = OciLayout::create(dir.path() + "/src");
    amd64 = add_image(layout, "amd64", 2);
    arm64 = add_image(layout, "arm64", 3);
    Index idx;
    idx.manifests = {amd64, arm64};
    for (auto& m : idx.manifests) m.annotations.clear();  // the ref.name tags are the layout's, not the index's
    std::string bytes = index_json(idx);
    index = describe_json(media::kOciIndex, bytes);
    layout.store().put(bytes, index.digest);
    layout.tag(index, "multi");
  }
  std::string src(const std::string& tag) const { return "oci:" + dir.path() + "/src:" + tag; }
};

copy::CopyOptions options(const std::string& state_dir) {
  copy::CopyOptions o;
  o.state_dir = state_dir;
  return o;
}

}  // namespace

TEST_CASE("Location::parse reads skopeo's transports") {
  auto oci = Location::parse("oci:/tmp/lay:v1");
  CHECK(oci.kind == Location::Kind::kOciLayout);
  CHECK(oci.path == "/tmp/lay");
  CHECK(oci.tag == "v1");
  auto untagged = Location::parse("oci:/tmp/a:b/lay");  // the colon belongs to the path
  CHECK(untagged.path == "/tmp/a:b/lay");
  CHECK(untagged.tag.empty());
  auto archive = Location::parse("docker-archive:/tmp/x.tar:app:1");
  CHECK(archive.kind == Location::Kind::kDockerArchive);
  CHECK(archive.path == "/tmp/x.tar");
  CHECK(archive.has_ref);
  CHECK(archive.ref.familiar() == "app:1");
  auto reg = Location::parse("docker://127.0.0.1:5000/a/b");
  CHECK(reg.kind == Location::Kind::kRegistry);
  CHECK(reg.ref.registry == "127.0.0.1:5000");
  CHECK(reg.ref.tag == "latest");
  CHECK(Location::parse("localhost:5000/app:1").ref.repository == "app");
  try {
    Location::parse("containers-storage:app");
    FAIL("an unsupported transport was accepted");
  } catch (const Error& e) {
    CHECK(e.exit_code() == kExitUsage);
  }
}

TEST_CASE("copy --all between layouts keeps the index and every image byte for byte") {
  TwoPlatformLayout l;
  auto o = options(l.dir.path() + "/state");
  o.all = true;
  auto r = copy::copy_image(Location::parse(l.src("multi")), Location::parse("oci:" + l.dir.path() + "/dst:all"), o);
  CHECK(r.digest == l.index.digest);
  CHECK(r.manifests == 3);
  CHECK(r.blobs_uploaded == 4);  // two layers, two configs
  auto dst = OciLayout::open(l.dir.path() + "/dst");
  CHECK(dst.store().read_all(l.index.digest) == OciLayout::open(l.dir.path() + "/src").store().read_all(l.index.digest));
  CHECK(dst.resolve("all", Platform{"linux", "arm64", "", ""}).descriptor.digest == l.arm64.digest);
  CHECK(dst.resolve("all", Platform{"linux", "amd64", "", ""}).descriptor.digest == l.amd64.digest);

  // Again: everything is there already.
  r = copy::copy_image(Location::parse(l.src("multi")), Location::parse("oci:" + l.dir.path() + "/dst:again"), o);
  CHECK(r.blobs_uploaded == 0);
  CHECK(r.blobs_existed == 4);
}

TEST_CASE("copy without --all takes the platform's image from an index") {
  TwoPlatformLayout l;
  auto o = options(l.dir.path() + "/state");
  o.platform = Platform{"linux", "arm64", "", ""};
  auto r = copy::copy_image(Location::parse(l.src("multi")), Location::parse("oci:" + l.dir.path() + "/one:x"), o);
  CHECK(r.digest == l.arm64.digest);
  CHECK(r.manifests == 1);
  auto dst = OciLayout::open(l.dir.path() + "/one");
  CHECK_FALSE(dst.store().exists(l.amd64.digest));
  o.platform = Platform{"linux", "s390x", "", ""};
  CHECK_THROWS_WITH(copy::copy_image(Location::parse(l.src("multi")), Location::parse("oci:" + l.dir.path() + "/one:y"), o),
                    Catch::Contains("no image for platform linux/s390x"));
}

TEST_CASE("copy to and from a docker-archive") {
  TwoPlatformLayout l;
  auto o = options(l.dir.path() + "/state");
  std::string tar = l.dir.path() + "/img.tar";
  auto r = copy::copy_image(Location::parse(l.src("amd64")), Location::parse("docker-archive:" + tar + ":app:1"), o);
  CHECK(r.digest == l.amd64.digest);
  ContentStore store(l.dir.path() + "/read");
  auto images = read_docker_archive(tar, store);
  REQUIRE(images.size() == 1);
  CHECK(images[0].repo_tags == std::vector<std::string>{"app:1"});
  CHECK(images[0].config.architecture == "amd64");

  // Back into a layout: the archive's config, unchanged.
  copy::copy_image(Location::parse("docker-archive:" + tar), Location::parse("oci:" + l.dir.path() + "/back:b"), o);
  auto back = OciLayout::open(l.dir.path() + "/back").resolve("b");
  CHECK(back.manifest.config.digest == images[0].manifest.config.digest);

  o.all = true;
  try {
    copy::copy_image(Location::parse(l.src("multi")), Location::parse("docker-archive:" + tar), o);
    FAIL("--all of an index into a docker-archive was accepted");
  } catch (const Error& e) {
    CHECK(e.exit_code() == kExitUsage);
  }
}

TEST_CASE("a missing source names itself") {
  TwoPlatformLayout l;
  auto o = options(l.dir.path() + "/state");
  CHECK_THROWS_WITH(copy::copy_image(Location::parse(l.src("nope")), Location::parse("oci:" + l.dir.path() + "/x:y"), o),
                    Catch::Contains("copying " + l.src("nope")) && Catch::Contains("tag \"nope\" not found"));
}

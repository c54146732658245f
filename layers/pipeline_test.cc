#include "layers/pipeline.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <random>

#include "common/fd.h"
#include "layers/pack_test_util.h"

using namespace slipway;
using slipway::testing::run;
using slipway::testing::TempDir;
using slipway::testing::write_file;

namespace {

void make_tree(const std::string& root) {
  std::mt19937 rng(7);
  ::mkdir(root.c_str(), 0755);
  for (int d = 0; d < 4; ++d) {
    std::string dir = root + "/d" + std::to_string(d);
    ::mkdir(dir.c_str(), 0755);
    for (int f = 0; f < 20; ++f) {
      std::string data;
      size_t n = rng() % 50000;
      for (size_t i = 0; i < n; ++i) data += (f % 2) ? char(rng()) : char('a' + i % 7);
      write_file(dir + "/f" + std::to_string(f), data);
    }
  }
}

LayerResult layer_of(const ContentStore& store, const std::string& root, Compression c, unsigned threads) {
  UniqueFd fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY));
  REQUIRE(fd);
  TarOptions tar;
  tar.source_dir_fd = fd.get();
  tar.source_date_epoch = 1600000000;
  LayerOptions o;
  o.compression.algorithm = c;
  o.compression.threads = threads;
  return write_layer(store, scan_tree(fd.get()), tar, o);
}

}  // namespace

TEST_CASE("pipeline: gzip layer digests match sha256sum and do not depend on threads") {
  TempDir tmp;
  make_tree(tmp / "root");
  ContentStore store(tmp / "store");
  LayerResult one = layer_of(store, tmp / "root", Compression::kGzip, 1);
  LayerResult four = layer_of(store, tmp / "root", Compression::kGzip, 4);
  CHECK(one.descriptor.digest == four.descriptor.digest);
  CHECK(one.diff_id == four.diff_id);
  CHECK(one.descriptor.media_type == media::kOciLayerGzip);
  std::string blob = store.blob_path(one.descriptor.digest);
  CHECK(run("sha256sum < '" + blob + "'").substr(0, 64) == one.descriptor.digest.hex);
  CHECK(run("gzip -dc < '" + blob + "' | sha256sum").substr(0, 64) == one.diff_id.hex);
  CHECK(std::stoull(run("gzip -dc < '" + blob + "' | wc -c")) == one.uncompressed_size);
  CHECK(uint64_t(one.descriptor.size) == store.size(one.descriptor.digest));
  // The blob is a tar that GNU tar lists.
  CHECK(run("tar -tzf '" + blob + "' | wc -l").find("84") != std::string::npos);
  CHECK(store.list().size() == 1);
}

TEST_CASE("pipeline: zstd and uncompressed layers") {
  TempDir tmp;
  make_tree(tmp / "root");
  ContentStore store(tmp / "store");
  LayerResult z1 = layer_of(store, tmp / "root", Compression::kZstd, 1);
  LayerResult z2 = layer_of(store, tmp / "root", Compression::kZstd, 2);
  LayerResult raw = layer_of(store, tmp / "root", Compression::kNone, 1);
  CHECK(z1.descriptor.digest == z2.descriptor.digest);
  CHECK(z1.descriptor.media_type == media::kOciLayerZstd);
  CHECK(raw.descriptor.media_type == media::kOciLayer);
  CHECK(raw.descriptor.digest == raw.diff_id);
  CHECK(z1.diff_id == raw.diff_id);
  CHECK(run("zstd -dc < '" + store.blob_path(z1.descriptor.digest) + "' | sha256sum").substr(0, 64) == raw.diff_id.hex);
  LayerOptions docker;
  docker.docker_media_types = true;
  auto d = write_layer(store, [](ByteSink& s) { s.write("x", 1); }, docker);
  CHECK(d.descriptor.media_type == media::kDockerLayerGzip);
}

TEST_CASE("pipeline: a failing producer commits nothing") {
  TempDir tmp;
  ContentStore store(tmp / "store");
  CHECK_THROWS_AS(write_layer(store, [](ByteSink& s) {
    s.write("partial", 7);
    throw Error("source vanished");
  }),
                  Error);
  CHECK(store.list().empty());
  CHECK(run("ls -A '" + tmp / "store/blobs/sha256" + "'").empty());
}

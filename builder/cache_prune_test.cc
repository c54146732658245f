#include "builder/cache_prune.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "builder/cache_store.h"
#include "common/error.h"
#include "common/temp_dir.h"
#include "layers/pipeline.h"

using namespace slipway;
using namespace slipway::build;

namespace {

// An entry with a layer of its own (`fill` makes the blobs differ).
CacheEntry entry(const ContentStore& store, char key, int64_t created, char fill) {
  LayerResult layer = write_layer(store, [fill](ByteSink& out) {
    std::string tar(512, '\0');
    tar[0] = fill;  // a file name: a different tar per entry
    tar.resize(3072, '\0');
    out.write(tar.data(), tar.size());
  });
  CacheEntry e;
  e.key = std::string(64, key);
  e.created = created;
  e.history.created_by = "RUN x";
  e.layer = layer.descriptor;
  e.diff_id = layer.diff_id;
  return e;
}

bool exists(const std::string& p) { return std::filesystem::exists(p); }

}  // namespace

TEST_CASE("cache prune removes old entries and the blobs only they named") {
  TempDir tmp("/tmp", "prune-");
  ContentStore scratch(tmp.path() + "/scratch");
  const std::string dir = tmp.path() + "/cache";
  DirCacheStore cache(dir, 0);
  const auto now = static_cast<int64_t>(std::time(nullptr)) + 10;  // a little ahead: files look old enough
  auto old_e = entry(scratch, 'a', now - 100 * 3600, 'x');
  auto new_e = entry(scratch, 'b', now - 3600, 'y');
  REQUIRE(old_e.layer->digest != new_e.layer->digest);
  cache.put(old_e, scratch);
  cache.put(new_e, scratch);
  std::ofstream(dir + "/entries/" + std::string(64, 'c') + ".json") << "{not json";
  auto entry_path = [&](const CacheEntry& e) { return dir + "/entries/" + e.key + ".json"; };
  auto blob_path = [&](const CacheEntry& e) { return dir + "/blobs/sha256/" + e.layer->digest.hex; };

  SECTION("within the grace period nothing unreferenced goes") {
    auto r = prune_cache_dir(dir, 48 * 3600, now + 10, 3600 * 1000000LL);
    CHECK(r.entries_removed == 1);  // the old entry: its age is its `created`
    CHECK(r.blobs_removed == 0);
    CHECK(exists(blob_path(old_e)));
    CHECK(exists(dir + "/entries/" + std::string(64, 'c') + ".json"));
  }
  SECTION("older than 48h: the old entry, the malformed one and the old blob go") {
    auto r = prune_cache_dir(dir, 48 * 3600, now, 0);
    CHECK(r.entries_removed == 2);
    CHECK(r.entries_kept == 1);
    CHECK(r.blobs_removed == 1);
    CHECK(r.bytes_freed == static_cast<uint64_t>(old_e.layer->size));
    CHECK_FALSE(exists(entry_path(old_e)));
    CHECK_FALSE(exists(blob_path(old_e)));
    CHECK(exists(entry_path(new_e)));
    CHECK(exists(blob_path(new_e)));
    // What is left still hits.
    DirCacheStore again(dir, 0);
    CHECK(again.get(new_e.key).has_value());
    CHECK_FALSE(again.get(old_e.key).has_value());
  }
  SECTION("no cut-off: well-formed entries stay, and their blobs") {
    auto r = prune_cache_dir(dir, 0, now, 0);
    CHECK(r.entries_removed == 1);
    CHECK(r.blobs_removed == 0);
    CHECK(exists(blob_path(old_e)));
  }
  SECTION("a directory that is no cache dir is refused") {
    CHECK_THROWS_AS(prune_cache_dir(tmp.path() + "/scratch", 0, now, 0), Error);
  }
}

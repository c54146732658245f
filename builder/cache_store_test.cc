#include "builder/cache_store.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "common/temp_dir.h"
#include "layers/pipeline.h"

using namespace slipway;
using namespace slipway::build;

namespace {

const std::string kKey(64, 'a');

CacheEntry entry_with_layer(const ContentStore& store) {
  LayerResult layer = write_layer(store, [](ByteSink& out) {
    std::string tar(1024, '\0');  // an empty tar: two zero blocks
    out.write(tar.data(), tar.size());
  });
  CacheEntry e;
  e.key = kKey;
  e.created = static_cast<int64_t>(std::time(nullptr));
  e.history.created_by = "RUN make # buildkit";
  e.history.comment = "buildkit.dockerfile.v0";
  e.layer = layer.descriptor;
  e.diff_id = layer.diff_id;
  return e;
}

}  // namespace

TEST_CASE("--cache-ttl takes Go durations") {
  CHECK(parse_duration_seconds("168h") == 168 * 3600);
  CHECK(parse_duration_seconds("1h30m") == 5400);
  CHECK(parse_duration_seconds("90s") == 90);
  CHECK(parse_duration_seconds("1.5h") == 5400);
  CHECK(parse_duration_seconds("0") == 0);
  CHECK_THROWS_AS(parse_duration_seconds("2weeks"), Error);
  CHECK_THROWS_AS(parse_duration_seconds("h"), Error);
  CHECK_THROWS_AS(parse_duration_seconds(""), Error);
  CHECK_THROWS_AS(parse_duration_seconds("10"), Error);
}

TEST_CASE("cache entries round-trip and malformed ones are rejected") {
  TempDir tmp("/tmp", "cache-store-");
  ContentStore store(tmp.path() + "/store");
  CacheEntry e = entry_with_layer(store);
  CacheEntry back = parse_cache_entry(cache_entry_json(e));
  CHECK(back.key == e.key);
  CHECK(back.created == e.created);
  CHECK(back.history.created_by == e.history.created_by);
  REQUIRE(back.layer);
  CHECK(back.layer->digest == e.layer->digest);
  CHECK(back.diff_id == e.diff_id);

  CacheEntry empty;
  empty.key = kKey;
  empty.history.created_by = "WORKDIR /app";
  empty.history.empty_layer = true;
  CHECK(!parse_cache_entry(cache_entry_json(empty)).layer);

  CHECK_THROWS_AS(parse_cache_entry("{"), Error);
  CHECK_THROWS_AS(parse_cache_entry(R"({"key":"../x","created":0,"created_by":"","comment":"","empty_layer":true})"),
                  Error);
  // A layer while claiming to be empty is a lie the cache must not pass on.
  auto j = nlohmann::json::parse(cache_entry_json(e));
  j["empty_layer"] = true;
  CHECK_THROWS_AS(parse_cache_entry(j.dump()), Error);
}

TEST_CASE("a cache dir stores, finds, expires and fetches entries") {
  TempDir tmp("/tmp", "cache-store-");
  ContentStore store(tmp.path() + "/store");
  CacheEntry e = entry_with_layer(store);
  DirCacheStore dir(tmp.path() + "/cache", 3600);
  CHECK(!dir.get(kKey));
  dir.put(e, store);
  auto got = dir.get(kKey);
  REQUIRE(got);
  CHECK(got->layer->digest == e.layer->digest);
  CHECK(!dir.get(std::string(64, 'b')));
  CHECK(!dir.get("../../etc/passwd"));

  ContentStore other(tmp.path() + "/other");
  dir.fetch_blob(*e.layer, other);
  CHECK(other.exists(e.layer->digest));
  CHECK(other.read_all(e.layer->digest) == store.read_all(e.layer->digest));

  // Older than the ttl: a miss.
  e.created -= 7200;
  dir.put(e, store);
  CHECK(!dir.get(kKey));
  CHECK(DirCacheStore(tmp.path() + "/cache", 0).get(kKey));  // 0: no expiry

  // An entry whose blob is gone is a miss, not an error later.
  e.created = static_cast<int64_t>(std::time(nullptr));
  dir.put(e, store);
  std::filesystem::remove(tmp.path() + "/cache/blobs/sha256/" + e.layer->digest.hex);
  CHECK(!dir.get(kKey));
}

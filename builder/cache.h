#pragma once
// The layer cache of `slipway build --cache` (Kaniko's --cache, --cache-repo,
// --cache-dir, --cache-ttl). RUN, COPY, ADD and WORKDIR steps are looked up
// by key (cache_key.h) before they run. A hit records the cached history
// entry and layer without running anything, and without fetching or
// unpacking the layer: the stage's files are made real only when a later
// step needs them (a miss in this stage, or a step of another stage reading
// this one), and a blob is fetched only when something must read it (that,
// an OCI layout or tar output, or a push to a registry that cannot mount it
// from the cache repo). Misses are stored after the build, best effort.
// docs/cache.md has the full story.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "builder/cache_store.h"
#include "builder/stage.h"

namespace slipway::build {

class BuildCache {
 public:
  // nullptr when --cache is off (or --single-snapshot makes it pointless).
  static std::unique_ptr<BuildCache> open(BuildEnv& env);
  // `cache_repo`: --cache-repo, or the one open() infers ("" for none).
  BuildCache(BuildEnv& env, const std::string& cache_repo);

  // Runs one instruction of `st` through the cache. Returns true on a hit
  // (then `run` was not called). `done` owns every finished stage, for
  // steps that read another stage's files.
  bool step(StageState& st, const dockerfile::Instruction& ins, const std::map<std::string, const StageState*>& stages,
            const std::map<size_t, std::unique_ptr<StageState>>& done, const std::function<void()>& run);

  // Applies the stage's cache hits that are not yet on disk.
  void materialise(StageState& st);
  // Brings a hit's blob into the content store (no-op when it is there).
  void fetch_blob(const Descriptor& layer);
  // Stores the entries of the steps that missed, and copies hits found in
  // --cache-repo into --cache-dir (their blobs fetched for it), so the next
  // build on this machine hits locally. Failures only warn.
  void push_new_entries();

  int hits() const { return hits_; }
  int misses() const { return misses_; }

 private:
  std::optional<std::string> key_for(const StageState& st, const dockerfile::Instruction& ins,
                                     const std::map<std::string, const StageState*>& stages);
  std::optional<std::string> stage_or_image_key(const std::string& from,
                                                const std::map<std::string, const StageState*>& stages);
  void apply_hit(StageState& st, const dockerfile::Instruction& ins, const CacheEntry& e, CacheStore* from);
  void overlay_apply(StageState& st, const Descriptor& layer);

  BuildEnv& env_;
  std::vector<std::unique_ptr<CacheStore>> stores_;  // --cache-dir first, then --cache-repo
  std::map<Digest, CacheStore*> blob_home_;          // where a hit's blob can be fetched from
  std::vector<CacheEntry> new_entries_;
  std::vector<CacheEntry> write_through_;  // hits from --cache-repo that --cache-dir lacks
  std::set<CacheStore*> unreachable_;  // failed a lookup: skipped for the rest of the build
  int hits_ = 0;
  int misses_ = 0;
};

}  // namespace slipway::build

#pragma once
// `slipway cache prune`: the garbage collection a --cache-dir has none of
// otherwise. Entries older than a cut-off (or malformed) are removed, then
// every blob no remaining entry names.
#include <cstdint>
#include <string>

namespace slipway::build {

struct PruneResult {
  size_t entries_removed = 0;
  size_t entries_kept = 0;
  size_t blobs_removed = 0;
  uint64_t bytes_freed = 0;  // blobs only
};

// Prunes the cache dir `dir` (cache_store.h's layout): entries created
// before `now - older_than` seconds (`older_than` 0 keeps every well-formed
// entry), unreadable ones, temp files of writers that died, and blobs no
// kept entry names. Files younger than `grace` seconds are never removed
// whatever they are: a build sharing the dir may be writing a blob whose
// entry is not there yet. Throws Error when `dir` is not a cache dir.
PruneResult prune_cache_dir(const std::string& dir, int64_t older_than, int64_t now, int64_t grace = 3600);

}  // namespace slipway::build

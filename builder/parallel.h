#pragma once
// A bounded pool for blob transfers: `slipway copy` and the build's push
// move several blobs at once (one connection each), since one TCP stream
// rarely fills the link or the registry's storage backend.
#include <cstddef>
#include <functional>

namespace slipway::build {

// Runs fn(0..n-1) on up to `workers` threads (the caller's among them); the
// first failure stops the others from starting new items and is rethrown
// once the items already running have ended.
void parallel_for(size_t n, int workers, const std::function<void(size_t)>& fn);

}  // namespace slipway::build

#pragma once
// `slipway build --verify-reproducible`: build twice, and when the digests
// differ, say which step and which files made them differ, so the user can
// fix the Dockerfile (usually a timestamp written by a RUN step).
#include <string>

#include "common/digest.h"
#include "layers/content_store.h"

namespace slipway::build {

// Both manifests, their configs and layers are in `store`. Returns a
// multi-line explanation: differing config fields, then for each differing
// layer its step (from the history) and up to ten differing paths.
std::string explain_difference(const ContentStore& store, const Digest& first, const Digest& second);

}  // namespace slipway::build

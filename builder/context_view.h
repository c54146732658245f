#pragma once
// The build context as RUN --mount=type=bind (without from=) shows it: only
// what .dockerignore lets in, as BuildKit does, so an ignored secret or a
// huge ignored directory never reaches a RUN step.
#include <string>

#include "builder/stage.h"

namespace slipway::build {

// A directory holding exactly the entries of `env.context` (the context dir
// itself when no ignore rules apply). Made once per build under the work
// dir, from private copies: a step binding it read-write cannot change the
// user's files.
std::string context_view(BuildEnv& env);

}  // namespace slipway::build

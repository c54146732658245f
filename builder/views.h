#pragma once
// Read-only views of another stage's (or image's) root filesystem, for
// COPY --from and RUN --mount=type=bind,from=. A stage with several layer
// dirs is shown through a read-only overlay mounted in the builder's private
// mount namespace, so it disappears with the builder however it exits.
#include <map>
#include <string>

#include "builder/stage.h"

namespace slipway::build {

// The stage named (case-insensitively) or numbered `from`, or nullptr.
const StageState* find_stage(const std::string& from, const std::map<std::string, const StageState*>& stages);

// A directory showing the merged root of stage or image `from`.
std::string mount_source_view(BuildEnv& env, const std::string& from,
                              const std::map<std::string, const StageState*>& stages);
std::string mount_stage_view(BuildEnv& env, const StageState& stage);

}  // namespace slipway::build

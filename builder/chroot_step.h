#pragma once
// RUN under --isolation chroot: the copy snapshotter's private root dir is
// dressed for the step (chroot_root.h), the step runs chrooted into it
// (chroot_runner.h), and the walking differ, told to skip what was dressed,
// writes the layer.
#include <optional>
#include <string>

#include "builder/sandbox.h"
#include "builder/stage.h"

namespace slipway::build {

// The step's layer, or nullopt when nothing changed (or with
// --single-snapshot, whose one layer comes at the end of the stage). Throws
// Error with `loc` when the command fails.
std::optional<LayerResult> run_in_chroot(StageState& st, BuildEnv& env, sandbox::RunSpec& spec,
                                         const std::string& loc);

}  // namespace slipway::build

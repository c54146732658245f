#pragma once
// The built image's outputs: config and manifest into the content store,
// then the OCI layout, the docker-archive tarball, the registry pushes and
// the digest files the options ask for.
#include "builder/build.h"
#include "builder/stage.h"

namespace slipway::build {

BuildResult write_outputs(StageState& final_stage, BuildEnv& env);

// The tag suffix --arch-suffix appends: "amd64", "arm64", "armv7".
std::string arch_suffix(const Platform& p);

}  // namespace slipway::build

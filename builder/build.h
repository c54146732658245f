#pragma once
// `slipway build`: Dockerfile + context -> image, then every requested output.
#include <string>

#include "builder/build_options.h"
#include "builder/progress.h"
#include "common/digest.h"

namespace slipway::build {

struct BuildResult {
  Digest manifest_digest;
  std::string manifest_media_type;
  int64_t manifest_size = 0;
  std::vector<std::string> pushed;  // "host/repo:tag@sha256:..."
};

// Runs the whole build in this process. The caller has already entered the
// user namespace (or is root). `userns`/`single_id` describe that namespace.
BuildResult run_build(const BuildOptions& options, Progress& progress, bool userns, bool single_id);

// The state dir: --state-dir, $SLIPWAY_STATE_DIR, /var/lib/slipway for
// root, else $XDG_DATA_HOME/slipway or ~/.local/share/slipway.
std::string default_state_dir();

}  // namespace slipway::build

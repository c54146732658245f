#pragma once
// Owners a single-id RUN step could only record on the side (symlinks,
// device nodes and fifos cannot carry the user.rootlesscontainers xattr; see
// builder/chown_supervisor.h), applied to the step's layer entries.
#include <vector>

#include "builder/chown_supervisor.h"
#include "layers/tar_writer.h"

namespace slipway::build {

// Sets the owner of every entry named in `owners` (in-root absolute paths).
// A named path the differ did not emit (its chown changed nothing a stat
// sees) is added from `source_fd`, the tree the entries' sources are
// relative to, with any parent directory the entries lack. Paths absent
// from `source_fd` (deleted later in the step, or mount points) are skipped.
void apply_side_owners(std::vector<TarEntry>& entries, const sandbox::OwnerMap& owners, int source_fd);

}  // namespace slipway::build

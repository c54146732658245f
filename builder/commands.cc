#include "builder/commands.h"

namespace slipway::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"build", "Build an image from a Dockerfile", cmd_build},
      {"cache", "Prune a --cache-dir (cache prune --cache-dir DIR [--older-than DURATION])", cmd_cache},
      {"copy", "Copy an image or index between registries, OCI layouts and archives", cmd_copy},
      {"manifest", "Inspect a manifest, or create a multi-platform index", cmd_manifest},
      {"parse", "Parse a Dockerfile and print its structure", cmd_parse},
      {"unpack", "Apply an image's layers to a directory, safely", cmd_unpack},
      {"version", "Print the version and the host platform", cmd_version},
  };
  return table;
}

}  // namespace slipway::cli

#include "builder/commands.h"

namespace slipway::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"parse", "Parse a Dockerfile and print its structure", cmd_parse},
      {"version", "Print the version and the host platform", cmd_version},
  };
  return table;
}

}  // namespace slipway::cli

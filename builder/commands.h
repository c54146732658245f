#pragma once
// One function per subcommand. Each takes the arguments after the command
// name and returns the exit code; errors are thrown as slipway::Error.
#include <string>
#include <vector>

namespace slipway::cli {

using Args = std::vector<std::string>;

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const Args& args);
};

int cmd_version(const Args& args);
int cmd_build(const Args& args);
int cmd_cache(const Args& args);
int cmd_unpack(const Args& args);
int cmd_parse(const Args& args);
int cmd_manifest(const Args& args);
int cmd_copy(const Args& args);

// The table main() dispatches on, in the order --help lists them.
const std::vector<Command>& commands();

}  // namespace slipway::cli

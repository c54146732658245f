#include <iostream>

#include "builder/commands.h"
#include "builder/flags.h"
#include "common/error.h"
#include "common/platform.h"
#include "common/version.h"

namespace slipway::cli {

int cmd_version(const Args& args) {
  FlagSet fs("slipway version", "", "Print Slipway's version and the host platform in OCI terms.");
  auto pos = fs.parse(args);
  if (fs.help_requested()) {
    std::cout << fs.help();
    return 0;
  }
  if (!pos.empty()) throw usage_error("version takes no arguments");
  std::cout << "slipway " << SLIPWAY_VERSION << "\nplatform: " << host_platform().str() << "\n";
  return 0;
}

}  // namespace slipway::cli

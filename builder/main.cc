// slipway: build OCI images from a Dockerfile without a daemon or privileges.
#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "builder/commands.h"
#include "common/error.h"
#include "common/version.h"
#include "dockerfile_parser/parser.h"

namespace {

void print_help() {
  std::cout << "usage: slipway <command> [options] [args]\n\n"
               "Slipway " SLIPWAY_VERSION
               " builds container images from a Dockerfile without a daemon\n"
               "and without privileges, and pushes them to OCI registries or writes them to disk.\n\n"
               "Commands:\n";
  for (const auto& c : slipway::cli::commands()) {
    std::string name = c.name;
    name.resize(12, ' ');
    std::cout << "    " << name << c.summary << "\n";
  }
  std::cout << "\nRun 'slipway <command> --help' for a command's options.\n";
}

}  // namespace

int main(int argc, char** argv) {
  // A peer that closes a pipe or socket is an error to report, not a reason
  // to die silently.
  signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_help();
    return args.empty() ? slipway::kExitUsage : 0;
  }
  if (args[0] == "--version") args[0] = "version";
  try {
    for (const auto& c : slipway::cli::commands()) {
      if (args[0] == c.name) return c.run({args.begin() + 1, args.end()});
    }
    if (args[0].starts_with("-")) throw slipway::usage_error("unknown flag: " + args[0] + " (see 'slipway --help')");
    throw slipway::usage_error("unknown command \"" + args[0] + "\" (see 'slipway --help')");
  } catch (const slipway::dockerfile::ParseError& e) {
    // FILE:LINE:COL first, as compilers print it, so editors can jump to it.
    std::cerr << e.what() << "\n";
    return e.exit_code();
  } catch (const slipway::Error& e) {
    std::cerr << "slipway: " << e.what() << "\n";
    return e.exit_code();
  } catch (const std::exception& e) {
    // Anything else is a bug or resource exhaustion; still one clear line.
    std::cerr << "slipway: internal error: " << e.what() << "\n";
    return slipway::kExitFailure;
  }
}

#include <iostream>

#include <nlohmann/json.hpp>

#include "builder/commands.h"
#include "builder/flags.h"
#include "dockerfile_parser/parser.h"

namespace slipway::cli {

int cmd_parse(const Args& args) {
  FlagSet fs("slipway parse", "[--json] FILE",
             "Parse a Dockerfile and print its structure: a readable outline, or with --json\n"
             "the AST (directives, global args, stages and their instructions with raw,\n"
             "unexpanded words). A Dockerfile error prints FILE:LINE:COL: message and exits 1.");
  bool json = false;
  fs.add_bool("json", 0, &json, "print the AST as JSON");
  auto pos = fs.parse(args);
  if (fs.help_requested()) {
    std::cout << fs.help();
    return 0;
  }
  if (pos.size() != 1) throw usage_error("parse takes exactly one FILE (see 'slipway parse --help')");
  auto df = dockerfile::parse_file(pos[0]);
  if (json) {
    std::cout << dockerfile::to_json(df).dump(2) << "\n";
  } else {
    std::cout << dockerfile::outline(df);
  }
  return 0;
}

}  // namespace slipway::cli

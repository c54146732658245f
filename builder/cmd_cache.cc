// slipway cache prune --cache-dir DIR [--older-than DURATION]: removes what
// no build will hit any more from a --cache-dir (nothing else ever does).
// A registry cache repo is left to the registry's own retention policies.
#include <ctime>
#include <iostream>

#include "builder/cache_prune.h"
#include "builder/cache_store.h"
#include "builder/commands.h"
#include "builder/flags.h"
#include "common/error.h"

namespace slipway::cli {

int cmd_cache(const Args& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << "Usage: slipway cache prune --cache-dir DIR [--older-than DURATION]\n";
    return args.empty() ? 2 : 0;
  }
  if (args[0] != "prune") throw usage_error("unknown cache command \"" + args[0] + "\" (there is: prune)");
  std::string dir, older_than = "336h";
  FlagSet fs("slipway cache prune", "--cache-dir DIR [--older-than DURATION]",
             "Remove the entries of a --cache-dir older than DURATION (Go durations: 168h,\n"
             "90m; default 336h, as --cache-ttl; 0 keeps every well-formed entry) and every\n"
             "layer blob no remaining entry names. Files written in the last hour are kept:\n"
             "a build may be storing them.");
  fs.add_string("cache-dir", 0, "DIR", &dir, "the cache dir to prune");
  fs.add_string("older-than", 0, "DURATION", &older_than, "remove entries made longer ago than this");
  auto pos = fs.parse(Args(args.begin() + 1, args.end()));
  if (fs.help_requested()) {
    std::cout << fs.help();
    return 0;
  }
  if (!pos.empty()) throw usage_error("cache prune takes no arguments (see 'slipway cache prune --help')");
  if (dir.empty()) throw usage_error("cache prune needs --cache-dir DIR");
  int64_t cut;
  try {
    cut = build::parse_duration_seconds(older_than);
  } catch (const Error& e) {
    throw usage_error("--older-than: " + e.message());
  }
  auto r = build::prune_cache_dir(dir, cut, static_cast<int64_t>(std::time(nullptr)));
  std::cout << "removed " << r.entries_removed << " entries and " << r.blobs_removed << " blobs (" << r.bytes_freed
            << " bytes), kept " << r.entries_kept << " entries\n";
  return 0;
}

}  // namespace slipway::cli

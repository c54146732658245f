#pragma once
// Layer cache keys. A step's key is the sha256 of a canonical JSON document
// of everything that decides the step's output and nothing else: the key of
// the step before it (so one changed step invalidates every step after it),
// the instruction as it will run, the variables it can see, the files it
// reads from the context, the image format its layer is written in. See
// docs/cache.md for what is in and what is deliberately left out (mtimes,
// undeclared build args, proxy args, secret values, cache mount contents).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "builder/context.h"
#include "builder/dockerignore.h"

namespace slipway::build {

// Bumped when the meaning of a key or of a cache entry changes, so old
// entries are never read with new rules.
inline constexpr int kCacheKeyVersion = 1;

struct StepKeyInput {
  // The previous cacheable step's key in this stage; for the first step the
  // base image's manifest digest, "scratch", or the parent stage's key.
  std::string parent;
  std::string platform;     // target platform, "linux/arm64/v8"
  std::string instruction;  // "run", "copy", "add", "workdir"
  // The words and flags as the step will use them: expanded for COPY, ADD
  // and WORKDIR; raw for RUN, whose `env` then fixes what they expand to.
  std::vector<std::string> words;
  std::map<std::string, std::vector<std::string>> flags;
  bool json_form = false;
  std::vector<std::pair<std::string, std::string>> heredocs;  // name, content
  // The variables the step sees (RUN: its whole environment, ARG values
  // included; others: only when their text is expanded with them).
  std::vector<std::pair<std::string, std::string>> env;
  std::string user;
  std::string workdir;
  std::vector<std::string> shell;
  // Digests of what the step reads besides the parent's files, by role:
  // "sources" (COPY/ADD context content), "from" (a source stage's key),
  // "mount:<target>" (a bind mount's source).
  std::map<std::string, std::string> inputs;
  // What the layer blob is written as: compression, level, media types.
  std::string layer_format;
  std::optional<int64_t> source_date_epoch;  // clamps mtimes in the layer
};

// The key: 64 lower-case hex digits.
std::string step_key(const StepKeyInput& in);

// The digest of what COPY/ADD reads from `ctx` for the source words (after
// the context's .dockerignore, less `exclude`): for every matched entry, and
// everything below a matched directory, its path, type, permission bits,
// symlink target, hard-link grouping and file content hash. Owners and
// mtimes are left out: COPY writes owners from --chown (in the key), and a
// fresh checkout's mtimes must not invalidate the cache. Throws Error when a
// source matches nothing (the step itself then reports it).
std::string context_sources_digest(const BuildContext& ctx, const std::vector<std::string>& sources,
                                   const IgnoreMatcher& exclude);

}  // namespace slipway::build

#pragma once
// The state a build carries through one stage, and the services every
// instruction needs. One file per instruction family implements the steps
// (run_step.cc, copy_step.cc, config_steps.cc), as Kaniko's pkg/commands does.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "builder/build_options.h"
#include "builder/chown_supervisor.h"
#include "builder/context.h"
#include "builder/progress.h"
#include "builder/users.h"
#include "common/temp_dir.h"
#include "dockerfile_parser/ast.h"
#include "dockerfile_parser/scope.h"
#include "layers/content_store.h"
#include "layers/diff.h"
#include "layers/image.h"
#include "layers/pipeline.h"

namespace slipway::build {

// One layer of the image being built, and where its blob can be mounted
// from when pushing (the registry repository a base layer was pulled from).
struct LayerRecord {
  Descriptor descriptor;
  Digest diff_id;
  std::string source_host;        // registry host it came from, if pulled
  std::string source_repository;  // repository it came from, if pulled
};

// Services shared by all stages of one build.
struct BuildEnv {
  const BuildOptions& options;
  Progress& progress;
  ContentStore& store;
  std::string state_dir;
  std::string work_dir;         // per-build scratch (uppers, mount points); removed at the end
  bool userns = false;          // running inside slipway's user namespace
  bool single_id = false;       // only one id mapped: chown is emulated
  LayerOptions layer_options;
  std::optional<int64_t> source_date_epoch;
  std::string created;          // RFC 3339 timestamp for config and history
  std::vector<std::string> dns_files;  // host resolv.conf, hosts copies: host path, in-root path pairs
  int next_layer_id = 0;
  std::string new_layer_dir();  // a fresh empty dir under work_dir
  // The unpacked root of an image named in COPY --from or RUN --mount from=
  // (pulled and unpacked on first use).
  std::function<std::string(const std::string& ref)> image_rootfs;
  std::map<std::string, std::string> views;  // mounted stage views, by stage key
  const BuildContext* context = nullptr;      // the walked build context
  // No overlayfs: each stage has one private, writable root dir
  // (layer_dirs[0]); RUN is snapshotted with the walking differ and layers
  // are applied to that dir.
  bool copy_mode = false;
  // --single-snapshot: copy mode, and one layer per stage, diffed at its end.
  bool single_snapshot = false;
  // Whether the builder is in a private mount namespace of its own, so what
  // it mounts (a chrooted step's /proc) cannot show up on the host.
  bool private_mounts = true;
  // --cache: brings a cache hit's layer blob into `store` (outputs call it
  // for blobs they must read); empty without a cache.
  std::function<void(const Descriptor&)> fetch_blob = nullptr;
};

struct StageState {
  size_t index = 0;
  std::string name;                     // "" when unnamed
  const dockerfile::Dockerfile* df = nullptr;
  ImageConfig config;
  std::vector<LayerRecord> layers;      // base layers, then this build's
  // Overlay layer dirs of the root filesystem, bottom first: the unpacked
  // base, then one dir per step that changed the file system.
  std::vector<std::string> layer_dirs;
  std::unique_ptr<dockerfile::StageScope> scope;
  bool cmd_set = false;                 // CMD given in this stage (ENTRYPOINT then keeps it)
  std::vector<std::string> shell = {"/bin/sh", "-c"};
  std::string platform;                 // "linux/amd64"
  std::shared_ptr<TreeState> stage_start;  // --single-snapshot: the root as the stage began
  sandbox::OwnerMap side_owners;           // --single-snapshot: owners single-id RUNs kept by path
  // --cache: the key of the last cacheable step ("" once a step could not
  // be keyed), and cache hits recorded in `layers` but not yet applied to
  // `layer_dirs` (see cache.h).
  std::string cache_key;
  std::vector<Descriptor> pending_layers;
  // --cache: unpacks the base image into `layer_dirs` when a step first
  // needs the stage's files; empty once done (and always without a cache).
  std::function<void(StageState&)> unpack_base;
};

// Reads a file of the stage's merged root ("etc/passwd"), never following a
// symlink and never leaving the layer dirs.
std::optional<std::string> read_stage_file(const StageState& st, const std::string& rel);
RootFileReader stage_reader(const StageState& st);

// Opens the stage's layer dirs top-most first, for lookup_in_layers.
std::vector<UniqueFd> open_layer_dirs(const StageState& st);

// "FILE:LINE:COL" for messages about an instruction, as parse errors give it.
std::string where(const StageState& st, const dockerfile::Instruction& ins);

// Adds a history entry, and the layer when there is one.
void record_step(StageState& st, BuildEnv& env, const std::string& created_by,
                 const std::optional<LayerResult>& layer);

// Writes a layer from a directory holding exactly what the step changed in
// overlay upper-dir form, diffed against the stage's layer dirs; nullopt when
// nothing changed. On success the dir joins the stage's layer dirs.
// `extra_lower`, if given, was stacked on top of the lowers for this step
// only (the sandbox's mount points) and is diffed against too.
// `side_owners`: owners a single-id RUN recorded by path (side_owners.h).
std::optional<LayerResult> commit_layer_dir(StageState& st, BuildEnv& env, const std::string& dir,
                                            const std::string& extra_lower = "",
                                            const sandbox::OwnerMap& side_owners = {});

// Copy mode: the layer of everything that changed under root_fd since
// `before` (walking differ); nullopt when nothing did.
std::optional<LayerResult> write_walked_layer(BuildEnv& env, const TreeState& before, int root_fd,
                                              const sandbox::OwnerMap& side_owners = {});

// Gives the directory `path` the mode, owner (true owner included when it
// is only recorded in the rootless xattr) and times of `from`, so the differ
// sees it unchanged.
void copy_dir_metadata(const std::string& path, const LayerHit& from);

// A path made absolute against the working directory and cleaned
// ("a/../b/./c/" under "/w" -> "/w/b/c"); never escapes "/".
std::string absolute_path(const std::string& workdir, const std::string& path);

// Copy mode: applies a layer written by a step to the stage's root dir.
void apply_to_root(StageState& st, BuildEnv& env, const LayerResult& layer);

// The steps. Each throws Error with the instruction's location on failure.
void run_step(StageState& st, BuildEnv& env, const dockerfile::Instruction& ins,
              const std::map<std::string, const StageState*>& stages);
void copy_step(StageState& st, BuildEnv& env, const dockerfile::Instruction& ins,
               const std::map<std::string, const StageState*>& stages);
// Every instruction that only changes the image config, plus ARG and ENV.
// Returns false for an instruction it does not handle.
bool config_step(StageState& st, BuildEnv& env, const dockerfile::Instruction& ins);

}  // namespace slipway::build

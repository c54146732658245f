#include "builder/build.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <ctime>
#include <fstream>
#include <set>
#include <utility>

#include "builder/base_image.h"
#include "builder/cache.h"
#include "builder/context.h"
#include "builder/dockerignore.h"
#include "builder/interrupt.h"
#include "builder/output.h"
#include "builder/stage.h"
#include "builder/tree_copy.h"
#include "builder/views.h"
#include "common/error.h"
#include "common/temp_dir.h"
#include "dockerfile_parser/parser.h"
#include "dockerfile_parser/scope.h"
#include "layers/unpack.h"

namespace slipway::build {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string rfc3339(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm {};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void mkdirs(const std::string& path, mode_t mode) {
  std::string cur;
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      cur = path.substr(0, i);
      if (mkdir(cur.c_str(), mode) != 0 && errno != EEXIST) throw sys_error("mkdir " + cur);
    }
  }
}

// The builder's own mounts (stage views) live in a private mount namespace
// and vanish with the process, however it ends. --isolation chroot mounts
// nothing (a pod refuses it), except /proc where it is allowed after all.
// Returns whether the namespace is private; without `required` a failure
// means "mount nothing".
bool enter_private_mount_namespace(bool required) {
  if (unshare(CLONE_NEWNS) != 0) {
    if (!required) return false;
    throw sys_error("unshare(CLONE_NEWNS) for the builder's mounts");
  }
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    // EINVAL: our / is not a mount point, as when slipway itself runs
    // chrooted. The new namespace then still shares mount events with the
    // one we came from, so a mount here would appear there too.
    if (!required) return false;
    throw sys_error("making mounts private");
  }
  return true;
}

// Which stages the target needs, in Dockerfile order: the target, the
// stages its FROM, COPY --from and RUN --mount from= name, transitively.
std::vector<size_t> needed_stages(const dockerfile::Dockerfile& df, size_t target,
                                  const dockerfile::GlobalScope& global) {
  std::map<std::string, size_t> by_name;
  for (size_t i = 0; i < df.stages.size(); ++i) {
    if (df.stages[i].name) by_name[lower(*df.stages[i].name)] = i;
    by_name[std::to_string(i)] = i;
  }
  std::set<size_t> need;
  std::vector<size_t> todo = {target};
  while (!todo.empty()) {
    size_t s = todo.back();
    todo.pop_back();
    if (!need.insert(s).second) continue;
    auto dep = [&](const std::string& name) {
      auto it = by_name.find(lower(name));
      if (it != by_name.end() && it->second < s) todo.push_back(it->second);
    };
    dep(global.expand(df.stages[s].base).word);
    for (const auto& ins : df.stages[s].instructions) {
      if (auto from = ins.flag("from")) dep(*from);
      auto m = ins.flags.find("mount");
      if (m == ins.flags.end()) continue;
      for (const auto& v : m->second) {
        auto p = v.find("from=");
        if (p != std::string::npos && (p == 0 || v[p - 1] == ',')) dep(v.substr(p + 5, v.find(',', p) - p - 5));
      }
    }
  }
  return {need.begin(), need.end()};
}

// Whether overlayfs can be mounted here (inside a user namespace it needs
// userxattr and kernel 5.11+); "" when it can, else the kernel's reason.
std::string overlay_unavailable(const std::string& work, bool userns) {
  std::string base = work + "/overlay-probe";
  for (const char* d : {"", "/l", "/u", "/w", "/m"}) {
    if (mkdir((base + d).c_str(), 0700) != 0) throw sys_error("mkdir " + base + d);
  }
  std::string opts = "lowerdir=" + base + "/l,upperdir=" + base + "/u,workdir=" + base + "/w";
  opts += userns ? ",userxattr" : ",redirect_dir=off,metacopy=off";
  std::string reason;
  if (mount("overlay", (base + "/m").c_str(), "overlay", 0, opts.c_str()) != 0) reason = strerror(errno);
  else umount2((base + "/m").c_str(), MNT_DETACH);
  remove_tree(base);
  return reason;
}

void run_instruction(StageState& st, BuildEnv& env, const dockerfile::Instruction& ins,
                     const std::map<std::string, const StageState*>& stages) {
  if (ins.cmd == "run") {
    run_step(st, env, ins, stages);
  } else if (ins.cmd == "copy" || ins.cmd == "add") {
    copy_step(st, env, ins, stages);
  } else if (!config_step(st, env, ins)) {
    throw Error(where(st, ins) + ": " + ins.cmd + " is not supported");
  }
}

}  // namespace

std::string default_state_dir() {
  if (const char* s = getenv("SLIPWAY_STATE_DIR"); s && *s) return s;
  if (geteuid() == 0 && !getenv("_SLIPWAY_USERNS_MAP")) return "/var/lib/slipway";
  if (const char* x = getenv("XDG_DATA_HOME"); x && *x) return std::string(x) + "/slipway";
  const char* home = getenv("HOME");
  if (!home || !*home) throw Error("cannot find a state dir: set --state-dir or HOME");
  return std::string(home) + "/.local/share/slipway";
}

BuildResult run_build(const BuildOptions& options, Progress& progress, bool userns, bool single_id) {
  std::string state_dir = options.state_dir.empty() ? default_state_dir() : options.state_dir;
  mkdirs(state_dir, 0700);
  mkdirs(state_dir + "/tmp", 0700);
  mkdirs(state_dir + "/cache", 0700);
  ContentStore store(state_dir + "/content");
  if (size_t n = store.remove_abandoned()) progress.debug("removed " + std::to_string(n) + " abandoned temp files");
  TempDir work(state_dir + "/tmp", "build-");
  set_interrupt_cleanup_dir(work.path());
  const bool chroot = options.isolation == Isolation::kChroot;
  const bool private_mounts = enter_private_mount_namespace(!chroot);

  // tar://FILE and tar://- (stdin): the context arrives as a tarball
  // (plain, gzip or zstd) and is unpacked, safely, into the scratch dir.
  std::string context_dir = options.context;
  std::string dockerfile_path = options.dockerfile;
  if (context_dir.rfind("tar://", 0) == 0) {
    std::string src = context_dir.substr(6);
    context_dir = work.path() + "/context";
    if (mkdir(context_dir.c_str(), 0755) != 0) throw sys_error("mkdir " + context_dir);
    UniqueFd root(open(context_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    UniqueFd in(src == "-" ? dup(0) : open(src.c_str(), O_RDONLY | O_CLOEXEC));
    if (!root || !in) throw sys_error("opening the context " + options.context);
    try {
      layers::apply_layer(root.get(), in.get());
    } catch (const Error& e) {
      throw e.with_context("unpacking the context " + options.context);
    }
    // A relative -f names a file inside a tarball context, as in Kaniko.
    if (!dockerfile_path.empty() && dockerfile_path[0] != '/') dockerfile_path = context_dir + "/" + dockerfile_path;
  }
  if (dockerfile_path.empty()) dockerfile_path = context_dir + "/Dockerfile";
  auto df = dockerfile::parse_file(dockerfile_path);

  std::string ignore_file;
  IgnoreMatcher ignore = load_dockerignore(context_dir, dockerfile_path, &ignore_file);
  BuildContext context = BuildContext::load(context_dir, ignore);
  progress.debug("context " + options.context + ": " + std::to_string(context.entries().size()) + " entries" +
                 (ignore_file.empty() ? "" : ", ignoring per " + ignore_file));

  BuildEnv env{options, progress, store, state_dir, work.path(), false, false, {}, std::nullopt, "", {}, 0, {}, {},
               nullptr};
  env.userns = userns;
  env.single_id = single_id;
  env.context = &context;
  env.single_snapshot = options.single_snapshot;
  env.private_mounts = private_mounts;
  if (options.snapshot_mode != "copy" && !options.single_snapshot && !chroot) {
    std::string why = overlay_unavailable(work.path(), userns);
    if (!why.empty() && options.snapshot_mode == "overlay") {
      throw Error("--snapshot-mode overlay: overlayfs cannot be mounted here: " + why);
    }
    if (!why.empty()) {
      progress.info("overlayfs cannot be mounted here (" + why +
                    "): snapshotting RUN steps by copying the tree and walking it, which is slower");
    }
    env.copy_mode = !why.empty();
  } else {
    env.copy_mode = true;
  }
  env.layer_options.compression.algorithm = options.compression == "zstd" ? Compression::kZstd : Compression::kGzip;
  env.layer_options.compression.level = options.compression_level;
  env.layer_options.docker_media_types = options.image_format == "docker";
  if (options.reproducible) env.source_date_epoch = options.source_date_epoch.value_or(0);
  else env.source_date_epoch = options.source_date_epoch;
  env.created = rfc3339(env.source_date_epoch.value_or(std::time(nullptr)));
  // The sandbox binds copies, so a RUN step can never write the host's files.
  for (const char* f : {"/etc/resolv.conf", "/etc/hosts"}) {
    std::ifstream in(f);
    std::string copy = work.path() + "/" + (f + 5);
    std::ofstream(copy) << (in ? std::string(std::istreambuf_iterator<char>(in), {}) : std::string());
    env.dns_files.push_back(copy);
    env.dns_files.push_back(f);
  }

  auto cache = BuildCache::open(env);
  dockerfile::GlobalScope global(df, options.build_args, host_platform(), options.platform);
  size_t target = df.stages.size() - 1;
  if (!options.target.empty()) {
    bool found = false;
    for (size_t i = 0; i < df.stages.size(); ++i) {
      if (df.stages[i].name && lower(*df.stages[i].name) == lower(options.target)) {
        target = i;
        found = true;
      }
    }
    if (!found) throw Error("target stage \"" + options.target + "\" could not be found in " + df.path);
  }
  auto order = needed_stages(df, target, global);

  ImageSource images(env, cache != nullptr);
  if (cache) {
    // An output reading a base layer that no step needed pulls it then.
    env.fetch_blob = [&images, hit = std::move(env.fetch_blob)](const Descriptor& d) {
      if (!images.fetch(d)) hit(d);
    };
  }
  std::map<std::string, SourceImage> image_cache;
  env.image_rootfs = [&](const std::string& ref) {
    auto it = image_cache.find(ref);
    if (it == image_cache.end()) it = image_cache.emplace(ref, images.resolve(ref, options.platform)).first;
    return images.unpack(it->second);
  };

  std::map<size_t, std::unique_ptr<StageState>> done;
  std::map<std::string, const StageState*> by_name;
  for (size_t n = 0; n < order.size(); ++n) {
    size_t i = order[n];
    const auto& stage = df.stages[i];
    auto st = std::make_unique<StageState>();
    st->index = i;
    st->df = &df;
    st->name = stage.name.value_or("");
    std::string base = global.expand(stage.base).word;
    Platform platform = options.platform;
    if (stage.platform) platform = parse_platform(global.expand(*stage.platform).word);
    st->platform = platform.str();
    progress.stage(static_cast<int>(n + 1), static_cast<int>(order.size()), st->name, base);

    if (const StageState* prev = find_stage(base, by_name)) {
      st->config = prev->config;
      st->layers = prev->layers;
      st->layer_dirs = prev->layer_dirs;
      st->unpack_base = prev->unpack_base;  // --cache: prev's base is not unpacked yet
      if (env.copy_mode && !st->unpack_base) {
        st->layer_dirs = {env.new_layer_dir()};
        copy_tree(prev->layer_dirs.at(0), st->layer_dirs[0]);
      }
      st->scope = std::make_unique<dockerfile::StageScope>(prev->scope->inherit());
      st->shell = prev->shell;
      st->cache_key = prev->cache_key;
      st->pending_layers = prev->pending_layers;
    } else if (lower(base) == "scratch") {
      st->scope = std::make_unique<dockerfile::StageScope>(global, std::vector<std::string>{});
      if (env.copy_mode) st->layer_dirs = {env.new_layer_dir()};
      st->cache_key = "scratch";
    } else {
      auto img = images.resolve(base, platform);
      st->config = img.config;
      st->layers = img.layers;
      if (img.manifest_digest) st->cache_key = img.manifest_digest->str();
      st->unpack_base = [&images, &env, img](StageState& s) {
        std::string dir = images.unpack(img);
        if (env.copy_mode) {
          // The unpacked base is shared by builds: a stage works on its own copy.
          std::string own = env.new_layer_dir();
          copy_tree(dir, own);
          dir = own;
        }
        s.layer_dirs.insert(s.layer_dirs.begin(), dir);
      };
      // With the cache, only a step that misses needs the files (cache.h).
      if (!cache) std::exchange(st->unpack_base, nullptr)(*st);
      st->scope = std::make_unique<dockerfile::StageScope>(global, img.config.config.env);
      if (img.config.config.shell) st->shell = *img.config.config.shell;
      if (!platform_matches(platform, img.config.platform())) {
        progress.warn("base image " + base + " is " + img.config.platform().str() + ", not " + platform.str());
      }
    }
    if (env.single_snapshot) {
      UniqueFd root(open(st->layer_dirs.at(0).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!root) throw sys_error("open " + st->layer_dirs[0]);
      st->stage_start = std::make_shared<TreeState>(snapshot_tree(root.get()));
    }
    st->config.config.env = dockerfile::to_env_strings(st->scope->env());
    st->config.architecture = platform.architecture;
    st->config.os = platform.os;
    st->config.variant = platform.variant;

    // ONBUILD triggers of the base run first, then are cleared.
    std::vector<dockerfile::Instruction> triggers;
    for (const auto& t : st->config.config.on_build) {
      auto parsed = dockerfile::parse("FROM scratch\n" + t, base + " ONBUILD");
      for (auto& ins : parsed.stages[0].instructions) triggers.push_back(ins);
    }
    st->config.config.on_build.clear();
    size_t steps = triggers.size() + stage.instructions.size();
    size_t k = 0;
    const std::vector<dockerfile::Instruction>* lists[] = {&triggers, &stage.instructions};
    for (const auto* list : lists) {
      for (const auto& ins : *list) {
        progress.step(static_cast<int>(n + 1), static_cast<int>(order.size()), static_cast<int>(++k),
                      static_cast<int>(steps), ins.original.empty() ? ins.cmd : ins.original);
        size_t layers_before = st->layers.size();
        bool cached = false;
        if (cache) cached = cache->step(*st, ins, by_name, done, [&] { run_instruction(*st, env, ins, by_name); });
        else run_instruction(*st, env, ins, by_name);
        int64_t bytes = st->layers.size() > layers_before ? st->layers.back().descriptor.size : -1;
        if (cached) progress.step_cached(bytes);
        else progress.step_done(bytes);
      }
    }
    if (env.single_snapshot) {
      UniqueFd root(open(st->layer_dirs.at(0).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!root) throw sys_error("open " + st->layer_dirs[0]);
      record_step(*st, env, "single snapshot of stage " + std::to_string(n + 1) + " # slipway",
                  write_walked_layer(env, *st->stage_start, root.get(), st->side_owners));
    }
    if (stage.name) by_name[lower(*stage.name)] = st.get();
    by_name[std::to_string(i)] = st.get();
    done[i] = std::move(st);
  }
  for (const auto& w : std::vector<std::string>{global.unused_build_args_warning()}) {
    if (!w.empty()) progress.warn(w);
  }

  StageState& final_stage = *done[target];
  final_stage.config.created = env.created;
  for (const auto& [k, v] : options.labels) final_stage.config.config.labels[k] = v;
  auto result = write_outputs(final_stage, env);
  if (cache) cache->push_new_entries();
  return result;
}

}  // namespace slipway::build

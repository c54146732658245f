#include "builder/cache.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <set>
#include <utility>

#include "builder/base_image.h"
#include "builder/cache_key.h"
#include "builder/fetch.h"
#include "builder/registry_flags.h"
#include "builder/views.h"
#include "common/error.h"
#include "common/temp_dir.h"
#include "dockerfile_parser/flags.h"
#include "dockerfile_parser/scope.h"
#include "layers/unpack.h"

namespace slipway::build {

namespace {

bool cacheable(const std::string& cmd) { return cmd == "run" || cmd == "copy" || cmd == "add" || cmd == "workdir"; }

// What expansions and RUN see, less the proxy args a stage did not declare:
// BuildKit leaves those out of its cache keys, so a CI runner's proxy
// setting does not invalidate every RUN.
std::vector<std::pair<std::string, std::string>> key_env(const StageState& st) {
  std::set<std::string> declared;
  for (const auto& a : st.scope->args()) declared.insert(a.name);
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [k, v] : st.scope->run_environment()) {
    if (dockerfile::is_proxy_arg(k) && !declared.count(k)) continue;
    out.emplace_back(k, v);
  }
  return out;
}

std::string expand_or_raw(const StageState& st, const std::string& raw) {
  try {
    return st.scope->expand_word(raw);
  } catch (const Error&) {
    return raw;  // the step reports the error itself when it runs
  }
}

// An image named by digest cannot change under a key; a tag can.
bool pinned(const std::string& ref) { return ref.find("@sha256:") != std::string::npos; }

}  // namespace

std::unique_ptr<BuildCache> BuildCache::open(BuildEnv& env) {
  const BuildOptions& o = env.options;
  if (!o.cache) return nullptr;
  if (env.single_snapshot) {
    env.progress.warn("--cache has no effect with --single-snapshot (one layer per stage, made at its end)");
    return nullptr;
  }
  std::string repo = o.cache_repo;
  if (o.cache_dir.empty() && repo.empty()) {
    // Kaniko's default: the first destination's repository + "/cache".
    if (o.destinations.empty() || o.no_push) {
      throw Error("--cache needs somewhere to keep layers: give --cache-repo REPO and/or --cache-dir DIR");
    }
    repo = registry::Reference::parse(o.destinations[0]).name() + "/cache";
    env.progress.info("--cache: no --cache-repo or --cache-dir given, using " + repo);
  }
  return std::make_unique<BuildCache>(env, repo);
}

BuildCache::BuildCache(BuildEnv& env, const std::string& cache_repo) : env_(env) {
  const BuildOptions& o = env.options;
  if (!o.cache_dir.empty()) {
    if (mkdir(o.cache_dir.c_str(), 0755) != 0 && errno != EEXIST) throw sys_error("mkdir " + o.cache_dir);
    stores_.push_back(std::make_unique<DirCacheStore>(o.cache_dir, o.cache_ttl_seconds));
  }
  if (!cache_repo.empty()) {
    auto ref = registry::Reference::parse(cache_repo);
    if (!ref.digest.empty()) throw Error("--cache-repo names a repository, not an image: " + cache_repo);
    // Destinations on the same registry may hold a miss's blob already.
    std::vector<std::string> mount_from;
    for (const auto& d : o.destinations) {
      try {
        auto dest = registry::Reference::parse(d);
        if (dest.registry == ref.registry && dest.repository != ref.repository) mount_from.push_back(dest.repository);
      } catch (const Error&) {
      }
    }
    stores_.push_back(std::make_unique<RegistryCacheStore>(ref, cli::registry_options(o, true, ref.registry),
                                                           o.cache_ttl_seconds, mount_from));
  }
  env_.fetch_blob = [this](const Descriptor& d) { fetch_blob(d); };
}

std::optional<std::string> BuildCache::stage_or_image_key(const std::string& from,
                                                          const std::map<std::string, const StageState*>& stages) {
  if (const StageState* s = find_stage(from, stages)) {
    if (s->cache_key.empty()) return std::nullopt;
    return s->cache_key;
  }
  if (env_.options.build_contexts.count(from)) {
    // A named context is keyed by what it holds, not by its name: an OCI
    // layout by its manifest's digest (so a rebuilt layout invalidates).
    if (auto d = ImageSource(env_).pinned_digest(from, env_.options.platform)) return "context:" + d->str();
    return std::nullopt;
  }
  if (pinned(from)) return from;
  return std::nullopt;
}

std::optional<std::string> BuildCache::key_for(const StageState& st, const dockerfile::Instruction& ins,
                                               const std::map<std::string, const StageState*>& stages) {
  if (st.cache_key.empty()) return std::nullopt;
  const BuildOptions& o = env_.options;
  StepKeyInput in;
  in.parent = st.cache_key;
  in.platform = st.platform;
  in.instruction = ins.cmd;
  in.json_form = ins.json;
  in.user = st.config.config.user;
  in.workdir = st.config.config.working_dir;
  in.shell = st.shell;
  in.layer_format = o.compression + ":" + std::to_string(o.compression_level) + ":" + o.image_format;
  in.source_date_epoch = env_.source_date_epoch;
  for (const auto& h : ins.heredocs) {
    in.heredocs.emplace_back(h.name + (h.expand ? "" : "'") + (h.chomp ? "-" : ""), h.content);
  }

  if (ins.cmd == "run") {
    // Raw text with every variable it can see: that fixes what it expands to.
    in.words = ins.args;
    in.flags = ins.flags;
    in.env = key_env(st);
    if (auto it = ins.flags.find("mount"); it != ins.flags.end()) {
      for (const auto& raw : it->second) {
        auto m = dockerfile::parse_mount(st.scope->expand_word(raw));
        if (m.type != "bind") continue;  // cache, tmpfs, secret: the spec alone (a cache's contents are no input)
        std::string role = "mount:" + m.target;
        if (m.from.empty()) {
          // The step sees the context as COPY does (.dockerignore'd files
          // hidden, context_view.h), so that is what the digest walks.
          in.inputs[role] = context_sources_digest(*env_.context, {m.source.empty() ? "." : m.source}, IgnoreMatcher());
        } else if (auto k = stage_or_image_key(m.from, stages)) {
          in.inputs[role] = "from:" + *k + ":" + m.source;
        } else {
          return std::nullopt;
        }
      }
    }
  } else if (ins.cmd == "workdir") {
    std::string dir = st.scope->expand_word(ins.args.empty() ? "" : ins.args[0]);
    in.words = {absolute_path(st.config.config.working_dir.empty() ? "/" : st.config.config.working_dir, dir)};
  } else {  // copy, add
    for (const auto& a : ins.args) in.words.push_back(ins.json ? a : st.scope->expand_word(a));
    for (const auto& [k, vals] : ins.flags) {
      for (const auto& v : vals) in.flags[k].push_back(expand_or_raw(st, v));
    }
    // Heredoc bodies are expanded with the stage's variables.
    if (!ins.heredocs.empty()) in.env = key_env(st);
    std::vector<std::string> sources(in.words.begin(), in.words.end() - (in.words.empty() ? 0 : 1));
    std::erase_if(sources, [&](const std::string& s) {
      for (const auto& h : ins.heredocs) {
        if (s == "<<" + h.name || s == "<<-" + h.name) return true;
      }
      return false;
    });
    if (auto from = ins.flag("from")) {
      auto k = stage_or_image_key(expand_or_raw(st, *from), stages);
      if (!k) return std::nullopt;
      in.inputs["from"] = *k;
    } else {
      std::vector<std::string> local;
      for (const auto& s : sources) {
        if (ins.cmd == "add" && is_url(s)) {
          // Without --checksum the download could be anything: always a miss.
          auto sum = ins.flag("checksum");
          if (!sum) return std::nullopt;
          in.inputs["url:" + s] = expand_or_raw(st, *sum);
        } else {
          local.push_back(s);
        }
      }
      std::string exclude_text;
      if (auto it = in.flags.find("exclude"); it != in.flags.end()) {
        for (const auto& e : it->second) exclude_text += e + "\n";
      }
      if (!local.empty()) {
        in.inputs["sources"] =
            context_sources_digest(*env_.context, local, IgnoreMatcher::parse(exclude_text, "--exclude"));
      }
    }
  }
  return step_key(in);
}

bool BuildCache::step(StageState& st, const dockerfile::Instruction& ins,
                      const std::map<std::string, const StageState*>& stages,
                      const std::map<size_t, std::unique_ptr<StageState>>& done, const std::function<void()>& run) {
  if (!cacheable(ins.cmd)) {
    run();
    return false;
  }
  std::optional<std::string> key;
  try {
    key = key_for(st, ins, stages);
  } catch (const Error& e) {
    env_.progress.debug("no cache key for " + where(st, ins) + ": " + e.message());
  }
  if (key) {
    env_.progress.debug("cache key " + *key + " for " + where(st, ins));
    for (auto& store : stores_) {
      if (unreachable_.count(store.get())) continue;
      try {
        if (auto e = store->get(*key)) {
          // The dir, when given, is asked first: a hit elsewhere is not in it.
          if (store != stores_.front() && !env_.options.cache_dir.empty()) write_through_.push_back(*e);
          apply_hit(st, ins, *e, store.get());
          return true;
        }
      } catch (const Error& e) {
        // One warning, not one (with retries and timeouts) per step.
        env_.progress.warn("cache " + store->describe() + ": " + e.message() +
                           " (not asked again in this build: its steps miss)");
        unreachable_.insert(store.get());
      }
    }
  }
  ++misses_;
  // The step reads files: make this stage's hits, and those of any stage
  // it reads from, real first.
  materialise(st);
  std::vector<std::string> froms;
  if (auto f = ins.flag("from")) froms.push_back(*f);
  if (auto it = ins.flags.find("mount"); it != ins.flags.end()) {
    for (const auto& raw : it->second) {
      try {
        auto m = dockerfile::parse_mount(st.scope->expand_word(raw));
        if (!m.from.empty()) froms.push_back(m.from);
      } catch (const Error&) {
      }
    }
  }
  for (const auto& f : froms) {
    if (const StageState* s = find_stage(f, stages)) materialise(*done.at(s->index));
  }
  size_t history_before = st.config.history.size(), layers_before = st.layers.size();
  run();
  st.cache_key = key.value_or("");
  if (!key || st.config.history.size() != history_before + 1) return false;
  CacheEntry e;
  e.key = *key;
  e.created = static_cast<int64_t>(std::time(nullptr));
  e.history = st.config.history.back();
  e.history.created = "";
  if (st.layers.size() == layers_before + 1) {
    e.layer = st.layers.back().descriptor;
    e.diff_id = st.layers.back().diff_id;
  }
  e.history.empty_layer = !e.layer.has_value();
  new_entries_.push_back(e);
  return false;
}

void BuildCache::apply_hit(StageState& st, const dockerfile::Instruction& ins, const CacheEntry& e, CacheStore* from) {
  ++hits_;
  if (ins.cmd == "workdir") {
    // The config half of WORKDIR, as config_step does it; the directory
    // itself is the cached layer.
    auto& c = st.config.config;
    std::string base = c.working_dir.empty() ? "/" : c.working_dir;
    c.working_dir = absolute_path(base, st.scope->expand_word(ins.args.empty() ? "" : ins.args[0]));
  }
  History h = e.history;
  h.created = env_.created;
  h.empty_layer = !e.layer.has_value();
  st.config.history.push_back(h);
  if (e.layer) {
    st.layers.push_back({*e.layer, e.diff_id, from->registry_host(), from->repository()});
    st.config.diff_ids.push_back(e.diff_id);
    st.pending_layers.push_back(*e.layer);
    blob_home_.emplace(e.layer->digest, from);
  }
  st.cache_key = e.key;
}

void BuildCache::fetch_blob(const Descriptor& layer) {
  if (env_.store.exists(layer.digest)) return;
  auto it = blob_home_.find(layer.digest);
  if (it == blob_home_.end()) throw Error("internal error: no cache holds layer " + layer.digest.str());
  env_.progress.info("fetching cached layer " + layer.digest.str() + " (" + human_size(layer.size) + ") from " +
                     it->second->describe());
  try {
    it->second->fetch_blob(layer, env_.store);
  } catch (const Error& e) {
    throw e.with_context("fetching cached layer " + layer.digest.str() + " from " + it->second->describe());
  }
}

void BuildCache::materialise(StageState& st) {
  if (st.unpack_base) std::exchange(st.unpack_base, nullptr)(st);
  for (const auto& layer : st.pending_layers) {
    fetch_blob(layer);
    if (env_.copy_mode) {
      layers::apply_layer(st.layer_dirs.at(0), env_.store.blob_path(layer.digest));
    } else {
      overlay_apply(st, layer);
    }
  }
  st.pending_layers.clear();
}

// Overlay mode keeps each step's changes as an upper dir. A cached layer is
// applied through an overlay of the stage's dirs, so its deletions become
// overlay whiteouts in the new upper dir, exactly as if the step had run.
void BuildCache::overlay_apply(StageState& st, const Descriptor& layer) {
  std::string upper = env_.new_layer_dir();
  std::string blob = env_.store.blob_path(layer.digest);
  if (st.layer_dirs.empty()) {
    layers::apply_layer(upper, blob);
    st.layer_dirs.push_back(upper);
    return;
  }
  TempDir scratch(env_.work_dir, "hit-");
  std::string work = scratch.path() + "/work", merged = scratch.path() + "/merged";
  if (mkdir(work.c_str(), 0700) != 0 || mkdir(merged.c_str(), 0755) != 0) throw sys_error("mkdir " + work);
  std::string opts = "lowerdir=";
  for (auto d = st.layer_dirs.rbegin(); d != st.layer_dirs.rend(); ++d) {
    if (d != st.layer_dirs.rbegin()) opts += ":";
    opts += *d;
  }
  opts += ",upperdir=" + upper + ",workdir=" + work;
  opts += env_.userns ? ",userxattr" : ",redirect_dir=off,metacopy=off";
  if (mount("overlay", merged.c_str(), "overlay", 0, opts.c_str()) != 0) {
    throw sys_error("mounting an overlay to apply cached layer " + layer.digest.str());
  }
  try {
    layers::apply_layer(merged, blob);
  } catch (...) {
    umount2(merged.c_str(), MNT_DETACH);
    throw;
  }
  // A plain umount: the upper dir must be complete before it is a lower.
  if (umount2(merged.c_str(), 0) != 0) throw sys_error("unmounting " + merged);
  st.layer_dirs.push_back(upper);
}

void BuildCache::push_new_entries() {
  if (!write_through_.empty() && !unreachable_.count(stores_.front().get())) {
    CacheStore& dir = *stores_.front();
    size_t stored = 0;
    try {
      for (const auto& e : write_through_) {
        if (e.layer) fetch_blob(*e.layer);
        dir.put(e, env_.store);  // `created` kept: the ttl counts from when the step ran
        ++stored;
      }
      env_.progress.info("cache " + dir.describe() + ": copied " + std::to_string(stored) + " hit" +
                         (stored == 1 ? "" : "s") + " from the cache repo");
    } catch (const Error& e) {
      env_.progress.warn("cache " + dir.describe() + ": copying hits from the cache repo failed after " +
                         std::to_string(stored) + " of " + std::to_string(write_through_.size()) + ": " +
                         e.message() + " (the build itself succeeded)");
    }
  }
  if (new_entries_.empty()) return;
  for (auto& store : stores_) {
    if (unreachable_.count(store.get())) continue;  // already warned about
    size_t stored = 0;
    try {
      for (const auto& e : new_entries_) {
        store->put(e, env_.store);
        ++stored;
      }
      env_.progress.info("cache " + store->describe() + ": stored " + std::to_string(stored) + " new entr" +
                         (stored == 1 ? "y" : "ies"));
    } catch (const Error& e) {
      env_.progress.warn("cache " + store->describe() + ": storing layers failed after " + std::to_string(stored) +
                         " of " + std::to_string(new_entries_.size()) + " entries: " + e.message() +
                         " (the build itself succeeded)");
    }
  }
}

}  // namespace slipway::build

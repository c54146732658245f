// RUN: the command runs in the sandbox over an overlay of the stage's layer
// dirs with a fresh upper dir; the overlay differ turns the upper into the
// step's layer.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fstream>

#include "builder/chroot_step.h"
#include "builder/context.h"
#include "builder/context_view.h"
#include "builder/sandbox.h"
#include "builder/stage.h"
#include "builder/views.h"
#include "common/digest.h"
#include "common/error.h"
#include "dockerfile_parser/flags.h"
#include "layers/diff.h"
#include "layers/unpack.h"

namespace slipway::build {

namespace {

bool is_bare_heredoc(const std::string& script, const dockerfile::Heredoc& h) {
  std::string s = script;
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  for (const char* prefix : {"<<", "<<-"}) {
    for (const std::string& q : {std::string(), std::string("\""), std::string("'")}) {
      if (s == prefix + q + h.name + q) return true;
    }
  }
  return false;
}

void write_private_file(const std::string& path, const std::string& data, mode_t mode, uid_t uid, gid_t gid) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) throw sys_error("create " + path);
  if (write(fd.get(), data.data(), data.size()) != static_cast<ssize_t>(data.size())) throw sys_error("write " + path);
  (void)!fchown(fd.get(), uid, gid);
  if (fchmod(fd.get(), mode) != 0) throw sys_error("chmod " + path);
}

std::string read_secret(const SecretSpec& s) {
  if (!s.env.empty()) {
    const char* v = getenv(s.env.c_str());
    if (!v) throw Error("secret " + s.id + ": environment variable " + s.env + " is not set");
    return v;
  }
  std::ifstream in(s.src, std::ios::binary);
  if (!in) throw Error("secret " + s.id + ": cannot read " + s.src);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// An exclusive lock on a cache dir, released when the fd closes; nullopt
// when `wait` is false and another build holds it.
std::optional<UniqueFd> lock_dir(const std::string& dir, bool wait) {
  UniqueFd fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw sys_error("open cache " + dir);
  while (flock(fd.get(), LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
    if (errno == EWOULDBLOCK && !wait) return std::nullopt;
    if (errno != EINTR) throw sys_error("lock cache " + dir);
  }
  return fd;
}

// Creates a cache dir with the mount's mode and owner; false if it existed.
bool make_cache_dir(const std::string& dir, const dockerfile::Mount& m) {
  auto mode = static_cast<mode_t>(m.mode.value_or(0755));
  if (mkdir(dir.c_str(), mode) != 0) {
    if (errno == EEXIST) return false;
    throw sys_error("create cache dir " + dir);
  }
  (void)!chown(dir.c_str(), m.uid.value_or(0), m.gid.value_or(0));
  chmod(dir.c_str(), mode);
  return true;
}

struct MountPlan {
  std::vector<sandbox::BindMount> binds;
  std::vector<sandbox::TmpfsMount> tmpfs;
  std::vector<std::string> env;  // secrets exposed as env vars
  std::vector<UniqueFd> held;    // fds the bind sources and locks live on
};

void plan_mount(MountPlan& plan, StageState& st, BuildEnv& env, const dockerfile::Mount& m,
                const std::map<std::string, const StageState*>& stages) {
  if (m.type == "cache") {
    // The id names a directory in the state dir: hash it so no id can
    // reach outside that directory.
    std::string id = m.id.empty() ? m.target : m.id;
    std::string dir = env.state_dir + "/cache/" + sha256_of(id).hex.substr(0, 32);
    make_cache_dir(dir, m);
    // shared: used by concurrent builds at once. locked: one at a time, the
    // others wait. private: one at a time too, but the others do not wait:
    // each takes a free instance under DIR.private/ (made when none is free).
    if (m.sharing == "locked") {
      plan.held.push_back(std::move(*lock_dir(dir, true)));
    } else if (m.sharing == "private") {
      auto lock = lock_dir(dir, false);
      if (!lock) {
        std::string instances = dir + ".private";
        if (mkdir(instances.c_str(), 0700) != 0 && errno != EEXIST) throw sys_error("create " + instances);
        for (int n = 1; !lock; ++n) {
          std::string inst = instances + "/" + std::to_string(n);
          make_cache_dir(inst, m);
          lock = lock_dir(inst, false);
          if (lock) dir = inst;
        }
      }
      plan.held.push_back(std::move(*lock));
    }
    plan.binds.push_back({dir, m.target, false, false});  // caches are writable
    plan.binds.back().persistent = true;
  } else if (m.type == "tmpfs") {
    plan.tmpfs.push_back({m.target, m.size ? static_cast<uint64_t>(*m.size) : 0});
  } else if (m.type == "secret") {
    const SecretSpec* spec = nullptr;
    std::string id = m.id.empty() ? m.target.substr(m.target.rfind('/') + 1) : m.id;
    for (const auto& s : env.options.secrets) {
      if (s.id == id) spec = &s;
    }
    if (!spec) {
      if (m.required) throw Error("secret " + id + " is required but was not given with --secret id=" + id);
      return;
    }
    std::string value = read_secret(*spec);
    if (m.env) plan.env.push_back(*m.env + "=" + value);
    if (m.env && m.target.empty()) return;
    std::string file = env.work_dir + "/secret-" + sha256_of(id).hex.substr(0, 16);
    if (access(file.c_str(), F_OK) != 0) {
      write_private_file(file, value, static_cast<mode_t>(m.mode.value_or(0400)), m.uid.value_or(0), m.gid.value_or(0));
    }
    std::string target = m.target.empty() ? "/run/secrets/" + id : m.target;
    plan.binds.push_back({file, target, true, true});
  } else if (m.type == "bind") {
    std::string root;
    if (m.from.empty()) {
      root = context_view(env);  // .dockerignore'd files hidden, as BuildKit does
    } else {
      root = mount_source_view(env, m.from, stages);
    }
    UniqueFd root_fd(open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root_fd) throw sys_error("open bind source " + root);
    std::string rel = clean_context_path(m.source.empty() ? "." : m.source);
    UniqueFd src = rel == "." ? std::move(root_fd) : open_in_context(root_fd.get(), rel, O_PATH);
    struct stat s {};
    if (fstat(src.get(), &s) != 0) throw sys_error("stat bind source " + m.source);
    // The sandbox mounts in a new mount namespace, where this fd's mount is
    // foreign, so it gets the resolved path and checks it is still this inode.
    char buf[4096];
    std::string fdpath = "/proc/self/fd/" + std::to_string(src.get());
    ssize_t n = readlink(fdpath.c_str(), buf, sizeof buf - 1);
    if (n <= 0) throw sys_error("resolve bind source " + m.source);
    sandbox::BindMount b{std::string(buf, static_cast<size_t>(n)), m.target, m.readonly, !S_ISDIR(s.st_mode)};
    b.expect_dev = s.st_dev;
    b.expect_ino = s.st_ino;
    plan.binds.push_back(b);
  } else {
    throw Error("RUN --mount=type=" + m.type + " is not supported");
  }
  (void)st;
}

// The sandbox's mount points (/proc, /dev, /etc/resolv.conf, ...) that the
// stage lacks are made in a layer dir of their own, stacked on top of the
// lowers for this step only, so they never touch the upper dir and so never
// reach a layer. A symlink where a mount point must go (Ubuntu's
// /etc/resolv.conf) is masked by a plain file, so no mount ever follows a
// link. Existing directories on the way are copied with their metadata, so a
// step that writes next to a mount point copies up the image's directory.
std::string prepare_mountpoints(StageState& st, BuildEnv& env, const sandbox::RunSpec& spec) {
  std::vector<std::pair<std::string, bool>> targets = {{"/proc", true}, {"/dev", true}};
  for (const auto& b : spec.binds) targets.emplace_back(b.target, !b.is_file);
  for (const auto& t : spec.tmpfs) targets.emplace_back(t.target, true);
  auto fds = open_layer_dirs(st);
  std::vector<int> raw;
  for (const auto& f : fds) raw.push_back(f.get());
  std::string dir = env.work_dir + "/mp" + std::to_string(env.next_layer_id++);
  if (mkdir(dir.c_str(), 0755) != 0) throw sys_error("mkdir " + dir);
  for (const auto& [target, is_dir] : targets) {
    std::string rel = clean_context_path(target);
    if (rel == ".") continue;
    std::string cur;
    size_t i = 0;
    while (i < rel.size()) {
      size_t j = rel.find('/', i);
      if (j == std::string::npos) j = rel.size();
      cur += (cur.empty() ? "" : "/") + rel.substr(i, j - i);
      bool last = j == rel.size();
      auto hit = lookup_in_layers(raw, cur);
      std::string path = dir + "/" + cur;
      struct stat have {};
      bool made = lstat(path.c_str(), &have) == 0;
      if (last && !is_dir) {
        if ((!hit || !S_ISREG(hit->st.st_mode)) && !made) {
          UniqueFd f(open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644));
          if (!f) throw sys_error("create mount point " + target);
        }
      } else if (!made) {
        if (mkdir(path.c_str(), 0755) != 0) throw sys_error("create mount point " + target);
        if (hit && S_ISDIR(hit->st.st_mode)) copy_dir_metadata(path, *hit);
      }
      i = j + 1;
    }
  }
  return dir;
}

// Copy mode: mount points are made in the stage's own root before the
// snapshot and removed after the diff, so they never show as changes. A
// symlink or wrong type where one must go is not replaced (that would change
// the image): the DNS files are then skipped, any other mount is an error.
struct CreatedPaths {
  std::vector<std::string> paths;  // made by us, in creation order
  // Existing directories we created something in, with their times, so
  // removing our mount points leaves them exactly as they were.
  std::map<std::string, struct stat> parents;
};

CreatedPaths make_mountpoints_in_root(const std::string& root, sandbox::RunSpec& spec) {
  CreatedPaths created;
  auto ensure = [&](const std::string& target, bool is_dir) -> bool {
    std::string rel = clean_context_path(target);
    if (rel == ".") return true;
    std::string cur;
    size_t i = 0;
    while (i < rel.size()) {
      size_t j = rel.find('/', i);
      if (j == std::string::npos) j = rel.size();
      cur += "/" + rel.substr(i, j - i);
      bool last = j == rel.size();
      std::string path = root + cur;
      struct stat s {};
      if (lstat(path.c_str(), &s) != 0) {
        std::string parent = root + cur.substr(0, cur.rfind('/'));
        struct stat ps {};
        if (!created.parents.count(parent) && lstat(parent.c_str(), &ps) == 0) created.parents[parent] = ps;
        if (last && !is_dir) {
          UniqueFd f(open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644));
          if (!f) throw sys_error("create mount point " + target);
        } else if (mkdir(path.c_str(), 0755) != 0) {
          throw sys_error("create mount point " + target);
        }
        created.paths.push_back(cur);
      } else if ((last && !is_dir) ? !S_ISREG(s.st_mode) : !S_ISDIR(s.st_mode)) {
        return false;
      }
      i = j + 1;
    }
    return true;
  };
  ensure("/proc", true);
  ensure("/dev", true);
  std::vector<sandbox::BindMount> kept;
  for (const auto& b : spec.binds) {
    if (ensure(b.target, !b.is_file)) {
      kept.push_back(b);
    } else if (b.target != "/etc/resolv.conf" && b.target != "/etc/hosts") {
      throw Error("mount target " + b.target + " exists in the image but is not a " +
                  (b.is_file ? "file" : "directory"));
    }
  }
  spec.binds = kept;
  for (const auto& t : spec.tmpfs) {
    if (!ensure(t.target, true)) throw Error("mount target " + t.target + " is not a directory in the image");
  }
  return created;
}

void remove_created(const std::string& root, const std::vector<std::string>& paths) {
  for (auto it = paths.rbegin(); it != paths.rend(); ++it) {
    std::string p = root + *it;
    struct stat s {};
    if (lstat(p.c_str(), &s) != 0) continue;
    if (S_ISDIR(s.st_mode)) rmdir(p.c_str());
    else if (S_ISREG(s.st_mode) && s.st_size == 0) unlink(p.c_str());
  }
}

void remove_created(const std::string& root, const CreatedPaths& created) {
  remove_created(root, created.paths);
  for (const auto& [dir, st] : created.parents) {
    struct timespec ts[2] = {st.st_atim, st.st_mtim};
    utimensat(AT_FDCWD, dir.c_str(), ts, AT_SYMLINK_NOFOLLOW);
  }
}

// The sandbox's warnings (chown not tracked, ...) are the same for every
// step of a build: say each once.
void warn_once(BuildEnv& env, const sandbox::RunResult& result) {
  static std::set<std::string> said;
  for (const auto& w : result.warnings) {
    if (said.insert(w).second) env.progress.warn(w);
  }
}

// Copy mode: the step runs on the stage's own root; the walking differ
// compares it with its state before the step.
std::optional<LayerResult> run_in_copy(StageState& st, BuildEnv& env, sandbox::RunSpec& spec,
                                       const std::string& loc) {
  const std::string root = st.layer_dirs.at(0);
  auto ours = make_mountpoints_in_root(root, spec);
  UniqueFd root_fd(open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd) throw sys_error("open " + root);
  TreeState before = env.single_snapshot ? TreeState{} : snapshot_tree(root_fd.get());
  spec.rootfs = root;
  spec.use_overlay = false;
  auto result = sandbox::run(spec);
  warn_once(env, result);
  if (env.single_snapshot) {
    for (const auto& [path, owner] : result.side_owners) st.side_owners[path] = owner;
    remove_created(root, result.created_mountpoints);
    remove_created(root, ours);
    if (result.exit_code != 0) throw Error(loc + ": RUN returned a non-zero code: " + std::to_string(result.exit_code));
    return std::nullopt;  // the stage's one layer comes at its end
  }
  if (result.exit_code != 0) {
    remove_created(root, ours);
    throw Error(loc + ": RUN returned a non-zero code: " + std::to_string(result.exit_code));
  }
  remove_created(root, result.created_mountpoints);
  auto layer = write_walked_layer(env, before, root_fd.get(), result.side_owners);
  remove_created(root, ours);
  return layer;
}

}  // namespace

void run_step(StageState& st, BuildEnv& env, const dockerfile::Instruction& ins,
              const std::map<std::string, const StageState*>& stages) {
  std::string loc = where(st, ins);
  if (auto sec = ins.flag("security"); sec && *sec == "insecure") {
    throw Error(loc + ": RUN --security=insecure is not supported: Slipway never runs steps privileged");
  }
  sandbox::RunSpec spec;
  std::string heredoc_file;
  if (ins.json) {
    spec.argv = ins.args;
  } else {
    std::string script = ins.args.empty() ? "" : ins.args[0];
    if (!ins.heredocs.empty() && is_bare_heredoc(script, ins.heredocs[0])) {
      const auto& h = ins.heredocs[0];
      if (h.content.rfind("#!", 0) == 0) {
        // A script with its own interpreter runs as a file, as in BuildKit.
        heredoc_file = env.work_dir + "/heredoc-" + std::to_string(env.next_layer_id);
        write_private_file(heredoc_file, h.content, 0755, 0, 0);
        spec.binds.push_back({heredoc_file, "/dev/.slipway-heredoc", true, true});
        spec.argv = {"/dev/.slipway-heredoc"};
      } else {
        script = h.content;
      }
    } else {
      for (const auto& h : ins.heredocs) script += "\n" + h.content + h.name;
    }
    if (spec.argv.empty()) {
      spec.argv = st.shell;
      spec.argv.push_back(script);
    }
  }
  for (const auto& [k, v] : st.scope->run_environment()) spec.env.push_back(k + "=" + v);
  spec.cwd = st.config.config.working_dir.empty() ? "/" : st.config.config.working_dir;
  if (!st.config.config.user.empty()) {
    auto u = resolve_user(st.config.config.user, stage_reader(st));
    if (env.single_id && u.uid != 0) {
      env.progress.warn(loc + ": USER " + st.config.config.user +
                        " runs as root: only one id is mapped (set up /etc/subuid for real users)");
    } else {
      spec.uid = u.uid;
      spec.gid = u.gid;
      spec.groups = u.groups;
    }
    bool has_home = false;
    for (const auto& e : spec.env) has_home = has_home || e.rfind("HOME=", 0) == 0;
    if (!has_home) spec.env.push_back("HOME=" + u.home);
  }
  spec.network_none = ins.flag("network").value_or("") == "none";
  spec.fake_chown = env.single_id;
  for (size_t i = 0; i + 1 < env.dns_files.size(); i += 2) {
    spec.binds.push_back({env.dns_files[i], env.dns_files[i + 1], true, true});
  }

  MountPlan plan;
  auto mounts = ins.flags.find("mount");
  if (mounts != ins.flags.end()) {
    for (const auto& raw : mounts->second) {
      try {
        auto m = dockerfile::parse_mount(st.scope->expand_word(raw));
        plan_mount(plan, st, env, m, stages);
      } catch (const Error& e) {
        throw e.with_context(loc + ": RUN --mount");
      }
    }
  }
  spec.binds.insert(spec.binds.end(), plan.binds.begin(), plan.binds.end());
  spec.tmpfs = plan.tmpfs;
  spec.env.insert(spec.env.end(), plan.env.begin(), plan.env.end());

  std::string created_by = "RUN";
  for (const auto& a : st.scope->run_history_args()) created_by += " " + a;
  for (const auto& a : spec.argv) created_by += " " + a;
  created_by += " # buildkit";
  if (env.options.isolation == Isolation::kChroot) {
    record_step(st, env, created_by, run_in_chroot(st, env, spec, loc));
    return;
  }
  if (env.copy_mode) {
    record_step(st, env, created_by, run_in_copy(st, env, spec, loc));
    return;
  }

  std::string upper = env.new_layer_dir();
  TempDir scratch(env.work_dir, "run-");
  std::string work = scratch.path() + "/work", merged = scratch.path() + "/merged";
  if (mkdir(work.c_str(), 0700) != 0 || mkdir(merged.c_str(), 0755) != 0) throw sys_error("mkdir " + work);
  spec.rootfs = merged;
  spec.use_overlay = true;
  spec.overlay.upper = upper;
  spec.overlay.work = work;
  spec.overlay.userxattr = env.userns;
  std::string mountpoints = prepare_mountpoints(st, env, spec);
  spec.overlay.lowers.push_back(mountpoints);
  for (auto it = st.layer_dirs.rbegin(); it != st.layer_dirs.rend(); ++it) spec.overlay.lowers.push_back(*it);

  auto result = sandbox::run(spec);
  warn_once(env, result);
  if (result.exit_code != 0) {
    throw Error(loc + ": RUN returned a non-zero code: " + std::to_string(result.exit_code));
  }
  // Mount points the sandbox had to create are not part of the image.
  for (auto it = result.created_mountpoints.rbegin(); it != result.created_mountpoints.rend(); ++it) {
    std::string p = upper + *it;
    struct stat s {};
    if (lstat(p.c_str(), &s) != 0) continue;
    if (S_ISDIR(s.st_mode)) rmdir(p.c_str());
    else if (S_ISREG(s.st_mode) && s.st_size == 0) unlink(p.c_str());
  }
  record_step(st, env, created_by, commit_layer_dir(st, env, upper, mountpoints, result.side_owners));
  remove_tree(mountpoints);
}

}  // namespace slipway::build

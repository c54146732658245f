#include "builder/stage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "builder/side_owners.h"
#include "common/error.h"
#include "layers/diff.h"
#include "layers/unpack.h"

namespace slipway::build {

std::string BuildEnv::new_layer_dir() {
  std::string dir = work_dir + "/l" + std::to_string(next_layer_id++);
  if (mkdir(dir.c_str(), 0755) != 0) throw sys_error("mkdir " + dir);
  return dir;
}

std::vector<UniqueFd> open_layer_dirs(const StageState& st) {
  std::vector<UniqueFd> fds;
  for (auto it = st.layer_dirs.rbegin(); it != st.layer_dirs.rend(); ++it) {
    UniqueFd fd(open(it->c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) throw sys_error("open layer dir " + *it);
    fds.push_back(std::move(fd));
  }
  return fds;
}

std::optional<std::string> read_stage_file(const StageState& st, const std::string& rel) {
  auto fds = open_layer_dirs(st);
  std::vector<int> raw;
  for (const auto& f : fds) raw.push_back(f.get());
  auto hit = lookup_in_layers(raw, rel);
  if (!hit || !S_ISREG(hit->st.st_mode)) return std::nullopt;
  UniqueFd fd(openat(hit->parent.get(), hit->name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return std::nullopt;
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0) throw sys_error("read /" + rel);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (16u << 20)) throw Error("/" + rel + " in the image is larger than 16 MiB");
  }
  return out;
}

RootFileReader stage_reader(const StageState& st) {
  return [&st](const std::string& rel) { return read_stage_file(st, rel); };
}

std::string where(const StageState& st, const dockerfile::Instruction& ins) {
  return st.df->path + ":" + std::to_string(ins.line) + ":" + std::to_string(ins.col);
}

void record_step(StageState& st, BuildEnv& env, const std::string& created_by,
                 const std::optional<LayerResult>& layer) {
  History h;
  h.created = env.created;
  h.created_by = created_by;
  h.comment = "buildkit.dockerfile.v0";
  h.empty_layer = !layer.has_value();
  st.config.history.push_back(h);
  if (layer) {
    st.layers.push_back({layer->descriptor, layer->diff_id, "", ""});
    st.config.diff_ids.push_back(layer->diff_id);
  }
}

std::optional<LayerResult> write_walked_layer(BuildEnv& env, const TreeState& before, int root_fd,
                                              const sandbox::OwnerMap& side_owners) {
  auto entries = walk_diff(before, root_fd);
  apply_side_owners(entries, side_owners, root_fd);
  if (entries.empty()) return std::nullopt;
  TarOptions tar;
  tar.source_date_epoch = env.source_date_epoch;
  tar.source_dir_fd = root_fd;
  return write_layer(env.store, std::move(entries), tar, env.layer_options);
}

void copy_dir_metadata(const std::string& path, const LayerHit& from) {
  chmod(path.c_str(), from.st.st_mode & 07777);
  (void)!lchown(path.c_str(), from.st.st_uid, from.st.st_gid);
  if (auto owner = layers::read_rootless_owner(from.parent.get(), from.name)) {
    std::string v = layers::encode_rootless_owner(owner->first, owner->second);
    lsetxattr(path.c_str(), layers::kRootlessXattr, v.data(), v.size(), 0);
  }
  struct timespec ts[2] = {from.st.st_atim, from.st.st_mtim};
  utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW);
}

std::string absolute_path(const std::string& workdir, const std::string& path) {
  std::string abs = path.empty() || path[0] != '/' ? (workdir.empty() ? "/" : workdir) + "/" + path : path;
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= abs.size()) {
    size_t j = abs.find('/', i);
    if (j == std::string::npos) j = abs.size();
    std::string c = abs.substr(i, j - i);
    if (c == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!c.empty() && c != ".") {
      parts.push_back(c);
    }
    i = j + 1;
  }
  std::string out;
  for (const auto& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

void apply_to_root(StageState& st, BuildEnv& env, const LayerResult& layer) {
  if (st.layer_dirs.size() != 1) throw Error("internal error: copy mode needs exactly one root dir");
  layers::apply_layer(st.layer_dirs[0], env.store.blob_path(layer.descriptor.digest));
}

std::optional<LayerResult> commit_layer_dir(StageState& st, BuildEnv& env, const std::string& dir,
                                            const std::string& extra_lower, const sandbox::OwnerMap& side_owners) {
  UniqueFd upper(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!upper) throw sys_error("open " + dir);
  auto lowers = open_layer_dirs(st);
  if (!extra_lower.empty()) {
    UniqueFd extra(open(extra_lower.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!extra) throw sys_error("open " + extra_lower);
    lowers.insert(lowers.begin(), std::move(extra));
  }
  std::vector<int> raw;
  for (const auto& f : lowers) raw.push_back(f.get());
  auto entries = overlay_diff(upper.get(), raw);
  apply_side_owners(entries, side_owners, upper.get());
  if (entries.empty()) {
    remove_tree(dir);
    return std::nullopt;
  }
  TarOptions tar;
  tar.source_date_epoch = env.source_date_epoch;
  tar.source_dir_fd = upper.get();
  auto result = write_layer(env.store, std::move(entries), tar, env.layer_options);
  if (env.copy_mode) {
    apply_to_root(st, env, result);
    remove_tree(dir);
    if (env.single_snapshot) return std::nullopt;  // the stage's one layer comes at its end
  } else {
    st.layer_dirs.push_back(dir);
  }
  return result;
}

}  // namespace slipway::build

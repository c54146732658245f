#include "builder/chroot_step.h"

#include <fcntl.h>

#include "builder/chroot_root.h"
#include "common/error.h"
#include "layers/diff.h"

namespace slipway::build {

std::optional<LayerResult> run_in_chroot(StageState& st, BuildEnv& env, sandbox::RunSpec& spec,
                                         const std::string& loc) {
  const std::string root = st.layer_dirs.at(0);
  spec.may_mount = env.private_mounts;
  sandbox::ChrootRoot dressed(root, spec, env.work_dir);
  for (const auto& w : dressed.take_warnings()) env.progress.warn(w);
  DiffOptions diff;
  diff.exclude = dressed.exclude();
  UniqueFd root_fd(open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd) throw sys_error("open " + root);
  TreeState before = env.single_snapshot ? TreeState{} : snapshot_tree(root_fd.get(), diff);
  spec.rootfs = root;
  spec.use_overlay = false;
  spec.chroot = true;
  auto result = sandbox::run(spec);
  if (result.exit_code != 0) {
    dressed.restore();
    throw Error(loc + ": RUN returned a non-zero code: " + std::to_string(result.exit_code));
  }
  std::optional<LayerResult> layer;
  if (!env.single_snapshot) {
    // Before restore(): our parent dirs, made before the snapshot, must
    // still be there or the differ would call them deleted.
    auto entries = walk_diff(before, root_fd.get(), -1, diff);
    if (!entries.empty()) {
      TarOptions tar;
      tar.source_date_epoch = env.source_date_epoch;
      tar.source_dir_fd = root_fd.get();
      layer = write_layer(env.store, std::move(entries), tar, env.layer_options);
    }
  }
  dressed.restore();
  return layer;
}

}  // namespace slipway::build

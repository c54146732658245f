#include "builder/views.h"

#include <sys/mount.h>
#include <sys/stat.h>

#include <cctype>

#include "common/error.h"

namespace slipway::build {

const StageState* find_stage(const std::string& from, const std::map<std::string, const StageState*>& stages) {
  std::string key = from;
  for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto it = stages.find(key);
  return it == stages.end() ? nullptr : it->second;
}

std::string mount_stage_view(BuildEnv& env, const StageState& stage) {
  std::string key = "stage-" + std::to_string(stage.index) + "-" + std::to_string(stage.layer_dirs.size());
  auto it = env.views.find(key);
  if (it != env.views.end()) return it->second;
  std::string view;
  if (stage.layer_dirs.empty()) {
    view = env.new_layer_dir();  // FROM scratch with nothing in it
  } else if (stage.layer_dirs.size() == 1) {
    view = stage.layer_dirs[0];
  } else {
    view = env.work_dir + "/" + key;
    if (mkdir(view.c_str(), 0755) != 0 && errno != EEXIST) throw sys_error("mkdir " + view);
    std::string opts = "lowerdir=";
    for (auto d = stage.layer_dirs.rbegin(); d != stage.layer_dirs.rend(); ++d) {
      if (d != stage.layer_dirs.rbegin()) opts += ":";
      opts += *d;
    }
    if (env.userns) opts += ",userxattr";
    if (mount("overlay", view.c_str(), "overlay", MS_RDONLY, opts.c_str()) != 0) {
      throw sys_error("mounting a view of stage " + std::to_string(stage.index));
    }
  }
  env.views[key] = view;
  return view;
}

std::string mount_source_view(BuildEnv& env, const std::string& from,
                              const std::map<std::string, const StageState*>& stages) {
  if (const StageState* s = find_stage(from, stages)) return mount_stage_view(env, *s);
  if (!env.image_rootfs) throw Error("unknown stage or image \"" + from + "\"");
  return env.image_rootfs(from);
}

}  // namespace slipway::build

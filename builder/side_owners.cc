#include "builder/side_owners.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <map>

namespace slipway::build {

void apply_side_owners(std::vector<TarEntry>& entries, const sandbox::OwnerMap& owners, int source_fd) {
  if (owners.empty()) return;
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].kind != TarKind::kWhiteout && entries[i].kind != TarKind::kOpaque) index[entries[i].path] = i;
  }
  auto add = [&](const std::string& rel) -> TarEntry* {
    auto it = index.find(rel);
    if (it != index.end()) return &entries[it->second];
    struct stat st {};
    if (fstatat(source_fd, rel.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return nullptr;
    entries.push_back(entry_from_file(source_fd, rel, rel));
    index[rel] = entries.size() - 1;
    return &entries.back();
  };
  for (const auto& [path, owner] : owners) {
    size_t start = path.find_first_not_of('/');
    if (start == std::string::npos) continue;  // the root is not an entry
    std::string rel = path.substr(start);
    struct stat st {};
    if (fstatat(source_fd, rel.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    for (auto slash = rel.find('/'); slash != std::string::npos; slash = rel.find('/', slash + 1)) {
      if (!add(rel.substr(0, slash))) break;
    }
    if (TarEntry* e = add(rel)) {
      e->uid = owner.first;
      e->gid = owner.second;
    }
  }
}

}  // namespace slipway::build

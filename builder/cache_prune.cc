#include "builder/cache_prune.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <vector>

#include "builder/cache_store.h"
#include "common/error.h"

namespace slipway::build {

namespace {

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (!d) {
    if (errno == ENOENT) return out;
    throw sys_error("opendir " + dir);
  }
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") out.push_back(name);
  }
  closedir(d);
  return out;
}

bool is_hex64(const std::string& s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

PruneResult prune_cache_dir(const std::string& dir, int64_t older_than, int64_t now, int64_t grace) {
  struct stat st {};
  if (stat((dir + "/entries").c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw Error(dir + " is not a cache dir (no entries/ in it)");
  }
  auto young = [&](const struct stat& s) { return now - s.st_mtim.tv_sec < grace; };
  PruneResult r;
  std::set<std::string> kept_blobs;
  const std::string entries = dir + "/entries";
  for (const auto& name : list_dir(entries)) {
    std::string path = entries + "/" + name;
    if (lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    bool is_entry = name.size() == 69 && name.ends_with(".json") && is_hex64(name.substr(0, 64));
    bool remove = false;
    if (!is_entry) {
      remove = name.starts_with(".tmp-") && !young(st);  // a writer that died
    } else {
      std::ifstream in(path);
      try {
        CacheEntry e = parse_cache_entry(std::string(std::istreambuf_iterator<char>(in), {}));
        remove = e.key != name.substr(0, 64) || (older_than > 0 && e.created < now - older_than);
        if (!remove && e.layer) kept_blobs.insert(e.layer->digest.hex);
      } catch (const Error&) {
        remove = !young(st);  // malformed: never a hit
      }
    }
    if (!is_entry && !remove) continue;
    if (remove) {
      if (unlink(path.c_str()) != 0 && errno != ENOENT) throw sys_error("remove " + path);
      ++r.entries_removed;
    } else {
      ++r.entries_kept;
    }
  }
  const std::string blobs = dir + "/blobs/sha256";
  for (const auto& name : list_dir(blobs)) {
    std::string path = blobs + "/" + name;
    if (kept_blobs.count(name) || lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || young(st)) continue;
    if (unlink(path.c_str()) != 0) {
      if (errno == ENOENT) continue;
      throw sys_error("remove " + path);
    }
    ++r.blobs_removed;
    r.bytes_freed += static_cast<uint64_t>(st.st_size);
  }
  return r;
}

}  // namespace slipway::build

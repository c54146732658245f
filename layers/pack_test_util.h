#pragma once
// Helpers shared by the layers/ tests: a self-deleting temp dir and running
// a shell command to compare against real tools.
#include <archive.h>
#include <archive_entry.h>

#include <cstdlib>
#include <map>
#include <vector>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/error.h"

namespace slipway::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "slipway-layers-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw sys_error("mkdtemp");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    // umoci and chmod tests may leave read-only dirs behind.
    std::string cmd = "chmod -R u+rwx '" + path_ + "' 2>/dev/null";
    (void)std::system(cmd.c_str());
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

inline void write_file(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary);
  f << data;
  if (!f) throw Error("cannot write " + path);
}

inline std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Runs a shell command and returns its stdout; throws on a non-zero exit.
inline std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) throw Error("popen failed: " + cmd);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = ::pclose(p);
  if (rc != 0) throw Error("command failed (" + std::to_string(rc) + "): " + cmd + "\n" + out);
  return out;
}

struct ReadEntry {
  std::string path;
  unsigned type = 0;  // AE_IF*
  unsigned mode = 0;
  int64_t uid = 0, gid = 0, mtime = 0;
  std::string symlink, hardlink, data;
  std::map<std::string, std::string> xattrs;
  bool has_atime = false, has_ctime = false;
};

// Reads a tar (optionally compressed) with libarchive, as a consumer would.
inline std::vector<ReadEntry> read_tar(const std::string& bytes) {
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);  // every tar dialect; nothing else is read
  archive_read_support_filter_all(a);
  if (archive_read_open_memory(a, bytes.data(), bytes.size()) != ARCHIVE_OK) {
    std::string msg = archive_error_string(a);
    archive_read_free(a);
    throw Error("read_tar: " + msg);
  }
  std::vector<ReadEntry> out;
  archive_entry* ae;
  int rc;
  // ARCHIVE_WARN: a UTF-8 name the C locale cannot show; the _utf8 getters still work.
  while ((rc = archive_read_next_header(a, &ae)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
    ReadEntry e;
    // The UTF-8 form, since the C locale cannot convert non-ASCII names.
    const char* utf8 = archive_entry_pathname_utf8(ae);
    e.path = utf8 ? utf8 : archive_entry_pathname(ae);
    e.type = archive_entry_filetype(ae);
    e.mode = archive_entry_perm(ae);
    e.uid = archive_entry_uid(ae);
    e.gid = archive_entry_gid(ae);
    e.mtime = archive_entry_mtime(ae);
    e.has_atime = archive_entry_atime_is_set(ae);
    e.has_ctime = archive_entry_ctime_is_set(ae);
    if (auto s = archive_entry_symlink_utf8(ae)) e.symlink = s;
    if (auto h = archive_entry_hardlink_utf8(ae)) e.hardlink = h;
    const char* name;
    const void* value;
    size_t size;
    archive_entry_xattr_reset(ae);
    while (archive_entry_xattr_next(ae, &name, &value, &size) == ARCHIVE_OK) {
      e.xattrs[name] = std::string(static_cast<const char*>(value), size);
    }
    char buf[65536];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0) e.data.append(buf, size_t(n));
    out.push_back(e);
  }
  std::string err = rc == ARCHIVE_EOF ? "" : archive_error_string(a);
  archive_read_free(a);
  if (!err.empty()) throw Error("read_tar: " + err);
  return out;
}

}  // namespace slipway::testing

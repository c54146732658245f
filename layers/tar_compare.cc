#include "layers/tar_compare.h"

#include <archive.h>
#include <archive_entry.h>

#include <map>
#include <memory>

#include "common/digest.h"
#include "common/error.h"

namespace slipway {

namespace {

// What a layer says about one path. Content is kept as a digest so two
// 1 GB layers compare in constant memory.
struct EntryFacts {
  std::string type;
  unsigned mode = 0;
  int64_t uid = 0, gid = 0;
  int64_t mtime = 0;
  int64_t size = 0;
  std::string link;
  std::string content;
  std::map<std::string, std::string> xattrs;
};

using Archive = std::unique_ptr<archive, decltype(&archive_read_free)>;

std::map<std::string, EntryFacts> read_facts(const std::string& path) {
  Archive a(archive_read_new(), archive_read_free);
  archive_read_support_format_tar(a.get());
  archive_read_support_format_empty(a.get());
  archive_read_support_filter_gzip(a.get());
  archive_read_support_filter_zstd(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), 256 * 1024) != ARCHIVE_OK) {
    throw Error("reading layer " + path + ": " + archive_error_string(a.get()));
  }
  std::map<std::string, EntryFacts> out;
  archive_entry* e = nullptr;
  int r;
  while ((r = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK) {
    EntryFacts f;
    const char* name = archive_entry_pathname(e);
    std::string p = name ? name : "";
    if (archive_entry_hardlink(e)) {
      f.type = "hardlink";
      f.link = archive_entry_hardlink(e);
    } else {
      switch (archive_entry_filetype(e)) {
        case AE_IFDIR: f.type = "directory"; break;
        case AE_IFLNK: f.type = "symlink"; f.link = archive_entry_symlink(e) ? archive_entry_symlink(e) : ""; break;
        case AE_IFREG: f.type = "file"; break;
        default: f.type = "special"; break;
      }
    }
    f.mode = archive_entry_perm(e);
    f.uid = archive_entry_uid(e);
    f.gid = archive_entry_gid(e);
    f.mtime = archive_entry_mtime(e);
    f.size = archive_entry_size(e);
    archive_entry_xattr_reset(e);
    const char* xn;
    const void* xv;
    size_t xs;
    while (archive_entry_xattr_next(e, &xn, &xv, &xs) == ARCHIVE_OK) {
      f.xattrs[xn] = std::string(static_cast<const char*>(xv), xs);
    }
    if (f.type == "file") {
      Sha256 sha;
      char buf[64 * 1024];
      la_ssize_t n;
      while ((n = archive_read_data(a.get(), buf, sizeof buf)) > 0) sha.update(buf, static_cast<size_t>(n));
      if (n < 0) throw Error("reading layer " + path + ": " + archive_error_string(a.get()));
      f.content = sha.finish().str();
    }
    out["/" + p] = std::move(f);
  }
  if (r != ARCHIVE_EOF) throw Error("reading layer " + path + ": " + archive_error_string(a.get()));
  return out;
}

std::string mode_text(unsigned m) {
  char b[8];
  snprintf(b, sizeof b, "%04o", m);
  return b;
}

}  // namespace

std::vector<std::string> compare_layers(const std::string& path_a, const std::string& path_b, size_t limit) {
  auto a = read_facts(path_a), b = read_facts(path_b);
  std::vector<std::string> out;
  auto add = [&](const std::string& line) {
    if (out.size() < limit) out.push_back(line);
  };
  for (const auto& [p, fa] : a) {
    auto it = b.find(p);
    if (it == b.end()) {
      add(p + ": only in the first build");
      continue;
    }
    const EntryFacts& fb = it->second;
    std::string what;
    auto field = [&](const char* name, const std::string& x, const std::string& y) {
      if (x != y) what += std::string(what.empty() ? "" : ", ") + name + " " + x + " vs " + y;
    };
    field("type", fa.type, fb.type);
    field("mode", mode_text(fa.mode), mode_text(fb.mode));
    field("owner", std::to_string(fa.uid) + ":" + std::to_string(fa.gid),
          std::to_string(fb.uid) + ":" + std::to_string(fb.gid));
    field("mtime", std::to_string(fa.mtime), std::to_string(fb.mtime));
    field("link target", fa.link, fb.link);
    if (fa.content != fb.content) what += std::string(what.empty() ? "" : ", ") + "content differs";
    if (fa.xattrs != fb.xattrs) what += std::string(what.empty() ? "" : ", ") + "xattrs differ";
    if (!what.empty()) add(p + ": " + what);
  }
  for (const auto& [p, fb] : b) {
    if (!a.count(p)) add(p + ": only in the second build");
  }
  return out;
}

}  // namespace slipway

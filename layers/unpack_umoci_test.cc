// Interop with umoci, the reference for user.rootlesscontainers: umoci's
// rootless unpack of a layer and ours (recording owners) must store
// byte-identical xattrs, and we must read back what umoci wrote.
#include <sys/stat.h>
#include <sys/xattr.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <map>

#include "common/digest.h"
#include "layers/unpack.h"
#include "layers/unpack_test_util.h"

namespace slipway::layers {
namespace {

using namespace unpack_testing;

std::string xattr_of(const std::string& p) {
  char buf[256];
  ssize_t n = ::lgetxattr(p.c_str(), kRootlessXattr, buf, sizeof buf);
  return n < 0 ? std::string("<none>") : std::string(buf, static_cast<size_t>(n));
}

// Stores `data` as a blob of an OCI layout; returns a descriptor JSON.
std::string put_blob(const std::string& layout, const std::string& media_type, const std::string& data) {
  Digest d = sha256_of(data);
  write_file(layout + "/blobs/sha256/" + d.hex, data);
  return R"({"mediaType":")" + media_type + R"(","digest":")" + d.str() + R"(","size":)" + std::to_string(data.size()) +
         "}";
}

// An OCI layout of one image (tag "t") with these layers, unpacked by
// umoci into dir/bundle; returns umoci's complaints ("" on success).
std::string umoci_unpack(const std::string& dir, const std::vector<std::string>& layers, const std::string& flags) {
  std::string layout = dir + "/layout";
  if (std::system(("mkdir -p '" + layout + "/blobs/sha256'").c_str()) != 0) return "mkdir failed";
  write_file(layout + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  std::string diff_ids, descs;
  for (const std::string& l : layers) {
    diff_ids += (diff_ids.empty() ? "\"" : ",\"") + sha256_of(l).str() + "\"";
    descs += (descs.empty() ? "" : ",") + put_blob(layout, "application/vnd.oci.image.layer.v1.tar", l);
  }
  std::string config =
      R"({"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[)" + diff_ids + "]}}";
  std::string manifest = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":)" +
                         put_blob(layout, "application/vnd.oci.image.config.v1+json", config) + R"(,"layers":[)" +
                         descs + "]}";
  std::string desc = put_blob(layout, "application/vnd.oci.image.manifest.v1+json", manifest);
  desc.pop_back();
  write_file(layout + "/index.json", R"({"schemaVersion":2,"manifests":[)" + desc +
                                         R"(,"annotations":{"org.opencontainers.image.ref.name":"t"}}]})");
  std::string cmd = "umoci --log error unpack " + flags + " --image '" + layout + ":t' '" + dir + "/bundle' >'" + dir +
                    "/umoci.log' 2>&1";
  if (std::system(cmd.c_str()) != 0) return "umoci failed: " + read_file(dir + "/umoci.log");
  return "";
}

bool have_umoci() { return std::system("umoci --version >/dev/null 2>&1") == 0; }

TEST_CASE("rootless owner records are byte-identical to umoci's", "[unpack][interop]") {
  if (!have_umoci()) {
    WARN("umoci not installed: skipped");
    return;
  }
  TempDir tmp;
  std::vector<TarEntry> entries;
  for (auto [name, uid, gid] : std::vector<std::tuple<std::string, int, int>>{
           {"a", 1234, 0}, {"b", 0, 42}, {"c", 5, 6}, {"r", 0, 0}, {"big", 100000, 65534}}) {
    TarEntry f = file(name);
    f.uid = uid;
    f.gid = gid;
    entries.push_back(f);
  }
  TarEntry d = dir("d");
  d.uid = 7;
  d.gid = 8;
  entries.push_back(d);
  std::string layer = make_tar(entries);

  std::string out = umoci_unpack(tmp.path(), {layer}, "--rootless");
  INFO(out);
  REQUIRE(out.empty());

  std::string ours = tmp / "ours";
  REQUIRE(::mkdir(ours.c_str(), 0755) == 0);
  ApplyOptions o;
  o.ownership = Ownership::kRecord;
  UniqueFd ours_fd = open_dir(ours);
  apply_bytes(ours_fd.get(), layer, o);

  std::string theirs = tmp / "bundle/rootfs";
  UniqueFd theirs_fd = open_dir(theirs);
  for (const char* name : {"a", "b", "c", "r", "big", "d"}) {
    INFO(name);
    CHECK(xattr_of(ours + "/" + name) == xattr_of(theirs + "/" + name));
    CHECK(read_rootless_owner(ours_fd.get(), name) == read_rootless_owner(theirs_fd.get(), name));
  }
  CHECK(read_rootless_owner(theirs_fd.get(), "a") == std::make_pair(1234u, 0u));
  CHECK(read_rootless_owner(theirs_fd.get(), "big") == std::make_pair(100000u, 65534u));
  CHECK_FALSE(read_rootless_owner(theirs_fd.get(), "r"));
}

// The tree as umoci's and our unpack should both leave it: everything but
// inode numbers and directory mtimes (umoci leaves those at unpack time).
std::map<std::string, std::string> comparable(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (auto& [path, v] : snapshot(dir)) {
    std::string line = v;
    // "mode uid gid size nlink mtime ino | content"
    std::vector<std::string> f;
    size_t bar = line.find(" | ");
    std::string head = line.substr(0, bar);
    for (size_t pos = 0; pos <= head.size();) {
      size_t sp = head.find(' ', pos);
      if (sp == std::string::npos) sp = head.size();
      f.push_back(head.substr(pos, sp - pos));
      pos = sp + 1;
    }
    bool is_dir = S_ISDIR(static_cast<mode_t>(std::stoul(f[0])));
    std::string keep = f[0] + " " + f[1] + " " + f[2] + " " + (is_dir ? "-" : f[3] + " " + f[4] + " " + f[5]);
    out[path] = keep + line.substr(bar);
  }
  return out;
}

TEST_CASE("two layers with whiteouts unpack exactly as umoci unpacks them", "[unpack][interop]") {
  if (!have_umoci()) {
    WARN("umoci not installed: skipped");
    return;
  }
  TempDir tmp;
  TarEntry owned = file("etc/owned", "o", 0640);
  owned.uid = 1000;
  owned.gid = 1001;
  TarEntry su = file("bin/su", "su", 04755);
  TarEntry sticky = dir("tmp", 01777);
  TarEntry x = file("etc/x", "x");
  x.xattrs = {{"user.note", "n"}};
  std::string lower = make_tar({dir("etc", 0755), owned, x, file("etc/passwd", "root"), dir("bin", 0750), su,
                                hardlink("bin/su2", "bin/su"), symlink("bin/sh", "/bin/su"),
                                symlink("rel", "etc/../bin"), sticky, file("tmp/junk", "j"), dir("opq", 0755),
                                file("opq/old", "old"), dir("opq/sub"), file("opq/sub/deep", "d"), dir("gone"),
                                file("gone/f", "f"), node("fifo", S_IFIFO), file("replaced", "file")});
  std::string upper =
      make_tar({file("etc/.wh.passwd", ""), file(".wh.gone", ""), dir("opq", 0700), file("opq/.wh..wh..opq", ""),
                file("opq/new", "new"), file("bin/su", "v2", 04711), dir("replaced", 0711), file("replaced/in", "in"),
                symlink("tmp/junk", "../etc"), hardlink("etc/hl", "bin/su2")});
  std::string out = umoci_unpack(tmp.path(), {lower, upper}, "");
  INFO(out);
  REQUIRE(out.empty());
  std::string ours = tmp / "ours";
  REQUIRE(::mkdir(ours.c_str(), 0755) == 0);
  UniqueFd fd = open_dir(ours);
  apply_bytes(fd.get(), lower);
  apply_bytes(fd.get(), upper);
  auto theirs_tree = comparable(tmp / "bundle/rootfs");
  auto ours_tree = comparable(ours);
  theirs_tree.erase(".");
  ours_tree.erase(".");
  // umoci really applied both layers: the comparison below is not vacuous.
  CHECK(theirs_tree.size() >= 15);
  CHECK(theirs_tree.count("./opq/new") == 1);
  CHECK(theirs_tree.count("./opq/old") == 0);
  CHECK(theirs_tree.count("./etc/passwd") == 0);
  CHECK(theirs_tree["./etc/owned"].find(" 1000 1001 ") != std::string::npos);
  for (const auto& [path, v] : theirs_tree) {
    INFO(path);
    CHECK(ours_tree[path] == v);
  }
  for (const auto& [path, v] : ours_tree) {
    INFO(path);
    CHECK(theirs_tree.count(path) == 1);
  }
  CHECK(::lgetxattr((ours + "/etc/x").c_str(), "user.note", nullptr, 0) == 1);
}

}  // namespace
}  // namespace slipway::layers

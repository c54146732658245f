// Interop with umoci, the reference for user.rootlesscontainers: umoci's
// rootless unpack of a layer and ours (recording owners) must store
// byte-identical xattrs, and we must read back what umoci wrote.
#include <sys/xattr.h>

#include <catch2/catch.hpp>
#include <cstdlib>

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

TEST_CASE("rootless owner records are byte-identical to umoci's", "[unpack][interop]") {
  if (std::system("umoci --version >/dev/null 2>&1") != 0) {
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

  std::string layout = tmp / "layout";
  REQUIRE(std::system(("mkdir -p '" + layout + "/blobs/sha256'").c_str()) == 0);
  write_file(layout + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  std::string config = R"({"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[")" +
                       sha256_of(layer).str() + R"("]}})";
  std::string manifest = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":)" +
                         put_blob(layout, "application/vnd.oci.image.config.v1+json", config) + R"(,"layers":[)" +
                         put_blob(layout, "application/vnd.oci.image.layer.v1.tar", layer) + "]}";
  std::string desc = put_blob(layout, "application/vnd.oci.image.manifest.v1+json", manifest);
  desc.pop_back();
  write_file(layout + "/index.json", R"({"schemaVersion":2,"manifests":[)" + desc +
                                         R"(,"annotations":{"org.opencontainers.image.ref.name":"t"}}]})");
  std::string cmd = "umoci --log error unpack --rootless --image '" + layout + ":t' '" + tmp / "bundle" + "' >'" +
                    tmp / "umoci.log" + "' 2>&1";
  int rc = std::system(cmd.c_str());
  INFO(read_file(tmp / "umoci.log"));
  REQUIRE(rc == 0);

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

}  // namespace
}  // namespace slipway::layers

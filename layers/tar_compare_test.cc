#include "layers/tar_compare.h"

#include <catch2/catch.hpp>

#include "layers/pack_test_util.h"
#include "layers/tar_writer.h"

using namespace slipway;

namespace {

TarEntry file(const std::string& path, const std::string& data, int64_t mtime = 0) {
  TarEntry e;
  e.path = path;
  e.data = data;
  e.mtime = mtime;
  return e;
}

std::string write(const testing::TempDir& dir, const std::string& name, const std::vector<TarEntry>& entries) {
  StringSink sink;
  write_tar(entries, sink);
  testing::write_file(dir / name, sink.out);
  return dir / name;
}

}  // namespace

TEST_CASE("identical layers compare equal", "[tar_compare]") {
  testing::TempDir dir;
  auto a = write(dir, "a.tar", {file("etc/x", "1"), file("etc/y", "2")});
  auto b = write(dir, "b.tar", {file("etc/x", "1"), file("etc/y", "2")});
  CHECK(compare_layers(a, b).empty());
}

TEST_CASE("each kind of difference is named with its path", "[tar_compare]") {
  testing::TempDir dir;
  TarEntry link;
  link.path = "l";
  link.kind = TarKind::kSymlink;
  link.link_target = "x";
  TarEntry owned = file("o", "same");
  owned.uid = 1000;
  auto a = write(dir, "a.tar", {file("m", "a", 5), file("c", "one"), file("gone", ""), link, file("o", "same")});
  link.link_target = "y";
  auto b = write(dir, "b.tar", {file("m", "a", 6), file("c", "two"), file("new", ""), link, owned});
  auto d = compare_layers(a, b);
  auto has = [&](const std::string& s) {
    for (const auto& line : d) {
      if (line == s) return true;
    }
    return false;
  };
  CHECK(has("/m: mtime 5 vs 6"));
  CHECK(has("/c: content differs"));
  CHECK(has("/gone: only in the first build"));
  CHECK(has("/new: only in the second build"));
  CHECK(has("/l: link target x vs y"));
  CHECK(has("/o: owner 0:0 vs 1000:0"));
  CHECK(d.size() == 6);
  CHECK(compare_layers(a, b, 2).size() == 2);
}

TEST_CASE("compressed layers are read by magic", "[tar_compare]") {
  testing::TempDir dir;
  auto a = write(dir, "a.tar", {file("f", "hello")});
  testing::run("gzip -c '" + a + "' > '" + (dir / "a.tar.gz") + "'");
  auto b = write(dir, "b.tar", {file("f", "hello!")});
  auto d = compare_layers(dir / "a.tar.gz", b);
  REQUIRE(d.size() == 1);
  CHECK(d[0] == "/f: content differs");
}

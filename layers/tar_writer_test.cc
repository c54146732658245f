#include "layers/tar_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/error.h"
#include "common/fd.h"
#include "layers/pack_test_util.h"
#include "layers/unpack.h"

using namespace slipway;
using slipway::testing::read_tar;
using slipway::testing::TempDir;
using slipway::testing::write_file;

namespace {

std::string tar_of(std::vector<TarEntry> entries, const TarOptions& opts = {}) {
  StringSink s;
  write_tar(std::move(entries), s, opts);
  return s.out;
}

std::string tar_of_tree(const std::string& dir, const TarOptions& base = {}) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY));
  REQUIRE(fd);
  TarOptions opts = base;
  opts.source_dir_fd = fd.get();
  return tar_of(scan_tree(fd.get()), opts);
}

// A tree with a little of everything; mtimes set so the epoch test can clamp.
void make_tree(const std::string& root) {
  ::mkdir((root + "/b").c_str(), 0755);
  ::mkdir((root + "/b/sub").c_str(), 0700);
  ::mkdir((root + "/a-dir").c_str(), 0755);
  write_file(root + "/b/sub/file.txt", "hello\n");
  write_file(root + "/a-dir/x", std::string(300000, 'q'));
  write_file(root + "/b/exec", "#!/bin/sh\n");
  ::chmod((root + "/b/exec").c_str(), 04755);
  REQUIRE(::symlink("sub/file.txt", (root + "/b/link").c_str()) == 0);
  REQUIRE(::link((root + "/b/sub/file.txt").c_str(), (root + "/a-dir/hard").c_str()) == 0);
  REQUIRE(::mkfifo((root + "/b/fifo").c_str(), 0600) == 0);
  struct timespec ts[2] = {{1000, 0}, {2000000000, 0}};
  REQUIRE(::utimensat(AT_FDCWD, (root + "/b/exec").c_str(), ts, 0) == 0);
}

}  // namespace

TEST_CASE("tar: path order puts parents first and compares by component") {
  CHECK(tar_path_less("a", "a/b"));
  CHECK(tar_path_less("a/b", "a-b"));
  CHECK(tar_path_less("a/z", "a-b"));
  CHECK_FALSE(tar_path_less("a-b", "a/b"));
  CHECK(tar_path_less("a/b", "a/c"));
}

TEST_CASE("tar: a scanned tree gives sorted, byte-identical output with hardlinks") {
  TempDir tmp;
  std::string root = tmp / "root";
  ::mkdir(root.c_str(), 0755);
  make_tree(root);
  std::string t1 = tar_of_tree(root);
  std::string t2 = tar_of_tree(root);
  CHECK(t1 == t2);
  CHECK(t1.size() % 512 == 0);

  auto entries = read_tar(t1);
  std::vector<std::string> paths;
  for (auto& e : entries) paths.push_back(e.path);
  CHECK(paths == std::vector<std::string>{"a-dir/", "a-dir/hard", "a-dir/x", "b/", "b/exec", "b/fifo", "b/link",
                                          "b/sub/", "b/sub/file.txt"});
  // a-dir/hard sorts first, so it carries the data and b/sub/file.txt links to it.
  CHECK(entries[1].data == "hello\n");
  CHECK(entries[8].hardlink == "a-dir/hard");
  CHECK(entries[8].data.empty());
  CHECK(entries[2].data == std::string(300000, 'q'));
  CHECK(entries[4].mode == 04755);
  CHECK(entries[4].mtime == 2000000000);
  CHECK(entries[5].type == AE_IFIFO);
  CHECK(entries[6].symlink == "sub/file.txt");
  CHECK(entries[7].mode == 0700);
  for (auto& e : entries) {
    CHECK_FALSE(e.has_atime);
    CHECK_FALSE(e.has_ctime);
    CHECK(e.uid == ::getuid());
  }
  // GNU tar agrees on what is in there.
  write_file(tmp / "t.tar", t1);
  std::string listing = slipway::testing::run("tar -tvf '" + tmp / "t.tar" + "'");
  CHECK(listing.find("b/sub/file.txt link to a-dir/hard") != std::string::npos);
  CHECK(listing.find("PaxHeader") == std::string::npos);
}

TEST_CASE("tar: SOURCE_DATE_EPOCH clamps later mtimes only") {
  TempDir tmp;
  std::string root = tmp / "root";
  ::mkdir(root.c_str(), 0755);
  make_tree(root);
  struct timespec old[2] = {{500, 0}, {500, 0}};
  REQUIRE(::utimensat(AT_FDCWD, (root + "/a-dir/x").c_str(), old, 0) == 0);
  TarOptions opts;
  opts.source_date_epoch = 1700000000;
  auto entries = read_tar(tar_of_tree(root, opts));
  for (auto& e : entries) {
    if (e.path == "a-dir/x") CHECK(e.mtime == 500);
    else CHECK(e.mtime == 1700000000);
  }
}

TEST_CASE("tar: owner, mode and xattrs come from the entry list") {
  std::vector<TarEntry> list;
  TarEntry dir;
  dir.path = "etc";
  dir.kind = TarKind::kDir;
  dir.mode = 0755;
  list.push_back(dir);
  TarEntry f;
  f.path = "etc/shadow";
  f.mode = 0640;
  f.uid = 0;
  f.gid = 42;
  f.mtime = 1234;
  f.data = "root:*:1::::::\n";
  f.xattrs["security.capability"] = std::string("\x01\x00\x00\x02\x00\x04\x00\x00", 8);
  f.xattrs["user.comment"] = "hi";
  list.push_back(f);
  TarEntry big_uid;
  big_uid.path = "home/u";
  big_uid.kind = TarKind::kDir;
  big_uid.uid = 100000000;  // beyond ustar's octal field: needs a pax record
  list.push_back(big_uid);
  TarEntry dev;
  dev.path = "dev/null";
  dev.kind = TarKind::kCharDev;
  dev.dev_major = 1;
  dev.dev_minor = 3;
  list.push_back(dev);
  std::string t = tar_of(list);
  CHECK(t == tar_of(list));
  auto entries = read_tar(t);
  REQUIRE(entries.size() == 4);
  CHECK(entries[0].path == "dev/null");
  CHECK(entries[1].path == "etc/");
  CHECK(entries[2].path == "etc/shadow");
  CHECK(entries[2].gid == 42);
  CHECK(entries[2].mode == 0640);
  CHECK(entries[2].mtime == 1234);
  CHECK(entries[2].data == f.data);
  CHECK(entries[2].xattrs == f.xattrs);
  CHECK(entries[3].uid == 100000000);
  // Only SCHILY.xattr records, not a LIBARCHIVE.xattr duplicate.
  CHECK(t.find("SCHILY.xattr.user.comment") != std::string::npos);
  CHECK(t.find("LIBARCHIVE") == std::string::npos);
}

TEST_CASE("tar: whiteouts and opaque markers") {
  std::vector<TarEntry> list(3);
  list[0].path = "var/lib/gone";
  list[0].kind = TarKind::kWhiteout;
  list[1].path = "opt";
  list[1].kind = TarKind::kOpaque;
  list[2].path = "top";
  list[2].kind = TarKind::kWhiteout;
  auto entries = read_tar(tar_of(list));
  REQUIRE(entries.size() == 3);
  CHECK(entries[0].path == ".wh.top");
  CHECK(entries[1].path == "opt/.wh..wh..opq");
  CHECK(entries[2].path == "var/lib/.wh.gone");
  for (auto& e : entries) CHECK(e.type == AE_IFREG);
}

TEST_CASE("tar: invalid entry lists are rejected") {
  auto one = [](std::string path, TarKind kind = TarKind::kFile) {
    TarEntry e;
    e.path = std::move(path);
    e.kind = kind;
    return std::vector<TarEntry>{e};
  };
  CHECK_THROWS_AS(tar_of(one("/etc/passwd")), Error);
  CHECK_THROWS_AS(tar_of(one("a/../../b")), Error);
  CHECK_THROWS_AS(tar_of(one("")), Error);
  auto dup = one("x");
  dup.push_back(dup[0]);
  dup[1].path = "./x";
  CHECK_THROWS_WITH(tar_of(dup), Catch::Contains("duplicate"));
  auto hl = one("a", TarKind::kHardlink);
  hl[0].link_target = "zzz";
  CHECK_THROWS_WITH(tar_of(hl), Catch::Contains("hardlink"));
}

TEST_CASE("tar: xattrs and the rootless owner are read from real files") {
  TempDir tmp;
  std::string root = tmp / "root";
  ::mkdir(root.c_str(), 0755);
  write_file(root + "/f", "x");
  if (::setxattr((root + "/f").c_str(), "user.test", "v1", 2, 0) != 0) {
    WARN("user xattrs unsupported here; skipping");
    return;
  }
  std::string owner("\x08\xe8\x07\x10\xff\xff\xff\xff\x0f", 9);  // uid 1000, gid NoopID
  REQUIRE(::setxattr((root + "/f").c_str(), "user.rootlesscontainers", owner.data(), owner.size(), 0) == 0);
  auto entries = read_tar(tar_of_tree(root));
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].uid == 1000);
  CHECK(entries[0].gid == 0);
  CHECK(entries[0].xattrs == std::map<std::string, std::string>{{"user.test", "v1"}});

  // An explicit (COPY-style) entry under another archive path.
  TarEntry e = entry_from_file(AT_FDCWD, root + "/f", "app/renamed");
  CHECK(e.uid == 1000);
  CHECK(e.source == root + "/f");
  auto one = read_tar(tar_of({e}));
  CHECK(one[0].path == "app/renamed");
  CHECK(one[0].data == "x");
}

TEST_CASE("tar: long and non-ASCII names get pax records free of host details") {
  std::string long_dir(120, 'd');
  std::vector<TarEntry> list(2);
  list[0].path = long_dir + "/" + std::string(150, 'f');
  list[0].data = "long";
  list[1].path = "caf\xc3\xa9/\xe2\x82\xac.txt";
  list[1].data = "utf8";
  std::string t = tar_of(list);
  auto entries = read_tar(t);
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].path == list[1].path);
  CHECK(entries[1].path == list[0].path);
  CHECK(entries[1].data == "long");
  // libarchive names the pax header entry itself; it must not carry a pid.
  CHECK(t.find("PaxHeader." + std::to_string(::getpid())) == std::string::npos);
  CHECK(t.find("atime=") == std::string::npos);
  CHECK(t.find("ctime=") == std::string::npos);
  CHECK(t.find("hdrcharset") == std::string::npos);  // names are UTF-8 already
  TempDir tmp;
  write_file(tmp / "t.tar", t);
  CHECK(slipway::testing::run("tar -tf '" + tmp / "t.tar" + "'") == list[1].path + "\n" + list[0].path + "\n");
}

TEST_CASE("tar: names that are not UTF-8 survive as raw bytes") {
  std::vector<TarEntry> list(1);
  list[0].path = "latin1-\xe9t\xe9";
  list[0].data = "x";
  std::string t = tar_of(list);
  CHECK(t == tar_of(list));
  TempDir tmp;
  write_file(tmp / "t.tar", t);
  CHECK(slipway::testing::run("tar --quoting-style=literal -tf '" + tmp / "t.tar" + "' 2>/dev/null") == list[0].path + "\n");
}

TEST_CASE("tar: owners survive an unprivileged unpack and a re-pack (user.rootlesscontainers)") {
  std::vector<TarEntry> list(2);
  list[0].path = "home";
  list[0].kind = TarKind::kDir;
  list[0].mode = 0755;
  list[1].path = "home/app.txt";
  list[1].uid = 1000;
  list[1].gid = 1001;
  list[1].data = "owned";
  TempDir tmp;
  write_file(tmp / "layer.tar", tar_of(list));
  ::mkdir((tmp / "root").c_str(), 0755);
  layers::ApplyOptions ao;
  ao.ownership = layers::Ownership::kRecord;  // what a rootless build does
  layers::apply_layer(tmp / "root", tmp / "layer.tar", ao);
  auto entries = read_tar(tar_of_tree(tmp / "root"));
  REQUIRE(entries.size() == 2);
  CHECK(entries[1].path == "home/app.txt");
  CHECK(entries[1].uid == 1000);
  CHECK(entries[1].gid == 1001);
  CHECK(entries[1].xattrs.empty());  // the bookkeeping xattr is not shipped
}

TEST_CASE("tar writer: a source dir swapped for a symlink cannot read outside the tree", "[tar]") {
  TempDir tmp;
  std::string root = tmp / "ctx", outside = tmp / "outside";
  std::filesystem::create_directories(root + "/d");
  std::filesystem::create_directories(outside);
  write_file(root + "/d/f", "inside");
  write_file(outside + "/f", "secret");
  UniqueFd dir(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  REQUIRE(dir);
  auto entries = scan_tree(dir.get());
  // Between the scan and the write, someone replaces d with a symlink out.
  std::filesystem::remove_all(root + "/d");
  for (const std::string& target : {outside, std::string("../outside")}) {
    std::filesystem::remove(root + "/d");
    std::filesystem::create_directory_symlink(target, root + "/d");
    StringSink sink;
    TarOptions o;
    o.source_dir_fd = dir.get();
    try {
      write_tar(entries, sink, o);
    } catch (const Error&) {
    }
    CHECK(sink.out.find("secret") == std::string::npos);
  }
}

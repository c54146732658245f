// Well-formed layers apply correctly: entry types, modes, times, xattrs,
// hardlinks, whiteouts across layers, compression detection, ownership both
// as root and (in a child that drops to an unprivileged uid) rootless.
#include "layers/unpack.h"

#include <dirent.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include <catch2/catch.hpp>
#include <chrono>

#include "layers/unpack_test_util.h"

namespace slipway::layers {
namespace {

using namespace unpack_testing;

struct stat lstat_of(const std::string& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st;
}
bool exists(const std::string& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}
std::string lgetxattr_of(const std::string& p, const std::string& key) {
  char buf[1024];
  ssize_t n = ::lgetxattr(p.c_str(), key.c_str(), buf, sizeof buf);
  return n < 0 ? std::string("<none>") : std::string(buf, static_cast<size_t>(n));
}

struct Fixture {
  TempDir tmp;
  std::string root = tmp / "root";
  UniqueFd fd;
  Fixture() {
    REQUIRE(::mkdir(root.c_str(), 0755) == 0);
    fd = open_dir(root);
  }
  std::string at(const std::string& rel) const { return root + "/" + rel; }
};

TEST_CASE("clean_components clamps and strips", "[unpack]") {
  using V = std::vector<std::string>;
  CHECK(clean_components("a/b/c") == V{"a", "b", "c"});
  CHECK(clean_components("/a//./b/") == V{"a", "b"});
  CHECK(clean_components("../../a") == V{"a"});
  CHECK(clean_components("a/../../b/..") == V{});
  CHECK(clean_components("./") == V{});
  CHECK(clean_components("a/..b/c..") == V{"a", "..b", "c.."});
}

TEST_CASE("both resolvers agree and stay inside", "[unpack]") {
  Fixture f;
  REQUIRE(std::system(("mkdir -p '" + f.at("x/y/z") + "'").c_str()) == 0);
  REQUIRE(::symlink("/x/y", f.at("abs").c_str()) == 0);
  REQUIRE(::symlink("x/../x/y/../../../../x", f.at("rel").c_str()) == 0);
  REQUIRE(::symlink("loop", f.at("loop").c_str()) == 0);
  REQUIRE(::symlink("/proc/self/root", f.at("magic").c_str()) == 0);
  write_file(f.at("file"), "");
  auto ino = [](int fd) {
    struct stat st {};
    REQUIRE(::fstat(fd, &st) == 0);
    return st.st_ino;
  };
  for (Resolver r : {Resolver::kAuto, Resolver::kFallback}) {
    INFO("resolver " << static_cast<int>(r));
    int err = 0;
    auto c = clean_components("abs/z");
    UniqueFd a = resolve_dir(f.fd.get(), c, c.size(), r, &err);
    REQUIRE(a);
    CHECK(ino(a.get()) == lstat_of(f.at("x/y/z")).st_ino);
    c = clean_components("rel/y");
    UniqueFd b = resolve_dir(f.fd.get(), c, c.size(), r, &err);
    REQUIRE(b);
    CHECK(ino(b.get()) == lstat_of(f.at("x/y")).st_ino);
    c = clean_components("loop");
    CHECK_FALSE(resolve_dir(f.fd.get(), c, c.size(), r, &err));
    CHECK(err == ELOOP);
    c = clean_components("file/x");
    CHECK_FALSE(resolve_dir(f.fd.get(), c, c.size(), r, &err));
    CHECK(err == ENOTDIR);
    // /proc/self/root inside the root is just a missing path, never the host's /.
    c = clean_components("magic");
    CHECK_FALSE(resolve_dir(f.fd.get(), c, c.size(), r, &err));
    CHECK(err == ENOENT);
  }
}

TEST_CASE("all entry types, modes, times and xattrs", "[unpack]") {
  Fixture f;
  TarEntry d = dir("d", 0750);
  d.mtime = 1500000000;
  d.mtime_nsec = 123456789;
  TarEntry ro = dir("ro", 0555);
  TarEntry sticky = dir("tmp", 01777);
  TarEntry su = file("d/su", "suid", 04755);
  su.mtime = 1400000000;
  su.mtime_nsec = 42;
  TarEntry sg = file("d/sg", "sgid", 02711);
  sg.gid = 42;
  TarEntry x = file("d/x", "xattrs");
  x.xattrs = {{"user.note", "hello"},
              {"security.capability",
               std::string("\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20)}};
  TarEntry ln = symlink("d/ln", "../nowhere/../d/su");
  ln.mtime = 1300000000;
  auto blob =
      make_tar({d, ro, file("ro/inner", "in", 0444), sticky, su, sg, x, ln, hardlink("d/hl", "d/su"),
                node("d/fifo", S_IFIFO), node("d/null", S_IFCHR, makedev(1, 3)), file("big", std::string(300000, 'b'))},
               ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE);
  ApplyResult r = apply_bytes(f.fd.get(), blob);
  CHECK(r.entries == 12);
  CHECK(r.bytes == 4 + 4 + 6 + 2 + 300000);
  INFO("skipped: " << Catch::Detail::stringify(r.skipped));
  CHECK(r.skipped.empty());
  CHECK((lstat_of(f.at("d")).st_mode & 07777) == 0750);
  CHECK(lstat_of(f.at("d")).st_mtim.tv_sec == 1500000000);
  CHECK(lstat_of(f.at("d")).st_mtim.tv_nsec == 123456789);
  CHECK((lstat_of(f.at("ro")).st_mode & 07777) == 0555);
  CHECK(read_file(f.at("ro/inner")) == "in");
  CHECK((lstat_of(f.at("tmp")).st_mode & 07777) == 01777);
  CHECK((lstat_of(f.at("d/su")).st_mode & 07777) == 04755);
  CHECK(lstat_of(f.at("d/su")).st_mtim.tv_sec == 1400000000);
  CHECK(lstat_of(f.at("d/su")).st_mtim.tv_nsec == 42);
  CHECK((lstat_of(f.at("d/sg")).st_mode & 07777) == 02711);
  CHECK(lstat_of(f.at("d/sg")).st_gid == 42);
  CHECK(lgetxattr_of(f.at("d/x"), "user.note") == "hello");
  CHECK(lgetxattr_of(f.at("d/x"), "security.capability").size() == 20);
  CHECK(S_ISLNK(lstat_of(f.at("d/ln")).st_mode));
  char target[64] = {};
  REQUIRE(::readlink(f.at("d/ln").c_str(), target, sizeof target - 1) > 0);
  CHECK(std::string(target) == "../nowhere/../d/su");
  CHECK(lstat_of(f.at("d/ln")).st_mtim.tv_sec == 1300000000);
  CHECK(lstat_of(f.at("d/hl")).st_ino == lstat_of(f.at("d/su")).st_ino);
  CHECK(S_ISFIFO(lstat_of(f.at("d/fifo")).st_mode));
  CHECK(S_ISCHR(lstat_of(f.at("d/null")).st_mode));
  CHECK(read_file(f.at("big")) == std::string(300000, 'b'));
  CHECK(r.chowned);
}

TEST_CASE("owners are chowned as root", "[unpack]") {
  Fixture f;
  TarEntry a = file("a");
  a.uid = 1234;
  a.gid = 5678;
  TarEntry l = symlink("l", "a");
  l.uid = 99;
  ApplyResult r = apply_bytes(f.fd.get(), make_tar({a, l}));
  CHECK(r.chowned);
  CHECK(lstat_of(f.at("a")).st_uid == 1234);
  CHECK(lstat_of(f.at("a")).st_gid == 5678);
  CHECK(lstat_of(f.at("l")).st_uid == 99);
  CHECK(lgetxattr_of(f.at("a"), kRootlessXattr) == "<none>");
}

TEST_CASE("whiteouts and opaque directories across two layers", "[unpack]") {
  Fixture f;
  apply_bytes(f.fd.get(), make_tar({dir("a"), file("a/x"), file("a/y"), dir("b"), file("b/z"), dir("c"), file("c/old"),
                                    dir("c/sub"), file("c/sub/deep"), dir("d"), file("d/old"), file("e", "lower"),
                                    file("f", "lower"), symlink("g", "/a")}));
  ApplyResult r = apply_bytes(
      f.fd.get(), make_tar({file("a/.wh.x", ""), file(".wh.b", ""), dir("c"), file("c/.wh..wh..opq", ""), file("c/new"),
                            // Reverse order: the entry precedes the whiteout and must survive it.
                            file("d/new"), file("d/.wh..wh..opq", ""), file("e", "upper"), file(".wh.e", ""),
                            file(".wh.nothing", ""), file("missing/.wh.x", ""), file(".wh.g", "")}));
  CHECK(r.whiteouts == 8);
  CHECK_FALSE(exists(f.at("a/x")));
  CHECK(exists(f.at("a/y")));
  CHECK_FALSE(exists(f.at("b")));
  CHECK(exists(f.at("c")));
  CHECK_FALSE(exists(f.at("c/old")));
  CHECK_FALSE(exists(f.at("c/sub")));
  CHECK(exists(f.at("c/new")));
  CHECK_FALSE(exists(f.at("d/old")));
  CHECK(exists(f.at("d/new")));
  CHECK(read_file(f.at("e")) == "upper");
  CHECK(read_file(f.at("f")) == "lower");
  CHECK_FALSE(exists(f.at("g")));  // the link, not its target
  CHECK(exists(f.at("a")));
  CHECK_FALSE(exists(f.at("missing")));
  CHECK_FALSE(exists(f.at(".wh.nothing")));
}

TEST_CASE("a new inode replaces a hardlinked file instead of writing through it", "[unpack]") {
  Fixture f;
  apply_bytes(f.fd.get(), make_tar({file("a", "old"), hardlink("b", "a")}));
  apply_bytes(f.fd.get(), make_tar({file("a", "new")}));
  CHECK(read_file(f.at("a")) == "new");
  CHECK(read_file(f.at("b")) == "old");
}

TEST_CASE("plain, gzip and zstd are detected; other formats are refused", "[unpack]") {
  std::string tar = make_tar({dir("d"), file("d/f", "content")});
  for (const auto& [label, blob] : std::vector<std::pair<std::string, std::string>>{
           {"plain", tar},
           {"gzip", gzip(tar)},
           {"zstd", zstd(tar)},
           {"gzip members", gzip(tar.substr(0, 1024)) + gzip(tar.substr(1024))}}) {
    INFO(label);
    Fixture f;
    ApplyResult r = apply_bytes(f.fd.get(), blob);
    CHECK(r.entries == 2);
    CHECK(read_file(f.at("d/f")) == "content");
  }
  Fixture f;
  CHECK_THROWS_WITH(apply_bytes(f.fd.get(), make_tar({file("a")}, ARCHIVE_FORMAT_ZIP)), Catch::Contains("not a tar"));
  CHECK_THROWS_WITH(apply_bytes(f.fd.get(), make_tar({file("a")}, ARCHIVE_FORMAT_CPIO_POSIX)),
                    Catch::Contains("not a tar"));
  CHECK_THROWS_WITH(apply_bytes(f.fd.get(), gzip("not a tar at all, just text")), Catch::Contains("not a tar"));
  CHECK_THROWS_WITH(apply_bytes(f.fd.get(), zstd(tar).substr(0, 20)), Catch::Contains("zstd"));
  CHECK(apply_bytes(f.fd.get(), "").entries == 0);
  CHECK(make_tar({file("a")}, ARCHIVE_FORMAT_TAR_GNUTAR).size() > 0);
  CHECK(apply_bytes(f.fd.get(), make_tar({file("gnu")}, ARCHIVE_FORMAT_TAR_GNUTAR)).entries == 1);
  CHECK(apply_bytes(f.fd.get(), make_tar({file("ustar")}, ARCHIVE_FORMAT_TAR_USTAR)).entries == 1);
}

TEST_CASE("sparse files keep their holes and size", "[unpack]") {
  Fixture f;
  // libarchive's writer takes the logical content and stores only the regions.
  TarEntry sp = file("sparse", std::string(4096, 'a') + std::string((1 << 20) - 8192, '\0') + std::string(4096, 'z'));
  sp.sparse = {{0, 4096}, {(1 << 20) - 4096, 4096}};
  sp.sparse_size = 1 << 20;
  ApplyResult r = apply_bytes(f.fd.get(), make_tar({sp}, ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE));
  CHECK(r.bytes == 8192);
  std::string got = read_file(f.at("sparse"));
  REQUIRE(got.size() == (1u << 20));
  CHECK(got.substr(0, 4096) == std::string(4096, 'a'));
  CHECK(got.substr(4096, got.size() - 8192) == std::string(got.size() - 8192, '\0'));
  CHECK(got.substr(got.size() - 4096) == std::string(4096, 'z'));
}

TEST_CASE("fd and path entry points", "[unpack]") {
  Fixture f;
  std::string blob_path = f.tmp / "layer.tar.gz";
  write_file(blob_path, gzip(make_tar({file("x", "1")})));
  CHECK(apply_layer(f.root, blob_path).entries == 1);
  UniqueFd blob(::open(blob_path.c_str(), O_RDONLY | O_CLOEXEC));
  CHECK(apply_layer(f.fd.get(), blob.get()).entries == 1);
  CHECK_THROWS_WITH(apply_layer(f.root, f.tmp / "missing"), Catch::Contains("missing"));
}

TEST_CASE("size limit is exact", "[unpack]") {
  Fixture f;
  ApplyOptions o;
  o.max_bytes = 10;
  CHECK(apply_bytes(f.fd.get(), make_tar({file("a", "12345"), file("b", "67890")}), o).bytes == 10);
  CHECK_THROWS_WITH(apply_bytes(f.fd.get(), make_tar({file("a", "12345"), file("b", "678901")}), o),
                    Catch::Contains("layer entry b"));
}

TEST_CASE("user.rootlesscontainers encoding matches umoci", "[unpack]") {
  // proto3 Resource{uid=1234, gid=NoopID}: what umoci writes for 1234:0.
  CHECK(encode_rootless_owner(1234, 0) == std::string("\x08\xd2\x09\x10\xff\xff\xff\xff\x0f", 9));
  CHECK(encode_rootless_owner(1, 2) == std::string("\x08\x01\x10\x02", 4));
  CHECK(decode_rootless_owner(encode_rootless_owner(1234, 0)) == std::make_pair(1234u, 0u));
  CHECK(decode_rootless_owner(std::string("\x10\x05", 2)) == std::make_pair(0u, 5u));
  CHECK(decode_rootless_owner("") == std::make_pair(0u, 0u));
  CHECK_FALSE(decode_rootless_owner(std::string("\x08", 1)));
  CHECK_FALSE(decode_rootless_owner(std::string("\x0f\x01", 2)));
}

// Runs `fn` in a child after `setup` (which returns false on failure);
// returns what fn returned, or "FAILED: ...".
std::string in_child(const std::function<bool()>& setup, const std::function<std::string()>& fn) {
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(p[0]);
    std::string out;
    int code = 0;
    if (!setup()) {
      out = std::string("FAILED: child setup: ") + std::strerror(errno);
      code = 1;
    } else {
      try {
        out = fn();
      } catch (const std::exception& e) {
        out = std::string("FAILED: ") + e.what();
        code = 1;
      }
    }
    (void)!::write(p[1], out.data(), out.size());
    ::_exit(code);
  }
  ::close(p[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(p[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return out;
}

// Drops to uid/gid 65534, which also clears every capability.
std::string as_unprivileged(const std::function<std::string()>& fn) {
  return in_child(
      [] {
        return ::setgroups(0, nullptr) == 0 && ::setresgid(65534, 65534, 65534) == 0 &&
               ::setresuid(65534, 65534, 65534) == 0;
      },
      fn);
}

// A seccomp filter that fails openat2 with `err`, as container runtimes with
// older profiles do (ENOSYS) or hardened ones (EPERM).
bool deny_openat2(int err) {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (static_cast<unsigned>(err) & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

TEST_CASE("openat2 denied by seccomp falls back on every call", "[unpack][hostile]") {
  for (int err : {ENOSYS, EPERM}) {
    INFO("openat2 fails with " << err);
    Fixture f;
    std::string sentinel = f.tmp / "outside";
    REQUIRE(::mkdir(sentinel.c_str(), 0755) == 0);
    std::string blob = make_tar({symlink("a", sentinel), file("a/x", "pwned"), symlink("up", ".."),
                                 file("up/outside/y", "inside"), dir("d"), file("d/f", "f")});
    int root_fd = f.fd.get();
    std::string out = in_child([err] { return deny_openat2(err); },
                               [&] {
                                 if (openat2_available()) return std::string("openat2 still works");
                                 try {
                                   apply_bytes(root_fd, blob);
                                   return std::string("applied");
                                 } catch (const Error& e) {
                                   return std::string("error ") + e.what();
                                 }
                               });
    CHECK_THAT(out, Catch::StartsWith("error layer entry a/x"));
    CHECK(snapshot(sentinel).size() == 1);
    out = in_child([err] { return deny_openat2(err); },
                   [&] {
                     apply_bytes(root_fd, make_tar({symlink("up", ".."), file("up/outside/y", "inside"), dir("d", 0700),
                                                    file("d/f", "f")}));
                     return std::string("applied");
                   });
    CHECK(out == "applied");
    CHECK(read_file(f.at("outside/y")) == "inside");
    CHECK((lstat_of(f.at("d")).st_mode & 07777) == 0700);
  }
}

size_t open_fds() {
  size_t n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d)) ++n;
    ::closedir(d);
  }
  return n;
}

TEST_CASE("no fd leaks, on success or failure", "[unpack]") {
  Fixture f;
  size_t before = open_fds();
  std::vector<TarEntry> v{dir("a"),    file("a/b"),         symlink("l", "a"),       hardlink("h", "a/b"),
                          file("l/c"), file("a/.wh.b", ""), file(".wh..wh..opq", "")};
  apply_bytes(f.fd.get(), make_tar(v));
  CHECK(open_fds() == before);
  v.push_back(symlink("loop", "loop"));
  v.push_back(file("loop/x"));
  CHECK_THROWS(apply_bytes(f.fd.get(), gzip(make_tar(v))));
  CHECK(open_fds() == before);
}

TEST_CASE("rootless: owners are recorded in user.rootlesscontainers", "[unpack][rootless]") {
  Fixture f;
  REQUIRE(::chown(f.root.c_str(), 65534, 65534) == 0);
  TarEntry a = file("a", "x", 04755);
  a.uid = 1234;
  a.gid = 5678;
  TarEntry b = file("b");
  b.gid = 42;
  TarEntry d = dir("d", 0755);
  d.uid = 7;
  d.gid = 7;
  TarEntry l = symlink("d/l", "../a");
  l.uid = 1000;
  TarEntry cap = file("cap");
  cap.xattrs = {{"security.capability",
                 std::string("\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20)},
                {"trusted.x", "1"}};
  std::string blob =
      make_tar({a, b, d, l, file("root-owned"), cap, node("null", S_IFCHR, makedev(1, 3)), node("fifo", S_IFIFO)});
  int root_fd = f.fd.get();
  std::string out = as_unprivileged([&] {
    ApplyResult r = apply_bytes(root_fd, blob);
    std::string s = r.chowned ? "chowned\n" : "recorded\n";
    for (const auto& o : r.unrecorded_owners)
      s += "owner " + o.path + " " + std::to_string(o.uid) + ":" + std::to_string(o.gid) + "\n";
    for (const auto& k : r.skipped) s += "skipped " + k + "\n";
    auto owner = read_rootless_owner(root_fd, "a");
    s += "read a " + (owner ? std::to_string(owner->first) + ":" + std::to_string(owner->second) : "none") + "\n";
    return s;
  });
  INFO(out);
  CHECK(out.starts_with("recorded\n"));
  CHECK_THAT(out, Catch::Contains("owner d/l 1000:0"));
  CHECK_THAT(out, Catch::Contains("skipped cap: xattr security.capability"));
  CHECK_THAT(out, Catch::Contains("skipped cap: xattr trusted.x"));
  CHECK_THAT(out, Catch::Contains("skipped null: device node not permitted"));
  CHECK(lstat_of(f.at("a")).st_uid == 65534);
  CHECK((lstat_of(f.at("a")).st_mode & 07777) == 04755);
  CHECK(S_ISFIFO(lstat_of(f.at("fifo")).st_mode));
  if (::lsetxattr(f.at("root-owned").c_str(), "user.probe", "1", 1, 0) != 0 && errno == ENOTSUP) {
    // No user xattrs here (tmpfs before Linux 6.6): the result carries the owners.
    CHECK_THAT(out, Catch::Contains("owner a 1234:5678"));
    CHECK_THAT(out, Catch::Contains("owner d 7:7"));
    return;
  }
  CHECK_THAT(out, Catch::Contains("read a 1234:5678"));
  CHECK(lgetxattr_of(f.at("a"), kRootlessXattr) == encode_rootless_owner(1234, 5678));
  CHECK(lgetxattr_of(f.at("b"), kRootlessXattr) == std::string("\x08\xff\xff\xff\xff\x0f\x10\x2a", 8));
  CHECK(lgetxattr_of(f.at("d"), kRootlessXattr) == encode_rootless_owner(7, 7));
  CHECK(lgetxattr_of(f.at("root-owned"), kRootlessXattr) == "<none>");
  UniqueFd dfd = open_dir(f.at("d"));
  CHECK(read_rootless_owner(dfd.get()) == std::make_pair(7u, 7u));
  CHECK_FALSE(read_rootless_owner(f.fd.get()));
  CHECK_FALSE(read_rootless_owner(f.fd.get(), "root-owned"));
  CHECK(read_rootless_owner(f.fd.get(), "d") == std::make_pair(7u, 7u));
}

TEST_CASE("rootless on a filesystem without xattrs: owners come back in the result", "[unpack][rootless]") {
  TempDir tmp;
  TarEntry a = file("a");
  a.uid = 1234;
  a.gid = 5678;
  std::string blob = make_tar({a, file("zero")});
  std::string mnt = tmp.path();
  // ramfs has no xattrs at all; mounted in the child's own mount namespace,
  // it disappears with the child.
  std::string out = in_child(
      [&] {
        return ::unshare(CLONE_NEWNS) == 0 && ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
               ::mount("ramfs", mnt.c_str(), "ramfs", 0, nullptr) == 0 && ::chown(mnt.c_str(), 65534, 65534) == 0 &&
               ::setgroups(0, nullptr) == 0 && ::setresgid(65534, 65534, 65534) == 0 &&
               ::setresuid(65534, 65534, 65534) == 0;
      },
      [&] {
        UniqueFd root = open_dir(mnt);
        ApplyResult r = apply_bytes(root.get(), blob);
        std::string s;
        for (const auto& o : r.unrecorded_owners) {
          s += o.path + " " + std::to_string(o.uid) + ":" + std::to_string(o.gid) + "\n";
        }
        return s;
      });
  CHECK(out == "a 1234:5678\n");
}

TEST_CASE("rootless: a read-only directory still receives its contents", "[unpack][rootless]") {
  Fixture f;
  REQUIRE(::chown(f.root.c_str(), 65534, 65534) == 0);
  std::string blob = make_tar({dir("ro", 0555), file("ro/a", "a"), dir("ro/sub", 0500), file("ro/sub/b", "b")});
  int root_fd = f.fd.get();
  std::string out = as_unprivileged([&] {
    apply_bytes(root_fd, blob);
    return std::string("ok");
  });
  CHECK(out == "ok");
  CHECK((lstat_of(f.at("ro")).st_mode & 07777) == 0555);
  CHECK((lstat_of(f.at("ro/sub")).st_mode & 07777) == 0500);
  CHECK(read_file(f.at("ro/sub/b")) == "b");
}

TEST_CASE("rootless: read-only directories from a lower layer are written and whited out", "[unpack][rootless]") {
  Fixture f;
  REQUIRE(::chown(f.root.c_str(), 65534, 65534) == 0);
  std::string lower =
      make_tar({dir("ro", 0555), file("ro/a", "a"), dir("gone", 0555), dir("gone/in", 0), file("keep", "k")});
  // ro/new is a missing parent created inside the read-only ro.
  std::string upper =
      make_tar({file("ro/new/deep/c", "c"), file("ro/b", "b"), file("ro/.wh.a", ""), file(".wh.gone", "")});
  int root_fd = f.fd.get();
  std::string out = as_unprivileged([&] {
    apply_bytes(root_fd, lower);
    apply_bytes(root_fd, upper);
    return std::string("ok");
  });
  CHECK(out == "ok");
  CHECK(read_file(f.at("ro/b")) == "b");
  CHECK(read_file(f.at("ro/new/deep/c")) == "c");
  CHECK_FALSE(exists(f.at("ro/a")));
  CHECK((lstat_of(f.at("ro")).st_mode & 07777) == 0555);
  CHECK_FALSE(exists(f.at("gone")));
  CHECK(exists(f.at("keep")));
}

// Not run by default: `slipway_layers_tests "[.bench]"` prints apply speed.
TEST_CASE("apply throughput", "[.bench]") {
  std::vector<TarEntry> v;
  for (int d = 0; d < 200; ++d) {
    v.push_back(dir("d" + std::to_string(d)));
    for (int i = 0; i < 100; ++i)
      v.push_back(file("d" + std::to_string(d) + "/f" + std::to_string(i), std::string(1024, 'x')));
  }
  v.push_back(file("big", std::string(128 << 20, 'b')));
  std::string blob = make_tar(v);
  for (bool fallback : {false, true}) {
    Fixture f;
    ApplyOptions o;
    o.force_fallback_resolver = fallback;
    auto start = std::chrono::steady_clock::now();
    ApplyResult r = apply_bytes(f.fd.get(), blob, o);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    WARN((fallback ? "fallback" : "openat2") << ": " << r.entries << " entries, " << (r.bytes >> 20) << " MiB in " << s
                                             << " s (" << r.entries / s << " entries/s)");
  }
}

}  // namespace
}  // namespace slipway::layers

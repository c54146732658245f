// Hostile layers: every case must leave everything outside the root exactly
// as it was (a recursive lstat + content snapshot of a sentinel tree beside
// the root, and the link count of /etc/passwd) and end in the stated error or result. The
// whole suite runs twice: with openat2 and with the forced fallback resolver.
//
// Every escape a case attempts is aimed at the sentinel tree (base/outside),
// never at a real host path: if a regression lets one through, the suite
// fails without damaging the machine it runs on.
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <functional>

#include "layers/unpack.h"
#include "layers/unpack_test_util.h"

namespace slipway::layers {
namespace {

using namespace unpack_testing;

struct Case {
  std::string name;
  std::function<std::string(const std::string& base)> blob;
  std::string error;  // substring of the expected error; empty: must succeed
  std::function<void(const std::string& root, const ApplyResult& r)> check = {};
  std::function<void(const std::string& root, const std::string& base)> prepare = {};
  std::function<void(ApplyOptions&)> tweak = {};
};

std::string tar(std::vector<TarEntry> entries) { return make_tar(entries); }

struct stat lstat_of(const std::string& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st;
}
// The sentinel's parent, from the root beside it ("<base>/root").
std::string base_of(const std::string& root) { return root.substr(0, root.size() - 5); }
bool exists(const std::string& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

// `count` PAX extended headers of one `len`-byte record each, then a file:
// libarchive refuses one huge header but reads any number of large ones.
std::string pax_bomb(int count, size_t len) {
  std::string value(len, 'A');
  std::string rec;
  for (size_t digits = 1; digits < 20; ++digits) {
    size_t total = digits + 1 + std::string("comment=").size() + value.size() + 1;
    if (std::to_string(total).size() == digits) {
      rec = std::to_string(total) + " comment=" + value + "\n";
      break;
    }
  }
  std::string out;
  for (int i = 0; i < count; ++i) {
    out += raw_header("PaxHeader/x", 'x', rec.size()) + rec;
    out.resize((out.size() + 511) / 512 * 512, '\0');
  }
  out += raw_header("x", '0', 0);
  out += std::string(1024, '\0');
  return out;
}

std::vector<Case> cases() {
  std::vector<Case> c;
  c.push_back({"dotdot path is clamped at the root", [](auto&) { return tar({file("../outside/secret", "pwned")}); },
               "", [](auto& root, auto&) { CHECK(read_file(root + "/outside/secret") == "pwned"); }});
  c.push_back(
      {"deep dotdot path",
       [](auto& base) { return tar({file("a/../../../../../../../../../../.." + base + "/outside/x", "pwned")}); }, "",
       [](auto& root, auto&) { CHECK(read_file(root + base_of(root) + "/outside/x") == "pwned"); }});
  c.push_back({"absolute path is relative to the root",
               [](auto& base) { return tar({file(base + "/outside/secret", "pwned")}); }, "",
               [](auto& root, auto&) { CHECK(read_file(root + base_of(root) + "/outside/secret") == "pwned"); }});
  c.push_back({"symlink then file at the same path",
               [](auto& base) {
                 return tar({symlink("x", base + "/outside/secret"), file("x", "pwned")});
               },
               "",
               [](auto& root, auto&) {
                 CHECK(S_ISREG(lstat_of(root + "/x").st_mode));
                 CHECK(read_file(root + "/x") == "pwned");
               }});
  c.push_back({"symlinked parent pointing outside (absolute)",
               [](auto& base) {
                 return tar({symlink("a", base + "/outside"), file("a/x", "pwned")});
               },
               "a/x"});
  c.push_back({"symlinked parent pointing outside (relative)",
               [](auto&) {
                 return tar({symlink("a", "../outside"), file("a/x", "pwned")});
               },
               "a/x"});
  c.push_back(
      {"absolute symlinked parent resolves in the root",
       [](auto& base) {
         return tar({symlink("a", base + "/outside"), file("a/x", "inside")});
       },
       "", [](auto& root, auto&) { CHECK(read_file(root + base_of(root) + "/outside/x") == "inside"); },
       [](auto& root, auto& base) { REQUIRE(std::system(("mkdir -p '" + root + base + "/outside'").c_str()) == 0); }});
  c.push_back({"symlink to ..",
               [](auto&) {
                 return tar({symlink("up", ".."), file("up/outside/secret", "pwned")});
               },
               "", [](auto& root, auto&) { CHECK(read_file(root + "/outside/secret") == "pwned"); }});
  c.push_back({"symlink to a .. chain",
               [](auto&) {
                 return tar({dir("b"), symlink("a", "b/../.."), symlink("c", "a/b/../a/b/.."),
                             file("c/outside/secret", "pwned")});
               },
               "", [](auto& root, auto&) { CHECK(read_file(root + "/outside/secret") == "pwned"); }});
  c.push_back(
      {"pre-existing symlink in the root pointing outside",
       [](auto&) { return tar({file("lib/secret", "pwned")}); },
       "lib/secret",
       {},
       [](auto& root, auto& base) { REQUIRE(::symlink((base + "/outside").c_str(), (root + "/lib").c_str()) == 0); }});
  c.push_back({"directory entry over a symlink to outside",
               [](auto& base) {
                 return tar({symlink("d", base + "/outside"), dir("d", 0777)});
               },
               "",
               [](auto& root, auto&) {
                 CHECK(S_ISDIR(lstat_of(root + "/d").st_mode));
                 CHECK((lstat_of(root + "/d").st_mode & 07777) == 0777);
               }});
  // If this escaped it would only link (never write) /etc/passwd, and the
  // link goes away with the temp dir; world() watches its link count.
  c.push_back({"hardlink to /etc/passwd", [](auto&) { return tar({hardlink("h", "/etc/passwd")}); }, "hardlink"});
  c.push_back(
      {"overlayfs xattrs are refused",
       [](auto&) {
         TarEntry d = dir("d");
         d.xattrs = {{"trusted.overlay.redirect", "/x"}, {"trusted.overlay.opaque", "y"}, {"user.overlay.origin", "x"}};
         return tar({d});
       },
       "",
       [](auto& root, auto& r) {
         CHECK(r.skipped.size() == 3);
         char buf[8];
         CHECK(::lgetxattr((root + "/d").c_str(), "trusted.overlay.opaque", buf, sizeof buf) < 0);
       }});
  c.push_back({"hardlink to an absolute path outside",
               [](auto& base) { return tar({hardlink("h", base + "/outside/secret")}); }, "hardlink"});
  c.push_back({"hardlink to ../x", [](auto&) { return tar({hardlink("h", "../outside/secret")}); }, "hardlink"});
  c.push_back({"hardlink via a symlinked dir pointing outside",
               [](auto& base) {
                 return tar({symlink("d", base + "/outside"), hardlink("h", "d/secret")});
               },
               "hardlink"});
  c.push_back({"hardlink via a .. symlink stays in the root",
               [](auto&) {
                 return tar({file("outside/secret", "in"), symlink("d", ".."), hardlink("h", "d/outside/secret")});
               },
               "",
               [](auto& root, auto&) {
                 CHECK(lstat_of(root + "/h").st_ino == lstat_of(root + "/outside/secret").st_ino);
                 CHECK(lstat_of(root + "/h").st_nlink == 2);
               }});
  c.push_back({"hardlink to a symlink links the symlink itself",
               [](auto& base) {
                 return tar({symlink("s", base + "/outside/secret"), hardlink("h", "s")});
               },
               "", [](auto& root, auto&) { CHECK(S_ISLNK(lstat_of(root + "/h").st_mode)); }});
  c.push_back({"hardlink to a directory", [](auto&) { return tar({dir("d"), hardlink("h", "d")}); }, "directory"});
  c.push_back({"hardlink whose own parent is a symlink outside",
               [](auto& base) {
                 return tar({file("t"), symlink("d", base + "/outside"), hardlink("d/h", "t")});
               },
               "d/h"});
  c.push_back({"whiteout naming ..", [](auto&) { return tar({file(".wh...", "")}); }, "invalid whiteout"});
  c.push_back({"whiteout with an empty name", [](auto&) { return tar({file("/.wh.", "")}); }, "invalid whiteout"});
  c.push_back({"overwriting a hardlink name replaces the inode",
               [](auto&) {
                 return tar({hardlink("h", "t"), file("h", "pwned")});
               },
               "",
               [](auto& root, auto&) {
                 CHECK(read_file(root + "/t") == "lower");
                 CHECK(read_file(root + "/h") == "pwned");
               },
               [](auto& root, auto&) { write_file(root + "/t", "lower"); }});
  c.push_back({"a file used as a parent directory", [](auto&) { return tar({file("f"), file("f/x")}); }, "f/x"});
  c.push_back({"whiteout naming . in a subdir",
               [](auto&) {
                 return tar({dir("a"), file("a/.wh..", "")});
               },
               "invalid whiteout"});
  c.push_back({"whiteout with a .. path is clamped", [](auto&) { return tar({file("../.wh.outside", "")}); }, "",
               [](auto& root, auto&) { CHECK_FALSE(exists(root + "/outside")); },
               [](auto& root, auto&) { REQUIRE(::mkdir((root + "/outside").c_str(), 0755) == 0); }});
  c.push_back({"opaque whiteout at / keeps the root and this layer",
               [](auto&) {
                 return tar({file("new", "n"), file("/.wh..wh..opq", "")});
               },
               "",
               [](auto& root, auto&) {
                 CHECK(exists(root));
                 CHECK(exists(root + "/new"));
                 CHECK_FALSE(exists(root + "/old"));
                 CHECK_FALSE(exists(root + "/olddir"));
               },
               [](auto& root, auto&) {
                 write_file(root + "/old", "o");
                 REQUIRE(::mkdir((root + "/olddir").c_str(), 0755) == 0);
                 write_file(root + "/olddir/f", "o");
               }});
  c.push_back({"/. replaced by a symlink", [](auto& base) { return tar({symlink("/.", base + "/outside")}); },
               "root directory"});
  c.push_back({". entry as a symlink", [](auto&) { return tar({symlink(".", "/")}); }, "root directory"});
  c.push_back({". entry as a file", [](auto&) { return tar({file(".", "x")}); }, "root directory"});
  c.push_back({"device node stays inside",
               [](auto&) {
                 return tar({node("dev/null", S_IFCHR, makedev(1, 3)), node("sda", S_IFBLK, makedev(8, 0))});
               },
               "",
               [](auto& root, auto& r) {
                 if (r.skipped.empty()) {
                   CHECK(S_ISCHR(lstat_of(root + "/dev/null").st_mode));
                   CHECK(lstat_of(root + "/dev/null").st_rdev == makedev(1, 3));
                   CHECK(S_ISBLK(lstat_of(root + "/sda").st_mode));
                 }
               }});
  c.push_back({"fifo", [](auto&) { return tar({node("p", S_IFIFO)}); }, "",
               [](auto& root, auto&) { CHECK(S_ISFIFO(lstat_of(root + "/p").st_mode)); }});
  c.push_back(
      {"header claims 1 TB", [](auto&) { return raw_header("big", '0', 1ULL << 40) + std::string(4096, 'x'); }, "big"});
  c.push_back({"gzip bomb of one huge file",
               [](auto&) { return gzip(tar({file("bomb", std::string(64 << 20, '\0'))}), 9); },
               "exceeds",
               {},
               {},
               [](ApplyOptions& o) { o.max_bytes = 8 << 20; }});
  c.push_back({"zstd bomb of one huge file",
               [](auto&) { return zstd(tar({file("bomb", std::string(64 << 20, '\0'))})); },
               "exceeds",
               {},
               {},
               [](ApplyOptions& o) { o.max_bytes = 8 << 20; }});
  c.push_back({"gzip bomb after the end of the archive is never expanded",
               [](auto&) { return gzip(tar({file("a", "a")}) + std::string(64 << 20, '\0'), 9); }, "",
               [](auto& root, auto& r) {
                 CHECK(r.entries == 1);
                 CHECK(read_file(root + "/a") == "a");
               }});
  c.push_back({"gzip bomb of many files",
               [](auto&) {
                 std::vector<TarEntry> v;
                 for (int i = 0; i < 64; ++i) v.push_back(file("f" + std::to_string(i), std::string(1 << 20, '\0')));
                 return gzip(tar(v), 9);
               },
               "exceeds",
               {},
               {},
               [](ApplyOptions& o) { o.max_bytes = 8 << 20; }});
  c.push_back({"one huge PAX header", [](auto&) { return gzip(pax_bomb(1, 64 << 20), 9); }, "too large"});
  c.push_back({"many large PAX headers for one entry", [](auto&) { return gzip(pax_bomb(40, 900 << 10), 9); },
               "decompression bomb"});
  c.push_back({"entry-count bomb",
               [](auto&) {
                 std::vector<TarEntry> v;
                 for (int i = 0; i < 1000; ++i) v.push_back(file("f" + std::to_string(i), ""));
                 return tar(v);
               },
               "more than 100 entries",
               {},
               {},
               [](ApplyOptions& o) { o.max_entries = 100; }});
  c.push_back({"duplicate file: last wins",
               [](auto&) {
                 return tar({file("a", "1"), file("a", "2")});
               },
               "", [](auto& root, auto&) { CHECK(read_file(root + "/a") == "2"); }});
  c.push_back({"file then dir",
               [](auto&) {
                 return tar({file("a", "1"), dir("a")});
               },
               "", [](auto& root, auto&) { CHECK(S_ISDIR(lstat_of(root + "/a").st_mode)); }});
  c.push_back({"dir then file",
               [](auto&) {
                 return tar({dir("a"), file("a/x", "1"), file("a", "2")});
               },
               "", [](auto& root, auto&) { CHECK(read_file(root + "/a") == "2"); }});
  c.push_back({"PAX name longer than 4096",
               [](auto&) {
                 std::string n;
                 for (int i = 0; i < 1100; ++i) n += "abc/";
                 return tar({file(n + "f")});
               },
               "longer than"});
  c.push_back({"long link target", [](auto&) { return tar({symlink("l", std::string(5000, 'x'))}); }, "longer than"});
  c.push_back({"newline and odd bytes in a name", [](auto&) { return tar({file("new\nline\x01\xff", "n")}); }, "",
               [](auto& root, auto&) { CHECK(read_file(root + "/new\nline\x01\xff") == "n"); }});
  c.push_back({"setuid file", [](auto&) { return tar({file("su", "x", 04755)}); }, "",
               [](auto& root, auto&) { CHECK((lstat_of(root + "/su").st_mode & 07777) == 04755); }});
  c.push_back({"symlink loop",
               [](auto&) {
                 return tar({symlink("l1", "l2"), symlink("l2", "l1"), file("l1/x")});
               },
               "l1/x"});
  c.push_back({"whiteout through a symlinked parent pointing outside",
               [](auto& base) {
                 return tar({symlink("e", base + "/outside"), file("e/.wh.secret", "")});
               },
               ""});
  c.push_back({"whiteout through an absolute symlink stays in the root",
               [](auto& base) {
                 return tar({symlink("e", base + "/outside"), file("e/.wh.secret", "")});
               },
               "",
               [](auto& root, auto&) {
                 CHECK_FALSE(exists(root + base_of(root) + "/outside/secret"));
                 CHECK(exists(root + base_of(root) + "/outside/keep"));
               },
               [](auto& root, auto& base) {
                 REQUIRE(std::system(("mkdir -p '" + root + base + "/outside'").c_str()) == 0);
                 write_file(root + base + "/outside/secret", "inner");
                 write_file(root + base + "/outside/keep", "inner");
               }});
  c.push_back({"whiteout via a .. symlink",
               [](auto&) {
                 return tar({symlink("up", ".."), file("up/.wh.outside", "")});
               },
               ""});
  c.push_back({"xattr on a symlink pointing outside",
               [](auto& base) {
                 TarEntry s = symlink("s", base + "/outside/secret");
                 s.xattrs = {{"user.x", "1"}, {"trusted.x", "1"}};
                 return tar({s});
               },
               "", [](auto&, auto& r) { CHECK_FALSE(r.skipped.empty()); }});
  c.push_back({"uid 4294967295",
               [](auto&) {
                 TarEntry f = file("u");
                 f.uid = 4294967295LL;
                 return tar({f});
               },
               "invalid uid"});
  c.push_back({"zip is not a layer", [](auto&) { return make_tar({file("a")}, ARCHIVE_FORMAT_ZIP); }, "not a tar"});
  c.push_back({"truncated gzip",
               [](auto&) {
                 std::string g = gzip(tar({file("a", std::string(100000, 'q'))}));
                 return g.substr(0, g.size() / 2);
               },
               "gzip"});
  c.push_back({"deep symlink chain is refused",
               [](auto&) {
                 std::vector<TarEntry> v{dir("d")};
                 for (int i = 1; i <= 45; ++i)
                   v.push_back(symlink("s" + std::to_string(i), i == 1 ? "d" : "s" + std::to_string(i - 1)));
                 v.push_back(file("s45/x"));
                 return tar(v);
               },
               "s45/x"});
  return c;
}

std::map<std::string, std::string> world(const std::string& base) {
  auto snap = snapshot(base);
  for (auto it = snap.begin(); it != snap.end();) {
    // The root may change; its entry in base (name, inode) must not.
    if (it->first.starts_with("./root/")) {
      it = snap.erase(it);
    } else {
      ++it;
    }
  }
  snap["./root"] = std::to_string(lstat_of(base + "/root").st_ino);
  // Only what a hardlink escape would change: other processes may edit it.
  struct stat pw = lstat_of("/etc/passwd");
  snap["/etc/passwd"] = std::to_string(pw.st_ino) + " " + std::to_string(pw.st_nlink);
  return snap;
}

void run_suite(bool fallback) {
  for (const Case& k : cases()) {
    INFO("case: " << k.name << (fallback ? " [fallback resolver]" : " [openat2]"));
    TempDir tmp;
    const std::string base = tmp.path();
    const std::string root = base + "/root";
    REQUIRE(::mkdir(root.c_str(), 0755) == 0);
    REQUIRE(::mkdir((base + "/outside").c_str(), 0755) == 0);
    REQUIRE(::mkdir((base + "/outside/dir").c_str(), 0700) == 0);
    write_file(base + "/outside/secret", "secret");
    write_file(base + "/outside/dir/f", "f", 04755);
    REQUIRE(::symlink("secret", (base + "/outside/link").c_str()) == 0);
    if (k.prepare) k.prepare(root, base);
    std::string blob = k.blob(base);
    auto before = world(base);

    ApplyOptions options;
    options.force_fallback_resolver = fallback;
    if (k.tweak) k.tweak(options);
    UniqueFd root_fd = open_dir(root);
    std::string error;
    ApplyResult result;
    try {
      result = apply_bytes(root_fd.get(), blob, options);
    } catch (const Error& e) {
      error = e.message();
    }
    CHECK(world(base) == before);
    CHECK_FALSE(exists("/tmp/outside"));
    CHECK_FALSE(exists("/tmp/x"));
    if (k.error.empty()) {
      CHECK(error == "");
      if (error.empty() && k.check) k.check(root, result);
    } else {
      CHECK_THAT(error, Catch::Matchers::Contains(k.error));
    }
    char sx[8];
    CHECK(::getxattr((base + "/outside/secret").c_str(), "user.x", sx, sizeof sx) < 0);
  }
}

TEST_CASE("hostile layers cannot escape the root (openat2)", "[unpack][hostile]") {
  REQUIRE(cases().size() >= 30);
  if (!openat2_available()) WARN("openat2 unavailable here: this run exercises the fallback too");
  run_suite(false);
}

TEST_CASE("hostile layers cannot escape the root (fallback resolver)", "[unpack][hostile]") { run_suite(true); }

}  // namespace
}  // namespace slipway::layers

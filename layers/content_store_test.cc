#include "layers/content_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "common/error.h"
#include "layers/pack_test_util.h"

using namespace slipway;
using slipway::testing::TempDir;

namespace {
size_t count_entries(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}
}  // namespace

TEST_CASE("content store: put, read back, digest equals sha256sum") {
  TempDir tmp;
  ContentStore cs(tmp.path());
  Digest d = cs.put("hello world\n");
  std::string sum = slipway::testing::run("sha256sum '" + cs.blob_path(d) + "'");
  CHECK(sum.substr(0, 64) == d.hex);
  CHECK(d.hex == "a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447");
  CHECK(cs.exists(d));
  CHECK(cs.size(d) == 12u);
  CHECK(cs.read_all(d) == "hello world\n");
  CHECK(cs.list() == std::vector<Digest>{d});
  cs.remove(d);
  CHECK_FALSE(cs.exists(d));
  CHECK_FALSE(cs.size(d).has_value());
  cs.remove(d);  // absent is fine
}

TEST_CASE("content store: commit verifies digest and size, leaves nothing on failure") {
  TempDir tmp;
  ContentStore cs(tmp.path());
  Digest wrong = sha256_of("other");
  CHECK_THROWS_AS(cs.put("data", wrong), Error);
  {
    auto w = cs.writer();
    w.write("abc", 3);
    CHECK_THROWS_WITH(w.commit(sha256_of("abc"), 4), Catch::Contains("size mismatch"));
  }
  {
    auto w = cs.writer();
    w.write("abc", 3);
    // Destroyed without commit: the temp file goes away.
  }
  CHECK(count_entries(tmp.path() + "/blobs/sha256") == 0);
  CHECK(cs.list().empty());
  CHECK(cs.put("abc", sha256_of("abc")) == sha256_of("abc"));
}

TEST_CASE("content store: skip_hashing trusts the caller's digest, still checks the size") {
  TempDir tmp;
  ContentStore cs(tmp.path());
  {
    auto w = cs.writer();
    w.skip_hashing();
    w.write("abc", 3);
    CHECK_THROWS_WITH(w.commit(), Catch::Contains("without a digest"));
  }
  {
    auto w = cs.writer();
    w.skip_hashing();
    w.write("abc", 3);
    CHECK_THROWS_WITH(w.commit(sha256_of("abc"), 4), Catch::Contains("size mismatch"));
  }
  {
    auto w = cs.writer();
    w.write("a", 1);
    CHECK_THROWS_WITH(w.skip_hashing(), Catch::Contains("after a write"));
  }
  auto w = cs.writer();
  w.skip_hashing();
  w.write("abc", 3);
  CHECK(w.commit(sha256_of("abc"), 3) == sha256_of("abc"));
  CHECK(cs.read_all(sha256_of("abc")) == "abc");
}

TEST_CASE("content store: reading a corrupted blob fails verification") {
  TempDir tmp;
  ContentStore cs(tmp.path());
  std::string big(300000, 'x');
  Digest d = cs.put(big);
  big[123456] = 'y';
  slipway::testing::write_file(cs.blob_path(d), big);
  CHECK_THROWS_WITH(cs.read_all(d), Catch::Contains("is corrupt"));
  // Without verification the bytes are returned as they are.
  auto r = cs.open(d, false);
  std::string buf(big.size(), '\0');
  size_t got = 0;
  while (size_t n = r.read(buf.data() + got, buf.size() - got)) got += n;
  CHECK(got == big.size());
}

TEST_CASE("content store: invalid digests never reach a path") {
  TempDir tmp;
  ContentStore cs(tmp.path());
  Digest evil{"sha256", "../../etc/passwd"};
  CHECK_THROWS_AS(cs.exists(evil), Error);
  CHECK_THROWS_AS(cs.blob_path(Digest{"md5", std::string(32, 'a')}), Error);
  CHECK_THROWS_WITH(cs.read_all(sha256_of("absent")), Catch::Contains("not found"));
}

TEST_CASE("content store: two processes commit the same and different blobs at once") {
  TempDir tmp;
  ContentStore cs(tmp.path());
  std::string shared(1 << 20, 's');
  std::vector<pid_t> kids;
  for (int k = 0; k < 2; ++k) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int rc = 0;
      try {
        ContentStore mine(tmp.path());
        for (int i = 0; i < 20; ++i) {
          // Interleave writes so both temp files are open at the same time.
          auto w = mine.writer();
          for (size_t off = 0; off < shared.size(); off += 4096) w.write(shared.data() + off, 4096);
          w.commit(sha256_of(shared));
          mine.put("only in child " + std::to_string(k) + " #" + std::to_string(i));
        }
      } catch (...) {
        rc = 1;
      }
      ::_exit(rc);
    }
    kids.push_back(pid);
  }
  for (pid_t pid : kids) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  auto blobs = cs.list();
  CHECK(blobs.size() == 41);
  CHECK(count_entries(tmp.path() + "/blobs/sha256") == 41);  // no temp files left
  for (auto& d : blobs) CHECK_NOTHROW(cs.read_all(d));
}

TEST_CASE("content store: abandoned temp files are removed, live writers' are not") {
  TempDir tmp;
  ContentStore cs(tmp.path());
  std::string dir = tmp.path() + "/blobs/sha256";
  auto age = [&](const std::string& path) {
    struct timespec old[2] = {{0, UTIME_OMIT}, {::time(nullptr) - 3600, 0}};
    REQUIRE(::utimensat(AT_FDCWD, path.c_str(), old, 0) == 0);
  };
  // A writer that crashed: its temp file exists and nobody holds its lock.
  testing::write_file(dir + "/.tmp-dead", "partial");
  age(dir + "/.tmp-dead");
  // A live writer that has been quiet for an hour keeps its file.
  auto w = cs.writer();
  w.write("abc", 3);
  std::string live;
  for (auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().filename() != ".tmp-dead") live = e.path().string();
  }
  REQUIRE(!live.empty());
  age(live);
  // A fresh abandoned file may be a writer between open and flock: kept.
  testing::write_file(dir + "/.tmp-young", "x");
  auto blob = cs.put("committed");

  CHECK(cs.remove_abandoned() == 1);
  CHECK(!std::filesystem::exists(dir + "/.tmp-dead"));
  CHECK(std::filesystem::exists(live));
  CHECK(std::filesystem::exists(dir + "/.tmp-young"));
  CHECK(cs.exists(blob));
  CHECK(w.commit() == sha256_of("abc"));
  CHECK(cs.remove_abandoned(0) == 1);  // now .tmp-young counts as abandoned
  CHECK(count_entries(dir) == 2);
}

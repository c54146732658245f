#include "builder/userns.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>

using namespace slipway::sandbox;

TEST_CASE("subordinate ranges are found by name or uid, malformed lines skipped") {
  char path[] = "/tmp/slipway-subuid.XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  std::ofstream(path) << "alice:100000:65536\nbroken line\nbob:x:y\n1001:200000:1000\ncarol:300000:0\n";
  auto a = find_subordinate_range(path, "alice", 1000);
  REQUIRE(a);
  CHECK(a->outside == 100000);
  CHECK(a->count == 65536);
  CHECK(a->inside == 1);
  auto by_uid = find_subordinate_range(path, "dave", 1001);
  REQUIRE(by_uid);
  CHECK(by_uid->outside == 200000);
  CHECK_FALSE(find_subordinate_range(path, "bob", 5));
  CHECK_FALSE(find_subordinate_range(path, "carol", 6));  // an empty range maps nothing
  CHECK_FALSE(find_subordinate_range("/nonexistent/subuid", "alice", 1000));
  std::remove(path);
}

TEST_CASE("the planned mapping always maps the caller to root first") {
  auto m = plan_id_mapping();
  REQUIRE_FALSE(m.uids.empty());
  CHECK(m.uids[0].inside == 0);
  CHECK(m.uids[0].outside == geteuid());
  CHECK(m.uids[0].count == 1);
  CHECK(m.gids[0].outside == getegid());
}

TEST_CASE("user namespaces can be created on this machine") {
  // The rootless build depends on it; the reason names what is missing.
  CHECK(userns_unavailable_reason() == "");
}

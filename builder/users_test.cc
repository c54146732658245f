#include "builder/users.h"

#include <catch2/catch.hpp>
#include <map>

#include "common/error.h"

using namespace slipway::build;

namespace {
RootFileReader files() {
  static const std::map<std::string, std::string> f = {
      {"etc/passwd",
       "root:x:0:0:root:/root:/bin/sh\n# comment\nbroken\napp:x:1000:1000:App:/home/app:/bin/sh\n"
       "www:x:33:33::/var/www:/bin/false\n"},
      {"etc/group", "root:x:0:\nwww:x:33:app\nstaff:x:50:app,www\napp:x:1000:\nbad:x:zz:\n"},
  };
  return [](const std::string& rel) -> std::optional<std::string> {
    auto it = f.find(rel);
    if (it == f.end()) return std::nullopt;
    return it->second;
  };
}
}  // namespace

TEST_CASE("USER resolves names through the image's passwd and group") {
  auto u = resolve_user("app", files());
  CHECK(u.uid == 1000);
  CHECK(u.gid == 1000);
  CHECK(u.home == "/home/app");
  CHECK(u.groups == std::vector<uint32_t>{1000, 33, 50});
  auto w = resolve_user("www:staff", files());
  CHECK(w.uid == 33);
  CHECK(w.gid == 50);
  auto n = resolve_user("4242", files());
  CHECK(n.uid == 4242);
  CHECK(n.gid == 0);
  auto ng = resolve_user("4242:4343", files());
  CHECK(ng.gid == 4343);
  CHECK_THROWS_WITH(resolve_user("nobody", files()), Catch::Contains("unable to find user nobody"));
  CHECK_THROWS_WITH(resolve_user("app:nogroup", files()), Catch::Contains("unable to find group nogroup"));
}

TEST_CASE("COPY --chown uses the uid as gid when no group is known") {
  CHECK(resolve_chown("1234:5678", files()) == std::pair<uint32_t, uint32_t>{1234, 5678});
  CHECK(resolve_chown("1234", files()) == std::pair<uint32_t, uint32_t>{1234, 1234});
  CHECK(resolve_chown("app", files()) == std::pair<uint32_t, uint32_t>{1000, 1000});
  CHECK(resolve_chown("www:staff", files()) == std::pair<uint32_t, uint32_t>{33, 50});
  CHECK_THROWS(resolve_chown("ghost", files()));
  auto none = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  CHECK(resolve_chown("10:20", none) == std::pair<uint32_t, uint32_t>{10, 20});
}

#include "common/platform.h"

#include <catch2/catch.hpp>

#include "common/error.h"

using slipway::parse_platform;

TEST_CASE("platform strings are normalised as containerd does") {
  CHECK(parse_platform("linux/amd64").str() == "linux/amd64");
  CHECK(parse_platform("linux/arm64").str() == "linux/arm64/v8");
  CHECK(parse_platform("linux/aarch64").str() == "linux/arm64/v8");
  CHECK(parse_platform("linux/arm").str() == "linux/arm/v7");
  CHECK(parse_platform("linux/arm/v6").str() == "linux/arm/v6");
  CHECK(parse_platform("Linux/X86_64").str() == "linux/amd64");
  CHECK(parse_platform("linux/386").str() == "linux/386");
}

TEST_CASE("malformed platforms are rejected") {
  CHECK_THROWS_AS(parse_platform("linux"), slipway::Error);
  CHECK_THROWS_AS(parse_platform("linux/"), slipway::Error);
  CHECK_THROWS_AS(parse_platform("/amd64"), slipway::Error);
  CHECK_THROWS_AS(parse_platform("a/b/c/d"), slipway::Error);
}

TEST_CASE("an empty wanted variant matches any") {
  CHECK(slipway::platform_matches(parse_platform("linux/arm64"), {"linux", "arm64", "v8", ""}));
  CHECK(slipway::platform_matches({"linux", "arm", "", ""}, {"linux", "arm", "v7", ""}));
  CHECK_FALSE(slipway::platform_matches(parse_platform("linux/arm/v6"), {"linux", "arm", "v7", ""}));
  CHECK_FALSE(slipway::platform_matches(parse_platform("linux/amd64"), {"linux", "arm64", "v8", ""}));
}

TEST_CASE("the host platform is an OCI platform") {
  auto p = slipway::host_platform();
  CHECK(p.os == "linux");
  CHECK(p.architecture != "x86_64");
  CHECK(p.architecture != "aarch64");
}

#include "common/digest.h"

#include <catch2/catch.hpp>

#include "common/error.h"

using slipway::Digest;

TEST_CASE("sha256 of known inputs") {
  CHECK(slipway::sha256_of("").str() ==
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  slipway::Sha256 h;
  h.update("ab");
  h.update("c");
  CHECK(h.finish().hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("digests are validated before use as paths") {
  auto d = Digest::parse("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(d.algorithm == "sha256");
  CHECK_THROWS_AS(Digest::parse("sha256:../../etc/passwd"), slipway::Error);
  CHECK_THROWS_AS(Digest::parse("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"),
                  slipway::Error);
  CHECK_THROWS_AS(Digest::parse("md5:d41d8cd98f00b204e9800998ecf8427e"), slipway::Error);
  CHECK_THROWS_AS(Digest::parse("nocolon"), slipway::Error);
}

#include "registry/reference.h"

#include <catch2/catch.hpp>
#include <string>

#include "common/error.h"

using slipway::registry::Reference;

namespace {

const std::string kSha = "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

// The error message of parsing `text`, or "" if it parsed.
std::string parse_error(const std::string& text) {
  try {
    Reference::parse(text);
  } catch (const slipway::Error& e) {
    return e.message();
  }
  return "";
}

}  // namespace

TEST_CASE("familiar names are normalised to docker.io/library") {
  auto r = Reference::parse("alpine");
  CHECK(r.registry == "docker.io");
  CHECK(r.repository == "library/alpine");
  CHECK(r.tag == "latest");
  CHECK(r.digest.empty());
  CHECK(r.str() == "docker.io/library/alpine:latest");
  CHECK(r.familiar() == "alpine:latest");
  CHECK(r.name() == "docker.io/library/alpine");

  CHECK(Reference::parse("docker.io/alpine").str() == "docker.io/library/alpine:latest");
  CHECK(Reference::parse("index.docker.io/library/alpine").str() == "docker.io/library/alpine:latest");
  CHECK(Reference::parse("index.docker.io/debian:12").str() == "docker.io/library/debian:12");
  CHECK(Reference::parse("library/debian").str() == "docker.io/library/debian:latest");
  CHECK(Reference::parse("user/app:1.0").str() == "docker.io/user/app:1.0");
  CHECK(Reference::parse("user/app:1.0").familiar() == "user/app:1.0");
  // Nested names under library/ keep their prefix in the familiar form.
  CHECK(Reference::parse("library/foo/bar").familiar() == "library/foo/bar:latest");
  CHECK(Reference::parse("docker.io/library/foo").familiar() == "foo:latest");
}

TEST_CASE("the first component is a registry only if it looks like a host") {
  auto r = Reference::parse("localhost:5000/a");
  CHECK(r.registry == "localhost:5000");
  CHECK(r.repository == "a");
  CHECK(r.str() == "localhost:5000/a:latest");
  CHECK(r.familiar() == "localhost:5000/a:latest");

  r = Reference::parse("localhost/a");
  CHECK(r.registry == "localhost");
  CHECK(r.repository == "a");

  // No '/': "a:5000" is repository a with tag 5000, not a host and port.
  r = Reference::parse("a:5000");
  CHECK(r.registry == "docker.io");
  CHECK(r.repository == "library/a");
  CHECK(r.tag == "5000");

  r = Reference::parse("example.com/a/b/c:tag");
  CHECK(r.registry == "example.com");
  CHECK(r.repository == "a/b/c");
  CHECK(r.tag == "tag");
  CHECK(r.familiar() == "example.com/a/b/c:tag");

  r = Reference::parse("127.0.0.1:5000/x");
  CHECK(r.registry == "127.0.0.1:5000");
  CHECK(r.repository == "x");

  r = Reference::parse("[::1]:5000/x");
  CHECK(r.registry == "[::1]:5000");
  CHECK(r.repository == "x");
  CHECK(r.tag == "latest");

  r = Reference::parse("[2001:db8::1]/repo:tag");
  CHECK(r.registry == "[2001:db8::1]");
  CHECK(r.tag == "tag");

  CHECK(Reference::parse("test_com/foo").registry == "docker.io");
  CHECK(Reference::parse("test_com/foo").repository == "test_com/foo");
  CHECK(Reference::parse("test-com:8080/foo").registry == "test-com:8080");
  CHECK(Reference::parse("xn--n3h.com:18080/foo").registry == "xn--n3h.com:18080");
  CHECK(Reference::parse("foo/foo_bar.com:8080").repository == "foo/foo_bar.com");
  CHECK(Reference::parse("foo/foo_bar.com:8080").tag == "8080");
  CHECK(Reference::parse("192.168.1.1:5000/repo:5050").tag == "5050");
  // Upper case is never valid in a path, so Docker takes it as a host.
  CHECK(Reference::parse("Foo/bar").registry == "Foo");
  CHECK(Reference::parse("Foo/bar").familiar() == "Foo/bar:latest");
}

TEST_CASE("tags and digests") {
  auto r = Reference::parse("a@" + kSha);
  CHECK(r.tag.empty());  // no default tag when pinned
  CHECK(r.digest == kSha);
  CHECK(r.str() == "docker.io/library/a@" + kSha);
  CHECK(r.manifest_ref() == kSha);

  r = Reference::parse("a:v1@" + kSha);
  CHECK(r.tag == "v1");
  CHECK(r.digest == kSha);
  CHECK(r.str() == "docker.io/library/a:v1@" + kSha);
  CHECK(r.familiar() == "a:v1@" + kSha);

  r = Reference::parse("[2001:db8::1]:5000/repo:tag@" + kSha);
  CHECK(r.registry == "[2001:db8::1]:5000");
  CHECK(r.tag == "tag");
  CHECK(r.digest == kSha);

  std::string sha512 = "sha512:" + std::string(128, 'f');
  CHECK(Reference::parse("xn--7o8h.com/myimage:xn--7o8h.com@" + sha512).digest == sha512);

  CHECK(Reference::parse("lowercase:Uppercase").tag == "Uppercase");
  CHECK(Reference::parse("a:" + std::string(128, 't')).tag.size() == 128);
  CHECK(Reference::parse("a:_x").tag == "_x");
  CHECK(Reference::parse("a").manifest_ref() == "latest");
}

TEST_CASE("valid names from distribution's tests") {
  for (const char* s : {"docker/docker", "debian", "docker.io/docker/docker", "127.0.0.1:5000/library/debian",
                        "192.168.0.1", "192.168.0.1:80", "192.168.0.1:8/debian", "[fc00::1]:5000/docker/docker",
                        "[fc00:1:2:3:4:5:6:7]:5000/library/debian", "docker-rules/docker", "docker---rules/docker",
                        "d/docker", "jess/t", "dock__er/docker", "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
                        "b.gcr.io/test.example.com/my-app:test.example.com", "DOCKER/docker",
                        "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
                        "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a"}) {
    INFO(s);
    CHECK(parse_error(s) == "");
  }
}

TEST_CASE("bad references are rejected with a message quoting the input") {
  CHECK(parse_error("ALPINE") == "invalid reference \"ALPINE\": repository name must be lowercase");
  CHECK(parse_error("a/B") == "invalid reference \"a/B\": repository name must be lowercase");
  CHECK(parse_error("Uppercase:tag").find("must be lowercase") != std::string::npos);
  CHECK(parse_error("test:5000/Uppercase/lowercase:tag").find("must be lowercase") != std::string::npos);
  CHECK(parse_error("docker.io/docker/Docker").find("must be lowercase") != std::string::npos);

  CHECK(parse_error("") == "invalid reference \"\": repository name must have at least one component");
  CHECK(parse_error(":tag").find("at least one component") != std::string::npos);
  CHECK(parse_error("a:").find("invalid tag \"\"") != std::string::npos);
  CHECK(parse_error("a:.x").find("invalid tag") != std::string::npos);
  CHECK(parse_error("a:-x").find("invalid tag") != std::string::npos);
  CHECK(parse_error("a:" + std::string(129, 't')).find("invalid tag") != std::string::npos);
  CHECK(parse_error("a::b").find("\"a::b\"") != std::string::npos);

  CHECK(parse_error("a@sha256:short").find("invalid digest") != std::string::npos);
  CHECK(parse_error("a@sha256:short").find("\"a@sha256:short\"") != std::string::npos);
  CHECK(parse_error("repo@sha256:ffffffffffffffffffffffffffffffffff").find("invalid digest") != std::string::npos);
  CHECK(parse_error("validname@invaliddigest:" + std::string(64, 'f')).find("digest") != std::string::npos);
  CHECK(parse_error("@" + kSha) != "");
  CHECK(parse_error("a@" + kSha + "@" + kSha).find("invalid digest") != std::string::npos);

  // The path limit is 255 characters: 127 "a/" + "a" is exactly that.
  std::string long_ok = "";
  for (int i = 0; i < 127; ++i) long_ok += "a/";
  long_ok += "a";
  CHECK(Reference::parse(long_ok + ":tag-puts-this-over-max").repository == long_ok);
  CHECK(parse_error("a/" + long_ok + ":tag").find("must not be more than 255 characters") != std::string::npos);
  CHECK(parse_error(std::string(256, 'a')).find("255") != std::string::npos);

  // Invalid characters and shapes, each quoted.
  for (const char* s :
       {"aa/asdf$$^/aa", "https://github.com/docker/docker", "-docker", "-docker/docker", "-docker.io/docker/docker",
        "docker///docker", "docker.io/docker///docker", "[fc00::1]", "[fc00::1]:5000", "fc00::1:5000/debian",
        "[fe80::1%eth0]:5000/debian", "[2001:db8:3:4::192.0.2.33]:5000/debian", "[2001:db8::1]:tag",
        "docker-/docker", "-docker-/docker", "____/____", "_docker/_docker", "dock..er/docker", "dock_.er/docker",
        "dock-.er/docker", "docker/", "a b", "a/b/", "/a", "localhost:/a", "localhost:50a/a", "a..b.com/x",
        "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a", "ex-.com/a", "a___b"}) {
    INFO(s);
    std::string msg = parse_error(s);
    CHECK(msg.find(std::string("\"") + s + "\"") != std::string::npos);
  }
}

TEST_CASE("with_tag and with_digest validate and keep the other field") {
  auto r = Reference::parse("test.com:8000/foo");
  CHECK(r.with_tag("TAG5").str() == "test.com:8000/foo:TAG5");
  auto pinned = r.with_digest(kSha);
  CHECK(pinned.tag == "latest");
  CHECK(pinned.with_tag("v2").str() == "test.com:8000/foo:v2@" + kSha);
  CHECK_THROWS_AS(r.with_tag("-foo"), slipway::Error);
  CHECK_THROWS_AS(r.with_tag(""), slipway::Error);
  CHECK_THROWS_AS(r.with_digest("foo"), slipway::Error);
  CHECK_THROWS_AS(r.with_digest("sha256:1234"), slipway::Error);
  // Round trip: the canonical string parses back to the same reference.
  for (const char* s : {"alpine", "a:v1", "[::1]:5000/x@sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
                        "localhost/a/b:c", "Foo/bar"}) {
    auto p = Reference::parse(s);
    CHECK(Reference::parse(p.str()) == p);
    CHECK(Reference::parse(p.familiar()) == p);
  }
}

#include "builder/isolation.h"

#include <catch2/catch.hpp>

#include "common/error.h"

using slipway::Error;
using slipway::build::Isolation;
using namespace slipway::sandbox;

namespace {

IsolationProbe host_root() { return {true, 0, "", "", ""}; }
IsolationProbe pod_root() {
  return {true, 0, "unshare(CLONE_NEWNS|...): Operation not permitted",
          "unshare(CLONE_NEWUSER|CLONE_NEWNS): Operation not permitted", ""};
}
IsolationProbe rootless(bool userns) {
  return {false, 1000, "not root", userns ? "" : "unshare(CLONE_NEWUSER|CLONE_NEWNS): Operation not permitted",
          "not root"};
}

std::string error_of(Isolation requested, const IsolationProbe& p) {
  try {
    choose_isolation(requested, p);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("auto keeps host namespaces for root where mounts work") {
  CHECK(choose_isolation(Isolation::kAuto, host_root()).mode == Mode::kHostNamespaces);
  CHECK(choose_isolation(Isolation::kUserns, host_root()).mode == Mode::kHostNamespaces);
  CHECK(choose_isolation(Isolation::kChroot, host_root()).mode == Mode::kChroot);
}

TEST_CASE("auto picks chroot for root in a pod, and says why") {
  auto c = choose_isolation(Isolation::kAuto, pod_root());
  CHECK(c.mode == Mode::kChroot);
  CHECK(c.why.find("Operation not permitted") != std::string::npos);
  CHECK(c.why.find("not a security boundary") != std::string::npos);
}

TEST_CASE("root without mount privileges but with user namespaces uses userns") {
  auto p = pod_root();
  p.userns = "";
  CHECK(choose_isolation(Isolation::kAuto, p).mode == Mode::kUserns);
}

TEST_CASE("rootless uses userns when it works") {
  CHECK(choose_isolation(Isolation::kAuto, rootless(true)).mode == Mode::kUserns);
}

TEST_CASE("rootless without user namespaces fails naming what is missing and what would work") {
  std::string e = error_of(Isolation::kAuto, rootless(false));
  CHECK(e.find("allows no namespaces") != std::string::npos);
  CHECK(e.find("uid 1000") != std::string::npos);
  CHECK(e.find("--isolation chroot") != std::string::npos);
  CHECK(e.find("--isolation userns") != std::string::npos);
}

TEST_CASE("explicit modes that cannot work say what would") {
  CHECK(error_of(Isolation::kChroot, rootless(true)).find("needs root") != std::string::npos);
  CHECK(error_of(Isolation::kChroot, rootless(true)).find("--isolation userns works here") != std::string::npos);
  CHECK(error_of(Isolation::kUserns, pod_root()).find("--isolation chroot works here") != std::string::npos);
  auto no_chroot = pod_root();
  no_chroot.chroot = "chroot: Operation not permitted";
  CHECK(error_of(Isolation::kChroot, no_chroot).find("CAP_SYS_CHROOT") != std::string::npos);
  CHECK(error_of(Isolation::kAuto, no_chroot).find("CAP_SYS_CHROOT") != std::string::npos);
}

TEST_CASE("the probe of this machine is consistent") {
  auto p = probe_isolation();
  if (!p.root) CHECK(p.chroot == "not root");
  // Whatever the machine allows, auto either chooses or explains.
  try {
    choose_isolation(Isolation::kAuto, p);
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("cannot isolate RUN steps") != std::string::npos);
  }
}

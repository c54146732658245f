#include "common/fd_pass.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/fd.h"

using namespace slipway;

TEST_CASE("fd_pass: a descriptor sent over a socketpair refers to the same file, and is CLOEXEC") {
  int sv[2], p[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
  REQUIRE(pipe2(p, O_CLOEXEC) == 0);
  UniqueFd a(sv[0]), b(sv[1]), rd(p[0]), wr(p[1]);
  REQUIRE(send_fd(a.get(), wr.get()));
  UniqueFd got(receive_fd(b.get()));
  REQUIRE(got);
  CHECK(got.get() != wr.get());
  CHECK((fcntl(got.get(), F_GETFD) & FD_CLOEXEC) != 0);
  REQUIRE(write(got.get(), "hi", 2) == 2);
  char buf[2];
  REQUIRE(read(rd.get(), buf, 2) == 2);
  CHECK(std::string(buf, 2) == "hi");
}

TEST_CASE("fd_pass: a closed peer or a message without a descriptor gives -1") {
  int sv[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
  UniqueFd a(sv[0]), b(sv[1]);
  REQUIRE(write(a.get(), "x", 1) == 1);
  CHECK(receive_fd(b.get()) == -1);
  a.reset();
  CHECK(receive_fd(b.get()) == -1);
  CHECK_FALSE(send_fd(b.get(), 0));
}

#include "builder/step_report.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <utility>
#include <vector>

#include "common/fd.h"

using namespace slipway;
using namespace slipway::sandbox;

namespace {

std::pair<UniqueFd, UniqueFd> make_pipe() {
  int fds[2];
  REQUIRE(pipe2(fds, O_CLOEXEC) == 0);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

std::vector<std::pair<char, std::string>> read_all(int fd) {
  std::vector<std::pair<char, std::string>> lines;
  read_report(fd, [&](char tag, const std::string& text) { lines.emplace_back(tag, text); });
  return lines;
}

}  // namespace

TEST_CASE("step report: every record survives the pipe, a path with a newline too") {
  auto [rd, wr] = make_pipe();
  Reporter rep(wr.get());
  rep.created("/proc");
  rep.warn("chown is faked");
  rep.owner("/odd\nname", 1234, 5678);
  rep.pgid(4321);
  wr.reset();
  auto lines = read_all(rd.get());
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] == std::make_pair('M', std::string("/proc")));
  CHECK(lines[1] == std::make_pair('W', std::string("chown is faked")));
  CHECK(lines[3] == std::make_pair('P', std::string("4321")));
  REQUIRE(lines[2].first == 'O');
  OwnerMap owners;
  parse_owner(lines[2].second, owners);
  REQUIRE(owners.size() == 1);
  CHECK(owners.at("/odd\nname") == std::make_pair(1234u, 5678u));
}

TEST_CASE("step report: a last line without its newline is delivered; junk owners are ignored") {
  auto [rd, wr] = make_pipe();
  REQUIRE(write(wr.get(), "Wone\nEtwo", 9) == 9);
  wr.reset();
  auto lines = read_all(rd.get());
  REQUIRE(lines.size() == 2);
  CHECK(lines[1] == std::make_pair('E', std::string("two")));
  OwnerMap owners;
  parse_owner("12", owners);
  parse_owner("", owners);
  parse_owner("a b 2f78", owners);
  parse_owner("1 2 2f7", owners);
  parse_owner("1 2 zz", owners);
  parse_owner("1 2 ", owners);
  parse_owner("99999999999 2 2f78", owners);
  CHECK(owners.empty());
}

TEST_CASE("step report: a forked child's fail reports the errno text and exits 126; exit codes read as a shell's") {
  auto child = fork_reporting_child([](int fd) { Reporter(fd).fail("mount /proc", EPERM); });
  pid_t pid = child.pid;
  auto lines = read_all(child.report.get());
  volatile sig_atomic_t slot = pid;
  CHECK(wait_exit_code(pid, slot) == 126);
  CHECK(slot == 0);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].second == "mount /proc: Operation not permitted");

  pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    pause();
    _exit(0);
  }
  // SIGKILL: Catch2 handles SIGTERM, in the forked child too.
  kill(pid, SIGKILL);
  slot = pid;
  CHECK(wait_exit_code(pid, slot) == 128 + SIGKILL);
}

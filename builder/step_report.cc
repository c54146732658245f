#include "builder/step_report.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "common/error.h"

namespace slipway::sandbox {

void Reporter::send(char tag, const std::string& text) {
  std::string line = tag + text + "\n";
  (void)!write(fd_, line.data(), line.size());
}

// Paths are hex-encoded: a file name may hold a newline.
void Reporter::owner(const std::string& path, uint32_t uid, uint32_t gid) {
  static const char hex[] = "0123456789abcdef";
  std::string h;
  for (unsigned char c : path) {
    h.push_back(hex[c >> 4]);
    h.push_back(hex[c & 15]);
  }
  send('O', std::to_string(uid) + " " + std::to_string(gid) + " " + h);
}

void Reporter::fail(const std::string& what, int err) {
  send('E', what + ": " + strerror(err));
  _exit(126);
}

ReportingChild fork_reporting_child(const std::function<void(int)>& child) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw sys_error("pipe");
  UniqueFd rd(fds[0]), wr(fds[1]);
  pid_t pid = fork();
  if (pid < 0) throw sys_error("fork");
  if (pid == 0) {
    rd.reset();
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    child(wr.get());
    _exit(127);  // `child` returned: a bug, but never back into the builder
  }
  return {pid, std::move(rd)};
}

void parse_owner(const std::string& text, OwnerMap& out) {
  // "<uid> <gid> <hex path>", numbers in full or the record is dropped.
  auto number = [](const char*& p, const char* end, int base, uint32_t& v) {
    auto [next, ec] = std::from_chars(p, end, v, base);
    bool ok = ec == std::errc() && next != p;
    p = next;
    return ok;
  };
  const char* p = text.data();
  const char* end = p + text.size();
  uint32_t uid = 0, gid = 0;
  if (!number(p, end, 10, uid) || p == end || *p++ != ' ') return;
  if (!number(p, end, 10, gid) || p == end || *p++ != ' ') return;
  if ((end - p) % 2 != 0) return;
  std::string path;
  for (; p != end; p += 2) {
    uint32_t byte = 0;
    const char* q = p;
    if (!number(q, p + 2, 16, byte) || q != p + 2) return;
    path.push_back(static_cast<char>(byte));
  }
  if (!path.empty()) out[path] = {uid, gid};
}

void read_report(int fd, const std::function<void(char, const std::string&)>& on_line) {
  std::string buf;
  char chunk[4096];
  auto deliver = [&](size_t len) {
    if (len > 0) on_line(buf[0], buf.substr(1, len - 1));
  };
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buf.append(chunk, static_cast<size_t>(n));
    for (size_t nl; (nl = buf.find('\n')) != std::string::npos; buf.erase(0, nl + 1)) deliver(nl);
  }
  deliver(buf.size());
}

int wait_exit_code(pid_t pid, volatile sig_atomic_t& slot) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      slot = 0;
      throw sys_error("waitpid");
    }
  }
  slot = 0;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace slipway::sandbox

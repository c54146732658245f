#include "builder/step_report.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
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

void parse_owner(const std::string& text, OwnerMap& out) {
  auto sp1 = text.find(' '), sp2 = sp1 == std::string::npos ? sp1 : text.find(' ', sp1 + 1);
  if (sp2 == std::string::npos) return;
  std::string hex = text.substr(sp2 + 1), path;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    path.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  out[path] = {static_cast<uint32_t>(std::stoul(text.substr(0, sp1))),
               static_cast<uint32_t>(std::stoul(text.substr(sp1 + 1, sp2 - sp1 - 1)))};
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

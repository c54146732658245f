#pragma once
// Both ends of a RUN step's report pipe, shared by the namespace sandbox and
// the chroot runner. The child writes one "<tag><text>\n" line per event over
// a CLOEXEC pipe; its EOF means the step's process tree is gone (or exec'd).
//   M<path>  a mount point the sandbox had to create (removed from the layer)
//   E<text>  setup failed (the child then exits 126)
//   W<text>  a warning for the build log
//   O<uid> <gid> <hex path>  an owner kept on the side (faked chown)
//   P<pgid>  the step's process group (chroot mode, for SIGINT cleanup)
#include <signal.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>

#include "builder/chown_supervisor.h"
#include "common/fd.h"

namespace slipway::sandbox {

// The child's end. Writes are best effort: a parent that is gone cannot
// hear anything anyway.
class Reporter {
 public:
  explicit Reporter(int fd) : fd_(fd) {}
  void created(const std::string& path) { send('M', path); }
  void warn(const std::string& what) { send('W', what); }
  void owner(const std::string& path, uint32_t uid, uint32_t gid);
  void pgid(pid_t pgid) { send('P', std::to_string(pgid)); }
  [[noreturn]] void fail(const std::string& what, int err);

 private:
  void send(char tag, const std::string& text);
  int fd_;
};

// Decodes an 'O' record's text into `out`; a malformed record is ignored.
void parse_owner(const std::string& text, OwnerMap& out);

// Forks the process that sets up and runs a step. The child gets the
// report pipe's write end, dies with the builder (PDEATHSIG), has the
// builder's blocked signals unblocked (the step must get SIGINT/SIGTERM as
// any process does), and runs `child`, which must not return. The parent
// gets the pid and the read end.
struct ReportingChild {
  pid_t pid = -1;
  UniqueFd report;
};
ReportingChild fork_reporting_child(const std::function<void(int report_fd)>& child);

// Reads `fd` to EOF, calling `on_line(tag, text)` for each line as it arrives
// (so a pgid reported first is known while the step runs). A last line
// without its newline is still delivered.
void read_report(int fd, const std::function<void(char tag, const std::string& text)>& on_line);

// Waits for `pid` (retrying EINTR) and returns its exit code the way a shell
// reports it: the exit status, or 128 + the signal. `slot`, the pid a signal
// handler would kill, is cleared once the child is reaped, or on error.
int wait_exit_code(pid_t pid, volatile sig_atomic_t& slot);

}  // namespace slipway::sandbox

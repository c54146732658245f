#include "builder/interrupt.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <mutex>
#include <thread>

#include "builder/sandbox.h"
#include "common/temp_dir.h"

namespace slipway::build {

namespace {

std::mutex g_mu;
std::string g_dir;

}  // namespace

void install_interrupt_handler() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set] {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) return;
    sandbox::kill_running_step();
    std::string dir;
    {
      std::lock_guard<std::mutex> lock(g_mu);
      dir = g_dir;
    }
    if (!dir.empty()) {
      try {
        remove_tree(dir);
      } catch (...) {
      }
    }
    static const char msg[] = "slipway: interrupted\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(128 + sig);
  }).detach();
}

void set_interrupt_cleanup_dir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_dir = dir;
}

}  // namespace slipway::build

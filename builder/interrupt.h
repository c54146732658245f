#pragma once
// SIGINT/SIGTERM/SIGHUP during a build: kill the running step's process
// tree, remove the build's scratch dir, exit 128+signal. Mounts need no
// cleanup: they live in mount namespaces that die with the processes.
//
// The signals are blocked in every thread and taken by one thread with
// sigwait(2), so the cleanup runs as ordinary code, not in a handler. A
// blocked signal is also never dropped when the builder is PID 1 of its
// namespace (the rootless re-exec), where an unhandled one would be.
#include <string>

namespace slipway::build {

// Starts the signal thread; call before any other thread exists.
void install_interrupt_handler();

// The directory to remove on interrupt ("" for none).
void set_interrupt_cleanup_dir(const std::string& dir);

}  // namespace slipway::build

#pragma once
// Build progress for people and for machines: "[stage 2/3] step 4/9 RUN ..."
// lines with each step's duration and layer size, or with --log-format json
// one JSON object per event. Plain lines (no redraw) when stderr is not a TTY,
// which is what CI logs want. On a TTY (`tty`), the running step's line is
// redrawn in place with a timer and the bytes pulled or pushed so far, and
// becomes a plain line once the step is done. Nothing secret is ever passed
// in here: callers print instructions as written (unexpanded), never secret
// values.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "builder/build_options.h"

namespace slipway::build {

class Progress {
 public:
  // `tty`: redraw in place (text format only; see use_tty()).
  Progress(LogFormat format, std::ostream& out, bool verbose = false, bool tty = false);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void stage(int index, int count, const std::string& name, const std::string& base);
  void step(int stage, int stages, int step, int steps, const std::string& instruction);
  // Ends the current step: its duration, and the layer it made (-1 for none).
  void step_done(int64_t layer_bytes, const std::string& detail = "");
  // Ends the current step as a cache hit: "... step 3/7 CACHED" (nothing ran).
  void step_cached(int64_t layer_bytes);
  void info(const std::string& message);
  void warn(const std::string& message);
  void debug(const std::string& message);
  // A finished output: "pushed", "wrote OCI layout", with a digest.
  void result(const std::string& what, const std::string& where, const std::string& digest);
  // Bytes of a pull or push so far ("pull", 1200000, 4000000): shown on the
  // live line on a TTY, nothing otherwise (the log has its own lines).
  void transfer(const std::string& what, uint64_t done, uint64_t total);

 private:
  void emit(nlohmann::json event, const std::string& text, bool ends_step = false);
  void draw_live();  // with mu_ held
  void tick();
  LogFormat format_;
  std::ostream& out_;
  bool verbose_;
  bool tty_;
  size_t width_ = 80;
  std::mutex mu_;
  std::chrono::steady_clock::time_point step_start_;
  std::string step_label_;
  // TTY only: the unfinished line on screen (a running step, or a transfer
  // outside any step), redrawn by a ticker thread.
  std::string live_;
  std::string transfer_;
  bool timer_ = false;  // live_ is a step: show its running time
  bool stop_ = false;
  std::condition_variable cv_;
  std::thread ticker_;
};

// --progress: "tty" and "plain" force a mode; "auto" redraws when stderr is
// a terminal and TERM is set and not "dumb" (as BuildKit decides).
bool use_tty(const std::string& mode);

// "12.3MB", "512B": the units docker history uses.
std::string human_size(int64_t bytes);

}  // namespace slipway::build

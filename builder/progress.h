#pragma once
// Build progress for people and for machines: "[stage 2/3] step 4/9 RUN ..."
// lines with each step's duration and layer size, or with --log-format json
// one JSON object per event. Plain lines (no redraw) when stderr is not a TTY,
// which is what CI logs want. Nothing secret is ever passed in here: callers
// print instructions as written (unexpanded), never secret values.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "builder/build_options.h"

namespace slipway::build {

class Progress {
 public:
  Progress(LogFormat format, std::ostream& out, bool verbose = false);

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

 private:
  void emit(nlohmann::json event, const std::string& text);
  LogFormat format_;
  std::ostream& out_;
  bool verbose_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point step_start_;
  std::string step_label_;
};

// "12.3MB", "512B": the units docker history uses.
std::string human_size(int64_t bytes);

}  // namespace slipway::build

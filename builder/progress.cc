#include "builder/progress.h"

#include <cstdio>
#include <ctime>

namespace slipway::build {

namespace {

std::string now_rfc3339() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::tm tm {};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Instructions can be long (a RUN with twenty continuation lines): one line
// in the log, cut at a readable width.
std::string one_line(const std::string& s, size_t max = 120) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (c == '\n' || c == '\t' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  if (out.size() > max) out = out.substr(0, max - 3) + "...";
  return out;
}

}  // namespace

std::string human_size(int64_t bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  char buf[32];
  if (u == 0) std::snprintf(buf, sizeof buf, "%lldB", static_cast<long long>(bytes));
  else std::snprintf(buf, sizeof buf, "%.3g%s", v, units[u]);
  return buf;
}

Progress::Progress(LogFormat format, std::ostream& out, bool verbose)
    : format_(format), out_(out), verbose_(verbose) {}

void Progress::emit(nlohmann::json event, const std::string& text) {
  std::lock_guard<std::mutex> lock(mu_);
  if (format_ == LogFormat::kJson) {
    event["time"] = now_rfc3339();
    out_ << event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    out_ << text << "\n";
  }
  out_.flush();
}

void Progress::stage(int index, int count, const std::string& name, const std::string& base) {
  emit({{"event", "stage"}, {"stage", index}, {"stages", count}, {"name", name}, {"base", base}},
       "[stage " + std::to_string(index) + "/" + std::to_string(count) + "] FROM " + base +
           (name.empty() ? "" : " AS " + name));
}

void Progress::step(int stage_index, int stages, int step_index, int steps, const std::string& instruction) {
  step_start_ = std::chrono::steady_clock::now();
  step_label_ = "[stage " + std::to_string(stage_index) + "/" + std::to_string(stages) + "] step " +
                std::to_string(step_index) + "/" + std::to_string(steps);
  emit({{"event", "step"}, {"stage", stage_index}, {"stages", stages}, {"step", step_index}, {"steps", steps},
        {"instruction", instruction}},
       step_label_ + " " + one_line(instruction));
}

void Progress::step_done(int64_t layer_bytes, const std::string& detail) {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start_).count();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fs", secs);
  std::string text = step_label_ + " done in " + buf;
  if (layer_bytes >= 0) text += ", layer " + human_size(layer_bytes);
  else text += ", no layer";
  if (!detail.empty()) text += " (" + detail + ")";
  emit({{"event", "step_done"}, {"seconds", secs}, {"layer_bytes", layer_bytes}, {"detail", detail}}, text);
}

void Progress::step_cached(int64_t layer_bytes) {
  std::string text = step_label_ + " CACHED";
  if (layer_bytes >= 0) text += ", layer " + human_size(layer_bytes);
  emit({{"event", "step_done"}, {"cached", true}, {"seconds", 0}, {"layer_bytes", layer_bytes}}, text);
}

void Progress::info(const std::string& message) { emit({{"event", "info"}, {"message", message}}, message); }

void Progress::warn(const std::string& message) {
  emit({{"event", "warning"}, {"message", message}}, "warning: " + message);
}

void Progress::debug(const std::string& message) {
  if (verbose_) emit({{"event", "debug"}, {"message", message}}, "debug: " + message);
}

void Progress::result(const std::string& what, const std::string& where, const std::string& digest) {
  emit({{"event", "result"}, {"what", what}, {"where", where}, {"digest", digest}},
       what + " " + where + (digest.empty() ? "" : " " + digest));
}

}  // namespace slipway::build

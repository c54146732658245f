#include "builder/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "common/error.h"

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

bool use_tty(const std::string& mode) {
  if (mode == "tty") return true;
  if (mode == "plain") return false;
  if (mode != "auto") throw Error("--progress must be auto, plain or tty");
  const char* term = std::getenv("TERM");
  return isatty(STDERR_FILENO) && term && *term && std::string(term) != "dumb";
}

Progress::Progress(LogFormat format, std::ostream& out, bool verbose, bool tty)
    : format_(format), out_(out), verbose_(verbose), tty_(tty && format == LogFormat::kText) {
  if (!tty_) return;
  struct winsize ws {};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10) width_ = ws.ws_col;
  ticker_ = std::thread([this] { tick(); });
}

Progress::~Progress() {
  if (!ticker_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    if (!live_.empty()) out_ << "\n";
    out_.flush();
  }
  cv_.notify_all();
  ticker_.join();
}

void Progress::tick() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::milliseconds(100));
    if (!stop_ && !live_.empty()) draw_live();
  }
}

// One screen line, never wrapped: a wrapped line could not be redrawn with
// a carriage return.
void Progress::draw_live() {
  std::string tail;
  if (timer_) {
    char buf[32];
    std::snprintf(buf, sizeof buf, " %.1fs",
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start_).count());
    tail = buf;
  }
  if (!transfer_.empty()) tail += " " + transfer_;
  // The instruction is cut, never the timer and counters.
  std::string head = live_;
  if (head.size() + tail.size() >= width_) {
    head = head.substr(0, width_ > tail.size() + 8 ? width_ - tail.size() - 4 : 4) + "...";
  }
  out_ << "\r\033[K" << head << tail;
  out_.flush();
}

void Progress::transfer(const std::string& what, uint64_t done, uint64_t total) {
  if (!tty_) return;
  std::lock_guard<std::mutex> lock(mu_);
  transfer_ = what + " " + human_size(static_cast<int64_t>(done)) + "/" + human_size(static_cast<int64_t>(total));
  if (live_.empty()) live_ = " ";  // a transfer outside a step gets a line of its own
  // Drawn by the ticker: a push of many small reads must not flood the tty.
  // A finished count is drawn at once, or a transfer shorter than a tick
  // would never show its total.
  if (done == total) draw_live();
}

void Progress::emit(nlohmann::json event, const std::string& text, bool ends_step) {
  std::lock_guard<std::mutex> lock(mu_);
  if (format_ == LogFormat::kJson) {
    event["time"] = now_rfc3339();
    out_ << event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else if (tty_ && !live_.empty()) {
    // Replace the live line with this message, then redraw it below unless
    // this message ends it.
    out_ << "\r\033[K" << text << "\n";
    if (ends_step || !timer_) {
      live_.clear();
      transfer_.clear();
      timer_ = false;
    } else {
      draw_live();
    }
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
  nlohmann::json event = {{"event", "step"}, {"stage", stage_index}, {"stages", stages}, {"step", step_index},
                          {"steps", steps}, {"instruction", instruction}};
  std::string text = step_label_ + " " + one_line(instruction);
  if (!tty_) {
    emit(std::move(event), text);
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!live_.empty()) out_ << "\r\033[K" << live_ << "\n";  // an unfinished step stays as a line
  live_ = text;
  transfer_.clear();
  timer_ = true;
  draw_live();
}

void Progress::step_done(int64_t layer_bytes, const std::string& detail) {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start_).count();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fs", secs);
  std::string text = step_label_ + " done in " + buf;
  if (layer_bytes >= 0) text += ", layer " + human_size(layer_bytes);
  else text += ", no layer";
  if (!detail.empty()) text += " (" + detail + ")";
  emit({{"event", "step_done"}, {"seconds", secs}, {"layer_bytes", layer_bytes}, {"detail", detail}}, text, true);
}

void Progress::step_cached(int64_t layer_bytes) {
  std::string text = step_label_ + " CACHED";
  if (layer_bytes >= 0) text += ", layer " + human_size(layer_bytes);
  emit({{"event", "step_done"}, {"cached", true}, {"seconds", 0}, {"layer_bytes", layer_bytes}}, text, true);
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

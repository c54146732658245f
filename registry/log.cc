#include "registry/log.h"

#include <mutex>

namespace slipway::registry {
namespace {

std::mutex g_mu;
LogSink g_sink;
LogLevel g_min = LogLevel::kInfo;

}  // namespace

void set_log_sink(LogSink sink, LogLevel min_level) {
  std::lock_guard lock(g_mu);
  g_sink = std::move(sink);
  g_min = min_level;
}

bool log_enabled(LogLevel level) {
  std::lock_guard lock(g_mu);
  return g_sink && level >= g_min;
}

void log(LogLevel level, const std::string& message) {
  std::lock_guard lock(g_mu);
  if (g_sink && level >= g_min) g_sink(level, message);
}

}  // namespace slipway::registry

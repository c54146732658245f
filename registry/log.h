#pragma once
// The registry module's log hook. The CLI installs a sink; tests install one
// that captures. Nothing that reaches it may contain a secret: callers log
// URLs, statuses and header names, never Authorization values or bodies of
// token responses.
#include <functional>
#include <string>

namespace slipway::registry {

enum class LogLevel { kTrace = 0, kDebug = 1, kInfo = 2, kWarn = 3 };

using LogSink = std::function<void(LogLevel, const std::string&)>;

// Installs `sink` for messages at `min_level` and above; an empty sink turns
// logging off. Not meant to be changed while requests are in flight.
void set_log_sink(LogSink sink, LogLevel min_level = LogLevel::kInfo);
bool log_enabled(LogLevel level);
void log(LogLevel level, const std::string& message);

}  // namespace slipway::registry

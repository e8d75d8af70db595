// LogSink: the engine's only way to log. The default sink drops everything;
// gst/ bridges it to GStreamer's debug system, the server to stderr.
#pragma once

#include <cstdarg>

namespace mms {

enum class LogLevel { kError = 1, kWarning = 2, kInfo = 4, kDebug = 5, kLog = 6 };

class LogSink {
 public:
  virtual ~LogSink() = default;
  virtual bool enabled(LogLevel level) const = 0;
  virtual void write(LogLevel level, const char* component, const char* message) = 0;
};

// Process-wide sink; set once at start-up (plugin_init, server main). Not owned.
void set_log_sink(LogSink* sink);
LogSink* log_sink();

// printf-style logging through the current sink. `component` names the
// transport and role, e.g. "mmsh-client".
void log_printf(LogLevel level, const char* component, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));

}  // namespace mms

#define MMS_LOG(level, component, ...) ::mms::log_printf(level, component, __VA_ARGS__)

#include "protocol/core/log.h"

#include <atomic>
#include <cstdio>

namespace mms {
namespace {
std::atomic<LogSink*> g_sink{nullptr};
}  // namespace

void set_log_sink(LogSink* sink) {
  g_sink.store(sink);
}
LogSink* log_sink() {
  return g_sink.load();
}

void log_printf(LogLevel level, const char* component, const char* fmt, ...) {
  LogSink* sink = g_sink.load();
  if (sink == nullptr || !sink->enabled(level)) {
    return;
  }
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  sink->write(level, component, buf);
}

}  // namespace mms

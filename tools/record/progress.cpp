// mms-record: progress line formatting.
#include "tools/record/progress.h"

#include <cmath>
#include <cstdio>

namespace mms::record {

std::string format_bytes(std::uint64_t bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) {
    return std::to_string(bytes) + " B";
  }
  double v = static_cast<double>(bytes);
  unsigned u = 0;
  while (v >= 1024.0 && u + 1 < sizeof(kUnits) / sizeof(kUnits[0])) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  if (v < 10.0) {
    std::snprintf(buf, sizeof buf, "%.2f %s", std::floor(v * 100.0) / 100.0, kUnits[u]);
  } else if (v < 100.0) {
    std::snprintf(buf, sizeof buf, "%.1f %s", std::floor(v * 10.0) / 10.0, kUnits[u]);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f %s", std::floor(v), kUnits[u]);
  }
  return buf;
}

std::string format_clock(double seconds) {
  if (!(seconds > 0)) {
    seconds = 0;  // also NaN
  }
  const auto total = static_cast<unsigned long long>(seconds);
  const unsigned long long h = total / 3600, m = (total / 60) % 60, s = total % 60;
  char buf[48];
  if (h > 0) {
    std::snprintf(buf, sizeof buf, "%llu:%02llu:%02llu", h, m, s);
  } else {
    std::snprintf(buf, sizeof buf, "%llu:%02llu", m, s);
  }
  return buf;
}

std::string format_rate(double bps) {
  if (!(bps > 0)) {
    bps = 0;
  }
  char buf[32];
  if (bps < 1000.0) {
    std::snprintf(buf, sizeof buf, "%.0f bit/s", bps);
  } else if (bps < 1e6) {
    std::snprintf(buf, sizeof buf, "%.0f kbit/s", bps / 1e3);
  } else if (bps < 1e9) {
    std::snprintf(buf, sizeof buf, "%.1f Mbit/s", bps / 1e6);
  } else {
    std::snprintf(buf, sizeof buf, "%.2f Gbit/s", bps / 1e9);
  }
  return buf;
}

std::optional<double> percent_done(const Progress& p) {
  if (!p.duration_s || !(*p.duration_s > 0)) {
    return std::nullopt;
  }
  double v = p.media_s / *p.duration_s * 100.0;
  if (v < 0) {
    v = 0;
  }
  if (v > 100) {
    v = 100;
  }
  return v;
}

std::optional<double> eta_seconds(const Progress& p) {
  if (!p.duration_s || !(*p.duration_s > 0) || !(p.elapsed_s > 0)) {
    return std::nullopt;
  }
  const double done = p.media_s - p.media_start_s;
  if (!(done > 0)) {
    return std::nullopt;
  }
  const double left = *p.duration_s - p.media_s;
  if (!(left > 0)) {
    return 0.0;
  }
  return left * p.elapsed_s / done;
}

std::string format_progress(const Progress& p) {
  std::string line = format_bytes(p.bytes) + "  " + format_clock(p.media_s);
  const std::optional<double> pct = percent_done(p);
  if (pct) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%.1f%%", *pct);
    line += " / " + format_clock(*p.duration_s) + "  " + buf;
  }
  const double rate = p.elapsed_s > 0 ? static_cast<double>(p.bytes) * 8.0 / p.elapsed_s : 0.0;
  line += "  " + format_rate(rate);
  if (pct) {
    const std::optional<double> eta = eta_seconds(p);
    line += "  ETA " + (eta ? format_clock(*eta) : std::string("--:--"));
  }
  return line;
}

}  // namespace mms::record

// mms-record: progress line formatting (pure functions).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace mms::record {

struct Progress {
  std::uint64_t bytes = 0;           // bytes received from the source
  double media_s = 0;                // media time written so far
  double elapsed_s = 0;              // wall-clock time since the start
  double media_start_s = 0;          // media time at the start of this run (resume)
  std::optional<double> duration_s;  // content duration (on demand), if known
};

// "1.5 KiB", "12.3 MiB", "1.02 GiB" (binary units, 3 significant digits).
std::string format_bytes(std::uint64_t bytes);
// "0:07", "12:34", "1:02:03" (whole seconds, truncated).
std::string format_clock(double seconds);
// "850 kbit/s", "1.2 Mbit/s".
std::string format_rate(double bits_per_second);
// Percent done (0..100), when the duration is known and positive.
std::optional<double> percent_done(const Progress& p);
// Seconds left at the current speed, when the duration is known and some
// media has come in this run.
std::optional<double> eta_seconds(const Progress& p);
// The progress line, e.g.
//   "12.3 MiB  0:42 / 2:00  35.0%  1.2 Mbit/s  ETA 1:18"   (on demand)
//   "12.3 MiB  0:42  1.2 Mbit/s"                           (live)
std::string format_progress(const Progress& p);

}  // namespace mms::record

// Instant and Duration: monotonic time as plain nanosecond counts. The engine
// never reads a clock; the caller (protocol/io or a test) supplies `now`.
#pragma once

#include <cstdint>

namespace mms {

using Duration = std::int64_t;  // nanoseconds

struct Instant {
  std::int64_t ns = 0;  // monotonic nanoseconds since an arbitrary origin
  friend bool operator<(Instant a, Instant b) { return a.ns < b.ns; }
  friend bool operator<=(Instant a, Instant b) { return a.ns <= b.ns; }
  friend bool operator>(Instant a, Instant b) { return a.ns > b.ns; }
  friend bool operator>=(Instant a, Instant b) { return a.ns >= b.ns; }
  friend bool operator==(Instant a, Instant b) { return a.ns == b.ns; }
  friend bool operator!=(Instant a, Instant b) { return a.ns != b.ns; }
  friend Instant operator+(Instant a, Duration d) { return Instant{a.ns + d}; }
  friend Duration operator-(Instant a, Instant b) { return a.ns - b.ns; }
};

constexpr Duration kMillisecond = 1000 * 1000;
constexpr Duration kSecond = 1000 * kMillisecond;

}  // namespace mms

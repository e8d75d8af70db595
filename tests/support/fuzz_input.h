// Reading a fuzzer's input as structured values: a minimal FuzzedDataProvider
// (integers from the back, bytes from the front), shared by the client-session
// fuzzers. No gtest, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "protocol/core/bytes.h"

namespace mms::test {

class FuzzInput {
 public:
  FuzzInput(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  // A value in [lo, hi]; lo when the input is exhausted.
  std::uint64_t integral(std::uint64_t lo, std::uint64_t hi) {
    if (lo >= hi) {
      return lo;
    }
    const std::uint64_t range = hi - lo;
    std::uint64_t result = 0;
    std::size_t offset = 0;
    while (offset < 64 && (range >> offset) > 0 && size_ > 0) {
      --size_;
      result = (result << 8) | data_[size_];
      offset += 8;
    }
    if (range != UINT64_MAX) {
      result = result % (range + 1);
    }
    return lo + result;
  }
  bool boolean() { return (integral(0, 255) & 1) != 0; }

  // Takes up to n bytes from the front (n == 0: everything left).
  ByteView front(std::size_t n) {
    if (n == 0 || n > size_) {
      n = size_;
    }
    ByteView v(data_, n);
    data_ += n;
    size_ -= n;
    return v;
  }

  // libFuzzer's ConsumeRandomLengthString, as bytes: up to an unescaped '\'.
  std::vector<std::uint8_t> random_length_bytes() {
    std::vector<std::uint8_t> out;
    while (size_ > 0) {
      const std::uint8_t c = data_[0];
      ++data_;
      --size_;
      if (c == '\\' && size_ > 0) {
        const std::uint8_t next = data_[0];
        ++data_;
        --size_;
        if (next != '\\') {
          break;
        }
      }
      out.push_back(c);
    }
    return out;
  }
  std::size_t remaining() const { return size_; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
};

// An invariant of the code under test: a crash libFuzzer reports, with what failed.
[[noreturn]] inline void invariant_violated(const char* what) {
  std::fprintf(stderr, "invariant violated: %s\n", what);
  std::abort();
}

}  // namespace mms::test

#define MMS_FUZZ_CHECK(cond)                  \
  do {                                        \
    if (!(cond)) {                            \
      ::mms::test::invariant_violated(#cond); \
    }                                         \
  } while (false)

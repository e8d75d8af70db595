// Fuzzes the one-port protocol recognition: the bytes are a connection's
// first bytes, classified as they would arrive byte by byte. Invariants: once
// a prefix gets a decision (not kNeedMore), every longer prefix and the whole
// input get the same one, and from kMaxSniffBytes bytes on there always is one.
#include <cstdint>
#include <cstdlib>

#include "protocol/server/demux.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

using mms::server::FirstBytes;

FirstBytes classify_prefix(const std::uint8_t* data, std::size_t n) {
  return mms::server::classify(mms::ByteView(data, n));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Grow the prefix byte by byte until the first decision.
  std::size_t decided_at = 0;
  FirstBytes first = FirstBytes::kNeedMore;
  for (std::size_t n = 0; n <= size; ++n) {
    first = classify_prefix(data, n);
    if (first != FirstBytes::kNeedMore) {
      decided_at = n;
      break;
    }
    if (n >= mms::server::kMaxSniffBytes) {
      std::abort();  // undecided beyond the bound
    }
  }
  if (first == FirstBytes::kNeedMore) {
    return 0;  // the input ended undecided
  }
  // Longer inputs keep it: the next few prefixes, a middle one, the whole.
  for (std::size_t n = decided_at + 1; n <= size && n <= decided_at + 16; ++n) {
    if (classify_prefix(data, n) != first) {
      std::abort();
    }
  }
  if (classify_prefix(data, decided_at + (size - decided_at) / 2) != first ||
      classify_prefix(data, size) != first) {
    std::abort();
  }
  return 0;
}

// ByteWriter: append-only little/big-endian encoder into a std::vector.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "protocol/core/bytes.h"

namespace mms {

class ByteWriter {
 public:
  explicit ByteWriter(std::vector<std::uint8_t>* out) : out_(out) {}
  void u8(std::uint8_t v) { out_->push_back(v); }
  void u16le(std::uint16_t v) { le(v, 2); }
  void u32le(std::uint32_t v) { le(v, 4); }
  void u64le(std::uint64_t v) { le(v, 8); }
  void u16be(std::uint16_t v) { be(v, 2); }
  void u32be(std::uint32_t v) { be(v, 4); }
  void bytes(ByteView v) { out_->insert(out_->end(), v.begin(), v.end()); }
  void str(std::string_view s) { bytes(ByteView::of(s)); }
  void zeros(std::size_t n) { out_->insert(out_->end(), n, 0); }
  std::size_t size() const { return out_->size(); }

 private:
  void le(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) {
      out_->push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
  }
  void be(std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) {
      out_->push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
  }
  std::vector<std::uint8_t>* out_;
};

}  // namespace mms

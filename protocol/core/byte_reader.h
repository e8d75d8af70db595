// ByteReader: bounds-checked little/big-endian reads over a ByteView (QUICHE's
// QuicheDataReader idea). A failed read returns false, leaves the output
// untouched and makes the reader sticky-failed, so a parser can do a run of
// reads and check ok() once.
#pragma once

#include <cstdint>
#include <cstring>

#include "protocol/core/bytes.h"

namespace mms {

class ByteReader {
 public:
  explicit ByteReader(ByteView data) : data_(data) {}

  bool ok() const { return ok_; }
  std::size_t offset() const { return pos_; }
  std::size_t remaining() const { return ok_ ? data_.size() - pos_ : 0; }
  ByteView rest() const { return data_.subview(pos_); }

  bool read_u8(std::uint8_t* v) {
    if (!need(1)) {
      return false;
    }
    *v = data_[pos_++];
    return true;
  }
  bool read_u16le(std::uint16_t* v) { return read_le(v); }
  bool read_u32le(std::uint32_t* v) { return read_le(v); }
  bool read_u64le(std::uint64_t* v) { return read_le(v); }
  bool read_u16be(std::uint16_t* v) { return read_be(v); }
  bool read_u32be(std::uint32_t* v) { return read_be(v); }
  // Variable-width little-endian field of 0, 1, 2 or 4 bytes (ASF length types).
  bool read_var_le(unsigned width, std::uint32_t* v) {
    switch (width) {
      case 0:
        *v = 0;
        return true;
      case 1: {
        std::uint8_t b = 0;
        bool r = read_u8(&b);
        *v = b;
        return r;
      }
      case 2: {
        std::uint16_t w = 0;
        bool r = read_u16le(&w);
        *v = w;
        return r;
      }
      case 4:
        return read_u32le(v);
      default:
        ok_ = false;
        return false;
    }
  }
  // A view of the next `len` bytes; it aliases the reader's input.
  bool read_view(std::size_t len, ByteView* v) {
    if (!need(len)) {
      return false;
    }
    *v = data_.subview(pos_, len);
    pos_ += len;
    return true;
  }
  bool read_bytes(std::size_t len, std::uint8_t* out) {
    if (!need(len)) {
      return false;
    }
    std::memcpy(out, data_.data() + pos_, len);
    pos_ += len;
    return true;
  }
  bool skip(std::size_t len) {
    if (!need(len)) {
      return false;
    }
    pos_ += len;
    return true;
  }

 private:
  bool need(std::size_t n) {
    if (!ok_ || data_.size() - pos_ < n) {
      ok_ = false;
      return false;
    }
    return true;
  }
  template <typename T>
  bool read_le(T* v) {
    if (!need(sizeof(T))) {
      return false;
    }
    T r = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      r = static_cast<T>(r | (static_cast<T>(data_[pos_ + i]) << (8 * i)));
    }
    pos_ += sizeof(T);
    *v = r;
    return true;
  }
  template <typename T>
  bool read_be(T* v) {
    if (!need(sizeof(T))) {
      return false;
    }
    T r = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      r = static_cast<T>((r << 8) | static_cast<T>(data_[pos_ + i]));
    }
    pos_ += sizeof(T);
    *v = r;
    return true;
  }

  ByteView data_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

// Unchecked little-endian helpers for callers that already checked bounds.
inline std::uint16_t load_u16le(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}
inline std::uint32_t load_u32le(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
inline std::uint64_t load_u64le(const std::uint8_t* p) {
  return static_cast<std::uint64_t>(load_u32le(p)) |
         (static_cast<std::uint64_t>(load_u32le(p + 4)) << 32);
}
inline void store_u16le(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v);
  p[1] = static_cast<std::uint8_t>(v >> 8);
}
inline void store_u32le(std::uint8_t* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    p[i] = static_cast<std::uint8_t>(v >> (8 * i));
  }
}
inline void store_u64le(std::uint8_t* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    p[i] = static_cast<std::uint8_t>(v >> (8 * i));
  }
}

}  // namespace mms

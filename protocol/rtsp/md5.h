// MD5 (RFC 1321), for RTSP Digest authentication (RFC 2617) only: not for
// anything that needs collision resistance.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/core/bytes.h"

namespace mms::rtsp {

class Md5 {
 public:
  Md5();
  void update(ByteView data);
  void update(std::string_view s) { update(ByteView::of(s)); }
  // Finishes the digest; the object must not be updated afterwards.
  std::array<std::uint8_t, 16> finish();

 private:
  void block(const std::uint8_t* p);
  std::uint32_t state_[4];
  std::uint64_t length_ = 0;  // bytes fed
  std::uint8_t buf_[64];
  std::size_t buffered_ = 0;
};

std::array<std::uint8_t, 16> md5(ByteView data);
// Lower-case hex of the MD5 of `s` (32 characters), as Digest uses it.
std::string md5_hex(std::string_view s);

}  // namespace mms::rtsp

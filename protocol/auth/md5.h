// MD5 (RFC 1321) for HTTP Digest authentication (RFC 2617) and NTLM: not for
// anything that needs collision resistance. The digest itself is nettle's.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "protocol/core/bytes.h"

namespace mms::auth {

class Md5 {
 public:
  Md5();
  ~Md5();
  Md5(const Md5&) = delete;
  Md5& operator=(const Md5&) = delete;
  void update(ByteView data);
  void update(std::string_view s) { update(ByteView::of(s)); }
  // Finishes the digest; the object must not be updated afterwards.
  std::array<std::uint8_t, 16> finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

std::array<std::uint8_t, 16> md5(ByteView data);
// Lower-case hex of the MD5 of `s` (32 characters), as Digest uses it.
std::string md5_hex(std::string_view s);

}  // namespace mms::auth

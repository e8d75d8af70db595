#include "protocol/auth/md5.h"

#include <nettle/md5.h>

namespace mms::auth {

struct Md5::State {
  md5_ctx ctx;
};

Md5::Md5() : state_(std::make_unique<State>()) {
  md5_init(&state_->ctx);
}

Md5::~Md5() = default;

void Md5::update(ByteView data) {
  if (!data.empty()) {
    md5_update(&state_->ctx, data.size(), data.data());
  }
}

std::array<std::uint8_t, 16> Md5::finish() {
  std::array<std::uint8_t, 16> out{};
  md5_digest(&state_->ctx, out.size(), out.data());
  return out;
}

std::array<std::uint8_t, 16> md5(ByteView data) {
  Md5 m;
  m.update(data);
  return m.finish();
}

std::string md5_hex(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  const std::array<std::uint8_t, 16> d = md5(ByteView::of(s));
  std::string out;
  out.reserve(32);
  for (std::uint8_t b : d) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

}  // namespace mms::auth

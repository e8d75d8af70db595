#include "protocol/core/bytes.h"

namespace mms {
namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}
}  // namespace

std::string to_hex(ByteView bytes, std::size_t max_bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  std::size_t n = bytes.size() < max_bytes ? bytes.size() : max_bytes;
  for (std::size_t i = 0; i < n; ++i) {
    if (i != 0) {
      out.push_back(' ');
    }
    out.push_back(kDigits[bytes[i] >> 4]);
    out.push_back(kDigits[bytes[i] & 0x0f]);
  }
  if (n < bytes.size()) {
    out += " ...";
  }
  return out;
}

bool parse_hex(std::string_view text, std::vector<std::uint8_t>* out) {
  int high = -1;
  bool in_comment = false;
  for (char c : text) {
    if (in_comment) {
      in_comment = c != '\n';
      continue;
    }
    if (c == '#') {
      in_comment = true;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      continue;
    }
    int v = hex_value(c);
    if (v < 0) {
      return false;
    }
    if (high < 0) {
      high = v;
    } else {
      out->push_back(static_cast<std::uint8_t>((high << 4) | v));
      high = -1;
    }
  }
  return high < 0;
}

}  // namespace mms

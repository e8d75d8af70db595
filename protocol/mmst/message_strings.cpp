// UTF-16LE string codecs of the MMS messages; see message_strings.h.
#include "protocol/mmst/message_strings.h"

#include "protocol/core/byte_reader.h"
#include "protocol/core/limits.h"
#include "protocol/core/text.h"
#include "protocol/mmst/messages.h"

namespace mms::mmst {
namespace detail {
namespace {

constexpr std::uint32_t kReplacementChar = 0xFFFD;

// UTF-8 -> code points; invalid sequences give U+FFFD.
std::vector<std::uint32_t> code_points(const std::string& s) {
  std::vector<std::uint32_t> cps;
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    const std::uint32_t b = static_cast<std::uint8_t>(s[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    std::uint32_t min = 0;
    if (b < 0x80) {
      cps.push_back(b);
      ++i;
      continue;
    } else if ((b & 0xE0) == 0xC0) {
      len = 2;
      cp = b & 0x1F;
      min = 0x80;
    } else if ((b & 0xF0) == 0xE0) {
      len = 3;
      cp = b & 0x0F;
      min = 0x800;
    } else if ((b & 0xF8) == 0xF0) {
      len = 4;
      cp = b & 0x07;
      min = 0x10000;
    } else {
      cps.push_back(kReplacementChar);
      ++i;
      continue;
    }
    bool ok = i + len <= n;
    for (std::size_t k = 1; ok && k < len; ++k) {
      const std::uint32_t c = static_cast<std::uint8_t>(s[i + k]);
      if ((c & 0xC0) != 0x80) {
        ok = false;
      } else {
        cp = (cp << 6) | (c & 0x3F);
      }
    }
    if (!ok || cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      cps.push_back(kReplacementChar);
      ++i;
      continue;
    }
    cps.push_back(cp);
    i += len;
  }
  return cps;
}

}  // namespace

// Decodes UTF-16LE code units from `units` (an odd trailing byte is ignored)
// until the first NUL or the end. *consumed: bytes used including the NUL.
// kLimitExceeded above kMaxMmsStringUnits code units before the NUL.
Status read_utf16_z(ByteView units, std::string* out, std::size_t* consumed) {
  out->clear();
  const std::size_t n = units.size() / 2;
  std::size_t len = 0;
  while (len < n && load_u16le(units.data() + 2 * len) != 0) {
    ++len;
  }
  if (len > limits::kMaxMmsStringUnits) {
    return Status(Code::kLimitExceeded, "mmst: string above kMaxMmsStringUnits",
                  static_cast<std::uint32_t>(len));
  }
  *consumed = len < n ? 2 * (len + 1) : 2 * len;
  *out = utf16le_to_utf8(units.subview(0, 2 * len));
  return Status::Ok();
}

std::vector<std::uint16_t> utf16_units(const std::string& s) {
  std::vector<std::uint16_t> u;
  for (std::uint32_t cp : code_points(s)) {
    if (cp >= 0x10000) {
      cp -= 0x10000;
      u.push_back(static_cast<std::uint16_t>(0xD800 + (cp >> 10)));
      u.push_back(static_cast<std::uint16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      u.push_back(static_cast<std::uint16_t>(cp));
    }
  }
  return u;
}

// Checks an outgoing string: within the limit, no embedded NUL.
Status check_string(const std::vector<std::uint16_t>& u) {
  if (u.size() > limits::kMaxMmsStringUnits) {
    return Status(Code::kLocalMisuse, "mmst: string above kMaxMmsStringUnits",
                  static_cast<std::uint32_t>(u.size()));
  }
  for (std::uint16_t c : u) {
    if (c == 0) {
      return Status(Code::kLocalMisuse, "mmst: string with an embedded NUL");
    }
  }
  return Status::Ok();
}

Status write_utf16_z(ByteWriter* w, const std::string& s) {
  std::vector<std::uint16_t> u = utf16_units(s);
  MMS_TRY(check_string(u));
  for (std::uint16_t c : u) {
    w->u16le(c);
  }
  w->u16le(0);
  return Status::Ok();
}

}  // namespace detail

std::vector<std::uint8_t> utf8_to_utf16le(const std::string& utf8) {
  std::vector<std::uint8_t> out;
  ByteWriter w(&out);
  for (std::uint16_t c : detail::utf16_units(utf8)) {
    w.u16le(c);
  }
  return out;
}

}  // namespace mms::mmst

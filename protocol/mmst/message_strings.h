// UTF-16LE string codecs of the MMS messages (internal to protocol/mmst/):
// UTF-8 std::string here, NUL-terminated UTF-16LE on the wire, bounded by
// limits::kMaxMmsStringUnits. The public UTF-8 to UTF-16LE conversion is
// mmst::utf8_to_utf16le (protocol/mmst/messages.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "protocol/core/byte_writer.h"
#include "protocol/core/bytes.h"
#include "protocol/core/status.h"

namespace mms::mmst::detail {

// Decodes UTF-16LE code units from `units` (an odd trailing byte is ignored)
// until the first NUL or the end. *consumed: bytes used including the NUL.
// kLimitExceeded above kMaxMmsStringUnits code units before the NUL.
Status read_utf16_z(ByteView units, std::string* out, std::size_t* consumed);
// UTF-8 -> UTF-16 code units; invalid sequences give U+FFFD.
std::vector<std::uint16_t> utf16_units(const std::string& s);
// Checks an outgoing string: within the limit, no embedded NUL (kLocalMisuse).
Status check_string(const std::vector<std::uint16_t>& u);
// Appends the string and its NUL after check_string().
Status write_utf16_z(ByteWriter* w, const std::string& s);

}  // namespace mms::mmst::detail

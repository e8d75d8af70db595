// One TCP port for every protocol: which server session a connection wants,
// from its first bytes. The I/O layer (protocol/io/listener's demultiplexing
// connection) buffers the bytes, asks classify() and hands everything, the
// first bytes included, to a session of the protocol named.
//
// Sans-I/O, a pure function: no state, no sockets, no clocks.
#pragma once

#include <cstddef>
#include <cstdint>

#include "protocol/core/bytes.h"

namespace mms::server {

// Bytes read before the protocol must be known (an RTSP or HTTP request line,
// or the 8-byte MMS TCP header): a first line that has not ended within them
// is refused.
constexpr std::size_t kMaxSniffBytes = 8 * 1024;

enum class FirstBytes : std::uint8_t {
  kNeedMore,  // undecided: offer them again with more appended
  kMmsh,      // the first line ends in "HTTP/1.<digit>"
  kMms,       // an MMS TCP header: bytes 4-7 are CE FA 0B B0
  kRtsp,      // the first line ends in "RTSP/1.<digit>", or a '$' interleaved frame
  kUnknown,   // none of these (or no line end within kMaxSniffBytes): close
};
// "need-more", "mmsh", "mms", "rtsp", "unknown".
const char* to_string(FirstBytes kind);

// The protocol of a connection from the bytes received so far (the first ones
// on the connection, all of them). Rules, in order:
//   - a '$' first byte is an RTSP interleaved frame (RTCP before any request);
//   - bytes 4-7 CE FA 0B B0 are an MMS TCP header, unless a line feed comes
//     before them (a line that ends within bytes 0-3 is no MMS header);
//   - else the first line decides (empty lines before it are skipped, as the
//     HTTP and RTSP codecs do; a trailing CR is removed): one ending in
//     " RTSP/1.d" is RTSP, one ending in " HTTP/1.d" is MMSH (d a digit, the
//     names in capitals), anything else is unknown. Only the first
//     kMaxSniffBytes bytes are looked at: no line end within them is unknown.
// Monotonic: once a prefix of the bytes gets a decision (not kNeedMore),
// every longer input gets the same one, so how the bytes were segmented does
// not matter. From kMaxSniffBytes bytes on the answer is never kNeedMore.
FirstBytes classify(ByteView first_bytes);

}  // namespace mms::server

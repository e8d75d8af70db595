// Every size and count limit of the engine, with the reason for its value.
// A peer that exceeds one gets Code::kLimitExceeded, never an allocation.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mms::limits {

// ASF headers with pictures and metadata reach a few hundred KiB; 16 MiB is far
// beyond any real header and bounds what a hostile server can make us buffer.
constexpr std::size_t kMaxAsfHeaderBytes = 16u * 1024 * 1024;
// Objects inside a header: real files have < 40; bounds the walk.
constexpr std::size_t kMaxAsfHeaderObjects = 1024;
// ASF stream numbers are 7 bits (1..127).
constexpr std::size_t kMaxAsfStreams = 127;
// MMSH frames carry at most 65535 bytes after the length field (u16); the ASF
// packet size is bounded by the payload of one such frame.
constexpr std::uint32_t kMaxAsfPacketSize = 65527;
// HTTP: one status/header line, the whole head, and the header count. WMS
// responses are ~500 bytes with < 20 lines.
constexpr std::size_t kMaxHttpLine = 8192;
constexpr std::size_t kMaxHttpHead = 64 * 1024;
constexpr std::size_t kMaxHttpHeaders = 128;
// Redirect hops (souphttpsrc and WMP use 5..20).
constexpr int kMaxRedirects = 10;
// Stream switch entries a server accepts in one request.
constexpr std::size_t kMaxStreamSwitchEntries = 128;

}  // namespace mms::limits

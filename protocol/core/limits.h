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
// MMS (MS-MMSP) TCP control packets: messageLength cap. The largest legitimate
// messages are ~1.5 KiB (Logging: 1536 bytes, TCP packet-pair ReportFunnelInfo:
// 1056) plus strings or an NTLM token; 64 KiB bounds what a peer makes us buffer.
constexpr std::uint32_t kMaxMmsMessageLength = 64 * 1024;
// UTF-16 code units of one MMS string (file name, URL, player info, funnel
// name). Paths and URLs are < 2 KiB in practice (CLIENT_LOG holds 260 chars).
constexpr std::size_t kMaxMmsStringUnits = 8192;
// SecurityChallenge/SecurityResponse pToken and OpenFile tokenData bytes; NTLM
// messages are a few hundred bytes, BASIC a base64 line.
constexpr std::size_t kMaxMmsTokenBytes = 16384;
// LinkViewerToMacLogging CLIENT_LOG cbSize: the structure is 1490 bytes (MS-MMSP
// 2.2.1); a little slack for clients that round it up.
constexpr std::uint32_t kMaxClientLogBytes = 2048;
// RequestPacketListResend wNumPackets (MS-MMSP 2.2.5: 1..32).
constexpr std::size_t kMaxResendPackets = 32;

// RTSP (RFC 2326 / MS-RTSP): one start or header line, the whole head and the
// header count. WMS heads are < 1 KiB with < 25 lines; same bounds as HTTP.
constexpr std::size_t kMaxRtspLine = 8192;
constexpr std::size_t kMaxRtspHead = 64 * 1024;
constexpr std::size_t kMaxRtspHeaders = 128;
// RTSP message body (Content-Length). The biggest body is a DESCRIBE/ANNOUNCE
// SDP carrying the ASF header as base64 (4/3 of the header) plus < 4 KiB of
// lines; 8 MiB holds a 6 MiB header, far above real ones (a few hundred KiB).
constexpr std::size_t kMaxRtspBody = 8u * 1024 * 1024;
// SDP: lines and media descriptions. A WMS SDP has ~15 session lines and ~8
// lines per stream; ASF allows 127 streams plus the RTX description.
constexpr std::size_t kMaxSdpLines = 4096;
constexpr std::size_t kMaxSdpMedia = 256;
// Challenges in one WWW-Authenticate value and auth-params per challenge
// (real servers send 1-3 challenges with < 8 parameters).
constexpr std::size_t kMaxAuthChallenges = 16;
constexpr std::size_t kMaxAuthParams = 32;
// Entries of one RTP-Info / Transport value: one per stream (127 ASF streams
// plus RTX).
constexpr std::size_t kMaxRtspListEntries = 256;

}  // namespace mms::limits

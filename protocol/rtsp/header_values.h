// RTSP header values (RFC 2326 §12, MS-RTSP), role-neutral parsers and
// writers: CSeq, Session, Transport, Range (npt), X-Accelerate-Streaming,
// RTP-Info. Values are parsed from the strings message_codec.h's Headers hold;
// every list is bounded (kMaxRtspListEntries).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/core/status.h"

namespace mms::rtsp {

struct Headers;  // message_codec.h

// CSeq of a message: kMalformed when missing or not a u32.
Result<std::uint32_t> cseq_of(const Headers& headers);

// Session: "<id>[;timeout=<seconds>]" (other parameters ignored).
struct SessionHeader {
  std::string id;
  std::optional<std::uint32_t> timeout_s;
};
Result<SessionHeader> parse_session(std::string_view value);
std::string format_session(const SessionHeader& s);

// Transport (RFC 2326 12.39), one transport-spec. Ports are "a" or "a-b".
struct PortPair {
  std::uint16_t first = 0;
  std::optional<std::uint16_t> second;
};
struct Transport {
  std::string protocol = "RTP/AVP";  // transport-protocol/profile
  std::string lower;                 // "UDP", "TCP" or "" (UDP implied), upper-cased
  bool unicast = true;               // "multicast" seen -> false
  std::optional<PortPair> client_port;
  std::optional<PortPair> server_port;
  std::optional<PortPair> interleaved;  // channels
  std::optional<std::uint32_t> ssrc;    // 8 hex digits (fewer accepted)
  std::string mode;                     // unquoted, as sent ("PLAY")
  std::string destination;
  std::string source;
  bool tcp() const { return lower == "TCP"; }
};
// Parses a Transport value: a comma-separated list of specs (at most
// kMaxRtspListEntries). Unknown parameters are ignored; a bad port, channel or
// ssrc is kMalformed.
Result<std::vector<Transport>> parse_transports(std::string_view value);
// "RTP/AVP[/TCP];unicast;client_port=..;server_port=..;interleaved=..;ssrc=..;mode=.."
// (lower written when not empty; ssrc as 8 upper-case hex digits).
std::string format_transport(const Transport& t);

// Range: npt only. Times are milliseconds; "now" is a start of 0 with
// start_now set. Fractions beyond milliseconds are truncated. Both
// "<sec>[.frac]" and "<h>:<mm>:<ss>[.frac]" are accepted.
struct NptRange {
  std::optional<std::uint64_t> start_ms;  // empty: "-<end>"
  std::optional<std::uint64_t> end_ms;    // empty: open-ended
  bool start_now = false;
};
// Errors: kUnsupported for other units (smpte, clock, x-asf-*), kMalformed
// for a bad time. Parameters after ';' (time=) are ignored.
Result<NptRange> parse_range(std::string_view value);
// "npt=3.100-173.903", "npt=0.000-", "npt=now-".
std::string format_range(const NptRange& r);

// X-Accelerate-Streaming (MS-RTSP, on PLAY): Fast Start, "AccelDuration=<ms>;
// AccelBandwidth=<bps>" (either may be missing; names case-insensitive, spaces
// around '=' and ';' allowed). Unknown or malformed parts are ignored (0).
struct AccelRequest {
  std::uint32_t duration_ms = 0;
  std::uint32_t bandwidth_bps = 0;
};
AccelRequest parse_accelerate_streaming(std::string_view value);
std::string format_accelerate_streaming(const AccelRequest& a);
// Seconds with millisecond precision: 3100 -> "3.100".
std::string format_npt_time(std::uint64_t ms);

// RTP-Info: "url=..;seq=..;rtptime=.., url=.." (at most kMaxRtspListEntries).
// Entries are split at a comma that is followed by "url=", so URLs containing
// commas survive.
struct RtpInfo {
  std::string url;
  std::optional<std::uint16_t> seq;
  std::optional<std::uint32_t> rtptime;
};
Result<std::vector<RtpInfo>> parse_rtp_info(std::string_view value);
std::string format_rtp_info(const std::vector<RtpInfo>& entries);

}  // namespace mms::rtsp

// RTSP/1.0 (RFC 2326, MS-RTSP) codec, role-neutral: request and response
// messages with bodies, interleaved "$" frames, writers, and the header values
// an RTSP client and server exchange (CSeq, Session, Transport, Range, RTP-Info,
// WWW-Authenticate / Authorization with Basic and Digest).
//
// decode_unit() is stateless like mmsh::decode_frame(): it decodes one unit
// from the front of a TCP byte stream (a message, or an interleaved frame when
// the first byte is '$') and says NeedMore until the whole unit is present, so
// it restarts at any byte. Every line, the head, the header count and the body
// are bounded (limits.h). Lenient where peers are: bare LF line ends, empty
// lines between messages, any RTSP/1.x version digit.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/core/bytes.h"
#include "protocol/core/status.h"

namespace mms::rtsp {

enum class Decode : std::uint8_t { kDone, kNeedMore, kError };

struct Header {
  std::string name;   // as received
  std::string value;  // trimmed
};

struct Headers {
  std::vector<Header> list;
  // First header with this name (case-insensitive), or nullptr.
  const std::string* find(std::string_view name) const;
  // Every value of this header, in order.
  std::vector<std::string_view> all(std::string_view name) const;
  void add(std::string name, std::string value) {
    list.push_back(Header{std::move(name), std::move(value)});
  }
  // Replaces the value of the first header with this name, or adds it.
  void set(std::string_view name, std::string value);
  // Removes every header with this name.
  void remove(std::string_view name);
};

struct Request {
  std::string method;  // as sent ("DESCRIBE", "SET_PARAMETER", ...)
  std::string uri;     // request-URI, "*" for OPTIONS *
  int version_minor = 0;
  Headers headers;
  std::string body;
};

struct Response {
  int version_minor = 0;
  int status = 0;
  std::string reason;
  Headers headers;
  std::string body;
};

// One "$ channel length" block (RFC 2326 10.12); payload aliases the input.
struct InterleavedFrame {
  std::uint8_t channel = 0;
  ByteView payload;
};

enum class UnitKind : std::uint8_t { kRequest, kResponse, kInterleaved };

struct Unit {
  UnitKind kind = UnitKind::kResponse;
  Request request;            // kRequest
  Response response;          // kResponse
  InterleavedFrame frame;     // kInterleaved
  std::size_t wire_size = 0;  // bytes consumed, including skipped empty lines
};

// Decodes one unit from the front of `in`.
//  kDone: *unit filled; unit->wire_size bytes consumed.
//  kNeedMore: `in` is a prefix of a valid unit (or only empty lines); offer
//    it again with more bytes.
//  kError: kLimitExceeded for a line above kMaxRtspLine, a head above
//    kMaxRtspHead, more than kMaxRtspHeaders headers or a Content-Length above
//    kMaxRtspBody (decided as soon as the bytes present prove it); kMalformed
//    for a bad start line ("RTSP/1.<d> <3 digits>[ <reason>]" or "<token> <uri>
//    RTSP/1.<d>"), a header line without "token:", a folded line, or a
//    Content-Length that is not 1..10 digits.
// CR LF / LF before a start line are skipped (counted in wire_size). Without
// Content-Length a message has no body. Cost: one pass over the head per call.
Decode decode_unit(ByteView in, Unit* unit, Status* error);

// Writers. A message's Content-Length header, if present, is written with the
// body's size; when absent and the body is not empty one is appended last.
std::string write_request(const Request& req);
std::string write_response(const Response& resp);
// "RTSP/1.0 <status> <standard reason>" reason text, "" for unknown codes.
const char* reason_phrase(int status);
// Appends "$ channel len payload". A payload above 65535 bytes is kLocalMisuse.
Status write_interleaved(std::uint8_t channel, ByteView payload, std::vector<std::uint8_t>* out);

// ---- header values -------------------------------------------------------

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

// ---- authentication -------------------------------------------------------

struct AuthParam {
  std::string name;   // lower-cased
  std::string value;  // unquoted
};
// One challenge of WWW-Authenticate, or the credentials of Authorization.
struct AuthChallenge {
  std::string scheme;  // as sent; compare with iequals
  std::vector<AuthParam> params;
  std::string token68;  // Basic credentials / NTLM token (no params)
  const std::string* param(std::string_view name) const;
  bool is(std::string_view scheme_name) const;  // case-insensitive scheme compare
};
// Parses a WWW-Authenticate (or Authorization) value holding one or more
// challenges ("Basic realm=\"x\", Digest realm=\"y\", nonce=\"z\""). At most
// kMaxAuthChallenges challenges with kMaxAuthParams params each
// (kLimitExceeded); an unterminated quote is kMalformed.
Result<std::vector<AuthChallenge>> parse_auth(std::string_view value);
// Every challenge of every WWW-Authenticate header.
Result<std::vector<AuthChallenge>> parse_www_authenticate(const Headers& headers);

// "Basic <base64(user:password)>".
std::string basic_authorization(std::string_view user, std::string_view password);
// Splits Basic credentials; false if not Basic or not base64 of "user:password".
bool parse_basic_credentials(const AuthChallenge& credentials, std::string* user,
                             std::string* password);

// Digest (RFC 2617 3.2.2): the response hash for one request. `qop` "" for
// the RFC 2069 form, else "auth" with `nc` (8 hex digits) and `cnonce`.
// `algorithm` "" or "MD5" or "MD5-sess" (case-insensitive).
struct DigestInput {
  std::string user, password, realm, nonce, method, uri;
  std::string algorithm;
  std::string qop;
  std::string nc = "00000001";
  std::string cnonce;
};
std::string digest_response(const DigestInput& in);
// The Authorization value answering a Digest challenge for (method, uri):
// picks qop "auth" when offered (with `cnonce`, nc 00000001), echoes opaque
// and algorithm. kUnsupported for other algorithms or an auth-int-only qop,
// kMalformed without realm or nonce.
Result<std::string> digest_authorization(const AuthChallenge& challenge, std::string_view user,
                                         std::string_view password, std::string_view method,
                                         std::string_view uri, std::string_view cnonce);
// Server side: whether Digest credentials answer (method, password) correctly
// for the realm/nonce they carry; the caller checks those against its own.
bool digest_verify(const AuthChallenge& credentials, std::string_view method,
                   std::string_view password);

}  // namespace mms::rtsp

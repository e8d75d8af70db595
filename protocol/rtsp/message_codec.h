// RTSP/1.0 (RFC 2326, MS-RTSP) message codec, role-neutral: request and
// response messages with bodies, interleaved "$" frames and their writers.
// The header values an RTSP client and server exchange (CSeq, Session,
// Transport, Range, RTP-Info: header_values.h) and authentication
// (WWW-Authenticate / Authorization with Basic and Digest: auth.h) have their
// own codecs; this header includes both, so one include gives the whole codec.
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
#include "protocol/rtsp/auth.h"
#include "protocol/rtsp/header_values.h"

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

}  // namespace mms::rtsp

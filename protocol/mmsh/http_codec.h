// Minimal HTTP/1.x codec for MMSH: response-head parser (client), request-head
// parser (server), writers for both, and Pragma token handling.
//
// Parsers take a complete head from the front of a buffer and say NeedMore
// until the blank line arrives, so they restart at any byte. Every line and the
// head are bounded (limits.h). Lenient where real peers are broken: bare LF
// line ends, FFmpeg's Pragma line with a missing CRLF, "Cougar 4.1" servers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/core/bytes.h"
#include "protocol/core/status.h"
#include "protocol/mmsh/framing.h"

namespace mms::mmsh {

struct HttpHeader {
  std::string name;   // as received
  std::string value;  // trimmed
};

struct HttpHeaders {
  std::vector<HttpHeader> list;
  // First header with this name (case-insensitive), or nullptr.
  const std::string* find(std::string_view name) const;
  // Every value of this header, in order.
  std::vector<std::string_view> all(std::string_view name) const;
  void add(std::string name, std::string value) {
    list.push_back(HttpHeader{std::move(name), std::move(value)});
  }
};

struct HttpResponse {
  int version_minor = 0;  // HTTP/1.x
  int status = 0;
  std::string reason;
  HttpHeaders headers;
};

struct HttpRequest {
  std::string method;
  std::string target;  // as sent: path or absolute URL (proxy form)
  int version_minor = 0;
  HttpHeaders headers;
};

// kDone: *consumed = bytes of the head including the blank line.
// kNeedMore: no blank line yet and no limit hit; offer the buffer again, longer.
// kError: kLimitExceeded for a line above limits::kMaxHttpLine bytes (without its
// line end), a head above kMaxHttpHead bytes or more than kMaxHttpHeaders header
// lines (decided as soon as the bytes present prove it); kMalformed for a bad
// start line ("HTTP/1.<digit> <3 digits>[ <reason>]", reason possibly empty;
// "<token> <target> HTTP/1.<digit>"), a header line without "token:" or a folded
// line. Empty lines before the start line are skipped. Header values are stored
// trimmed, names as received (a "Server: Cougar 4.1.0.3921" is kept verbatim).
// Cost: one pass over the head per call.
Decode parse_response_head(ByteView in, HttpResponse* out, std::size_t* consumed, Status* error);
Decode parse_request_head(ByteView in, HttpRequest* out, std::size_t* consumed, Status* error);

std::string write_request(const HttpRequest& req);  // "METHOD target HTTP/1.x\r\n" headers "\r\n"
std::string write_response(const HttpResponse& resp);

// Pragma tokens of every Pragma header, in order: name lower-cased, value
// unquoted where quoted ("features" keeps its inner list). A "stream-switch-entry"
// value keeps its spaces. Tokens are split at commas outside quotes. A Pragma
// value that swallowed a following header line (FFmpeg's missing CRLF) is cut
// at the "\r"/"Connection:" junk.
//
// Details: names and values are trimmed of spaces and tabs (so the trailing space
// clients put after stream-switch-entry goes); empty tokens are dropped. The
// spec examples' spelling "switch-stream-entry"/"switch-stream-count" is renamed
// to "stream-switch-entry"/"stream-switch-count". The glued-header cut happens,
// outside quotes, at a run of letters and '-' followed by ':' and a space, a tab
// or the end of the value ("stream-time=0Connection: Close" gives stream-time=0),
// or at a stray CR/LF. A "log-line=" Pragma is one token holding the rest of
// its line, commas included. Headers named "Pragma" match case-insensitively.
struct PragmaToken {
  std::string name;
  std::string value;
};
std::vector<PragmaToken> parse_pragmas(const HttpHeaders& headers);
// Value of the first token with this name (compared case-insensitively), or nullptr.
const std::string* find_pragma(const std::vector<PragmaToken>& tokens, std::string_view name);

// One stream-switch entry "src:dst:thin" (hex numbers).
struct StreamSwitchEntry {
  std::uint16_t source = 0xffff;
  std::uint16_t stream = 0;
  std::uint8_t thinning = 0;  // 0 on, 1 key frames only, 2 off
};
// Parses a stream-switch-entry value; at most limits::kMaxStreamSwitchEntries entries
// (more: kLimitExceeded). Entries are separated by spaces or tabs; src and dst are
// 1-4 hex digits, thinning one digit 0..2, anything else is kMalformed. An empty
// or blank value gives no entries. format_stream_switch writes lower-case hex
// without leading zeros, entries separated by one space, no trailing space.
Result<std::vector<StreamSwitchEntry>> parse_stream_switch(std::string_view value);
std::string format_stream_switch(const std::vector<StreamSwitchEntry>& entries);

}  // namespace mms::mmsh

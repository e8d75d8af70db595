// Url: the URL forms mmssrc and the server understand.
//   mms://  mmsh://  mmst://  mmsu://  http://  rtsp://  rtspu://  rtspt://
// [scheme://][user[:password]@]host[:port][/path][?query]; IPv6 hosts in brackets.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/core/status.h"

namespace mms {

struct Url {
  std::string scheme;      // lower-cased
  std::string user;        // percent-decoded
  std::string password;    // percent-decoded
  std::string host;        // without brackets for IPv6
  std::uint16_t port = 0;  // 0 when absent
  std::string path;        // starts with '/', includes the query, never empty

  // Default port for the scheme (mmsh/http 80, mms/mmst/mmsu 1755, rtsp* 554).
  std::uint16_t effective_port() const;
  // host[:port] as an HTTP Host header value (brackets for IPv6).
  std::string host_port() const;
  // The URL without credentials, safe for logs and messages.
  std::string redacted() const;
  // The URL with another scheme (credentials kept).
  std::string to_string(bool with_credentials = true) const;
};

// Parses `text`. Errors: kMalformed for syntax, kUnsupported for an unknown scheme.
Result<Url> parse_url(std::string_view text);

// Resolves an HTTP Location value against `base` (absolute URL or absolute path).
Result<Url> resolve_location(const Url& base, std::string_view location);

// Percent-decodes; returns false on a malformed escape.
bool percent_decode(std::string_view in, std::string* out);

}  // namespace mms

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

// Whether `host` is exempt from the proxy by a no_proxy list (curl's and
// GLib's convention): comma- or space-separated entries, each "*" (every host),
// a host name or IP literal (that host; a name also covers its subdomains), or
// ".domain" (the domain and its subdomains). Case-insensitive; a trailing dot,
// an entry's ":port" and IPv6 brackets are ignored.
bool no_proxy_matches(std::string_view no_proxy, std::string_view host);

// Percent-decodes; returns false on a malformed escape.
bool percent_decode(std::string_view in, std::string* out);

}  // namespace mms

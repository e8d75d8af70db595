// Signed URLs for mms-server (in the spirit of the WMSAuth plugin of Windows
// Media Services): with a key, every request URL must carry an expiry time and
// an HMAC-SHA256 over its path and that expiry.
//
//   URL        scheme://host[:port]/PATH?[other=params&]e=EXPIRY&s=SIGNATURE
//   EXPIRY     Unix time in seconds (decimal) until which the URL is valid
//   SIGNATURE  lowercase hex of HMAC-SHA256(key, PATH "\n" EXPIRY)
//   PATH       the URL's path, starting with '/', percent-decoded, without
//              the query ("/dir/clip.wmv")
//
// Other query parameters are allowed and not signed; the server ignores them.
// The comparison takes the same time wherever the signatures differ.
// Any HMAC-SHA256 tool can sign: printf "%s\n%s" PATH EXPIRY | openssl dgst -sha256 -hmac KEY
// (docs/server.md, "Signed URLs", also has a Python example).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mms::server {

// Percent-decodes `in`; false on a bad escape or a NUL byte.
bool url_decode(std::string_view in, std::string* out);

// Lowercase hex HMAC-SHA256(key, path + "\n" + decimal expiry).
std::string url_signature(std::string_view key, std::string_view path, std::int64_t expiry);

// `url` (an absolute URL or "/path") with "e=" and "s=" appended to its query
// ("?" or "&"). `expiry` is a Unix time in seconds. False (and *out
// untouched) when the URL has no path, or its path does not decode.
bool sign_url(std::string_view url, std::string_view key, std::int64_t expiry, std::string* out);

enum class UrlCheck {
  kOk,
  kUnsigned,      // no e= or no s= parameter
  kMalformed,     // e= not a decimal time, s= not 64 hex digits, a parameter twice, bad escape
  kExpired,       // now > e
  kBadSignature,  // the signature does not match path and expiry (tampered or another key)
};
const char* to_string(UrlCheck check);

// Checks a request's path and query ("/dir/clip.wmv?e=...&s=...") against
// `key` at Unix time `now` (seconds).
UrlCheck check_signed_url(std::string_view path_and_query, std::string_view key, std::int64_t now);

}  // namespace mms::server

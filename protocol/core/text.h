// Text helpers shared by the protocol codecs: ASCII case folding, decimal
// numbers, base64 (RFC 4648) and UTF-16LE to UTF-8. All of them are
// locale-independent and never throw.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/core/bytes.h"

namespace mms {

// ---- ASCII case --------------------------------------------------------------

// 'A'..'Z' to 'a'..'z'; every other byte unchanged.
constexpr char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
std::string ascii_lower(std::string_view s);
// Equal but for the case of ASCII letters.
bool iequals(std::string_view a, std::string_view b);
// Whether s starts with prefix, ASCII letters compared case-insensitively.
bool istarts_with(std::string_view s, std::string_view prefix);

// ---- HTTP/RTSP header text (RFC 9110 §5.6, RFC 2326 §15.1) ---------------------

// Linear white space inside a header line: space or tab.
constexpr bool is_lws(char c) {
  return c == ' ' || c == '\t';
}
// s without leading and trailing spaces and tabs.
std::string_view trim_lws(std::string_view s);
// A tchar: letters, digits and "!#$%&'*+-.^_`|~".
bool is_token_char(char c);
// One or more tchars.
bool is_token(std::string_view s);
// The pieces of s between `sep`s outside double quotes (quotes kept); one
// piece for a string without `sep`.
std::vector<std::string_view> split_unquoted(std::string_view s, char sep);

// ---- numbers -----------------------------------------------------------------

// Decimal u32: 1 to 10 digits '0'..'9' (leading zeros count), nothing else (no
// sign, no space), value at most 4294967295. *out is left as it was on false.
bool parse_u32(std::string_view s, std::uint32_t* out);

// ---- base64 (RFC 4648 §4, alphabet "A-Za-z0-9+/") ------------------------------

// Always padded with '=' to a multiple of 4 characters.
std::string base64_encode(std::string_view in);
std::string base64_encode(ByteView in);

enum class Base64Mode {
  // Length a multiple of 4, "+/" alphabet only, '=' only as the one or two
  // characters that end the input, no whitespace (HTTP Basic, MMS tokens).
  kStrict,
  // Also skips ' ', '\t', '\r' and '\n' anywhere, accepts the URL-safe '-' and
  // '_' for '+' and '/', and any number of '=' (none too) at the end; a single
  // character left over after the last full byte is still an error (RTSP, SDP).
  kLenient,
};
// False, with *out left as it was, on input the mode does not accept. Bits
// left over past the last whole byte are dropped, not checked for zero.
bool base64_decode(std::string_view in, std::string* out, Base64Mode mode = Base64Mode::kStrict);
bool base64_decode(std::string_view in, std::vector<std::uint8_t>* out,
                   Base64Mode mode = Base64Mode::kStrict);

// ---- UTF-16 ------------------------------------------------------------------

// UTF-16LE code units to UTF-8, up to the first NUL unit (not included) or the
// end. An odd trailing byte is ignored; a high surrogate followed by a low one
// makes one code point; any other surrogate becomes U+FFFD. Never fails.
std::string utf16le_to_utf8(ByteView utf16le);

}  // namespace mms

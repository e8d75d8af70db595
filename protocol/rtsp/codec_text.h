// Character-level helpers the RTSP header codecs share (message_codec.cpp,
// header_values.cpp, auth.cpp): RFC 2326 §15.1 tokens, linear white space,
// quoted strings. Internal to protocol/rtsp/; not part of the codec's API.
#pragma once

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/core/text.h"

namespace mms::rtsp::codec_text {

inline bool is_space(char c) {
  return is_lws(c);
}

inline char to_upper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

inline bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

inline bool is_alpha(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

using mms::is_token;
using mms::is_token_char;
using mms::split_unquoted;

inline std::string_view trim(std::string_view s) {
  return trim_lws(s);
}

inline std::string unquote(std::string_view s) {
  s = trim(s);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') {
    s = s.substr(1, s.size() - 2);
  }
  return std::string(s);
}

}  // namespace mms::rtsp::codec_text

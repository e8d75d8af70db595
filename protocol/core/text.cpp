#include "protocol/core/text.h"

#include <cstring>
#include <utility>

#include "protocol/core/byte_reader.h"

namespace mms {
namespace {

constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::uint32_t kReplacementChar = 0xFFFD;

int base64_value(char c, Base64Mode mode) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  const bool url_safe = mode == Base64Mode::kLenient;
  if (c == '+' || (url_safe && c == '-')) {
    return 62;
  }
  if (c == '/' || (url_safe && c == '_')) {
    return 63;
  }
  return -1;
}

bool is_base64_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string encode_base64(const std::uint8_t* in, std::size_t size) {
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= size; i += 3) {
    const std::uint32_t v = static_cast<std::uint32_t>(in[i]) << 16 |
                            static_cast<std::uint32_t>(in[i + 1]) << 8 | in[i + 2];
    out.push_back(kBase64Alphabet[(v >> 18) & 63]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
    out.push_back(kBase64Alphabet[(v >> 6) & 63]);
    out.push_back(kBase64Alphabet[v & 63]);
  }
  const std::size_t rest = size - i;
  if (rest != 0) {
    std::uint32_t v = static_cast<std::uint32_t>(in[i]) << 16;
    if (rest == 2) {
      v |= static_cast<std::uint32_t>(in[i + 1]) << 8;
    }
    out.push_back(kBase64Alphabet[(v >> 18) & 63]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kBase64Alphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

// The one decoder behind both base64_decode overloads; Out is std::string or
// std::vector<std::uint8_t>.
template <typename Out>
bool decode_base64(std::string_view in, Base64Mode mode, Out* out) {
  const bool strict = mode == Base64Mode::kStrict;
  if (strict && in.size() % 4 != 0) {
    return false;
  }
  Out r;
  r.reserve(in.size() / 4 * 3 + 3);
  std::uint32_t acc = 0;
  unsigned bits = 0;
  std::size_t padding = 0;
  for (char c : in) {
    if (!strict && is_base64_space(c)) {
      continue;
    }
    if (c == '=') {
      ++padding;
      continue;
    }
    if (padding != 0) {
      return false;  // data after '='
    }
    const int d = base64_value(c, mode);
    if (d < 0) {
      return false;
    }
    acc = (acc << 6) | static_cast<std::uint32_t>(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      r.push_back(static_cast<typename Out::value_type>((acc >> bits) & 0xff));
    }
  }
  // A single character past the last whole byte carries no byte. In strict mode
  // the length check and at most two '=' already rule that out.
  if (bits >= 6 || (strict && padding > 2)) {
    return false;
  }
  *out = std::move(r);
  return true;
}

void append_utf8(std::uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace

std::string ascii_lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) {
    c = ascii_lower(c);
  }
  return r;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) {
      return false;
    }
  }
  return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::string_view trim_lws(std::string_view s) {
  while (!s.empty() && is_lws(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_lws(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

bool is_token_char(char c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
    return true;
  }
  return c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

bool is_token(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (!is_token_char(c)) {
      return false;
    }
  }
  return true;
}

std::vector<std::string_view> split_unquoted(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  bool quoted = false;
  std::size_t begin = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '"') {
      quoted = !quoted;
    } else if (s[i] == sep && !quoted) {
      parts.push_back(s.substr(begin, i - begin));
      begin = i + 1;
    }
  }
  parts.push_back(s.substr(begin));
  return parts;
}

bool parse_u32(std::string_view s, std::uint32_t* out) {
  if (s.empty() || s.size() > 10) {
    return false;
  }
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return false;
    }
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (v > 0xffffffffULL) {
    return false;
  }
  *out = static_cast<std::uint32_t>(v);
  return true;
}

std::string base64_encode(std::string_view in) {
  const ByteView bytes = ByteView::of(in);
  return encode_base64(bytes.data(), bytes.size());
}

std::string base64_encode(ByteView in) {
  return encode_base64(in.data(), in.size());
}

bool base64_decode(std::string_view in, std::string* out, Base64Mode mode) {
  return decode_base64(in, mode, out);
}

bool base64_decode(std::string_view in, std::vector<std::uint8_t>* out, Base64Mode mode) {
  return decode_base64(in, mode, out);
}

std::string utf16le_to_utf8(ByteView utf16le) {
  std::string out;
  const std::size_t n = utf16le.size() / 2;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t cp = load_u16le(utf16le.data() + 2 * i);
    if (cp == 0) {
      break;
    }
    if (cp >= 0xD800 && cp <= 0xDBFF && i + 1 < n) {
      const std::uint32_t lo = load_u16le(utf16le.data() + 2 * (i + 1));
      if (lo >= 0xDC00 && lo <= 0xDFFF) {
        ++i;
        append_utf8(0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00), &out);
        continue;
      }
    }
    append_utf8(cp >= 0xD800 && cp <= 0xDFFF ? kReplacementChar : cp, &out);
  }
  return out;
}

}  // namespace mms

#include "tools/server/url_signing.h"

#include <cstddef>
#include <optional>

#include <glib.h>

#include "protocol/core/access.h"
#include "protocol/core/url.h"

namespace mms::server {
namespace {

// Decimal Unix time, at most 18 digits, no sign, no leading zero (the
// signature covers the canonical form).
std::optional<std::int64_t> parse_time(std::string_view s) {
  if (s.empty() || s.size() > 18 || (s.size() > 1 && s.front() == '0')) {
    return std::nullopt;
  }
  std::int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    v = v * 10 + (c - '0');
  }
  return v;
}

// Equal strings of equal length, in a time that does not depend on where they differ.
bool equal_constant_time(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  unsigned diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i]);
  }
  return diff == 0;
}

}  // namespace

bool url_decode(std::string_view in, std::string* out) {
  return percent_decode(in, out) && out->find('\0') == std::string::npos;
}

std::string url_signature(std::string_view key, std::string_view path, std::int64_t expiry) {
  GHmac* h = g_hmac_new(G_CHECKSUM_SHA256, reinterpret_cast<const guchar*>(key.data()), key.size());
  const std::string message = std::string(path) + "\n" + std::to_string(expiry);
  g_hmac_update(h, reinterpret_cast<const guchar*>(message.data()),
                static_cast<gssize>(message.size()));
  std::string hex = g_hmac_get_string(h);  // lowercase hex, owned by h
  g_hmac_unref(h);
  return hex;
}

bool sign_url(std::string_view url, std::string_view key, std::int64_t expiry, std::string* out) {
  const std::string_view pq = path_and_query(url);
  if (pq.empty() || pq.front() != '/') {
    return false;
  }
  const std::size_t q = pq.find('?');
  std::string path;
  if (!url_decode(pq.substr(0, q), &path)) {
    return false;
  }
  // Everything up to the end of the query (a fragment is dropped).
  const std::size_t end = static_cast<std::size_t>(pq.data() - url.data()) + pq.size();
  std::string signed_url(url.substr(0, end));
  if (q == std::string_view::npos) {
    signed_url += '?';
  } else if (signed_url.back() != '?' && signed_url.back() != '&') {
    signed_url += '&';
  }
  signed_url += "e=" + std::to_string(expiry) + "&s=" + url_signature(key, path, expiry);
  *out = std::move(signed_url);
  return true;
}

const char* to_string(UrlCheck check) {
  switch (check) {
    case UrlCheck::kOk:
      return "valid";
    case UrlCheck::kUnsigned:
      return "not signed";
    case UrlCheck::kMalformed:
      return "malformed signature parameters";
    case UrlCheck::kExpired:
      return "expired";
    case UrlCheck::kBadSignature:
      return "bad signature";
  }
  return "?";
}

UrlCheck check_signed_url(std::string_view path_and_query, std::string_view key, std::int64_t now) {
  const std::size_t q = path_and_query.find('?');
  std::string path;
  if (!url_decode(path_and_query.substr(0, q), &path)) {
    return UrlCheck::kMalformed;
  }
  std::optional<std::string_view> e;
  std::optional<std::string_view> s;
  if (q != std::string_view::npos) {
    std::string_view query = path_and_query.substr(q + 1);
    while (!query.empty()) {
      const std::size_t amp = query.find('&');
      const std::string_view param = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
      std::optional<std::string_view>* slot = nullptr;
      if (param.substr(0, 2) == "e=") {
        slot = &e;
      } else if (param.substr(0, 2) == "s=") {
        slot = &s;
      } else {
        continue;
      }
      if (*slot) {
        return UrlCheck::kMalformed;  // which one would count is ambiguous
      }
      *slot = param.substr(2);
    }
  }
  if (!e || !s) {
    return UrlCheck::kUnsigned;
  }
  const std::optional<std::int64_t> expiry = parse_time(*e);
  if (!expiry || s->size() != 64) {
    return UrlCheck::kMalformed;
  }
  std::string given(*s);
  for (char& c : given) {
    if (!g_ascii_isxdigit(c)) {
      return UrlCheck::kMalformed;
    }
    c = g_ascii_tolower(c);
  }
  // The signature is checked before the expiry: "expired" is only said of
  // URLs this key signed.
  if (!equal_constant_time(url_signature(key, path, *expiry), given)) {
    return UrlCheck::kBadSignature;
  }
  if (now > *expiry) {
    return UrlCheck::kExpired;
  }
  return UrlCheck::kOk;
}

}  // namespace mms::server

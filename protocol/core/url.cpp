#include "protocol/core/url.h"

#include "protocol/core/text.h"

namespace mms {
namespace {

bool known_scheme(const std::string& s) {
  return s == "mms" || s == "mmsh" || s == "mmst" || s == "mmsu" || s == "http" || s == "rtsp" ||
         s == "rtspu" || s == "rtspt";
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

}  // namespace

bool percent_decode(std::string_view in, std::string* out) {
  out->clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) {
      return false;
    }
    int h = hex_digit(in[i + 1]);
    int l = hex_digit(in[i + 2]);
    if (h < 0 || l < 0) {
      return false;
    }
    out->push_back(static_cast<char>((h << 4) | l));
    i += 2;
  }
  return true;
}

std::uint16_t Url::effective_port() const {
  if (port != 0) {
    return port;
  }
  if (scheme == "mmsh" || scheme == "http") {
    return 80;
  }
  if (scheme == "rtsp" || scheme == "rtspu" || scheme == "rtspt") {
    return 554;
  }
  return 1755;
}

std::string Url::host_port() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != 0) {
    h += ":" + std::to_string(port);
  }
  return h;
}

std::string Url::to_string(bool with_credentials) const {
  std::string s = scheme + "://";
  if (with_credentials && !user.empty()) {
    s += user;
    if (!password.empty()) {
      s += ":" + password;
    }
    s += "@";
  }
  s += host_port();
  s += path;
  return s;
}

std::string Url::redacted() const {
  return to_string(false);
}

Result<Url> parse_url(std::string_view text) {
  Url url;
  std::size_t sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0) {
    return Status(Code::kMalformed, "URL has no scheme");
  }
  url.scheme = ascii_lower(text.substr(0, sep));
  if (!known_scheme(url.scheme)) {
    return Status(Code::kUnsupported, "unsupported URL scheme");
  }
  std::string_view rest = text.substr(sep + 3);
  std::size_t path_start = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_start);
  std::string_view path = path_start == std::string_view::npos ? "" : rest.substr(path_start);
  std::size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view cred = authority.substr(0, at);
    authority = authority.substr(at + 1);
    std::size_t colon = cred.find(':');
    if (!percent_decode(cred.substr(0, colon), &url.user)) {
      return Status(Code::kMalformed, "bad escape in URL user");
    }
    if (colon != std::string_view::npos && !percent_decode(cred.substr(colon + 1), &url.password)) {
      return Status(Code::kMalformed, "bad escape in URL password");
    }
  }
  std::string_view port_text;
  if (!authority.empty() && authority[0] == '[') {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return Status(Code::kMalformed, "unterminated IPv6 literal in URL");
    }
    url.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') {
        return Status(Code::kMalformed, "junk after IPv6 literal in URL");
      }
      port_text = after.substr(1);
    }
  } else {
    std::size_t colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
    }
  }
  if (url.host.empty()) {
    return Status(Code::kMalformed, "URL has no host");
  }
  for (char c : url.host) {
    if (static_cast<unsigned char>(c) <= ' ' || c == '/' || c == '@') {
      return Status(Code::kMalformed, "bad character in URL host");
    }
  }
  if (!port_text.empty()) {
    if (port_text.size() > 5) {
      return Status(Code::kMalformed, "URL port out of range");
    }
    std::uint32_t p = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9') {
        return Status(Code::kMalformed, "URL port is not a number");
      }
      p = p * 10 + static_cast<std::uint32_t>(c - '0');
    }
    if (p == 0 || p > 65535) {
      return Status(Code::kMalformed, "URL port out of range");
    }
    url.port = static_cast<std::uint16_t>(p);
  }
  url.path = path.empty() ? "/" : std::string(path);
  if (url.path[0] == '?') {
    url.path.insert(url.path.begin(), '/');
  }
  for (char c : url.path) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return Status(Code::kMalformed, "bad character in URL path");
    }
  }
  return url;
}

Result<Url> resolve_location(const Url& base, std::string_view location) {
  if (location.find("://") != std::string_view::npos) {
    Result<Url> r = parse_url(location);
    if (!r.ok()) {
      return r;
    }
    // An HTTP redirect keeps us on MMSH: map http:// back to the base scheme family.
    if (r->scheme == "http" && (base.scheme == "mmsh" || base.scheme == "mms")) {
      r->scheme = base.scheme;
      if (r->port == 0) {
        r->port = 80;
      }
    }
    return r;
  }
  if (location.empty() || location[0] != '/') {
    return Status(Code::kMalformed, "redirect Location is neither absolute URL nor path");
  }
  Url u = base;
  u.path = std::string(location);
  for (char c : u.path) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return Status(Code::kMalformed, "bad character in redirect Location");
    }
  }
  return u;
}

}  // namespace mms

namespace mms {
namespace {

// Lower-cased, without brackets, a trailing dot or (for names) a ":port".
std::string normalise_host(std::string_view h) {
  if (!h.empty() && h.front() == '[') {
    std::size_t close = h.find(']');
    h = h.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1);
  } else if (std::size_t colon = h.find(':');
             colon != std::string_view::npos && h.find(':', colon + 1) == std::string_view::npos) {
    h = h.substr(0, colon);  // name:port or v4:port (an IPv6 literal has several colons)
  }
  while (!h.empty() && h.back() == '.') {
    h.remove_suffix(1);
  }
  std::string out(h);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

}  // namespace

bool no_proxy_matches(std::string_view no_proxy, std::string_view host) {
  const std::string h = normalise_host(host);
  if (h.empty()) {
    return false;
  }
  std::size_t pos = 0;
  while (pos <= no_proxy.size()) {
    std::size_t end = no_proxy.find_first_of(", \t", pos);
    if (end == std::string_view::npos) {
      end = no_proxy.size();
    }
    std::string_view item = no_proxy.substr(pos, end - pos);
    pos = end + 1;
    if (item.empty()) {
      continue;
    }
    if (item == "*") {
      return true;
    }
    const bool suffix_only = item.front() == '.';
    std::string entry = normalise_host(suffix_only ? item.substr(1) : item);
    while (!entry.empty() && entry.front() == '.') {
      entry.erase(0, 1);
    }
    if (entry.empty()) {
      continue;
    }
    if (h == entry) {
      return true;
    }
    if (h.size() > entry.size() && h.compare(h.size() - entry.size(), entry.size(), entry) == 0 &&
        h[h.size() - entry.size() - 1] == '.') {
      return true;  // a subdomain
    }
  }
  return false;
}

}  // namespace mms

#include "protocol/rtsp/header_values.h"

#include <cstdio>

#include "protocol/core/limits.h"
#include "protocol/core/text.h"
#include "protocol/rtsp/codec_text.h"
#include "protocol/rtsp/message_codec.h"

namespace mms::rtsp {
namespace {

using codec_text::is_digit;
using codec_text::is_space;
using codec_text::is_token;
using codec_text::is_token_char;
using codec_text::split_unquoted;
using codec_text::to_upper;
using codec_text::trim;
using codec_text::unquote;

bool parse_u16(std::string_view s, std::uint16_t* out) {
  std::uint32_t v = 0;
  if (!parse_u32(s, &v) || v > 65535) {
    return false;
  }
  *out = static_cast<std::uint16_t>(v);
  return true;
}

bool parse_port_pair(std::string_view s, PortPair* out) {
  const std::size_t dash = s.find('-');
  PortPair p;
  if (!parse_u16(trim(s.substr(0, dash)), &p.first)) {
    return false;
  }
  if (dash != std::string_view::npos) {
    std::uint16_t second = 0;
    if (!parse_u16(trim(s.substr(dash + 1)), &second)) {
      return false;
    }
    p.second = second;
  }
  *out = p;
  return true;
}

std::string format_port_pair(const PortPair& p) {
  std::string s = std::to_string(p.first);
  if (p.second) {
    s += "-" + std::to_string(*p.second);
  }
  return s;
}

bool parse_hex_u32(std::string_view s, std::uint32_t* out) {
  if (s.empty() || s.size() > 8) {
    return false;
  }
  std::uint32_t v = 0;
  for (char c : s) {
    std::uint32_t d = 0;
    if (is_digit(c)) {
      d = static_cast<std::uint32_t>(c - '0');
    } else if (ascii_lower(c) >= 'a' && ascii_lower(c) <= 'f') {
      d = static_cast<std::uint32_t>(ascii_lower(c) - 'a' + 10);
    } else {
      return false;
    }
    v = (v << 4) | d;
  }
  *out = v;
  return true;
}

// A Transport parameter value written back unquoted: token characters plus
// what addresses use (':' '[' ']').
bool is_param_value(std::string_view s) {
  for (char c : s) {
    if (!is_token_char(c) && c != ':' && c != '[' && c != ']') {
      return false;
    }
  }
  return true;
}

bool parse_npt_time(std::string_view s, std::uint64_t* ms) {
  if (s.empty()) {
    return false;
  }
  std::string_view frac;
  const std::size_t dot = s.find('.');
  if (dot != std::string_view::npos) {
    frac = s.substr(dot + 1);
    s = s.substr(0, dot);
  }
  std::uint64_t seconds = 0;
  std::size_t fields = 0;
  std::size_t begin = 0;
  while (true) {
    const std::size_t colon = s.find(':', begin);
    const std::string_view part =
        s.substr(begin, colon == std::string_view::npos ? std::string_view::npos : colon - begin);
    // Up to 15 digits: a u64 of milliseconds holds any such time.
    if (part.empty() || part.size() > 15) {
      return false;
    }
    std::uint64_t v = 0;
    for (char c : part) {
      if (!is_digit(c)) {
        return false;
      }
      v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (fields > 0 && v > 59) {
      return false;
    }
    seconds = seconds * 60 + v;
    if (seconds >= 1000000000000000u) {  // keeps format_npt_time within 15 digits
      return false;
    }
    ++fields;
    if (colon == std::string_view::npos) {
      break;
    }
    begin = colon + 1;
  }
  if (fields != 1 && fields != 3) {
    return false;
  }
  std::uint64_t millis = 0;
  std::uint64_t scale = 100;
  for (char c : frac) {
    if (!is_digit(c)) {
      return false;
    }
    millis += static_cast<std::uint64_t>(c - '0') * scale;
    scale /= 10;
  }
  *ms = seconds * 1000 + millis;
  return true;
}

}  // namespace

Result<std::uint32_t> cseq_of(const Headers& headers) {
  const std::string* v = headers.find("CSeq");
  std::uint32_t n = 0;
  if (v == nullptr || !parse_u32(*v, &n)) {
    return Status(Code::kMalformed, "rtsp: missing or bad CSeq");
  }
  return n;
}

Result<SessionHeader> parse_session(std::string_view value) {
  const std::vector<std::string_view> parts = split_unquoted(value, ';');
  SessionHeader s;
  s.id = std::string(trim(parts[0]));
  if (s.id.empty()) {
    return Status(Code::kMalformed, "rtsp: empty Session id");
  }
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const std::string_view p = trim(parts[i]);
    if (istarts_with(p, "timeout=")) {
      std::uint32_t t = 0;
      if (!parse_u32(trim(p.substr(8)), &t)) {
        return Status(Code::kMalformed, "rtsp: bad Session timeout");
      }
      s.timeout_s = t;
    }
  }
  return s;
}

std::string format_session(const SessionHeader& s) {
  std::string r = s.id;
  if (s.timeout_s) {
    r += ";timeout=" + std::to_string(*s.timeout_s);
  }
  return r;
}

Result<std::vector<Transport>> parse_transports(std::string_view value) {
  std::vector<Transport> out;
  for (std::string_view spec : split_unquoted(value, ',')) {
    spec = trim(spec);
    if (spec.empty()) {
      continue;
    }
    if (out.size() >= limits::kMaxRtspListEntries) {
      return Status(Code::kLimitExceeded, "rtsp: more Transport specs than kMaxRtspListEntries");
    }
    const std::vector<std::string_view> params = split_unquoted(spec, ';');
    Transport t;
    const std::string_view proto = trim(params[0]);
    // "RTP/AVP", "RTP/AVP/UDP", "RTP/AVP/TCP"
    const std::size_t s1 = proto.find('/');
    if (s1 == std::string_view::npos || s1 == 0) {
      return Status(Code::kMalformed, "rtsp: bad Transport protocol");
    }
    const std::size_t s2 = proto.find('/', s1 + 1);
    t.protocol = std::string(proto.substr(0, s2));
    if (s2 != std::string_view::npos) {
      for (char c : proto.substr(s2 + 1)) {
        t.lower.push_back(to_upper(c));
      }
    }
    if (!is_token(proto.substr(0, s1)) || !is_token(proto.substr(s1 + 1, s2 - s1 - 1)) ||
        (s2 != std::string_view::npos && !is_token(t.lower))) {
      return Status(Code::kMalformed, "rtsp: bad Transport protocol");
    }
    for (std::size_t i = 1; i < params.size(); ++i) {
      const std::string_view p = trim(params[i]);
      const std::size_t eq = p.find('=');
      const std::string name = ascii_lower(trim(p.substr(0, eq)));
      const std::string_view v =
          eq == std::string_view::npos ? std::string_view() : trim(p.substr(eq + 1));
      PortPair pp;
      if (name == "unicast") {
        t.unicast = true;
      } else if (name == "multicast") {
        t.unicast = false;
      } else if (name == "client_port" || name == "server_port" || name == "interleaved") {
        if (!parse_port_pair(v, &pp)) {
          return Status(Code::kMalformed, "rtsp: bad Transport port or channel");
        }
        (name == "client_port"   ? t.client_port
         : name == "server_port" ? t.server_port
                                 : t.interleaved) = pp;
      } else if (name == "ssrc") {
        std::uint32_t ssrc = 0;
        if (!parse_hex_u32(unquote(v), &ssrc)) {
          return Status(Code::kMalformed, "rtsp: bad Transport ssrc");
        }
        t.ssrc = ssrc;
      } else if (name == "mode" || name == "destination" || name == "source") {
        std::string text = unquote(v);
        if (!is_param_value(text)) {
          return Status(Code::kMalformed, "rtsp: bad Transport parameter value");
        }
        (name == "mode"          ? t.mode
         : name == "destination" ? t.destination
                                 : t.source) = std::move(text);
      }
    }
    out.push_back(std::move(t));
  }
  if (out.empty()) {
    return Status(Code::kMalformed, "rtsp: empty Transport");
  }
  return out;
}

std::string format_transport(const Transport& t) {
  std::string s = t.protocol;
  if (!t.lower.empty()) {
    s += "/" + t.lower;
  }
  s += t.unicast ? ";unicast" : ";multicast";
  if (!t.destination.empty()) {
    s += ";destination=" + t.destination;
  }
  if (!t.source.empty()) {
    s += ";source=" + t.source;
  }
  if (t.client_port) {
    s += ";client_port=" + format_port_pair(*t.client_port);
  }
  if (t.server_port) {
    s += ";server_port=" + format_port_pair(*t.server_port);
  }
  if (t.interleaved) {
    s += ";interleaved=" + format_port_pair(*t.interleaved);
  }
  if (t.ssrc) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%08X", *t.ssrc);
    s += std::string(";ssrc=") + buf;
  }
  if (!t.mode.empty()) {
    s += ";mode=" + t.mode;
  }
  return s;
}

AccelRequest parse_accelerate_streaming(std::string_view value) {
  AccelRequest a;
  while (!value.empty()) {
    const std::size_t semi = value.find(';');
    std::string_view part = value.substr(0, semi);
    value = semi == std::string_view::npos ? std::string_view() : value.substr(semi + 1);
    const std::size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      continue;
    }
    const std::string_view name = trim(part.substr(0, eq));
    std::uint32_t v = 0;
    if (!parse_u32(trim(part.substr(eq + 1)), &v)) {
      continue;
    }
    if (iequals(name, "AccelDuration")) {
      a.duration_ms = v;
    } else if (iequals(name, "AccelBandwidth")) {
      a.bandwidth_bps = v;
    }
  }
  return a;
}

std::string format_accelerate_streaming(const AccelRequest& a) {
  return "AccelDuration=" + std::to_string(a.duration_ms) +
         ";AccelBandwidth=" + std::to_string(a.bandwidth_bps);
}

Result<NptRange> parse_range(std::string_view value) {
  std::string_view v = trim(split_unquoted(value, ';')[0]);
  if (!istarts_with(v, "npt=")) {
    return Status(Code::kUnsupported, "rtsp: Range unit other than npt");
  }
  v = trim(v.substr(4));
  const std::size_t dash = v.find('-');
  if (dash == std::string_view::npos) {
    return Status(Code::kMalformed, "rtsp: Range without '-'");
  }
  NptRange r;
  const std::string_view a = trim(v.substr(0, dash));
  const std::string_view b = trim(v.substr(dash + 1));
  std::uint64_t ms = 0;
  if (iequals(a, "now")) {
    r.start_now = true;
    r.start_ms = 0;
  } else if (!a.empty()) {
    if (!parse_npt_time(a, &ms)) {
      return Status(Code::kMalformed, "rtsp: bad npt start");
    }
    r.start_ms = ms;
  }
  if (!b.empty()) {
    if (!parse_npt_time(b, &ms)) {
      return Status(Code::kMalformed, "rtsp: bad npt end");
    }
    r.end_ms = ms;
  }
  if (!r.start_ms && !r.end_ms) {
    return Status(Code::kMalformed, "rtsp: empty npt range");
  }
  return r;
}

std::string format_npt_time(std::uint64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%llu.%03llu", static_cast<unsigned long long>(ms / 1000),
                static_cast<unsigned long long>(ms % 1000));
  return buf;
}

std::string format_range(const NptRange& r) {
  std::string s = "npt=";
  if (r.start_now) {
    s += "now";
  } else if (r.start_ms) {
    s += format_npt_time(*r.start_ms);
  }
  s += "-";
  if (r.end_ms) {
    s += format_npt_time(*r.end_ms);
  }
  return s;
}

Result<std::vector<RtpInfo>> parse_rtp_info(std::string_view value) {
  // Entry boundaries: commas followed (after spaces) by "url=".
  std::vector<std::string_view> entries;
  std::size_t begin = 0;
  for (std::size_t i = 0; i <= value.size(); ++i) {
    if (i == value.size()) {
      entries.push_back(value.substr(begin));
      break;
    }
    if (value[i] != ',') {
      continue;
    }
    std::size_t k = i + 1;
    while (k < value.size() && is_space(value[k])) {
      ++k;
    }
    if (istarts_with(value.substr(k), "url=")) {
      entries.push_back(value.substr(begin, i - begin));
      begin = i + 1;
    }
  }
  std::vector<RtpInfo> out;
  for (std::string_view e : entries) {
    e = trim(e);
    if (e.empty()) {
      continue;
    }
    if (out.size() >= limits::kMaxRtspListEntries) {
      return Status(Code::kLimitExceeded, "rtsp: more RTP-Info entries than kMaxRtspListEntries");
    }
    RtpInfo info;
    // url is first and may hold ';' (rare); parameters follow the last "url" part.
    std::vector<std::string_view> params = split_unquoted(e, ';');
    for (std::string_view p : params) {
      p = trim(p);
      const std::size_t eq = p.find('=');
      const std::string name = ascii_lower(trim(p.substr(0, eq)));
      const std::string_view v =
          eq == std::string_view::npos ? std::string_view() : trim(p.substr(eq + 1));
      if (name == "url") {
        info.url = unquote(v);
      } else if (name == "seq") {
        std::uint16_t seq = 0;
        if (!parse_u16(v, &seq)) {
          return Status(Code::kMalformed, "rtsp: bad RTP-Info seq");
        }
        info.seq = seq;
      } else if (name == "rtptime") {
        std::uint32_t t = 0;
        if (!parse_u32(v, &t)) {
          return Status(Code::kMalformed, "rtsp: bad RTP-Info rtptime");
        }
        info.rtptime = t;
      }
    }
    out.push_back(std::move(info));
  }
  return out;
}

std::string format_rtp_info(const std::vector<RtpInfo>& entries) {
  std::string s;
  for (const RtpInfo& e : entries) {
    if (!s.empty()) {
      s += ", ";
    }
    s += "url=" + e.url;
    if (e.seq) {
      s += ";seq=" + std::to_string(*e.seq);
    }
    if (e.rtptime) {
      s += ";rtptime=" + std::to_string(*e.rtptime);
    }
  }
  return s;
}

}  // namespace mms::rtsp

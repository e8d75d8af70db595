#include "protocol/rtsp/message_codec.h"

#include <cstdio>
#include <cstring>

#include "protocol/core/limits.h"
#include "protocol/core/text.h"
#include "protocol/rtsp/md5.h"

namespace mms::rtsp {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t';
}

char to_upper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_alpha(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool is_token_char(char c) {
  if (is_alpha(c) || is_digit(c)) {
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

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_space(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

Decode fail(Status* error, Code code, const char* what, std::size_t detail) {
  *error = Status(code, what, static_cast<std::uint32_t>(detail));
  return Decode::kError;
}

// Splits the head starting at `start` into lines; see mmsh/http_codec.cpp.
Decode scan_head(std::string_view text, std::size_t start, std::vector<std::string_view>* lines,
                 std::size_t* head_end, Status* error) {
  std::size_t pos = start;
  lines->clear();
  while (true) {
    const std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos || nl - start >= limits::kMaxRtspHead) {
      if (text.size() - pos > limits::kMaxRtspLine + 1) {  // +1: room for its CR
        return fail(error, Code::kLimitExceeded, "rtsp: line longer than kMaxRtspLine", pos);
      }
      if (text.size() - start >= limits::kMaxRtspHead) {
        return fail(error, Code::kLimitExceeded, "rtsp: head larger than kMaxRtspHead",
                    text.size() - start);
      }
      return Decode::kNeedMore;
    }
    std::size_t end = nl;
    if (end > pos && text[end - 1] == '\r') {
      --end;
    }
    const std::string_view line = text.substr(pos, end - pos);
    if (line.size() > limits::kMaxRtspLine) {
      return fail(error, Code::kLimitExceeded, "rtsp: line longer than kMaxRtspLine", pos);
    }
    pos = nl + 1;
    if (line.empty()) {
      *head_end = pos;
      return Decode::kDone;
    }
    if (lines->size() > limits::kMaxRtspHeaders) {
      return fail(error, Code::kLimitExceeded, "rtsp: more than kMaxRtspHeaders headers",
                  lines->size());
    }
    lines->push_back(line);
  }
}

Decode parse_headers(const std::vector<std::string_view>& lines, Headers* out, Status* error) {
  out->list.clear();
  out->list.reserve(lines.size() - 1);
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    if (is_space(line.front())) {
      return fail(error, Code::kMalformed, "rtsp: folded header line", i);
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || !is_token(trim(line.substr(0, colon)))) {
      return fail(error, Code::kMalformed, "rtsp: bad header line", i);
    }
    out->add(std::string(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
  }
  return Decode::kDone;
}

bool parse_version(std::string_view s, int* minor) {
  if (s.size() != 8 || s.substr(0, 7) != "RTSP/1." || !is_digit(s[7])) {
    return false;
  }
  *minor = s[7] - '0';
  return true;
}

bool parse_start_line(std::string_view line, Unit* unit) {
  if (line.substr(0, 5) == "RTSP/") {
    // "RTSP/1.x SSS[ reason]"
    if (line.size() < 12 || !parse_version(line.substr(0, 8), &unit->response.version_minor) ||
        line[8] != ' ' || !is_digit(line[9]) || !is_digit(line[10]) || !is_digit(line[11]) ||
        (line.size() > 12 && line[12] != ' ')) {
      return false;
    }
    unit->kind = UnitKind::kResponse;
    unit->response.status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    unit->response.reason = std::string(line.size() > 13 ? line.substr(13) : std::string_view());
    return true;
  }
  const std::size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) {
    return false;
  }
  const std::size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1 ||
      line.find(' ', sp2 + 1) != std::string_view::npos) {
    return false;
  }
  const std::string_view method = line.substr(0, sp1);
  if (!is_token(method) || !parse_version(line.substr(sp2 + 1), &unit->request.version_minor)) {
    return false;
  }
  unit->kind = UnitKind::kRequest;
  unit->request.method = std::string(method);
  unit->request.uri = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  return true;
}

void write_headers(const Headers& headers, const std::string& body, std::string* out) {
  bool wrote_length = false;
  for (const Header& h : headers.list) {
    if (iequals(h.name, "Content-Length")) {
      if (wrote_length) {
        continue;
      }
      *out += h.name + ": " + std::to_string(body.size()) + "\r\n";
      wrote_length = true;
      continue;
    }
    *out += h.name + ": " + h.value + "\r\n";
  }
  if (!wrote_length && !body.empty()) {
    *out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  *out += "\r\n";
  *out += body;
}

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

std::string unquote(std::string_view s) {
  s = trim(s);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') {
    s = s.substr(1, s.size() - 2);
  }
  return std::string(s);
}

// Splits at `sep` outside double quotes.
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

// npt-time: "now" handled by the caller; "<sec>[.frac]" or "<h>:<mm>:<ss>[.frac]".
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

const std::string* Headers::find(std::string_view name) const {
  for (const Header& h : list) {
    if (iequals(h.name, name)) {
      return &h.value;
    }
  }
  return nullptr;
}

std::vector<std::string_view> Headers::all(std::string_view name) const {
  std::vector<std::string_view> r;
  for (const Header& h : list) {
    if (iequals(h.name, name)) {
      r.push_back(h.value);
    }
  }
  return r;
}

void Headers::set(std::string_view name, std::string value) {
  for (Header& h : list) {
    if (iequals(h.name, name)) {
      h.value = std::move(value);
      return;
    }
  }
  add(std::string(name), std::move(value));
}

void Headers::remove(std::string_view name) {
  std::vector<Header> kept;
  for (Header& h : list) {
    if (!iequals(h.name, name)) {
      kept.push_back(std::move(h));
    }
  }
  list = std::move(kept);
}

Decode decode_unit(ByteView in, Unit* unit, Status* error) {
  const std::string_view text = in.as_string_view();
  // Empty lines between units (some servers end bodies with an extra CRLF).
  std::size_t start = 0;
  while (start < text.size() && (text[start] == '\r' || text[start] == '\n')) {
    ++start;
    if (start > limits::kMaxRtspLine) {
      return fail(error, Code::kLimitExceeded, "rtsp: line longer than kMaxRtspLine", start);
    }
  }
  if (start == text.size()) {
    return Decode::kNeedMore;
  }
  if (text[start] == '$') {
    if (text.size() - start < 4) {
      return Decode::kNeedMore;
    }
    const std::size_t len = static_cast<std::size_t>(in[start + 2]) << 8 | in[start + 3];
    if (text.size() - start - 4 < len) {
      return Decode::kNeedMore;
    }
    unit->kind = UnitKind::kInterleaved;
    unit->frame.channel = in[start + 1];
    unit->frame.payload = in.subview(start + 4, len);
    unit->wire_size = start + 4 + len;
    return Decode::kDone;
  }
  std::vector<std::string_view> lines;
  std::size_t head_end = 0;
  const Decode d = scan_head(text, start, &lines, &head_end, error);
  if (d != Decode::kDone) {
    // A garbage first line is reported before the head completes.
    if (d == Decode::kNeedMore) {
      const std::size_t nl = text.find('\n', start);
      if (nl != std::string_view::npos) {
        Unit probe;
        std::size_t end = nl;
        if (end > start && text[end - 1] == '\r') {
          --end;
        }
        if (!parse_start_line(text.substr(start, end - start), &probe)) {
          return fail(error, Code::kMalformed, "rtsp: bad start line", start);
        }
      }
    }
    return d;
  }
  Unit u;
  if (!parse_start_line(lines[0], &u)) {
    return fail(error, Code::kMalformed, "rtsp: bad start line", start);
  }
  Headers* headers = u.kind == UnitKind::kRequest ? &u.request.headers : &u.response.headers;
  if (parse_headers(lines, headers, error) != Decode::kDone) {
    return Decode::kError;
  }
  std::size_t body_len = 0;
  if (const std::string* cl = headers->find("Content-Length")) {
    std::uint32_t v = 0;
    if (!parse_u32(*cl, &v)) {
      return fail(error, Code::kMalformed, "rtsp: bad Content-Length", 0);
    }
    if (v > limits::kMaxRtspBody) {
      return fail(error, Code::kLimitExceeded, "rtsp: body larger than kMaxRtspBody", v);
    }
    body_len = v;
  }
  if (text.size() - head_end < body_len) {
    return Decode::kNeedMore;
  }
  std::string body(text.substr(head_end, body_len));
  if (u.kind == UnitKind::kRequest) {
    u.request.body = std::move(body);
  } else {
    u.response.body = std::move(body);
  }
  u.wire_size = head_end + body_len;
  *unit = std::move(u);
  return Decode::kDone;
}

std::string write_request(const Request& req) {
  std::string out =
      req.method + " " + req.uri + " RTSP/1." + std::to_string(req.version_minor) + "\r\n";
  write_headers(req.headers, req.body, &out);
  return out;
}

std::string write_response(const Response& resp) {
  char status[8];
  std::snprintf(status, sizeof status, "%03d", resp.status % 1000);
  std::string out = "RTSP/1." + std::to_string(resp.version_minor) + " " + status;
  if (!resp.reason.empty()) {
    out += " " + resp.reason;
  }
  out += "\r\n";
  write_headers(resp.headers, resp.body, &out);
  return out;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Moved Temporarily";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 407:
      return "Proxy Authentication Required";
    case 408:
      return "Request Time-out";
    case 415:
      return "Unsupported Media Type";
    case 451:
      return "Parameter Not Understood";
    case 453:
      return "Not Enough Bandwidth";
    case 454:
      return "Session Not Found";
    case 455:
      return "Method Not Valid in This State";
    case 456:
      return "Header Field Not Valid for Resource";
    case 457:
      return "Invalid Range";
    case 459:
      return "Aggregate operation not allowed";
    case 460:
      return "Only aggregate operation allowed";
    case 461:
      return "Unsupported transport";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "RTSP Version not supported";
    case 551:
      return "Option not supported";
    default:
      return "";
  }
}

Status write_interleaved(std::uint8_t channel, ByteView payload, std::vector<std::uint8_t>* out) {
  if (payload.size() > 65535) {
    return Status(Code::kLocalMisuse, "rtsp: interleaved payload above 65535 bytes",
                  static_cast<std::uint32_t>(payload.size()));
  }
  out->push_back('$');
  out->push_back(channel);
  out->push_back(static_cast<std::uint8_t>(payload.size() >> 8));
  out->push_back(static_cast<std::uint8_t>(payload.size()));
  out->insert(out->end(), payload.begin(), payload.end());
  return Status::Ok();
}

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

const std::string* AuthChallenge::param(std::string_view name) const {
  for (const AuthParam& p : params) {
    if (iequals(p.name, name)) {
      return &p.value;
    }
  }
  return nullptr;
}

bool AuthChallenge::is(std::string_view scheme_name) const {
  return iequals(scheme, scheme_name);
}

Result<std::vector<AuthChallenge>> parse_auth(std::string_view value) {
  std::vector<AuthChallenge> out;
  std::size_t pos = 0;
  auto skip_ws = [&] {
    while (pos < value.size() && (is_space(value[pos]) || value[pos] == ',')) {
      ++pos;
    }
  };
  auto read_token = [&] {
    const std::size_t b = pos;
    while (pos < value.size() && is_token_char(value[pos])) {
      ++pos;
    }
    return value.substr(b, pos - b);
  };
  skip_ws();
  while (pos < value.size()) {
    const std::string_view scheme = read_token();
    if (scheme.empty()) {
      return Status(Code::kMalformed, "rtsp: bad auth scheme");
    }
    if (out.size() >= limits::kMaxAuthChallenges) {
      return Status(Code::kLimitExceeded, "rtsp: more challenges than kMaxAuthChallenges");
    }
    AuthChallenge c;
    c.scheme = std::string(scheme);
    while (pos < value.size() && is_space(value[pos])) {
      ++pos;
    }
    // token68 (Basic credentials): everything up to a comma, if no '=' follows a token.
    {
      const std::size_t save = pos;
      const std::string_view tok = read_token();
      std::size_t k = pos;
      while (k < value.size() && is_space(value[k])) {
        ++k;
      }
      const bool is_param = !tok.empty() && k < value.size() && value[k] == '=' &&
                            !(k + 1 >= value.size() || value[k + 1] == '=' || value[k + 1] == ',');
      pos = save;
      if (!is_param && save < value.size() && value[save] != ',') {
        std::size_t e = value.find(',', save);
        if (e == std::string_view::npos) {
          e = value.size();
        }
        c.token68 = std::string(trim(value.substr(save, e - save)));
        pos = e;
        out.push_back(std::move(c));
        skip_ws();
        continue;
      }
    }
    // auth-params until the next "<token> <token|token=>" (a new challenge).
    while (true) {
      skip_ws();
      if (pos >= value.size()) {
        break;
      }
      const std::size_t save = pos;
      const std::string_view name = read_token();
      std::size_t k = pos;
      while (k < value.size() && is_space(value[k])) {
        ++k;
      }
      if (name.empty() || k >= value.size() || value[k] != '=') {
        if (name.empty()) {
          return Status(Code::kMalformed, "rtsp: bad auth parameter");
        }
        pos = save;  // next challenge
        break;
      }
      pos = k + 1;
      while (pos < value.size() && is_space(value[pos])) {
        ++pos;
      }
      std::string v;
      if (pos < value.size() && value[pos] == '"') {
        ++pos;
        bool closed = false;
        while (pos < value.size()) {
          const char ch = value[pos++];
          if (ch == '\\' && pos < value.size()) {
            v.push_back(value[pos++]);
          } else if (ch == '"') {
            closed = true;
            break;
          } else {
            v.push_back(ch);
          }
        }
        if (!closed) {
          return Status(Code::kMalformed, "rtsp: unterminated quoted auth parameter");
        }
      } else {
        const std::size_t b = pos;
        while (pos < value.size() && value[pos] != ',' && !is_space(value[pos])) {
          ++pos;
        }
        v = std::string(value.substr(b, pos - b));
      }
      if (c.params.size() >= limits::kMaxAuthParams) {
        return Status(Code::kLimitExceeded, "rtsp: more auth parameters than kMaxAuthParams");
      }
      c.params.push_back(AuthParam{ascii_lower(name), std::move(v)});
    }
    out.push_back(std::move(c));
    skip_ws();
  }
  return out;
}

Result<std::vector<AuthChallenge>> parse_www_authenticate(const Headers& headers) {
  std::vector<AuthChallenge> all;
  for (std::string_view v : headers.all("WWW-Authenticate")) {
    Result<std::vector<AuthChallenge>> r = parse_auth(v);
    if (!r.ok()) {
      return r.status();
    }
    for (AuthChallenge& c : *r) {
      if (all.size() >= limits::kMaxAuthChallenges) {
        return Status(Code::kLimitExceeded, "rtsp: more challenges than kMaxAuthChallenges");
      }
      all.push_back(std::move(c));
    }
  }
  return all;
}

std::string basic_authorization(std::string_view user, std::string_view password) {
  const std::string plain = std::string(user) + ":" + std::string(password);
  return "Basic " + base64_encode(ByteView::of(plain));
}

bool parse_basic_credentials(const AuthChallenge& credentials, std::string* user,
                             std::string* password) {
  std::vector<std::uint8_t> plain;
  if (!credentials.is("Basic") ||
      !base64_decode(credentials.token68, &plain, Base64Mode::kLenient)) {
    return false;
  }
  const std::string s(plain.begin(), plain.end());
  const std::size_t colon = s.find(':');
  if (colon == std::string::npos) {
    return false;
  }
  *user = s.substr(0, colon);
  *password = s.substr(colon + 1);
  return true;
}

std::string digest_response(const DigestInput& in) {
  std::string ha1 = md5_hex(in.user + ":" + in.realm + ":" + in.password);
  if (iequals(in.algorithm, "MD5-sess")) {
    ha1 = md5_hex(ha1 + ":" + in.nonce + ":" + in.cnonce);
  }
  const std::string ha2 = md5_hex(in.method + ":" + in.uri);
  if (in.qop.empty()) {
    return md5_hex(ha1 + ":" + in.nonce + ":" + ha2);
  }
  return md5_hex(ha1 + ":" + in.nonce + ":" + in.nc + ":" + in.cnonce + ":" + in.qop + ":" + ha2);
}

namespace {

std::string quoted(std::string_view v) {
  std::string s = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') {
      s.push_back('\\');
    }
    s.push_back(c);
  }
  s.push_back('"');
  return s;
}

}  // namespace

Result<std::string> digest_authorization(const AuthChallenge& challenge, std::string_view user,
                                         std::string_view password, std::string_view method,
                                         std::string_view uri, std::string_view cnonce) {
  const std::string* realm = challenge.param("realm");
  const std::string* nonce = challenge.param("nonce");
  if (!challenge.is("Digest") || realm == nullptr || nonce == nullptr) {
    return Status(Code::kMalformed, "rtsp: Digest challenge without realm or nonce");
  }
  DigestInput in;
  in.user = std::string(user);
  in.password = std::string(password);
  in.realm = *realm;
  in.nonce = *nonce;
  in.method = std::string(method);
  in.uri = std::string(uri);
  in.cnonce = std::string(cnonce);
  if (const std::string* alg = challenge.param("algorithm")) {
    if (!iequals(*alg, "MD5") && !iequals(*alg, "MD5-sess")) {
      return Status(Code::kUnsupported, "rtsp: Digest algorithm other than MD5");
    }
    in.algorithm = *alg;
  }
  if (const std::string* qop = challenge.param("qop")) {
    bool auth = false;
    for (std::string_view q : split_unquoted(*qop, ',')) {
      auth = auth || iequals(trim(q), "auth");
    }
    if (!auth) {
      return Status(Code::kUnsupported, "rtsp: Digest qop without auth");
    }
    in.qop = "auth";
  }
  std::string s = "Digest username=" + quoted(user) + ", realm=" + quoted(*realm) +
                  ", nonce=" + quoted(*nonce) + ", uri=" + quoted(uri) +
                  ", response=" + quoted(digest_response(in));
  if (!in.algorithm.empty()) {
    s += ", algorithm=" + in.algorithm;
  }
  if (const std::string* opaque = challenge.param("opaque")) {
    s += ", opaque=" + quoted(*opaque);
  }
  if (!in.qop.empty()) {
    s += ", qop=auth, nc=" + in.nc + ", cnonce=" + quoted(cnonce);
  }
  return s;
}

bool digest_verify(const AuthChallenge& credentials, std::string_view method,
                   std::string_view password) {
  const std::string* user = credentials.param("username");
  const std::string* realm = credentials.param("realm");
  const std::string* nonce = credentials.param("nonce");
  const std::string* uri = credentials.param("uri");
  const std::string* response = credentials.param("response");
  if (!credentials.is("Digest") || user == nullptr || realm == nullptr || nonce == nullptr ||
      uri == nullptr || response == nullptr) {
    return false;
  }
  DigestInput in;
  in.user = *user;
  in.password = std::string(password);
  in.realm = *realm;
  in.nonce = *nonce;
  in.method = std::string(method);
  in.uri = *uri;
  if (const std::string* alg = credentials.param("algorithm")) {
    in.algorithm = *alg;
  }
  if (const std::string* qop = credentials.param("qop")) {
    const std::string* nc = credentials.param("nc");
    const std::string* cnonce = credentials.param("cnonce");
    if (nc == nullptr || cnonce == nullptr) {
      return false;
    }
    in.qop = *qop;
    in.nc = *nc;
    in.cnonce = *cnonce;
  }
  return iequals(digest_response(in), *response);
}

}  // namespace mms::rtsp

#include "protocol/rtsp/sdp_wms.h"

#include <cstdio>

#include "protocol/asf/guids.h"
#include "protocol/asf/header_parser.h"
#include "protocol/core/limits.h"
#include "protocol/core/text.h"

namespace mms::rtsp {
namespace {

constexpr std::string_view kHeaderUrl = "pgmpu:data:application/vnd.ms.wms-hdr.asfv1;base64,";
constexpr std::string_view kContentDescUrl = "pgmpu:data:application/x-wms-contentdesc,";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

Status decode_header(std::string_view b64, std::vector<std::uint8_t>* out) {
  if (b64.size() / 4 * 3 > limits::kMaxAsfHeaderBytes) {
    return Status(Code::kLimitExceeded, "sdp: ASF header larger than kMaxAsfHeaderBytes",
                  static_cast<std::uint32_t>(b64.size()));
  }
  if (!base64_decode(b64, out, Base64Mode::kLenient)) {
    return Status(Code::kMalformed, "sdp: bad base64 in the ASF header");
  }
  if (out->size() < 30 || !asf::guid_equals(out->data(), asf::kHeaderObject)) {
    return Status(Code::kMalformed, "sdp: ASF header does not start with the Header Object");
  }
  return Status::Ok();
}

// "maxps=3200;config=..." (fmtp parameters after the payload type).
Status parse_fmtp(std::string_view params, WmsSdp* sdp, bool* got_header) {
  std::size_t begin = 0;
  while (begin <= params.size()) {
    std::size_t semi = params.find(';', begin);
    if (semi == std::string_view::npos) {
      semi = params.size();
    }
    const std::string_view p = trim(params.substr(begin, semi - begin));
    begin = semi + 1;
    const std::size_t eq = p.find('=');
    if (eq == std::string_view::npos) {
      continue;
    }
    const std::string name = ascii_lower(trim(p.substr(0, eq)));
    const std::string_view v = trim(p.substr(eq + 1));
    if (name == "maxps") {
      std::uint32_t n = 0;
      if (!parse_u32(v, &n)) {
        return Status(Code::kMalformed, "sdp: bad fmtp maxps");
      }
      if (sdp->max_packet_size == 0) {
        sdp->max_packet_size = n;
      }
    } else if (name == "config" && sdp->asf_header.empty()) {
      MMS_TRY(decode_header(v, &sdp->asf_header));
      *got_header = true;
    }
  }
  return Status::Ok();
}

}  // namespace

const SdpMedia* WmsSdp::find_stream(std::uint32_t n) const {
  for (const SdpMedia& m : media) {
    if (m.asf_pf() && (m.stream == n || m.whole_mux)) {
      return &m;
    }
  }
  return nullptr;
}

const SdpMedia* WmsSdp::rtx() const {
  for (const SdpMedia& m : media) {
    if (m.rtx()) {
      return &m;
    }
  }
  return nullptr;
}

Result<WmsSdp> parse_wms_sdp(std::string_view text) {
  WmsSdp sdp;
  std::size_t pos = 0;
  std::size_t line_count = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) {
      nl = text.size();
    }
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (trim(line).empty()) {
      continue;
    }
    if (++line_count > limits::kMaxSdpLines) {
      return Status(Code::kLimitExceeded, "sdp: more lines than kMaxSdpLines");
    }
    if (line.size() < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z') {
      return Status(Code::kMalformed, "sdp: line is not <letter>=<value>",
                    static_cast<std::uint32_t>(line_count));
    }
    const char type = line[0];
    const std::string_view value = trim(line.substr(2));
    SdpMedia* m = sdp.media.empty() ? nullptr : &sdp.media.back();
    if (type == 'm') {
      if (sdp.media.size() >= limits::kMaxSdpMedia) {
        return Status(Code::kLimitExceeded, "sdp: more media than kMaxSdpMedia");
      }
      SdpMedia nm;
      const std::size_t sp = value.find(' ');
      nm.media = ascii_lower(value.substr(0, sp));
      // "<media> <port> <proto> <fmt>": the first format is the payload type.
      const std::size_t last_sp = value.rfind(' ');
      std::uint32_t pt = 0;
      if (sp == std::string_view::npos || last_sp == sp ||
          !parse_u32(value.substr(last_sp + 1), &pt) || pt > 127) {
        // Several formats or odd syntax: take the 4th field.
        std::size_t b = value.find(' ', value.find(' ', sp + 1) + 1);
        const std::string_view rest =
            b == std::string_view::npos ? std::string_view() : value.substr(b + 1);
        if (!parse_u32(rest.substr(0, rest.find(' ')), &pt) || pt > 127) {
          return Status(Code::kMalformed, "sdp: bad m= line",
                        static_cast<std::uint32_t>(line_count));
        }
      }
      nm.payload_type = static_cast<std::uint8_t>(pt);
      sdp.media.push_back(std::move(nm));
      continue;
    }
    if (type == 'b') {
      if (istarts_with(value, "AS:")) {
        std::uint32_t kbps = 0;
        if (!parse_u32(trim(value.substr(3)), &kbps)) {
          return Status(Code::kMalformed, "sdp: bad b=AS");
        }
        (m != nullptr ? m->bitrate_kbps : sdp.bitrate_kbps) = kbps;
      }
      continue;
    }
    if (type != 'a') {
      continue;
    }
    if (istarts_with(value, kHeaderUrl)) {
      if (sdp.asf_header.empty() || sdp.header_from_fmtp) {
        sdp.header_from_fmtp = false;
        MMS_TRY(decode_header(value.substr(kHeaderUrl.size()), &sdp.asf_header));
      }
    } else if (istarts_with(value, kContentDescUrl)) {
      sdp.content_description = std::string(value.substr(kContentDescUrl.size()));
    } else if (istarts_with(value, "maxps:")) {
      std::uint32_t n = 0;
      if (!parse_u32(trim(value.substr(6)), &n)) {
        return Status(Code::kMalformed, "sdp: bad a=maxps");
      }
      sdp.max_packet_size = n;
    } else if (istarts_with(value, "control:")) {
      (m != nullptr ? m->control : sdp.control) = std::string(trim(value.substr(8)));
    } else if (istarts_with(value, "range:")) {
      Result<NptRange> r = parse_range(value.substr(6));
      if (r.ok()) {
        sdp.range = *r;
      } else if (r.status().code() != Code::kUnsupported) {
        return Status(Code::kMalformed, "sdp: bad a=range");
      }
    } else if (m != nullptr && istarts_with(value, "stream:")) {
      std::uint32_t n = 0;
      if (!parse_u32(trim(value.substr(7)), &n) || n == 0 || n == 65535 || n > kLastRtxStream) {
        return Status(Code::kMalformed, "sdp: bad a=stream");
      }
      m->stream = n;
    } else if (m != nullptr && istarts_with(value, "rtpmap:")) {
      // "<pt> <encoding>/<clock>[/<channels>]"
      const std::string_view v = trim(value.substr(7));
      const std::size_t sp = v.find(' ');
      std::uint32_t pt = 0;
      if (sp == std::string_view::npos || !parse_u32(v.substr(0, sp), &pt)) {
        return Status(Code::kMalformed, "sdp: bad a=rtpmap");
      }
      if (pt != m->payload_type) {
        continue;
      }
      const std::string_view enc = trim(v.substr(sp + 1));
      const std::size_t slash = enc.find('/');
      m->encoding = ascii_lower(enc.substr(0, slash));
      if (slash != std::string_view::npos) {
        const std::string_view clock = enc.substr(slash + 1, enc.find('/', slash + 1) - slash - 1);
        if (!parse_u32(clock, &m->clock_rate)) {
          return Status(Code::kMalformed, "sdp: bad a=rtpmap clock rate");
        }
      }
    } else if (m != nullptr && istarts_with(value, "fmtp:")) {
      const std::string_view v = trim(value.substr(5));
      const std::size_t sp = v.find(' ');
      if (sp == std::string_view::npos) {
        continue;
      }
      bool got_header = false;
      MMS_TRY(parse_fmtp(v.substr(sp + 1), &sdp, &got_header));
      if (got_header) {
        sdp.header_from_fmtp = true;
      }
    }
  }
  if (sdp.asf_header.empty()) {
    return Status(Code::kNotFound, "sdp: no ASF header (not a WMS SDP)");
  }
  for (SdpMedia& m : sdp.media) {
    if (m.asf_pf() && m.stream == 0) {
      m.whole_mux = true;
    }
  }
  return sdp;
}

std::string resolve_control(std::string_view base, std::string_view session_control,
                            std::string_view media_control) {
  if (media_control.find("://") != std::string_view::npos) {
    return std::string(media_control);
  }
  std::string root = aggregate_url(base, session_control);
  if (media_control.empty() || media_control == "*") {
    return root;
  }
  if (root.empty() || root.back() != '/') {
    root.push_back('/');
  }
  return root + std::string(media_control);
}

std::string aggregate_url(std::string_view base, std::string_view session_control) {
  if (session_control.find("://") != std::string_view::npos) {
    return std::string(session_control);
  }
  if (session_control.empty() || session_control == "*") {
    return std::string(base);
  }
  std::string root(base);
  if (root.empty() || root.back() != '/') {
    root.push_back('/');
  }
  return root + std::string(session_control);
}

Result<std::string> write_wms_sdp(ByteView asf_header, const SdpWriteOptions& options) {
  std::vector<std::uint8_t> header = asf_header.to_vector();
  Result<asf::HeaderInfo> info = asf::parse_header(header);
  if (!info.ok()) {
    return Status(Code::kMalformed, "sdp: ASF header does not parse");
  }
  if (!info->has_data_prefix) {
    // FFmpeg's ASF demuxer must reach the Data Object to accept the header.
    Result<unsigned> r = asf::repair_header(&header);
    if (!r.ok()) {
      return r.status();
    }
    header.resize(info->header_object_size + asf::kDataObjectPrefixSize);
  } else {
    header.resize(info->total_size);
  }
  if (info->streams.empty()) {
    return Status(Code::kMalformed, "sdp: ASF header without streams");
  }
  const std::uint32_t maxps =
      options.max_packet_size != 0 ? options.max_packet_size : info->packet_size;
  std::uint64_t total_bps = 0;
  for (const asf::StreamInfo& s : info->streams) {
    total_bps += s.bitrate;
  }
  if (total_bps == 0) {
    total_bps = info->max_bitrate;
  }
  std::string title = info->tags.title.empty() ? "<No Title>" : info->tags.title;
  for (char& c : title) {
    if (c == '\r' || c == '\n') {
      c = ' ';
    }
  }
  const bool ipv6 = options.address.find(':') != std::string::npos;
  std::string s;
  s += "v=0\r\n";
  s += "o=- " + options.origin_id + " " + options.origin_id + " IN " + (ipv6 ? "IP6 " : "IP4 ") +
       options.address + "\r\n";
  s += "s=" + title + "\r\n";
  s += std::string("c=IN ") + (ipv6 ? "IP6 ::" : "IP4 0.0.0.0") + "\r\n";
  s += "b=AS:" + std::to_string((total_bps + 999) / 1000) + "\r\n";
  s += "a=maxps:" + std::to_string(maxps) + "\r\n";
  s += "t=0 0\r\n";
  if (!options.control.empty()) {
    s += "a=control:" + options.control + "\r\n";
  }
  // npt times parse back up to 10^15 s; absurd header values get no a=range.
  constexpr std::uint64_t kMaxNptMs = 1000000000000000000u - 1;
  NptRange range;
  range.start_ms = info->preroll_ms;
  const std::uint64_t end_ms = info->play_duration_100ns / 10000;
  if (!info->broadcast() && end_ms > info->preroll_ms && end_ms <= kMaxNptMs) {
    range.end_ms = end_ms;
  }
  if (info->preroll_ms <= kMaxNptMs) {
    s += "a=range:" + format_range(range) + "\r\n";
  }
  s += "a=recvonly\r\n";
  s += std::string("a=") + std::string(kHeaderUrl) + base64_encode(header) + "\r\n";
  // After the header: GStreamer's rtspsrc takes the first a=pgmpu as the header.
  if (!options.content_description.empty() &&
      options.content_description.find_first_of("\r\n") == std::string::npos) {
    s += std::string("a=") + std::string(kContentDescUrl) + options.content_description + "\r\n";
  }
  for (const asf::StreamInfo& st : info->streams) {
    const char* media = st.type == asf::StreamType::kAudio   ? "audio"
                        : st.type == asf::StreamType::kVideo ? "video"
                                                             : "application";
    const std::string n = std::to_string(st.number);
    s += std::string("m=") + media + " 0 RTP/AVP 96\r\n";
    if (st.bitrate != 0) {
      s += "b=AS:" + std::to_string((st.bitrate + 999) / 1000) + "\r\n";
    }
    s += "b=RS:0\r\nb=RR:0\r\n";
    s += "a=rtpmap:96 x-asf-pf/1000\r\n";
    s += "a=control:stream=" + n + "\r\n";
    s += "a=stream:" + n + "\r\n";
  }
  if (options.include_rtx) {
    s += "m=application 0 RTP/AVP 96\r\nb=RS:0\r\nb=RR:0\r\n";
    s += "a=rtpmap:96 x-wms-rtx/1000\r\na=control:rtx\r\n";
    s += "a=stream:" + std::to_string(kFirstRtxStream) + "\r\n";
  }
  return s;
}

}  // namespace mms::rtsp

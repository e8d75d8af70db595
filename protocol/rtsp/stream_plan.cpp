#include "protocol/rtsp/stream_plan.h"

#include "protocol/asf/guids.h"
#include "protocol/asf/stream_selector.h"
#include "protocol/core/log.h"

namespace mms::rtsp {
namespace {

constexpr const char* kLog = "rtsp-client";

std::uint64_t read_le64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) {
    v = (v << 8) | p[i];
  }
  return v;
}

void write_le64(std::uint8_t* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    p[i] = static_cast<std::uint8_t>(v >> (8 * i));
  }
}

std::uint64_t saturating_mul(std::uint64_t a, std::uint64_t b) {
  if (a != 0 && b > UINT64_MAX / a) {
    return UINT64_MAX;
  }
  return a * b;
}

// Multiplies the File Properties "data packets count" and the Data Object
// "total data packets" by `factor` (0 stays 0). `header` parsed already.
void inflate_packet_counts(std::vector<std::uint8_t>* header, const asf::HeaderInfo& info,
                           std::uint64_t factor) {
  constexpr std::size_t kHeaderObjectFixed = 30;
  constexpr std::size_t kFilePropertiesCountOffset = 56;
  constexpr std::size_t kDataObjectCountOffset = 40;
  std::vector<std::uint8_t>& h = *header;
  const std::size_t end = info.header_object_size <= h.size() ? info.header_object_size : 0;
  std::size_t pos = kHeaderObjectFixed;
  while (pos + 24 <= end) {
    const std::uint64_t size = read_le64(&h[pos + 16]);
    if (size < 24 || size > end - pos) {
      break;
    }
    if (asf::guid_equals(&h[pos], asf::kFileProperties) && size >= kFilePropertiesCountOffset + 8) {
      std::uint8_t* p = &h[pos + kFilePropertiesCountOffset];
      write_le64(p, saturating_mul(read_le64(p), factor));
    }
    pos += static_cast<std::size_t>(size);
  }
  if (info.has_data_prefix && end + asf::kDataObjectPrefixSize <= h.size() &&
      asf::guid_equals(&h[end], asf::kDataObject)) {
    std::uint8_t* p = &h[end + kDataObjectCountOffset];
    write_le64(p, saturating_mul(read_le64(p), factor));
  }
}

}  // namespace

std::uint32_t rtp_max_packet_size(const WmsSdp& sdp, const asf::HeaderInfo& info) {
  std::uint32_t maxps = sdp.max_packet_size;
  if (maxps == 0 || maxps > info.packet_size) {
    maxps = info.packet_size;
  }
  return maxps;
}

Result<StreamPlan> plan_streams(const WmsSdp& sdp, const asf::HeaderInfo& info,
                                const std::string& base_url, std::uint32_t connection_speed_kbps,
                                bool audio_only) {
  StreamPlan plan;
  plan.max_packet_size = rtp_max_packet_size(sdp, info);
  const SdpMedia* whole = nullptr;
  for (const SdpMedia& m : sdp.media) {
    if (m.asf_pf() && m.whole_mux) {
      whole = &m;
      break;
    }
  }
  if (whole != nullptr) {
    // gst-rtsp-server: one media carries every stream of the mux.
    PlannedStream s;
    s.url = resolve_control(base_url, sdp.control, whole->control);
    plan.streams.push_back(std::move(s));
  } else {
    std::vector<asf::StreamChoice> choice =
        asf::select_streams(info, connection_speed_kbps, audio_only);
    for (const asf::StreamChoice& c : choice) {
      if (!c.selected) {
        continue;
      }
      const SdpMedia* m = sdp.find_stream(c.number);
      if (m == nullptr) {
        MMS_LOG(LogLevel::kInfo, kLog, "stream %u has no m= line", c.number);
        continue;
      }
      PlannedStream s;
      s.number = c.number;
      s.url = resolve_control(base_url, sdp.control, m->control);
      plan.streams.push_back(std::move(s));
    }
  }
  if (plan.streams.empty()) {
    return Status(Code::kUnsupported, "the SDP offers none of the ASF streams");
  }
  return plan;
}

std::uint64_t npt_origin_ms(const WmsSdp& sdp, bool whole_mux, std::uint64_t preroll_ms) {
  if (whole_mux) {
    return sdp.range && sdp.range->start_ms ? *sdp.range->start_ms : 0;
  }
  return preroll_ms;
}

Transport rtx_setup_transport(std::uint16_t rtx_port) {
  Transport t;
  t.lower = "UDP";
  t.client_port = PortPair{rtx_port, std::nullopt};
  if (rtx_port < 65535) {
    t.client_port->second = static_cast<std::uint16_t>(rtx_port + 1);
  }
  t.mode = "PLAY";
  return t;
}

Transport stream_setup_transport(bool udp, std::uint16_t media_port, std::size_t index) {
  Transport t;
  if (udp) {
    t.lower = "UDP";
    t.client_port = PortPair{media_port, std::nullopt};
    if (media_port < 65535) {
      t.client_port->second = static_cast<std::uint16_t>(media_port + 1);
    }
  } else {
    t.lower = "TCP";
    const auto channel = static_cast<std::uint8_t>(2 * index);
    t.interleaved = PortPair{channel, static_cast<std::uint16_t>(channel + 1)};
  }
  t.mode = "PLAY";
  return t;
}

Result<SetupAnswer> read_setup_transport(const Headers& headers, bool udp) {
  SetupAnswer a;
  const std::string* tv = headers.find("Transport");
  if (tv == nullptr) {
    return a;
  }
  Result<std::vector<Transport>> ts = parse_transports(*tv);
  if (!ts.ok() || ts->empty()) {
    return a;
  }
  const Transport& t = ts->front();
  if (udp && t.tcp()) {
    return Status(Code::kRefused, "server answered a UDP SETUP with TCP transport");
  }
  a.has_transport = true;
  if (udp) {
    a.ssrc = t.ssrc;
    if (t.server_port) {
      // RTCP goes to the second port, else to the one above (RFC 2326 12.39).
      const std::uint32_t rtcp =
          t.server_port->second ? *t.server_port->second : t.server_port->first + 1u;
      a.server_rtcp_port = rtcp <= 65535 ? static_cast<std::uint16_t>(rtcp) : 0;
    }
  } else if (t.interleaved && t.interleaved->first <= 255) {
    a.channel = static_cast<std::uint8_t>(t.interleaved->first);
  }
  return a;
}

std::vector<std::pair<std::size_t, std::uint16_t>> match_play_rtp_info(
    const std::vector<RtpInfo>& entries, const std::vector<PlannedStream>& streams) {
  std::vector<std::pair<std::size_t, std::uint16_t>> out;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const RtpInfo& e = entries[i];
    if (!e.seq) {
      continue;
    }
    std::optional<std::size_t> match;
    for (std::size_t k = 0; k < streams.size(); ++k) {
      if (streams[k].url == e.url) {
        match = k;
        break;
      }
    }
    if (!match && entries.size() == streams.size()) {
      match = i;  // URLs written differently: same order as the SETUPs
    }
    if (match) {
      out.emplace_back(*match, *e.seq);
    }
  }
  return out;
}

void match_end_rtp_info(const std::vector<RtpInfo>& entries,
                        const std::vector<PlannedStream>& streams,
                        std::vector<std::optional<std::uint16_t>>* end_seqs) {
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const RtpInfo& e = entries[i];
    if (!e.seq) {
      continue;
    }
    for (std::size_t k = 0; k < streams.size() && k < end_seqs->size(); ++k) {
      if (streams[k].url == e.url ||
          (entries.size() == streams.size() && k == i && !(*end_seqs)[k])) {
        (*end_seqs)[k] = e.seq;
        break;
      }
    }
  }
}

CallerHeader caller_header(std::vector<std::uint8_t> repaired, const asf::HeaderInfo& info,
                           std::uint64_t stream_count) {
  if (!info.broadcast() && stream_count > 1) {
    inflate_packet_counts(&repaired, info, stream_count);
  }
  CallerHeader h;
  h.packet_count = info.broadcast() ? 0 : saturating_mul(info.data_packets_count, stream_count);
  Result<asf::HeaderInfo> shown = asf::parse_header(repaired);
  h.info = std::make_shared<const asf::HeaderInfo>(shown.ok() ? *shown : info);
  h.bytes = std::make_shared<const std::vector<std::uint8_t>>(std::move(repaired));
  return h;
}

std::uint32_t first_packet_number(std::uint64_t position_ms, std::uint64_t duration_ms,
                                  std::uint64_t packet_count) {
  std::uint64_t n = 0;
  if (duration_ms > 0 && packet_count > 0) {
    const double v = static_cast<double>(position_ms) / static_cast<double>(duration_ms) *
                     static_cast<double>(packet_count);
    // Past the end (or beyond what a u64 holds): the last packet number.
    n = v >= 0.0 && v < 1.8e19 ? static_cast<std::uint64_t>(v) : packet_count - 1;
  }
  if (packet_count > 0 && n >= packet_count) {
    n = packet_count - 1;
  }
  return static_cast<std::uint32_t>(n > UINT32_MAX ? UINT32_MAX : n);
}

}  // namespace mms::rtsp

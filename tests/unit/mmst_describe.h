// One-line text form of decoded MMS (MS-MMSP) units, shared by the mmst vector
// runner and the message tests: "message <MID name> seq=<n> wire=<n> <fields>",
// "data location=<n> incarnation=<n> afflags=0x<hh> size=<n> payload=<n>".
#pragma once

#include <cstdarg>
#include <cstdio>
#include <string>

#include "protocol/core/bytes.h"
#include "protocol/mmst/messages.h"

namespace mms::mmst::testing {

inline void appendf(std::string* s, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
inline void appendf(std::string* s, const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  *s += buf;
}

inline std::string describe_fields(const Message& m) {
  std::string s;
  switch (m.mid) {
    case kLinkViewerToMacConnect: {
      const Connect& c = m.connect;
      appendf(&s, " inc=0x%08x rev=0x%08x/0x%08x name=\"%s\"", c.play_incarnation,
              c.mac_to_viewer_protocol_revision, c.viewer_to_mac_protocol_revision,
              c.subscriber_name.c_str());
      for (const std::string& e : c.subscriber_extra) {
        appendf(&s, " extra=\"%s\"", e.c_str());
      }
      break;
    }
    case kLinkMacToViewerReportConnectedEX: {
      const ReportConnectedEX& c = m.report_connected_ex;
      appendf(&s,
              " hr=0x%08x inc=0x%08x rev=0x%08x/0x%08x play_time=%g blocks=%u max_open=%u"
              " block_max=0x%x max_bitrate=%u",
              c.hr, c.play_incarnation, c.mac_to_viewer_protocol_revision,
              c.viewer_to_mac_protocol_revision, c.block_group_play_time, c.block_group_blocks,
              c.n_max_open_files, c.n_block_max_bytes, c.max_bit_rate);
      appendf(&s, " server=\"%s\" version=\"%s\" url=\"%s\" auth=\"%s\"",
              c.server_version_info.c_str(), c.version_info.c_str(), c.version_url.c_str(),
              c.authen_package.c_str());
      break;
    }
    case kLinkViewerToMacFunnelInfo:
      appendf(&s, " inc=0x%08x", m.funnel_info.play_incarnation);
      break;
    case kLinkMacToViewerReportFunnelInfo: {
      const ReportFunnelInfo& f = m.report_funnel_info;
      appendf(&s,
              " hr=0x%08x inc=0x%08x transport_mask=0x%x fragments=%u fragment_bytes=0x%x"
              " n_cubs=0x%08x failed=%u disks=%u decluster=%u datagram=%u pp_bytes=%zu",
              f.hr, f.play_incarnation, f.transport_mask, f.n_block_fragments, f.fragment_bytes,
              f.n_cubs, f.failed_cubs, f.n_disks, f.decluster, f.cubdd_datagram_size,
              f.packet_pair_data.size());
      break;
    }
    case kLinkViewerToMacConnectFunnel: {
      const ConnectFunnel& f = m.connect_funnel;
      appendf(&s,
              " inc=0x%08x max_block=0x%08x max_funnel=%u max_bitrate=0x%08x mode=%u name=\"%s\"",
              f.play_incarnation, f.max_block_bytes, f.max_funnel_bytes, f.max_bit_rate,
              f.funnel_mode, f.funnel_name.c_str());
      break;
    }
    case kLinkMacToViewerReportConnectedFunnel: {
      const ReportConnectedFunnel& f = m.report_connected_funnel;
      appendf(&s, " hr=0x%08x inc=0x%08x payload_size=%u name=\"%s\"", f.hr, f.play_incarnation,
              f.packet_payload_size, f.funnel_name.c_str());
      break;
    }
    case kLinkMacToViewerReportDisconnectedFunnel:
      appendf(&s, " hr=0x%08x inc=0x%08x", m.report_disconnected_funnel.hr,
              m.report_disconnected_funnel.play_incarnation);
      break;
    case kLinkViewerToMacOpenFile: {
      const OpenFile& o = m.open_file;
      appendf(&s, " inc=0x%08x spare=0x%08x file=\"%s\" token=%zu", o.play_incarnation, o.spare,
              o.file_name.c_str(), o.token_data.size());
      break;
    }
    case kLinkMacToViewerReportOpenFile: {
      const ReportOpenFile& o = m.report_open_file;
      appendf(&s,
              " hr=0x%08x inc=0x%08x id=%u attrs=0x%08x duration=%g blocks=%u packet_size=%u"
              " packets=%llu bitrate=%u header_size=%u",
              o.hr, o.play_incarnation, o.open_file_id, o.file_attributes, o.file_duration,
              o.file_blocks, o.file_packet_size,
              static_cast<unsigned long long>(o.file_packet_count), o.file_bit_rate,
              o.file_header_size);
      break;
    }
    case kLinkViewerToMacReadBlock: {
      const ReadBlock& b = m.read_block;
      appendf(&s,
              " id=%u block=%u offset=%u length=0x%x flags=0x%08x earliest=%g deadline=%g"
              " inc=0x%08x play_seq=%u",
              b.open_file_id, b.file_block_id, b.offset, b.length, b.flags, b.t_earliest,
              b.t_deadline, b.play_incarnation, b.play_sequence);
      break;
    }
    case kLinkMacToViewerReportReadBlock:
      appendf(&s, " hr=0x%08x inc=0x%08x play_seq=%u", m.report_read_block.hr,
              m.report_read_block.play_incarnation, m.report_read_block.play_sequence);
      break;
    case kLinkViewerToMacCancelReadBlock:
      appendf(&s, " inc=0x%08x", m.cancel_read_block.play_incarnation);
      break;
    case kLinkViewerToMacStreamSwitch: {
      appendf(&s, " entries=%zu", m.stream_switch.a_stream_entries.size());
      for (const StreamSwitchEntry& e : m.stream_switch.a_stream_entries) {
        appendf(&s, " %x/%x/%u", e.w_src_stream_number, e.w_dst_stream_number, e.w_thinning_level);
      }
      break;
    }
    case kLinkMacToViewerReportStreamSwitch:
      appendf(&s, " hr=0x%08x", m.report_stream_switch.hr);
      break;
    case kLinkViewerToMacStartPlaying: {
      const StartPlaying& p = m.start_playing;
      appendf(&s,
              " id=%u padding=0x%08x position=%g asf_offset=0x%08x location=0x%08x"
              " frame_offset=0x%08x inc=0x%08x",
              p.open_file_id, p.padding, p.position, p.asf_offset, p.location_id, p.frame_offset,
              p.play_incarnation);
      if (p.has_accel) {
        appendf(&s, " accel=0x%x/%u/0x%x", p.dw_accel_bandwidth, p.dw_accel_duration,
                p.dw_link_bandwidth);
      }
      break;
    }
    case kLinkMacToViewerReportStartedPlaying: {
      const ReportStartedPlaying& p = m.report_started_playing;
      appendf(&s, " hr=0x%08x inc=0x%08x tiger=%u unused1=0x%08x", p.hr, p.play_incarnation,
              p.tiger_file_id, p.unused1);
      break;
    }
    case kLinkViewerToMacStartStriding: {
      const StartStriding& p = m.start_striding;
      appendf(&s,
              " id=%u padding=0x%08x position=%g asf_offset=0x%08x location=0x%08x"
              " frame_offset=0x%08x inc=0x%08x rate=%g",
              p.open_file_id, p.padding, p.position, p.asf_offset, p.location_id, p.frame_offset,
              p.play_incarnation, p.rate);
      break;
    }
    case kLinkMacToViewerReportStartStriding:
      appendf(&s, " hr=0x%08x inc=0x%08x spare=%u", m.report_start_striding.hr,
              m.report_start_striding.play_incarnation, m.report_start_striding.spare);
      break;
    case kLinkViewerToMacStopPlaying:
      appendf(&s, " id=%u inc=0x%08x", m.stop_playing.open_file_id,
              m.stop_playing.play_incarnation);
      break;
    case kLinkMacToViewerReportEndOfStream:
      appendf(&s, " hr=0x%08x inc=0x%08x", m.report_end_of_stream.hr,
              m.report_end_of_stream.play_incarnation);
      break;
    case kLinkViewerToMacLogging:
      appendf(&s, " log=%zu", m.logging.log.size());
      break;
    case kLinkMacToViewerReportStreamChange: {
      const ReportStreamChange& c = m.report_stream_change;
      appendf(&s, " hr=0x%08x inc=0x%08x packet_size=%u header_size=%u bitrate=%u stream_id=%u",
              c.hr, c.dw_tcp_hdr_incarnation, c.cb_packet_size, c.cb_header_size, c.dw_bit_rate,
              c.dw_stream_id);
      break;
    }
    case kLinkMacToViewerPing:
    case kLinkViewerToMacPong:
      appendf(&s, " p1=0x%08x p2=0x%08x", m.ping_pong.dw_param1, m.ping_pong.dw_param2);
      break;
    case kLinkViewerToMacCloseFile:
      appendf(&s, " inc=0x%08x id=%u", m.close_file.play_incarnation, m.close_file.open_file_id);
      break;
    case kLinkMacToViewerReportRedirect:
      appendf(&s, " hr=0x%08x type=%u location=\"%s\"", m.report_redirect.hr,
              m.report_redirect.redirect_type, m.report_redirect.wsz_location.c_str());
      break;
    case kLinkMacToViewerSecurityChallenge:
    case kLinkViewerToMacSecurityResponse: {
      const Security& t = m.security;
      std::string hex = to_hex(t.p_token, 64);
      for (char& ch : hex) {
        if (ch == ' ') {
          ch = '.';
        }
      }
      appendf(&s, " inc=0x%08x cookie=%u token=%zu:%s", t.play_incarnation, t.cookie,
              t.p_token.size(), hex.c_str());
      break;
    }
    default:
      break;
  }
  return s;
}

inline std::string describe(const Message& m) {
  std::string s = "message ";
  if (is_known_mid(m.mid)) {
    s += mid_to_string(m.mid);
  } else {
    appendf(&s, "0x%08x", m.mid);
  }
  appendf(&s, " seq=%u wire=%zu", m.header.seq, m.wire_size);
  if (!m.extra_messages.empty()) {
    appendf(&s, " extra=%zu", m.extra_messages.size());
  }
  return s + describe_fields(m);
}

inline std::string describe(const DataPacket& d) {
  std::string s;
  appendf(&s, "data location=%u incarnation=%u afflags=0x%02x size=%u payload=%zu", d.location_id,
          d.play_incarnation, d.af_flags, d.packet_size, d.payload.size());
  return s;
}

}  // namespace mms::mmst::testing

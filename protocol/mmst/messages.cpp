#include "protocol/mmst/messages.h"

#include <cstring>

#include "protocol/core/byte_reader.h"
#include "protocol/core/byte_writer.h"
#include "protocol/core/limits.h"
#include "protocol/core/text.h"

namespace mms::mmst {
namespace {

constexpr std::uint32_t kReplacementChar = 0xFFFD;
// Connect: "HOST:"/"VIA:" strings after the client token; more are ignored.
constexpr std::size_t kMaxSubscriberExtra = 8;
// Smallest messageLength: 16 header bytes after offset 16 plus one chunkLen+MID.
constexpr std::uint32_t kMinMessageLength = 16 + kMessagePrefixSize;

Decode fail(Status* error, Code code, const char* what, std::uint32_t detail = 0) {
  *error = Status(code, what, detail);
  return Decode::kError;
}

std::uint64_t bits_of(double d) {
  std::uint64_t u = 0;
  std::memcpy(&u, &d, sizeof u);
  return u;
}
double double_of(std::uint64_t u) {
  double d = 0;
  std::memcpy(&d, &u, sizeof d);
  return d;
}
bool read_double(ByteReader* r, double* d) {
  std::uint64_t u = 0;
  if (!r->read_u64le(&u)) {
    return false;
  }
  *d = double_of(u);
  return true;
}
void write_double(ByteWriter* w, double d) {
  w->u64le(bits_of(d));
}

// Decodes UTF-16LE code units from `units` (an odd trailing byte is ignored)
// until the first NUL or the end. *consumed: bytes used including the NUL.
// kLimitExceeded above kMaxMmsStringUnits code units before the NUL.
Status read_utf16_z(ByteView units, std::string* out, std::size_t* consumed) {
  out->clear();
  const std::size_t n = units.size() / 2;
  std::size_t len = 0;
  while (len < n && load_u16le(units.data() + 2 * len) != 0) {
    ++len;
  }
  if (len > limits::kMaxMmsStringUnits) {
    return Status(Code::kLimitExceeded, "mmst: string above kMaxMmsStringUnits",
                  static_cast<std::uint32_t>(len));
  }
  *consumed = len < n ? 2 * (len + 1) : 2 * len;
  *out = utf16le_to_utf8(units.subview(0, 2 * len));
  return Status::Ok();
}

// UTF-8 -> code points; invalid sequences give U+FFFD.
std::vector<std::uint32_t> code_points(const std::string& s) {
  std::vector<std::uint32_t> cps;
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    const std::uint32_t b = static_cast<std::uint8_t>(s[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    std::uint32_t min = 0;
    if (b < 0x80) {
      cps.push_back(b);
      ++i;
      continue;
    } else if ((b & 0xE0) == 0xC0) {
      len = 2;
      cp = b & 0x1F;
      min = 0x80;
    } else if ((b & 0xF0) == 0xE0) {
      len = 3;
      cp = b & 0x0F;
      min = 0x800;
    } else if ((b & 0xF8) == 0xF0) {
      len = 4;
      cp = b & 0x07;
      min = 0x10000;
    } else {
      cps.push_back(kReplacementChar);
      ++i;
      continue;
    }
    bool ok = i + len <= n;
    for (std::size_t k = 1; ok && k < len; ++k) {
      const std::uint32_t c = static_cast<std::uint8_t>(s[i + k]);
      if ((c & 0xC0) != 0x80) {
        ok = false;
      } else {
        cp = (cp << 6) | (c & 0x3F);
      }
    }
    if (!ok || cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      cps.push_back(kReplacementChar);
      ++i;
      continue;
    }
    cps.push_back(cp);
    i += len;
  }
  return cps;
}

std::vector<std::uint16_t> utf16_units(const std::string& s) {
  std::vector<std::uint16_t> u;
  for (std::uint32_t cp : code_points(s)) {
    if (cp >= 0x10000) {
      cp -= 0x10000;
      u.push_back(static_cast<std::uint16_t>(0xD800 + (cp >> 10)));
      u.push_back(static_cast<std::uint16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      u.push_back(static_cast<std::uint16_t>(cp));
    }
  }
  return u;
}

// Checks an outgoing string: within the limit, no embedded NUL.
Status check_string(const std::vector<std::uint16_t>& u) {
  if (u.size() > limits::kMaxMmsStringUnits) {
    return Status(Code::kLocalMisuse, "mmst: string above kMaxMmsStringUnits",
                  static_cast<std::uint32_t>(u.size()));
  }
  for (std::uint16_t c : u) {
    if (c == 0) {
      return Status(Code::kLocalMisuse, "mmst: string with an embedded NUL");
    }
  }
  return Status::Ok();
}

Status write_utf16_z(ByteWriter* w, const std::string& s) {
  std::vector<std::uint16_t> u = utf16_units(s);
  MMS_TRY(check_string(u));
  for (std::uint16_t c : u) {
    w->u16le(c);
  }
  w->u16le(0);
  return Status::Ok();
}

bool mid_has_hr(std::uint32_t mid) {
  return is_mac_to_viewer(mid) && mid != kLinkMacToViewerPing &&
         mid != kLinkMacToViewerSecurityChallenge && is_known_mid(mid);
}

// ---- per-message decoders: `m` is the whole message (8*chunkLen bytes) ----

Decode bad(Status* error, const char* what, std::uint32_t detail = 0) {
  return fail(error, Code::kMalformed, what, detail);
}

Decode from_status(const Status& s, Status* error) {
  if (s.ok()) {
    return Decode::kDone;
  }
  *error = s;
  return Decode::kError;
}

Decode decode_fields(ByteView m, Message* out, Status* error) {
  ByteReader r(m.subview(kMessagePrefixSize));
  const std::size_t len = m.size();
  switch (out->mid) {
    case kLinkViewerToMacConnect: {
      Connect& c = out->connect;
      r.read_u32le(&c.play_incarnation);
      r.read_u32le(&c.mac_to_viewer_protocol_revision);
      r.read_u32le(&c.viewer_to_mac_protocol_revision);
      ByteView rest = r.rest();
      std::size_t used = 0;
      Status s = read_utf16_z(rest, &c.subscriber_name, &used);
      if (!s.ok()) {
        return from_status(s, error);
      }
      rest = rest.subview(used);
      c.subscriber_extra.clear();
      while (rest.size() >= 2 && c.subscriber_extra.size() < kMaxSubscriberExtra) {
        std::string extra;
        s = read_utf16_z(rest, &extra, &used);
        if (!s.ok()) {
          return from_status(s, error);
        }
        if (extra.empty()) {
          break;
        }
        c.subscriber_extra.push_back(std::move(extra));
        rest = rest.subview(used);
      }
      return Decode::kDone;
    }
    case kLinkMacToViewerReportConnectedEX: {
      ReportConnectedEX& c = out->report_connected_ex;
      std::uint32_t cb[4] = {0, 0, 0, 0};
      r.read_u32le(&c.hr);
      r.read_u32le(&c.play_incarnation);
      r.read_u32le(&c.mac_to_viewer_protocol_revision);
      r.read_u32le(&c.viewer_to_mac_protocol_revision);
      read_double(&r, &c.block_group_play_time);
      r.read_u32le(&c.block_group_blocks);
      r.read_u32le(&c.n_max_open_files);
      r.read_u32le(&c.n_block_max_bytes);
      r.read_u32le(&c.max_bit_rate);
      for (std::uint32_t& v : cb) {
        r.read_u32le(&v);
      }
      std::uint64_t total = 0;
      for (std::uint32_t v : cb) {
        if (v > limits::kMaxMmsStringUnits + 1) {
          return fail(error, Code::kLimitExceeded,
                      "mmst: ReportConnectedEX string above kMaxMmsStringUnits", v);
        }
        total += 2ull * v;
      }
      if (total > r.remaining()) {
        return bad(error, "mmst: ReportConnectedEX strings beyond chunkLen",
                   static_cast<std::uint32_t>(total));
      }
      std::string* dst[4] = {&c.server_version_info, &c.version_info, &c.version_url,
                             &c.authen_package};
      for (int i = 0; i < 4; ++i) {
        ByteView v;
        r.read_view(2u * cb[i], &v);
        std::size_t used = 0;
        Status s = read_utf16_z(v, dst[i], &used);
        if (!s.ok()) {
          return from_status(s, error);
        }
      }
      return Decode::kDone;
    }
    case kLinkViewerToMacFunnelInfo:
      r.read_u32le(&out->funnel_info.play_incarnation);
      return Decode::kDone;
    case kLinkMacToViewerReportFunnelInfo: {
      ReportFunnelInfo& f = out->report_funnel_info;
      r.read_u32le(&f.hr);
      r.read_u32le(&f.play_incarnation);
      r.read_u32le(&f.transport_mask);
      r.read_u32le(&f.n_block_fragments);
      r.read_u32le(&f.fragment_bytes);
      r.read_u32le(&f.n_cubs);
      r.read_u32le(&f.failed_cubs);
      r.read_u32le(&f.n_disks);
      r.read_u32le(&f.decluster);
      r.read_u32le(&f.cubdd_datagram_size);
      f.packet_pair_data = r.rest().to_vector();
      return Decode::kDone;
    }
    case kLinkViewerToMacConnectFunnel: {
      ConnectFunnel& f = out->connect_funnel;
      r.read_u32le(&f.play_incarnation);
      r.read_u32le(&f.max_block_bytes);
      r.read_u32le(&f.max_funnel_bytes);
      r.read_u32le(&f.max_bit_rate);
      r.read_u32le(&f.funnel_mode);
      std::size_t used = 0;
      return from_status(read_utf16_z(r.rest(), &f.funnel_name, &used), error);
    }
    case kLinkMacToViewerReportConnectedFunnel: {
      ReportConnectedFunnel& f = out->report_connected_funnel;
      r.read_u32le(&f.hr);
      r.read_u32le(&f.play_incarnation);
      r.read_u32le(&f.packet_payload_size);
      std::size_t used = 0;
      return from_status(read_utf16_z(r.rest(), &f.funnel_name, &used), error);
    }
    case kLinkMacToViewerReportDisconnectedFunnel:
      r.read_u32le(&out->report_disconnected_funnel.hr);
      r.read_u32le(&out->report_disconnected_funnel.play_incarnation);
      return Decode::kDone;
    case kLinkViewerToMacOpenFile: {
      OpenFile& o = out->open_file;
      std::uint32_t token = 0;
      std::uint32_t cbtoken = 0;
      r.read_u32le(&o.play_incarnation);
      r.read_u32le(&o.spare);
      r.read_u32le(&token);
      r.read_u32le(&cbtoken);
      ByteView names = r.rest();
      o.token_data.clear();
      if (cbtoken != 0) {
        if (cbtoken > limits::kMaxMmsTokenBytes) {
          return fail(error, Code::kLimitExceeded,
                      "mmst: OpenFile tokenData above kMaxMmsTokenBytes", cbtoken);
        }
        if (std::uint64_t{token} + cbtoken > names.size()) {
          return bad(error, "mmst: OpenFile tokenData beyond chunkLen", token);
        }
        o.token_data = names.subview(token, cbtoken).to_vector();
        if (token != 0) {
          names = names.subview(0, token);
        }
      }
      std::size_t used = 0;
      return from_status(read_utf16_z(names, &o.file_name, &used), error);
    }
    case kLinkMacToViewerReportOpenFile: {
      ReportOpenFile& o = out->report_open_file;
      r.read_u32le(&o.hr);
      r.read_u32le(&o.play_incarnation);
      if (len < fixed_message_size(out->mid)) {
        // A failure reply may be short; nothing else is valid then.
        return hr_failed(o.hr) ? Decode::kDone : bad(error, "mmst: ReportOpenFile too short");
      }
      r.read_u32le(&o.open_file_id);
      r.read_u32le(&o.padding);
      r.read_u32le(&o.file_name);
      r.read_u32le(&o.file_attributes);
      read_double(&r, &o.file_duration);
      r.read_u32le(&o.file_blocks);
      r.skip(16);
      r.read_u32le(&o.file_packet_size);
      r.read_u64le(&o.file_packet_count);
      r.read_u32le(&o.file_bit_rate);
      r.read_u32le(&o.file_header_size);
      return Decode::kDone;
    }
    case kLinkViewerToMacReadBlock: {
      ReadBlock& b = out->read_block;
      r.read_u32le(&b.open_file_id);
      r.read_u32le(&b.file_block_id);
      r.read_u32le(&b.offset);
      r.read_u32le(&b.length);
      r.read_u32le(&b.flags);
      r.read_u32le(&b.padding);
      read_double(&r, &b.t_earliest);
      read_double(&r, &b.t_deadline);
      r.read_u32le(&b.play_incarnation);
      r.read_u32le(&b.play_sequence);
      return Decode::kDone;
    }
    case kLinkMacToViewerReportReadBlock:
      r.read_u32le(&out->report_read_block.hr);
      r.read_u32le(&out->report_read_block.play_incarnation);
      r.read_u32le(&out->report_read_block.play_sequence);
      return Decode::kDone;
    case kLinkViewerToMacCancelReadBlock:
      r.read_u32le(&out->cancel_read_block.play_incarnation);
      return Decode::kDone;
    case kLinkViewerToMacStreamSwitch: {
      std::uint32_t n = 0;
      r.read_u32le(&n);
      if (n > limits::kMaxStreamSwitchEntries) {
        return fail(error, Code::kLimitExceeded, "mmst: StreamSwitch above kMaxStreamSwitchEntries",
                    n);
      }
      if (6ull * n > r.remaining()) {
        return bad(error, "mmst: StreamSwitch entries beyond chunkLen", n);
      }
      auto& v = out->stream_switch.a_stream_entries;
      v.assign(n, StreamSwitchEntry{});
      for (StreamSwitchEntry& e : v) {
        r.read_u16le(&e.w_src_stream_number);
        r.read_u16le(&e.w_dst_stream_number);
        r.read_u16le(&e.w_thinning_level);
      }
      return Decode::kDone;
    }
    case kLinkMacToViewerReportStreamSwitch:
      r.read_u32le(&out->report_stream_switch.hr);
      return Decode::kDone;
    case kLinkViewerToMacStartPlaying: {
      StartPlaying& p = out->start_playing;
      r.read_u32le(&p.open_file_id);
      r.read_u32le(&p.padding);
      read_double(&r, &p.position);
      r.read_u32le(&p.asf_offset);
      r.read_u32le(&p.location_id);
      r.read_u32le(&p.frame_offset);
      r.read_u32le(&p.play_incarnation);
      p.has_accel = r.remaining() >= 12;
      if (p.has_accel) {
        r.read_u32le(&p.dw_accel_bandwidth);
        r.read_u32le(&p.dw_accel_duration);
        r.read_u32le(&p.dw_link_bandwidth);
      }
      return Decode::kDone;
    }
    case kLinkMacToViewerReportStartedPlaying: {
      ReportStartedPlaying& p = out->report_started_playing;
      r.read_u32le(&p.hr);
      r.read_u32le(&p.play_incarnation);
      r.read_u32le(&p.tiger_file_id);
      r.read_u32le(&p.unused1);
      return Decode::kDone;
    }
    case kLinkViewerToMacStartStriding: {
      StartStriding& p = out->start_striding;
      r.read_u32le(&p.open_file_id);
      r.read_u32le(&p.padding);
      read_double(&r, &p.position);
      r.read_u32le(&p.asf_offset);
      r.read_u32le(&p.location_id);
      r.read_u32le(&p.frame_offset);
      r.read_u32le(&p.play_incarnation);
      read_double(&r, &p.rate);
      return Decode::kDone;
    }
    case kLinkMacToViewerReportStartStriding:
      r.read_u32le(&out->report_start_striding.hr);
      r.read_u32le(&out->report_start_striding.play_incarnation);
      r.read_u32le(&out->report_start_striding.spare);
      return Decode::kDone;
    case kLinkViewerToMacStopPlaying:
      r.read_u32le(&out->stop_playing.open_file_id);
      r.read_u32le(&out->stop_playing.play_incarnation);
      return Decode::kDone;
    case kLinkMacToViewerReportEndOfStream:
      r.read_u32le(&out->report_end_of_stream.hr);
      r.read_u32le(&out->report_end_of_stream.play_incarnation);
      return Decode::kDone;
    case kLinkViewerToMacLogging: {
      std::uint32_t cb = 0;
      ByteView all = r.rest();
      r.read_u32le(&cb);
      if (cb > limits::kMaxClientLogBytes) {
        return fail(error, Code::kLimitExceeded, "mmst: Logging cbSize above kMaxClientLogBytes",
                    cb);
      }
      if (cb < 4 || cb > all.size()) {
        return bad(error, "mmst: Logging cbSize out of range", cb);
      }
      out->logging.log = all.subview(0, cb).to_vector();
      return Decode::kDone;
    }
    case kLinkMacToViewerReportStreamChange: {
      ReportStreamChange& c = out->report_stream_change;
      r.read_u32le(&c.hr);
      r.read_u32le(&c.dw_tcp_hdr_incarnation);
      r.read_u32le(&c.cb_packet_size);
      r.read_u32le(&c.cb_header_size);
      r.read_u32le(&c.dw_bit_rate);
      r.read_u32le(&c.dw_stream_id);
      return Decode::kDone;
    }
    case kLinkMacToViewerPing:
    case kLinkViewerToMacPong:
      r.read_u32le(&out->ping_pong.dw_param1);
      r.read_u32le(&out->ping_pong.dw_param2);
      return Decode::kDone;
    case kLinkViewerToMacCloseFile:
      r.read_u32le(&out->close_file.play_incarnation);
      r.read_u32le(&out->close_file.open_file_id);
      return Decode::kDone;
    case kLinkMacToViewerReportRedirect: {
      ReportRedirect& d = out->report_redirect;
      std::uint16_t cb = 0;
      r.read_u32le(&d.hr);
      r.read_u16le(&d.redirect_type);
      r.read_u16le(&cb);
      if (cb / 2 > limits::kMaxMmsStringUnits + 1) {
        return fail(error, Code::kLimitExceeded, "mmst: ReportRedirect above kMaxMmsStringUnits",
                    cb);
      }
      ByteView v;
      if (!r.read_view(cb, &v)) {
        return bad(error, "mmst: ReportRedirect cbLocation beyond chunkLen", cb);
      }
      std::size_t used = 0;
      return from_status(read_utf16_z(v, &d.wsz_location, &used), error);
    }
    case kLinkMacToViewerSecurityChallenge:
    case kLinkViewerToMacSecurityResponse: {
      Security& s = out->security;
      std::uint32_t cb = 0;
      r.read_u32le(&s.play_incarnation);
      r.read_u32le(&s.cookie);
      r.read_u32le(&cb);
      if (cb > limits::kMaxMmsTokenBytes) {
        return fail(error, Code::kLimitExceeded, "mmst: pToken above kMaxMmsTokenBytes", cb);
      }
      ByteView v;
      if (!r.read_view(cb, &v)) {
        return bad(error, "mmst: cbToken beyond chunkLen", cb);
      }
      s.p_token = v.to_vector();
      return Decode::kDone;
    }
    default:
      return Decode::kDone;  // unknown MID: mid and raw only
  }
}

// ---- per-message encoders: fields after chunkLen + MID ----

Status check_token(std::size_t n) {
  if (n > limits::kMaxMmsTokenBytes) {
    return Status(Code::kLocalMisuse, "mmst: token above kMaxMmsTokenBytes",
                  static_cast<std::uint32_t>(n));
  }
  return Status::Ok();
}

Status encode_fields(const Message& m, ByteWriter* w) {
  switch (m.mid) {
    case kLinkViewerToMacConnect: {
      const Connect& c = m.connect;
      w->u32le(c.play_incarnation);
      w->u32le(c.mac_to_viewer_protocol_revision);
      w->u32le(c.viewer_to_mac_protocol_revision);
      MMS_TRY(write_utf16_z(w, c.subscriber_name));
      if (c.subscriber_extra.size() > kMaxSubscriberExtra) {
        return Status(Code::kLocalMisuse, "mmst: too many Connect subscriber strings");
      }
      for (const std::string& e : c.subscriber_extra) {
        if (!e.empty()) {
          MMS_TRY(write_utf16_z(w, e));
        }
      }
      return Status::Ok();
    }
    case kLinkMacToViewerReportConnectedEX: {
      const ReportConnectedEX& c = m.report_connected_ex;
      w->u32le(c.hr);
      w->u32le(c.play_incarnation);
      w->u32le(c.mac_to_viewer_protocol_revision);
      w->u32le(c.viewer_to_mac_protocol_revision);
      write_double(w, c.block_group_play_time);
      w->u32le(c.block_group_blocks);
      w->u32le(c.n_max_open_files);
      w->u32le(c.n_block_max_bytes);
      w->u32le(c.max_bit_rate);
      const std::string* src[4] = {&c.server_version_info, &c.version_info, &c.version_url,
                                   &c.authen_package};
      std::vector<std::uint16_t> u[4];
      for (int i = 0; i < 4; ++i) {
        u[i] = utf16_units(*src[i]);
        MMS_TRY(check_string(u[i]));
        w->u32le(u[i].empty() ? 0 : static_cast<std::uint32_t>(u[i].size() + 1));
      }
      for (const auto& s : u) {
        if (!s.empty()) {
          for (std::uint16_t c16 : s) {
            w->u16le(c16);
          }
          w->u16le(0);
        }
      }
      return Status::Ok();
    }
    case kLinkViewerToMacFunnelInfo:
      w->u32le(m.funnel_info.play_incarnation);
      w->u32le(0);  // the 12-byte message pads to 16
      return Status::Ok();
    case kLinkMacToViewerReportFunnelInfo: {
      const ReportFunnelInfo& f = m.report_funnel_info;
      w->u32le(f.hr);
      w->u32le(f.play_incarnation);
      w->u32le(f.transport_mask);
      w->u32le(f.n_block_fragments);
      w->u32le(f.fragment_bytes);
      w->u32le(f.n_cubs);
      w->u32le(f.failed_cubs);
      w->u32le(f.n_disks);
      w->u32le(f.decluster);
      w->u32le(f.cubdd_datagram_size);
      w->bytes(f.packet_pair_data);
      return Status::Ok();
    }
    case kLinkViewerToMacConnectFunnel: {
      const ConnectFunnel& f = m.connect_funnel;
      w->u32le(f.play_incarnation);
      w->u32le(f.max_block_bytes);
      w->u32le(f.max_funnel_bytes);
      w->u32le(f.max_bit_rate);
      w->u32le(f.funnel_mode);
      return write_utf16_z(w, f.funnel_name);
    }
    case kLinkMacToViewerReportConnectedFunnel: {
      const ReportConnectedFunnel& f = m.report_connected_funnel;
      w->u32le(f.hr);
      w->u32le(f.play_incarnation);
      w->u32le(f.packet_payload_size);
      return write_utf16_z(w, f.funnel_name);
    }
    case kLinkMacToViewerReportDisconnectedFunnel:
      w->u32le(m.report_disconnected_funnel.hr);
      w->u32le(m.report_disconnected_funnel.play_incarnation);
      return Status::Ok();
    case kLinkViewerToMacOpenFile: {
      const OpenFile& o = m.open_file;
      std::vector<std::uint16_t> u = utf16_units(o.file_name);
      MMS_TRY(check_string(u));
      MMS_TRY(check_token(o.token_data.size()));
      const bool tok = !o.token_data.empty();
      w->u32le(o.play_incarnation);
      w->u32le(o.spare);
      w->u32le(tok ? static_cast<std::uint32_t>(2 * (u.size() + 1)) : 0);
      w->u32le(static_cast<std::uint32_t>(o.token_data.size()));
      for (std::uint16_t c : u) {
        w->u16le(c);
      }
      w->u16le(0);
      w->bytes(o.token_data);
      return Status::Ok();
    }
    case kLinkMacToViewerReportOpenFile: {
      const ReportOpenFile& o = m.report_open_file;
      w->u32le(o.hr);
      w->u32le(o.play_incarnation);
      w->u32le(o.open_file_id);
      w->u32le(o.padding);
      w->u32le(o.file_name);
      w->u32le(o.file_attributes);
      write_double(w, o.file_duration);
      w->u32le(o.file_blocks);
      w->zeros(16);
      w->u32le(o.file_packet_size);
      w->u64le(o.file_packet_count);
      w->u32le(o.file_bit_rate);
      w->u32le(o.file_header_size);
      w->zeros(36);
      return Status::Ok();
    }
    case kLinkViewerToMacReadBlock: {
      const ReadBlock& b = m.read_block;
      w->u32le(b.open_file_id);
      w->u32le(b.file_block_id);
      w->u32le(b.offset);
      w->u32le(b.length);
      w->u32le(b.flags);
      w->u32le(b.padding);
      write_double(w, b.t_earliest);
      write_double(w, b.t_deadline);
      w->u32le(b.play_incarnation);
      w->u32le(b.play_sequence);
      return Status::Ok();
    }
    case kLinkMacToViewerReportReadBlock:
      w->u32le(m.report_read_block.hr);
      w->u32le(m.report_read_block.play_incarnation);
      w->u32le(m.report_read_block.play_sequence);
      return Status::Ok();
    case kLinkViewerToMacCancelReadBlock:
      w->u32le(m.cancel_read_block.play_incarnation);
      return Status::Ok();
    case kLinkViewerToMacStreamSwitch: {
      const auto& v = m.stream_switch.a_stream_entries;
      if (v.size() > limits::kMaxStreamSwitchEntries) {
        return Status(Code::kLocalMisuse, "mmst: StreamSwitch above kMaxStreamSwitchEntries",
                      static_cast<std::uint32_t>(v.size()));
      }
      w->u32le(static_cast<std::uint32_t>(v.size()));
      for (const StreamSwitchEntry& e : v) {
        w->u16le(e.w_src_stream_number);
        w->u16le(e.w_dst_stream_number);
        w->u16le(e.w_thinning_level);
      }
      return Status::Ok();
    }
    case kLinkMacToViewerReportStreamSwitch:
      w->u32le(m.report_stream_switch.hr);
      return Status::Ok();
    case kLinkViewerToMacStartPlaying: {
      const StartPlaying& p = m.start_playing;
      w->u32le(p.open_file_id);
      w->u32le(p.padding);
      write_double(w, p.position);
      w->u32le(p.asf_offset);
      w->u32le(p.location_id);
      w->u32le(p.frame_offset);
      w->u32le(p.play_incarnation);
      if (p.has_accel) {
        w->u32le(p.dw_accel_bandwidth);
        w->u32le(p.dw_accel_duration);
        w->u32le(p.dw_link_bandwidth);
      }
      return Status::Ok();
    }
    case kLinkMacToViewerReportStartedPlaying: {
      const ReportStartedPlaying& p = m.report_started_playing;
      w->u32le(p.hr);
      w->u32le(p.play_incarnation);
      w->u32le(p.tiger_file_id);
      w->u32le(p.unused1);
      w->zeros(12);
      return Status::Ok();
    }
    case kLinkViewerToMacStartStriding: {
      const StartStriding& p = m.start_striding;
      w->u32le(p.open_file_id);
      w->u32le(p.padding);
      write_double(w, p.position);
      w->u32le(p.asf_offset);
      w->u32le(p.location_id);
      w->u32le(p.frame_offset);
      w->u32le(p.play_incarnation);
      write_double(w, p.rate);
      return Status::Ok();
    }
    case kLinkMacToViewerReportStartStriding:
      w->u32le(m.report_start_striding.hr);
      w->u32le(m.report_start_striding.play_incarnation);
      w->u32le(m.report_start_striding.spare);
      return Status::Ok();
    case kLinkViewerToMacStopPlaying:
      w->u32le(m.stop_playing.open_file_id);
      w->u32le(m.stop_playing.play_incarnation);
      return Status::Ok();
    case kLinkMacToViewerReportEndOfStream:
      w->u32le(m.report_end_of_stream.hr);
      w->u32le(m.report_end_of_stream.play_incarnation);
      return Status::Ok();
    case kLinkViewerToMacLogging: {
      const auto& log = m.logging.log;
      if (log.size() < 4 || log.size() > limits::kMaxClientLogBytes ||
          load_u32le(log.data()) != log.size()) {
        return Status(Code::kLocalMisuse, "mmst: Logging cbSize does not match the log",
                      static_cast<std::uint32_t>(log.size()));
      }
      w->bytes(log);
      return Status::Ok();
    }
    case kLinkMacToViewerReportStreamChange: {
      const ReportStreamChange& c = m.report_stream_change;
      w->u32le(c.hr);
      w->u32le(c.dw_tcp_hdr_incarnation);
      w->u32le(c.cb_packet_size);
      w->u32le(c.cb_header_size);
      w->u32le(c.dw_bit_rate);
      w->u32le(c.dw_stream_id);
      return Status::Ok();
    }
    case kLinkMacToViewerPing:
    case kLinkViewerToMacPong:
      w->u32le(m.ping_pong.dw_param1);
      w->u32le(m.ping_pong.dw_param2);
      return Status::Ok();
    case kLinkViewerToMacCloseFile:
      w->u32le(m.close_file.play_incarnation);
      w->u32le(m.close_file.open_file_id);
      return Status::Ok();
    case kLinkMacToViewerReportRedirect: {
      const ReportRedirect& d = m.report_redirect;
      std::vector<std::uint16_t> u = utf16_units(d.wsz_location);
      MMS_TRY(check_string(u));
      w->u32le(d.hr);
      w->u16le(d.redirect_type);
      w->u16le(static_cast<std::uint16_t>(2 * (u.size() + 1)));
      for (std::uint16_t c : u) {
        w->u16le(c);
      }
      w->u16le(0);
      return Status::Ok();
    }
    case kLinkMacToViewerSecurityChallenge:
    case kLinkViewerToMacSecurityResponse: {
      const Security& s = m.security;
      MMS_TRY(check_token(s.p_token.size()));
      w->u32le(s.play_incarnation);
      w->u32le(s.cookie);
      w->u32le(static_cast<std::uint32_t>(s.p_token.size()));
      w->bytes(s.p_token);
      return Status::Ok();
    }
    default:
      return Status(Code::kLocalMisuse, "mmst: encode of an unknown MID", m.mid);
  }
}

}  // namespace

Message make_message(std::uint32_t mid) {
  Message m;
  m.mid = mid;
  return m;
}

bool message_hr(const Message& m, std::uint32_t* hr) {
  if (!mid_has_hr(m.mid)) {
    return false;
  }
  switch (m.mid) {
    case kLinkMacToViewerReportConnectedEX:
      *hr = m.report_connected_ex.hr;
      break;
    case kLinkMacToViewerReportConnectedFunnel:
      *hr = m.report_connected_funnel.hr;
      break;
    case kLinkMacToViewerReportDisconnectedFunnel:
      *hr = m.report_disconnected_funnel.hr;
      break;
    case kLinkMacToViewerReportStartedPlaying:
      *hr = m.report_started_playing.hr;
      break;
    case kLinkMacToViewerReportOpenFile:
      *hr = m.report_open_file.hr;
      break;
    case kLinkMacToViewerReportStartStriding:
      *hr = m.report_start_striding.hr;
      break;
    case kLinkMacToViewerReportReadBlock:
      *hr = m.report_read_block.hr;
      break;
    case kLinkMacToViewerReportFunnelInfo:
      *hr = m.report_funnel_info.hr;
      break;
    case kLinkMacToViewerReportEndOfStream:
      *hr = m.report_end_of_stream.hr;
      break;
    case kLinkMacToViewerReportStreamChange:
      *hr = m.report_stream_change.hr;
      break;
    case kLinkMacToViewerReportStreamSwitch:
      *hr = m.report_stream_switch.hr;
      break;
    case kLinkMacToViewerReportRedirect:
      *hr = m.report_redirect.hr;
      break;
    default:
      return false;
  }
  return true;
}

// ---- messages ----

Decode decode_body(ByteView body, Message* out, std::size_t* used, Status* error) {
  if (body.size() < kMessagePrefixSize) {
    return bad(error, "mmst: message shorter than chunkLen + MID",
               static_cast<std::uint32_t>(body.size()));
  }
  const std::uint32_t chunk_len = load_u32le(body.data());
  const std::uint32_t mid = load_u32le(body.data() + 4);
  if (chunk_len == 0) {
    return bad(error, "mmst: chunkLen 0", mid);
  }
  if (8ull * chunk_len > body.size()) {
    return bad(error, "mmst: chunkLen beyond messageLength", chunk_len);
  }
  const std::size_t len = 8u * std::size_t{chunk_len};
  const std::size_t fixed = fixed_message_size(mid);
  // ReportOpenFile carrying a failure may be short (checked in decode_fields).
  const std::size_t need = mid == kLinkMacToViewerReportOpenFile ? 16 : fixed;
  if (len < need) {
    return bad(error, "mmst: message shorter than its fixed fields", mid);
  }
  TcpMessageHeader header = out->header;
  *out = Message();
  out->header = header;
  out->mid = mid;
  out->raw = body.subview(0, len);
  Decode d = decode_fields(out->raw, out, error);
  if (d != Decode::kDone) {
    return d;
  }
  *used = len;
  return Decode::kDone;
}

Decode decode_message(ByteView in, Message* out, Status* error) {
  if (in.size() < 8) {
    return Decode::kNeedMore;
  }
  if (load_u32le(in.data() + 4) != kSessionId) {
    return bad(error, "mmst: bad TcpMessageHeader sessionId", load_u32le(in.data() + 4));
  }
  if (in.size() < 16) {
    return Decode::kNeedMore;
  }
  const std::uint32_t message_length = load_u32le(in.data() + 8);
  if (load_u32le(in.data() + 12) != kSeal) {
    return bad(error, "mmst: bad TcpMessageHeader seal", load_u32le(in.data() + 12));
  }
  if (message_length > limits::kMaxMmsMessageLength) {
    return fail(error, Code::kLimitExceeded, "mmst: messageLength above kMaxMmsMessageLength",
                message_length);
  }
  if (message_length < kMinMessageLength || message_length % 8 != 0) {
    return bad(error, "mmst: bad messageLength", message_length);
  }
  const std::size_t total = 16u + std::size_t{message_length};
  if (in.size() < total) {
    return Decode::kNeedMore;
  }
  ByteReader r(in.subview(0, kTcpHeaderSize));
  TcpMessageHeader h;
  r.read_u8(&h.rep);
  r.read_u8(&h.version);
  r.read_u8(&h.version_minor);
  r.read_u8(&h.padding);
  r.read_u32le(&h.session_id);
  r.read_u32le(&h.message_length);
  r.read_u32le(&h.seal);
  r.read_u32le(&h.chunk_count);
  r.read_u16le(&h.seq);
  r.read_u16le(&h.mbz);
  r.read_u64le(&h.time_sent);
  out->header = h;
  ByteView body = in.subview(kTcpHeaderSize, total - kTcpHeaderSize);
  std::size_t used = 0;
  Decode d = decode_body(body, out, &used, error);
  if (d != Decode::kDone) {
    return d;
  }
  out->extra_messages = body.subview(used);
  out->wire_size = total;
  return Decode::kDone;
}

Status encode_body(const Message& m, std::vector<std::uint8_t>* out) {
  std::vector<std::uint8_t> body;
  ByteWriter w(&body);
  w.u32le(0);  // chunkLen, patched below
  w.u32le(m.mid);
  MMS_TRY(encode_fields(m, &w));
  w.zeros((8 - body.size() % 8) % 8);
  if (body.size() + 16 > limits::kMaxMmsMessageLength) {
    return Status(Code::kLocalMisuse, "mmst: message above kMaxMmsMessageLength",
                  static_cast<std::uint32_t>(body.size()));
  }
  store_u32le(body.data(), static_cast<std::uint32_t>(body.size() / 8));
  out->insert(out->end(), body.begin(), body.end());
  return Status::Ok();
}

Status encode_message(const Message& m, std::vector<std::uint8_t>* out) {
  std::vector<std::uint8_t> body;
  MMS_TRY(encode_body(m, &body));
  const auto message_length = static_cast<std::uint32_t>(body.size() + 16);
  ByteWriter w(out);
  w.u8(0x01);
  w.u8(0x00);
  w.u8(0x00);
  w.u8(0x00);
  w.u32le(kSessionId);
  w.u32le(message_length);
  w.u32le(kSeal);
  w.u32le(message_length / 8);
  w.u16le(m.header.seq);
  w.u16le(0);
  w.u64le(m.header.time_sent);
  w.bytes(body);
  return Status::Ok();
}

// ---- helpers ----

std::vector<std::uint8_t> utf8_to_utf16le(const std::string& utf8) {
  std::vector<std::uint8_t> out;
  ByteWriter w(&out);
  for (std::uint16_t c : utf16_units(utf8)) {
    w.u16le(c);
  }
  return out;
}

}  // namespace mms::mmst

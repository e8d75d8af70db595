#include "protocol/mmst/messages.h"

#include <cstring>
#include <type_traits>

#include "protocol/core/byte_reader.h"
#include "protocol/core/byte_writer.h"
#include "protocol/core/limits.h"
#include "protocol/core/text.h"
#include "protocol/mmst/message_strings.h"

namespace mms::mmst {
namespace {

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

using detail::check_string;
using detail::read_utf16_z;
using detail::utf16_units;
using detail::write_utf16_z;

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

// ---- one field description per message, shared by encoder and decoder ----
//
// fields(v, m) lists a message's fields after chunkLen + MID in wire order; the
// FieldWriter visitor appends them, the FieldReader visitor reads them. M is the
// message struct, const when encoding. Four irregular messages keep hand-written
// code in decode_fields/encode_fields below: Connect (a run of optional strings
// ended by an empty one, at most kMaxSubscriberExtra), ReportConnectedEX (four
// counts, all checked against the limit and the message before any string is
// read), OpenFile (token/cbtoken locate the token inside the file-name bytes) and
// Logging (cbSize is the first field of the log bytes it counts).

Status check_token(std::size_t n) {
  if (n > limits::kMaxMmsTokenBytes) {
    return Status(Code::kLocalMisuse, "mmst: token above kMaxMmsTokenBytes",
                  static_cast<std::uint32_t>(n));
  }
  return Status::Ok();
}

class FieldWriter {
 public:
  explicit FieldWriter(ByteWriter* w) : w_(w) {}
  void u16(std::uint16_t v) { w_->u16le(v); }
  void u32(std::uint32_t v) { w_->u32le(v); }
  void u64(std::uint64_t v) { w_->u64le(v); }
  void f64(double v) { write_double(w_, v); }
  // Reserved bytes: zeros on encode, not read on decode.
  void reserved(std::size_t n) { w_->zeros(n); }
  // The bytes up to the end of the message (chunkLen padding included on decode).
  void rest(const std::vector<std::uint8_t>& v) { w_->bytes(v); }
  // A NUL-terminated UTF-16LE string ending the message.
  void string_z(const std::string& v) {
    if (status_.ok()) {
      status_ = write_utf16_z(w_, v);
    }
  }
  // Trailing fields present only in a longer form of the message (n bytes).
  bool optional(bool present, std::size_t /*n*/) { return present; }
  // cbToken (u32) then the token bytes, bounded by limits::kMaxMmsTokenBytes.
  void token(const std::vector<std::uint8_t>& v) {
    if (status_.ok()) {
      status_ = check_token(v.size());
    }
    w_->u32le(static_cast<std::uint32_t>(v.size()));
    w_->bytes(v);
  }
  // ReportRedirect's cbLocation (u16: bytes including the NUL) then the string.
  void location(const std::string& v) {
    const std::vector<std::uint16_t> u = utf16_units(v);
    if (status_.ok()) {
      status_ = check_string(u);
    }
    w_->u16le(static_cast<std::uint16_t>(2 * (u.size() + 1)));
    for (std::uint16_t c : u) {
      w_->u16le(c);
    }
    w_->u16le(0);
  }
  // A u32 count, then that many entries (each described by `each`), at most `max`.
  template <class E, class F>
  void list(const std::vector<E>& v, std::size_t max, std::size_t /*entry_size*/,
            const char* over_max, const char* /*beyond*/, F each) {
    if (v.size() > max) {
      if (status_.ok()) {
        status_ = Status(Code::kLocalMisuse, over_max, static_cast<std::uint32_t>(v.size()));
      }
      return;
    }
    w_->u32le(static_cast<std::uint32_t>(v.size()));
    for (const E& e : v) {
      each(e);
    }
  }
  // Fields after hr that a failure reply may leave out: always written.
  bool unless_failed(std::uint32_t /*hr*/, std::size_t /*n*/, const char* /*too_short*/) {
    return true;
  }
  const Status& status() const { return status_; }

 private:
  ByteWriter* w_;
  Status status_;
};

class FieldReader {
 public:
  explicit FieldReader(ByteReader* r) : r_(r) {}
  // Fixed fields lie within fixed_message_size(), which decode_body checks before.
  void u16(std::uint16_t& v) { r_->read_u16le(&v); }
  void u32(std::uint32_t& v) { r_->read_u32le(&v); }
  void u64(std::uint64_t& v) { r_->read_u64le(&v); }
  void f64(double& v) { read_double(r_, &v); }
  void reserved(std::size_t n) { r_->skip(n); }
  void rest(std::vector<std::uint8_t>& v) { v = r_->rest().to_vector(); }
  void string_z(std::string& v) {
    if (status_.ok()) {
      std::size_t used = 0;
      status_ = read_utf16_z(r_->rest(), &v, &used);
      r_->skip(used);
    }
  }
  bool optional(bool& present, std::size_t n) {
    present = r_->remaining() >= n;
    return present;
  }
  void token(std::vector<std::uint8_t>& v) {
    std::uint32_t cb = 0;
    r_->read_u32le(&cb);
    ByteView bytes;
    if (!status_.ok()) {
      return;
    }
    if (cb > limits::kMaxMmsTokenBytes) {
      status_ = Status(Code::kLimitExceeded, "mmst: pToken above kMaxMmsTokenBytes", cb);
    } else if (!r_->read_view(cb, &bytes)) {
      status_ = Status(Code::kMalformed, "mmst: cbToken beyond chunkLen", cb);
    } else {
      v = bytes.to_vector();
    }
  }
  void location(std::string& v) {
    std::uint16_t cb = 0;
    r_->read_u16le(&cb);
    ByteView bytes;
    if (!status_.ok()) {
      return;
    }
    if (cb / 2 > limits::kMaxMmsStringUnits + 1) {
      status_ = Status(Code::kLimitExceeded, "mmst: ReportRedirect above kMaxMmsStringUnits", cb);
    } else if (!r_->read_view(cb, &bytes)) {
      status_ = Status(Code::kMalformed, "mmst: ReportRedirect cbLocation beyond chunkLen", cb);
    } else {
      std::size_t used = 0;
      status_ = read_utf16_z(bytes, &v, &used);
    }
  }
  template <class E, class F>
  void list(std::vector<E>& v, std::size_t max, std::size_t entry_size, const char* over_max,
            const char* beyond, F each) {
    std::uint32_t n = 0;
    r_->read_u32le(&n);
    if (!status_.ok()) {
      return;
    }
    if (n > max) {
      status_ = Status(Code::kLimitExceeded, over_max, n);
    } else if (std::uint64_t{entry_size} * n > r_->remaining()) {
      status_ = Status(Code::kMalformed, beyond, n);
    } else {
      v.assign(n, E{});
      for (E& e : v) {
        each(e);
      }
    }
  }
  // false when the n bytes of the remaining fields are missing: fine after a
  // failure hr (nothing else is valid then), else `too_short`.
  bool unless_failed(std::uint32_t hr, std::size_t n, const char* too_short) {
    if (r_->remaining() >= n) {
      return true;
    }
    if (!hr_failed(hr) && status_.ok()) {
      status_ = Status(Code::kMalformed, too_short);
    }
    return false;
  }
  // The verdict: kDone, or kError with the first failure.
  Decode finish(Status* error) const { return from_status(status_, error); }

 private:
  ByteReader* r_;
  Status status_;
};

template <class M, class T>
using IfMessage = std::enable_if_t<std::is_same_v<std::remove_const_t<M>, T>, int>;

template <class V, class M, IfMessage<M, FunnelInfo> = 0>
void fields(V& v, M& m) {
  v.u32(m.play_incarnation);
  v.reserved(4);  // the 12-byte message pads to 16
}

template <class V, class M, IfMessage<M, ReportFunnelInfo> = 0>
void fields(V& v, M& m) {
  v.u32(m.hr);
  v.u32(m.play_incarnation);
  v.u32(m.transport_mask);
  v.u32(m.n_block_fragments);
  v.u32(m.fragment_bytes);
  v.u32(m.n_cubs);
  v.u32(m.failed_cubs);
  v.u32(m.n_disks);
  v.u32(m.decluster);
  v.u32(m.cubdd_datagram_size);
  v.rest(m.packet_pair_data);
}

template <class V, class M, IfMessage<M, ConnectFunnel> = 0>
void fields(V& v, M& m) {
  v.u32(m.play_incarnation);
  v.u32(m.max_block_bytes);
  v.u32(m.max_funnel_bytes);
  v.u32(m.max_bit_rate);
  v.u32(m.funnel_mode);
  v.string_z(m.funnel_name);
}

template <class V, class M, IfMessage<M, ReportConnectedFunnel> = 0>
void fields(V& v, M& m) {
  v.u32(m.hr);
  v.u32(m.play_incarnation);
  v.u32(m.packet_payload_size);
  v.string_z(m.funnel_name);
}

template <class V, class M, IfMessage<M, ReportDisconnectedFunnel> = 0>
void fields(V& v, M& m) {
  v.u32(m.hr);
  v.u32(m.play_incarnation);
}

template <class V, class M, IfMessage<M, ReportOpenFile> = 0>
void fields(V& v, M& m) {
  v.u32(m.hr);
  v.u32(m.play_incarnation);
  // A failure reply may be short: the 100 bytes after hr and playIncarnation.
  if (!v.unless_failed(m.hr, 100, "mmst: ReportOpenFile too short")) {
    return;
  }
  v.u32(m.open_file_id);
  v.u32(m.padding);
  v.u32(m.file_name);
  v.u32(m.file_attributes);
  v.f64(m.file_duration);
  v.u32(m.file_blocks);
  v.reserved(16);
  v.u32(m.file_packet_size);
  v.u64(m.file_packet_count);
  v.u32(m.file_bit_rate);
  v.u32(m.file_header_size);
  v.reserved(36);
}

template <class V, class M, IfMessage<M, ReadBlock> = 0>
void fields(V& v, M& m) {
  v.u32(m.open_file_id);
  v.u32(m.file_block_id);
  v.u32(m.offset);
  v.u32(m.length);
  v.u32(m.flags);
  v.u32(m.padding);
  v.f64(m.t_earliest);
  v.f64(m.t_deadline);
  v.u32(m.play_incarnation);
  v.u32(m.play_sequence);
}

template <class V, class M, IfMessage<M, ReportReadBlock> = 0>
void fields(V& v, M& m) {
  v.u32(m.hr);
  v.u32(m.play_incarnation);
  v.u32(m.play_sequence);
}

template <class V, class M, IfMessage<M, CancelReadBlock> = 0>
void fields(V& v, M& m) {
  v.u32(m.play_incarnation);
}

template <class V, class M, IfMessage<M, StreamSwitchEntry> = 0>
void fields(V& v, M& m) {
  v.u16(m.w_src_stream_number);
  v.u16(m.w_dst_stream_number);
  v.u16(m.w_thinning_level);
}

template <class V, class M, IfMessage<M, StreamSwitch> = 0>
void fields(V& v, M& m) {
  v.list(m.a_stream_entries, limits::kMaxStreamSwitchEntries, 6,
         "mmst: StreamSwitch above kMaxStreamSwitchEntries",
         "mmst: StreamSwitch entries beyond chunkLen", [&v](auto& e) { fields(v, e); });
}

template <class V, class M, IfMessage<M, ReportStreamSwitch> = 0>
void fields(V& v, M& m) {
  v.u32(m.hr);
}

template <class V, class M, IfMessage<M, StartPlaying> = 0>
void fields(V& v, M& m) {
  v.u32(m.open_file_id);
  v.u32(m.padding);
  v.f64(m.position);
  v.u32(m.asf_offset);
  v.u32(m.location_id);
  v.u32(m.frame_offset);
  v.u32(m.play_incarnation);
  if (v.optional(m.has_accel, 12)) {
    v.u32(m.dw_accel_bandwidth);
    v.u32(m.dw_accel_duration);
    v.u32(m.dw_link_bandwidth);
  }
}

template <class V, class M, IfMessage<M, ReportStartedPlaying> = 0>
void fields(V& v, M& m) {
  v.u32(m.hr);
  v.u32(m.play_incarnation);
  v.u32(m.tiger_file_id);
  v.u32(m.unused1);
  v.reserved(12);
}

template <class V, class M, IfMessage<M, StartStriding> = 0>
void fields(V& v, M& m) {
  v.u32(m.open_file_id);
  v.u32(m.padding);
  v.f64(m.position);
  v.u32(m.asf_offset);
  v.u32(m.location_id);
  v.u32(m.frame_offset);
  v.u32(m.play_incarnation);
  v.f64(m.rate);
}

template <class V, class M, IfMessage<M, ReportStartStriding> = 0>
void fields(V& v, M& m) {
  v.u32(m.hr);
  v.u32(m.play_incarnation);
  v.u32(m.spare);
}

template <class V, class M, IfMessage<M, StopPlaying> = 0>
void fields(V& v, M& m) {
  v.u32(m.open_file_id);
  v.u32(m.play_incarnation);
}

template <class V, class M, IfMessage<M, ReportEndOfStream> = 0>
void fields(V& v, M& m) {
  v.u32(m.hr);
  v.u32(m.play_incarnation);
}

template <class V, class M, IfMessage<M, ReportStreamChange> = 0>
void fields(V& v, M& m) {
  v.u32(m.hr);
  v.u32(m.dw_tcp_hdr_incarnation);
  v.u32(m.cb_packet_size);
  v.u32(m.cb_header_size);
  v.u32(m.dw_bit_rate);
  v.u32(m.dw_stream_id);
}

template <class V, class M, IfMessage<M, PingPong> = 0>
void fields(V& v, M& m) {
  v.u32(m.dw_param1);
  v.u32(m.dw_param2);
}

template <class V, class M, IfMessage<M, CloseFile> = 0>
void fields(V& v, M& m) {
  v.u32(m.play_incarnation);
  v.u32(m.open_file_id);
}

template <class V, class M, IfMessage<M, ReportRedirect> = 0>
void fields(V& v, M& m) {
  v.u32(m.hr);
  v.u16(m.redirect_type);
  v.location(m.wsz_location);
}

template <class V, class M, IfMessage<M, Security> = 0>
void fields(V& v, M& m) {
  v.u32(m.play_incarnation);
  v.u32(m.cookie);
  v.token(m.p_token);
}

template <class M>
Decode read_fields(ByteReader* r, M* m, Status* error) {
  FieldReader v(r);
  fields(v, *m);
  return v.finish(error);
}

template <class M>
Status write_fields(ByteWriter* w, const M& m) {
  FieldWriter v(w);
  fields(v, m);
  return v.status();
}

Decode decode_fields(ByteView m, Message* out, Status* error) {
  ByteReader r(m.subview(kMessagePrefixSize));
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
      return read_fields(&r, &out->funnel_info, error);
    case kLinkMacToViewerReportFunnelInfo:
      return read_fields(&r, &out->report_funnel_info, error);
    case kLinkViewerToMacConnectFunnel:
      return read_fields(&r, &out->connect_funnel, error);
    case kLinkMacToViewerReportConnectedFunnel:
      return read_fields(&r, &out->report_connected_funnel, error);
    case kLinkMacToViewerReportDisconnectedFunnel:
      return read_fields(&r, &out->report_disconnected_funnel, error);
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
    case kLinkMacToViewerReportOpenFile:
      return read_fields(&r, &out->report_open_file, error);
    case kLinkViewerToMacReadBlock:
      return read_fields(&r, &out->read_block, error);
    case kLinkMacToViewerReportReadBlock:
      return read_fields(&r, &out->report_read_block, error);
    case kLinkViewerToMacCancelReadBlock:
      return read_fields(&r, &out->cancel_read_block, error);
    case kLinkViewerToMacStreamSwitch:
      return read_fields(&r, &out->stream_switch, error);
    case kLinkMacToViewerReportStreamSwitch:
      return read_fields(&r, &out->report_stream_switch, error);
    case kLinkViewerToMacStartPlaying:
      return read_fields(&r, &out->start_playing, error);
    case kLinkMacToViewerReportStartedPlaying:
      return read_fields(&r, &out->report_started_playing, error);
    case kLinkViewerToMacStartStriding:
      return read_fields(&r, &out->start_striding, error);
    case kLinkMacToViewerReportStartStriding:
      return read_fields(&r, &out->report_start_striding, error);
    case kLinkViewerToMacStopPlaying:
      return read_fields(&r, &out->stop_playing, error);
    case kLinkMacToViewerReportEndOfStream:
      return read_fields(&r, &out->report_end_of_stream, error);
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
    case kLinkMacToViewerReportStreamChange:
      return read_fields(&r, &out->report_stream_change, error);
    case kLinkMacToViewerPing:
    case kLinkViewerToMacPong:
      return read_fields(&r, &out->ping_pong, error);
    case kLinkViewerToMacCloseFile:
      return read_fields(&r, &out->close_file, error);
    case kLinkMacToViewerReportRedirect:
      return read_fields(&r, &out->report_redirect, error);
    case kLinkMacToViewerSecurityChallenge:
    case kLinkViewerToMacSecurityResponse:
      return read_fields(&r, &out->security, error);
    default:
      return Decode::kDone;  // unknown MID: mid and raw only
  }
}

// ---- per-message encoders: fields after chunkLen + MID ----

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
      return write_fields(w, m.funnel_info);
    case kLinkMacToViewerReportFunnelInfo:
      return write_fields(w, m.report_funnel_info);
    case kLinkViewerToMacConnectFunnel:
      return write_fields(w, m.connect_funnel);
    case kLinkMacToViewerReportConnectedFunnel:
      return write_fields(w, m.report_connected_funnel);
    case kLinkMacToViewerReportDisconnectedFunnel:
      return write_fields(w, m.report_disconnected_funnel);
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
    case kLinkMacToViewerReportOpenFile:
      return write_fields(w, m.report_open_file);
    case kLinkViewerToMacReadBlock:
      return write_fields(w, m.read_block);
    case kLinkMacToViewerReportReadBlock:
      return write_fields(w, m.report_read_block);
    case kLinkViewerToMacCancelReadBlock:
      return write_fields(w, m.cancel_read_block);
    case kLinkViewerToMacStreamSwitch:
      return write_fields(w, m.stream_switch);
    case kLinkMacToViewerReportStreamSwitch:
      return write_fields(w, m.report_stream_switch);
    case kLinkViewerToMacStartPlaying:
      return write_fields(w, m.start_playing);
    case kLinkMacToViewerReportStartedPlaying:
      return write_fields(w, m.report_started_playing);
    case kLinkViewerToMacStartStriding:
      return write_fields(w, m.start_striding);
    case kLinkMacToViewerReportStartStriding:
      return write_fields(w, m.report_start_striding);
    case kLinkViewerToMacStopPlaying:
      return write_fields(w, m.stop_playing);
    case kLinkMacToViewerReportEndOfStream:
      return write_fields(w, m.report_end_of_stream);
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
    case kLinkMacToViewerReportStreamChange:
      return write_fields(w, m.report_stream_change);
    case kLinkMacToViewerPing:
    case kLinkViewerToMacPong:
      return write_fields(w, m.ping_pong);
    case kLinkViewerToMacCloseFile:
      return write_fields(w, m.close_file);
    case kLinkMacToViewerReportRedirect:
      return write_fields(w, m.report_redirect);
    case kLinkMacToViewerSecurityChallenge:
    case kLinkViewerToMacSecurityResponse:
      return write_fields(w, m.security);
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

}  // namespace mms::mmst

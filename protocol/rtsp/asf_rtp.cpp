#include "protocol/rtsp/asf_rtp.h"

#include <algorithm>

#include "protocol/asf/packet.h"
#include "protocol/core/byte_reader.h"
#include "protocol/core/byte_writer.h"
#include "protocol/core/limits.h"

namespace mms::rtsp {
namespace {

constexpr std::uint32_t kMaxField = 0xffffff;

std::size_t header_size(std::uint8_t flags) {
  std::size_t n = 4;
  for (std::uint8_t bit : {kAsfPfRelativeTime, kAsfPfDuration, kAsfPfLocationId}) {
    if ((flags & bit) != 0) {
      n += 4;
    }
  }
  return n;
}

// A header that could start the next L=1 unit at `pos`: RES bits 0, L set,
// and the header itself fits.
bool plausible_next(ByteView payload, std::size_t pos) {
  if (pos + 4 > payload.size()) {
    return false;
  }
  const std::uint8_t f = payload[pos];
  return (f & 0x07) == 0 && (f & kAsfPfLength) != 0 && pos + header_size(f) < payload.size();
}

}  // namespace

bool is_rtcp(ByteView packet) {
  return packet.size() >= 2 && packet[1] >= 200 && packet[1] <= 204;
}

Result<RtpHeader> parse_rtp(ByteView packet) {
  ByteReader r(packet);
  std::uint8_t b0 = 0;
  std::uint8_t b1 = 0;
  RtpHeader h;
  r.read_u8(&b0);
  r.read_u8(&b1);
  r.read_u16be(&h.seq);
  r.read_u32be(&h.timestamp);
  r.read_u32be(&h.ssrc);
  if (!r.ok()) {
    return Status(Code::kMalformed, "rtp: shorter than 12 bytes");
  }
  if ((b0 >> 6) != 2) {
    return Status(Code::kMalformed, "rtp: version is not 2", b0);
  }
  if (is_rtcp(packet)) {
    return Status(Code::kMalformed, "rtp: RTCP packet", b1);
  }
  h.marker = (b1 & 0x80) != 0;
  h.payload_type = static_cast<std::uint8_t>(b1 & 0x7f);
  r.skip(4u * (b0 & 0x0fu));  // CSRC list
  if ((b0 & 0x10) != 0) {     // header extension
    std::uint16_t profile = 0;
    std::uint16_t words = 0;
    r.read_u16be(&profile);
    r.read_u16be(&words);
    r.skip(4u * words);
  }
  if (!r.ok()) {
    return Status(Code::kMalformed, "rtp: CSRC list or extension past the end");
  }
  ByteView payload = r.rest();
  if ((b0 & 0x20) != 0) {  // padding: last byte counts the padding bytes
    const std::size_t pad = payload.empty() ? 0 : payload[payload.size() - 1];
    if (pad == 0 || pad > payload.size()) {
      return Status(Code::kMalformed, "rtp: bad padding");
    }
    payload = payload.subview(0, payload.size() - pad);
  }
  h.payload = payload;
  return h;
}

void write_rtp_header(const RtpHeader& h, std::vector<std::uint8_t>* out) {
  ByteWriter w(out);
  w.u8(0x80);
  w.u8(static_cast<std::uint8_t>((h.marker ? 0x80 : 0) | (h.payload_type & 0x7f)));
  w.u16be(h.seq);
  w.u32be(h.timestamp);
  w.u32be(h.ssrc);
}

bool parse_asf_pf_header(ByteView in, AsfPfHeader* out) {
  ByteReader r(in);
  AsfPfHeader h;
  std::uint8_t f[4] = {};
  if (!r.read_bytes(4, f)) {
    return false;
  }
  h.flags = f[0];
  h.field = static_cast<std::uint32_t>(f[1]) << 16 | static_cast<std::uint32_t>(f[2]) << 8 | f[3];
  std::uint32_t v = 0;
  if ((h.flags & kAsfPfRelativeTime) != 0) {
    r.read_u32be(&v);
    h.relative_time = static_cast<std::int32_t>(v);
  }
  if ((h.flags & kAsfPfDuration) != 0) {
    r.read_u32be(&h.duration);
  }
  if ((h.flags & kAsfPfLocationId) != 0) {
    r.read_u32be(&h.location_id);
  }
  if (!r.ok()) {
    return false;
  }
  h.size = r.offset();
  *out = h;
  return true;
}

// ---- depayloader -----------------------------------------------------------

AsfDepayloader::AsfDepayloader(std::uint32_t max_packet_size) {
  set_max_packet_size(max_packet_size);
}

void AsfDepayloader::set_max_packet_size(std::uint32_t max_packet_size) {
  max_packet_size_ = (max_packet_size == 0 || max_packet_size > limits::kMaxAsfPacketSize)
                         ? limits::kMaxAsfPacketSize
                         : max_packet_size;
}

void AsfDepayloader::reset() {
  drop_partial();
  have_seq_ = false;
  discont_ = true;
}

void AsfDepayloader::expect_seq(std::uint16_t seq) {
  if (have_seq_ && seq != next_seq_) {
    drop_partial();
    discont_ = true;
  }
  have_seq_ = true;
  next_seq_ = seq;
}

void AsfDepayloader::drop_partial() {
  if (in_fragment_) {
    ++stats_.dropped_partial;
  }
  in_fragment_ = false;
  partial_.clear();
}

void AsfDepayloader::emit(ByteView data, bool key, const RtpHeader& rtp,
                          std::vector<DepayPacket>* out) {
  if (data.empty()) {
    ++stats_.malformed;
    discont_ = true;
    return;
  }
  if (data.size() > max_packet_size_) {
    ++stats_.oversized;
    discont_ = true;
    return;
  }
  DepayPacket p;
  p.data = data.to_vector();
  p.keyframe = key;
  p.discont = discont_;
  p.rtp_timestamp = rtp.timestamp;
  p.seq = rtp.seq;
  discont_ = false;
  ++stats_.asf_packets;
  out->push_back(std::move(p));
}

std::size_t AsfDepayloader::unit_end(ByteView payload, std::size_t pos, const AsfPfHeader& h) {
  const std::size_t end = payload.size();
  const std::size_t body = pos + h.size;
  const bool with_ok = h.field > h.size;  // WMS/FFmpeg: field counts the header
  const std::size_t with_end = with_ok ? pos + h.field : 0;
  const std::size_t without_end = body + h.field;  // spec/GStreamer
  if (with_ok && with_end == end) {
    ++stats_.length_with_header;
    return end;
  }
  if (without_end == end && h.field > 0) {
    ++stats_.length_without_header;
    return end;
  }
  if (with_ok && with_end < end && plausible_next(payload, with_end)) {
    ++stats_.length_with_header;
    return with_end;
  }
  if (h.field > 0 && without_end < end && plausible_next(payload, without_end)) {
    ++stats_.length_without_header;
    return without_end;
  }
  if (h.field > 0 && without_end > end && body < end) {
    return end;  // runs past the end (clamp like FFmpeg and GStreamer)
  }
  return 0;
}

Status AsfDepayloader::push(ByteView rtp_packet, std::vector<DepayPacket>* out) {
  Result<RtpHeader> parsed = parse_rtp(rtp_packet);
  if (!parsed.ok()) {
    return parsed.status();
  }
  const RtpHeader& rtp = *parsed;
  if (have_seq_ && rtp.seq != next_seq_) {
    const auto diff = static_cast<std::int16_t>(static_cast<std::uint16_t>(rtp.seq - next_seq_));
    if (diff < 0) {
      ++stats_.late;
      return Status::Ok();
    }
    stats_.lost += static_cast<std::uint64_t>(diff);
    drop_partial();
    discont_ = true;
  }
  have_seq_ = true;
  next_seq_ = static_cast<std::uint16_t>(rtp.seq + 1);
  ++stats_.rtp_packets;

  const ByteView payload = rtp.payload;
  std::size_t pos = 0;
  while (pos < payload.size()) {
    AsfPfHeader h;
    if (!parse_asf_pf_header(payload.subview(pos), &h) || pos + h.size > payload.size()) {
      ++stats_.malformed;
      drop_partial();
      discont_ = true;
      break;
    }
    const std::size_t body = pos + h.size;
    const bool key = (h.flags & kAsfPfKey) != 0;
    if ((h.flags & kAsfPfLength) != 0) {
      const std::size_t end = unit_end(payload, pos, h);
      if (end == 0) {
        ++stats_.malformed;
        drop_partial();
        discont_ = true;
        break;
      }
      if (in_fragment_) {  // a whole packet while fragments were pending
        drop_partial();
        discont_ = true;
      }
      emit(payload.subview(body, end - body), key, rtp, out);
      pos = end;
      continue;
    }
    // Fragment: runs to the end of the payload.
    const ByteView frag = payload.subview(body);
    pos = payload.size();
    if (h.field == 0) {
      if (in_fragment_) {
        drop_partial();
        discont_ = true;
      }
      in_fragment_ = true;
      fragment_key_ = key;
    } else if (!in_fragment_ || h.field != partial_.size()) {
      drop_partial();
      discont_ = true;
      continue;  // wait for a fragment at offset 0
    }
    if (partial_.size() + frag.size() > max_packet_size_) {
      ++stats_.oversized;
      drop_partial();
      discont_ = true;
      continue;
    }
    partial_.insert(partial_.end(), frag.begin(), frag.end());
    fragment_key_ = fragment_key_ || key;
    if (rtp.marker) {
      in_fragment_ = false;
      emit(partial_, fragment_key_, rtp, out);
      partial_.clear();
    }
  }
  return Status::Ok();
}

// ---- payloader ---------------------------------------------------------------

AsfPayloader::AsfPayloader(const PayloaderConfig& config)
    : config_(config), seq_(config.first_seq) {
  config_.mtu = std::clamp<std::size_t>(config_.mtu, 64, 65535);
}

void AsfPayloader::start(std::uint32_t send_time_ms, bool marker) {
  RtpHeader h;
  h.marker = marker;
  h.payload_type = config_.payload_type;
  h.seq = seq_++;
  h.timestamp = rtp_timestamp(send_time_ms);
  h.ssrc = config_.ssrc;
  pending_.clear();
  write_rtp_header(h, &pending_);
}

void AsfPayloader::finish(std::vector<std::vector<std::uint8_t>>* out) {
  if (!pending_.empty()) {
    out->push_back(std::move(pending_));
    pending_.clear();
  }
}

void AsfPayloader::flush(std::vector<std::vector<std::uint8_t>>* out) {
  finish(out);
}

Status AsfPayloader::push(ByteView asf_packet, std::uint32_t send_time_ms, bool keyframe,
                          std::vector<std::vector<std::uint8_t>>* out) {
  if (asf_packet.empty() || asf_packet.size() + 4 > kMaxField) {
    return Status(Code::kLocalMisuse, "asf-rtp: empty or oversized ASF packet",
                  static_cast<std::uint32_t>(asf_packet.size()));
  }
  const std::uint8_t s = keyframe ? kAsfPfKey : 0;
  const std::size_t unit = 4 + asf_packet.size();
  if (!pending_.empty() && pending_.size() + unit > config_.mtu) {
    finish(out);
  }
  if (kRtpHeaderSize + unit <= config_.mtu) {
    if (pending_.empty()) {
      start(send_time_ms, true);
    }
    ByteWriter w(&pending_);
    w.u8(static_cast<std::uint8_t>(s | kAsfPfLength));
    const auto len = static_cast<std::uint32_t>(unit);
    w.u8(static_cast<std::uint8_t>(len >> 16));
    w.u16be(static_cast<std::uint16_t>(len));
    w.bytes(asf_packet);
    if (!config_.group) {
      finish(out);
    }
    return Status::Ok();
  }
  // Fragments: offset header + as many bytes as fit, M on the last one.
  const std::size_t room = config_.mtu - kRtpHeaderSize - 4;
  std::size_t offset = 0;
  while (offset < asf_packet.size()) {
    const std::size_t n = std::min(room, asf_packet.size() - offset);
    start(send_time_ms, offset + n == asf_packet.size());
    ByteWriter w(&pending_);
    w.u8(s);
    const auto off = static_cast<std::uint32_t>(offset);
    w.u8(static_cast<std::uint8_t>(off >> 16));
    w.u16be(static_cast<std::uint16_t>(off));
    w.bytes(asf_packet.subview(offset, n));
    finish(out);
    offset += n;
  }
  return Status::Ok();
}

Status AsfPayloader::push_parsed(ByteView asf_packet, std::uint32_t packet_size,
                                 std::vector<std::vector<std::uint8_t>>* out) {
  Result<asf::PacketInfo> info = asf::parse_packet(asf_packet, packet_size);
  if (!info.ok()) {
    return info.status();
  }
  return push(asf_packet, info->send_time_ms, info->any_keyframe, out);
}

}  // namespace mms::rtsp

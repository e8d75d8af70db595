// MMS data packets (MS-MMSP 2.2.2, TCP and UDP), header-packet split and
// reassembly, TCP stream demultiplexing, the UDP RequestPacketListResend
// datagram and sequence extension. Declared in protocol/mmst/messages.h.
#include <cstdint>

#include "protocol/core/byte_reader.h"
#include "protocol/core/byte_writer.h"
#include "protocol/core/limits.h"
#include "protocol/mmst/messages.h"

namespace mms::mmst {
namespace {

Decode bad(Status* error, const char* what, std::uint32_t detail = 0) {
  *error = Status(Code::kMalformed, what, detail);
  return Decode::kError;
}

}  // namespace

// ---- data packets ----

Decode decode_data_packet(ByteView in, DataPacket* out, Status* error) {
  if (in.size() < kDataHeaderSize) {
    return Decode::kNeedMore;
  }
  const std::uint16_t size = load_u16le(in.data() + 6);
  if (size < kDataHeaderSize) {
    return bad(error, "mmst: Data PacketSize below 8", size);
  }
  if (in.size() < size) {
    return Decode::kNeedMore;
  }
  out->location_id = load_u32le(in.data());
  out->play_incarnation = in[4];
  out->af_flags = in[5];
  out->packet_size = size;
  out->payload = in.subview(kDataHeaderSize, size - kDataHeaderSize);
  return Decode::kDone;
}

Status decode_udp_data_packet(ByteView datagram, DataPacket* out) {
  Status error;
  if (datagram.size() < kDataHeaderSize) {
    return Status(Code::kMalformed, "mmsu: datagram shorter than a Data header",
                  static_cast<std::uint32_t>(datagram.size()));
  }
  if (load_u16le(datagram.data() + 6) != datagram.size()) {
    return Status(Code::kMalformed, "mmsu: PacketSize differs from the datagram length",
                  load_u16le(datagram.data() + 6));
  }
  if (decode_data_packet(datagram, out, &error) != Decode::kDone) {
    return error.ok() ? Status(Code::kMalformed, "mmsu: truncated Data packet") : error;
  }
  return Status::Ok();
}

Status encode_data_packet(std::uint32_t location_id, std::uint8_t play_incarnation,
                          std::uint8_t af_flags, ByteView payload, std::vector<std::uint8_t>* out) {
  if (payload.size() > kMaxDataPayload) {
    return Status(Code::kLocalMisuse, "mmst: Data payload above 65527 bytes",
                  static_cast<std::uint32_t>(payload.size()));
  }
  ByteWriter w(out);
  w.u32le(location_id);
  w.u8(play_incarnation);
  w.u8(af_flags);
  w.u16le(static_cast<std::uint16_t>(payload.size() + kDataHeaderSize));
  w.bytes(payload);
  return Status::Ok();
}

std::size_t header_packet_count(std::size_t header_size, std::size_t max_payload) {
  if (max_payload < 1) {
    max_payload = 1;
  }
  if (max_payload > kMaxDataPayload) {
    max_payload = kMaxDataPayload;
  }
  return header_size == 0 ? 1 : (header_size + max_payload - 1) / max_payload;
}

void encode_header_packets(ByteView header, std::uint8_t play_incarnation, std::size_t max_payload,
                           std::vector<std::uint8_t>* out) {
  if (max_payload < 1) {
    max_payload = 1;
  }
  if (max_payload > kMaxDataPayload) {
    max_payload = kMaxDataPayload;
  }
  const std::size_t n = header_packet_count(header.size(), max_payload);
  for (std::size_t i = 0; i < n; ++i) {
    ByteView part = header.subview(i * max_payload, max_payload);
    const std::uint8_t flags = i + 1 == n ? kAfHeaderLast : kAfHeaderMore;
    // Cannot fail: part.size() <= kMaxDataPayload.
    (void)encode_data_packet(static_cast<std::uint32_t>(i), play_incarnation, flags, part, out);
  }
}

void HeaderAssembler::reset(std::size_t expected_size) {
  buf_.clear();
  expected_ = expected_size;
  next_location_ = 0;
  complete_ = false;
}

Result<bool> HeaderAssembler::add(const DataPacket& packet) {
  if (complete_) {
    reset(expected_);
  }
  const bool first = buf_.empty() && next_location_ == 0;
  if (!first && packet.location_id + 1 == next_location_) {
    return false;  // duplicate of the previous fragment
  }
  if (!first && packet.location_id != next_location_) {
    reset(expected_);
    return Status(Code::kPeerViolation, "mmst: header fragment out of order", packet.location_id);
  }
  if (first && packet.location_id != 0) {
    reset(expected_);
    return Status(Code::kPeerViolation, "mmst: first header fragment with LocationId != 0",
                  packet.location_id);
  }
  if (packet.payload.size() > limits::kMaxAsfHeaderBytes - buf_.size()) {
    reset(expected_);
    return Status(Code::kLimitExceeded, "mmst: ASF header above kMaxAsfHeaderBytes");
  }
  if (expected_ != 0 && buf_.size() + packet.payload.size() > expected_) {
    reset(expected_);
    return Status(Code::kPeerViolation, "mmst: ASF header longer than fileHeaderSize");
  }
  buf_.insert(buf_.end(), packet.payload.begin(), packet.payload.end());
  next_location_ = packet.location_id + 1;
  if ((packet.af_flags & kAfHeaderLastBit) == 0) {
    return false;
  }
  if (expected_ != 0 && buf_.size() != expected_) {
    const auto got = static_cast<std::uint32_t>(buf_.size());
    reset(expected_);
    return Status(Code::kPeerViolation, "mmst: ASF header shorter than fileHeaderSize", got);
  }
  complete_ = true;
  return true;
}

// ---- TCP demultiplexing ----

Decode decode_tcp_unit(ByteView in, Unit* out, Status* error) {
  if (in.size() < 8) {
    return Decode::kNeedMore;
  }
  bool command = load_u32le(in.data() + 4) == kSessionId;
  if (command) {
    if (in.size() < 16) {
      return Decode::kNeedMore;
    }
    // A Data packet with incarnation 0xCE, AFFlags 0xFA and size 0xB00B looks like
    // the magic; the seal tells them apart.
    command = load_u32le(in.data() + 12) == kSeal;
  }
  Decode d;
  if (command) {
    out->kind = Unit::Kind::kMessage;
    d = decode_message(in, &out->message, error);
    out->wire_size = out->message.wire_size;
  } else {
    out->kind = Unit::Kind::kData;
    d = decode_data_packet(in, &out->data, error);
    out->wire_size = out->data.packet_size;
  }
  return d;
}

// ---- UDP resend ----

Status decode_resend(ByteView datagram, RequestPacketListResend* out) {
  ByteReader r(datagram);
  std::uint32_t sig = 0;
  std::uint16_t n = 0;
  r.read_u32le(&sig);
  r.read_u32le(&out->dw_client_id);
  r.read_u16le(&out->w_source_id);
  r.read_u16le(&n);
  if (!r.ok()) {
    return Status(Code::kMalformed, "mmsu: resend datagram shorter than 12 bytes",
                  static_cast<std::uint32_t>(datagram.size()));
  }
  if (sig != kResendSignature) {
    return Status(Code::kMalformed, "mmsu: bad RequestPacketListResend signature", sig);
  }
  if (n > limits::kMaxResendPackets) {
    return Status(Code::kLimitExceeded, "mmsu: wNumPackets above kMaxResendPackets", n);
  }
  if (n == 0 || datagram.size() != kResendHeaderSize + 4u * n) {
    return Status(Code::kMalformed, "mmsu: resend datagram length != 12 + 4 * wNumPackets", n);
  }
  out->dw_begin_packet_list.assign(n, 0);
  for (std::uint32_t& v : out->dw_begin_packet_list) {
    r.read_u32le(&v);
  }
  return Status::Ok();
}

Status encode_resend(const RequestPacketListResend& rq, std::vector<std::uint8_t>* out) {
  const std::size_t n = rq.dw_begin_packet_list.size();
  if (n == 0 || n > limits::kMaxResendPackets) {
    return Status(Code::kLocalMisuse, "mmsu: resend list must hold 1..32 packets",
                  static_cast<std::uint32_t>(n));
  }
  ByteWriter w(out);
  w.u32le(kResendSignature);
  w.u32le(rq.dw_client_id);
  w.u16le(rq.w_source_id);
  w.u16le(static_cast<std::uint16_t>(n));
  for (std::uint32_t v : rq.dw_begin_packet_list) {
    w.u32le(v);
  }
  return Status::Ok();
}

std::uint32_t extend_sequence(std::uint32_t last, std::uint8_t af_flags) {
  const auto delta = static_cast<std::int8_t>(
      static_cast<std::uint8_t>(af_flags - static_cast<std::uint8_t>(last & 0xFF)));
  return last + static_cast<std::uint32_t>(static_cast<std::int32_t>(delta));
}

}  // namespace mms::mmst

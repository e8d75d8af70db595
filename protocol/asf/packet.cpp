// ASF data packet parsing, re-padding, padding stripping and stream filtering.
//
// What GStreamer's asfdemux (gst-plugins-ugly 1.22, gst/asfdemux/asfpacket.c,
// gst_asf_demux_parse_packet) accepts, which pad_packet() must produce:
//  - It is given buffers of exactly packet_size bytes and reads the Packet
//    Length, Sequence and Padding Length fields with their length types.
//  - Available payload bytes = buffer size - parsing information - Padding Length.
//  - Only when Padding Length == 0 and an explicit Packet Length is smaller than
//    packet_size does it also subtract the implicit padding (packet_size - Packet
//    Length). With a non-zero Padding Length the Packet Length value is ignored.
//  - A single payload takes every remaining byte as its data, so the trailing
//    zero bytes we append must be covered by Padding Length, or its data would
//    grow by the appended zeros.
//  - Multiple payloads carry explicit lengths; bytes after the last one are ignored.
// So pad_packet() always writes Padding Length = packet_size - used bytes (widening
// the field when it is absent or too narrow) and sets an explicit Packet Length to
// packet_size, which FFmpeg and VLC (which add packet_size - Packet Length to the
// padding) read the same way.
#include "protocol/asf/packet.h"

#include <cstring>

#include "protocol/core/byte_reader.h"
#include "protocol/core/limits.h"

namespace mms::asf {
namespace {

constexpr unsigned kWidths[4] = {0, 1, 2, 4};

unsigned width_code(unsigned width) {
  switch (width) {
    case 1:
      return 1;
    case 2:
      return 2;
    case 4:
      return 3;
    default:
      return 0;
  }
}

// Smallest field width (1, 2 or 4 bytes) that holds `v`.
unsigned width_for(std::uint32_t v) {
  if (v <= 0xFF) {
    return 1;
  }
  if (v <= 0xFFFF) {
    return 2;
  }
  return 4;
}

bool fits(std::uint32_t v, unsigned width) {
  return width == 4 || (width == 2 && v <= 0xFFFF) || (width == 1 && v <= 0xFF);
}

void store_var(std::uint8_t* p, unsigned width, std::uint32_t v) {
  switch (width) {
    case 1:
      p[0] = static_cast<std::uint8_t>(v);
      break;
    case 2:
      store_u16le(p, static_cast<std::uint16_t>(v));
      break;
    case 4:
      store_u32le(p, v);
      break;
    default:
      break;
  }
}

// The fields before the payloads (error correction + payload parsing information).
struct Fields {
  std::size_t length_type_offset = 0;
  std::uint8_t length_type = 0;
  std::uint8_t property_flags = 0;
  std::size_t packet_length_offset = 0;
  unsigned packet_length_width = 0;
  std::uint32_t packet_length = 0;
  std::size_t sequence_offset = 0;
  unsigned sequence_width = 0;
  std::size_t padding_offset = 0;
  unsigned padding_width = 0;
  std::uint32_t padding = 0;
  std::uint32_t send_time = 0;
  std::uint16_t duration = 0;
  std::size_t payloads_begin = 0;  // after Send Time and Duration
  std::size_t data_limit = 0;      // end of payload bytes: effective length - padding
};

// The error correction data and payload parsing information, up to Duration.
Status parse_parsing_info(ByteView packet, Fields* f) {
  ByteReader r(packet);
  std::uint8_t first = 0;
  if (!r.read_u8(&first)) {
    return Status(Code::kMalformed, "ASF packet empty");
  }
  if ((first & 0x80) != 0) {
    // Error correction flags; asfdemux uses the low nibble only with length type 00.
    const unsigned ec_len = ((first & 0x60) == 0) ? (first & 0x0Fu) : 2u;
    if (!r.skip(ec_len)) {
      return Status(Code::kMalformed, "ASF packet error correction data truncated");
    }
    f->length_type_offset = r.offset();
    if (!r.read_u8(&f->length_type)) {
      return Status(Code::kMalformed, "ASF packet parsing information truncated");
    }
  } else {
    f->length_type_offset = 0;
    f->length_type = first;
  }
  if (!r.read_u8(&f->property_flags)) {
    return Status(Code::kMalformed, "ASF packet parsing information truncated");
  }
  f->packet_length_width = kWidths[(f->length_type >> 5) & 3];
  f->sequence_width = kWidths[(f->length_type >> 1) & 3];
  f->padding_width = kWidths[(f->length_type >> 3) & 3];
  std::uint32_t sequence = 0;
  f->packet_length_offset = r.offset();
  if (!r.read_var_le(f->packet_length_width, &f->packet_length)) {
    return Status(Code::kMalformed, "ASF packet length field truncated");
  }
  f->sequence_offset = r.offset();
  if (!r.read_var_le(f->sequence_width, &sequence)) {
    return Status(Code::kMalformed, "ASF packet sequence field truncated");
  }
  f->padding_offset = r.offset();
  if (!r.read_var_le(f->padding_width, &f->padding) || !r.read_u32le(&f->send_time) ||
      !r.read_u16le(&f->duration)) {
    return Status(Code::kMalformed, "ASF packet parsing information truncated");
  }
  f->payloads_begin = r.offset();
  return Status::Ok();
}

Status parse_fields(ByteView packet, Fields* f) {
  MMS_TRY(parse_parsing_info(packet, f));
  std::size_t effective = packet.size();
  // A zero Packet Length is read as "not given", as asfdemux does.
  if (f->packet_length_width != 0 && f->packet_length != 0 && f->packet_length < effective) {
    effective = f->packet_length;
  }
  if (effective < f->payloads_begin || f->padding > effective - f->payloads_begin) {
    return Status(Code::kMalformed, "ASF packet padding exceeds the packet");
  }
  f->data_limit = effective - f->padding;
  return Status::Ok();
}

// Parses one payload header at `pos` (stream number byte). Multiple payloads read
// an explicit length of `len_width` bytes; a single payload (len_width < 0) takes
// everything up to `limit`.
Status parse_payload(ByteView packet, std::size_t pos, std::size_t limit, std::uint8_t prop,
                     int len_width, PayloadInfo* p) {
  ByteReader r(packet.subview(0, limit));
  if (!r.skip(pos)) {
    return Status(Code::kMalformed, "ASF payload header beyond the packet");
  }
  std::uint8_t stream = 0;
  std::uint32_t rep_len = 0;
  p->header_begin = pos;
  p->object_offset_width = kWidths[(prop >> 2) & 3];
  if (!r.read_u8(&stream) || !r.read_var_le(kWidths[(prop >> 4) & 3], &p->object_number)) {
    return Status(Code::kMalformed, "ASF payload header truncated");
  }
  p->object_offset_pos = r.offset();
  if (!r.read_var_le(p->object_offset_width, &p->object_offset) ||
      !r.read_var_le(kWidths[prop & 3], &rep_len)) {
    return Status(Code::kMalformed, "ASF payload header truncated");
  }
  p->replicated_begin = r.offset();
  p->replicated_length = rep_len;
  p->stream = static_cast<std::uint8_t>(stream & 0x7F);
  p->keyframe = (stream & 0x80) != 0;
  ByteView rep;
  if (!r.read_view(rep_len, &rep)) {
    return Status(Code::kMalformed, "ASF replicated data overruns the packet");
  }
  const bool compressed = rep_len == 1;
  if (rep_len >= 8) {
    p->presentation_ms = load_u32le(rep.data() + 4);
  } else if (compressed) {
    p->presentation_ms = p->object_offset;
  }
  std::uint32_t len = 0;
  if (len_width >= 0) {
    if (!r.read_var_le(static_cast<unsigned>(len_width), &len)) {
      return Status(Code::kMalformed, "ASF payload length truncated");
    }
  } else {
    len = static_cast<std::uint32_t>(r.remaining());
  }
  p->data_begin = r.offset();
  if (!r.skip(len)) {
    return Status(Code::kMalformed, "ASF payload data overruns the packet");
  }
  p->data_end = r.offset();
  if (compressed) {
    // Sub-payloads {length BYTE, data} must tile the payload exactly.
    ByteReader sub(packet.subview(p->data_begin, len));
    while (sub.remaining() > 0) {
      std::uint8_t sub_len = 0;
      if (!sub.read_u8(&sub_len) || !sub.skip(sub_len)) {
        return Status(Code::kMalformed, "ASF compressed sub-payload overruns its payload");
      }
    }
  }
  return Status::Ok();
}

// Writes `in` (at most packet_size bytes) padded into `out`; see pad_packet.
Status pad_into(ByteView in, std::uint32_t packet_size, std::uint8_t* out) {
  const std::size_t size = packet_size;
  Fields f;
  if (!parse_fields(in, &f).ok()) {
    std::memcpy(out, in.data(), in.size());
    std::memset(out + in.size(), 0, size - in.size());
    return Status::Ok();
  }
  // Bytes carrying headers and payloads (the old padding is dropped).
  const std::size_t used = f.data_limit;
  unsigned len_w = f.packet_length_width;
  if (len_w != 0 && !fits(packet_size, len_w)) {
    len_w = width_for(packet_size);
  }
  unsigned pad_w = f.padding_width;
  std::size_t grow = (len_w - f.packet_length_width);
  std::uint32_t padding = 0;
  for (;;) {
    const std::size_t total_grow = grow + (pad_w - f.padding_width);
    if (used + total_grow > size) {
      // Cannot widen the fields: zero-append only.
      std::memcpy(out, in.data(), in.size());
      std::memset(out + in.size(), 0, size - in.size());
      return Status::Ok();
    }
    padding = static_cast<std::uint32_t>(size - used - total_grow);
    if (pad_w != 0 && fits(padding, pad_w)) {
      grow = total_grow;
      break;
    }
    if (pad_w == 0 && padding == 0) {
      grow = total_grow;
      break;
    }
    pad_w = pad_w == 0 ? 1u : (pad_w == 1 ? 2u : 4u);
  }
  if (grow == 0) {
    // Hot path: fields keep their widths; copy, patch in place, zero-fill.
    std::memcpy(out, in.data(), used);
    std::memset(out + used, 0, size - used);
    if (len_w != 0) {
      store_var(out + f.packet_length_offset, len_w, packet_size);
    }
    store_var(out + f.padding_offset, pad_w, padding);
    return Status::Ok();
  }
  // Rebuild the parsing information with wider fields.
  std::size_t o = 0;
  std::memcpy(out, in.data(), f.packet_length_offset);
  o = f.packet_length_offset;
  out[f.length_type_offset] = static_cast<std::uint8_t>(
      (f.length_type & ~0x78u) | (width_code(len_w) << 5) | (width_code(pad_w) << 3));
  store_var(out + o, len_w, packet_size);
  o += len_w;
  std::memcpy(out + o, in.data() + f.sequence_offset, f.sequence_width);
  o += f.sequence_width;
  store_var(out + o, pad_w, padding);
  o += pad_w;
  const std::size_t rest_begin = f.padding_offset + f.padding_width;
  std::memcpy(out + o, in.data() + rest_begin, used - rest_begin);
  o += used - rest_begin;
  std::memset(out + o, 0, size - o);
  return Status::Ok();
}

}  // namespace

Result<std::uint32_t> packet_send_time(ByteView packet) {
  Fields f;
  MMS_TRY(parse_parsing_info(packet, &f));
  return f.send_time;
}

Result<PacketInfo> parse_packet(ByteView packet, std::uint32_t packet_size) {
  if (packet.size() > packet_size) {
    return Status(Code::kMalformed, "ASF packet longer than the packet size",
                  static_cast<std::uint32_t>(packet.size()));
  }
  Fields f;
  MMS_TRY(parse_fields(packet, &f));
  PacketInfo info;
  info.send_time_ms = f.send_time;
  info.send_time_offset = f.payloads_begin - 6;  // Send Time (4) and Duration (2) end it
  info.duration_ms = f.duration;
  info.multiple_payloads = (f.length_type & 1) != 0;
  info.packet_length = f.packet_length_width != 0 ? f.packet_length : packet_size;
  info.padding_length = f.padding;
  info.length_type_offset = f.length_type_offset;
  info.packet_length_offset = f.packet_length_offset;
  info.packet_length_width = f.packet_length_width;
  info.padding_offset = f.padding_offset;
  info.padding_width = f.padding_width;
  info.payloads_begin = f.payloads_begin;
  if (!info.multiple_payloads) {
    PayloadInfo p;
    MMS_TRY(parse_payload(packet, f.payloads_begin, f.data_limit, f.property_flags, -1, &p));
    info.any_keyframe = p.keyframe;
    info.payloads.push_back(p);
    info.used_end = p.data_end;
    return info;
  }
  ByteReader r(packet.subview(0, f.data_limit));
  std::uint8_t pflags = 0;
  if (!r.skip(f.payloads_begin) || !r.read_u8(&pflags)) {
    return Status(Code::kMalformed, "ASF payload flags truncated");
  }
  info.payload_flags_offset = f.payloads_begin;
  const unsigned count = pflags & 0x3Fu;
  const int len_width = static_cast<int>(kWidths[(pflags >> 6) & 3]);
  std::size_t pos = f.payloads_begin + 1;
  info.payloads.reserve(count);
  for (unsigned i = 0; i < count; ++i) {
    PayloadInfo p;
    MMS_TRY(parse_payload(packet, pos, f.data_limit, f.property_flags, len_width, &p));
    info.any_keyframe = info.any_keyframe || p.keyframe;
    pos = p.data_end;
    info.payloads.push_back(p);
  }
  info.used_end = pos;
  return info;
}

Status pad_packet(ByteView in, std::uint32_t packet_size, std::uint8_t* out) {
  if (in.size() > packet_size) {
    return Status(Code::kMalformed, "ASF packet longer than the packet size",
                  static_cast<std::uint32_t>(in.size()));
  }
  if (in.size() == packet_size) {
    std::memcpy(out, in.data(), in.size());
    return Status::Ok();
  }
  return pad_into(in, packet_size, out);
}

Status strip_padding(ByteView packet, std::uint32_t packet_size, std::vector<std::uint8_t>* out) {
  if (packet.size() > packet_size) {
    return Status(Code::kMalformed, "ASF packet longer than the packet size",
                  static_cast<std::uint32_t>(packet.size()));
  }
  Fields f;
  MMS_TRY(parse_fields(packet, &f));
  out->assign(packet.begin(), packet.begin() + f.data_limit);
  store_var(out->data() + f.padding_offset, f.padding_width, 0);
  const auto length = static_cast<std::uint32_t>(f.data_limit);
  if (fits(length, f.packet_length_width)) {
    store_var(out->data() + f.packet_length_offset, f.packet_length_width, length);
  }
  return Status::Ok();
}

Status filter_streams(ByteView packet, std::uint32_t packet_size, const std::vector<bool>& keep,
                      std::vector<std::uint8_t>* out, bool* empty) {
  auto info_or = parse_packet(packet, packet_size);
  if (!info_or.ok()) {
    return info_or.status();
  }
  const PacketInfo& info = *info_or;
  auto kept = [&keep](const PayloadInfo& p) { return p.stream < keep.size() && keep[p.stream]; };
  std::size_t n_kept = 0;
  for (const PayloadInfo& p : info.payloads) {
    n_kept += kept(p) ? 1u : 0u;
  }
  *empty = n_kept == 0;
  if (n_kept == 0) {
    out->clear();
    return Status::Ok();
  }
  if (n_kept == info.payloads.size()) {
    out->assign(packet.begin(), packet.end());
    return Status::Ok();
  }
  // Only multiple-payload packets get here. Build the unpadded packet, then re-pad.
  std::vector<std::uint8_t> tmp;
  tmp.reserve(packet_size);
  tmp.assign(packet.begin(), packet.begin() + info.payload_flags_offset);
  tmp.push_back(static_cast<std::uint8_t>((packet[info.payload_flags_offset] & 0xC0u) |
                                          static_cast<unsigned>(n_kept)));
  for (const PayloadInfo& p : info.payloads) {
    if (kept(p)) {
      tmp.insert(tmp.end(), packet.begin() + p.header_begin, packet.begin() + p.data_end);
    }
  }
  store_var(tmp.data() + info.padding_offset, info.padding_width, 0);
  const auto length = static_cast<std::uint32_t>(tmp.size());
  if (fits(length, info.packet_length_width)) {
    store_var(tmp.data() + info.packet_length_offset, info.packet_length_width, length);
  }
  out->resize(packet_size);
  return pad_into(ByteView(tmp), packet_size, out->data());
}

bool padding_strippable(ByteView packet, std::uint32_t packet_size) {
  Result<PacketInfo> p = parse_packet(packet, packet_size);
  return p.ok() && (p->packet_length_width != 0 || p->multiple_payloads);
}

}  // namespace mms::asf

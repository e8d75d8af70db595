// Splicing the next playlist entry into the stream in force; see splice.h.
#include "protocol/asf/splice.h"

#include <cstring>

#include "protocol/asf/guids.h"
#include "protocol/asf/packet.h"
#include "protocol/core/byte_reader.h"

namespace mms::asf {
namespace {

constexpr std::size_t kObjectHeaderSize = 24;       // GUID + QWORD size
constexpr std::size_t kHeaderObjectFixedSize = 30;  // + count, reserved1, reserved2
// Stream Properties Object: GUID, size, Stream Type, Error Correction Type,
// Time Offset, Type-Specific Data Length, Error Correction Data Length, Flags,
// Reserved, then the two data.
constexpr std::size_t kStreamFlagsOffset = 72;
constexpr std::size_t kStreamPropertiesFixedSize = 78;
// File Properties Object fields, from the object start.
constexpr std::size_t kPlayDurationOffset = 64;
constexpr std::size_t kSendDurationOffset = 72;
constexpr std::size_t kFilePropertiesFixedSize = 104;
// Data Object prefix: Total Data Packets after GUID, size and File ID.
constexpr std::size_t kDataPacketsOffset = 40;

struct Object {
  const std::uint8_t* id = nullptr;  // its GUID
  std::size_t begin = 0;             // offset of the object in the header
  std::size_t size = 0;
};

// The top-level objects of a Header Object (bounded by its size and the input).
Result<std::vector<Object>> top_objects(ByteView header, std::size_t header_object_size) {
  std::vector<Object> out;
  std::size_t pos = kHeaderObjectFixedSize;
  while (pos + kObjectHeaderSize <= header_object_size) {
    Object o;
    o.id = header.data() + pos;
    const std::uint64_t size = load_u64le(header.data() + pos + 16);
    if (size < kObjectHeaderSize || size > header_object_size - pos) {
      return Status(Code::kMalformed, "ASF header object size out of bounds");
    }
    o.begin = pos;
    o.size = static_cast<std::size_t>(size);
    out.push_back(o);
    pos += o.size;
  }
  return out;
}

struct StreamObject {
  std::uint8_t number = 0;
  ByteView bytes;  // the whole object
};

Result<std::vector<StreamObject>> stream_objects(ByteView header, const HeaderInfo& info) {
  Result<std::vector<Object>> objects = top_objects(header, info.header_object_size);
  MMS_TRY(objects.status());
  std::vector<StreamObject> out;
  for (const Object& o : *objects) {
    if (!guid_equals(o.id, kStreamProperties)) {
      continue;
    }
    if (o.size < kStreamPropertiesFixedSize) {
      return Status(Code::kMalformed, "ASF Stream Properties Object too short");
    }
    StreamObject s;
    s.bytes = header.subview(o.begin, o.size);
    s.number = static_cast<std::uint8_t>(s.bytes.data()[kStreamFlagsOffset] & 0x7F);
    out.push_back(s);
  }
  return out;
}

// Equal but for the stream number and the reserved field.
bool same_stream(ByteView a, ByteView b) {
  if (a.size() != b.size()) {
    return false;
  }
  const std::uint8_t* x = a.data();
  const std::uint8_t* y = b.data();
  return std::memcmp(x, y, kStreamFlagsOffset) == 0 &&
         (x[kStreamFlagsOffset] & 0x80) == (y[kStreamFlagsOffset] & 0x80) &&
         x[kStreamFlagsOffset + 1] == y[kStreamFlagsOffset + 1] &&
         std::memcmp(x + kStreamPropertiesFixedSize, y + kStreamPropertiesFixedSize,
                     a.size() - kStreamPropertiesFixedSize) == 0;
}

Status add_to_field(std::uint8_t* p, unsigned width, std::uint32_t shift) {
  std::uint64_t v = 0;
  switch (width) {
    case 1:
      v = p[0];
      break;
    case 2:
      v = load_u16le(p);
      break;
    case 4:
      v = load_u32le(p);
      break;
    default:
      return Status(Code::kMalformed, "ASF time field without a width");
  }
  v += shift;
  const std::uint64_t max = width == 4 ? 0xFFFFFFFFu : (width == 2 ? 0xFFFFu : 0xFFu);
  if (v > max) {
    return Status(Code::kLimitExceeded, "ASF time past its field after the splice");
  }
  switch (width) {
    case 1:
      p[0] = static_cast<std::uint8_t>(v);
      break;
    case 2:
      store_u16le(p, static_cast<std::uint16_t>(v));
      break;
    default:
      store_u32le(p, static_cast<std::uint32_t>(v));
      break;
  }
  return Status::Ok();
}

}  // namespace

Result<StreamMap> continuing_streams(ByteView into, ByteView next) {
  Result<HeaderInfo> a = parse_header(into);
  MMS_TRY(a.status());
  Result<HeaderInfo> b = parse_header(next);
  MMS_TRY(b.status());
  if (a->broadcast() || b->broadcast()) {
    return Status(Code::kUnsupported, "a broadcast is not spliced");
  }
  if (a->packet_size != b->packet_size) {
    return Status(Code::kUnsupported, "the next entry has another packet size");
  }
  Result<std::vector<StreamObject>> sa = stream_objects(into, *a);
  MMS_TRY(sa.status());
  Result<std::vector<StreamObject>> sb = stream_objects(next, *b);
  MMS_TRY(sb.status());
  for (const StreamInfo& s : b->streams) {
    if (s.from_extension) {
      return Status(Code::kUnsupported, "a stream declared in Extended Stream Properties");
    }
  }
  if (sb->empty()) {
    return Status(Code::kUnsupported, "the next entry declares no stream");
  }
  StreamMap map;
  std::array<bool, 128> taken{};
  for (const StreamObject& n : *sb) {
    if (n.number == 0 || map.stream[n.number] != 0) {
      return Status(Code::kMalformed, "ASF stream number 0 or declared twice");
    }
    for (const StreamObject& o : *sa) {
      if (o.number != 0 && !taken[o.number] && same_stream(o.bytes, n.bytes)) {
        taken[o.number] = true;
        map.stream[n.number] = o.number;
        break;
      }
    }
    if (map.stream[n.number] == 0) {
      return Status(Code::kUnsupported, "a stream of the next entry has no equal one");
    }
  }
  return map;
}

Status continue_packet(std::uint8_t* packet, std::size_t size, std::uint32_t packet_size,
                       const StreamMap& map, std::uint32_t shift_ms, std::uint32_t not_before_ms,
                       std::uint32_t* send_ms) {
  Result<PacketInfo> info = parse_packet(ByteView(packet, size), packet_size);
  MMS_TRY(info.status());
  std::uint8_t* send = packet + info->send_time_offset;
  MMS_TRY(add_to_field(send, 4, shift_ms));
  if (load_u32le(send) < not_before_ms) {
    store_u32le(send, not_before_ms);
  }
  if (send_ms != nullptr) {
    *send_ms = load_u32le(send);
  }
  for (const PayloadInfo& p : info->payloads) {
    const std::uint8_t to = map.stream[p.stream];
    if (to == 0) {
      return Status(Code::kMalformed, "ASF payload of a stream the header does not declare",
                    p.stream);
    }
    packet[p.header_begin] = static_cast<std::uint8_t>((packet[p.header_begin] & 0x80) | to);
    if (p.replicated_length >= 8) {
      MMS_TRY(add_to_field(packet + p.replicated_begin + 4, 4, shift_ms));
    } else if (p.replicated_length == 1) {
      MMS_TRY(add_to_field(packet + p.object_offset_pos, p.object_offset_width, shift_ms));
    }
  }
  return Status::Ok();
}

Status mark_open_ended(std::vector<std::uint8_t>* header, std::uint64_t packets) {
  Result<HeaderInfo> info = parse_header(ByteView(*header));
  MMS_TRY(info.status());
  if (!info->has_data_prefix) {
    return Status(Code::kMalformed, "ASF header without the Data Object prefix");
  }
  Result<std::vector<Object>> objects = top_objects(ByteView(*header), info->header_object_size);
  MMS_TRY(objects.status());
  bool found = false;
  for (const Object& o : *objects) {
    if (guid_equals(o.id, kFileProperties) && o.size >= kFilePropertiesFixedSize) {
      store_u64le(header->data() + o.begin + kPlayDurationOffset, 0);
      store_u64le(header->data() + o.begin + kSendDurationOffset, 0);
      found = true;
      break;
    }
  }
  if (!found) {
    return Status(Code::kMalformed, "ASF header without File Properties");
  }
  store_u64le(header->data() + info->header_object_size + kDataPacketsOffset, packets);
  return Status::Ok();
}

}  // namespace mms::asf

#include "protocol/mmsh/framing.h"

#include "protocol/core/byte_reader.h"
#include "protocol/core/byte_writer.h"
#include "protocol/core/limits.h"

namespace mms::mmsh {
namespace {

constexpr std::uint8_t kSyncByte = 0x24;  // '$'
constexpr std::uint8_t kBurstBit = 0x80;
constexpr std::size_t kFramingHeaderSize = 4;
constexpr std::size_t kReasonSize = 4;
constexpr std::size_t kDataHeaderSize = 8;
constexpr std::uint8_t kFragMask = kFragFirst | kFragLast;

// Which member of the $P set a frame is decoded as.
enum class PairSlot : std::uint8_t { kInfer, kFirst, kSecond, kThird, kTooMany };

Decode fail(Status* error, const char* what, std::uint32_t detail) {
  *error = Status(Code::kMalformed, what, detail);
  return Decode::kError;
}

Decode decode_impl(ByteView in, Frame* frame, Status* error, PairSlot slot) {
  if (in.empty()) {
    return Decode::kNeedMore;
  }
  const std::uint8_t b0 = in[0];
  if ((b0 & static_cast<std::uint8_t>(~kBurstBit)) != kSyncByte) {
    return fail(error, "mmsh: bad frame sync byte", b0);
  }
  if (in.size() < kFramingHeaderSize) {
    return Decode::kNeedMore;
  }
  const std::uint8_t type = in[1];
  const std::uint16_t length = load_u16le(in.data() + 2);
  Frame f;
  f.type = type;
  f.burst = (b0 & kBurstBit) != 0;
  f.length = length;
  std::size_t wire = kFramingHeaderSize + length;
  std::size_t payload_offset = kFramingHeaderSize;

  switch (type) {
    case kFrameHeader:
    case kFrameData:
    case kFrameMeta: {
      if (length < kDataHeaderSize) {
        return fail(error, "mmsh: data frame shorter than its packet header", length);
      }
      if (in.size() < kFramingHeaderSize + kDataHeaderSize) {
        return Decode::kNeedMore;
      }
      const std::uint16_t packet_size = load_u16le(in.data() + 10);
      if (packet_size != length) {
        return fail(error, "mmsh: PacketSize differs from PacketLength", packet_size);
      }
      f.has_data_header = true;
      f.location_id = load_u32le(in.data() + 4);
      f.incarnation = in[8];
      f.af_flags = in[9];
      payload_offset = kFramingHeaderSize + kDataHeaderSize;
      break;
    }
    case kFrameEnd:
    case kFrameChange: {
      if (length < kReasonSize) {
        return fail(error, "mmsh: reason frame shorter than 4 bytes", length);
      }
      if (in.size() < kFramingHeaderSize + kReasonSize) {
        return Decode::kNeedMore;
      }
      f.has_reason = true;
      f.reason = load_u32le(in.data() + 4);
      payload_offset = kFramingHeaderSize + kReasonSize;
      break;
    }
    case kFramePacketPair: {
      if (slot == PairSlot::kTooMany) {
        return fail(error, "mmsh: more than three $P frames", length);
      }
      if (slot == PairSlot::kInfer) {
        slot = length == kPacketPairLastLength ? PairSlot::kThird : PairSlot::kFirst;
      }
      const std::uint16_t expected =
          slot == PairSlot::kThird ? kPacketPairLastLength : kPacketPairLength;
      if (length != expected) {
        return fail(error, "mmsh: $P with unexpected PacketLength", length);
      }
      if (in.size() < kFramingHeaderSize + kReasonSize) {
        return Decode::kNeedMore;
      }
      f.has_reason = true;
      f.reason = load_u32le(in.data() + 4);
      if (f.reason > kPacketPairMaxReason) {
        return fail(error, "mmsh: $P Reason above 504", f.reason);
      }
      payload_offset = kFramingHeaderSize + kReasonSize;
      // PacketLength counts neither the Reason nor R's adjustment (MS-WMSP 2.2.3.7).
      std::size_t after_reason = length;
      if (slot == PairSlot::kFirst) {
        after_reason = std::size_t{length} - std::size_t{f.reason};
      } else if (slot == PairSlot::kThird) {
        after_reason = std::size_t{length} + std::size_t{f.reason};
      }
      wire = payload_offset + after_reason;
      break;
    }
    case kFrameTest:
      if (length != 0) {
        return fail(error, "mmsh: $T with nonzero PacketLength", length);
      }
      break;
    default:
      break;  // unknown letter: generic frame, payload = the PacketLength bytes
  }

  if (in.size() < wire) {
    return Decode::kNeedMore;
  }
  f.payload = ByteView(in.data() + payload_offset, wire - payload_offset);
  f.wire_size = wire;
  *frame = f;
  return Decode::kDone;
}

}  // namespace

Decode decode_frame(ByteView in, Frame* frame, Status* error) {
  return decode_impl(in, frame, error, PairSlot::kInfer);
}

Decode decode_frame(ByteView in, Frame* frame, Status* error, FrameContext* ctx) {
  PairSlot slot = PairSlot::kTooMany;
  switch (ctx->packet_pairs_seen) {
    case 0:
      slot = PairSlot::kFirst;
      break;
    case 1:
      slot = PairSlot::kSecond;
      break;
    case 2:
      slot = PairSlot::kThird;
      break;
    default:
      break;
  }
  Decode d = decode_impl(in, frame, error, slot);
  if (d == Decode::kDone && frame->type == kFramePacketPair) {
    ++ctx->packet_pairs_seen;
  }
  return d;
}

void encode_data_frame(std::uint8_t type, std::uint32_t location_id, std::uint8_t incarnation,
                       std::uint8_t af_flags, ByteView payload, std::vector<std::uint8_t>* out,
                       bool burst) {
  if (payload.size() > kMaxFramePayload) {
    payload = payload.subview(0, kMaxFramePayload);
  }
  const auto length = static_cast<std::uint16_t>(kDataHeaderSize + payload.size());
  out->reserve(out->size() + kFramingHeaderSize + length);
  ByteWriter w(out);
  w.u8(burst ? static_cast<std::uint8_t>(kSyncByte | kBurstBit) : kSyncByte);
  w.u8(type);
  w.u16le(length);
  w.u32le(location_id);
  w.u8(incarnation);
  w.u8(af_flags);
  w.u16le(length);
  w.bytes(payload);
}

void encode_header_frames(std::uint8_t type, ByteView header, std::uint8_t incarnation,
                          std::vector<std::uint8_t>* out, std::size_t max_fragment) {
  if (max_fragment == 0) {
    max_fragment = 1;
  }
  if (max_fragment > kMaxFramePayload) {
    max_fragment = kMaxFramePayload;
  }
  std::size_t offset = 0;
  std::uint32_t location = 0;
  do {
    const std::size_t n =
        header.size() - offset < max_fragment ? header.size() - offset : max_fragment;
    std::uint8_t flags = 0;
    if (offset == 0) {
      flags = static_cast<std::uint8_t>(flags | kFragFirst);
    }
    if (offset + n == header.size()) {
      flags = static_cast<std::uint8_t>(flags | kFragLast);
    }
    encode_data_frame(type, location, incarnation, flags, header.subview(offset, n), out);
    offset += n;
    ++location;
  } while (offset < header.size());
}

void encode_reason_frame(std::uint8_t type, std::uint32_t reason, std::vector<std::uint8_t>* out) {
  ByteWriter w(out);
  w.u8(kSyncByte);
  w.u8(type);
  w.u16le(static_cast<std::uint16_t>(kReasonSize));
  w.u32le(reason);
}

void encode_packet_pair_frames(std::size_t head_bytes, std::vector<std::uint8_t>* out,
                               std::uint8_t fill) {
  const std::uint32_t reason = head_bytes < kPacketPairMaxReason
                                   ? static_cast<std::uint32_t>(head_bytes)
                                   : kPacketPairMaxReason;
  const std::size_t after_reason[3] = {std::size_t{kPacketPairLength} - reason, kPacketPairLength,
                                       std::size_t{kPacketPairLastLength} + reason};
  const std::uint16_t lengths[3] = {kPacketPairLength, kPacketPairLength, kPacketPairLastLength};
  ByteWriter w(out);
  for (int i = 0; i < 3; ++i) {
    w.u8(kSyncByte);
    w.u8(kFramePacketPair);
    w.u16le(lengths[i]);
    w.u32le(reason);
    out->insert(out->end(), after_reason[i], fill);
  }
}

void encode_test_frame(std::vector<std::uint8_t>* out) {
  ByteWriter w(out);
  w.u8(kSyncByte);
  w.u8(kFrameTest);
  w.u16le(0);
}

Result<bool> HeaderAssembler::add(const Frame& frame) {
  if (!frame.has_data_header) {
    reset();
    return Status(Code::kLocalMisuse, "mmsh: header fragment without a data packet header",
                  frame.type);
  }
  if (complete_) {
    reset();
  }
  const std::uint8_t flags = frame.af_flags & kFragMask;
  const bool first = (flags & kFragFirst) != 0;
  const bool last = (flags & kFragLast) != 0;
  if (first) {
    if (in_progress_) {
      reset();
      return Status(Code::kMalformed, "mmsh: header fragment restarts an unfinished header",
                    frame.location_id);
    }
    in_progress_ = true;
  } else {
    if (!in_progress_) {
      reset();
      return Status(Code::kMalformed, "mmsh: header fragment without a first fragment",
                    frame.location_id);
    }
    if (frame.location_id != next_location_) {
      reset();
      return Status(Code::kMalformed, "mmsh: header fragment out of order", frame.location_id);
    }
  }
  if (frame.payload.size() > limits::kMaxAsfHeaderBytes - buf_.size()) {
    reset();
    return Status(Code::kLimitExceeded, "mmsh: ASF header above kMaxAsfHeaderBytes");
  }
  buf_.insert(buf_.end(), frame.payload.begin(), frame.payload.end());
  next_location_ = frame.location_id + 1;
  if (last) {
    in_progress_ = false;
    complete_ = true;
    return true;
  }
  return false;
}

void HeaderAssembler::reset() {
  buf_.clear();
  in_progress_ = false;
  complete_ = false;
  next_location_ = 0;
}

}  // namespace mms::mmsh

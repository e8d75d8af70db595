// MMSH (MS-WMSP 2.2.3) framing: "$X" frames in HTTP response bodies.
//
//   byte 0   B bit (0x80) | 0x24        byte 1  PacketID ('H','D','E','C','M','P','T', ...)
//   bytes 2-3 PacketLength (u16 LE) = bytes following this field
//   $C $E $P: u32 Reason follows.   $H $D $M: 8-byte MMS data packet header follows:
//   LocationId u32, Incarnation u8, AFFlags u8, PacketSize u16 (== PacketLength), payload.
//
// decode_frame() is stateless: it decodes one frame from the front of a buffer
// and reports NeedMore until the whole frame is present, so it is restartable
// at any byte by construction. Views alias the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "protocol/core/bytes.h"
#include "protocol/core/status.h"

namespace mms::mmsh {

enum class Decode : std::uint8_t { kDone, kNeedMore, kError };

constexpr std::uint8_t kFrameHeader = 'H';
constexpr std::uint8_t kFrameData = 'D';
constexpr std::uint8_t kFrameEnd = 'E';
constexpr std::uint8_t kFrameChange = 'C';
constexpr std::uint8_t kFrameMeta = 'M';
constexpr std::uint8_t kFramePacketPair = 'P';
constexpr std::uint8_t kFrameTest = 'T';

// AFFlags of $H/$M fragments.
constexpr std::uint8_t kFragFirst = 0x04;
constexpr std::uint8_t kFragLast = 0x08;

// Largest payload of one $H/$D/$M frame: PacketLength (u16) minus the 8-byte
// MMS data packet header.
constexpr std::size_t kMaxFramePayload = 65527;
// $P (MS-WMSP 2.2.3.7): fixed PacketLength of frames #1/#2 and #3, and the
// largest Reason (the number of response-head bytes before the first $P).
constexpr std::uint16_t kPacketPairLength = 504;
constexpr std::uint16_t kPacketPairLastLength = 1048;
constexpr std::uint32_t kPacketPairMaxReason = 504;

struct Frame {
  std::uint8_t type = 0;     // PacketID letter
  bool burst = false;        // B bit
  std::uint16_t length = 0;  // PacketLength
  bool has_reason = false;   // $C $E $P
  std::uint32_t reason = 0;
  bool has_data_header = false;  // $H $D $M
  std::uint32_t location_id = 0;
  std::uint8_t incarnation = 0;
  std::uint8_t af_flags = 0;
  ByteView payload;           // data after the Reason / MMS data packet header; aliases input
  std::size_t wire_size = 0;  // bytes of the whole frame on the wire
};

// Decodes one frame from the front of `in`.
//  kDone: *frame filled, frame->wire_size bytes consumed.
//  kNeedMore: `in` holds a prefix of a valid frame; offer it again with more bytes.
//  kError: *error says why (kMalformed: bad sync byte, PacketSize != PacketLength,
//          length too short for the type; $P with Reason > 504).
// Unknown letters are decoded generically (payload = bytes after PacketLength)
// so the caller can skip them. $E/$C with PacketLength > 4 (VLC sends 8) are
// accepted; the surplus is in payload.
//
// $P: PacketLength does not give the wire size (MS-WMSP 2.2.3.7). With Reason R,
// #1 (PacketLength 504) carries 504 - R bytes after the Reason, #2 (504) 504 bytes,
// #3 (1048) 1048 + R bytes. This overload cannot tell #1 from #2, so it decodes a
// 504 frame as #1 and a 1048 frame as #3; a caller that may receive $P (one that
// asked for packet-pair-experiment) uses the FrameContext overload below.
// Cost: constant time, no allocation.
Decode decode_frame(ByteView in, Frame* frame, Status* error);

// Decode state forced by the wire format: the size of a $P frame depends on its
// position in the set of three. One context per response body.
struct FrameContext {
  std::uint8_t packet_pairs_seen = 0;  // $P frames decoded so far (0..3)
};
// As above, but a $P is decoded by its position: #1 and #2 need PacketLength 504,
// #3 needs 1048, and a fourth $P is kMalformed. *ctx advances only on kDone.
Decode decode_frame(ByteView in, Frame* frame, Status* error, FrameContext* ctx);

// Encoders (server role and tests). They append to *out.
// A payload longer than kMaxFramePayload is a caller bug; it is truncated to that
// size so the frame stays well-formed (big objects go through encode_header_frames).
void encode_data_frame(std::uint8_t type, std::uint32_t location_id, std::uint8_t incarnation,
                       std::uint8_t af_flags, ByteView payload, std::vector<std::uint8_t>* out,
                       bool burst = false);
// $H (or $M) split into fragments of at most `max_fragment` payload bytes
// (default 65527, the protocol maximum) with LocationId 0,1,2.. and fragment flags.
// max_fragment is clamped to 1..kMaxFramePayload. An empty header gives one
// frame flagged 0x0C with no payload.
void encode_header_frames(std::uint8_t type, ByteView header, std::uint8_t incarnation,
                          std::vector<std::uint8_t>* out, std::size_t max_fragment = 65527);
// $E or $C: PacketLength 4 and the Reason.
void encode_reason_frame(std::uint8_t type, std::uint32_t reason, std::vector<std::uint8_t>* out);
// The set of three $P frames for a response head of `head_bytes` bytes
// (Reason = min(504, head_bytes)); the filler bytes are `fill`.
void encode_packet_pair_frames(std::size_t head_bytes, std::vector<std::uint8_t>* out,
                               std::uint8_t fill = 0);
// $T: 24 54 00 00.
void encode_test_frame(std::vector<std::uint8_t>* out);

// Reassembles $H (or $M) fragments. Bounded by limits::kMaxAsfHeaderBytes.
class HeaderAssembler {
 public:
  // Feeds one $H frame. Returns true when a complete header is available in
  // header() (valid until the next add() or reset()). Errors: kMalformed for a
  // fragment out of order, kLimitExceeded above the limit.
  //
  // Order rules: a first fragment (0x04, or 0x0C for an only one) starts an
  // object and its LocationId is the base (0 per the spec; VLC's server sends a
  // running counter, so any base is accepted); each further fragment must carry
  // base+1, base+2, ... and the one flagged 0x08 completes it. A middle or last
  // fragment without a first, or a first inside an object, is kMalformed. After
  // an error or a completed object the next add() starts afresh. A frame without
  // an MMS data packet header is kLocalMisuse.
  Result<bool> add(const Frame& frame);
  const std::vector<std::uint8_t>& header() const { return buf_; }
  void reset();

 private:
  std::vector<std::uint8_t> buf_;
  bool in_progress_ = false;
  bool complete_ = false;
  std::uint32_t next_location_ = 0;
};

}  // namespace mms::mmsh

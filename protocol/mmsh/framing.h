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

struct Frame {
  std::uint8_t type = 0;          // PacketID letter
  bool burst = false;             // B bit
  std::uint16_t length = 0;       // PacketLength
  bool has_reason = false;        // $C $E $P
  std::uint32_t reason = 0;
  bool has_data_header = false;   // $H $D $M
  std::uint32_t location_id = 0;
  std::uint8_t incarnation = 0;
  std::uint8_t af_flags = 0;
  ByteView payload;               // data after the Reason / MMS data packet header; aliases input
  std::size_t wire_size = 0;      // bytes of the whole frame on the wire
};

// Decodes one frame from the front of `in`.
//  kDone: *frame filled, frame->wire_size bytes consumed.
//  kNeedMore: `in` holds a prefix of a valid frame; offer it again with more bytes.
//  kError: *error says why (kMalformed: bad sync byte, PacketSize != PacketLength,
//          length too short for the type; $P with Reason > 504).
// Unknown letters are decoded generically (payload = bytes after PacketLength)
// so the caller can skip them. $E/$C with PacketLength > 4 (VLC sends 8) are
// accepted; the surplus is in payload.
Decode decode_frame(ByteView in, Frame* frame, Status* error);

// Encoders (server role and tests). They append to *out.
void encode_data_frame(std::uint8_t type, std::uint32_t location_id, std::uint8_t incarnation,
                       std::uint8_t af_flags, ByteView payload, std::vector<std::uint8_t>* out,
                       bool burst = false);
// $H (or $M) split into fragments of at most `max_fragment` payload bytes
// (default 65527, the protocol maximum) with LocationId 0,1,2.. and fragment flags.
void encode_header_frames(std::uint8_t type, ByteView header, std::uint8_t incarnation,
                          std::vector<std::uint8_t>* out, std::size_t max_fragment = 65527);
void encode_reason_frame(std::uint8_t type, std::uint32_t reason, std::vector<std::uint8_t>* out);

// Reassembles $H (or $M) fragments. Bounded by limits::kMaxAsfHeaderBytes.
class HeaderAssembler {
 public:
  // Feeds one $H frame. Returns true when a complete header is available in
  // header() (valid until the next add() or reset()). Errors: kMalformed for a
  // fragment out of order, kLimitExceeded above the limit.
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

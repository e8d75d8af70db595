// ASF data packet parsing and rewriting (padding, stream filtering).
//
// parse_packet() reads the error-correction block, the payload parsing
// information and every payload header of one data packet. It is a pure
// function over a complete packet; views alias the input.
#pragma once

#include <cstdint>
#include <vector>

#include "protocol/core/bytes.h"
#include "protocol/core/status.h"

namespace mms::asf {

struct PayloadInfo {
  std::uint8_t stream = 0;  // 1..127
  bool keyframe = false;    // bit 7 of the stream number byte
  std::uint32_t object_number = 0;
  std::uint32_t object_offset = 0;  // offset into media object (or presentation time if compressed)
  std::uint32_t presentation_ms =
      0;  // from replicated data when >= 8 bytes, else object_offset when compressed
  std::size_t header_begin = 0;         // offset in the packet of this payload's stream number byte
  std::size_t object_offset_pos = 0;    // offset of the Offset Into Media Object field
  unsigned object_offset_width = 0;     // its width in bytes (0: absent)
  std::size_t replicated_begin = 0;     // offset of the replicated data
  std::uint32_t replicated_length = 0;  // 1: a compressed payload
  std::size_t data_begin = 0;           // offset of the payload data
  std::size_t data_end = 0;             // one past the payload data
};

struct PacketInfo {
  std::uint32_t send_time_ms = 0;
  std::size_t send_time_offset = 0;  // offset of the Send Time field
  std::uint16_t duration_ms = 0;
  bool multiple_payloads = false;
  bool any_keyframe = false;           // some payload has the key-frame bit
  std::uint32_t packet_length = 0;     // explicit Packet Length field, else packet_size
  std::uint32_t padding_length = 0;    // Padding Length field value
  std::size_t length_type_offset = 0;  // offset of the Length Type Flags byte
  std::size_t packet_length_offset = 0;
  unsigned packet_length_width = 0;  // 0 = absent
  std::size_t padding_offset = 0;
  unsigned padding_width = 0;  // 0 = absent
  std::size_t payloads_begin =
      0;  // first byte after the parsing information (payload flags byte if multiple)
  std::size_t payload_flags_offset = 0;  // multiple payloads: the Payload Flags byte
  std::size_t used_end = 0;              // one past the last payload byte (start of padding)
  std::vector<PayloadInfo> payloads;
};

// Parses one data packet. `packet` may be shorter than `packet_size` (servers
// strip padding) but not longer. Errors: kMalformed with the reason.
Result<PacketInfo> parse_packet(ByteView packet, std::uint32_t packet_size);

// The Send Time of a data packet (milliseconds), read from its parsing
// information only. Errors: kMalformed.
Result<std::uint32_t> packet_send_time(ByteView packet);

// Client side: writes `in` re-padded to exactly `packet_size` bytes into `out`
// (which must have room for packet_size bytes), fixing the Padding Length /
// Packet Length fields so a demuxer sees a valid fixed-size packet. `in` must
// not be longer than packet_size (kMalformed otherwise). Full-size input is
// copied unchanged. An input whose fields cannot be fixed is zero-appended only.
Status pad_packet(ByteView in, std::uint32_t packet_size, std::uint8_t* out);

// Whether stripping the padding of this packet is safe for every client:
// true when it has an explicit Packet Length or multiple payloads (each with a
// length). A single payload without Packet Length would make clients that only
// zero-append (FFmpeg, VLC) read the zeros as media data.
bool padding_strippable(ByteView packet, std::uint32_t packet_size);

// Server side: writes the packet without its padding into `out` (replacing
// its contents), with Padding Length set to 0 (field width kept) and an
// explicit Packet Length, if present, set to the new length.
Status strip_padding(ByteView packet, std::uint32_t packet_size, std::vector<std::uint8_t>* out);

// Server side: writes a packet holding only the payloads whose stream is in
// `keep` (keep[n] true for stream n, size 128) into `out`, padded back to
// packet_size with correct fields. *empty = true when no payload remains (the
// packet should not be sent). When every payload is kept, `out` equals `packet`.
Status filter_streams(ByteView packet, std::uint32_t packet_size, const std::vector<bool>& keep,
                      std::vector<std::uint8_t>* out, bool* empty);

}  // namespace mms::asf

// Continuing one ASF stream with the next entry of a server-side playlist.
//
// A client may splice the next entry into the stream it is already giving
// (no second header, docs/element.md "Server-side playlists") when that
// entry's streams are the same streams as far as a decoder can tell: for
// every stream of the next entry a distinct stream of the stream in force
// whose Stream Properties Object is equal but for the stream number (same
// type, codec data, error correction), and the same packet size. The next
// entry's packets are then rewritten onto the stream in force: their stream
// numbers mapped, their send and presentation times moved on by the time at
// which the entry starts.
//
// Pure functions over complete headers and packets; bounded by their inputs.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "protocol/asf/header_parser.h"
#include "protocol/core/bytes.h"
#include "protocol/core/status.h"

namespace mms::asf {

// stream[n]: the stream number of the stream in force that stream n of the
// next entry continues (1..127), 0 for none.
struct StreamMap {
  std::array<std::uint8_t, 128> stream{};
};

// The map from `next`'s streams to `into`'s. Errors: kUnsupported with the
// reason when the next entry cannot continue the stream (a broadcast, another
// packet size, a stream without an equal one, streams declared only inside
// Extended Stream Properties), kMalformed for a header that does not parse.
Result<StreamMap> continuing_streams(ByteView into, ByteView next);

// Rewrites one packet of the next entry in place (`size` bytes, at most
// `packet_size`): stream numbers through `map` (the key-frame bit kept), Send
// Time and every payload's presentation time (replicated data of 8 bytes or
// more; the Offset Into Media Object field of a compressed payload) plus
// `shift_ms`; a Send Time below `not_before_ms` becomes that (send times never
// go back, even where the entries' prerolls differ); `send_ms`, when given,
// gets the Send Time written. Errors: kMalformed (the
// packet does not parse, a payload of a stream the map does not know),
// kLimitExceeded (a shifted time does not fit its field); the packet may then
// be partly rewritten.
Status continue_packet(std::uint8_t* packet, std::size_t size, std::uint32_t packet_size,
                       const StreamMap& map, std::uint32_t shift_ms,
                       std::uint32_t not_before_ms = 0, std::uint32_t* send_ms = nullptr);

// Makes a header announce a stream of open length, so that a demuxer reads
// spliced entries past it: File Properties' Play Duration and Send Duration
// 0 (unknown), the Data Object's Total Data Packets `packets`. Needs the
// 50-byte Data Object prefix. Errors: kMalformed.
Status mark_open_ended(std::vector<std::uint8_t>* header, std::uint64_t packets);

}  // namespace mms::asf

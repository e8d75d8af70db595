// ASF objects built from their fields, for the unit tests and the fuzzers'
// synthetic content: the Header Object and its children (File Properties,
// Stream Properties, Header Extension), WAVEFORMATEX, the Data Object prefix,
// and single-payload data packets. Layouts: docs/protocols/asf-streaming.md.
//
// No gtest, no I/O: usable from libFuzzer targets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "protocol/asf/guids.h"
#include "protocol/core/byte_writer.h"
#include "protocol/core/bytes.h"

namespace mms::test::asf_builder {

using Bytes = std::vector<std::uint8_t>;

// GUID, 64-bit size (24 + body), body.
inline Bytes object(const asf::Guid& g, const Bytes& body) {
  Bytes out;
  ByteWriter w(&out);
  w.bytes(ByteView(g.data(), g.size()));
  w.u64le(24 + body.size());
  w.bytes(body);
  return out;
}

struct FileProperties {
  std::uint8_t file_id_first = 1;  // the file id is bytes first, first + 1, ...; 0: all zero
  std::uint64_t file_size = 0;
  std::uint64_t packets = 10;
  std::uint64_t play_duration_100ns = 5'0000'000 + 30000;  // 5 s + 3 ms preroll
  std::uint64_t send_duration_100ns = 5'0000'000;
  std::uint64_t preroll_ms = 3;
  std::uint32_t flags = 2;  // seekable
  std::uint32_t min_packet_size = 1000;
  std::uint32_t max_packet_size = 1000;
  std::uint32_t max_bitrate = 128000;
};

inline Bytes file_properties(const FileProperties& p) {
  Bytes body;
  ByteWriter w(&body);
  for (int i = 0; i < 16; ++i) {
    w.u8(p.file_id_first == 0 ? 0 : static_cast<std::uint8_t>(p.file_id_first + i));
  }
  w.u64le(p.file_size);
  w.u64le(0);  // creation date
  w.u64le(p.packets);
  w.u64le(p.play_duration_100ns);
  w.u64le(p.send_duration_100ns);
  w.u64le(p.preroll_ms);
  w.u32le(p.flags);
  w.u32le(p.min_packet_size);
  w.u32le(p.max_packet_size);
  w.u32le(p.max_bitrate);
  return object(asf::kFileProperties, body);
}

// Stream Properties with no error correction data.
inline Bytes stream_properties(std::uint16_t number, const asf::Guid& type,
                               const Bytes& type_data = {}, const asf::Guid* ec_type = nullptr) {
  Bytes body;
  ByteWriter w(&body);
  w.bytes(ByteView(type.data(), type.size()));
  if (ec_type != nullptr) {
    w.bytes(ByteView(ec_type->data(), ec_type->size()));
  } else {
    w.zeros(16);
  }
  w.u64le(0);  // time offset
  w.u32le(static_cast<std::uint32_t>(type_data.size()));
  w.u32le(0);  // error correction data length
  w.u16le(number);
  w.u32le(0);  // reserved
  w.bytes(type_data);
  return object(asf::kStreamProperties, body);
}

struct WaveFormat {
  std::uint16_t format_tag = 0x0161;  // WMA2
  std::uint16_t channels = 2;
  std::uint32_t samples_per_sec = 44100;
  std::uint32_t avg_bytes_per_sec = 8000;
  std::uint16_t block_align = 4;
  std::uint16_t bits_per_sample = 16;
};

inline Bytes waveformatex(const WaveFormat& f) {
  Bytes out;
  ByteWriter w(&out);
  w.u16le(f.format_tag);
  w.u16le(f.channels);
  w.u32le(f.samples_per_sec);
  w.u32le(f.avg_bytes_per_sec);
  w.u16le(f.block_align);
  w.u16le(f.bits_per_sample);
  w.u16le(0);  // cbSize
  return out;
}

// The Header Object around `children`; `count_delta` falsifies its child count.
inline Bytes header_object(const std::vector<Bytes>& children, std::uint32_t count_delta = 0) {
  Bytes body;
  for (const Bytes& c : children) {
    body.insert(body.end(), c.begin(), c.end());
  }
  Bytes out;
  ByteWriter w(&out);
  w.bytes(ByteView(asf::kHeaderObject.data(), asf::kHeaderObject.size()));
  w.u64le(30 + body.size());
  w.u32le(static_cast<std::uint32_t>(children.size()) + count_delta);
  w.u8(1);  // reserved
  w.u8(2);
  w.bytes(body);
  return out;
}

// The Header Extension Object (reserved GUID left zero, as the tests always had it).
inline Bytes header_extension(const std::vector<Bytes>& children) {
  Bytes body;
  ByteWriter w(&body);
  w.zeros(16);
  w.u16le(6);
  std::size_t size = 0;
  for (const Bytes& c : children) {
    size += c.size();
  }
  w.u32le(static_cast<std::uint32_t>(size));
  for (const Bytes& c : children) {
    w.bytes(c);
  }
  return object(asf::kHeaderExtension, body);
}

// The 50 bytes that open the Data Object (file id left zero).
inline Bytes data_prefix(std::uint64_t packets, std::uint32_t packet_size) {
  Bytes out;
  ByteWriter w(&out);
  w.bytes(ByteView(asf::kDataObject.data(), asf::kDataObject.size()));
  w.u64le(50 + packets * packet_size);
  w.zeros(16);
  w.u64le(packets);
  w.u16le(0x0101);  // reserved
  return out;
}

// NUL-terminated UTF-16LE of an ASCII text.
inline Bytes utf16(const std::string& ascii) {
  Bytes out;
  for (char c : ascii) {
    out.push_back(static_cast<std::uint8_t>(c));
    out.push_back(0);
  }
  out.push_back(0);
  out.push_back(0);
  return out;
}

// One data packet of `packet_size` bytes: no error correction data, a single
// key-frame payload of `stream` (media object `object_number`, offset 0) with
// `payload` bytes of data and `padding` bytes of padding; send time and
// presentation time `time_ms`, duration `duration_ms`. The payload bytes are
// (k + seed) for k = 0, 1, ... so that packets differ. Lengths: padding BYTE;
// replicated data BYTE, offset DWORD, object number BYTE, stream number BYTE.
inline Bytes single_payload_packet(std::uint32_t packet_size, std::uint8_t stream,
                                   std::uint8_t object_number, std::uint8_t padding,
                                   std::uint32_t time_ms, std::uint16_t duration_ms,
                                   std::uint8_t seed) {
  Bytes out;
  ByteWriter w(&out);
  w.u8(0x82);  // error correction present, 2 bytes
  w.u8(0);
  w.u8(0);
  w.u8(0x08);  // length type flags: padding length BYTE
  w.u8(0x5D);  // property flags
  w.u8(padding);
  w.u32le(time_ms);  // send time
  w.u16le(duration_ms);
  w.u8(static_cast<std::uint8_t>(0x80 | stream));  // key frame
  w.u8(object_number);
  w.u32le(0);  // offset into the media object
  w.u8(8);     // replicated data: media object size, presentation time
  const std::size_t data = packet_size - 27 - padding;
  w.u32le(static_cast<std::uint32_t>(data));
  w.u32le(time_ms);
  for (std::size_t k = 0; k < data; ++k) {
    w.u8(static_cast<std::uint8_t>(k + seed));
  }
  w.zeros(packet_size - out.size());
  return out;
}

}  // namespace mms::test::asf_builder

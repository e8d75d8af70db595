// mms-record: reading and finalising ASF recordings (standard C++ only).
//
// A recording is what mmssrc outputs, written as it comes: the ASF header
// (Header Object + 50-byte Data Object prefix) and then data packets of the
// header's fixed packet size. Such a file is playable but describes a stream,
// not a file: broadcast flag, sizes and counts of the original (or zero), no
// index. finalize_recording() turns it into a valid, seekable ASF file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/asf/header_parser.h"
#include "protocol/core/bytes.h"
#include "protocol/core/status.h"

namespace mms::record {

// One Simple Index entry source: a packet where a key frame starts.
struct KeyPoint {
  std::uint32_t time_ms = 0;       // presentation time (preroll included, as in the index)
  std::uint32_t packet = 0;        // number of the packet holding the start of the key frame
  std::uint32_t packet_count = 1;  // packets the key frame spans
};

// Statistics over the data packets of a recording, fed packet by packet.
class PacketStats {
 public:
  explicit PacketStats(const asf::HeaderInfo& info);
  // Checks and counts one whole packet. Returns false (and counts nothing)
  // when it is not a valid data packet of this header: it does not parse, names
  // a stream the header does not declare, or starts with an ASF object GUID.
  bool add(ByteView packet);

  std::uint64_t packets() const { return packets_; }
  bool empty() const { return packets_ == 0; }
  std::uint32_t first_send_ms() const { return first_send_ms_; }
  std::uint32_t last_send_ms() const { return last_send_ms_; }
  // Packets at the end that share last_send_ms().
  std::uint32_t last_send_count() const { return last_send_count_; }
  // End of the content (ms, without preroll): the largest of the last send
  // time + its duration and the last presentation time minus preroll.
  std::uint32_t end_ms() const;
  // The key points of the stream the index is built for: the first video
  // stream with key frames, else (audio only) one per packet by send time.
  std::vector<KeyPoint> key_points() const;
  // The video stream indexed, 0 for an index by packet.
  std::uint16_t indexed_stream() const;

 private:
  struct Object {
    std::uint32_t number = 0;
    std::size_t key = 0;  // index into keys_[stream]
  };
  const asf::HeaderInfo& info_;
  std::vector<bool> declared_;  // 128 entries
  std::vector<bool> video_;     // 128 entries
  std::uint64_t packets_ = 0;
  std::uint32_t first_send_ms_ = 0;
  std::uint32_t last_send_ms_ = 0;
  std::uint32_t last_send_count_ = 0;
  std::uint32_t last_duration_ms_ = 0;
  std::uint32_t max_presentation_ms_ = 0;    // minus preroll
  std::vector<std::vector<KeyPoint>> keys_;  // per stream (128)
  std::vector<std::optional<Object>> open_;  // per stream: the key frame object in progress
  std::vector<KeyPoint> by_packet_;
};

// The start of an ASF file: header bytes and where its objects sit.
struct HeaderLayout {
  asf::HeaderInfo info;
  std::vector<std::uint8_t> header;    // Header Object + Data Object prefix (info.total_size)
  std::size_t file_properties = 0;     // offset of the File Properties Object in `header`
  std::uint64_t declared_packets = 0;  // Data Object "Total Data Packets" (0 = unknown)
};

// Parses the header at the front of `bytes` (which may hold more) and locates
// its File Properties Object. kNeedMore is not used: too few bytes is kMalformed.
Result<HeaderLayout> parse_layout(ByteView bytes);

// What a recording on disk holds.
struct Scan {
  HeaderLayout layout;
  std::uint64_t packets = 0;    // whole, valid data packets
  std::uint64_t data_end = 0;   // file offset one past the last of them
  std::uint64_t file_size = 0;  // size of the file as found
  bool stream_change = false;   // stopped at a second ASF header
  std::uint32_t first_send_ms = 0, last_send_ms = 0, last_send_count = 0, end_ms = 0;
  std::vector<std::vector<std::uint8_t>> tail;  // the last packets sharing last_send_ms
  std::vector<KeyPoint> keys;                   // PacketStats::key_points()
  std::uint16_t indexed_stream = 0;
};

// Reads a recording: the header, then packets until the first that is cut
// short, does not parse, or lies beyond `max_packets` when given (else beyond
// the Data Object's declared count, when the header is not a broadcast one and
// the count is not 0: a finished file, or one cut short of what it declares).
// Errors: kNotFound (cannot open), kMalformed (no header).
Result<Scan> scan_recording(const std::string& path,
                            std::optional<std::uint64_t> max_packets = std::nullopt);

struct FinalizeReport {
  std::uint64_t packets = 0;
  std::uint64_t file_size = 0;            // final size, index included
  std::uint64_t dropped_bytes = 0;        // cut off after the last whole packet
  std::uint64_t play_duration_100ns = 0;  // includes the preroll
  std::uint64_t send_duration_100ns = 0;
  std::uint64_t duration_ms = 0;     // play duration minus preroll
  std::uint32_t index_entries = 0;   // 0: no Simple Index written
  std::uint16_t indexed_stream = 0;  // 0: indexed by packet
  bool stream_change = false;
};

// Rewrites a recording in place into a valid, seekable ASF file:
//  - cuts everything after the last whole valid packet (a partial last packet,
//    garbage, an earlier index, a second stream entry);
//  - File Properties: file size, data packets count, play duration (end of the
//    content minus the first send time, plus preroll) and send duration, the
//    broadcast flag cleared and the seekable flag set;
//  - Data Object: size and total data packets;
//  - appends a Simple Index Object (one entry per second of presentation time:
//    the packet holding the last key frame of the video stream at or before
//    that time; audio only: the last packet sent at or before it).
// `max_packets` bounds the packets kept (the writer knows how many it wrote;
// it replaces the declared count, which a resumed file outgrows).
Result<FinalizeReport> finalize_recording(const std::string& path,
                                          std::optional<std::uint64_t> max_packets = std::nullopt);

// Builds a Simple Index Object (interval 1 s) from key points; entries cover
// presentation times 0 .. end_ms (preroll included, as asfdemux and FFmpeg read
// the index). Empty key points give an empty vector (no index).
std::vector<std::uint8_t> build_simple_index(const asf::Guid& file_id,
                                             const std::vector<KeyPoint>& keys,
                                             std::uint32_t end_ms);

// Splits the byte stream of mmssrc into headers and packets.
class StreamSplitter {
 public:
  enum class Kind { kNone, kHeader, kPacket, kError };
  struct Unit {
    Kind kind = Kind::kNone;
    ByteView bytes;  // valid until the next push()/next() call
  };
  // Appends bytes of the stream.
  void push(ByteView bytes);
  // The next complete unit, kNone when more bytes are needed, kError when the
  // stream does not start with an ASF header (error() says why).
  Unit next();
  const HeaderLayout* header() const { return have_header_ ? &layout_ : nullptr; }
  // Tells the splitter the header in force (e.g. from a file being resumed), so
  // that data packets may come first.
  void set_header(const HeaderLayout& layout);
  const char* error() const { return error_; }
  // Bytes pushed and not yet returned as units.
  std::size_t pending() const { return buf_.size() - pos_; }

 private:
  std::vector<std::uint8_t> buf_;
  std::size_t pos_ = 0;
  bool have_header_ = false;
  HeaderLayout layout_;
  const char* error_ = "";
};

// Little-endian helpers.
std::uint64_t load_le(const std::uint8_t* p, unsigned width);
void store_le(std::uint8_t* p, std::uint64_t v, unsigned width);

}  // namespace mms::record

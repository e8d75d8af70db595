// ASF header parsing: what a streaming client and server need from the
// "ASF file header" (Header Object + the 50-byte Data Object prefix).
//
// The parser works on a complete header (MMSH $H fragments and MMS header
// blocks are reassembled first, bounded by limits::kMaxAsfHeaderBytes), so it
// is a pure function; views in the result do not outlive the input.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "protocol/asf/guids.h"
#include "protocol/core/bytes.h"
#include "protocol/core/status.h"

namespace mms::asf {

enum class StreamType : std::uint8_t { kAudio, kVideo, kCommand, kOther };
const char* to_string(StreamType t);

struct StreamInfo {
  std::uint16_t number = 0;  // 1..127
  StreamType type = StreamType::kOther;
  std::uint32_t bitrate =
      0;  // bps: Stream Bitrate Properties, else ESP, else WAVEFORMATEX; 0 unknown
  bool from_extension = false;  // declared only inside an Extended Stream Properties object
};

enum class ExclusionType : std::uint8_t { kBitrate, kLanguage, kUnknown };

struct MutualExclusion {
  ExclusionType type = ExclusionType::kUnknown;
  std::vector<std::uint16_t> streams;
};

// Content Description (+ common Extended Content Description) fields, UTF-8.
struct ContentTags {
  std::string title, author, copyright, description, rating;
  std::string album, genre, year;  // WM/AlbumTitle, WM/Genre, WM/Year
};

// One script command (ASF Script Command Object, or a sample of a command
// media stream): a type such as "URL", "TEXT" or "CAPTION" and its parameter,
// UTF-8. time_ms is the object's Presentation Time (header) or the payload's
// presentation time minus the preroll (stream).
struct ScriptCommand {
  std::uint32_t time_ms = 0;
  std::string type;
  std::string command;
};

struct HeaderInfo {
  std::size_t header_object_size = 0;  // bytes of the Header Object itself
  bool has_data_prefix = false;        // the 50-byte Data Object prefix follows it
  std::size_t total_size = 0;          // header_object_size (+ 50 when has_data_prefix)
  Guid file_id{};
  std::uint64_t file_size = 0;
  std::uint64_t data_packets_count = 0;   // invalid for broadcast
  std::uint64_t play_duration_100ns = 0;  // includes preroll; invalid for broadcast
  std::uint64_t send_duration_100ns = 0;
  std::uint64_t preroll_ms = 0;
  std::uint32_t flags = 0;  // bit0 broadcast, bit1 seekable
  std::uint32_t min_packet_size = 0;
  std::uint32_t max_packet_size = 0;
  std::uint32_t packet_size = 0;  // the fixed packet size (== max_packet_size)
  std::uint32_t max_bitrate = 0;
  std::uint32_t declared_object_count = 0;  // "Number of Header Objects" field
  std::uint32_t actual_object_count = 0;    // objects really present
  std::vector<StreamInfo> streams;          // sorted by number, unique
  // From Bitrate Mutual Exclusion (top level) and Advanced Mutual Exclusion (Header
  // Extension) objects. Group Mutual Exclusion is not recorded.
  std::vector<MutualExclusion> exclusions;
  ContentTags tags;
  // The Script Command Object's commands, in the object's order (at most
  // 65535: the count is a u16).
  std::vector<ScriptCommand> script_commands;

  bool broadcast() const { return (flags & 1u) != 0; }
  bool seekable() const { return (flags & 2u) != 0 && !broadcast(); }
  // Content duration in nanoseconds (play duration minus preroll), 0 when unknown/broadcast.
  std::uint64_t duration_ns() const;
  const StreamInfo* find_stream(std::uint16_t number) const;
};

// Parses the ASF file header at the front of `bytes`. Trailing bytes after the
// Header Object (+ Data Object prefix when present) are ignored; `total_size`
// tells how many belong to the header. A missing Data Object prefix is not an
// error (has_data_prefix = false). Errors: kNeedMore is not used: a header cut
// short is kMalformed ("truncated"); packet size 0 or > kMaxAsfPacketSize and
// min != max after repair rules are reported here as kMalformed only when the
// header cannot be repaired (see repair_header).
Result<HeaderInfo> parse_header(ByteView bytes);

// Repairs a header in place where that is safe, so asfdemux accepts it:
//  - "Number of Header Objects" that disagrees with the objects present (VLC);
//  - min packet size != max packet size (min set to max);
//  - a missing Data Object prefix (one is appended, packet count from File Properties).
// Returns a bit set of kRepair* values (0 = nothing changed).
constexpr unsigned kRepairObjectCount = 1;
constexpr unsigned kRepairMinPacketSize = 2;
constexpr unsigned kRepairDataPrefix = 4;
Result<unsigned> repair_header(std::vector<std::uint8_t>* header);

// Adds a Stream Bitrate Properties Object (one record per stream, after the
// last Stream Properties Object, where Windows Media Encoder writes it) to a
// header that has none, when every stream's bitrate is known (Extended Stream
// Properties, WAVEFORMATEX) or one is unknown and File Properties' maximum
// bitrate gives the rest. FFmpeg's muxer writes such headers; asfdemux tags
// stream bitrates only from this object, and a player's buffering sizes
// itself by those tags. Returns true when the object was added, false when the
// header has one or the bitrates cannot be told; kMalformed on a bad header.
Result<bool> add_stream_bitrates(std::vector<std::uint8_t>* header);

// A sample of a command media stream: the command type then its parameter,
// each a NUL-terminated UTF-16LE string (Windows Media Format SDK script
// streams). `time_ms` is stored in the result. Errors: kMalformed when either
// string is unterminated (a fragment of a larger object) or the type is empty;
// bytes after the second NUL are ignored.
Result<ScriptCommand> parse_command_payload(ByteView payload, std::uint32_t time_ms);

// Rewrites a header so that it describes a broadcast (flags = broadcast, not
// seekable). Used by the server for live content. Returns kMalformed on a bad header.
Status mark_broadcast(std::vector<std::uint8_t>* header);

// Layout of a whole ASF file (server side): where the header ends, where packet 0
// starts, and how many complete packets there are.
struct FileLayout {
  HeaderInfo info;
  std::size_t header_bytes = 0;    // Header Object + 50-byte Data Object prefix
  std::size_t first_packet = 0;    // offset of packet 0 (== header_bytes)
  std::uint64_t packet_count = 0;  // complete packets present in the file
};
Result<FileLayout> scan_file(ByteView file);

}  // namespace mms::asf

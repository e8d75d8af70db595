// ASF header parsing and repair. See header_parser.h and the ASF specification
// (Header Object, File Properties, Stream Properties, Header Extension, ...).
#include "protocol/asf/header_parser.h"

#include <algorithm>
#include <bitset>
#include <limits>
#include <map>

#include "protocol/core/byte_reader.h"
#include "protocol/core/byte_writer.h"
#include "protocol/core/limits.h"
#include "protocol/core/text.h"

namespace mms::asf {
namespace {

constexpr std::size_t kObjectHeaderSize = 24;       // GUID + QWORD size
constexpr std::size_t kHeaderObjectFixedSize = 30;  // + count, reserved1, reserved2
constexpr std::size_t kFilePropertiesSize = 104;
constexpr std::size_t kHeaderExtensionFixedSize = 46;
constexpr std::size_t kExtStreamPropertiesFixedSize = 88;
constexpr std::size_t kFilePropertiesFlagsOffset = 88;  // from the object start
constexpr std::size_t kFilePropertiesMinPacketOffset = 92;
constexpr std::size_t kHeaderObjectCountOffset = 24;

// One object header read from the wire, with its bounds checked against the parent.
struct ObjectSpan {
  const std::uint8_t* guid = nullptr;
  std::size_t begin = 0;  // offset of the GUID in the enclosing buffer
  std::size_t size = 0;   // whole object, >= 24, fits in the parent
};

// Reads the object header at `pos` of `bytes`, whose enclosing object ends at `end`.
Status read_object(ByteView bytes, std::size_t pos, std::size_t end, ObjectSpan* out) {
  if (end - pos < kObjectHeaderSize) {
    return Status(Code::kMalformed, "ASF object header cut short", static_cast<std::uint32_t>(pos));
  }
  ByteReader r(bytes.subview(pos, end - pos));
  ByteView guid;
  std::uint64_t size = 0;
  if (!r.read_view(16, &guid) || !r.read_u64le(&size)) {
    return Status(Code::kMalformed, "ASF object header truncated", static_cast<std::uint32_t>(pos));
  }
  if (size < kObjectHeaderSize) {
    return Status(Code::kMalformed, "ASF object size below 24", static_cast<std::uint32_t>(pos));
  }
  if (size > static_cast<std::uint64_t>(end - pos)) {
    return Status(Code::kMalformed, "ASF object extends beyond its parent",
                  static_cast<std::uint32_t>(pos));
  }
  out->guid = guid.data();
  out->begin = pos;
  out->size = static_cast<std::size_t>(size);
  return Status::Ok();
}

ExclusionType exclusion_type(const std::uint8_t* guid) {
  if (guid_equals(guid, kMutexBitrate)) {
    return ExclusionType::kBitrate;
  }
  if (guid_equals(guid, kMutexLanguage)) {
    return ExclusionType::kLanguage;
  }
  return ExclusionType::kUnknown;
}

// Parser state: the info being built plus what repair/mark_broadcast need.
class Parser {
 public:
  explicit Parser(ByteView bytes) : bytes_(bytes) {}

  Status run();
  HeaderInfo& info() { return info_; }
  std::size_t file_properties_offset() const { return file_props_; }
  bool has_stream_bitrates() const { return has_sbpo_; }
  // Offset just past the last top-level Stream Properties Object, 0 when none.
  std::size_t stream_properties_end() const { return stream_props_end_; }

 private:
  Status parse_top_level(const ObjectSpan& obj);
  Status parse_file_properties(const ObjectSpan& obj);
  Status parse_stream_properties(ByteView body, bool from_extension);
  Status parse_header_extension(const ObjectSpan& obj);
  Status parse_ext_stream_properties(const ObjectSpan& obj);
  Status parse_stream_bitrates(ByteView body);
  Status parse_mutual_exclusion(ByteView body);
  Status parse_content_description(ByteView body);
  Status parse_ext_content_description(ByteView body);
  Status parse_script_commands(ByteView body);
  Status count_object();
  ByteView body_of(const ObjectSpan& obj) const {
    return bytes_.subview(obj.begin + kObjectHeaderSize, obj.size - kObjectHeaderSize);
  }

  ByteView bytes_;
  HeaderInfo info_;
  std::size_t file_props_ = 0;  // 0 = not seen
  std::size_t objects_walked_ = 0;
  bool has_sbpo_ = false;
  std::size_t stream_props_end_ = 0;
  // Stream Properties Objects walked (top level and embedded in an ESP) and the
  // stream numbers they declared: every stream is declared once (1..127).
  std::size_t stream_objects_ = 0;
  std::bitset<limits::kMaxAsfStreams + 1> declared_;
  std::map<std::uint16_t, std::uint32_t> sbp_bitrate_, esp_bitrate_, wave_bitrate_;
};

Status Parser::count_object() {
  if (++objects_walked_ > limits::kMaxAsfHeaderObjects) {
    return Status(Code::kLimitExceeded, "too many ASF header objects",
                  static_cast<std::uint32_t>(objects_walked_));
  }
  return Status::Ok();
}

Status Parser::run() {
  ByteReader r(bytes_);
  ByteView guid;
  std::uint64_t size = 0;
  std::uint32_t count = 0;
  std::uint8_t reserved1 = 0;
  std::uint8_t reserved2 = 0;
  if (!r.read_view(16, &guid)) {
    return Status(Code::kMalformed, "ASF header truncated");
  }
  if (!guid_equals(guid.data(), kHeaderObject)) {
    return Status(Code::kMalformed, "not an ASF Header Object");
  }
  if (!r.read_u64le(&size) || !r.read_u32le(&count) || !r.read_u8(&reserved1) ||
      !r.read_u8(&reserved2)) {
    return Status(Code::kMalformed, "ASF header truncated");
  }
  if (size < kHeaderObjectFixedSize) {
    return Status(Code::kMalformed, "ASF Header Object size too small");
  }
  if (size > limits::kMaxAsfHeaderBytes) {
    return Status(Code::kLimitExceeded, "ASF Header Object too large");
  }
  if (size > bytes_.size()) {
    return Status(Code::kMalformed, "ASF header truncated", static_cast<std::uint32_t>(size));
  }
  if (reserved2 != 0x02) {
    return Status(Code::kMalformed, "ASF Header Object reserved2 is not 0x02", reserved2);
  }
  const auto end = static_cast<std::size_t>(size);
  info_.header_object_size = end;
  info_.declared_object_count = count;

  std::size_t pos = kHeaderObjectFixedSize;
  while (pos < end) {
    MMS_TRY(count_object());
    ObjectSpan obj;
    MMS_TRY(read_object(bytes_, pos, end, &obj));
    ++info_.actual_object_count;
    MMS_TRY(parse_top_level(obj));
    pos += obj.size;
  }
  if (file_props_ == 0) {
    return Status(Code::kMalformed, "ASF header has no File Properties Object");
  }

  // Merge bitrates: Stream Bitrate Properties, else ESP data bitrate, else WAVEFORMATEX.
  for (StreamInfo& s : info_.streams) {
    for (const auto* m : {&sbp_bitrate_, &esp_bitrate_, &wave_bitrate_}) {
      auto it = m->find(s.number);
      if (it != m->end() && it->second != 0) {
        s.bitrate = it->second;
        break;
      }
    }
  }
  std::sort(info_.streams.begin(), info_.streams.end(),
            [](const StreamInfo& a, const StreamInfo& b) { return a.number < b.number; });

  // Data Object prefix.
  ByteView rest = bytes_.subview(end);
  if (rest.size() >= kDataObjectPrefixSize && guid_equals(rest.data(), kDataObject)) {
    info_.has_data_prefix = true;
    info_.total_size = end + kDataObjectPrefixSize;
  } else {
    info_.total_size = end;
  }
  return Status::Ok();
}

Status Parser::parse_top_level(const ObjectSpan& obj) {
  const std::uint8_t* g = obj.guid;
  if (guid_equals(g, kFileProperties)) {
    return parse_file_properties(obj);
  }
  if (guid_equals(g, kStreamProperties)) {
    stream_props_end_ = obj.begin + obj.size;
    return parse_stream_properties(body_of(obj), false);
  }
  if (guid_equals(g, kHeaderExtension)) {
    return parse_header_extension(obj);
  }
  if (guid_equals(g, kStreamBitrateProperties)) {
    has_sbpo_ = true;
    return parse_stream_bitrates(body_of(obj));
  }
  if (guid_equals(g, kBitrateMutualExclusion)) {
    return parse_mutual_exclusion(body_of(obj));
  }
  if (guid_equals(g, kContentDescription)) {
    return parse_content_description(body_of(obj));
  }
  if (guid_equals(g, kExtendedContentDescription)) {
    return parse_ext_content_description(body_of(obj));
  }
  if (guid_equals(g, kScriptCommand)) {
    return parse_script_commands(body_of(obj));
  }
  return Status::Ok();  // unknown or uninteresting: skipped by size
}

Status Parser::parse_file_properties(const ObjectSpan& obj) {
  if (obj.size < kFilePropertiesSize) {
    return Status(Code::kMalformed, "ASF File Properties Object too small");
  }
  ByteReader r(body_of(obj));
  std::uint64_t creation = 0;
  if (!r.read_bytes(16, info_.file_id.data()) || !r.read_u64le(&info_.file_size) ||
      !r.read_u64le(&creation) || !r.read_u64le(&info_.data_packets_count) ||
      !r.read_u64le(&info_.play_duration_100ns) || !r.read_u64le(&info_.send_duration_100ns) ||
      !r.read_u64le(&info_.preroll_ms) || !r.read_u32le(&info_.flags) ||
      !r.read_u32le(&info_.min_packet_size) || !r.read_u32le(&info_.max_packet_size) ||
      !r.read_u32le(&info_.max_bitrate)) {
    return Status(Code::kMalformed, "ASF File Properties Object truncated");
  }
  if (info_.max_packet_size == 0) {
    return Status(Code::kMalformed, "ASF packet size is 0");
  }
  if (info_.max_packet_size > limits::kMaxAsfPacketSize) {
    return Status(Code::kMalformed, "ASF packet size too large", info_.max_packet_size);
  }
  info_.packet_size = info_.max_packet_size;
  file_props_ = obj.begin;
  return Status::Ok();
}

Status Parser::parse_stream_properties(ByteView body, bool from_extension) {
  ByteReader r(body);
  ByteView type;
  std::uint64_t time_offset = 0;
  std::uint32_t type_len = 0;
  std::uint32_t ec_len = 0;
  std::uint16_t flags = 0;
  if (!r.read_view(16, &type) || !r.skip(16) || !r.read_u64le(&time_offset) ||
      !r.read_u32le(&type_len) || !r.read_u32le(&ec_len) || !r.read_u16le(&flags) || !r.skip(4)) {
    return Status(Code::kMalformed, "ASF Stream Properties Object truncated");
  }
  ByteView type_data;
  if (static_cast<std::uint64_t>(type_len) + ec_len > r.remaining() ||
      !r.read_view(type_len, &type_data)) {
    return Status(Code::kMalformed, "ASF Stream Properties data overruns the object");
  }
  // ASF stream numbers are 1..127 and each names one stream: a header declares at most
  // 127 streams, counting the Stream Properties Objects embedded in Extended Stream
  // Properties Objects too (docs/protocols/asf-streaming.md §6).
  if (++stream_objects_ > limits::kMaxAsfStreams) {
    return Status(Code::kLimitExceeded, "more than 127 ASF Stream Properties Objects",
                  static_cast<std::uint32_t>(stream_objects_));
  }
  const auto number = static_cast<std::uint16_t>(flags & 0x7F);
  if (number == 0) {
    return Status(Code::kMalformed, "ASF stream number 0");
  }
  if (declared_[number]) {
    return Status(Code::kMalformed, "ASF stream number declared twice", number);
  }
  declared_[number] = true;
  StreamType st = StreamType::kOther;
  if (guid_equals(type.data(), kAudioMedia)) {
    st = StreamType::kAudio;
    ByteReader w(type_data);
    std::uint32_t avg_bytes = 0;
    if (w.skip(8) && w.read_u32le(&avg_bytes)) {
      const std::uint64_t bps = static_cast<std::uint64_t>(avg_bytes) * 8u;
      wave_bitrate_[number] = static_cast<std::uint32_t>(
          std::min<std::uint64_t>(bps, std::numeric_limits<std::uint32_t>::max()));
    }
  } else if (guid_equals(type.data(), kVideoMedia)) {
    st = StreamType::kVideo;
  } else if (guid_equals(type.data(), kCommandMedia)) {
    st = StreamType::kCommand;
  }
  StreamInfo s;
  s.number = number;
  s.type = st;
  s.from_extension = from_extension;
  info_.streams.push_back(s);
  return Status::Ok();
}

Status Parser::parse_header_extension(const ObjectSpan& obj) {
  if (obj.size < kHeaderExtensionFixedSize) {
    return Status(Code::kMalformed, "ASF Header Extension Object too small");
  }
  ByteReader r(body_of(obj));
  std::uint32_t data_size = 0;
  if (!r.skip(16 + 2) || !r.read_u32le(&data_size)) {
    return Status(Code::kMalformed, "ASF Header Extension Object truncated");
  }
  if (data_size > obj.size - kHeaderExtensionFixedSize) {
    return Status(Code::kMalformed, "ASF Header Extension data overruns the object");
  }
  const std::size_t begin = obj.begin + kHeaderExtensionFixedSize;
  const std::size_t end = begin + data_size;
  std::size_t pos = begin;
  while (pos < end) {
    MMS_TRY(count_object());
    ObjectSpan child;
    MMS_TRY(read_object(bytes_, pos, end, &child));
    if (guid_equals(child.guid, kExtendedStreamProperties)) {
      MMS_TRY(parse_ext_stream_properties(child));
    } else if (guid_equals(child.guid, kAdvancedMutualExclusion)) {
      MMS_TRY(parse_mutual_exclusion(body_of(child)));
    }
    // Group Mutual Exclusion (groups of streams as alternatives) is not recorded:
    // StreamSelector works on single streams; all streams stay selectable.
    pos += child.size;
  }
  return Status::Ok();
}

Status Parser::parse_ext_stream_properties(const ObjectSpan& obj) {
  if (obj.size < kExtStreamPropertiesFixedSize) {
    return Status(Code::kMalformed, "ASF Extended Stream Properties Object too small");
  }
  ByteReader r(body_of(obj));
  std::uint32_t data_bitrate = 0;
  std::uint16_t number = 0;
  std::uint16_t name_count = 0;
  std::uint16_t ext_count = 0;
  if (!r.skip(16) || !r.read_u32le(&data_bitrate) || !r.skip(28) || !r.read_u16le(&number) ||
      !r.skip(2 + 8) || !r.read_u16le(&name_count) || !r.read_u16le(&ext_count)) {
    return Status(Code::kMalformed, "ASF Extended Stream Properties Object truncated");
  }
  number = static_cast<std::uint16_t>(number & 0x7F);
  if (number == 0) {
    return Status(Code::kMalformed, "ASF Extended Stream Properties stream number 0");
  }
  for (unsigned i = 0; i < name_count; ++i) {
    std::uint16_t len = 0;
    if (!r.skip(2) || !r.read_u16le(&len) || !r.skip(len)) {
      return Status(Code::kMalformed, "ASF Extended Stream Properties stream name overrun");
    }
  }
  for (unsigned i = 0; i < ext_count; ++i) {
    std::uint32_t info_len = 0;
    if (!r.skip(16 + 2) || !r.read_u32le(&info_len) || !r.skip(info_len)) {
      return Status(Code::kMalformed, "ASF Extended Stream Properties extension overrun");
    }
  }
  if (data_bitrate != 0) {
    esp_bitrate_[number] = data_bitrate;
  }
  if (r.remaining() >= kObjectHeaderSize) {
    const std::size_t pos = obj.begin + kObjectHeaderSize + r.offset();
    ObjectSpan sp;
    MMS_TRY(read_object(bytes_, pos, obj.begin + obj.size, &sp));
    if (guid_equals(sp.guid, kStreamProperties)) {
      MMS_TRY(parse_stream_properties(body_of(sp), true));
    }
  }
  return Status::Ok();
}

Status Parser::parse_stream_bitrates(ByteView body) {
  ByteReader r(body);
  std::uint16_t count = 0;
  if (!r.read_u16le(&count)) {
    return Status(Code::kMalformed, "ASF Stream Bitrate Properties truncated");
  }
  for (unsigned i = 0; i < count; ++i) {
    std::uint16_t flags = 0;
    std::uint32_t bitrate = 0;
    if (!r.read_u16le(&flags) || !r.read_u32le(&bitrate)) {
      return Status(Code::kMalformed, "ASF Stream Bitrate Properties record overrun");
    }
    sbp_bitrate_[static_cast<std::uint16_t>(flags & 0x7F)] = bitrate;
  }
  return Status::Ok();
}

Status Parser::parse_mutual_exclusion(ByteView body) {
  ByteReader r(body);
  ByteView type;
  std::uint16_t count = 0;
  if (!r.read_view(16, &type) || !r.read_u16le(&count)) {
    return Status(Code::kMalformed, "ASF Mutual Exclusion Object truncated");
  }
  MutualExclusion ex;
  ex.type = exclusion_type(type.data());
  for (unsigned i = 0; i < count; ++i) {
    std::uint16_t n = 0;
    if (!r.read_u16le(&n)) {
      return Status(Code::kMalformed, "ASF Mutual Exclusion stream list overrun");
    }
    n = static_cast<std::uint16_t>(n & 0x7F);
    if (std::find(ex.streams.begin(), ex.streams.end(), n) == ex.streams.end()) {
      ex.streams.push_back(n);
    }
  }
  info_.exclusions.push_back(std::move(ex));
  return Status::Ok();
}

Status Parser::parse_content_description(ByteView body) {
  ByteReader r(body);
  std::uint16_t lens[5] = {};
  for (std::uint16_t& len : lens) {
    if (!r.read_u16le(&len)) {
      return Status(Code::kMalformed, "ASF Content Description truncated");
    }
  }
  std::string* fields[5] = {&info_.tags.title, &info_.tags.author, &info_.tags.copyright,
                            &info_.tags.description, &info_.tags.rating};
  for (int i = 0; i < 5; ++i) {
    ByteView s;
    if (!r.read_view(lens[i], &s)) {
      return Status(Code::kMalformed, "ASF Content Description string overrun");
    }
    *fields[i] = utf16le_to_utf8(s);
  }
  return Status::Ok();
}

Status Parser::parse_ext_content_description(ByteView body) {
  ByteReader r(body);
  std::uint16_t count = 0;
  if (!r.read_u16le(&count)) {
    return Status(Code::kMalformed, "ASF Extended Content Description truncated");
  }
  for (unsigned i = 0; i < count; ++i) {
    std::uint16_t name_len = 0;
    std::uint16_t type = 0;
    std::uint16_t value_len = 0;
    ByteView name;
    ByteView value;
    if (!r.read_u16le(&name_len) || !r.read_view(name_len, &name) || !r.read_u16le(&type) ||
        !r.read_u16le(&value_len) || !r.read_view(value_len, &value)) {
      return Status(Code::kMalformed, "ASF Extended Content Description descriptor overrun");
    }
    const std::string key = utf16le_to_utf8(name);
    std::string* field = nullptr;
    if (key == "WM/AlbumTitle") {
      field = &info_.tags.album;
    } else if (key == "WM/Genre") {
      field = &info_.tags.genre;
    } else if (key == "WM/Year") {
      field = &info_.tags.year;
    }
    if (field == nullptr) {
      continue;
    }
    if (type == 0) {
      *field = utf16le_to_utf8(value);
    } else if (type == 3 && value.size() == 4) {
      *field = std::to_string(load_u32le(value.data()));
    }
  }
  return Status::Ok();
}

// Script Command Object: Reserved GUID, Commands Count (u16), Command Types
// Count (u16), the types (u16 length in WCHARs + name), then the commands
// (u32 presentation time ms, u16 type index, u16 length in WCHARs + name).
Status Parser::parse_script_commands(ByteView body) {
  ByteReader r(body);
  std::uint16_t commands = 0;
  std::uint16_t types_count = 0;
  if (!r.skip(16) || !r.read_u16le(&commands) || !r.read_u16le(&types_count)) {
    return Status(Code::kMalformed, "ASF Script Command Object truncated");
  }
  // Both counts are u16 and every entry takes at least 2 (type) or 8
  // (command) bytes of the object, so the header's size bounds the work.
  if (static_cast<std::size_t>(types_count) * 2 + static_cast<std::size_t>(commands) * 8 >
      r.remaining()) {
    return Status(Code::kMalformed, "ASF Script Command counts overrun the object", commands);
  }
  std::vector<std::string> types;
  for (unsigned i = 0; i < types_count; ++i) {
    std::uint16_t len = 0;
    ByteView name;
    if (!r.read_u16le(&len) || !r.read_view(static_cast<std::size_t>(len) * 2, &name)) {
      return Status(Code::kMalformed, "ASF Script Command type name overrun");
    }
    types.push_back(utf16le_to_utf8(name));
  }
  for (unsigned i = 0; i < commands; ++i) {
    ScriptCommand c;
    std::uint16_t type_index = 0;
    std::uint16_t len = 0;
    ByteView name;
    if (!r.read_u32le(&c.time_ms) || !r.read_u16le(&type_index) || !r.read_u16le(&len) ||
        !r.read_view(static_cast<std::size_t>(len) * 2, &name)) {
      return Status(Code::kMalformed, "ASF Script Command overrun");
    }
    if (type_index >= types.size()) {
      return Status(Code::kMalformed, "ASF Script Command type index out of range", type_index);
    }
    c.type = types[type_index];
    c.command = utf16le_to_utf8(name);
    info_.script_commands.push_back(std::move(c));
  }
  return Status::Ok();
}

}  // namespace

Result<ScriptCommand> parse_command_payload(ByteView payload, std::uint32_t time_ms) {
  // Splits at UTF-16 NUL code units (even offsets only).
  std::size_t first_end = std::string::npos;
  std::size_t second_end = std::string::npos;
  for (std::size_t i = 0; i + 1 < payload.size(); i += 2) {
    if (payload[i] == 0 && payload[i + 1] == 0) {
      if (first_end == std::string::npos) {
        first_end = i;
      } else {
        second_end = i;
        break;
      }
    }
  }
  if (second_end == std::string::npos) {
    return Status(Code::kMalformed, "ASF command payload without two terminated strings",
                  static_cast<std::uint32_t>(payload.size()));
  }
  if (first_end == 0) {
    return Status(Code::kMalformed, "ASF command payload with an empty type");
  }
  ScriptCommand c;
  c.time_ms = time_ms;
  c.type = utf16le_to_utf8(payload.subview(0, first_end));
  c.command = utf16le_to_utf8(payload.subview(first_end + 2, second_end - first_end - 2));
  return c;
}

const char* to_string(StreamType t) {
  switch (t) {
    case StreamType::kAudio:
      return "audio";
    case StreamType::kVideo:
      return "video";
    case StreamType::kCommand:
      return "command";
    case StreamType::kOther:
      return "other";
  }
  return "other";
}

std::uint64_t HeaderInfo::duration_ns() const {
  if (broadcast()) {
    return 0;
  }
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  const std::uint64_t preroll_100ns = preroll_ms > kMax / 10000 ? kMax : preroll_ms * 10000;
  if (play_duration_100ns <= preroll_100ns) {
    return 0;
  }
  const std::uint64_t d = play_duration_100ns - preroll_100ns;
  return d > kMax / 100 ? kMax : d * 100;
}

const StreamInfo* HeaderInfo::find_stream(std::uint16_t number) const {
  for (const StreamInfo& s : streams) {
    if (s.number == number) {
      return &s;
    }
  }
  return nullptr;
}

Result<HeaderInfo> parse_header(ByteView bytes) {
  Parser p(bytes);
  MMS_TRY(p.run());
  return std::move(p.info());
}

Result<unsigned> repair_header(std::vector<std::uint8_t>* header) {
  Parser p{ByteView(*header)};
  MMS_TRY(p.run());
  const HeaderInfo& info = p.info();
  unsigned repairs = 0;
  std::uint8_t* h = header->data();
  if (info.declared_object_count != info.actual_object_count) {
    store_u32le(h + kHeaderObjectCountOffset, info.actual_object_count);
    repairs |= kRepairObjectCount;
  }
  if (info.min_packet_size != info.max_packet_size) {
    store_u32le(h + p.file_properties_offset() + kFilePropertiesMinPacketOffset,
                info.max_packet_size);
    repairs |= kRepairMinPacketSize;
  }
  if (!info.has_data_prefix) {
    header->resize(info.header_object_size);
    const std::uint64_t packets = info.broadcast() ? 0 : info.data_packets_count;
    std::uint64_t size = kDataObjectPrefixSize;
    if (packets != 0 &&
        packets <= (std::numeric_limits<std::uint64_t>::max() - size) / info.packet_size) {
      size += packets * info.packet_size;
    }
    ByteWriter w(header);
    w.bytes(ByteView(kDataObject.data(), kDataObject.size()));
    w.u64le(size);
    w.bytes(ByteView(info.file_id.data(), info.file_id.size()));
    w.u64le(packets);
    w.u16le(0x0101);
    repairs |= kRepairDataPrefix;
  }
  return repairs;
}

Result<bool> add_stream_bitrates(std::vector<std::uint8_t>* header) {
  Parser p{ByteView(*header)};
  MMS_TRY(p.run());
  const HeaderInfo& info = p.info();
  if (p.has_stream_bitrates() || p.stream_properties_end() == 0 || info.streams.empty()) {
    return false;
  }
  std::uint64_t known = 0;
  std::size_t unknown = 0;
  for (const StreamInfo& s : info.streams) {
    known += s.bitrate;
    unknown += s.bitrate == 0 ? 1 : 0;
  }
  std::uint32_t rest = 0;
  if (unknown > 1 || (unknown == 1 && info.max_bitrate <= known)) {
    return false;  // not enough to tell each stream's share
  }
  if (unknown == 1) {
    rest = static_cast<std::uint32_t>(info.max_bitrate - known);
  }
  std::vector<std::uint8_t> object;
  ByteWriter w(&object);
  w.bytes(ByteView(kStreamBitrateProperties.data(), kStreamBitrateProperties.size()));
  w.u64le(kObjectHeaderSize + 2 + 6 * info.streams.size());
  w.u16le(static_cast<std::uint16_t>(info.streams.size()));
  for (const StreamInfo& s : info.streams) {
    w.u16le(s.number);
    w.u32le(s.bitrate != 0 ? s.bitrate : rest);
  }
  if (info.header_object_size + object.size() > limits::kMaxAsfHeaderBytes) {
    return false;
  }
  header->insert(header->begin() + static_cast<std::ptrdiff_t>(p.stream_properties_end()),
                 object.begin(), object.end());
  std::uint8_t* h = header->data();
  store_u64le(h + 16, info.header_object_size + object.size());
  store_u32le(h + kHeaderObjectCountOffset, info.declared_object_count + 1);
  return true;
}

Status mark_broadcast(std::vector<std::uint8_t>* header) {
  Parser p{ByteView(*header)};
  MMS_TRY(p.run());
  std::uint8_t* flags = header->data() + p.file_properties_offset() + kFilePropertiesFlagsOffset;
  store_u32le(flags, (load_u32le(flags) | 1u) & ~2u);
  return Status::Ok();
}

Result<FileLayout> scan_file(ByteView file) {
  Parser p(file);
  MMS_TRY(p.run());
  FileLayout layout;
  layout.info = std::move(p.info());
  const HeaderInfo& info = layout.info;
  if (!info.has_data_prefix) {
    return Status(Code::kMalformed, "ASF file has no Data Object after the header");
  }
  layout.header_bytes = info.total_size;
  layout.first_packet = info.total_size;
  const std::uint8_t* data = file.data() + info.header_object_size;
  const std::uint64_t object_size = load_u64le(data + 16);
  const std::uint64_t declared_packets = load_u64le(data + 40);
  const std::uint64_t in_file = (file.size() - layout.first_packet) / info.packet_size;
  std::uint64_t count = in_file;
  if (object_size > kDataObjectPrefixSize) {
    count = std::min(count, (object_size - kDataObjectPrefixSize) / info.packet_size);
  }
  if (!info.broadcast() && declared_packets != 0) {
    count = std::min(count, declared_packets);
  }
  layout.packet_count = count;
  return layout;
}

}  // namespace mms::asf

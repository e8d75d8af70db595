// mms-record: reading and finalising ASF recordings.
#include "tools/record/asf_file.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <system_error>

#include "protocol/asf/guids.h"
#include "protocol/asf/packet.h"
#include "protocol/core/limits.h"

namespace mms::record {

namespace {

constexpr std::size_t kObjectHeader = 24;  // GUID + size
constexpr std::size_t kHeaderObjectPrefix = 30;
// File Properties Object field offsets (from the object's start).
constexpr std::size_t kFpFileSize = 40;
constexpr std::size_t kFpPacketCount = 56;
constexpr std::size_t kFpPlayDuration = 64;
constexpr std::size_t kFpSendDuration = 72;
constexpr std::size_t kFpFlags = 88;
constexpr std::size_t kFpSize = 104;
// Data Object field offsets.
constexpr std::size_t kDoSize = 16;
constexpr std::size_t kDoPacketCount = 40;
constexpr std::size_t kMaxTail = 64;

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f != nullptr) {
      std::fclose(f);
    }
  }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

bool read_exact(std::FILE* f, std::uint8_t* out, std::size_t n) {
  return std::fread(out, 1, n, f) == n;
}

bool starts_with_object_guid(ByteView b) {
  if (b.size() < 16) {
    return false;
  }
  for (const asf::Guid* g :
       {&asf::kHeaderObject, &asf::kDataObject, &asf::kSimpleIndexObject, &asf::kIndexObject}) {
    if (asf::guid_equals(b.data(), *g)) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::uint64_t load_le(const std::uint8_t* p, unsigned width) {
  std::uint64_t v = 0;
  for (unsigned i = width; i > 0; --i) {
    v = (v << 8) | p[i - 1];
  }
  return v;
}

void store_le(std::uint8_t* p, std::uint64_t v, unsigned width) {
  for (unsigned i = 0; i < width; ++i) {
    p[i] = static_cast<std::uint8_t>(v >> (8 * i));
  }
}

// ---------------------------------------------------------------------------
// PacketStats

PacketStats::PacketStats(const asf::HeaderInfo& info)
    : info_(info), declared_(128, false), video_(128, false), keys_(128), open_(128) {
  for (const asf::StreamInfo& s : info.streams) {
    if (s.number < 128) {
      declared_[s.number] = true;
      video_[s.number] = s.type == asf::StreamType::kVideo;
    }
  }
}

bool PacketStats::add(ByteView packet) {
  if (starts_with_object_guid(packet)) {
    return false;
  }
  Result<asf::PacketInfo> parsed = asf::parse_packet(packet, info_.packet_size);
  if (!parsed.ok()) {
    return false;
  }
  const asf::PacketInfo& p = *parsed;
  for (const asf::PayloadInfo& pl : p.payloads) {
    if (pl.stream >= 128 || !declared_[pl.stream]) {
      return false;
    }
  }
  // Send times never go backwards in one stream entry.
  if (packets_ > 0 && p.send_time_ms < last_send_ms_) {
    return false;
  }

  const auto number = static_cast<std::uint32_t>(packets_);
  const std::uint64_t preroll = info_.preroll_ms;
  for (const asf::PayloadInfo& pl : p.payloads) {
    const std::uint32_t pres = pl.presentation_ms > preroll
                                   ? static_cast<std::uint32_t>(pl.presentation_ms - preroll)
                                   : 0u;
    max_presentation_ms_ = std::max(max_presentation_ms_, pres);
    if (!video_[pl.stream]) {
      continue;
    }
    std::optional<Object>& open = open_[pl.stream];
    if (pl.keyframe && pl.object_offset == 0) {
      keys_[pl.stream].push_back(KeyPoint{pl.presentation_ms, number, 1});
      open = Object{pl.object_number, keys_[pl.stream].size() - 1};
    } else if (open && open->number == pl.object_number) {
      KeyPoint& k = keys_[pl.stream][open->key];
      k.packet_count = number - k.packet + 1;
    } else {
      open.reset();
    }
  }
  if (packets_ == 0) {
    first_send_ms_ = p.send_time_ms;
    last_send_count_ = 0;
  }
  if (packets_ > 0 && p.send_time_ms == last_send_ms_) {
    ++last_send_count_;
  } else {
    last_send_count_ = 1;
  }
  last_send_ms_ = p.send_time_ms;
  last_duration_ms_ = p.duration_ms;
  by_packet_.push_back(KeyPoint{
      static_cast<std::uint32_t>(std::min<std::uint64_t>(p.send_time_ms + preroll, UINT32_MAX)),
      number, 1});
  ++packets_;
  return true;
}

std::uint32_t PacketStats::end_ms() const {
  if (packets_ == 0) {
    return 0;
  }
  return std::max(last_send_ms_ + last_duration_ms_, max_presentation_ms_);
}

std::uint16_t PacketStats::indexed_stream() const {
  for (const asf::StreamInfo& s : info_.streams) {
    if (s.number < 128 && video_[s.number] && !keys_[s.number].empty()) {
      return s.number;
    }
  }
  return 0;
}

std::vector<KeyPoint> PacketStats::key_points() const {
  const std::uint16_t s = indexed_stream();
  return s != 0 ? keys_[s] : by_packet_;
}

// ---------------------------------------------------------------------------
// Header layout

Result<HeaderLayout> parse_layout(ByteView bytes) {
  Result<asf::HeaderInfo> info = asf::parse_header(bytes);
  if (!info.ok()) {
    return info.status();
  }
  if (!info->has_data_prefix) {
    return Status(Code::kMalformed, "the ASF header is not followed by a Data Object");
  }
  HeaderLayout layout;
  layout.info = std::move(*info);
  const std::size_t hsize = layout.info.header_object_size;
  layout.header.assign(bytes.data(), bytes.data() + layout.info.total_size);
  // Walk the top-level header objects for File Properties.
  std::size_t off = kHeaderObjectPrefix;
  while (off + kObjectHeader <= hsize) {
    const std::uint8_t* obj = layout.header.data() + off;
    const std::uint64_t size = load_le(obj + 16, 8);
    if (size < kObjectHeader || size > hsize - off) {
      break;
    }
    if (asf::guid_equals(obj, asf::kFileProperties) && size >= kFpSize) {
      layout.file_properties = off;
      break;
    }
    off += static_cast<std::size_t>(size);
  }
  if (layout.file_properties == 0) {
    return Status(Code::kMalformed, "the ASF header has no File Properties Object");
  }
  layout.declared_packets = load_le(layout.header.data() + hsize + kDoPacketCount, 8);
  return layout;
}

// ---------------------------------------------------------------------------
// Scan

Result<Scan> scan_recording(const std::string& path, std::optional<std::uint64_t> max_packets) {
  File f(std::fopen(path.c_str(), "rb"));
  if (!f) {
    return Status(Code::kNotFound, "cannot open the file");
  }
  Scan scan;
  std::error_code ec;
  scan.file_size = std::filesystem::file_size(path, ec);
  if (ec) {
    return Status(Code::kNotFound, "cannot read the file size");
  }

  std::vector<std::uint8_t> head(kHeaderObjectPrefix);
  if (!read_exact(f.get(), head.data(), head.size()) ||
      !asf::guid_equals(head.data(), asf::kHeaderObject)) {
    return Status(Code::kMalformed, "not an ASF file (no Header Object)");
  }
  const std::uint64_t hsize = load_le(head.data() + 16, 8);
  if (hsize < kHeaderObjectPrefix || hsize > limits::kMaxAsfHeaderBytes) {
    return Status(Code::kMalformed, "bad Header Object size");
  }
  const std::size_t total = static_cast<std::size_t>(hsize) + asf::kDataObjectPrefixSize;
  head.resize(total);
  if (!read_exact(f.get(), head.data() + kHeaderObjectPrefix, total - kHeaderObjectPrefix)) {
    return Status(Code::kMalformed, "the file ends inside the ASF header");
  }
  Result<HeaderLayout> layout = parse_layout(ByteView(head));
  if (!layout.ok()) {
    return layout.status();
  }
  scan.layout = std::move(*layout);
  const asf::HeaderInfo& info = scan.layout.info;

  std::optional<std::uint64_t> limit = max_packets;
  if (!limit && !info.broadcast() && scan.layout.declared_packets != 0) {
    limit = scan.layout.declared_packets;
  }
  PacketStats stats(info);
  std::vector<std::uint8_t> packet(info.packet_size);
  for (;;) {
    if (limit && stats.packets() >= *limit) {
      break;
    }
    if (!read_exact(f.get(), packet.data(), packet.size())) {
      break;
    }
    if (asf::guid_equals(packet.data(), asf::kHeaderObject)) {
      scan.stream_change = true;
      break;
    }
    if (!stats.add(ByteView(packet))) {
      break;
    }
    if (stats.last_send_count() == 1) {
      scan.tail.clear();
    }
    if (scan.tail.size() >= kMaxTail) {
      scan.tail.erase(scan.tail.begin());
    }
    scan.tail.push_back(packet);
  }
  scan.packets = stats.packets();
  scan.data_end = info.total_size + scan.packets * info.packet_size;
  scan.first_send_ms = stats.first_send_ms();
  scan.last_send_ms = stats.last_send_ms();
  scan.last_send_count = stats.last_send_count();
  scan.end_ms = stats.end_ms();
  scan.keys = stats.key_points();
  scan.indexed_stream = stats.indexed_stream();
  return scan;
}

// ---------------------------------------------------------------------------
// Simple Index

std::vector<std::uint8_t> build_simple_index(const asf::Guid& file_id,
                                             const std::vector<KeyPoint>& keys_in,
                                             std::uint32_t end_ms) {
  if (keys_in.empty()) {
    return {};
  }
  std::vector<KeyPoint> keys = keys_in;
  std::stable_sort(keys.begin(), keys.end(),
                   [](const KeyPoint& a, const KeyPoint& b) { return a.time_ms < b.time_ms; });
  const std::uint32_t entries = end_ms / 1000u + 1u;
  std::vector<std::uint8_t> out(56 + std::size_t{entries} * 6);
  std::memcpy(out.data(), asf::kSimpleIndexObject.data(), 16);
  store_le(out.data() + 16, out.size(), 8);
  std::memcpy(out.data() + 24, file_id.data(), 16);
  store_le(out.data() + 40, 10000000u, 8);  // 1 s in 100 ns units
  std::uint32_t max_count = 0;
  std::size_t k = 0;
  for (std::uint32_t i = 0; i < entries; ++i) {
    const std::uint64_t t = std::uint64_t{i} * 1000u;
    while (k + 1 < keys.size() && keys[k + 1].time_ms <= t) {
      ++k;
    }
    const KeyPoint& key = keys[k];
    const std::uint32_t count = std::min<std::uint32_t>(key.packet_count, 0xFFFFu);
    max_count = std::max(max_count, count);
    std::uint8_t* e = out.data() + 56 + std::size_t{i} * 6;
    store_le(e, key.packet, 4);
    store_le(e + 4, count, 2);
  }
  store_le(out.data() + 48, max_count, 4);
  store_le(out.data() + 52, entries, 4);
  return out;
}

// ---------------------------------------------------------------------------
// Finalise

Result<FinalizeReport> finalize_recording(const std::string& path,
                                          std::optional<std::uint64_t> max_packets) {
  Result<Scan> scanned = scan_recording(path, max_packets);
  if (!scanned.ok()) {
    return scanned.status();
  }
  Scan& scan = *scanned;
  HeaderLayout& layout = scan.layout;
  const asf::HeaderInfo& info = layout.info;

  std::error_code ec;
  std::filesystem::resize_file(path, scan.data_end, ec);
  if (ec) {
    return Status(Code::kLocalMisuse, "cannot truncate the file");
  }

  const std::vector<std::uint8_t> index =
      build_simple_index(info.file_id, scan.keys,
                         static_cast<std::uint32_t>(
                             std::min<std::uint64_t>(scan.end_ms + info.preroll_ms, UINT32_MAX)));
  FinalizeReport report;
  report.packets = scan.packets;
  report.dropped_bytes = scan.file_size > scan.data_end ? scan.file_size - scan.data_end : 0;
  report.file_size = scan.data_end + index.size();
  report.stream_change = scan.stream_change;
  report.index_entries =
      index.empty() ? 0u : static_cast<std::uint32_t>(load_le(index.data() + 52, 4));
  report.indexed_stream = scan.indexed_stream;
  const std::uint64_t span_ms =
      scan.packets == 0 ? 0 : std::uint64_t{scan.end_ms} - scan.first_send_ms;
  const std::uint64_t send_ms =
      scan.packets == 0 ? 0 : std::uint64_t{scan.last_send_ms} - scan.first_send_ms;
  report.play_duration_100ns = scan.packets == 0 ? 0 : (span_ms + info.preroll_ms) * 10000u;
  report.send_duration_100ns = send_ms * 10000u;
  report.duration_ms = span_ms;

  std::uint8_t* fp = layout.header.data() + layout.file_properties;
  store_le(fp + kFpFileSize, report.file_size, 8);
  store_le(fp + kFpPacketCount, report.packets, 8);
  store_le(fp + kFpPlayDuration, report.play_duration_100ns, 8);
  store_le(fp + kFpSendDuration, report.send_duration_100ns, 8);
  std::uint32_t flags = static_cast<std::uint32_t>(load_le(fp + kFpFlags, 4));
  flags = (flags & ~1u) | 2u;  // not a broadcast, seekable
  store_le(fp + kFpFlags, flags, 4);
  std::uint8_t* data = layout.header.data() + info.header_object_size;
  store_le(data + kDoSize, asf::kDataObjectPrefixSize + report.packets * info.packet_size, 8);
  store_le(data + kDoPacketCount, report.packets, 8);

  File f(std::fopen(path.c_str(), "r+b"));
  if (!f) {
    return Status(Code::kNotFound, "cannot open the file for writing");
  }
  if (std::fwrite(layout.header.data(), 1, layout.header.size(), f.get()) != layout.header.size()) {
    return Status(Code::kLocalMisuse, "cannot write the header");
  }
  if (!index.empty()) {
    if (std::fseek(f.get(), 0, SEEK_END) != 0 ||
        std::fwrite(index.data(), 1, index.size(), f.get()) != index.size()) {
      return Status(Code::kLocalMisuse, "cannot write the index");
    }
  }
  if (std::fflush(f.get()) != 0) {
    return Status(Code::kLocalMisuse, "cannot write the file");
  }
  return report;
}

// ---------------------------------------------------------------------------
// StreamSplitter

void StreamSplitter::push(ByteView bytes) {
  if (pos_ > 0 && pos_ >= buf_.size() / 2) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ = 0;
  }
  buf_.insert(buf_.end(), bytes.data(), bytes.data() + bytes.size());
}

void StreamSplitter::set_header(const HeaderLayout& layout) {
  layout_ = layout;
  have_header_ = true;
}

StreamSplitter::Unit StreamSplitter::next() {
  Unit u;
  const std::size_t avail = buf_.size() - pos_;
  const std::uint8_t* p = buf_.data() + pos_;
  if (!have_header_ || (avail >= 16 && asf::guid_equals(p, asf::kHeaderObject))) {
    if (avail < kHeaderObjectPrefix) {
      return u;
    }
    if (!asf::guid_equals(p, asf::kHeaderObject)) {
      error_ = "the stream does not start with an ASF header";
      u.kind = Kind::kError;
      return u;
    }
    const std::uint64_t hsize = load_le(p + 16, 8);
    if (hsize < kHeaderObjectPrefix || hsize > limits::kMaxAsfHeaderBytes) {
      error_ = "bad ASF Header Object size";
      u.kind = Kind::kError;
      return u;
    }
    const std::size_t total = static_cast<std::size_t>(hsize) + asf::kDataObjectPrefixSize;
    if (avail < total) {
      return u;
    }
    Result<HeaderLayout> layout = parse_layout(ByteView(p, total));
    if (!layout.ok()) {
      error_ = layout.status().what();
      u.kind = Kind::kError;
      return u;
    }
    layout_ = std::move(*layout);
    have_header_ = true;
    u.kind = Kind::kHeader;
    u.bytes = ByteView(p, total);
    pos_ += total;
    return u;
  }
  const std::size_t size = layout_.info.packet_size;
  if (avail < size) {
    return u;
  }
  u.kind = Kind::kPacket;
  u.bytes = ByteView(p, size);
  pos_ += size;
  return u;
}

}  // namespace mms::record

// Publishing point fed packet by packet. See live_feed.h.
#include "protocol/server/live_feed.h"

#include <algorithm>
#include <utility>

#include "protocol/asf/guids.h"
#include "protocol/core/byte_reader.h"
#include "protocol/core/limits.h"

namespace mms::server {
namespace {

// GUID + 64-bit size: the head of every top-level ASF object.
constexpr std::size_t kObjectHead = 24;
constexpr std::size_t kGuidSize = 16;

// The layout of a streamed header (Header Object + Data Object prefix,
// exactly `header`): what AsfStreamReader and LiveFeed both accept.
Result<asf::FileLayout> scan_stream_header(ByteView header) {
  auto layout = asf::scan_file(header);
  if (!layout.ok()) {
    return layout.status();
  }
  if (layout->header_bytes != header.size() || layout->info.packet_size == 0 ||
      layout->info.packet_size > limits::kMaxAsfPacketSize) {
    return Status(Code::kMalformed, "ASF header has no usable packet size");
  }
  return layout;
}

bool is_index_object(const std::uint8_t* p) {
  return asf::guid_equals(p, asf::kSimpleIndexObject) || asf::guid_equals(p, asf::kIndexObject);
}

}  // namespace

// ---------------------------------------------------------------------------
// AsfStreamReader

Result<StreamItem> AsfStreamReader::next(ByteView in) {
  if (!failed_.ok()) {
    return failed_;
  }
  auto fail = [this](const char* why) {
    failed_ = Status(Code::kMalformed, why);
    return failed_;
  };
  StreamItem item;
  if (skip_left_ > 0) {
    if (in.empty()) {
      return item;
    }
    item.kind = StreamItem::Kind::kSkipped;
    item.size = static_cast<std::size_t>(std::min<std::uint64_t>(skip_left_, in.size()));
    skip_left_ -= item.size;
    return item;
  }
  const bool at_header = in.size() >= 16 && asf::guid_equals(in.data(), asf::kHeaderObject);
  if (packet_size_ == 0 || at_header) {
    if (in.size() < kObjectHead) {
      if (packet_size_ == 0 && in.size() >= 16 && !at_header) {
        return fail("ASF stream does not start with a Header Object");
      }
      return item;
    }
    if (!at_header) {
      return fail("ASF stream does not start with a Header Object");
    }
    const std::uint64_t object_size = load_u64le(in.data() + 16);
    if (object_size < 30 || object_size > limits::kMaxAsfHeaderBytes) {
      return fail("ASF Header Object size out of bounds");
    }
    const std::size_t total = static_cast<std::size_t>(object_size) + asf::kDataObjectPrefixSize;
    if (in.size() < total) {
      return item;
    }
    auto layout = scan_stream_header(in.subview(0, total));
    if (!layout.ok()) {
      failed_ = layout.status();
      return failed_;
    }
    packet_size_ = layout->info.packet_size;
    item.kind = StreamItem::Kind::kHeader;
    item.size = total;
    return item;
  }
  if (in.size() < kGuidSize) {
    return item;  // a packet or an object head: not known yet
  }
  if (is_index_object(in.data())) {
    if (in.size() < kObjectHead) {
      return item;
    }
    const std::uint64_t object_size = load_u64le(in.data() + 16);
    if (object_size < kObjectHead) {
      return fail("ASF index object size out of bounds");
    }
    skip_left_ = object_size;
    return next(in);
  }
  if (in.size() < packet_size_) {
    return item;
  }
  item.kind = StreamItem::Kind::kPacket;
  item.size = packet_size_;
  return item;
}

Status AsfStreamReader::finish(std::size_t left) const {
  if (!failed_.ok()) {
    return failed_;
  }
  if (skip_left_ > 0) {
    return Status(Code::kMalformed, "ASF stream ends inside an index object");
  }
  if (left != 0) {
    return Status(Code::kMalformed, packet_size_ == 0 ? "ASF stream ends inside its header"
                                                      : "ASF stream ends inside a packet");
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// FeedPacer

Instant FeedPacer::due(std::uint32_t send_ms, Instant now) {
  if (started_) {
    const Duration rel = (std::int64_t{send_ms} - std::int64_t{origin_send_ms_}) * kMillisecond;
    const Instant at = origin_ + rel;
    if (rel >= 0 && now - at <= kMaxLag) {
      return at;
    }
  }
  started_ = true;
  origin_ = now;
  origin_send_ms_ = send_ms;
  return now;
}

// ---------------------------------------------------------------------------
// LiveFeed

LiveFeed::LiveFeed(std::string name, FeedLimits limits) : name_(std::move(name)), limits_(limits) {}

Status LiveFeed::header(ByteView bytes) {
  auto layout = scan_stream_header(bytes);
  if (!layout.ok()) {
    return layout.status();
  }
  std::shared_ptr<Content> c(new Content());
  c->name_ = name_;
  c->live_ = true;
  c->fed_ = true;
  c->layout_ = std::move(*layout);
  c->layout_.packet_count = 0;
  c->header_.assign(bytes.begin(), bytes.end());
  MMS_TRY(asf::mark_broadcast(&c->header_));
  // A broadcast's Data Object has no size and no packet count (what asfmux
  // streamable=true writes): a file's count would make a client that joined
  // late wait for packets that never come (asfdemux then misses the next
  // header of a stream change).
  const std::size_t data = static_cast<std::size_t>(c->layout_.info.header_object_size);
  store_u64le(c->header_.data() + data + 16, asf::kDataObjectPrefixSize);
  store_u64le(c->header_.data() + data + 40, 0);
  video_ = Content::video_streams(c->layout_.info, &has_video_);
  if (current_) {
    // Indices continue, so a client's position never goes back.
    c->first_ = current_->packet_count();
    current_->ended_ = true;
    current_->successor_ = c;
  }
  current_ = std::move(c);
  have_key_ = false;
  bytes_ = 0;
  ++headers_;
  return Status::Ok();
}

Status LiveFeed::packet(ByteView bytes) {
  if (!current_) {
    return Status(Code::kLocalMisuse, "data packet before the first header");
  }
  Content& c = *current_;
  if (bytes.size() != c.packet_size()) {
    return Status(Code::kMalformed, "data packet of the wrong size");
  }
  if (c.packet_count() == UINT32_MAX) {
    return Status(Code::kLimitExceeded, "publishing point has too many packets");
  }
  const std::uint32_t last_send = c.packets_.empty() ? 0 : c.packets_.back().send_time_ms;
  c.packets_.push_back(Content::scan_packet(bytes, c.info(), video_, has_video_, last_send));
  c.fed_packets_.emplace_back(bytes.begin(), bytes.end());
  bytes_ += bytes.size();
  ++packets_;
  if (c.packets_.back().key) {
    last_key_ = c.packet_count() - 1;
    have_key_ = true;
  }
  trim();
  return Status::Ok();
}

void LiveFeed::trim() {
  Content& c = *current_;
  // Never dropped: the last key frame and after (no key frame yet: the
  // newest packet, and only the byte bound applies).
  const std::uint32_t keep_from = have_key_ ? last_key_ : c.packet_count() - 1;
  const std::uint64_t newest = c.packets_.back().send_time_ms;
  const auto window_ms = static_cast<std::uint64_t>(limits_.window / kMillisecond);
  while (c.first_ < keep_from) {
    const std::uint64_t oldest = c.packets_.front().send_time_ms;
    const bool too_old = have_key_ && newest > oldest && newest - oldest > window_ms;
    if (!too_old && bytes_ <= limits_.max_bytes) {
      break;
    }
    bytes_ -= c.fed_packets_.front().size();
    c.packets_.pop_front();
    c.fed_packets_.pop_front();
    ++c.first_;
  }
}

void LiveFeed::finish() {
  if (current_) {
    current_->ended_ = true;
  }
}

}  // namespace mms::server

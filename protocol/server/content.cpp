// The server's content model. See content.h.
#include "protocol/server/content.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "protocol/asf/packet.h"

namespace mms::server {
namespace {

// Live loop period when the content has a single packet.
constexpr std::uint32_t kDefaultPacketIntervalMs = 100;

}  // namespace

Result<std::shared_ptr<const Content>> Content::create(std::string name,
                                                       std::vector<std::uint8_t> file, bool live) {
  auto owner = std::make_shared<const std::vector<std::uint8_t>>(std::move(file));
  const ByteView view(*owner);
  return create(std::move(name), view, std::move(owner), live);
}

PacketMeta Content::scan_packet(ByteView packet, const asf::HeaderInfo& info,
                                const std::vector<bool>& video, bool has_video,
                                std::uint32_t last_send) {
  PacketMeta m;
  auto p = asf::parse_packet(packet, info.packet_size);
  if (!p.ok()) {
    m.send_time_ms = last_send;
    return m;
  }
  m.send_time_ms = p->send_time_ms;
  for (const asf::PayloadInfo& pl : p->payloads) {
    if (pl.object_offset == 0 && pl.presentation_ms < m.presentation_ms) {
      m.presentation_ms = pl.presentation_ms;
    }
  }
  if (!has_video) {
    m.key = true;
    return m;
  }
  for (const asf::PayloadInfo& pl : p->payloads) {
    if (pl.stream < 128 && video[pl.stream] && pl.keyframe && pl.object_offset == 0) {
      m.key = true;
      m.presentation_ms = pl.presentation_ms;
      break;
    }
  }
  return m;
}

std::vector<bool> Content::video_streams(const asf::HeaderInfo& info, bool* has_video) {
  std::vector<bool> video(128, false);
  *has_video = false;
  for (const asf::StreamInfo& s : info.streams) {
    if (s.type == asf::StreamType::kVideo && s.number < 128) {
      video[s.number] = true;
      *has_video = true;
    }
  }
  return video;
}

Result<std::shared_ptr<const Content>> Content::create(std::string name, ByteView file,
                                                       std::shared_ptr<const void> owner, bool live,
                                                       LargeBufferHint hint) {
  auto layout_or = asf::scan_file(file);
  if (!layout_or.ok()) {
    return layout_or.status();
  }
  std::shared_ptr<Content> c(new Content());
  c->name_ = std::move(name);
  c->live_ = live;
  c->file_ = file;
  c->owner_ = std::move(owner);
  c->hint_ = hint;
  c->layout_ = std::move(*layout_or);
  const asf::HeaderInfo& info = c->layout_.info;
  if (c->layout_.packet_count > UINT32_MAX) {
    return Status(Code::kLimitExceeded, "content has too many packets");
  }
  if (live && c->layout_.packet_count == 0) {
    return Status(Code::kMalformed, "live content has no data packets");
  }
  c->header_.assign(c->file_.begin(),
                    c->file_.begin() + static_cast<std::ptrdiff_t>(c->layout_.header_bytes));
  if (live) {
    MMS_TRY(asf::mark_broadcast(&c->header_));
  }

  bool has_video = false;
  const std::vector<bool> video = video_streams(info, &has_video);
  const auto count = static_cast<std::uint32_t>(c->layout_.packet_count);
  std::uint32_t last_send = 0;
  for (std::uint32_t i = 0; i < count; ++i) {
    c->packets_.push_back(scan_packet(c->packet(i), info, video, has_video, last_send));
    last_send = c->packets_.back().send_time_ms;
  }

  const std::uint64_t header_ms = info.duration_ns() / 1000000u;
  if (header_ms > 0 && header_ms < UINT32_MAX) {
    c->duration_ms_ = static_cast<std::uint32_t>(header_ms);
  } else if (count > 0) {
    const std::uint64_t last = c->packets_.back().send_time_ms;
    c->duration_ms_ =
        last > info.preroll_ms ? static_cast<std::uint32_t>(last - info.preroll_ms) : 0u;
  }
  if (count > 0) {
    const std::uint32_t first = c->packets_.front().send_time_ms;
    const std::uint32_t last = c->packets_.back().send_time_ms;
    const std::uint32_t span = last > first ? last - first : 0u;
    const std::uint32_t interval = count > 1 ? span / (count - 1) : kDefaultPacketIntervalMs;
    c->loop_period_ms_ = std::max<std::uint32_t>(1u, span + std::max<std::uint32_t>(interval, 1u));
  }
  return std::shared_ptr<const Content>(std::move(c));
}

ByteView Content::packet(std::uint32_t i) const {
  if (fed_) {
    return ByteView(fed_packets_[i - first_]);
  }
  const std::size_t ps = layout_.info.packet_size;
  return ByteView(file_.data() + layout_.first_packet + ps * i, ps);
}

bool Content::has_stream(std::uint16_t number) const {
  return layout_.info.find_stream(number) != nullptr;
}

std::uint32_t Content::key_at_or_before(std::uint32_t packet) const {
  if (packets_.empty()) {
    return packet;
  }
  packet = std::max(packet, first_);
  const std::uint32_t last = packet_count() - 1;
  for (std::uint32_t p = packet < last ? packet : last;; --p) {
    if (meta(p).key) {
      return p;
    }
    if (p == first_) {
      return packet;  // no key frame at or before: start where asked
    }
  }
}

std::uint32_t Content::live_start(std::uint32_t behind_ms) const {
  if (packets_.empty()) {
    return packet_count();
  }
  const std::uint64_t newest = packets_.back().send_time_ms;
  const std::uint64_t target = newest > behind_ms ? newest - behind_ms : 0;
  std::optional<std::uint32_t> oldest_key;
  for (std::uint32_t p = packet_count(); p > first_; --p) {
    const PacketMeta& m = meta(p - 1);
    if (!m.key) {
      continue;
    }
    if (m.send_time_ms <= target) {
      return p - 1;
    }
    oldest_key = p - 1;
  }
  return oldest_key ? *oldest_key : packet_count();
}

std::uint32_t Content::catch_up(std::uint32_t next) const {
  if (next >= first_) {
    return next;
  }
  for (std::uint32_t p = first_; p < packet_count(); ++p) {
    if (meta(p).key) {
      return p;
    }
  }
  return first_;
}

std::uint32_t Content::loop_join(Duration elapsed, std::uint32_t behind_ms,
                                 std::int64_t* iteration) const {
  const std::uint64_t first = packets_.empty() ? 0 : packets_.front().send_time_ms;
  const Duration period = Duration{loop_period_ms_} * kMillisecond;
  elapsed = std::max<Duration>(0, elapsed);
  *iteration = elapsed / period;
  std::uint64_t target = first + static_cast<std::uint64_t>((elapsed % period) / kMillisecond);
  target = target >= first + behind_ms ? target - behind_ms : first;
  return key_at_send_time(target);
}

std::uint64_t content_bps(const Content& c) {
  if (c.info().max_bitrate != 0) {
    return c.info().max_bitrate;
  }
  std::uint64_t sum = 0;
  for (const asf::StreamInfo& st : c.info().streams) {
    sum += st.bitrate;
  }
  return sum;
}

std::uint32_t Content::key_at_send_time(std::uint64_t send_ms) const {
  std::uint32_t at = first_;
  for (std::uint32_t i = first_; i < packet_count(); ++i) {
    if (meta(i).send_time_ms <= send_ms) {
      at = i;
    } else {
      break;
    }
  }
  return key_at_or_before(at);
}

std::uint32_t Content::start_for_presentation(std::uint64_t presentation_ms) const {
  std::optional<std::uint32_t> key;
  bool timed_keys = false;
  for (std::uint32_t i = first_; i < packet_count(); ++i) {
    const PacketMeta& m = meta(i);
    if (m.key && m.presentation_ms != PacketMeta::kNoTime) {
      timed_keys = true;
      if (m.presentation_ms <= presentation_ms) {
        key = i;
      }
    }
  }
  if (key) {
    return *key;
  }
  if (timed_keys) {
    return first_;  // before the first key frame: from the start
  }
  return key_at_send_time(presentation_ms);
}

const FramedPackets* Content::framed(bool strip, FrameEncoder encode) const {
  if (fed_) {
    return nullptr;
  }
  const std::size_t k = strip ? 1 : 0;
  std::call_once(framed_once_[k],
                 [this, strip, encode, k] { build_framed(strip, encode, &framed_[k]); });
  return &framed_[k];
}

void Content::build_framed(bool strip, FrameEncoder encode, FramedPackets* out) const {
  const std::uint32_t count = packet_count();
  out->offsets.reserve(std::size_t{count} + 1);
  out->bytes.reserve(std::size_t{count} * (packet_size() + 12u));
  if (hint_ != nullptr) {
    hint_(out->bytes.data(), out->bytes.capacity());
  }
  std::vector<std::uint8_t> stripped;
  for (std::uint32_t i = 0; i < count; ++i) {
    out->offsets.push_back(out->bytes.size());
    ByteView payload = packet(i);
    if (strip && asf::padding_strippable(payload, packet_size()) &&
        asf::strip_padding(payload, packet_size(), &stripped).ok()) {
      payload = ByteView(stripped);
    }
    encode(i, payload, &out->bytes);
  }
  out->offsets.push_back(out->bytes.size());
}

}  // namespace mms::server

#include "protocol/session/stream_switch.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "protocol/asf/packet.h"

namespace mms::session {
namespace {

constexpr std::size_t kStreamSlots = 128;  // ASF stream numbers are 1..127

bool selected(const std::vector<asf::StreamChoice>& choices, std::uint16_t number) {
  return std::any_of(choices.begin(), choices.end(), [number](const asf::StreamChoice& c) {
    return c.number == number && c.selected;
  });
}

}  // namespace

void StreamSwitcher::arm(std::shared_ptr<const asf::HeaderInfo> info,
                         const std::vector<asf::StreamChoice>& before,
                         const std::vector<asf::StreamChoice>& after) {
  info_ = std::move(info);
  added_.assign(kStreamSlots, false);
  keep_.assign(kStreamSlots, true);
  adds_any_ = false;
  for (const asf::StreamChoice& c : after) {
    if (c.number >= kStreamSlots || !c.selected || selected(before, c.number)) {
      continue;
    }
    added_[c.number] = true;
    keep_[c.number] = false;
    adds_any_ = true;
  }
  armed_ = info_ != nullptr;
}

StreamSwitcher::Offer StreamSwitcher::offer(ByteView packet) {
  Offer o;
  if (!armed_) {
    return o;
  }
  Result<asf::PacketInfo> parsed = asf::parse_packet(packet, info_->packet_size);
  if (!parsed.ok()) {
    return o;  // not ours to judge: downstream sees it as it came
  }
  bool starts_added = !adds_any_;
  bool has_added = false;
  std::uint32_t first = UINT32_MAX;
  for (const asf::PayloadInfo& p : parsed->payloads) {
    const bool added = p.stream < kStreamSlots && added_[p.stream];
    has_added = has_added || added;
    starts_added = starts_added || (added && p.keyframe && p.object_offset == 0);
    if (p.presentation_ms != 0) {
      first = std::min(first, p.presentation_ms);
    }
  }
  const std::uint64_t preroll = info_->preroll_ms;
  if (starts_added) {
    // The content time of the packet's first payload: where the new entry's
    // timestamps start (asfdemux counts them from its first payload); the
    // send time when no payload tells its presentation time.
    const std::uint64_t at = first != UINT32_MAX ? first : parsed->send_time_ms + preroll;
    o.kind = Offer::Kind::kSwitch;
    o.continues_at_ms = at > preroll ? at - preroll : 0;
    armed_ = false;
    return o;
  }
  if (!has_added) {
    return o;
  }
  bool empty = false;
  if (!asf::filter_streams(packet, info_->packet_size, keep_, &o.packet, &empty).ok()) {
    o.packet.clear();
    return o;
  }
  o.kind = empty ? Offer::Kind::kDrop : Offer::Kind::kFiltered;
  return o;
}

}  // namespace mms::session

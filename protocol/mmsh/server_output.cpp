// MMSH server session, output: packet timing, $D frames, the end of an entry
// or of the stream, the framed cache for a growing feed, and the output the
// listener reads. See server_session.h and docs/protocols/wmsp-reference.md.
#include <algorithm>
#include <cstring>
#include <utility>

#include "protocol/asf/packet.h"
#include "protocol/core/limits.h"
#include "protocol/core/log.h"
#include "protocol/core/text.h"
#include "protocol/mmsh/framing.h"
#include "protocol/mmsh/server_session.h"
#include "protocol/session/metadata.h"

namespace mms::mmsh {

using server::Content;
using server::content_bps;
using server::PacketMeta;

namespace {

constexpr const char* kLog = "mmsh-server";
// Offsets inside an MMS data frame: byte 0 sync, 9 AFFlags.
constexpr std::size_t kAfFlagsOffset = 9;
// Fault truncate: the $D frame (1-based) cut in the middle.
constexpr std::uint32_t kTruncateFrame = 5;

}  // namespace

// ---------------------------------------------------------------------------
// ServerSession: output

Instant ServerSession::due_time(std::uint32_t packet) const {
  if (content_->live()) {
    return content_->loop_due(config_->live_epoch, live_iteration_, packet);
  }
  return play_start_ + accel_.offset(content_->send_ms_since(packet, start_send_ms_));
}

void ServerSession::append_packet_frame(std::uint32_t packet) {
  const std::size_t at = pending_.size();
  if (framed_ != nullptr) {
    const std::size_t b = framed_->offsets[packet];
    const std::size_t e = framed_->offsets[std::size_t{packet} + 1];
    pending_.insert(pending_.end(), framed_->bytes.begin() + static_cast<std::ptrdiff_t>(b),
                    framed_->bytes.begin() + static_cast<std::ptrdiff_t>(e));
    pending_[at + kAfFlagsOffset] = static_cast<std::uint8_t>(d_count_ & 0xFFu);
  } else {
    ByteView src = content_->packet(packet);
    bool empty = false;
    if (!keep_.empty() &&
        asf::filter_streams(src, content_->packet_size(), keep_, &scratch_, &empty).ok()) {
      if (empty) {
        return;  // nothing of the selected streams: skip the packet (LocationId jumps)
      }
      src = ByteView(scratch_);
    }
    if (!config_->keep_padding && asf::padding_strippable(src, content_->packet_size()) &&
        asf::strip_padding(src, content_->packet_size(), &scratch2_).ok()) {
      src = ByteView(scratch2_);
    }
    encode_data_frame(kFrameData, packet, 0, static_cast<std::uint8_t>(d_count_ & 0xFFu), src,
                      &pending_);
  }
  ++d_count_;
  const std::size_t frame = pending_.size() - at;
  if (config_->fault == Fault::kTruncate && d_count_ == kTruncateFrame) {
    cut_at_ = produced_ + at + frame / 2;
  }
}

void ServerSession::produce_end(Instant now) {
  if (next_entry_ < entries_.size() && !content_->live()) {
    // The next playlist entry: $E(1) $C(0) $H, then its packets from the
    // first, paced from now, all streams (the selection named the old ones).
    encode_reason_frame(kFrameEnd, 1, &pending_);
    encode_reason_frame(kFrameChange, 0, &pending_);
    content_ = entries_[next_entry_++];
    append_header_frames(&pending_);
    all_streams();
    next_packet_ = 0;
    start_packet_ = 0;
    play_start_ = now;
    start_send_ms_ = content_->packet_count() > 0 ? content_->meta(0).send_time_ms : 0;
    accel_ = FastStart();
    MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: playlist entry %zu of %zu", client_id_,
            next_entry_ + 1, entries_.size() + 1);
    return;
  }
  if (content_->live()) {
    // Server-side playlist style loop (docs/protocols/wmsp-reference.md §9.2):
    // $E(1) $C(0) $H, packets from 0.
    encode_reason_frame(kFrameEnd, 1, &pending_);
    encode_reason_frame(kFrameChange, 0, &pending_);
    append_header_frames(&pending_);
    next_packet_ = 0;
    ++live_iteration_;
    return;
  }
  encode_reason_frame(kFrameEnd, 0, &pending_);
  state_ = State::kDone;
}

void ServerSession::produce_fed() {
  if (const std::uint32_t to = content_->catch_up(next_packet_); to != next_packet_) {
    // The client fell behind the feed's window: on from its oldest key frame.
    MMS_LOG(LogLevel::kWarning, kLog, "client-id=%u: too slow for the feed: packets %u..%u skipped",
            client_id_, next_packet_, to);
    next_packet_ = to;
  }
  while (next_packet_ < content_->packet_count() && pending_.size() < kOutputBatchBytes) {
    append_packet_frame(next_packet_++);
  }
  if (next_packet_ >= content_->packet_count() && content_->ended() && pending_.size() == 0) {
    std::shared_ptr<const Content> next = content_->successor();
    if (!next) {
      encode_reason_frame(kFrameEnd, 0, &pending_);
      state_ = State::kDone;
    } else {
      // A new header upstream: a stream change (docs/protocols/wmsp-reference.md §9.2).
      encode_reason_frame(kFrameEnd, 1, &pending_);
      encode_reason_frame(kFrameChange, 0, &pending_);
      content_ = std::move(next);
      append_header_frames(&pending_);
      all_streams();
      next_packet_ = content_->first_packet();
      MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: stream change on %s", client_id_,
              content_->name().c_str());
    }
  }
  produced_ += pending_.size();
}

void ServerSession::produce(Instant now) {
  if (state_ != State::kStreaming) {
    return;
  }
  if (content_->fed()) {
    produce_fed();
    return;
  }
  const std::uint32_t count = content_->packet_count();
  const Instant horizon = now + kPacingSlack;
  auto due = [&](std::uint32_t p) { return !paced_ || due_time(p) <= horizon; };
  if (next_packet_ >= count) {
    produce_end(now);
    produced_ += pending_.size();
    return;
  }
  if (!due(next_packet_)) {
    return;
  }
  if (framed_ != nullptr && config_->fault != Fault::kTruncate &&
      ((d_count_ - next_packet_) & 0xFFu) == 0) {
    // Zero copy: a run of cached frames whose AFFlags already match the $D counter.
    const std::vector<std::size_t>& off = framed_->offsets;
    const std::uint32_t a = next_packet_;
    std::uint32_t b = a + 1;
    while (b < count && off[std::size_t{b} + 1] - off[a] <= kOutputBatchBytes && due(b)) {
      ++b;
    }
    zc_base_ = framed_->bytes.data();
    zc_pos_ = off[a];
    zc_end_ = off[b];
    produced_ += zc_end_ - zc_pos_;
    d_count_ += b - a;
    next_packet_ = b;
    return;
  }
  while (next_packet_ < count && pending_.size() < kOutputBatchBytes && due(next_packet_) &&
         cut_at_ == UINT64_MAX) {
    append_packet_frame(next_packet_++);
  }
  produced_ += pending_.size();
}

std::size_t ServerSession::clamp_to_cut(std::size_t n) const {
  if (cut_at_ == UINT64_MAX) {
    return n;
  }
  const std::uint64_t left = cut_at_ > written_ ? cut_at_ - written_ : 0;
  return left < n ? static_cast<std::size_t>(left) : n;
}

ByteView ServerSession::next_output(Instant now) {
  now_ = now;
  if (peer_gone_) {
    return ByteView();
  }
  if (!output_pending() && state_ == State::kDone && keep_alive_) {
    next_request(now);
  }
  if (!output_pending()) {
    pending_.clear();
    pending_pos_ = 0;
    zc_pos_ = zc_end_ = 0;
    if (written_ < cut_at_) {
      produce(now);
    }
    progress_at_ = now;  // the idle bound counts from what is handed out now
  }
  if (pending_pos_ < pending_.size()) {
    return ByteView(pending_.data() + pending_pos_, clamp_to_cut(pending_.size() - pending_pos_));
  }
  if (zc_pos_ < zc_end_) {
    return ByteView(zc_base_ + zc_pos_, clamp_to_cut(zc_end_ - zc_pos_));
  }
  return ByteView();
}

void ServerSession::consume_output(std::size_t n) {
  if (pending_pos_ < pending_.size()) {
    pending_pos_ += std::min(n, pending_.size() - pending_pos_);
  } else if (zc_pos_ < zc_end_) {
    zc_pos_ += std::min(n, zc_end_ - zc_pos_);
  }
  written_ += n;
  if (n > 0) {
    progress_at_ = now_;
  }
}

bool ServerSession::wants_close() const {
  if (peer_gone_ || written_ >= cut_at_) {
    return true;
  }
  return state_ == State::kDone && !keep_alive_ && pending_pos_ >= pending_.size() &&
         zc_pos_ >= zc_end_;
}

}  // namespace mms::mmsh

// Feeding a publishing point. See feeder.h.
#include "tools/server/feeder.h"

#include <utility>

#include "protocol/asf/packet.h"
#include "protocol/io/listener.h"

namespace mms::server {

StreamFeeder::StreamFeeder(Server* server, std::string name, Wait wait)
    : server_(server), name_(std::move(name)), wait_(std::move(wait)) {}

Status StreamFeeder::push(ByteView bytes) {
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  buf_.insert(buf_.end(), bytes.begin(), bytes.end());
  return drain();
}

Status StreamFeeder::drain() {
  for (;;) {
    const ByteView in(buf_.data() + pos_, buf_.size() - pos_);
    Result<StreamItem> item = reader_.next(in);
    if (!item.ok()) {
      return item.status();
    }
    if (item->kind == StreamItem::Kind::kNeedMore) {
      break;
    }
    const ByteView bytes = in.subview(0, item->size);
    if (item->kind == StreamItem::Kind::kHeader) {
      MMS_TRY(server_->feed_header(name_, bytes));
      pacer_.on_header();
      ++headers_;
    } else if (item->kind == StreamItem::Kind::kPacket) {
      if (wait_) {
        Result<asf::PacketInfo> p = asf::parse_packet(bytes, reader_.packet_size());
        if (p.ok()) {
          const Instant now = io::monotonic_now();
          const Instant due = pacer_.due(p->send_time_ms, now);
          if (due > now && !wait_(due)) {
            return Status(Code::kCancelled, "feeding interrupted");
          }
        }
      }
      MMS_TRY(server_->feed_packet(name_, bytes));
      ++packets_;
    }
    pos_ += item->size;
  }
  if (pos_ > 64 * 1024) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ = 0;
  }
  return Status::Ok();
}

Status StreamFeeder::finish() {
  const Status st = reader_.finish(buf_.size() - pos_);
  const Status end = server_->feed_end(name_);
  MMS_TRY(st);
  return end;
}

}  // namespace mms::server

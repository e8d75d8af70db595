#include "protocol/io/output_queue.h"

#include <chrono>

namespace mms::io {

bool OutputQueue::push(Item item) {
  std::lock_guard<std::mutex> lock(mu_);
  if (item.epoch < epoch_) {
    return bytes_ >= high_;
  }
  bytes_ += item.block.size();
  items_.push_back(std::move(item));
  if (bytes_ >= high_) {
    was_high_ = true;
  }
  cv_.notify_all();
  return bytes_ >= high_;
}

void OutputQueue::begin_epoch(std::uint64_t epoch) {
  bool notify_low = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    epoch_ = epoch;
    items_.clear();
    bytes_ = 0;
    notify_low = was_high_;
    was_high_ = false;
    cv_.notify_all();
  }
  if (notify_low && on_low_) {
    on_low_();
  }
}

std::uint64_t OutputQueue::epoch() const {
  std::lock_guard<std::mutex> lock(mu_);
  return epoch_;
}

OutputQueue::Wait OutputQueue::pop(Item* out) {
  bool notify_low = false;
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return flushing_ || !items_.empty(); });
    if (flushing_) {
      return Wait::kFlushing;
    }
    *out = std::move(items_.front());
    items_.pop_front();
    bytes_ -= out->block.size();
    if (was_high_ && bytes_ <= low_) {
      was_high_ = false;
      notify_low = true;
    }
  }
  if (notify_low && on_low_) {
    on_low_();
  }
  return Wait::kItem;
}

OutputQueue::Wait OutputQueue::peek_first(std::uint64_t epoch, Item::Kind* kind,
                                          std::uint32_t* first_packet, int timeout_ms,
                                          bool* timed_out) {
  std::unique_lock<std::mutex> lock(mu_);
  *timed_out = false;
  auto ready = [&] {
    if (flushing_) {
      return true;
    }
    for (const Item& it : items_) {
      if (it.epoch == epoch && it.kind != Item::Kind::kHeader) {
        return true;
      }
    }
    return false;
  };
  if (!cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), ready)) {
    *timed_out = true;
    return Wait::kItem;
  }
  if (flushing_) {
    return Wait::kFlushing;
  }
  for (const Item& it : items_) {
    if (it.epoch == epoch && it.kind != Item::Kind::kHeader) {
      *kind = it.kind;
      *first_packet = it.first_packet;
      break;
    }
  }
  return Wait::kItem;
}

void OutputQueue::set_flushing(bool flushing) {
  std::lock_guard<std::mutex> lock(mu_);
  flushing_ = flushing;
  cv_.notify_all();
}

bool OutputQueue::above_high() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_ >= high_;
}

std::size_t OutputQueue::bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_;
}

}  // namespace mms::io

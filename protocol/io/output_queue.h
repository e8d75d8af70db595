// OutputQueue: the bounded hand-over from the I/O thread to the streaming
// thread. Items carry ASF bytes (header or runs of padded data packets) or a
// terminal outcome. Thread-safe; waits are cancellable by set_flushing().
#pragma once

#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "protocol/asf/header_parser.h"
#include "protocol/core/status.h"
#include "protocol/session/metadata.h"

namespace mms::io {

// A malloc'd block of bytes whose ownership travels with the item; release()
// hands it to the consumer, who frees it with std::free.
class Block {
 public:
  Block() = default;
  explicit Block(std::size_t capacity)
      : data_(static_cast<std::uint8_t*>(std::malloc(capacity))), capacity_(capacity) {}
  Block(Block&& o) noexcept : data_(o.data_), size_(o.size_), capacity_(o.capacity_) {
    o.data_ = nullptr;
    o.size_ = o.capacity_ = 0;
  }
  Block& operator=(Block&& o) noexcept {
    if (this != &o) {
      std::free(data_);
      data_ = o.data_;
      size_ = o.size_;
      capacity_ = o.capacity_;
      o.data_ = nullptr;
      o.size_ = o.capacity_ = 0;
    }
    return *this;
  }
  Block(const Block&) = delete;
  Block& operator=(const Block&) = delete;
  ~Block() { std::free(data_); }

  std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return capacity_; }
  std::size_t room() const { return capacity_ - size_; }
  void grow(std::size_t n) { size_ += n; }
  // Transfers ownership of the memory (free with std::free).
  std::uint8_t* release() {
    std::uint8_t* d = data_;
    data_ = nullptr;
    size_ = capacity_ = 0;
    return d;
  }

 private:
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

struct Item {
  enum class Kind : std::uint8_t { kHeader, kData, kEos, kError };
  Kind kind = Kind::kData;
  std::uint64_t epoch = 0;  // seek generation the item belongs to
  // kHeader
  std::shared_ptr<const std::vector<std::uint8_t>> header;
  std::shared_ptr<const asf::HeaderInfo> info;
  bool changed = false;
  std::shared_ptr<const session::EntryMetadata> metadata;  // null: none
  // The selected streams changed: the same content goes on from this content
  // time (ms) with other streams (session::Event::continues_at_ms).
  std::optional<std::uint64_t> continues_at_ms;
  bool playlist = false;  // session::Event::playlist
  // kData: padded packets, back to back
  Block block;
  std::uint32_t first_packet = 0;
  std::uint32_t packet_count = 0;
  bool discont = false;
  // kError
  Status status;
  std::string detail;
};

class OutputQueue {
 public:
  enum class Wait : std::uint8_t { kItem, kFlushing };

  // high/low: byte watermarks for back-pressure. `on_low` runs (on the
  // consumer's thread, without the lock) when the queue drains below `low`
  // after having been above `high`.
  OutputQueue(std::size_t high, std::size_t low) : high_(high), low_(low) {}

  void set_on_low(std::function<void()> f) { on_low_ = std::move(f); }

  // Producer side. Items of an epoch older than the current one are dropped.
  // Returns true when the queue is at or above the high watermark.
  bool push(Item item);
  // Starts a new epoch: drops every queued item.
  void begin_epoch(std::uint64_t epoch);
  std::uint64_t epoch() const;

  // Consumer side: waits for the next item of the current epoch.
  Wait pop(Item* out);
  // Waits until the first data item (or header/eos/error) of `epoch` is queued
  // and copies its kind, first packet and status; does not remove it.
  // Returns kFlushing when flushing, or false via *timed_out after `timeout_ms`.
  Wait peek_first(std::uint64_t epoch, Item::Kind* kind, std::uint32_t* first_packet,
                  int timeout_ms, bool* timed_out);

  void set_flushing(bool flushing);
  bool above_high() const;
  std::size_t bytes() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> items_;
  std::size_t bytes_ = 0;
  std::size_t high_;
  std::size_t low_;
  bool flushing_ = false;
  bool was_high_ = false;
  std::uint64_t epoch_ = 0;
  std::function<void()> on_low_;
};

}  // namespace mms::io

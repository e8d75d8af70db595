// io::OutputQueue: the hand-over from the I/O thread to the streaming thread.
// Epochs (a seek drops what was queued before it), the byte watermarks that
// drive back-pressure, and flushing (GstBaseSrc::unlock) waking every wait.
#include <cstring>
#include <thread>

#include <gtest/gtest.h>

#include "protocol/io/output_queue.h"

namespace mms::io {
namespace {

Item data(std::uint64_t epoch, std::size_t bytes, std::uint32_t first_packet = 0) {
  Item it;
  it.kind = Item::Kind::kData;
  it.epoch = epoch;
  it.block = Block(bytes);
  std::memset(it.block.data(), static_cast<int>(first_packet & 0xFFu), bytes);
  it.block.grow(bytes);
  it.first_packet = first_packet;
  it.packet_count = 1;
  return it;
}

Item header(std::uint64_t epoch) {
  Item it;
  it.kind = Item::Kind::kHeader;
  it.epoch = epoch;
  it.header = std::make_shared<const std::vector<std::uint8_t>>(std::vector<std::uint8_t>{1, 2, 3});
  return it;
}

TEST(OutputQueue, ItemsComeOutInOrderWithTheirBytes) {
  OutputQueue q(1000, 500);
  EXPECT_FALSE(q.push(header(0)));
  EXPECT_FALSE(q.push(data(0, 10, 7)));
  EXPECT_FALSE(q.push(data(0, 20, 8)));
  EXPECT_EQ(q.bytes(), 30u);  // headers are not counted against the watermarks
  Item it;
  ASSERT_EQ(q.pop(&it), OutputQueue::Wait::kItem);
  EXPECT_EQ(it.kind, Item::Kind::kHeader);
  ASSERT_EQ(q.pop(&it), OutputQueue::Wait::kItem);
  EXPECT_EQ(it.first_packet, 7u);
  EXPECT_EQ(it.block.size(), 10u);
  EXPECT_EQ(it.block.data()[9], 7);
  ASSERT_EQ(q.pop(&it), OutputQueue::Wait::kItem);
  EXPECT_EQ(it.first_packet, 8u);
  EXPECT_EQ(q.bytes(), 0u);
}

TEST(OutputQueue, ANewEpochDropsWhatWasQueuedAndLateItemsOfTheOldOne) {
  OutputQueue q(1000, 500);
  q.push(data(0, 100, 1));
  q.push(data(0, 100, 2));
  q.begin_epoch(1);
  EXPECT_EQ(q.epoch(), 1u);
  EXPECT_EQ(q.bytes(), 0u);
  q.push(data(0, 100, 3));  // the I/O thread had it made before the seek reached it
  EXPECT_EQ(q.bytes(), 0u);
  q.push(data(1, 50, 40));
  Item it;
  ASSERT_EQ(q.pop(&it), OutputQueue::Wait::kItem);
  EXPECT_EQ(it.epoch, 1u);
  EXPECT_EQ(it.first_packet, 40u);
}

TEST(OutputQueue, HighWatermarkReportedAndLowCalledbackOncePerCrossing) {
  OutputQueue q(100, 50);
  int lows = 0;
  q.set_on_low([&lows] { ++lows; });
  EXPECT_FALSE(q.push(data(0, 40)));
  EXPECT_FALSE(q.push(data(0, 40)));
  EXPECT_TRUE(q.push(data(0, 40)));  // 120 >= 100: the producer stops reading
  EXPECT_TRUE(q.above_high());
  Item it;
  q.pop(&it);  // 80: still above low
  EXPECT_EQ(lows, 0);
  EXPECT_FALSE(q.above_high());
  q.pop(&it);  // 40 <= 50: the producer may read again
  EXPECT_EQ(lows, 1);
  q.pop(&it);
  EXPECT_EQ(lows, 1);  // no second call without a new crossing of high
  // Below high all along: never called.
  q.push(data(0, 60));
  q.pop(&it);
  EXPECT_EQ(lows, 1);
  // A seek while above high resumes the producer too.
  q.push(data(0, 200));
  q.begin_epoch(1);
  EXPECT_EQ(lows, 2);
}

TEST(OutputQueue, FlushingWakesABlockedPopAndStaysUntilCleared) {
  OutputQueue q(1000, 500);
  OutputQueue::Wait got = OutputQueue::Wait::kItem;
  std::thread consumer([&] {
    Item it;
    got = q.pop(&it);  // nothing queued: blocks until flushing
  });
  q.set_flushing(true);
  consumer.join();
  EXPECT_EQ(got, OutputQueue::Wait::kFlushing);
  // While flushing, even a queued item is not handed out.
  q.push(data(0, 10, 5));
  Item it;
  EXPECT_EQ(q.pop(&it), OutputQueue::Wait::kFlushing);
  q.set_flushing(false);
  ASSERT_EQ(q.pop(&it), OutputQueue::Wait::kItem);
  EXPECT_EQ(it.first_packet, 5u);
}

TEST(OutputQueue, APopWaitsForTheProducer) {
  OutputQueue q(1000, 500);
  Item it;
  std::thread producer([&q] { q.push(data(0, 10, 9)); });
  ASSERT_EQ(q.pop(&it), OutputQueue::Wait::kItem);
  producer.join();
  EXPECT_EQ(it.first_packet, 9u);
}

TEST(OutputQueue, PeekFirstFindsTheFirstNonHeaderItemOfTheEpochWithoutTakingIt) {
  OutputQueue q(1000, 500);
  q.begin_epoch(3);
  q.push(header(3));
  q.push(data(3, 10, 120));
  Item::Kind kind = Item::Kind::kHeader;
  std::uint32_t first = 0;
  bool timed_out = true;
  ASSERT_EQ(q.peek_first(3, &kind, &first, 1000, &timed_out), OutputQueue::Wait::kItem);
  EXPECT_FALSE(timed_out);
  EXPECT_EQ(kind, Item::Kind::kData);
  EXPECT_EQ(first, 120u);
  Item it;
  ASSERT_EQ(q.pop(&it), OutputQueue::Wait::kItem);
  EXPECT_EQ(it.kind, Item::Kind::kHeader);  // still there, in order
  ASSERT_EQ(q.pop(&it), OutputQueue::Wait::kItem);
  EXPECT_EQ(it.first_packet, 120u);
  // An error answers the peek too.
  Item err;
  err.kind = Item::Kind::kError;
  err.epoch = 3;
  q.push(std::move(err));
  ASSERT_EQ(q.peek_first(3, &kind, &first, 1000, &timed_out), OutputQueue::Wait::kItem);
  EXPECT_EQ(kind, Item::Kind::kError);
}

TEST(OutputQueue, PeekFirstEndsOnFlushingOrItsBound) {
  OutputQueue q(1000, 500);
  Item::Kind kind = Item::Kind::kData;
  std::uint32_t first = 0;
  bool timed_out = false;
  // Only a header of the epoch: not an answer; the bound ends the wait.
  q.push(header(0));
  ASSERT_EQ(q.peek_first(0, &kind, &first, 1, &timed_out), OutputQueue::Wait::kItem);
  EXPECT_TRUE(timed_out);
  // Another epoch's data is not an answer either.
  q.push(data(0, 10));
  ASSERT_EQ(q.peek_first(1, &kind, &first, 1, &timed_out), OutputQueue::Wait::kItem);
  EXPECT_TRUE(timed_out);
  OutputQueue::Wait got = OutputQueue::Wait::kItem;
  std::thread seeker([&] {
    bool t = false;
    got = q.peek_first(5, &kind, &first, 600000, &t);  // unbounded for the test's purposes
  });
  q.set_flushing(true);
  seeker.join();
  EXPECT_EQ(got, OutputQueue::Wait::kFlushing);
}

}  // namespace
}  // namespace mms::io

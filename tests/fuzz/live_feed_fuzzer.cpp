// Fuzzes a publishing point's input: the bytes are an ASF stream, fed to
// AsfStreamReader in pieces whose sizes come from the first byte (1..256,
// 0 = whole); every item goes to a LiveFeed with a small window. Invariants:
// an item never exceeds the bytes offered, a packet has the header's packet
// size, the feed accepts every header and packet the reader produced, the
// window never loses the last key frame, and indices stay absolute.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "protocol/server/live_feed.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) {
    return 0;
  }
  const std::size_t step = data[0] == 0 ? size : data[0];
  mms::server::AsfStreamReader reader;
  mms::server::FeedLimits limits;
  limits.window = 200 * mms::kMillisecond;
  limits.max_bytes = 64 * 1024;
  mms::server::LiveFeed feed("fuzz", limits);
  std::vector<std::uint8_t> buf;
  std::size_t fed = 1;
  while (fed < size) {
    const std::size_t n = step < size - fed ? step : size - fed;
    buf.insert(buf.end(), data + fed, data + fed + n);
    fed += n;
    for (;;) {
      mms::Result<mms::server::StreamItem> item = reader.next(mms::ByteView(buf));
      if (!item.ok()) {
        return 0;
      }
      using Kind = mms::server::StreamItem::Kind;
      if (item->kind == Kind::kNeedMore) {
        break;
      }
      if (item->size == 0 || item->size > buf.size()) {
        std::abort();
      }
      const mms::ByteView bytes = mms::ByteView(buf).subview(0, item->size);
      if (item->kind == Kind::kHeader && !feed.header(bytes).ok()) {
        std::abort();  // the reader validated it
      }
      if (item->kind == Kind::kPacket) {
        if (item->size != reader.packet_size() || !feed.packet(bytes).ok()) {
          std::abort();
        }
        const auto c = feed.current();
        if (c->first_packet() > c->live_start() || c->live_start() > c->packet_count() ||
            c->packet_count() == c->first_packet()) {
          std::abort();
        }
      }
      buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(item->size));
    }
  }
  (void)reader.finish(buf.size());
  feed.finish();
  return 0;
}

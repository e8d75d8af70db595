// A publishing point fed packet by packet: the live source behind mmssink and
// `mms-server --live NAME=-`.
//
//   AsfStreamReader   cuts an ASF byte stream (asfmux streamable=true output,
//                     an .asf file, several concatenated) into headers and
//                     data packets; index objects after the data are skipped.
//   FeedPacer         when a packet of such a stream is due: its ASF send
//                     time on a clock started by its header, never earlier
//                     than it arrived (a file is sent in real time, a live
//                     encoder as it comes).
//   LiveFeed          the publishing point: its current Content (fed()),
//                     appended packet by packet, the oldest dropped beyond a
//                     window; a new header ends the current content and starts
//                     its successor (a stream change for connected clients).
//
// Sans-I/O: bytes and "now" in, no sockets, clocks or threads. A LiveFeed and
// its contents are used on one thread (the one that runs the server sessions);
// feeding threads hand whole items over to it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "protocol/core/bytes.h"
#include "protocol/core/status.h"
#include "protocol/core/time.h"
#include "protocol/server/content.h"

namespace mms::server {

// One item at the start of a stream's bytes.
struct StreamItem {
  enum class Kind : std::uint8_t {
    kNeedMore,  // incomplete: offer the bytes again with more appended
    kHeader,    // Header Object + 50-byte Data Object prefix (`size` bytes)
    kPacket,    // one data packet of the current header's packet size
    kSkipped,   // bytes of an object after the data (an index), discarded
  };
  Kind kind = Kind::kNeedMore;
  std::size_t size = 0;  // bytes of the input the item takes
};

class AsfStreamReader {
 public:
  // The next item at the start of `in` (the bytes not yet consumed). Errors
  // (kMalformed): the stream does not start with a Header Object, a header
  // is larger than limits::kMaxAsfHeaderBytes or unusable (no Data Object, bad packet
  // size), an object after the data has an impossible size. After an error
  // the reader stays failed.
  Result<StreamItem> next(ByteView in);
  // The stream ended with `left` bytes not consumed: OK when none, else
  // kMalformed (it stopped inside a header or a packet).
  Status finish(std::size_t left) const;
  // Packet size of the current header (0 before the first one).
  std::uint32_t packet_size() const { return packet_size_; }

 private:
  Status failed_;
  std::uint32_t packet_size_ = 0;
  std::uint64_t skip_left_ = 0;  // bytes of an index object still to discard
};

// Pacing of a stream read from a file or an encoder (the feeding side).
class FeedPacer {
 public:
  // A header: the next packet starts the clock.
  void on_header() { started_ = false; }
  // When packet with ASF send time `send_ms`, read at `now`, is due. A
  // packet more than kMaxLag late (an encoder that stalled, a send-time
  // jump) restarts the clock at it, so lateness never accumulates.
  Instant due(std::uint32_t send_ms, Instant now);

  static constexpr Duration kMaxLag = kSecond;

 private:
  bool started_ = false;
  Instant origin_;
  std::uint32_t origin_send_ms_ = 0;
};

struct FeedLimits {
  // Send-time span of the packets kept for joining clients (at least from the
  // last key frame, whatever the span).
  Duration window = 10 * kSecond;
  // Bytes of packets kept at most (again: never dropping the last key frame).
  std::size_t max_bytes = 32u * 1024 * 1024;
};

class LiveFeed {
 public:
  explicit LiveFeed(std::string name, FeedLimits limits = {});

  // A new header (StreamItem::kHeader bytes): the current content, if any,
  // ends and this one succeeds it. Errors: kMalformed (unusable header; the
  // feed keeps its current content).
  Status header(ByteView bytes);
  // A data packet of the current header. Errors: kLocalMisuse before the
  // first header, kMalformed for a packet of the wrong size.
  Status packet(ByteView bytes);
  // The stream ended: the current content ends (clients get end of stream).
  void finish();

  // What the publishing point serves now (null before the first header).
  std::shared_ptr<const Content> current() const { return current_; }
  const std::string& name() const { return name_; }
  std::uint64_t packets() const { return packets_; }
  std::uint32_t headers() const { return headers_; }

 private:
  void trim();

  std::string name_;
  FeedLimits limits_;
  std::shared_ptr<Content> current_;
  std::vector<bool> video_;
  bool has_video_ = false;
  std::uint32_t last_key_ = 0;  // absolute index of the last key-frame packet
  bool have_key_ = false;
  std::size_t bytes_ = 0;  // bytes of the packets kept
  std::uint64_t packets_ = 0;
  std::uint32_t headers_ = 0;
};

}  // namespace mms::server

// Feeding a publishing point from an ASF byte stream (mmssink, `mms-server
// --live NAME=-`): the stream is cut into headers and packets
// (server::AsfStreamReader), each packet waits for its send time
// (server::FeedPacer) and goes to the server's thread (Server::feed_*).
//
// Thread confinement: one feeding thread per StreamFeeder; the server is
// shared.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "protocol/core/bytes.h"
#include "protocol/core/status.h"
#include "protocol/core/time.h"
#include "protocol/server/live_feed.h"
#include "tools/server/server.h"

namespace mms::server {

class StreamFeeder {
 public:
  // Blocks until `due` (io::monotonic_now() time) unless interrupted; false =
  // interrupted (push() then returns kCancelled). Empty: no pacing (the
  // stream already comes in real time).
  using Wait = std::function<bool(Instant due)>;

  // `server` is not owned, started, and outlives the feeder; `name` is one of
  // its options' feeds.
  StreamFeeder(Server* server, std::string name, Wait wait);

  // More stream bytes, cut anywhere. Errors: kMalformed (not an ASF stream:
  // the feeder stays failed), kCancelled (the wait was interrupted; the
  // bytes after the packet waiting are kept), the server's feed errors.
  Status push(ByteView bytes);
  // The stream ended: OK when it ended between items (then the publishing
  // point's clients get end of stream), else kMalformed; either way the
  // publishing point ends.
  Status finish();

  std::uint64_t packets() const { return packets_; }
  std::uint32_t headers() const { return headers_; }

 private:
  Status drain();

  Server* server_;
  std::string name_;
  Wait wait_;
  AsfStreamReader reader_;
  FeedPacer pacer_;
  std::vector<std::uint8_t> buf_;  // bytes not yet taken by an item
  std::size_t pos_ = 0;            // start of the untaken bytes in buf_
  std::uint64_t packets_ = 0;
  std::uint32_t headers_ = 0;
};

}  // namespace mms::server

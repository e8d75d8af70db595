// StreamSwitcher: the client side of a change of the selected streams while
// playing (a new connection speed, audio only). asfdemux exposes only the
// streams that have data when it starts, so the change reaches it as a new
// entry: the same header again, at the first packet holding a key frame of a
// stream the change adds (at the first packet when it adds none), and from
// there the packets of the new selection. Before that point a stream the
// change adds is cut out of the packets (it would start mid-picture); a stream
// it drops is gone already (the server no longer sends it).
//
// Sans-I/O, no clock; one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "protocol/asf/header_parser.h"
#include "protocol/asf/stream_selector.h"
#include "protocol/core/bytes.h"

namespace mms::session {

class StreamSwitcher {
 public:
  struct Offer {
    enum class Kind : std::uint8_t {
      kPass,      // deliver the packet as it is
      kFiltered,  // deliver `packet`: the input without the streams not started yet
      kDrop,      // nothing of the packet stays
      kSwitch,    // give the header again (continuing at `continues_at_ms`), then the packet
    };
    Kind kind = Kind::kPass;
    std::vector<std::uint8_t> packet;   // kFiltered
    std::uint64_t continues_at_ms = 0;  // kSwitch: content time of the packet's first payload
  };

  // Arms a switch from `before` to `after` (choices over `info`'s streams).
  void arm(std::shared_ptr<const asf::HeaderInfo> info,
           const std::vector<asf::StreamChoice>& before,
           const std::vector<asf::StreamChoice>& after);
  bool armed() const { return armed_; }
  void disarm() { armed_ = false; }
  // The next packet of the play (unpadded as received). After kSwitch the
  // switcher is disarmed.
  Offer offer(ByteView packet);

 private:
  bool armed_ = false;
  bool adds_any_ = false;
  std::shared_ptr<const asf::HeaderInfo> info_;
  std::vector<bool> added_;  // [stream number]: selected by the change and not before
  std::vector<bool> keep_;   // [stream number]: what passes before the switch point
};

}  // namespace mms::session

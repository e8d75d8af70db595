// The event invariants every client session keeps, checked by the
// client-session fuzzers: nothing after kFailed, a header (with its parsed
// info) before any packet, no packet larger than that header's packet size.
#pragma once

#include <cstdint>

#include "protocol/session/client_session.h"
#include "tests/support/fuzz_input.h"

namespace mms::test {

struct ClientEventChecker {
  bool failed = false;
  bool header = false;
  std::uint32_t packet_size = 0;

  // Takes every pending event of `s`.
  template <typename Session>
  void drain(Session* s) {
    session::Event e;
    while (s->next_event(&e)) {
      MMS_FUZZ_CHECK(!failed);
      switch (e.kind) {
        case session::Event::Kind::kFailed:
          failed = true;
          break;
        case session::Event::Kind::kHeader:
          MMS_FUZZ_CHECK(e.header != nullptr && e.info != nullptr);
          header = true;
          packet_size = e.info->packet_size;
          break;
        case session::Event::Kind::kPacket:
          MMS_FUZZ_CHECK(header);
          MMS_FUZZ_CHECK(e.payload.size() <= packet_size);
          break;
        default:
          break;
      }
    }
  }
};

}  // namespace mms::test

// Session-level fuzz target: the input plays the RTSP server (TCP stream with
// RTSP messages and interleaved frames, UDP datagrams, the network and the
// clock) against RtspClientSession.
//
// Input layout: control integers come from the END of the input (zero bytes,
// or none, mean "default": TCP mode, feed everything at once, no time passing);
// the server's TCP byte stream is the FRONT. Datagrams are cut from the same
// stream. So a recorded server stream alone is a meaningful seed.
//
// Invariants: consumed <= offered; no event after Failed; packets only after a
// header and never larger than its packet size; Send/SendTo/Close only on
// channels the session opened and has not closed; channel ids never reused.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <vector>

#include "protocol/core/bytes.h"
#include "protocol/core/url.h"
#include "protocol/rtsp/client_session.h"
#include "tests/support/client_events.h"
#include "tests/support/fuzz_input.h"

namespace {

using mms::ByteView;
using mms::Instant;
using mms::session::ChannelId;
using mms::session::Event;
using mms::session::IoAction;

using Provider = mms::test::FuzzInput;

#define check(cond) MMS_FUZZ_CHECK(cond)

struct Driver {
  mms::rtsp::RtspClientSession* s;
  std::set<ChannelId> open;
  ChannelId tcp = 0;
  std::vector<ChannelId> udp;  // bound UDP channels: RTX, media, RTCP (in bind order)
  mms::test::ClientEventChecker events;
  Instant now{1000000000};

  void drain() {
    IoAction a;
    while (s->next_io_action(&a)) {
      switch (a.kind) {
        case IoAction::Kind::kConnectTcp:
          check(open.insert(a.channel).second);
          s->on_connected(a.channel, now);  // answered at once (re-entrancy is the caller's)
          tcp = a.channel;
          break;
        case IoAction::Kind::kBindUdp:
          check(open.insert(a.channel).second);
          udp.push_back(a.channel);
          // Consecutive ports, so the media port's RTCP neighbour is free.
          s->on_udp_bound(a.channel, static_cast<std::uint16_t>(7000 + udp.size()), now);
          break;
        case IoAction::Kind::kSend:
        case IoAction::Kind::kSendTo:
          check(open.count(a.channel) == 1);
          break;
        case IoAction::Kind::kClose:
          check(open.erase(a.channel) == 1);
          break;
      }
    }
    events.drain(s);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Provider p(data, size);
  const bool udp = (p.integral(0, 255) & 1) != 0;
  mms::session::ClientConfig cfg;
  cfg.url = *mms::parse_url(udp ? "rtspu://127.0.0.1/a.wmv" : "rtspt://127.0.0.1/a.wmv");
  cfg.user = "u";
  cfg.password = "p";
  cfg.client_guid = "{2a4e2c8b-5c1d-4f3e-9b7a-0123456789ab}";
  cfg.connection_speed_kbps = static_cast<std::uint32_t>(p.integral(0, 3)) * 100;
  mms::rtsp::RtspClientSession session(cfg, udp);
  Driver d;
  d.s = &session;
  session.play(mms::session::PlayRequest{}, d.now);
  d.drain();
  std::vector<std::uint8_t> pending;
  for (int op = 0; op < 100000 && p.remaining() > 0 && !d.events.failed; ++op) {
    switch (p.integral(0, 7)) {
      case 4: {
        // Mostly the media port (the second bound), sometimes another one.
        const auto pick = static_cast<std::size_t>(p.integral(0, 7));
        ByteView v = p.front(p.integral(1, 2048));
        if (!d.udp.empty()) {
          const std::size_t i =
              pick < 6 ? std::min<std::size_t>(1, d.udp.size() - 1) : (pick - 6) % d.udp.size();
          session.on_datagram(d.udp[i], v, d.now);
          d.drain();
        }
        break;
      }
      case 5:
        d.now = d.now + static_cast<mms::Duration>(p.integral(0, 20000)) * mms::kMillisecond;
        if (std::optional<Instant> dl = session.next_deadline(); dl && d.now >= *dl) {
          session.on_timeout(d.now);
          d.drain();
        }
        break;
      case 6:
        session.on_throttle((p.integral(0, 1) & 1) != 0, d.now);
        d.drain();
        break;
      case 7:
        session.play(mms::session::PlayRequest{p.integral(0, 20000)}, d.now);
        d.drain();
        break;
      default: {
        ByteView v = p.front(p.integral(0, 4096));
        pending.insert(pending.end(), v.begin(), v.end());
        if (d.tcp == 0) {
          break;
        }
        std::size_t used = session.on_bytes(d.tcp, ByteView(pending.data(), pending.size()), d.now);
        check(used <= pending.size());
        d.drain();  // events alias `pending`
        pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(used));
        break;
      }
    }
  }
  session.on_eof(d.tcp, d.now);
  d.drain();
  session.close();
  d.drain();
  return 0;
}

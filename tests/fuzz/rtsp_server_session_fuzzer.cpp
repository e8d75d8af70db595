// Fuzzes the RTSP (MS-RTSP) server session with request bytes split at
// random points, client datagrams and random time steps.
//
// Input: byte 0 = options (bit0 fast, bit1 keep padding, bit2 auth required,
// bit3 UDP refused, bit4 close after 3 packets), byte 1 = split-point seed,
// byte 2 = time step seed, byte 3 = length L of a trailing datagram (0 =
// none); then the client's TCP byte stream, then the datagram. Content is a
// small synthetic ASF (one audio stream, 12 packets) served on demand
// ("a.asf"), live ("live") and as a two-entry playlist ("pl"); "moved" is a
// redirect.
// Invariants: consumed <= offered; the TCP output decodes as whole RTSP units
// (responses, server requests, interleaved RTP frames); datagrams are RTP and
// only exist with a UDP port; the session ends or goes quiet within the step
// budget.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "protocol/rtsp/asf_rtp.h"
#include "protocol/rtsp/message_codec.h"
#include "protocol/rtsp/server_session.h"
#include "tests/support/server_session_rig.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mms;        // NOLINT(google-build-using-namespace)
  using namespace mms::rtsp;  // NOLINT(google-build-using-namespace)
  static test::TinyContent source;
  if (size < 4) {
    return 0;
  }
  ServerConfig config;
  config.content = &source;
  config.fast = (data[0] & 1) != 0;
  config.keep_padding = (data[0] & 2) != 0;
  if ((data[0] & 4) != 0) {
    config.auth.user = "u";
    config.auth.password = "p";
    config.auth.schemes =
        mms::auth::kSchemeBasic | mms::auth::kSchemeDigest | mms::auth::kSchemeNtlm;
  }
  config.refuse_udp = (data[0] & 8) != 0;
  config.close_after_packets = (data[0] & 16) != 0 ? 3 : 0;
  config.udp_port = 5544;
  config.redirects["moved"] = "rtsp://127.0.0.1/a.asf";
  config.playlists["pl"] = {"a.asf", "a.asf"};
  test::Lcg next(data[1], data[2]);
  const std::size_t dlen = std::min<std::size_t>(data[3], size - 4);
  const ByteView stream(data + 4, size - 4 - dlen);
  const ByteView datagram(data + size - dlen, dlen);

  ServerSession s(&config, 7, Instant{0});
  std::vector<std::uint8_t> out;
  // Whole units are checked and dropped as they complete.
  auto check_output = [](std::vector<std::uint8_t>* o) {
    std::size_t used = 0;
    for (;;) {
      Unit u;
      Status err;
      const Decode d = decode_unit(ByteView(*o).subview(used), &u, &err);
      if (d == Decode::kError) {
        std::abort();
      }
      if (d == Decode::kNeedMore) {
        break;
      }
      if (u.kind == UnitKind::kInterleaved && !parse_rtp(u.frame.payload).ok()) {
        std::abort();
      }
      used += u.wire_size;
    }
    o->erase(o->begin(), o->begin() + static_cast<std::ptrdiff_t>(used));
    if (o->size() > 1024u * 1024) {
      std::abort();  // a unit above any bound
    }
  };
  test::drive_server_session(
      s, stream, datagram, next, 20000, &out,
      [](ServerSession& session, ByteView d, Instant now) { session.on_datagram(d, now); },
      check_output,
      [&s](Instant now) {
        for (int i = 0; i < 4; ++i) {
          const std::uint16_t port = s.udp_port();
          for (ByteView d = s.next_datagram(now); !d.empty(); d = s.next_datagram(now)) {
            if (port == 0 || d.size() > kRtspUdpMtu || !parse_rtp(d).ok()) {
              std::abort();
            }
            s.consume_datagram();
          }
        }
      });
  return 0;
}

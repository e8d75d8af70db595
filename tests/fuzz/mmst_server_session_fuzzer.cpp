// Fuzzes the MMS (MS-MMSP) server session with command bytes split at random
// points, UDP resend datagrams and random time steps.
//
// Input: byte 0 = options (bit0 fast, bit1 keep padding, bit2 auth required,
// bit3 UDP refused, bit4 close after 3 packets, bit5 NTLM challenges with
// bit2, bit6 BASIC answers too with bit5), byte 1 = split-point seed,
// byte 2 = time step seed, byte 3 = length L of a trailing UDP datagram (0 =
// none); then the client's TCP byte stream, then the datagram. Content is a
// small synthetic ASF (one audio stream, 12 packets) served on demand
// ("a.asf"), live ("live") and as a two-entry playlist ("pl").
// Invariants: consumed <= offered; the TCP output decodes as whole MMS units
// (messages and Data packets); datagrams are single Data packets; the session
// ends or goes quiet within the step budget.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "protocol/mmst/messages.h"
#include "protocol/mmst/server_session.h"
#include "tests/support/server_session_rig.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mms;        // NOLINT(google-build-using-namespace)
  using namespace mms::mmst;  // NOLINT(google-build-using-namespace)
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
    if ((data[0] & 32) != 0) {
      config.auth.schemes = auth::kSchemeNtlm | ((data[0] & 64) != 0 ? auth::kSchemeBasic : 0u);
    }
  }
  config.refuse_udp = (data[0] & 8) != 0;
  config.close_after_packets = (data[0] & 16) != 0 ? 3 : 0;
  config.redirects["moved"] = "mms://127.0.0.1/a.asf";
  config.playlists["pl"] = {"a.asf", "a.asf"};
  test::Lcg next(data[1], data[2]);
  const std::size_t dlen = std::min<std::size_t>(data[3], size - 4);
  const ByteView stream(data + 4, size - 4 - dlen);
  const ByteView datagram(data + size - dlen, dlen);

  ServerSession s(&config, 7, Instant{0});
  std::vector<std::uint8_t> out;
  test::drive_server_session(
      s, stream, datagram, next, 20000, &out,
      [](ServerSession& session, ByteView d, Instant now) { session.on_datagram(d, now); },
      [](std::vector<std::uint8_t>* o) {
        if (o->size() > 4u * 1024 * 1024) {
          std::abort();
        }
      },
      [&s](Instant now) {
        for (ByteView d = s.next_datagram(now); !d.empty(); d = s.next_datagram(now)) {
          DataPacket p;
          if (s.udp_port() == 0 || !decode_udp_data_packet(d, &p).ok()) {
            std::abort();
          }
          s.consume_datagram();
        }
      });
  ByteView rest(out);
  while (!rest.empty()) {
    Unit u;
    Status err;
    const Decode d = decode_tcp_unit(rest, &u, &err);
    if (d == Decode::kError) {
      std::abort();
    }
    if (d == Decode::kNeedMore) {
      break;  // the client left mid-write
    }
    rest = rest.subview(u.wire_size);
  }
  return 0;
}

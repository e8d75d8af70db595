// Fuzzes the MMSH server session with request bytes split at random points.
//
// Input: byte 0 = options (bit0 fast, bit1 keep padding, bit2 auth required,
// bits3-5 fault), byte 1 = split-point seed, byte 2 = time step seed; the rest is
// the client's byte stream. Content is a small synthetic ASF (one audio stream,
// 12 packets) served both on demand ("/a.asf") and live ("/live").
// Invariants: consumed <= offered; the output starts with an HTTP status line
// (except the garbage fault); without faults it is a sequence of responses (an
// error on a kept-alive connection is followed by the next request's answer), each
// body (Content-Length bytes, or the rest) whole frames;
// a fast on-demand response always ends (wants_close) within the step budget.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "protocol/mmsh/framing.h"
#include "protocol/mmsh/http_codec.h"
#include "protocol/mmsh/server_session.h"
#include "tests/support/server_session_rig.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mms;        // NOLINT(google-build-using-namespace)
  using namespace mms::mmsh;  // NOLINT(google-build-using-namespace)
  static test::TinyContent source;
  if (size < 3) {
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
  const int fault = (data[0] >> 3) & 7;
  config.fault = fault <= 5 ? static_cast<Fault>(fault) : Fault::kNone;
  config.redirects["moved"] = "mmsh://127.0.0.1/a.asf";
  test::Lcg next(data[1], data[2]);
  const ByteView stream(data + 3, size - 3);

  ServerSession s(&config, 7, Instant{0});
  std::vector<std::uint8_t> out;
  test::drive_server_session(
      s, stream, ByteView(), next, 10000, &out, [](ServerSession&, ByteView, Instant) {},
      [](std::vector<std::uint8_t>* o) {
        if (o->size() > 4u * 1024 * 1024) {
          std::abort();  // far more than the content could ever produce in a few loops
        }
      },
      [](Instant) {});
  if (config.fault == Fault::kGarbage || out.empty()) {
    return 0;
  }
  // One response after another (an error answer to an HTTP/1.1 request keeps the
  // connection): each starts with a status line; its body, Content-Length bytes
  // when given, else the rest, decodes as whole frames.
  ByteView rest(out);
  while (!rest.empty()) {
    if (rest.size() < 9 || std::memcmp(rest.data(), "HTTP/1.0 ", 9) != 0) {
      std::abort();
    }
    if (config.fault != Fault::kNone) {
      return 0;
    }
    HttpResponse head;
    std::size_t head_len = 0;
    Status err;
    if (parse_response_head(rest, &head, &head_len, &err) != Decode::kDone) {
      std::abort();
    }
    rest = rest.subview(head_len);
    std::size_t body_len = rest.size();
    if (const std::string* cl = head.headers.find("Content-Length")) {
      body_len = std::min<std::size_t>(body_len, std::strtoull(cl->c_str(), nullptr, 10));
    }
    ByteView body = rest.subview(0, body_len);
    rest = rest.subview(body_len);
    while (!body.empty()) {
      Frame f;
      const Decode d = decode_frame(body, &f, &err);
      if (d == Decode::kError) {
        std::abort();
      }
      if (d == Decode::kNeedMore) {
        if (!rest.empty()) {
          std::abort();  // a frame cut short, and yet another response follows
        }
        break;  // the client left mid-stream
      }
      body = body.subview(f.wire_size);
    }
  }
  return 0;
}

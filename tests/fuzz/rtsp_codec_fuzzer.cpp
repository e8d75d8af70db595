// Fuzz target: RTSP units on a TCP stream (messages and interleaved frames)
// and every header value parser.
// Invariants: decode_unit consumes 1..size bytes per unit and never more than
// it was given; a decoded message written back decodes to the same text; a
// parsed Transport/Session/Range/RTP-Info formats to something that parses
// back the same; auth parsing stays under its caps; base64 round trips.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/core/limits.h"
#include "protocol/core/text.h"
#include "protocol/rtsp/message_codec.h"

namespace {

using namespace mms::rtsp;  // NOLINT(google-build-using-namespace)

void check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

void exercise_values(const Headers& h) {
  for (const Header& x : h.list) {
    const std::string_view v = x.value;
    if (auto s = parse_session(v); s.ok()) {
      auto again = parse_session(format_session(*s));
      check(again.ok() && again->id == s->id && again->timeout_s == s->timeout_s);
    }
    if (auto t = parse_transports(v); t.ok()) {
      check(t->size() <= mms::limits::kMaxRtspListEntries);
      for (const Transport& tr : *t) {
        auto again = parse_transports(format_transport(tr));
        check(again.ok() && again->size() == 1 &&
              format_transport((*again)[0]) == format_transport(tr));
      }
    }
    if (auto r = parse_range(v); r.ok()) {
      auto again = parse_range(format_range(*r));
      check(again.ok() && format_range(*again) == format_range(*r));
    }
    if (auto r = parse_rtp_info(v); r.ok()) {
      check(r->size() <= mms::limits::kMaxRtspListEntries);
    }
    if (auto a = parse_auth(v); a.ok()) {
      check(a->size() <= mms::limits::kMaxAuthChallenges);
      for (const AuthChallenge& c : *a) {
        check(c.params.size() <= mms::limits::kMaxAuthParams);
        if (c.is("Digest")) {
          (void)digest_authorization(c, "user", "pass", "DESCRIBE", "rtsp://h/", "0a4f113b");
          (void)digest_verify(c, "DESCRIBE", "pass");
        }
        std::string u;
        std::string p;
        (void)parse_basic_credentials(c, &u, &p);
      }
    }
    (void)cseq_of(h);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const mms::ByteView in(data, size);
  std::size_t off = 0;
  while (off < size) {
    Unit u;
    mms::Status err;
    if (decode_unit(in.subview(off), &u, &err) != Decode::kDone) {
      break;
    }
    check(u.wire_size >= 1 && u.wire_size <= size - off);
    off += u.wire_size;
    if (u.kind == UnitKind::kInterleaved) {
      check(u.frame.payload.size() <= 65535);
      continue;
    }
    const bool request = u.kind == UnitKind::kRequest;
    const std::string text = request ? write_request(u.request) : write_response(u.response);
    Unit back;
    check(decode_unit(mms::ByteView::of(text), &back, &err) == Decode::kDone);
    check(back.wire_size == text.size() && back.kind == u.kind);
    check((request ? write_request(back.request) : write_response(back.response)) == text);
    exercise_values(request ? u.request.headers : u.response.headers);
  }
  std::vector<std::uint8_t> decoded;
  const std::string_view text = in.as_string_view();
  if (mms::base64_decode(text, &decoded, mms::Base64Mode::kLenient)) {
    check(decoded.size() <= size / 4 * 3 + 3);
  }
  std::vector<std::uint8_t> round;
  check(mms::base64_decode(mms::base64_encode(in), &round, mms::Base64Mode::kLenient) &&
        round == std::vector<std::uint8_t>(in.begin(), in.end()));
  return 0;
}

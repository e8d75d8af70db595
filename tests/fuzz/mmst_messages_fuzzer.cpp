// Fuzz target: the MMS (MS-MMSP) TCP byte stream as a client or server reads it:
// decode_tcp_unit over arbitrary bytes (commands and Data packets), every
// message of a multi-message packet, and header reassembly.
// Invariants: consumed <= offered; views lie inside the input; one byte less
// than a decoded unit is NeedMore; a decoded known message re-encodes, and the
// re-encoding decodes to the same fields and re-encodes to the same bytes.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "protocol/mmst/messages.h"
#include "tests/unit/mmst_describe.h"

namespace {

void check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

bool inside(mms::ByteView v, mms::ByteView outer) {
  return v.empty() ||
         (v.data() >= outer.data() && v.data() + v.size() <= outer.data() + outer.size());
}

void check_reencode(const mms::mmst::Message& m) {
  using namespace mms::mmst;
  if (!is_known_mid(m.mid)) {
    return;
  }
  std::vector<std::uint8_t> wire;
  check(encode_message(m, &wire).ok());
  Message d;
  mms::Status err;
  check(decode_message(wire, &d, &err) == Decode::kDone);
  check(d.wire_size == wire.size());
  check(d.mid == m.mid);
  check(testing::describe_fields(d) == testing::describe_fields(m));
  std::vector<std::uint8_t> again;
  check(encode_message(d, &again).ok());
  check(again == wire);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mms::mmst;
  const mms::ByteView input(data, size);
  HeaderAssembler header;
  std::size_t off = 0;
  while (off < size) {
    const mms::ByteView rest = input.subview(off);
    Unit u;
    mms::Status err;
    const Decode d = decode_tcp_unit(rest, &u, &err);
    if (d == Decode::kError) {
      check(!err.ok());
      break;
    }
    if (d == Decode::kNeedMore) {
      break;
    }
    check(u.wire_size >= 8);
    check(u.wire_size <= rest.size());
    Unit shorter;
    mms::Status err2;
    check(decode_tcp_unit(rest.subview(0, u.wire_size - 1), &shorter, &err2) == Decode::kNeedMore);
    if (u.kind == Unit::Kind::kMessage) {
      check(inside(u.message.raw, rest.subview(0, u.wire_size)));
      check(inside(u.message.extra_messages, rest.subview(0, u.wire_size)));
      check_reencode(u.message);
      mms::ByteView more = u.message.extra_messages;
      while (!more.empty()) {
        Message m;
        std::size_t used = 0;
        mms::Status e;
        if (decode_body(more, &m, &used, &e) != Decode::kDone) {
          check(!e.ok());
          break;
        }
        check(used >= 8 && used <= more.size());
        check_reencode(m);
        more = more.subview(used);
      }
    } else {
      check(u.data.packet_size == u.wire_size);
      check(inside(u.data.payload, rest));
      if (is_header_incarnation(u.data.play_incarnation)) {
        mms::Result<bool> r = header.add(u.data);
        (void)r;
      }
    }
    off += u.wire_size;
  }
  // The same bytes as one control packet (server side reads only commands).
  Message m;
  mms::Status err;
  if (decode_message(input, &m, &err) == Decode::kDone) {
    check(m.wire_size <= size);
    check_reencode(m);
  }
  return 0;
}

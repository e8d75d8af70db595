// Fuzz target: MMSH frame decoding (decode_frame, both overloads) and $H/$M
// reassembly over an arbitrary response body.
// Invariants: consumed <= offered, wire_size >= 4, the payload lies inside the
// input, a prefix of a decoded frame is NeedMore, and the context-free decoder
// agrees with the context one on everything but $P.
#include <cstddef>
#include <cstdint>

#include "protocol/core/limits.h"
#include "protocol/mmsh/framing.h"

namespace {

void check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using mms::ByteView;
  using mms::Status;
  using mms::mmsh::Decode;
  using mms::mmsh::Frame;
  const ByteView input(data, size);
  mms::mmsh::FrameContext ctx;
  mms::mmsh::HeaderAssembler header;
  mms::mmsh::HeaderAssembler meta;
  std::size_t off = 0;
  while (off < size) {
    const ByteView rest = input.subview(off);
    Frame f;
    Status err;
    const Decode d = mms::mmsh::decode_frame(rest, &f, &err, &ctx);
    if (d == Decode::kError) {
      check(!err.ok());
      break;
    }
    if (d == Decode::kNeedMore) {
      break;
    }
    check(f.wire_size >= 4);
    check(f.wire_size <= rest.size());
    check(f.payload.data() >= rest.data());
    check(f.payload.data() + f.payload.size() <= rest.data() + f.wire_size);
    // One byte less is never a complete frame.
    Frame g;
    Status err2;
    mms::mmsh::FrameContext before = ctx;
    if (f.type == mms::mmsh::kFramePacketPair) {
      --before.packet_pairs_seen;
    }
    check(mms::mmsh::decode_frame(rest.subview(0, f.wire_size - 1), &g, &err2, &before) ==
          Decode::kNeedMore);
    if (f.type != mms::mmsh::kFramePacketPair) {
      Frame h;
      Status err3;
      check(mms::mmsh::decode_frame(rest, &h, &err3) == Decode::kDone);
      check(h.wire_size == f.wire_size && h.payload.size() == f.payload.size());
    }
    mms::mmsh::HeaderAssembler* a = nullptr;
    if (f.type == mms::mmsh::kFrameHeader) {
      a = &header;
    } else if (f.type == mms::mmsh::kFrameMeta) {
      a = &meta;
    }
    if (a != nullptr) {
      mms::Result<bool> r = a->add(f);
      check(a->header().size() <= mms::limits::kMaxAsfHeaderBytes);
      if (!r.ok()) {
        check(a->header().empty());
      }
    }
    off += f.wire_size;
    check(off <= size);
  }
  return 0;
}

// MMSH framing: encoder -> decoder round trips, $P sizes, HeaderAssembler order
// and limits. Byte-level cases live in tests/vectors/mmsh/*.vec.
#include <algorithm>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/core/limits.h"
#include "protocol/mmsh/framing.h"

namespace mms::mmsh {
namespace {

std::vector<std::uint8_t> pattern(std::size_t n, std::uint8_t seed = 1) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    v[i] = static_cast<std::uint8_t>(seed + i * 7 + (i >> 8));
  }
  return v;
}

// Decodes every frame of `wire`; fails the test on error or leftover bytes.
std::vector<Frame> decode_all(const std::vector<std::uint8_t>& wire) {
  std::vector<Frame> frames;
  std::size_t off = 0;
  FrameContext ctx;
  while (off < wire.size()) {
    Frame f;
    Status err;
    Decode d = decode_frame(ByteView(wire).subview(off), &f, &err, &ctx);
    EXPECT_EQ(d, Decode::kDone) << err.what() << " at " << off;
    if (d != Decode::kDone) {
      break;
    }
    frames.push_back(f);
    off += f.wire_size;
  }
  return frames;
}

TEST(MmshFraming, DataFrameRoundTrip) {
  std::vector<std::uint8_t> payload = pattern(3011);
  std::vector<std::uint8_t> wire;
  encode_data_frame(kFrameData, 1, 0, 1, payload, &wire);
  ASSERT_EQ(wire.size(), 12u + 3011u);
  EXPECT_EQ(to_hex(ByteView(wire).subview(0, 12)), "24 44 cb 0b 01 00 00 00 00 01 cb 0b");
  std::vector<Frame> f = decode_all(wire);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].type, kFrameData);
  EXPECT_FALSE(f[0].burst);
  EXPECT_EQ(f[0].location_id, 1u);
  EXPECT_EQ(f[0].af_flags, 1);
  EXPECT_EQ(f[0].payload.to_vector(), payload);
}

TEST(MmshFraming, BurstBitRoundTrip) {
  std::vector<std::uint8_t> wire;
  encode_data_frame(kFrameData, 750, 1, 2, pattern(10), &wire, /*burst=*/true);
  EXPECT_EQ(wire[0], 0xa4);
  std::vector<Frame> f = decode_all(wire);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_TRUE(f[0].burst);
  EXPECT_EQ(f[0].location_id, 750u);
  EXPECT_EQ(f[0].incarnation, 1);
}

TEST(MmshFraming, MaximumPayloadAndTruncationOfOversizedPayload) {
  std::vector<std::uint8_t> wire;
  encode_data_frame(kFrameData, 0, 0, 0, pattern(kMaxFramePayload), &wire);
  std::vector<Frame> f = decode_all(wire);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].length, 65535);
  EXPECT_EQ(f[0].payload.size(), kMaxFramePayload);

  std::vector<std::uint8_t> big;
  encode_data_frame(kFrameData, 0, 0, 0, pattern(kMaxFramePayload + 1), &big);
  EXPECT_EQ(big.size(), 4u + 65535u);
}

TEST(MmshFraming, ReasonFramesMatchSpecBytes) {
  std::vector<std::uint8_t> wire;
  encode_reason_frame(kFrameEnd, 0, &wire);
  encode_reason_frame(kFrameEnd, 1, &wire);
  encode_reason_frame(kFrameChange, 0x400D14BE, &wire);
  encode_test_frame(&wire);
  EXPECT_EQ(to_hex(wire, 100),
            "24 45 04 00 00 00 00 00 24 45 04 00 01 00 00 00 24 43 04 00 be 14 0d 40 24 54 00 00");
  std::vector<Frame> f = decode_all(wire);
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[2].reason, 0x400D14BEu);
  EXPECT_EQ(f[3].type, kFrameTest);
}

TEST(MmshFraming, HeaderOf100000BytesSplitsLikeTheSpecExample) {
  std::vector<std::uint8_t> header = pattern(100000);
  std::vector<std::uint8_t> wire;
  encode_header_frames(kFrameHeader, header, 0, &wire);
  EXPECT_EQ(to_hex(ByteView(wire).subview(0, 12)), "24 48 ff ff 00 00 00 00 00 04 ff ff");
  EXPECT_EQ(to_hex(ByteView(wire).subview(65539, 12)), "24 48 b1 86 01 00 00 00 00 08 b1 86");
  std::vector<Frame> frames = decode_all(wire);
  ASSERT_EQ(frames.size(), 2u);
  HeaderAssembler a;
  Result<bool> r0 = a.add(frames[0]);
  ASSERT_TRUE(r0.ok());
  EXPECT_FALSE(*r0);
  Result<bool> r1 = a.add(frames[1]);
  ASSERT_TRUE(r1.ok());
  EXPECT_TRUE(*r1);
  EXPECT_EQ(a.header(), header);
}

TEST(MmshFraming, HeaderFragmentsOfEverySizeReassemble) {
  std::vector<std::uint8_t> header = pattern(200000, 9);
  for (std::size_t max :
       {std::size_t{1000}, std::size_t{65526}, std::size_t{65527}, std::size_t{100000}}) {
    std::vector<std::uint8_t> wire;
    encode_header_frames(kFrameMeta, header, 3, &wire, max);
    std::vector<Frame> frames = decode_all(wire);
    std::size_t per = max > kMaxFramePayload ? kMaxFramePayload : max;
    ASSERT_EQ(frames.size(), (header.size() + per - 1) / per);
    HeaderAssembler a;
    for (std::size_t i = 0; i < frames.size(); ++i) {
      EXPECT_EQ(frames[i].location_id, i);
      EXPECT_EQ(frames[i].incarnation, 3);
      Result<bool> r = a.add(frames[i]);
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(*r, i + 1 == frames.size());
    }
    EXPECT_EQ(a.header(), header);
  }
}

TEST(MmshFraming, EmptyHeaderIsOneOnlyFragment) {
  std::vector<std::uint8_t> wire;
  encode_header_frames(kFrameHeader, ByteView(), 0, &wire);
  EXPECT_EQ(to_hex(wire), "24 48 08 00 00 00 00 00 00 0c 08 00");
  std::vector<Frame> f = decode_all(wire);
  ASSERT_EQ(f.size(), 1u);
  HeaderAssembler a;
  Result<bool> r = a.add(f[0]);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r);
  EXPECT_TRUE(a.header().empty());
}

TEST(MmshFraming, PacketPairSetRoundTrip) {
  for (std::size_t head : {std::size_t{0}, std::size_t{300}, std::size_t{504}, std::size_t{5000}}) {
    std::vector<std::uint8_t> wire;
    encode_packet_pair_frames(head, &wire, 0x5a);
    EXPECT_EQ(wire.size(), 2080u);  // whatever R is
    std::vector<Frame> f = decode_all(wire);
    ASSERT_EQ(f.size(), 3u);
    const std::uint32_t r = static_cast<std::uint32_t>(std::min<std::size_t>(head, 504));
    EXPECT_EQ(f[0].reason, r);
    EXPECT_EQ(f[0].payload.size(), 504u - r);
    EXPECT_EQ(f[1].payload.size(), 504u);
    EXPECT_EQ(f[2].payload.size(), 1048u + r);
    if (head <= 504) {
      EXPECT_EQ(head + f[0].wire_size, 512u);  // head + $P #1 = 512 bytes
    }
  }
}

TEST(MmshFraming, StatelessDecodeInfersPacketPairSlotFromLength) {
  std::vector<std::uint8_t> wire;
  encode_packet_pair_frames(100, &wire);
  Frame f;
  Status err;
  ASSERT_EQ(decode_frame(wire, &f, &err), Decode::kDone);
  EXPECT_EQ(f.wire_size, 8u + 404u);
  // #3 alone: PacketLength 1048 is recognised without context.
  const std::size_t third = 8 + 404 + 8 + 504;
  ASSERT_EQ(decode_frame(ByteView(wire).subview(third), &f, &err), Decode::kDone);
  EXPECT_EQ(f.wire_size, 8u + 1048u + 100u);
}

TEST(MmshFraming, NeedMoreAtEveryPrefixOfAFrame) {
  std::vector<std::uint8_t> wire;
  encode_data_frame(kFrameData, 7, 0, 0, pattern(40), &wire);
  for (std::size_t n = 0; n < wire.size(); ++n) {
    Frame f;
    Status err;
    EXPECT_EQ(decode_frame(ByteView(wire.data(), n), &f, &err), Decode::kNeedMore) << n;
  }
}

TEST(MmshFraming, DecodeErrorsCarryMalformed) {
  const std::uint8_t bad_sync[] = {0x23, 0x44, 0x08, 0x00};
  Frame f;
  Status err;
  ASSERT_EQ(decode_frame(ByteView(bad_sync, sizeof bad_sync), &f, &err), Decode::kError);
  EXPECT_EQ(err.code(), Code::kMalformed);
  EXPECT_EQ(err.detail(), 0x23u);
  const std::uint8_t mismatch[] = {0x24, 0x48, 0x09, 0x00, 0, 0, 0, 0, 0, 0x0c, 0x0a, 0x00, 0};
  Status err2;
  ASSERT_EQ(decode_frame(ByteView(mismatch, sizeof mismatch), &f, &err2), Decode::kError);
  EXPECT_EQ(err2.code(), Code::kMalformed);
}

Frame header_fragment(std::uint32_t location, std::uint8_t flags,
                      const std::vector<std::uint8_t>& p, std::vector<std::uint8_t>* storage) {
  storage->clear();
  encode_data_frame(kFrameHeader, location, 0, flags, p, storage);
  Frame f;
  Status err;
  EXPECT_EQ(decode_frame(*storage, &f, &err), Decode::kDone);
  return f;
}

TEST(HeaderAssembler, OutOfOrderAndMissingFragmentsAreMalformed) {
  std::vector<std::uint8_t> s;
  std::vector<std::uint8_t> p = pattern(10);
  {
    HeaderAssembler a;
    Result<bool> r = a.add(header_fragment(0, 0x00, p, &s));  // middle without first
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kMalformed);
  }
  {
    HeaderAssembler a;
    ASSERT_TRUE(a.add(header_fragment(0, kFragFirst, p, &s)).ok());
    Result<bool> r = a.add(header_fragment(2, kFragLast, p, &s));  // 1 is missing
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kMalformed);
    // The assembler starts afresh after the error.
    Result<bool> again = a.add(header_fragment(0, kFragFirst | kFragLast, p, &s));
    ASSERT_TRUE(again.ok());
    EXPECT_TRUE(*again);
    EXPECT_EQ(a.header(), p);
  }
  {
    HeaderAssembler a;
    ASSERT_TRUE(a.add(header_fragment(0, kFragFirst, p, &s)).ok());
    ASSERT_TRUE(a.add(header_fragment(1, 0x00, p, &s)).ok());
    Result<bool> r = a.add(header_fragment(1, kFragLast, p, &s));  // repeated LocationId
    EXPECT_FALSE(r.ok());
  }
  {
    HeaderAssembler a;
    ASSERT_TRUE(a.add(header_fragment(0, kFragFirst, p, &s)).ok());
    Result<bool> r = a.add(header_fragment(0, kFragFirst, p, &s));  // restart mid-header
    EXPECT_FALSE(r.ok());
  }
  {
    HeaderAssembler a;
    Frame reason;
    reason.type = kFrameEnd;
    Result<bool> r = a.add(reason);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kLocalMisuse);
  }
}

TEST(HeaderAssembler, AcceptsAnyBaseLocationLikeVlc) {
  std::vector<std::uint8_t> s;
  std::vector<std::uint8_t> p = pattern(5);
  HeaderAssembler a;
  ASSERT_TRUE(a.add(header_fragment(612, kFragFirst, p, &s)).ok());
  Result<bool> r = a.add(header_fragment(613, kFragLast, p, &s));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r);
  EXPECT_EQ(a.header().size(), 10u);
  // A completed header is replaced by the next one.
  Result<bool> next = a.add(header_fragment(0, kFragFirst | kFragLast, p, &s));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(a.header(), p);
}

// Feeds `total` bytes as fragments of kMaxFramePayload bytes.
Result<bool> assemble(std::size_t total, HeaderAssembler* a) {
  std::vector<std::uint8_t> chunk(kMaxFramePayload, 0x41);
  std::vector<std::uint8_t> s;
  std::size_t done = 0;
  std::uint32_t loc = 0;
  Result<bool> r = false;
  while (done < total) {
    std::size_t n = std::min(kMaxFramePayload, total - done);
    chunk.resize(n);
    std::uint8_t flags = 0;
    if (done == 0) {
      flags = kFragFirst;
    }
    if (done + n == total) {
      flags = static_cast<std::uint8_t>(flags | kFragLast);
    }
    r = a->add(header_fragment(loc++, flags, chunk, &s));
    if (!r.ok()) {
      return r;
    }
    done += n;
  }
  return r;
}

TEST(HeaderAssembler, LimitIsInclusive) {
  HeaderAssembler a;
  Result<bool> at = assemble(limits::kMaxAsfHeaderBytes, &a);
  ASSERT_TRUE(at.ok()) << at.status().what();
  EXPECT_TRUE(*at);
  EXPECT_EQ(a.header().size(), limits::kMaxAsfHeaderBytes);

  HeaderAssembler b;
  Result<bool> above = assemble(limits::kMaxAsfHeaderBytes + 1, &b);
  ASSERT_FALSE(above.ok());
  EXPECT_EQ(above.status().code(), Code::kLimitExceeded);
  EXPECT_TRUE(b.header().empty());  // the partial header is dropped
}

TEST(HeaderAssembler, ResetDropsAPartialHeader) {
  std::vector<std::uint8_t> s;
  std::vector<std::uint8_t> p = pattern(5);
  HeaderAssembler a;
  ASSERT_TRUE(a.add(header_fragment(0, kFragFirst, p, &s)).ok());
  a.reset();
  EXPECT_TRUE(a.header().empty());
  Result<bool> r = a.add(header_fragment(1, kFragLast, p, &s));
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace mms::mmsh

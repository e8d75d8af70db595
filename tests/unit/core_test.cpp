#include <gtest/gtest.h>

#include "protocol/core/byte_reader.h"
#include "protocol/core/byte_writer.h"
#include "protocol/core/bytes.h"
#include "protocol/core/udp_pacer.h"
#include "protocol/core/url.h"

namespace mms {
namespace {

TEST(ByteReader, ReadsLittleEndianAndFailsStickyPastTheEnd) {
  const std::uint8_t data[] = {0x24, 0x48, 0x0c, 0x00, 0x01};
  ByteReader r(ByteView(data, sizeof data));
  std::uint16_t a = 0;
  std::uint16_t b = 0;
  std::uint32_t c = 0;
  ASSERT_TRUE(r.read_u16le(&a));
  ASSERT_TRUE(r.read_u16le(&b));
  EXPECT_EQ(a, 0x4824);
  EXPECT_EQ(b, 0x000c);
  EXPECT_FALSE(r.read_u32le(&c));
  EXPECT_EQ(c, 0u);
  EXPECT_FALSE(r.ok());
  std::uint8_t d = 0;
  EXPECT_FALSE(r.read_u8(&d));  // sticky even though one byte is left
}

TEST(ByteWriter, RoundTripsThroughReader) {
  std::vector<std::uint8_t> buf;
  ByteWriter w(&buf);
  w.u8(1);
  w.u16le(0x1234);
  w.u32be(0xdeadbeef);
  w.u64le(0x0102030405060708ULL);
  ByteReader r(buf);
  std::uint8_t a = 0;
  std::uint16_t b = 0;
  std::uint32_t c = 0;
  std::uint64_t d = 0;
  ASSERT_TRUE(r.read_u8(&a) && r.read_u16le(&b) && r.read_u32be(&c) && r.read_u64le(&d));
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 0x1234);
  EXPECT_EQ(c, 0xdeadbeefu);
  EXPECT_EQ(d, 0x0102030405060708ULL);
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(Hex, ParsesCommentsAndRejectsOddDigits) {
  std::vector<std::uint8_t> out;
  ASSERT_TRUE(parse_hex("24 48 # comment\n 0c00", &out));
  EXPECT_EQ(to_hex(out), "24 48 0c 00");
  std::vector<std::uint8_t> bad;
  EXPECT_FALSE(parse_hex("244", &bad));
  EXPECT_FALSE(parse_hex("zz", &bad));
}

TEST(Url, ParsesEverySchemeWithDefaults) {
  struct Case {
    const char* text;
    const char* scheme;
    const char* host;
    std::uint16_t port;
    const char* path;
  } cases[] = {
      {"mms://example.org/live", "mms", "example.org", 1755, "/live"},
      {"mmsh://127.0.0.1:8080/a.wmv?x=1", "mmsh", "127.0.0.1", 8080, "/a.wmv?x=1"},
      {"MMST://[::1]:1755/f", "mmst", "::1", 1755, "/f"},
      {"mmsu://h", "mmsu", "h", 1755, "/"},
      {"rtsp://h/x", "rtsp", "h", 554, "/x"},
      {"http://h?q", "http", "h", 80, "/?q"},
  };
  for (const Case& c : cases) {
    Result<Url> u = parse_url(c.text);
    ASSERT_TRUE(u.ok()) << c.text;
    EXPECT_EQ(u->scheme, c.scheme);
    EXPECT_EQ(u->host, c.host);
    EXPECT_EQ(u->effective_port(), c.port);
    EXPECT_EQ(u->path, c.path);
  }
}

TEST(Url, CredentialsAreDecodedAndRedacted) {
  Result<Url> u = parse_url("mmsh://us%40er:p%3Ass@host:99/p");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->user, "us@er");
  EXPECT_EQ(u->password, "p:ss");
  EXPECT_EQ(u->redacted(), "mmsh://host:99/p");
  EXPECT_EQ(u->host_port(), "host:99");
}

TEST(Url, RejectsBadInput) {
  EXPECT_EQ(parse_url("ftp://h/").status().code(), Code::kUnsupported);
  EXPECT_EQ(parse_url("nourl").status().code(), Code::kMalformed);
  EXPECT_EQ(parse_url("mms://:80/").status().code(), Code::kMalformed);
  EXPECT_EQ(parse_url("mms://h:0/").status().code(), Code::kMalformed);
  EXPECT_EQ(parse_url("mms://h:65536/").status().code(), Code::kMalformed);
  EXPECT_EQ(parse_url("mms://h:8x/").status().code(), Code::kMalformed);
  EXPECT_EQ(parse_url("mms://[::1/").status().code(), Code::kMalformed);
  EXPECT_EQ(parse_url("mms://u:%zz@h/").status().code(), Code::kMalformed);
  EXPECT_EQ(parse_url("mms://h/a b").status().code(), Code::kMalformed);
}

TEST(Url, ResolvesRedirectLocations) {
  Url base = *parse_url("mmsh://a:1/x");
  EXPECT_EQ(resolve_location(base, "/y")->to_string(), "mmsh://a:1/y");
  EXPECT_EQ(resolve_location(base, "http://b/z")->to_string(), "mmsh://b:80/z");
  EXPECT_FALSE(resolve_location(base, "relative").ok());
  EXPECT_FALSE(resolve_location(base, "file:///etc/passwd").ok());
}

// UdpPacer: all in fake time; rates and token counts, no clock.
std::size_t drain_bucket(UdpPacer* p, Instant now, std::size_t datagram) {
  std::size_t sent = 0;
  while (p->may_send(now)) {
    p->sent(datagram);
    sent += datagram;
  }
  return sent;
}

TEST(UdpPacer, SendsABucketThenWaitsForTokens) {
  UdpPacer p;
  const Instant t0{10 * kSecond};
  p.restart(t0);
  EXPECT_EQ(p.rate(), kPacerStartRate);
  const std::size_t burst = drain_bucket(&p, t0, 8000);
  // The bucket holds kPacerBurst at the start rate (one datagram more at most).
  const auto depth =
      static_cast<std::size_t>(kPacerStartRate / 1000 * (kPacerBurst / kMillisecond));
  EXPECT_GE(burst, depth);
  EXPECT_LT(burst, depth + 8000);
  const Instant next = p.next_send(t0);
  EXPECT_GT(next, t0);
  EXPECT_FALSE(p.may_send(next + (-1)));
  EXPECT_TRUE(p.may_send(next));
}

TEST(UdpPacer, GrowsOnlyWhileItHoldsTheSenderBack) {
  UdpPacer p;
  Instant t{10 * kSecond};
  p.restart(t);
  // Idle for a second with a full bucket: no growth.
  t = t + kSecond;
  EXPECT_TRUE(p.may_send(t));
  EXPECT_EQ(p.rate(), kPacerStartRate);
  // Limited for 10 ms: 1/kPacerSlowStartDivisor per millisecond.
  for (int ms = 0; ms < 10; ++ms) {
    drain_bucket(&p, t, 8000);
    t = t + kMillisecond;
  }
  std::uint64_t want = kPacerStartRate;
  for (int ms = 0; ms < 9; ++ms) {
    want += want / kPacerSlowStartDivisor;
  }
  EXPECT_GE(p.rate(), want);
}

TEST(UdpPacer, LossHalvesTheRateOncePerOverrun) {
  UdpPacer p;
  Instant t{10 * kSecond};
  p.restart(t);
  for (int ms = 0; ms < 20; ++ms) {
    drain_bucket(&p, t, 8000);
    t = t + kMillisecond;
  }
  const std::uint64_t before = p.rate();
  ASSERT_GT(before, kPacerStartRate);
  p.on_loss(t);
  EXPECT_EQ(p.rate(), before / 2);
  p.on_loss(t + kPacerBackoffGap / 2);  // the same overrun reported again
  EXPECT_EQ(p.rate(), before / 2);
  EXPECT_EQ(p.backoffs(), 1u);
  // Data sent at a lower rate than now: halved from that one.
  p.on_loss(t + kPacerBackoffGap, kPacerStartRate);
  EXPECT_EQ(p.rate(), kPacerStartRate / 2);
  // Never below the floor.
  for (int i = 2; i < 40; ++i) {
    p.on_loss(t + i * kPacerBackoffGap);
  }
  EXPECT_EQ(p.rate(), kPacerMinRate);
}

}  // namespace
}  // namespace mms

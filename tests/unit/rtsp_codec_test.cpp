// RTSP message codec: messages, interleaved frames, header values, MD5 and
// Basic/Digest authentication.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/auth/md5.h"
#include "protocol/core/limits.h"
#include "protocol/rtsp/message_codec.h"

namespace mms::rtsp {
namespace {

using auth::Md5;
using auth::md5;
using auth::md5_hex;

Decode decode(std::string_view s, Unit* u, Status* err) {
  return decode_unit(ByteView::of(s), u, err);
}

// ---- MD5 (RFC 1321 A.5) ----

TEST(Md5, Rfc1321TestSuite) {
  EXPECT_EQ(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(md5_hex("a"), "0cc175b9c0f1b6a831c399e269772661");
  EXPECT_EQ(md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(md5_hex("message digest"), "f96b697d7cb7938d525a2f31aaf161d0");
  EXPECT_EQ(md5_hex("abcdefghijklmnopqrstuvwxyz"), "c3fcd3d76192e4007dfb496cca67e13b");
  EXPECT_EQ(md5_hex("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
            "d174ab98d277d9f5a5611c2c9f419d9f");
  EXPECT_EQ(md5_hex("1234567890123456789012345678901234567890123456789012345678901234567890"
                    "1234567890"),
            "57edf4a22be3c955ac49da2e2107b67a");
}

TEST(Md5, IncrementalEqualsOneShotAcrossBlockBoundaries) {
  std::string s;
  for (int i = 0; i < 300; ++i) {
    s.push_back(static_cast<char>('a' + i % 26));
  }
  for (std::size_t split : {0u, 1u, 55u, 56u, 63u, 64u, 65u, 127u, 128u, 299u}) {
    Md5 m;
    m.update(std::string_view(s).substr(0, split));
    m.update(std::string_view(s).substr(split));
    EXPECT_EQ(m.finish(), md5(ByteView::of(s))) << split;
  }
}

// ---- messages ----

TEST(RtspMessage, ParsesRequestWithBody) {
  const std::string text =
      "SET_PARAMETER rtsp://h/f.wmv/ RTSP/1.0\r\nCSeq: 1\r\n"
      "Content-Type: application/x-wms-extension-cmd\r\nContent-Length: 10\r\n\r\n"
      "EOF: true\r\nOPTIONS";
  Unit u;
  Status err;
  ASSERT_EQ(decode(text, &u, &err), Decode::kDone);
  EXPECT_EQ(u.kind, UnitKind::kRequest);
  EXPECT_EQ(u.request.method, "SET_PARAMETER");
  EXPECT_EQ(u.request.uri, "rtsp://h/f.wmv/");
  EXPECT_EQ(u.request.body, "EOF: true\r");
  EXPECT_EQ(u.wire_size, text.size() - 8);
  ASSERT_TRUE(cseq_of(u.request.headers).ok());
  EXPECT_EQ(*cseq_of(u.request.headers), 1u);
}

TEST(RtspMessage, NeedsMoreUntilBodyComplete) {
  const std::string text = "RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Length: 5\r\n\r\nabcde";
  for (std::size_t n = 0; n < text.size(); ++n) {
    Unit u;
    Status err;
    EXPECT_EQ(decode(text.substr(0, n), &u, &err), Decode::kNeedMore) << n;
  }
  Unit u;
  Status err;
  ASSERT_EQ(decode(text, &u, &err), Decode::kDone);
  EXPECT_EQ(u.kind, UnitKind::kResponse);
  EXPECT_EQ(u.response.status, 200);
  EXPECT_EQ(u.response.reason, "OK");
  EXPECT_EQ(u.response.body, "abcde");
}

TEST(RtspMessage, InterleavedFrameAndLeadingEmptyLines) {
  const std::string text = std::string("\r\n$\x01\x00\x03", 6) + "xyz";
  Unit u;
  Status err;
  ASSERT_EQ(decode(text, &u, &err), Decode::kDone);
  EXPECT_EQ(u.kind, UnitKind::kInterleaved);
  EXPECT_EQ(u.frame.channel, 1);
  EXPECT_EQ(u.frame.payload.as_string_view(), "xyz");
  EXPECT_EQ(u.wire_size, text.size());
  EXPECT_EQ(decode(text.substr(0, 8), &u, &err), Decode::kNeedMore);
}

TEST(RtspMessage, Errors) {
  Unit u;
  Status err;
  EXPECT_EQ(decode("HTTP/1.0 200 OK\r\n\r\n", &u, &err), Decode::kError);
  EXPECT_EQ(err.code(), Code::kMalformed);
  EXPECT_EQ(decode("\x01\x02garbage\r\n", &u, &err), Decode::kError);
  EXPECT_EQ(decode("RTSP/1.0 200 OK\r\nbad header\r\n\r\n", &u, &err), Decode::kError);
  EXPECT_EQ(decode("RTSP/1.0 200 OK\r\n folded\r\n\r\n", &u, &err), Decode::kError);
  EXPECT_EQ(decode("RTSP/1.0 200 OK\r\nContent-Length: -1\r\n\r\n", &u, &err), Decode::kError);
  EXPECT_EQ(err.code(), Code::kMalformed);
  EXPECT_EQ(decode("RTSP/1.0 200 OK\r\nContent-Length: 99999999\r\n\r\n", &u, &err),
            Decode::kError);
  EXPECT_EQ(err.code(), Code::kLimitExceeded);
  std::string longline = "RTSP/1.0 200 OK\r\nX: " + std::string(limits::kMaxRtspLine, 'a');
  EXPECT_EQ(decode(longline, &u, &err), Decode::kError);
  EXPECT_EQ(err.code(), Code::kLimitExceeded);
  std::string many = "RTSP/1.0 200 OK\r\n";
  for (std::size_t i = 0; i <= limits::kMaxRtspHeaders; ++i) {
    many += "X: 1\r\n";
  }
  EXPECT_EQ(decode(many, &u, &err), Decode::kError);
  EXPECT_EQ(err.code(), Code::kLimitExceeded);
}

TEST(RtspMessage, BareLfAndVersionDigit) {
  Unit u;
  Status err;
  ASSERT_EQ(decode("RTSP/1.1 454 Session Not Found\nCSeq: 3\n\n", &u, &err), Decode::kDone);
  EXPECT_EQ(u.response.status, 454);
  EXPECT_EQ(u.response.version_minor, 1);
}

TEST(RtspMessage, WritersRoundTripAndFixContentLength) {
  Request req;
  req.method = "ANNOUNCE";
  req.uri = "rtsp://h/a";
  req.headers.add("CSeq", "4");
  req.headers.add("Content-Length", "999");
  req.body = "v=0\r\n";
  const std::string text = write_request(req);
  EXPECT_NE(text.find("Content-Length: 5\r\n"), std::string::npos);
  Unit u;
  Status err;
  ASSERT_EQ(decode(text, &u, &err), Decode::kDone);
  EXPECT_EQ(u.request.body, req.body);
  EXPECT_EQ(write_request(u.request), text);

  Response resp;
  resp.status = 200;
  resp.reason = reason_phrase(200);
  resp.headers.add("CSeq", "4");
  resp.body = "x";
  const std::string rt = write_response(resp);
  EXPECT_EQ(rt, "RTSP/1.0 200 OK\r\nCSeq: 4\r\nContent-Length: 1\r\n\r\nx");
  EXPECT_STREQ(reason_phrase(461), "Unsupported transport");
}

TEST(RtspMessage, WriteInterleaved) {
  std::vector<std::uint8_t> out;
  const std::vector<std::uint8_t> p = {1, 2, 3};
  ASSERT_TRUE(write_interleaved(2, p, &out).ok());
  EXPECT_EQ(out, (std::vector<std::uint8_t>{0x24, 2, 0, 3, 1, 2, 3}));
  std::vector<std::uint8_t> big(65536);
  EXPECT_EQ(write_interleaved(0, big, &out).code(), Code::kLocalMisuse);
}

TEST(RtspHeaders, SetRemoveFind) {
  Headers h;
  h.add("Session", "1");
  h.set("session", "2");
  EXPECT_EQ(*h.find("SESSION"), "2");
  h.add("Session", "3");
  EXPECT_EQ(h.all("Session").size(), 2u);
  h.remove("Session");
  EXPECT_EQ(h.find("Session"), nullptr);
}

// ---- header values ----

TEST(RtspValues, Session) {
  auto s = parse_session("13856065358275910855;timeout=60");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->id, "13856065358275910855");
  EXPECT_EQ(s->timeout_s, 60u);
  EXPECT_EQ(format_session(*s), "13856065358275910855;timeout=60");
  auto g = parse_session("KAxoCBITARbIOkQM");
  ASSERT_TRUE(g.ok());
  EXPECT_FALSE(g->timeout_s.has_value());
  EXPECT_FALSE(parse_session("").ok());
  EXPECT_FALSE(parse_session("x;timeout=abc").ok());
}

TEST(RtspValues, TransportUdpWithSsrc) {
  auto t = parse_transports(
      "RTP/AVP/UDP;unicast;client_port=7000-7001;server_port=5004-5005;ssrc=2f3c9a11;mode=PLAY");
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->size(), 1u);
  const Transport& x = (*t)[0];
  EXPECT_EQ(x.protocol, "RTP/AVP");
  EXPECT_EQ(x.lower, "UDP");
  EXPECT_FALSE(x.tcp());
  EXPECT_EQ(x.client_port->first, 7000);
  EXPECT_EQ(x.client_port->second, 7001);
  EXPECT_EQ(x.server_port->first, 5004);
  EXPECT_EQ(x.ssrc, 0x2f3c9a11u);
  EXPECT_EQ(x.mode, "PLAY");
  EXPECT_EQ(format_transport(x),
            "RTP/AVP/UDP;unicast;client_port=7000-7001;server_port=5004-5005;ssrc=2F3C9A11;"
            "mode=PLAY");
}

TEST(RtspValues, TransportTcpInterleavedQuotedModeAndList) {
  auto t = parse_transports(
      "RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=1AEEC1C5;mode=\"PLAY\", RTP/AVP;unicast;"
      "client_port=7002");
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->size(), 2u);
  EXPECT_TRUE((*t)[0].tcp());
  EXPECT_EQ((*t)[0].interleaved->first, 0);
  EXPECT_EQ((*t)[0].interleaved->second, 1);
  EXPECT_EQ((*t)[0].mode, "PLAY");
  EXPECT_EQ((*t)[1].lower, "");
  EXPECT_EQ((*t)[1].client_port->first, 7002);
  EXPECT_FALSE((*t)[1].client_port->second.has_value());
  EXPECT_EQ(format_transport((*t)[1]), "RTP/AVP;unicast;client_port=7002");
  EXPECT_FALSE(parse_transports("RTP/AVP;client_port=70000").ok());
  EXPECT_FALSE(parse_transports("RTP/AVP;ssrc=xyz").ok());
  EXPECT_FALSE(parse_transports("").ok());
  // Values that would not survive format_transport() are refused.
  EXPECT_FALSE(parse_transports("RTP/AVP/U\"DP;unicast").ok());
  EXPECT_FALSE(parse_transports("2101 \"End-of/x").ok());
  EXPECT_FALSE(parse_transports("RTP/AVP;mode=\"PL;AY\"").ok());
  auto v6 = parse_transports("RTP/AVP;unicast;destination=[::1];mode=PLAY");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ((*v6)[0].destination, "[::1]");
}

TEST(RtspValues, RangeNpt) {
  auto r = parse_range("npt=3.100-173.903");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->start_ms, 3100u);
  EXPECT_EQ(r->end_ms, 173903u);
  EXPECT_EQ(format_range(*r), "npt=3.100-173.903");
  auto open = parse_range("npt=0-");
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(open->start_ms, 0u);
  EXPECT_FALSE(open->end_ms.has_value());
  EXPECT_EQ(format_range(*open), "npt=0.000-");
  auto hms = parse_range("npt=01:02:03.5-;time=19970123T143720Z");
  ASSERT_TRUE(hms.ok());
  EXPECT_EQ(hms->start_ms, 3723500u);
  auto now = parse_range("npt=now-");
  ASSERT_TRUE(now.ok());
  EXPECT_TRUE(now->start_now);
  EXPECT_EQ(format_range(*now), "npt=now-");
  auto end_only = parse_range("npt=-10");
  ASSERT_TRUE(end_only.ok());
  EXPECT_FALSE(end_only->start_ms.has_value());
  EXPECT_EQ(parse_range("smpte=0:10:00-").status().code(), Code::kUnsupported);
  EXPECT_EQ(parse_range("x-asf-packet=5-").status().code(), Code::kUnsupported);
  EXPECT_FALSE(parse_range("npt=1:99:00-").ok());
  EXPECT_FALSE(parse_range("npt=-").ok());
  EXPECT_FALSE(parse_range("npt=abc-").ok());
  // Times stay below 10^15 s so that format_range() output parses back.
  EXPECT_TRUE(parse_range("npt=999999999999999-").ok());
  EXPECT_FALSE(parse_range("npt=1000000000000000-").ok());
  EXPECT_FALSE(parse_range("npt=999999999999999:00:00-").ok());
  EXPECT_EQ(format_npt_time(0), "0.000");
  EXPECT_EQ(format_npt_time(170803), "170.803");
}

TEST(RtspValues, RtpInfo) {
  auto r = parse_rtp_info(
      "url=rtsp://wm.microsoft.com/ms/video/0001-hi.wmv/audio;seq=21874;rtptime=0, "
      "url=rtsp://wm.microsoft.com/ms/video/0001-hi.wmv/stream=2;seq=8833;rtptime=0");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].url, "rtsp://wm.microsoft.com/ms/video/0001-hi.wmv/audio");
  EXPECT_EQ((*r)[0].seq, 21874);
  EXPECT_EQ((*r)[1].seq, 8833);
  EXPECT_EQ((*r)[1].rtptime, 0u);
  EXPECT_EQ(format_rtp_info(*r),
            "url=rtsp://wm.microsoft.com/ms/video/0001-hi.wmv/audio;seq=21874;rtptime=0, "
            "url=rtsp://wm.microsoft.com/ms/video/0001-hi.wmv/stream=2;seq=8833;rtptime=0");
  auto comma = parse_rtp_info("url=rtsp://h/a,b;seq=1");
  ASSERT_TRUE(comma.ok());
  ASSERT_EQ(comma->size(), 1u);
  EXPECT_EQ((*comma)[0].url, "rtsp://h/a,b");
  auto noseq = parse_rtp_info("url=rtsp://h/a/audio;seq=23901");
  ASSERT_TRUE(noseq.ok());
  EXPECT_FALSE((*noseq)[0].rtptime.has_value());
  EXPECT_FALSE(parse_rtp_info("url=x;seq=70000").ok());
}

// ---- authentication ----

TEST(RtspAuth, ParsesSeveralChallenges) {
  auto c = parse_auth(
      "Basic realm=\"WMS\", Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", "
      "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"");
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->size(), 2u);
  EXPECT_TRUE((*c)[0].is("basic"));
  EXPECT_EQ(*(*c)[0].param("realm"), "WMS");
  EXPECT_TRUE((*c)[1].is("Digest"));
  EXPECT_EQ(*(*c)[1].param("qop"), "auth,auth-int");
  EXPECT_EQ(*(*c)[1].param("Opaque"), "5ccc069c403ebaf9f0171e9517f40e41");
  Headers h;
  h.add("WWW-Authenticate", "NTLM");
  h.add("WWW-Authenticate", "Digest realm=\"r\", nonce=\"n\"");
  auto all = parse_www_authenticate(h);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_TRUE((*all)[0].is("NTLM"));
  EXPECT_FALSE(parse_auth("Digest realm=\"unterminated").ok());
}

TEST(RtspAuth, Rfc2617DigestExample) {
  DigestInput in;
  in.user = "Mufasa";
  in.password = "Circle Of Life";
  in.realm = "testrealm@host.com";
  in.nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093";
  in.method = "GET";
  in.uri = "/dir/index.html";
  in.qop = "auth";
  in.nc = "00000001";
  in.cnonce = "0a4f113b";
  EXPECT_EQ(digest_response(in), "6629fae49393a05397450978507c4ef1");
}

TEST(RtspAuth, DigestAuthorizationAndServerVerify) {
  auto c = parse_auth(
      "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", "
      "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"");
  ASSERT_TRUE(c.ok());
  auto a = digest_authorization((*c)[0], "Mufasa", "Circle Of Life", "GET", "/dir/index.html",
                                "0a4f113b");
  ASSERT_TRUE(a.ok()) << a.status().what();
  EXPECT_NE(a->find("response=\"6629fae49393a05397450978507c4ef1\""), std::string::npos) << *a;
  EXPECT_NE(a->find("opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""), std::string::npos);
  EXPECT_NE(a->find("qop=auth, nc=00000001, cnonce=\"0a4f113b\""), std::string::npos);
  auto creds = parse_auth(*a);
  ASSERT_TRUE(creds.ok());
  ASSERT_EQ(creds->size(), 1u);
  EXPECT_TRUE(digest_verify((*creds)[0], "GET", "Circle Of Life"));
  EXPECT_FALSE(digest_verify((*creds)[0], "GET", "wrong"));
  EXPECT_FALSE(digest_verify((*creds)[0], "PLAY", "Circle Of Life"));

  // RFC 2069 form (no qop): response = MD5(HA1:nonce:HA2).
  auto old = parse_auth("Digest realm=\"r\", nonce=\"n\"");
  auto a2 = digest_authorization((*old)[0], "u", "p", "DESCRIBE", "rtsp://h/f", "c");
  ASSERT_TRUE(a2.ok());
  const std::string expect = md5_hex(md5_hex("u:r:p") + ":n:" + md5_hex("DESCRIBE:rtsp://h/f"));
  EXPECT_NE(a2->find("response=\"" + expect + "\""), std::string::npos);
  EXPECT_EQ(a2->find("qop"), std::string::npos);
  auto c2 = parse_auth(*a2);
  EXPECT_TRUE(digest_verify((*c2)[0], "DESCRIBE", "p"));

  auto sha = parse_auth("Digest realm=\"r\", nonce=\"n\", algorithm=SHA-256");
  EXPECT_EQ(digest_authorization((*sha)[0], "u", "p", "M", "u", "c").status().code(),
            Code::kUnsupported);
  auto noreal = parse_auth("Digest nonce=\"n\"");
  EXPECT_EQ(digest_authorization((*noreal)[0], "u", "p", "M", "u", "c").status().code(),
            Code::kMalformed);
}

TEST(RtspAuth, BasicRoundTrip) {
  EXPECT_EQ(basic_authorization("Aladdin", "open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  auto c = parse_auth("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->size(), 1u);
  EXPECT_EQ((*c)[0].token68, "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  std::string user;
  std::string pass;
  ASSERT_TRUE(parse_basic_credentials((*c)[0], &user, &pass));
  EXPECT_EQ(user, "Aladdin");
  EXPECT_EQ(pass, "open sesame");
}

TEST(RtspCodec, AccelerateStreamingHeader) {
  AccelRequest a = parse_accelerate_streaming("AccelDuration=18000;AccelBandwidth=1048576");
  EXPECT_EQ(a.duration_ms, 18000u);
  EXPECT_EQ(a.bandwidth_bps, 1048576u);
  a = parse_accelerate_streaming(" accelbandwidth = 7 ; junk ; AccelDuration=x; =3;");
  EXPECT_EQ(a.duration_ms, 0u);
  EXPECT_EQ(a.bandwidth_bps, 7u);
  a = parse_accelerate_streaming("AccelDuration=99999999999");  // beyond u32: ignored
  EXPECT_EQ(a.duration_ms, 0u);
  AccelRequest b;
  b.duration_ms = 10000;
  b.bandwidth_bps = 2147483647;
  const AccelRequest back = parse_accelerate_streaming(format_accelerate_streaming(b));
  EXPECT_EQ(back.duration_ms, b.duration_ms);
  EXPECT_EQ(back.bandwidth_bps, b.bandwidth_bps);
}

}  // namespace
}  // namespace mms::rtsp

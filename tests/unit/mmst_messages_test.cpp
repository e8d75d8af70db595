// MMS (MS-MMSP) message codec: round trips of every message kind, limits at the
// limit and one past it, truncation at every length, corrupt framing, Data
// packets, header reassembly, UDP resend datagrams and the small helpers.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/core/byte_reader.h"
#include "protocol/core/limits.h"
#include "protocol/core/text.h"
#include "protocol/mmst/messages.h"
#include "tests/unit/mmst_describe.h"

namespace mms::mmst {
namespace {

using testing::describe;

std::vector<Message> samples() {
  std::vector<Message> v;
  auto add = [&v](std::uint32_t mid) -> Message& {
    v.push_back(make_message(mid));
    v.back().header.seq = static_cast<std::uint16_t>(v.size());
    v.back().header.time_sent = 1000 + v.size();
    return v.back();
  };
  Message& c = add(kLinkViewerToMacConnect);
  c.connect.subscriber_name =
      make_subscriber_name("9.0.0.2980", "3300AD50-2C39-46C0-AE0A-0123456789AB", "h:1755");
  c.connect.subscriber_extra = {"HOST: h", "VIA: 1.1 proxy"};
  Message& rc = add(kLinkMacToViewerReportConnectedEX);
  rc.report_connected_ex.server_version_info = "9.01.01.3841";
  rc.report_connected_ex.version_info = "9.0";
  rc.report_connected_ex.version_url = "http://x/\xf0\x9f\x8e\xb5";  // non-BMP
  rc.report_connected_ex.authen_package = "BASIC";
  add(kLinkViewerToMacFunnelInfo).funnel_info.play_incarnation = kMmsUseHighEntropyPacketPairTcp;
  Message& rf = add(kLinkMacToViewerReportFunnelInfo);
  rf.report_funnel_info.n_cubs = 0x1A2B3C4D;
  rf.report_funnel_info.packet_pair_data.assign(432, 0x5a);
  add(kLinkViewerToMacConnectFunnel).connect_funnel.funnel_name = "\\\\192.168.1.10\\UDP\\7000";
  add(kLinkMacToViewerReportConnectedFunnel);
  add(kLinkMacToViewerReportDisconnectedFunnel).report_disconnected_funnel.hr = kNsENoFunnel;
  Message& of = add(kLinkViewerToMacOpenFile);
  of.open_file.play_incarnation = 9;
  of.open_file.file_name = "dir/caf\xc3\xa9.wmv";
  of.open_file.token_data = basic_response_token("user", "pass");
  Message& ro = add(kLinkMacToViewerReportOpenFile);
  ro.report_open_file = {0, 9, 1, 0, 0, 0x01800000, 30.0, 30, 3200, 100, 100000, 5000};
  add(kLinkViewerToMacReadBlock).read_block.play_incarnation = 1;
  add(kLinkMacToViewerReportReadBlock).report_read_block.play_incarnation = 1;
  add(kLinkViewerToMacCancelReadBlock).cancel_read_block.play_incarnation = 2;
  add(kLinkViewerToMacStreamSwitch).stream_switch.a_stream_entries = {
      {kStreamNone, 1, 0}, {kStreamNone, 2, 2}, {3, kStreamNone, 0}};
  add(kLinkMacToViewerReportStreamSwitch);
  Message& sp = add(kLinkViewerToMacStartPlaying);
  sp.start_playing.position = 12.5;
  sp.start_playing.play_incarnation = 0x0B;
  Message& spa = add(kLinkViewerToMacStartPlaying);
  spa.start_playing.has_accel = true;
  spa.start_playing.dw_accel_bandwidth = 0x7FFFFFFF;
  spa.start_playing.dw_link_bandwidth = 0x7FFFFFFF;
  add(kLinkMacToViewerReportStartedPlaying).report_started_playing.play_incarnation = 0x0A;
  add(kLinkViewerToMacStartStriding).start_striding.rate = -2.0;
  add(kLinkMacToViewerReportStartStriding).report_start_striding.play_incarnation = 0x0C;
  add(kLinkViewerToMacStopPlaying).stop_playing = {1, 0x0A};
  add(kLinkMacToViewerReportEndOfStream).report_end_of_stream = {kHrFalse, 0x0A};
  add(kLinkViewerToMacLogging).logging.log = make_client_log(1, "mms://h/a.wmv", "TCP");
  add(kLinkMacToViewerReportStreamChange).report_stream_change.cb_packet_size = 3200;
  add(kLinkMacToViewerPing).ping_pong = {0x0A, 0};
  add(kLinkViewerToMacPong).ping_pong = {1, 0x0100FFFF};
  add(kLinkViewerToMacCloseFile).close_file = {0, 1};
  add(kLinkMacToViewerReportRedirect).report_redirect.wsz_location = "mms://h2/a.wmv";
  Message& ch = add(kLinkMacToViewerSecurityChallenge);
  ch.security = {9, 1, basic_challenge_token("MMS")};
  Message& sr = add(kLinkViewerToMacSecurityResponse);
  sr.security = {9, 1, basic_response_token("user", "pass")};
  return v;
}

TEST(MmstMessages, EveryKnownMidHasASample) {
  std::vector<Message> v = samples();
  for (std::uint32_t mid = 0x00030000; mid < 0x00050000; ++mid) {
    if ((mid & 0xFFFF) > 0x40 || !is_known_mid(mid)) {
      continue;
    }
    bool found = false;
    for (const Message& m : v) {
      found = found || m.mid == mid;
    }
    EXPECT_TRUE(found) << mid_to_string(mid);
  }
}

TEST(MmstMessages, RoundTripEveryKind) {
  for (const Message& m : samples()) {
    SCOPED_TRACE(mid_to_string(m.mid));
    std::vector<std::uint8_t> wire;
    ASSERT_TRUE(encode_message(m, &wire).ok());
    ASSERT_EQ(wire.size() % 8, 0u);
    EXPECT_EQ(load_u32le(wire.data() + 8), wire.size() - 16);         // messageLength
    EXPECT_EQ(load_u32le(wire.data() + 16), (wire.size() - 16) / 8);  // chunkCount
    EXPECT_EQ(load_u32le(wire.data() + 32), (wire.size() - 32) / 8);  // chunkLen
    EXPECT_GE(wire.size() - 32, fixed_message_size(m.mid));
    Message d;
    Status err;
    ASSERT_EQ(decode_message(wire, &d, &err), Decode::kDone) << err.what();
    EXPECT_EQ(d.wire_size, wire.size());
    EXPECT_EQ(d.mid, m.mid);
    EXPECT_EQ(d.header.seq, m.header.seq);
    EXPECT_EQ(d.header.time_sent, m.header.time_sent);
    EXPECT_TRUE(d.extra_messages.empty());
    Message expect = m;
    expect.wire_size = wire.size();
    EXPECT_EQ(describe(d), describe(expect));
    std::vector<std::uint8_t> again;
    ASSERT_TRUE(encode_message(d, &again).ok());
    EXPECT_EQ(again, wire);
  }
}

TEST(MmstMessages, FieldsSurviveTheRoundTrip) {
  std::vector<Message> v = samples();
  auto rt = [](const Message& m) {
    std::vector<std::uint8_t> wire;
    EXPECT_TRUE(encode_message(m, &wire).ok());
    Message d;
    Status err;
    EXPECT_EQ(decode_message(wire, &d, &err), Decode::kDone);
    return d;
  };
  Message c = rt(v[0]);
  EXPECT_EQ(c.connect.subscriber_name, v[0].connect.subscriber_name);
  EXPECT_EQ(c.connect.subscriber_extra, v[0].connect.subscriber_extra);
  Message rc = rt(v[1]);
  EXPECT_EQ(rc.report_connected_ex.version_url, "http://x/\xf0\x9f\x8e\xb5");
  EXPECT_EQ(rc.report_connected_ex.authen_package, "BASIC");
  Message of = rt(v[7]);
  EXPECT_EQ(of.open_file.file_name, "dir/caf\xc3\xa9.wmv");
  EXPECT_EQ(of.open_file.token_data, basic_response_token("user", "pass"));
  EXPECT_EQ(rt(v[3]).report_funnel_info.packet_pair_data.size(), 432u);
  std::uint32_t hr = 1;
  EXPECT_TRUE(message_hr(rt(v[6]), &hr));
  EXPECT_EQ(hr, kNsENoFunnel);
  EXPECT_FALSE(message_hr(make_message(kLinkMacToViewerPing), &hr));
  EXPECT_FALSE(message_hr(make_message(kLinkMacToViewerSecurityChallenge), &hr));
}

TEST(MmstMessages, TruncatedAtEveryLengthNeedsMore) {
  for (const Message& m : samples()) {
    std::vector<std::uint8_t> wire;
    ASSERT_TRUE(encode_message(m, &wire).ok());
    for (std::size_t n = 0; n < wire.size(); ++n) {
      std::vector<std::uint8_t> cut(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(n));
      Message d;
      Status err;
      ASSERT_EQ(decode_message(cut, &d, &err), Decode::kNeedMore)
          << mid_to_string(m.mid) << " at " << n;
      Unit u;
      ASSERT_EQ(decode_tcp_unit(cut, &u, &err), Decode::kNeedMore) << n;
    }
  }
}

TEST(MmstMessages, CorruptFramingIsAnError) {
  std::vector<std::uint8_t> wire;
  ASSERT_TRUE(encode_message(make_message(kLinkMacToViewerPing), &wire).ok());
  for (std::size_t off : {4u, 5u, 6u, 7u, 12u, 13u, 14u, 15u}) {
    std::vector<std::uint8_t> bad = wire;
    bad[off] ^= 0x01;
    Message d;
    Status err;
    EXPECT_EQ(decode_message(bad, &d, &err), Decode::kError) << off;
    EXPECT_EQ(err.code(), Code::kMalformed);
  }
  // Bytes 0..3, chunkCount, seq, MBZ and timeSent are informational.
  for (std::size_t off : {0u, 1u, 2u, 3u, 16u, 20u, 22u, 24u, 31u}) {
    std::vector<std::uint8_t> odd = wire;
    odd[off] ^= 0x5a;
    Message d;
    Status err;
    EXPECT_EQ(decode_message(odd, &d, &err), Decode::kDone) << off;
  }
}

TEST(MmstMessages, UnknownMidDecodesButDoesNotEncode) {
  Message m = make_message(0x00030030);
  std::vector<std::uint8_t> wire;
  EXPECT_EQ(encode_message(m, &wire).code(), Code::kLocalMisuse);
  EXPECT_TRUE(wire.empty());
  EXPECT_STREQ(mid_to_string(0x00030030), "unknown");
  EXPECT_STREQ(to_string(kLinkViewerToMacConnect), "LinkViewerToMacConnect");
  EXPECT_STREQ(hresult_to_string(kNsEFileNotFound), "NS_E_FILE_NOT_FOUND");
}

// Builds a Connect message with a subscriberName of `units` UTF-16 code units,
// bypassing the encoder's limit check.
std::vector<std::uint8_t> raw_connect(std::size_t units) {
  std::vector<std::uint8_t> body = {0, 0, 0, 0, 0x01, 0, 0x03, 0};
  for (int i = 0; i < 12; ++i) {
    body.push_back(0);
  }
  for (std::size_t i = 0; i < units + 1; ++i) {
    body.push_back(i < units ? 'a' : 0);
    body.push_back(0);
  }
  while (body.size() % 8 != 0) {
    body.push_back(0);
  }
  store_u32le(body.data(), static_cast<std::uint32_t>(body.size() / 8));
  std::vector<std::uint8_t> w = {1, 0, 0, 0, 0xce, 0xfa, 0x0b, 0xb0,
                                 0, 0, 0, 0, 'M',  'M',  'S',  ' '};
  w.resize(32, 0);
  store_u32le(w.data() + 8, static_cast<std::uint32_t>(body.size() + 16));
  w.insert(w.end(), body.begin(), body.end());
  return w;
}

TEST(MmstLimits, StringUnits) {
  Message m = make_message(kLinkViewerToMacConnect);
  m.connect.subscriber_name.assign(limits::kMaxMmsStringUnits, 'a');
  std::vector<std::uint8_t> wire;
  EXPECT_TRUE(encode_message(m, &wire).ok());
  m.connect.subscriber_name.push_back('a');
  std::vector<std::uint8_t> over;
  EXPECT_EQ(encode_message(m, &over).code(), Code::kLocalMisuse);

  Message d;
  Status err;
  EXPECT_EQ(decode_message(raw_connect(limits::kMaxMmsStringUnits), &d, &err), Decode::kDone);
  EXPECT_EQ(d.connect.subscriber_name.size(), limits::kMaxMmsStringUnits);
  EXPECT_EQ(decode_message(raw_connect(limits::kMaxMmsStringUnits + 1), &d, &err), Decode::kError);
  EXPECT_EQ(err.code(), Code::kLimitExceeded);
}

TEST(MmstLimits, EmbeddedNulIsMisuse) {
  Message m = make_message(kLinkViewerToMacOpenFile);
  m.open_file.file_name = std::string("a\0b", 3);
  std::vector<std::uint8_t> wire;
  EXPECT_EQ(encode_message(m, &wire).code(), Code::kLocalMisuse);
}

TEST(MmstLimits, StreamSwitchEntries) {
  Message m = make_message(kLinkViewerToMacStreamSwitch);
  m.stream_switch.a_stream_entries.resize(limits::kMaxStreamSwitchEntries);
  std::vector<std::uint8_t> wire;
  ASSERT_TRUE(encode_message(m, &wire).ok());
  Message d;
  Status err;
  ASSERT_EQ(decode_message(wire, &d, &err), Decode::kDone);
  EXPECT_EQ(d.stream_switch.a_stream_entries.size(), limits::kMaxStreamSwitchEntries);
  m.stream_switch.a_stream_entries.resize(limits::kMaxStreamSwitchEntries + 1);
  std::vector<std::uint8_t> over;
  EXPECT_EQ(encode_message(m, &over).code(), Code::kLocalMisuse);
  // Patch the count of the valid packet to limit + 1.
  store_u32le(wire.data() + 40, static_cast<std::uint32_t>(limits::kMaxStreamSwitchEntries + 1));
  EXPECT_EQ(decode_message(wire, &d, &err), Decode::kError);
  EXPECT_EQ(err.code(), Code::kLimitExceeded);
}

TEST(MmstLimits, TokenBytes) {
  Message m = make_message(kLinkViewerToMacSecurityResponse);
  m.security.p_token.assign(limits::kMaxMmsTokenBytes, 'x');
  std::vector<std::uint8_t> wire;
  ASSERT_TRUE(encode_message(m, &wire).ok());
  Message d;
  Status err;
  ASSERT_EQ(decode_message(wire, &d, &err), Decode::kDone);
  EXPECT_EQ(d.security.p_token.size(), limits::kMaxMmsTokenBytes);
  store_u32le(wire.data() + 48, static_cast<std::uint32_t>(limits::kMaxMmsTokenBytes + 1));
  EXPECT_EQ(decode_message(wire, &d, &err), Decode::kError);
  EXPECT_EQ(err.code(), Code::kLimitExceeded);
  m.security.p_token.push_back('x');
  std::vector<std::uint8_t> over;
  EXPECT_EQ(encode_message(m, &over).code(), Code::kLocalMisuse);
}

TEST(MmstLimits, MessageLength) {
  Message m = make_message(kLinkMacToViewerReportFunnelInfo);
  // 32-byte TcpMessageHeader + 48 fixed + data == 16 + kMaxMmsMessageLength.
  m.report_funnel_info.packet_pair_data.assign(limits::kMaxMmsMessageLength - 16 - 48, 1);
  std::vector<std::uint8_t> wire;
  ASSERT_TRUE(encode_message(m, &wire).ok());
  EXPECT_EQ(load_u32le(wire.data() + 8), limits::kMaxMmsMessageLength);
  Message d;
  Status err;
  EXPECT_EQ(decode_message(wire, &d, &err), Decode::kDone);
  m.report_funnel_info.packet_pair_data.resize(m.report_funnel_info.packet_pair_data.size() + 8);
  std::vector<std::uint8_t> over;
  EXPECT_EQ(encode_message(m, &over).code(), Code::kLocalMisuse);
  store_u32le(wire.data() + 8, limits::kMaxMmsMessageLength + 8);
  EXPECT_EQ(decode_message(wire, &d, &err), Decode::kError);
  EXPECT_EQ(err.code(), Code::kLimitExceeded);
}

TEST(MmstLimits, ClientLog) {
  Message m = make_message(kLinkViewerToMacLogging);
  m.logging.log.assign(limits::kMaxClientLogBytes, 0);
  store_u32le(m.logging.log.data(), limits::kMaxClientLogBytes);
  std::vector<std::uint8_t> wire;
  ASSERT_TRUE(encode_message(m, &wire).ok());
  Message d;
  Status err;
  ASSERT_EQ(decode_message(wire, &d, &err), Decode::kDone);
  store_u32le(wire.data() + 40, limits::kMaxClientLogBytes + 1);
  EXPECT_EQ(decode_message(wire, &d, &err), Decode::kError);
  EXPECT_EQ(err.code(), Code::kLimitExceeded);
  m.logging.log.push_back(0);
  std::vector<std::uint8_t> over;
  EXPECT_EQ(encode_message(m, &over).code(), Code::kLocalMisuse);
}

TEST(MmstData, EncodeDecodeAndUdp) {
  std::vector<std::uint8_t> p;
  std::vector<std::uint8_t> payload(100, 7);
  ASSERT_TRUE(encode_data_packet(42, 0x0A, 3, payload, &p).ok());
  EXPECT_EQ(p.size(), 108u);
  DataPacket d;
  Status err;
  ASSERT_EQ(decode_data_packet(p, &d, &err), Decode::kDone);
  EXPECT_EQ(d.location_id, 42u);
  EXPECT_EQ(d.play_incarnation, 0x0A);
  EXPECT_EQ(d.af_flags, 3);
  EXPECT_EQ(d.packet_size, 108);
  EXPECT_EQ(d.payload.size(), 100u);
  EXPECT_TRUE(decode_udp_data_packet(p, &d).ok());
  std::vector<std::uint8_t> longer = p;
  longer.push_back(0);
  EXPECT_EQ(decode_udp_data_packet(longer, &d).code(), Code::kMalformed);
  EXPECT_EQ(decode_udp_data_packet(ByteView(p).subview(0, 50), &d).code(), Code::kMalformed);
  std::vector<std::uint8_t> big(kMaxDataPayload + 1);
  std::vector<std::uint8_t> out;
  EXPECT_EQ(encode_data_packet(0, 1, 0, big, &out).code(), Code::kLocalMisuse);
  big.pop_back();
  EXPECT_TRUE(encode_data_packet(0, 1, 0, big, &out).ok());
  EXPECT_EQ(load_u16le(out.data() + 6), 65535);
}

TEST(MmstData, HeaderPacketsReassemble) {
  std::vector<std::uint8_t> header(5000);
  for (std::size_t i = 0; i < header.size(); ++i) {
    header[i] = static_cast<std::uint8_t>(i * 7);
  }
  std::vector<std::uint8_t> wire;
  encode_header_packets(header, 1, 3200, &wire);
  EXPECT_EQ(header_packet_count(5000, 3200), 2u);
  HeaderAssembler a(5000);
  ByteView rest(wire);
  int n = 0;
  bool done = false;
  while (!rest.empty()) {
    DataPacket d;
    Status err;
    ASSERT_EQ(decode_data_packet(rest, &d, &err), Decode::kDone);
    EXPECT_EQ(d.af_flags, n == 0 ? kAfHeaderMore : kAfHeaderLast);
    Result<bool> r = a.add(d);
    ASSERT_TRUE(r.ok());
    done = *r;
    rest = rest.subview(d.packet_size);
    ++n;
  }
  EXPECT_EQ(n, 2);
  EXPECT_TRUE(done);
  EXPECT_EQ(a.header(), header);

  // fileHeaderSize disagreeing with the fragments is a peer violation.
  HeaderAssembler wrong(4000);
  DataPacket d;
  Status err;
  ASSERT_EQ(decode_data_packet(wire, &d, &err), Decode::kDone);
  EXPECT_TRUE(wrong.add(d).ok());
  ByteView second = ByteView(wire).subview(d.packet_size);
  ASSERT_EQ(decode_data_packet(second, &d, &err), Decode::kDone);
  EXPECT_EQ(wrong.add(d).status().code(), Code::kPeerViolation);

  std::vector<std::uint8_t> empty;
  encode_header_packets(ByteView(), 2, 3200, &empty);
  ASSERT_EQ(empty.size(), 8u);
  EXPECT_EQ(empty[5], kAfHeaderLast);
}

TEST(MmstResend, SpecVectorAndLimits) {
  const std::vector<std::uint8_t> spec = {0x0d, 0xf0, 0xef, 0xbe, 0x4d, 0x3c, 0x2b,
                                          0x1a, 0x01, 0x00, 0x02, 0x00, 0x05, 0x01,
                                          0x00, 0x00, 0x07, 0x01, 0x00, 0x00};
  RequestPacketListResend r;
  ASSERT_TRUE(decode_resend(spec, &r).ok());
  EXPECT_EQ(r.dw_client_id, 0x1A2B3C4Du);
  EXPECT_EQ(r.w_source_id, 1);
  EXPECT_EQ(r.dw_begin_packet_list, (std::vector<std::uint32_t>{0x105, 0x107}));
  std::vector<std::uint8_t> out;
  ASSERT_TRUE(encode_resend(r, &out).ok());
  EXPECT_EQ(out, spec);

  r.dw_begin_packet_list.assign(limits::kMaxResendPackets, 9);
  out.clear();
  ASSERT_TRUE(encode_resend(r, &out).ok());
  ASSERT_TRUE(decode_resend(out, &r).ok());
  r.dw_begin_packet_list.push_back(9);
  std::vector<std::uint8_t> over;
  EXPECT_EQ(encode_resend(r, &over).code(), Code::kLocalMisuse);
  out.insert(out.end(), 4, 0);
  store_u16le(out.data() + 10, static_cast<std::uint16_t>(limits::kMaxResendPackets + 1));
  EXPECT_EQ(decode_resend(out, &r).code(), Code::kLimitExceeded);
  r.dw_begin_packet_list.clear();
  EXPECT_EQ(encode_resend(r, &over).code(), Code::kLocalMisuse);

  std::vector<std::uint8_t> bad = spec;
  bad[0] = 0;
  EXPECT_EQ(decode_resend(bad, &r).code(), Code::kMalformed);
  bad = spec;
  bad.pop_back();
  EXPECT_EQ(decode_resend(bad, &r).code(), Code::kMalformed);
  for (std::size_t n = 0; n < 12; ++n) {
    EXPECT_EQ(decode_resend(ByteView(spec).subview(0, n), &r).code(), Code::kMalformed);
  }
}

TEST(MmstHelpers, Incarnations) {
  EXPECT_EQ(next_header_incarnation(1), 2);
  EXPECT_EQ(next_header_incarnation(8), 1);
  EXPECT_EQ(next_header_incarnation(0), 1);
  EXPECT_EQ(next_play_incarnation(9), 10);
  EXPECT_EQ(next_play_incarnation(0xFE), 9);
  EXPECT_EQ(next_play_incarnation(0xFF), 9);
  EXPECT_TRUE(is_header_incarnation(8));
  EXPECT_FALSE(is_header_incarnation(9));
  EXPECT_TRUE(is_play_incarnation(0xFE));
  EXPECT_FALSE(is_play_incarnation(0xFF));
  EXPECT_EQ(incarnation_byte(0x0000010A), 0x0A);
}

TEST(MmstHelpers, ExtendSequence) {
  EXPECT_EQ(extend_sequence(0, 1), 1u);
  EXPECT_EQ(extend_sequence(0xFE, 0x02), 0x102u);
  EXPECT_EQ(extend_sequence(0x105, 0x03), 0x103u);
  EXPECT_EQ(extend_sequence(0x1FF, 0x00), 0x200u);
  EXPECT_EQ(extend_sequence(0x100, 0xFF), 0xFFu);
}

TEST(MmstHelpers, StringsAndTokens) {
  const std::vector<std::uint8_t> b = basic_response_token("user", "pass");
  EXPECT_EQ(std::string(b.begin(), b.end()), std::string("dXNlcjpwYXNz\0", 13));
  const std::vector<std::uint8_t> c = basic_challenge_token("MMS");
  EXPECT_EQ(c.size(), 24u);
  EXPECT_EQ(utf16le_to_utf8(ByteView(c).subview(0, 22)), "realm=\"MMS\"");
  EXPECT_FALSE(is_ntlm_token(c));
  EXPECT_TRUE(is_ntlm_token(ByteView(std::vector<std::uint8_t>{0, 0, 1})));
  // Unpaired surrogates become U+FFFD; pairs survive.
  const std::vector<std::uint8_t> lone = {0x00, 0xd8, 0x41, 0x00};
  EXPECT_EQ(utf16le_to_utf8(lone),
            "\xef\xbf\xbd"
            "A");
  EXPECT_EQ(utf16le_to_utf8(utf8_to_utf16le("\xf0\x9f\x8e\xb5")), "\xf0\x9f\x8e\xb5");
  EXPECT_EQ(utf8_to_utf16le("\xff").size(), 2u);
  EXPECT_EQ(player_major_version("NSPlayer/9.0.0.2980; {x}"), 9);
  EXPECT_EQ(player_major_version("NSPlayer/10.0.0.3646"), 10);
  EXPECT_EQ(player_major_version("Spoooon!"), -1);
  EXPECT_EQ(server_major_version("9.01.01.3841"), 9);
  EXPECT_EQ(server_major_version(""), -1);
  std::vector<std::uint8_t> log = make_client_log(1, "mms://h/a", "UDP");
  ASSERT_EQ(log.size(), kClientLogSize);
  EXPECT_EQ(load_u32le(log.data()), kClientLogSize);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(log.data() + 1462)), "UDP");
}

}  // namespace
}  // namespace mms::mmst

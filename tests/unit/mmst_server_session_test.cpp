// MMS server session: client commands encoded with the mmst codecs go in,
// what the session sends (TCP units and UDP datagrams) is decoded back.
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/asf/packet.h"
#include "protocol/auth/ntlm.h"
#include "protocol/mmst/messages.h"
#include "protocol/mmst/server_session.h"
#include "tests/support/memory_source.h"

namespace mms::mmst {
namespace {

constexpr std::uint32_t kClientId = 0x1A2B3C4D;

using mms_test::MemorySource;

// A decoded TCP unit with owned bytes.
struct Got {
  bool data = false;
  std::uint32_t mid = 0;
  Message msg;  // views not used after decoding
  std::uint32_t location_id = 0;
  std::uint8_t inc = 0;
  std::uint8_t af = 0;
  std::vector<std::uint8_t> payload;
};

std::vector<std::uint8_t> encode(Message m) {
  std::vector<std::uint8_t> out;
  EXPECT_TRUE(encode_message(m, &out).ok());
  return out;
}

Message connect_msg() {
  Message m = make_message(kLinkViewerToMacConnect);
  m.connect.subscriber_name =
      "NSPlayer/7.0.0.1956; {7E667F5D-A661-495E-A512-F55686DDA178}; Host: 127.0.0.1";
  return m;
}
Message funnel_msg(const std::string& name) {
  Message m = make_message(kLinkViewerToMacConnectFunnel);
  m.connect_funnel.funnel_name = name;
  return m;
}
Message open_msg(const std::string& file, std::uint32_t inc = 1) {
  Message m = make_message(kLinkViewerToMacOpenFile);
  m.open_file.play_incarnation = inc;
  m.open_file.file_name = file;
  return m;
}
Message read_block_msg(std::uint32_t inc = 2) {
  Message m = make_message(kLinkViewerToMacReadBlock);
  m.read_block.open_file_id = 1;
  m.read_block.play_incarnation = inc;
  return m;
}
Message switch_msg(const std::vector<std::pair<std::uint16_t, bool>>& streams) {
  Message m = make_message(kLinkViewerToMacStreamSwitch);
  for (const auto& [n, on] : streams) {
    m.stream_switch.a_stream_entries.push_back(
        {kStreamNone, n, on ? kThinningNone : kThinningNothing});
  }
  return m;
}
Message start_msg(std::uint32_t inc, double position = 0.0,
                  std::uint32_t location = kOffsetUnused) {
  Message m = make_message(kLinkViewerToMacStartPlaying);
  m.start_playing.open_file_id = 1;
  m.start_playing.position = position;
  m.start_playing.location_id = location;
  m.start_playing.frame_offset = kFrameOffsetForeignNoLimit;  // what FFmpeg/libmms send
  m.start_playing.play_incarnation = inc;
  return m;
}

class Client {
 public:
  explicit Client(const ServerConfig* config) : s_(config, kClientId, now_) {}

  ServerSession& session() { return s_; }
  Instant& now() { return now_; }

  // Feeds `bytes` (whole or in `chunk`-sized pieces) and drains the output.
  void feed(const std::vector<std::uint8_t>& bytes, std::size_t chunk = SIZE_MAX) {
    for (std::size_t i = 0; i < bytes.size(); i += std::min(chunk, bytes.size() - i)) {
      const std::size_t n = std::min(chunk, bytes.size() - i);
      buf_.insert(buf_.end(), bytes.begin() + static_cast<std::ptrdiff_t>(i),
                  bytes.begin() + static_cast<std::ptrdiff_t>(i + n));
      auto r = s_.on_bytes(ByteView(buf_), now_);
      ASSERT_TRUE(r.ok()) << r.status().what();
      buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(*r));
      drain();
    }
  }
  void send(Message m, std::size_t chunk = SIZE_MAX) { feed(encode(std::move(m)), chunk); }

  void drain_output() {
    for (int i = 0; i < 100000; ++i) {
      const ByteView out = s_.next_output(now_);
      if (out.empty()) {
        break;
      }
      wire.insert(wire.end(), out.begin(), out.end());
      s_.consume_output(out.size());
    }
  }
  void drain() {
    drain_output();
    for (int i = 0; i < 100000; ++i) {
      const ByteView d = s_.next_datagram(now_);
      if (d.empty()) {
        break;
      }
      datagrams.push_back(d.to_vector());
      s_.consume_datagram();
    }
  }
  // Runs the timers until `until` (paced play, keepalive).
  void run_until(Instant until) {
    drain();
    for (int i = 0; i < 100000; ++i) {
      auto at = s_.next_deadline();
      if (!at || *at > until) {
        break;
      }
      now_ = std::max(now_, *at);
      s_.on_timeout(now_);
      drain();
    }
    now_ = until;
  }

  std::vector<Got> units() const {
    std::vector<Got> out;
    ByteView in(wire);
    while (!in.empty()) {
      Unit u;
      Status err;
      const Decode d = decode_tcp_unit(in, &u, &err);
      EXPECT_EQ(d, Decode::kDone) << err.what();
      if (d != Decode::kDone) {
        break;
      }
      Got g;
      if (u.kind == Unit::Kind::kData) {
        g.data = true;
        g.location_id = u.data.location_id;
        g.inc = u.data.play_incarnation;
        g.af = u.data.af_flags;
        g.payload = u.data.payload.to_vector();
      } else {
        g.mid = u.message.mid;
        g.msg = u.message;
      }
      out.push_back(std::move(g));
      in = in.subview(u.wire_size);
    }
    return out;
  }
  std::vector<std::uint32_t> mids() const {
    std::vector<std::uint32_t> m;
    for (const Got& g : units()) {
      if (!g.data) {
        m.push_back(g.mid);
      }
    }
    return m;
  }

  std::vector<std::uint8_t> wire;
  std::vector<std::vector<std::uint8_t>> datagrams;

 private:
  Instant now_{1000 * kSecond};
  ServerSession s_;
  std::vector<std::uint8_t> buf_;
};

class MmstServerTest : public ::testing::Test {
 protected:
  MmstServerTest() {
    EXPECT_TRUE(source.add_fixtures()) << "tests/media/fixtures: small.asf or mbr.asf unusable";
    config.content = &source;
    config.fast = true;
  }
  const server::Content& content(const char* name) {
    return *source.items[std::string("/") + name];
  }
  // Connect .. ReadBlock for `file`.
  void setup(Client* c, const std::string& file,
             const std::string& funnel = "\\\\192.168.0.129\\TCP\\1037",
             std::size_t chunk = SIZE_MAX) {
    c->send(connect_msg(), chunk);
    c->send(make_message(kLinkViewerToMacFunnelInfo), chunk);
    c->send(funnel_msg(funnel), chunk);
    c->send(open_msg(file), chunk);
    c->send(read_block_msg(), chunk);
  }

  MemorySource source;
  ServerConfig config;
};

std::vector<std::uint8_t> reassemble(const std::vector<Got>& units, std::uint8_t inc) {
  std::vector<std::uint8_t> h;
  for (const Got& g : units) {
    if (g.data && g.inc == inc) {
      h.insert(h.end(), g.payload.begin(), g.payload.end());
      if ((g.af & kAfHeaderLastBit) != 0) {
        break;
      }
    }
  }
  return h;
}

TEST_F(MmstServerTest, FullOnDemandSequence) {
  Client c(&config);
  setup(&c, "small.asf");
  c.send(switch_msg({{1, true}, {2, true}}));
  c.send(start_msg(4));
  const auto units = c.units();
  const std::vector<std::uint32_t> want_mids = {
      kLinkMacToViewerReportConnectedEX,     kLinkMacToViewerReportFunnelInfo,
      kLinkMacToViewerReportConnectedFunnel, kLinkMacToViewerReportOpenFile,
      kLinkMacToViewerReportReadBlock,       kLinkMacToViewerReportStreamSwitch,
      kLinkMacToViewerReportStartedPlaying,  kLinkMacToViewerReportEndOfStream};
  EXPECT_EQ(c.mids(), want_mids);
  const server::Content& small = content("small.asf");
  for (const Got& g : units) {
    if (g.mid == kLinkMacToViewerReportFunnelInfo) {
      EXPECT_EQ(g.msg.report_funnel_info.n_cubs, kClientId);
    }
    if (g.mid == kLinkMacToViewerReportOpenFile) {
      const ReportOpenFile& r = g.msg.report_open_file;
      EXPECT_EQ(r.hr, kHrOk);
      EXPECT_EQ(r.play_incarnation, 1u);
      EXPECT_EQ(r.open_file_id, 1u);
      EXPECT_EQ(r.file_attributes & kFileAttributeCanSeek, kFileAttributeCanSeek);
      EXPECT_EQ(r.file_attributes & kFileAttributeBroadcast, 0u);
      EXPECT_EQ(r.file_packet_size, 1000u);
      EXPECT_EQ(r.file_packet_count, 20u);
      EXPECT_EQ(r.file_header_size, small.header().size());
    }
    if (g.mid == kLinkMacToViewerReportStartedPlaying) {
      EXPECT_EQ(g.msg.report_started_playing.play_incarnation, 4u);
    }
    if (g.mid == kLinkMacToViewerReportEndOfStream) {
      EXPECT_EQ(g.msg.report_end_of_stream.hr, kHrOk);
      EXPECT_EQ(g.msg.report_end_of_stream.play_incarnation, 4u);
    }
  }
  // Header bytes equal the file's (Header Object + 50-byte Data Object prefix).
  const std::vector<std::uint8_t> header = reassemble(units, 2);
  EXPECT_EQ(header, small.header().to_vector());
  // One data packet per file packet, LocationId = packet number, AFFlags counting.
  std::uint32_t n = 0;
  for (const Got& g : units) {
    if (g.data && g.inc == 4) {
      EXPECT_EQ(g.location_id, n);
      EXPECT_EQ(g.af, static_cast<std::uint8_t>(n));
      ASSERT_LE(g.payload.size(), 1000u);
      std::vector<std::uint8_t> padded(1000);
      ASSERT_TRUE(asf::pad_packet(ByteView(g.payload), 1000, padded.data()).ok());
      auto p = asf::parse_packet(ByteView(padded), 1000);
      auto want = asf::parse_packet(small.packet(n), 1000);
      ASSERT_TRUE(p.ok() && want.ok());
      ASSERT_EQ(p->payloads.size(), want->payloads.size());
      for (std::size_t i = 0; i < p->payloads.size(); ++i) {
        const auto& a = p->payloads[i];
        const auto& b = want->payloads[i];
        EXPECT_EQ(ByteView(padded).subview(a.data_begin, a.data_end - a.data_begin).to_vector(),
                  small.packet(n).subview(b.data_begin, b.data_end - b.data_begin).to_vector());
      }
      ++n;
    }
  }
  EXPECT_EQ(n, 20u);
  EXPECT_EQ(c.session().data_packets_sent(), 20u);
  // Header packets come before ReportStreamSwitch; ReportReadBlock before the header.
  std::size_t rrb = 0, first_header = 0;
  for (std::size_t i = 0; i < units.size(); ++i) {
    if (!units[i].data && units[i].mid == kLinkMacToViewerReportReadBlock) {
      rrb = i;
    }
    if (units[i].data && units[i].inc == 2 && first_header == 0) {
      first_header = i;
    }
  }
  EXPECT_LT(rrb, first_header);
  // CloseFile closes.
  Message close = make_message(kLinkViewerToMacCloseFile);
  close.close_file.open_file_id = 1;
  c.send(close);
  EXPECT_TRUE(c.session().wants_close());
}

TEST_F(MmstServerTest, ByteByByteGivesTheSameOutput) {
  Client a(&config);
  setup(&a, "small.asf");
  a.send(switch_msg({{1, true}, {2, true}}));
  a.send(start_msg(4));
  Client b(&config);
  setup(&b, "small.asf", "\\\\192.168.0.129\\TCP\\1037", 1);
  b.send(switch_msg({{1, true}, {2, true}}), 1);
  b.send(start_msg(4), 1);
  EXPECT_EQ(a.wire, b.wire);
  // And a client that sends ConnectFunnel before the ReportConnectedEX arrived
  // (two commands in one write) is answered in order.
  Client c(&config);
  std::vector<std::uint8_t> both = encode(connect_msg());
  const std::vector<std::uint8_t> f = encode(funnel_msg("\\\\1.2.3.4\\TCP\\1"));
  both.insert(both.end(), f.begin(), f.end());
  c.feed(both);
  EXPECT_EQ(c.mids(), (std::vector<std::uint32_t>{kLinkMacToViewerReportConnectedEX,
                                                  kLinkMacToViewerReportConnectedFunnel}));
}

TEST_F(MmstServerTest, SeekLandsOnTheRightPacketWithANewIncarnation) {
  Client c(&config);
  setup(&c, "small.asf");
  c.send(switch_msg({{1, true}, {2, true}}));
  c.send(start_msg(4));
  const std::size_t before = c.units().size();
  // Time seek, libmms style (no StopPlaying; position includes the 3.1 s preroll).
  const server::Content& small = content("small.asf");
  const double position = 4.6;
  std::uint32_t want = 0;
  for (std::uint32_t i = 0; i < small.packet_count(); ++i) {
    const auto& m = small.meta(i);
    if (m.key && m.presentation_ms != server::PacketMeta::kNoTime && m.presentation_ms <= 4600) {
      want = i;
    }
  }
  ASSERT_GT(want, 0u);
  c.send(start_msg(5, position));
  auto units = c.units();
  std::vector<Got> after(units.begin() + static_cast<std::ptrdiff_t>(before), units.end());
  ASSERT_FALSE(after.empty());
  EXPECT_EQ(after[0].mid, kLinkMacToViewerReportStartedPlaying);
  EXPECT_EQ(after[0].msg.report_started_playing.play_incarnation, 5u);
  ASSERT_GT(after.size(), 1u);
  EXPECT_TRUE(after[1].data);
  EXPECT_EQ(after[1].inc, 5);
  EXPECT_EQ(after[1].location_id, want);
  EXPECT_EQ(c.session().start_packet(), want);
  // Packet seek with StopPlaying first (spec / VLC style).
  Message stop = make_message(kLinkViewerToMacStopPlaying);
  stop.stop_playing.open_file_id = 1;
  stop.stop_playing.play_incarnation = 5;
  c.send(stop);
  const std::size_t mark = c.units().size();
  c.send(start_msg(6, kPositionUseOffsets, 7));
  units = c.units();
  after.assign(units.begin() + static_cast<std::ptrdiff_t>(mark), units.end());
  ASSERT_GT(after.size(), 1u);
  EXPECT_EQ(after[0].mid, kLinkMacToViewerReportStartedPlaying);
  EXPECT_TRUE(after[1].data);
  EXPECT_EQ(after[1].location_id, 7u);
  EXPECT_EQ(after[1].inc, 6);
  // Every EndOfStream so far echoes an incarnation that was asked for.
  for (const Got& g : units) {
    if (!g.data && g.mid == kLinkMacToViewerReportEndOfStream) {
      EXPECT_TRUE(g.msg.report_end_of_stream.play_incarnation >= 4 &&
                  g.msg.report_end_of_stream.play_incarnation <= 6);
    }
  }
}

TEST_F(MmstServerTest, StreamSwitchFilters) {
  Client c(&config);
  setup(&c, "mbr.asf");
  c.send(switch_msg({{1, false}, {2, false}, {3, true}}));
  c.send(start_msg(4));
  std::size_t packets = 0;
  for (const Got& g : c.units()) {
    if (!g.data || g.inc != 4) {
      continue;
    }
    ++packets;
    std::vector<std::uint8_t> padded(3200);
    ASSERT_TRUE(asf::pad_packet(ByteView(g.payload), 3200, padded.data()).ok());
    auto p = asf::parse_packet(ByteView(padded), 3200);
    ASSERT_TRUE(p.ok());
    for (const auto& pl : p->payloads) {
      EXPECT_EQ(pl.stream, 3);
    }
  }
  EXPECT_GT(packets, 0u);
}

TEST_F(MmstServerTest, BasicAuthChallenge) {
  config.auth.user = "user";
  config.auth.password = "pass";
  Client c(&config);
  c.send(connect_msg());
  c.send(funnel_msg("\\\\1.2.3.4\\TCP\\1"));
  c.send(open_msg("small.asf", 9));
  auto units = c.units();
  ASSERT_EQ(units.size(), 3u);
  EXPECT_EQ(units[0].msg.report_connected_ex.authen_package, "BASIC");
  ASSERT_EQ(units[2].mid, kLinkMacToViewerSecurityChallenge);
  EXPECT_EQ(units[2].msg.security.play_incarnation, 9u);
  Message r = make_message(kLinkViewerToMacSecurityResponse);
  r.security.play_incarnation = 9;
  r.security.cookie = units[2].msg.security.cookie;
  r.security.p_token = basic_response_token("user", "pass");
  c.send(r);
  units = c.units();
  ASSERT_EQ(units.back().mid, kLinkMacToViewerReportOpenFile);
  EXPECT_EQ(units.back().msg.report_open_file.hr, kHrOk);

  // Wrong password: access denied.
  Client bad(&config);
  bad.send(connect_msg());
  bad.send(open_msg("small.asf", 9));
  const std::uint32_t cookie = bad.units().back().msg.security.cookie;
  r.security.cookie = cookie;
  r.security.p_token = basic_response_token("user", "wrong");
  bad.send(r);
  EXPECT_EQ(bad.units().back().mid, kLinkMacToViewerReportOpenFile);
  EXPECT_EQ(bad.units().back().msg.report_open_file.hr, kHrAccessDenied);

  // An NTLM-only client is refused.
  Client ntlm(&config);
  ntlm.send(connect_msg());
  ntlm.send(open_msg("small.asf", 9));
  r.security.cookie = ntlm.units().back().msg.security.cookie;
  r.security.p_token = {0, 0, 'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};
  ntlm.send(r);
  EXPECT_EQ(ntlm.units().back().msg.report_open_file.hr, kHrAccessDenied);

  // Pre-emptive credentials in OpenFile.
  Client pre(&config);
  pre.send(connect_msg());
  Message o = open_msg("small.asf", 9);
  o.open_file.token_data = basic_response_token("user", "pass");
  pre.send(o);
  EXPECT_EQ(pre.units().back().mid, kLinkMacToViewerReportOpenFile);
  EXPECT_EQ(pre.units().back().msg.report_open_file.hr, kHrOk);
}

// ---- NTLM (MS-MMSP 2.2.4.14.1, 3.2.5.7): the test plays the client with an
// ntlm::ClientContext.

const auth::ntlm::Nonce8 kClientNonce = {9, 8, 7, 6, 5, 4, 3, 2};
constexpr std::uint64_t kFiletime = 133000000000000000ull;

Message response(std::uint32_t cookie, std::vector<std::uint8_t> token) {
  Message r = make_message(kLinkViewerToMacSecurityResponse);
  r.security.play_incarnation = 9;
  r.security.cookie = cookie;
  r.security.p_token = std::move(token);
  return r;
}

// The NTLMSSP token of the session's last SecurityChallenge.
std::string challenge_ntlmssp(const Got& g, bool* wrapped) {
  EXPECT_EQ(g.mid, kLinkMacToViewerSecurityChallenge);
  auto t = parse_ntlm_token(ByteView(g.msg.security.p_token));
  EXPECT_TRUE(t.ok());
  if (!t.ok()) {
    return std::string();
  }
  *wrapped = t->wrapped;
  return std::string(t->ntlmssp.as_string_view());
}

// Connect and OpenFile, then NEGOTIATE (in NTLM_AUTH when `wrap`) for the
// initial challenge; returns the AUTHENTICATE made for the server's CHALLENGE.
std::string ntlm_to_authenticate(Client* c, const std::string& password, bool wrap,
                                 std::uint32_t* cookie) {
  c->send(connect_msg());
  c->send(funnel_msg("\\\\1.2.3.4\\TCP\\1"));
  c->send(open_msg("small.asf", 9));
  auto units = c->units();
  EXPECT_EQ(units.front().msg.report_connected_ex.authen_package, "NTLM");
  EXPECT_EQ(units.back().mid, kLinkMacToViewerSecurityChallenge);
  EXPECT_EQ(units.back().msg.security.p_token, (std::vector<std::uint8_t>{0, 0}));
  auth::ntlm::ClientContext peer({"user", password, "", ""}, kClientNonce, kFiletime);
  const std::string negotiate = peer.negotiate();
  c->send(
      response(units.back().msg.security.cookie, make_ntlm_token(ByteView::of(negotiate), wrap)));
  units = c->units();
  bool wrapped = !wrap;
  const std::string ch = challenge_ntlmssp(units.back(), &wrapped);
  EXPECT_EQ(wrapped, wrap);  // mirrors the client's framing
  auto parsed = auth::ntlm::parse_challenge(ByteView::of(ch));
  EXPECT_TRUE(parsed.ok());
  if (!parsed.ok()) {
    return std::string();
  }
  EXPECT_EQ(parsed->target_name, kNtlmTarget);
  EXPECT_TRUE(parsed->has_timestamp);
  *cookie = units.back().msg.security.cookie;
  auto a = peer.authenticate(ByteView::of(ch));
  EXPECT_TRUE(a.ok());
  return a.ok() ? *a : std::string();
}

TEST_F(MmstServerTest, NtlmAuthentication) {
  config.auth.user = "user";
  config.auth.password = "pass";
  config.auth.schemes = auth::kSchemeNtlm;
  for (bool wrap : {true, false}) {
    Client c(&config);
    std::uint32_t cookie = 0;
    const std::string a = ntlm_to_authenticate(&c, "pass", wrap, &cookie);
    c.send(response(cookie, make_ntlm_token(ByteView::of(a), wrap)));
    ASSERT_EQ(c.units().back().mid, kLinkMacToViewerReportOpenFile);
    EXPECT_EQ(c.units().back().msg.report_open_file.hr, kHrOk);
  }
  // A NEGOTIATE right in OpenFile's tokenData is answered with the CHALLENGE.
  Client pre(&config);
  pre.send(connect_msg());
  Message o = open_msg("small.asf", 9);
  auth::ntlm::ClientContext peer({"user", "pass", "", ""}, kClientNonce, kFiletime);
  o.open_file.token_data = make_ntlm_token(ByteView::of(peer.negotiate()), true);
  pre.send(o);
  bool wrapped = false;
  const std::string ch = challenge_ntlmssp(pre.units().back(), &wrapped);
  auto a = peer.authenticate(ByteView::of(ch));
  ASSERT_TRUE(a.ok());
  pre.send(
      response(pre.units().back().msg.security.cookie, make_ntlm_token(ByteView::of(*a), true)));
  EXPECT_EQ(pre.units().back().msg.report_open_file.hr, kHrOk);
}

TEST_F(MmstServerTest, NtlmWrongCredentialsAreDenied) {
  config.auth.user = "user";
  config.auth.password = "pass";
  config.auth.schemes = auth::kSchemeNtlm;
  Client c(&config);
  std::uint32_t cookie = 0;
  const std::string a = ntlm_to_authenticate(&c, "wrong", true, &cookie);
  c.send(response(cookie, make_ntlm_token(ByteView::of(a), true)));
  ASSERT_EQ(c.units().back().mid, kLinkMacToViewerReportOpenFile);
  EXPECT_EQ(c.units().back().msg.report_open_file.hr, kHrAccessDenied);
  // NTLM only: BASIC credentials are refused.
  Client basic(&config);
  basic.send(connect_msg());
  basic.send(open_msg("small.asf", 9));
  basic.send(
      response(basic.units().back().msg.security.cookie, basic_response_token("user", "pass")));
  EXPECT_EQ(basic.units().back().msg.report_open_file.hr, kHrAccessDenied);
  // NTLM and BASIC: NTLM is advertised and challenged, BASIC answers still pass.
  config.auth.schemes = auth::kSchemeNtlm | auth::kSchemeBasic;
  Client both(&config);
  both.send(connect_msg());
  both.send(open_msg("small.asf", 9));
  EXPECT_EQ(both.units().front().msg.report_connected_ex.authen_package, "NTLM");
  both.send(
      response(both.units().back().msg.security.cookie, basic_response_token("user", "pass")));
  EXPECT_EQ(both.units().back().msg.report_open_file.hr, kHrOk);
}

TEST_F(MmstServerTest, NtlmMalformedTokensAreDenied) {
  config.auth.user = "user";
  config.auth.password = "pass";
  config.auth.schemes = auth::kSchemeNtlm;
  auth::ntlm::ClientContext peer({"user", "pass", "", ""}, kClientNonce, kFiletime);
  const std::string negotiate = peer.negotiate();
  const std::vector<std::uint8_t> wrapped = make_ntlm_token(ByteView::of(negotiate), true);
  std::vector<std::uint8_t> truncated = wrapped;  // NTLMTokenSize past the end
  truncated.resize(truncated.size() - 4);
  std::vector<std::uint8_t> short_auth(wrapped.begin(), wrapped.begin() + 14);
  std::string big = negotiate;
  big.resize(auth::ntlm::kMaxMessage + 1, 'x');
  std::string cut = negotiate;
  cut.resize(12);
  const std::vector<std::vector<std::uint8_t>> tokens = {
      {0, 0, 1, 2},
      {0, 0, 'N', 'T', 'L', 'M', 'S', 'S', 'P', 0},
      truncated,
      short_auth,
      make_ntlm_token(ByteView::of(big), true),
      make_ntlm_token(ByteView::of(cut), true),
      make_ntlm_token(ByteView(), true),  // no token at all
  };
  for (const auto& token : tokens) {
    SCOPED_TRACE(token.size());
    // Instead of the NEGOTIATE.
    Client c(&config);
    c.send(connect_msg());
    c.send(open_msg("small.asf", 9));
    c.send(response(c.units().back().msg.security.cookie, token));
    ASSERT_EQ(c.units().back().mid, kLinkMacToViewerReportOpenFile);
    EXPECT_EQ(c.units().back().msg.report_open_file.hr, kHrAccessDenied);
    // Instead of the AUTHENTICATE.
    Client d(&config);
    std::uint32_t cookie = 0;
    ntlm_to_authenticate(&d, "pass", true, &cookie);
    d.send(response(cookie, token));
    ASSERT_EQ(d.units().back().mid, kLinkMacToViewerReportOpenFile);
    EXPECT_EQ(d.units().back().msg.report_open_file.hr, kHrAccessDenied);
  }
  // A second NEGOTIATE where the AUTHENTICATE belongs; a stale cookie.
  Client again(&config);
  std::uint32_t cookie = 0;
  ntlm_to_authenticate(&again, "pass", true, &cookie);
  again.send(response(cookie, wrapped));
  EXPECT_EQ(again.units().back().msg.report_open_file.hr, kHrAccessDenied);
  Client stale(&config);
  const std::string a = ntlm_to_authenticate(&stale, "pass", true, &cookie);
  stale.send(response(cookie + 1, make_ntlm_token(ByteView::of(a), true)));
  EXPECT_EQ(stale.units().back().msg.report_open_file.hr, kHrAccessDenied);
}

TEST_F(MmstServerTest, FileNotFoundHresult) {
  Client c(&config);
  c.send(connect_msg());
  c.send(open_msg("missing.asf"));
  ASSERT_EQ(c.units().back().mid, kLinkMacToViewerReportOpenFile);
  EXPECT_EQ(c.units().back().msg.report_open_file.hr, kHrFileNotFound);
  EXPECT_FALSE(c.session().wants_close());
  // A ReadBlock without an open file is refused, not served.
  c.send(read_block_msg());
  EXPECT_EQ(c.units().back().msg.report_read_block.hr, kNsEInvalidRequest);
}

TEST_F(MmstServerTest, AccessHookRefusesOpenWithAccessDenied) {
  std::vector<std::string> seen;
  config.authorize = [&seen](std::string_view pq) {
    seen.emplace_back(pq);
    return pq.find("ok=1") != std::string_view::npos;
  };
  Client c(&config);
  c.send(connect_msg());
  c.send(open_msg("small.asf?ok=0"));
  ASSERT_EQ(c.units().back().mid, kLinkMacToViewerReportOpenFile);
  EXPECT_EQ(c.units().back().msg.report_open_file.hr, kHrAccessDenied);
  EXPECT_FALSE(c.session().wants_close());
  c.send(read_block_msg());
  EXPECT_EQ(c.units().back().msg.report_read_block.hr, kNsEInvalidRequest);
  // The query is stripped before the lookup.
  c.send(open_msg("small.asf?ok=1", 3));
  ASSERT_EQ(c.units().back().mid, kLinkMacToViewerReportOpenFile);
  EXPECT_EQ(c.units().back().msg.report_open_file.hr, kHrOk);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], "/small.asf?ok=0");
  EXPECT_EQ(seen[1], "/small.asf?ok=1");
}

TEST_F(MmstServerTest, RedirectThenClose) {
  config.redirects["old.asf"] = "mms://127.0.0.1:1755/small.asf";
  Client c(&config);
  c.send(connect_msg());
  c.send(open_msg("old.asf"));
  ASSERT_EQ(c.units().back().mid, kLinkMacToViewerReportRedirect);
  EXPECT_EQ(c.units().back().msg.report_redirect.wsz_location, "mms://127.0.0.1:1755/small.asf");
  EXPECT_TRUE(c.session().wants_close());
}

TEST_F(MmstServerTest, UdpModeDatagramsAndResend) {
  Client c(&config);
  setup(&c, "small.asf", "\\\\127.0.0.1\\UDP\\7000");
  EXPECT_EQ(c.session().udp_port(), 7000);
  // ReportReadBlock on TCP, the header in datagrams.
  auto units = c.units();
  for (const Got& g : units) {
    EXPECT_FALSE(g.data);
  }
  EXPECT_EQ(units.back().mid, kLinkMacToViewerReportReadBlock);
  std::vector<std::uint8_t> header;
  for (const auto& d : c.datagrams) {
    DataPacket p;
    ASSERT_TRUE(decode_udp_data_packet(ByteView(d), &p).ok());
    EXPECT_EQ(p.play_incarnation, 2);
    header.insert(header.end(), p.payload.begin(), p.payload.end());
  }
  EXPECT_EQ(header, content("small.asf").header().to_vector());
  c.datagrams.clear();
  c.send(switch_msg({{1, true}, {2, true}}));
  c.send(start_msg(4));
  c.run_until(c.now() + 10 * kSecond);
  ASSERT_EQ(c.datagrams.size(), 20u);
  EXPECT_EQ(c.mids().back(), kLinkMacToViewerReportEndOfStream);
  for (std::size_t i = 0; i < c.datagrams.size(); ++i) {
    DataPacket p;
    ASSERT_TRUE(decode_udp_data_packet(ByteView(c.datagrams[i]), &p).ok());
    EXPECT_EQ(p.af_flags, i);
    EXPECT_EQ(p.play_incarnation, 4);
  }
  const auto sent = c.datagrams;
  c.datagrams.clear();
  RequestPacketListResend req;
  req.dw_client_id = kClientId;
  req.w_source_id = 1;
  req.dw_begin_packet_list = {3, 5};
  std::vector<std::uint8_t> dg;
  ASSERT_TRUE(encode_resend(req, &dg).ok());
  c.session().on_datagram(ByteView(dg), c.now());
  c.drain();
  ASSERT_EQ(c.datagrams.size(), 2u);
  EXPECT_EQ(c.datagrams[0], sent[3]);
  EXPECT_EQ(c.datagrams[1], sent[5]);
  EXPECT_EQ(c.session().packets_resent(), 2u);
  // Someone else's Client-ID: ignored.
  c.datagrams.clear();
  req.dw_client_id = kClientId + 1;
  dg.clear();
  ASSERT_TRUE(encode_resend(req, &dg).ok());
  c.session().on_datagram(ByteView(dg), c.now());
  c.drain();
  EXPECT_TRUE(c.datagrams.empty());
}

// Packet pair (MS-MMSP 3.2.5.3, 3.2.5.4): granted in ReportConnectedEX when
// asked for; over TCP three ReportFunnelInfo of 512, 512 and 1056 bytes with
// different filler, back to back.
TEST_F(MmstServerTest, TcpPacketPairSendsThreePaddedFunnelInfos) {
  Client c(&config);
  Message connect = connect_msg();
  connect.connect.play_incarnation = kMmsUsePacketPair;
  c.send(connect);
  auto units = c.units();
  ASSERT_EQ(units.size(), 1u);
  EXPECT_EQ(units[0].msg.report_connected_ex.play_incarnation, kMmsUsePacketPair);
  c.wire.clear();
  Message fi = make_message(kLinkViewerToMacFunnelInfo);
  fi.funnel_info.play_incarnation = kMmsUseHighEntropyPacketPairTcp;
  c.send(fi);
  EXPECT_EQ(c.wire.size(), 512u + 512u + 1056u);
  units = c.units();
  ASSERT_EQ(units.size(), 3u);
  const std::size_t data[3] = {432, 432, 976};
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    ASSERT_EQ(units[i].mid, kLinkMacToViewerReportFunnelInfo);
    const ReportFunnelInfo& r = units[i].msg.report_funnel_info;
    EXPECT_EQ(r.play_incarnation, kMmsUseHighEntropyPacketPairTcp);
    EXPECT_EQ(r.n_cubs, kClientId);
    EXPECT_EQ(r.packet_pair_data.size(), data[i]);
  }
  EXPECT_NE(units[0].msg.report_funnel_info.packet_pair_data,
            units[1].msg.report_funnel_info.packet_pair_data);
  // The session goes on as usual.
  c.wire.clear();
  c.send(funnel_msg("\\\\192.168.0.129\\TCP\\1037"));
  c.send(open_msg("small.asf"));
  c.send(read_block_msg());
  EXPECT_EQ(reassemble(c.units(), 2), content("small.asf").header().to_vector());
}

TEST_F(MmstServerTest, PacketPairNotAskedOrNotGrantedIsNotSent) {
  config.packet_pair = false;
  Client c(&config);
  Message connect = connect_msg();
  connect.connect.play_incarnation = kMmsUsePacketPair;
  c.send(connect);
  EXPECT_EQ(c.units()[0].msg.report_connected_ex.play_incarnation, kMmsDisablePacketPair);
  c.wire.clear();
  Message fi = make_message(kLinkViewerToMacFunnelInfo);
  fi.funnel_info.play_incarnation = kMmsUseHighEntropyPacketPairTcp;
  c.send(fi);
  auto units = c.units();
  ASSERT_EQ(units.size(), 1u);
  EXPECT_EQ(units[0].msg.report_funnel_info.play_incarnation, kMmsDisablePacketPair);
  EXPECT_TRUE(units[0].msg.report_funnel_info.packet_pair_data.empty());
}

// Over UDP (MS-MMSP 3.2.5.8): two 1472-byte Data packets, LocationId
// 0xF0F0F000 and 0xF0F0F001, incarnation 0xFF, AFFlags 0x10, before the header.
TEST_F(MmstServerTest, UdpPacketPairPrecedesTheHeaderDatagrams) {
  Client c(&config);
  Message connect = connect_msg();
  connect.connect.play_incarnation = kMmsUsePacketPair;
  c.send(connect);
  Message fi = make_message(kLinkViewerToMacFunnelInfo);
  fi.funnel_info.play_incarnation = kMmsUseHighEntropyPacketPairUdp;
  c.send(fi);
  EXPECT_EQ(c.units().back().msg.report_funnel_info.play_incarnation,
            kMmsUseHighEntropyPacketPairUdp);
  c.send(funnel_msg("\\\\127.0.0.1\\UDP\\7000"));
  c.send(open_msg("small.asf"));
  EXPECT_TRUE(c.datagrams.empty());
  c.send(read_block_msg());
  ASSERT_GE(c.datagrams.size(), 3u);
  const std::uint32_t locations[2] = {kPacketPairLocationId0, kPacketPairLocationId1};
  for (int i = 0; i < 2; ++i) {
    SCOPED_TRACE(i);
    DataPacket p;
    ASSERT_TRUE(decode_udp_data_packet(ByteView(c.datagrams[i]), &p).ok());
    EXPECT_EQ(c.datagrams[i].size(), 1472u);
    EXPECT_EQ(p.location_id, locations[i]);
    EXPECT_EQ(p.play_incarnation, kPacketPairIncarnation);
    EXPECT_EQ(p.af_flags, kAfPacketPair);
  }
  std::vector<std::uint8_t> header;
  for (std::size_t i = 2; i < c.datagrams.size(); ++i) {
    DataPacket p;
    ASSERT_TRUE(decode_udp_data_packet(ByteView(c.datagrams[i]), &p).ok());
    EXPECT_EQ(p.play_incarnation, 2);
    header.insert(header.end(), p.payload.begin(), p.payload.end());
  }
  EXPECT_EQ(header, content("small.asf").header().to_vector());
  // A second ReadBlock: no pair again.
  c.datagrams.clear();
  c.send(read_block_msg(3));
  DataPacket p;
  ASSERT_FALSE(c.datagrams.empty());
  ASSERT_TRUE(decode_udp_data_packet(ByteView(c.datagrams[0]), &p).ok());
  EXPECT_EQ(p.play_incarnation, 3);
}

// The I/O layer takes datagrams in batches (sendmmsg): they stay queued, in
// order, until consumed, and the end of the stream is reported only after the
// last one went out.
TEST_F(MmstServerTest, UdpBatchesStayQueuedUntilConsumed) {
  Client c(&config);
  setup(&c, "small.asf", "\\\\127.0.0.1\\UDP\\7000");
  c.datagrams.clear();
  c.send(switch_msg({{1, true}, {2, true}}));
  const std::vector<std::uint8_t> start = encode(start_msg(4));
  ServerSession& s = c.session();
  ASSERT_TRUE(s.on_bytes(ByteView(start), c.now()).ok());
  ByteView views[64];
  const std::size_t n = s.next_datagrams(c.now(), views, 8);
  ASSERT_EQ(n, 8u);
  std::vector<std::vector<std::uint8_t>> first;
  for (std::size_t i = 0; i < n; ++i) {
    first.push_back(views[i].to_vector());
    DataPacket p;
    ASSERT_TRUE(decode_udp_data_packet(views[i], &p).ok());
    EXPECT_EQ(p.af_flags, i);
  }
  s.consume_datagrams(3);
  ASSERT_EQ(s.next_datagrams(c.now(), views, 2), 2u);
  EXPECT_EQ(views[0].to_vector(), first[3]);
  EXPECT_EQ(views[1].to_vector(), first[4]);
  // Everything of the (small) file queued: no ReportEndOfStream on TCP yet.
  const std::size_t all = s.next_datagrams(c.now(), views, 64);
  EXPECT_EQ(all, 20u - 3u);
  c.drain_output();
  for (const auto mid : c.mids()) {
    EXPECT_NE(mid, kLinkMacToViewerReportEndOfStream);
  }
  s.consume_datagrams(all);
  EXPECT_EQ(s.next_datagrams(c.now(), views, 64), 0u);
  c.drain_output();
  EXPECT_EQ(c.mids().back(), kLinkMacToViewerReportEndOfStream);
}

TEST_F(MmstServerTest, UdpRefusedGivesDisconnectedFunnel) {
  config.refuse_udp = true;
  Client c(&config);
  c.send(connect_msg());
  c.send(funnel_msg("\\\\127.0.0.1\\UDP\\7000"));
  EXPECT_EQ(c.mids().back(), kLinkMacToViewerReportDisconnectedFunnel);
  EXPECT_EQ(c.session().udp_port(), 0);
}

TEST_F(MmstServerTest, PlaylistStreamChange) {
  config.playlists["pl"] = {"small.asf", "mbr.asf"};
  Client c(&config);
  setup(&c, "pl");
  c.send(switch_msg({{1, true}, {2, true}}));
  c.send(start_msg(4));
  auto units = c.units();
  ReportOpenFile rof;
  for (const Got& g : units) {
    if (g.mid == kLinkMacToViewerReportOpenFile) {
      rof = g.msg.report_open_file;
    }
  }
  EXPECT_NE(rof.file_attributes & kFileAttributePlaylist, 0u);
  std::vector<std::uint32_t> tail;
  for (const Got& g : units) {
    if (!g.data) {
      tail.push_back(g.mid);
    }
  }
  ASSERT_GE(tail.size(), 2u);
  EXPECT_EQ(tail[tail.size() - 2], kLinkMacToViewerReportEndOfStream);
  EXPECT_EQ(tail.back(), kLinkMacToViewerReportStreamChange);
  const server::Content& mbr = content("mbr.asf");
  for (const Got& g : units) {
    if (g.mid == kLinkMacToViewerReportEndOfStream) {
      EXPECT_EQ(g.msg.report_end_of_stream.hr, kHrFalse);
    }
    if (g.mid == kLinkMacToViewerReportStreamChange) {
      EXPECT_EQ(g.msg.report_stream_change.cb_packet_size, 3200u);
      EXPECT_EQ(g.msg.report_stream_change.cb_header_size, mbr.header().size());
    }
  }
  EXPECT_EQ(reassemble(units, kPacketPairIncarnation), mbr.header().to_vector());
  // The client selects the new entry's streams and plays on.
  const std::size_t mark = units.size();
  c.send(switch_msg({{1, true}, {2, true}, {3, true}}));
  c.send(start_msg(5));
  units = c.units();
  std::size_t data = 0;
  for (std::size_t i = mark; i < units.size(); ++i) {
    if (units[i].data) {
      EXPECT_EQ(units[i].inc, 5);
      ++data;
    }
  }
  EXPECT_EQ(data, mbr.packet_count());
  EXPECT_EQ(units.back().mid, kLinkMacToViewerReportEndOfStream);
  EXPECT_EQ(units.back().msg.report_end_of_stream.hr, kHrOk);
}

TEST_F(MmstServerTest, PacedPlayAndKeepAlivePing) {
  config.fast = false;
  Client c(&config);
  setup(&c, "small.asf");
  c.send(switch_msg({{1, true}, {2, true}}));
  c.send(start_msg(4));
  std::size_t first = 0;
  for (const Got& g : c.units()) {
    first += (g.data && g.inc == 4) ? 1 : 0;
  }
  EXPECT_LT(first, 20u);  // paced: not everything at once
  c.run_until(c.now() + 10 * kSecond);
  EXPECT_EQ(c.mids().back(), kLinkMacToViewerReportEndOfStream);
  // Silence from the client: a Ping after the KeepAlive time, Pong is accepted.
  c.run_until(c.now() + config.keepalive + kSecond);
  EXPECT_EQ(c.mids().back(), kLinkMacToViewerPing);
  Message pong = make_message(kLinkViewerToMacPong);
  c.send(pong);
  EXPECT_FALSE(c.session().wants_close());
  // Idle-Timeout closes a session that is not streaming.
  c.run_until(c.now() + config.idle_timeout + kSecond);
  EXPECT_TRUE(c.session().wants_close());
}

// A broadcast joined behind live with Fast Start (StartPlaying's accel
// fields): over UDP the backlog goes at the Fast Start factor, over TCP at
// once; either way the flow reaches the live position within
// backlog / (factor - 1).
TEST_F(MmstServerTest, LiveFastStartBacklogIsPacedOverUdpOnly) {
  config.fast = false;
  const server::Content& live = content("live.asf");
  for (const char* funnel : {"\\\\127.0.0.1\\UDP\\7000", "\\\\192.168.0.129\\TCP\\1037"}) {
    SCOPED_TRACE(funnel);
    const bool udp = std::string(funnel).find("UDP") != std::string::npos;
    Client c(&config);
    const Instant join = c.now();
    config.live_epoch = join + -(std::int64_t{live.loop_period_ms()} * 9 / 10 * kMillisecond);
    setup(&c, "live.asf", funnel);
    c.send(switch_msg({{1, true}, {2, true}}));
    Message m = start_msg(4);
    m.start_playing.has_accel = true;
    m.start_playing.dw_accel_bandwidth = 0x7FFFFFFF;
    m.start_playing.dw_accel_duration = 10000;
    c.send(m);
    const auto start = static_cast<std::uint32_t>(c.session().start_packet());
    std::uint32_t backlog = 0;  // packets from there already live
    while (start + backlog < live.packet_count() &&
           live.loop_due(config.live_epoch, 0, start + backlog) <= join) {
      ++backlog;
    }
    ASSERT_GT(backlog, 10u);
    if (udp) {
      EXPECT_LT(c.session().data_packets_sent(), backlog / 2);
    } else {
      EXPECT_GE(c.session().data_packets_sent(), backlog);
    }
    const Duration behind = join - live.loop_due(config.live_epoch, 0, start);
    c.run_until(join + behind / (kFastStartDefaultFactor - 1) + 50 * kMillisecond);
    EXPECT_GE(c.session().data_packets_sent(), backlog);
  }
}

TEST_F(MmstServerTest, CloseAfterPacketsFault) {
  config.close_after_packets = 5;
  Client c(&config);
  setup(&c, "small.asf");
  c.send(switch_msg({{1, true}, {2, true}}));
  c.send(start_msg(4));
  EXPECT_EQ(c.session().data_packets_sent(), 5u);
  EXPECT_TRUE(c.session().wants_close());
}

TEST_F(MmstServerTest, GarbageIsAnError) {
  Client c(&config);
  std::vector<std::uint8_t> junk(64, 0x42);
  auto r = c.session().on_bytes(ByteView(junk), c.now());
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(c.session().wants_close());
}

}  // namespace
}  // namespace mms::mmst

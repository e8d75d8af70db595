// RolloverSession: the attempt runner with fake transport sessions and made-up
// time. Every branch of the walk (rollover, redirects, the connect-failed
// inference, the first-reply bound) and of reconnects (backoff, resume without
// duplicates, broadcasts, exhausted retries, seeks and throttling meanwhile,
// stale channels) without a socket.
#include "protocol/session/rollover_session.h"

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace mms::session {
namespace {

Url url(const char* text) {
  Result<Url> u = parse_url(text);
  EXPECT_TRUE(u.ok()) << text;
  return u.ok() ? *u : Url();
}

// A transport session the test drives by hand.
class Fake final : public ClientSession {
 public:
  Fake(Transport t, ClientConfig cfg) : transport(t), config(std::move(cfg)) {}

  // What the runner told it.
  std::vector<std::uint64_t> plays;
  std::vector<ChannelId> connected;
  std::vector<std::pair<ChannelId, std::string>> bytes_in;
  bool throttled = false;
  bool closed = false;
  std::string local_ip;
  std::optional<Instant> deadline;
  int timeouts = 0;

  // What it says.
  std::deque<Event> events;
  std::deque<IoAction> actions;
  bool seekable_flag = true;

  void open_tcp(ChannelId ch) {
    IoAction a;
    a.kind = IoAction::Kind::kConnectTcp;
    a.channel = ch;
    a.host = config.url.host;
    a.port = 80;
    actions.push_back(a);
  }
  void emit(Event e) { events.push_back(std::move(e)); }
  void header(bool broadcast, std::uint64_t preroll_ms, std::vector<std::uint8_t> bytes = {1, 2}) {
    Event e;
    e.kind = Event::Kind::kHeader;
    e.header = std::make_shared<const std::vector<std::uint8_t>>(std::move(bytes));
    auto info = std::make_shared<asf::HeaderInfo>();
    info->flags = broadcast ? 1u : 2u;
    info->preroll_ms = preroll_ms;
    info->packet_size = 100;
    e.info = info;
    emit(e);
  }
  // A minimal data packet: parsing information with `send_ms`, then a tag byte.
  void packet(std::uint32_t send_ms, std::uint8_t tag) {
    storage.push_back(std::make_unique<std::vector<std::uint8_t>>(std::vector<std::uint8_t>{
        0x00, 0x00, static_cast<std::uint8_t>(send_ms), static_cast<std::uint8_t>(send_ms >> 8),
        static_cast<std::uint8_t>(send_ms >> 16), static_cast<std::uint8_t>(send_ms >> 24), 0, 0,
        tag}));
    Event e;
    e.kind = Event::Kind::kPacket;
    e.payload = ByteView(storage.back()->data(), storage.back()->size());
    emit(e);
  }
  void connected_event(const char* name) {
    Event e;
    e.kind = Event::Kind::kConnected;
    e.detail = name;
    emit(e);
  }
  void failed(Code code, const char* what) { emit(failed_event(Status(code, what))); }

  void on_connected(ChannelId ch, Instant) override { connected.push_back(ch); }
  void on_connect_failed(ChannelId, Status why, Instant) override { emit(failed_event(why)); }
  std::size_t on_bytes(ChannelId ch, ByteView b, Instant) override {
    bytes_in.emplace_back(ch, std::string(reinterpret_cast<const char*>(b.data()), b.size()));
    return b.size();
  }
  void on_eof(ChannelId, Instant) override {
    failed(Code::kConnectionLost, "server closed the connection mid-stream");
  }
  void on_timeout(Instant) override { ++timeouts; }
  std::optional<Instant> next_deadline() const override { return deadline; }
  void on_throttle(bool paused, Instant) override { throttled = paused; }
  void on_local_address(ChannelId, const std::string& local) override { local_ip = local; }
  void play(const PlayRequest& req, Instant) override { plays.push_back(req.position_ms); }
  void close() override { closed = true; }
  bool next_io_action(IoAction* out) override { return pop_front(&actions, out); }
  bool next_event(Event* out) override { return pop_front(&events, out); }
  bool seekable() const override { return seekable_flag; }
  const char* transport_name() const override { return to_string(transport); }

  Transport transport;
  ClientConfig config;

 private:
  std::vector<std::unique_ptr<std::vector<std::uint8_t>>> storage;
};

struct Rig {
  std::vector<Fake*> made;  // valid while current (the runner owns them)
  std::vector<std::string> made_names;
  std::vector<Duration> first_reply;
  std::unique_ptr<RolloverSession> s;
  Instant now{1000 * kSecond};

  explicit Rig(const char* u, RolloverOptions opt = RolloverOptions(),
               const char* proxy = nullptr) {
    ClientConfig cfg;
    cfg.url = url(u);
    if (proxy != nullptr) {
      cfg.proxy = url(proxy);
    }
    Result<std::unique_ptr<RolloverSession>> r = RolloverSession::create(
        cfg, std::move(opt), [this](Transport t, ClientConfig c) -> std::unique_ptr<ClientSession> {
          auto f = std::make_unique<Fake>(t, std::move(c));
          made.push_back(f.get());
          made_names.push_back(to_string(t));
          first_reply.push_back(f->config.first_reply_timeout);
          return f;
        });
    EXPECT_TRUE(r.ok());
    s = std::move(*r);
  }
  Fake& cur() { return *made.back(); }
  void start(std::uint64_t pos = 0) {
    PlayRequest req;
    req.position_ms = pos;
    s->play(req, now);
  }
  // Lets the current fake speak (the runner drains it on the next input).
  void kick() { s->on_timeout(now); }

  std::vector<IoAction> actions() {
    std::vector<IoAction> out;
    IoAction a;
    while (s->next_io_action(&a)) {
      out.push_back(a);
    }
    return out;
  }
  // Events as text: "H" header, "P<tag>[d]" packet, "E" eos, "F:<code>" failed.
  std::string events() {
    std::string out;
    Event e;
    while (s->next_event(&e)) {
      if (!out.empty()) {
        out += ' ';
      }
      switch (e.kind) {
        case Event::Kind::kHeader:
          out += e.changed ? "H!" : "H";
          break;
        case Event::Kind::kPacket:
          out += "P" + std::to_string(e.payload[e.payload.size() - 1]);
          if (e.discont) {
            out += "d";
          }
          break;
        case Event::Kind::kEos:
          out += "E";
          break;
        case Event::Kind::kFailed:
          out += std::string("F:") + to_string(e.status.code());
          break;
        default:
          out += "?";
      }
    }
    return out;
  }
  // Notices as text: "connecting:mmsh", "failed:mmsh", "final:mmsh",
  // "connected:mmsh", "redirect:mmsh", "reconnecting:mmsh#1",
  // "reconnect-failed:mmsh", "reconnect-final:mmsh", "reconnected:mmsh".
  std::string notices() {
    std::string out;
    Notice n;
    while (s->next_notice(&n)) {
      if (!out.empty()) {
        out += ' ';
      }
      switch (n.kind) {
        case Notice::Kind::kConnecting:
          out += "connecting:" + n.transport;
          break;
        case Notice::Kind::kAttemptFailed:
          out += (n.final ? "final:" : "failed:") + n.transport;
          break;
        case Notice::Kind::kConnected:
          out += "connected:" + n.transport;
          break;
        case Notice::Kind::kRedirect:
          out += "redirect:" + n.transport;
          break;
        case Notice::Kind::kReconnecting:
          out += "reconnecting:" + n.transport + "#" + std::to_string(n.attempt);
          break;
        case Notice::Kind::kReconnectFailed:
          out += (n.final ? "reconnect-final:" : "reconnect-failed:") + n.transport;
          break;
        case Notice::Kind::kReconnected:
          out += "reconnected:" + n.transport;
          break;
        case Notice::Kind::kBandwidth:
          out += "bandwidth:" + n.transport + "=" + std::to_string(n.bandwidth_bps);
          break;
      }
    }
    return out;
  }
  // Opens channel 1 of the current fake, connects it, and plays packets
  // `first`.. with send times 3000 + 100 * i (tags = send time / 100).
  ChannelId establish(bool broadcast = false) {
    cur().open_tcp(1);
    kick();
    ChannelId g = 0;
    int connects = 0;
    for (const IoAction& a : actions()) {  // kClose of an earlier attempt may come first
      if (a.kind == IoAction::Kind::kConnectTcp) {
        g = a.channel;
        ++connects;
      }
    }
    EXPECT_EQ(connects, 1);
    s->on_connected(g, now);
    cur().connected_event(to_string(cur().transport));
    cur().header(broadcast, 3000);
    kick();
    return g;
  }
};

// --- the walk ---------------------------------------------------------------

TEST(RolloverSession, WalksToTheNextTransportAndInfersConnectFailed) {
  Rig r("mms://h/a.wmv");
  r.start();
  ASSERT_EQ(r.made.size(), 1u);
  EXPECT_EQ(r.made_names[0], "rtspu");
  EXPECT_EQ(r.first_reply[0], 3 * kSecond);  // others remain: short first-reply bound
  // RTSP/UDP never got a TCP connection: connect-failed, so RTSP/TCP is skipped.
  r.cur().failed(Code::kRefused, "connection refused");
  r.kick();
  ASSERT_EQ(r.made.size(), 2u);
  EXPECT_EQ(r.made_names[1], "mmsu");
  EXPECT_EQ(r.notices(), "connecting:rtspu failed:rtspu connecting:mmsu");
  const std::vector<std::string> names = r.s->attempt_names();
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[1], "rtspt");  // listed, not run
  // MMS/UDP connected, then no data: the walk goes on to MMS/TCP (not skipped).
  const ChannelId g = r.establish();
  r.cur().failed(Code::kTimedOut, "no UDP data");
  r.kick();
  EXPECT_EQ(r.made_names.back(), "mmst");
  // The connected channel of the failed attempt is closed by the runner.
  bool closed = false;
  for (const IoAction& a : r.actions()) {
    closed = closed || (a.kind == IoAction::Kind::kClose && a.channel == g);
  }
  EXPECT_TRUE(closed);
  EXPECT_EQ(r.events(), "H");
  EXPECT_EQ(r.notices(), "failed:mmsu connecting:mmst");
  // Media on MMS/TCP: connected is announced with the first packet, once.
  const ChannelId g2 = r.establish();
  EXPECT_NE(g2, g);  // channel ids never repeat across attempts
  r.cur().packet(3000, 30);
  r.kick();
  EXPECT_EQ(r.notices(), "connected:mmst");
  EXPECT_EQ(r.s->established(), "mmst");
  EXPECT_EQ(r.events(), "H P30");
  ASSERT_EQ(r.s->attempt_errors().size(), 2u);
  EXPECT_EQ(r.s->attempt_errors()[0], "rtspu: connection refused");
}

TEST(RolloverSession, ThroughAProxyTheUdpStepsAreNotTried) {
  Rig r("mms://h/a.wmv", RolloverOptions(), "http://proxy.example:3128");
  r.start();
  ASSERT_EQ(r.made_names, std::vector<std::string>{"rtspt"});
  EXPECT_EQ(r.notices(), "failed:rtspu connecting:rtspt");
  r.cur().failed(Code::kRefused, "proxy refused the connection");
  r.kick();
  EXPECT_EQ(r.made_names, (std::vector<std::string>{"rtspt", "mmst"}));
  EXPECT_EQ(r.notices(), "failed:rtspt failed:mmsu connecting:mmst");
  EXPECT_EQ(r.s->attempt_names(), (std::vector<std::string>{"rtspu", "rtspt", "mmsu", "mmst"}));
  ASSERT_EQ(r.s->attempt_errors().size(), 3u);
  EXPECT_EQ(r.s->attempt_errors()[0], "rtspu: not tried: UDP does not go through the HTTP proxy");
  EXPECT_EQ(r.s->attempt_errors()[1], "rtspt: proxy refused the connection");
  EXPECT_EQ(r.s->attempt_errors()[2], "mmsu: not tried: UDP does not go through the HTTP proxy");
  // MMSH, the last step, is the runner's own: it sends absolute-URI requests itself.
  r.cur().failed(Code::kRefused, "proxy refused the connection");
  r.kick();
  EXPECT_EQ(r.made_names.back(), "mmsh");
  ASSERT_TRUE(r.cur().config.proxy);
  EXPECT_EQ(r.cur().config.proxy->host, "proxy.example");
}

TEST(RolloverSession, ThroughAProxyAUdpOnlyListIsUnsupported) {
  for (const char* u : {"mmsu://h/a.wmv", "rtspu://h/a.wmv"}) {
    ClientConfig cfg;
    cfg.url = url(u);
    cfg.proxy = url("http://proxy.example:3128");
    Result<std::unique_ptr<RolloverSession>> r = RolloverSession::create(
        cfg, RolloverOptions(),
        [](Transport, ClientConfig) { return std::unique_ptr<ClientSession>(); });
    ASSERT_FALSE(r.ok()) << u;
    EXPECT_EQ(r.status().code(), Code::kUnsupported) << u;
  }
  RolloverOptions opt;
  opt.protocols = {Transport::kMmsUdp, Transport::kMmsTcp};
  Rig r("mms://h/a.wmv", opt, "http://proxy.example:3128");
  r.start();
  EXPECT_EQ(r.made_names, std::vector<std::string>{"mmst"});
}

TEST(RolloverSession, LastCandidateWaitsTheFullTimeoutAndFailureIsFinal) {
  Rig r("mmsh://h/a.wmv");
  r.start();
  EXPECT_EQ(r.first_reply[0], 0);
  r.cur().failed(Code::kNotFound, "server says not found");
  r.kick();
  EXPECT_EQ(r.events(), "F:not-found");
  EXPECT_EQ(r.notices(), "connecting:mmsh final:mmsh");
  EXPECT_EQ(r.made.size(), 1u);
  EXPECT_FALSE(r.s->next_deadline());
}

TEST(RolloverSession, NotFoundStopsTheWalk) {
  Rig r("mms://h/a.wmv");
  r.start();
  r.establish();
  r.cur().failed(Code::kNotFound, "not found");
  r.kick();
  EXPECT_EQ(r.made.size(), 1u);
  EXPECT_EQ(r.events(), "H F:not-found");
}

TEST(RolloverSession, FollowsARedirectToAnotherTransportFamily) {
  Rig r("mmst://h/a.wmv");
  r.start();
  r.establish();
  Event e = redirected_elsewhere(url("mmsh://other/b.wmv"), r.cur().config.url);
  r.cur().emit(e);
  r.kick();
  ASSERT_EQ(r.made.size(), 2u);
  EXPECT_EQ(r.made_names[1], "mmsh");
  EXPECT_EQ(r.cur().config.url.host, "other");
  EXPECT_EQ(r.notices(), "connecting:mmst redirect:mmst connecting:mmsh");
}

TEST(RolloverSession, PassesTheLocalAddressToTheCurrentAttempt) {
  Rig r("mmsu://h/a.wmv");
  r.start();
  const ChannelId g = r.establish();
  r.s->on_local_address(g, "198.18.0.1");
  EXPECT_EQ(r.cur().local_ip, "198.18.0.1");
  r.s->on_local_address(g + 100, "1.1.1.1");  // unknown: ignored
  EXPECT_EQ(r.cur().local_ip, "198.18.0.1");
}

// --- reconnect --------------------------------------------------------------

// Plays on-demand packets at 3000, 3100, 3100, 3200 ms, then drops.
void play_and_drop(Rig& r, Code code = Code::kConnectionLost) {
  r.cur().packet(3000, 30);
  r.cur().packet(3100, 31);
  r.cur().packet(3100, 32);
  r.cur().packet(3200, 33);
  r.kick();
  EXPECT_EQ(r.events(), "H P30 P31 P32 P33");
  r.cur().failed(code, "server closed the connection mid-stream");
  r.kick();
}

TEST(RolloverSession, ResumesOnDemandContentWithoutDuplicates) {
  Rig r("mmsh://h/a.wmv");
  r.start();
  const ChannelId old_ch = r.establish();
  play_and_drop(r);
  EXPECT_EQ(r.events(), "");  // not an error: a reconnect is pending
  ASSERT_EQ(r.made.size(), 1u);
  ASSERT_TRUE(r.s->next_deadline());
  EXPECT_EQ(*r.s->next_deadline() - r.now, 250 * kMillisecond);
  // Before the deadline nothing happens; the old channel is closed and dead.
  bool closed = false;
  for (const IoAction& a : r.actions()) {
    closed = closed || (a.kind == IoAction::Kind::kClose && a.channel == old_ch);
  }
  EXPECT_TRUE(closed);
  const std::uint8_t junk[3] = {1, 2, 3};
  EXPECT_EQ(r.s->on_bytes(old_ch, ByteView(junk, 3), r.now), 3u);
  r.now = r.now + 250 * kMillisecond;
  r.kick();
  ASSERT_EQ(r.made.size(), 2u);
  EXPECT_EQ(r.made_names[1], "mmsh");
  // From the last key frame at or before the last packet: 3200 - preroll 3000.
  ASSERT_EQ(r.cur().plays.size(), 1u);
  EXPECT_EQ(r.cur().plays[0], 200u);
  EXPECT_EQ(r.notices(), "connecting:mmsh connected:mmsh reconnecting:mmsh#1");
  // The server resends from an earlier key frame: only the new packet comes out,
  // and the identical header is not repeated.
  const ChannelId g = r.establish();
  EXPECT_NE(g, old_ch);
  r.cur().packet(3000, 30);
  r.cur().packet(3100, 31);
  r.cur().packet(3100, 32);
  r.cur().packet(3200, 33);
  r.cur().packet(3200, 34);  // a second packet at 3200: new
  r.cur().packet(3300, 35);
  r.kick();
  EXPECT_EQ(r.events(), "P34 P35");
  EXPECT_EQ(r.notices(), "reconnected:mmsh");
  EXPECT_EQ(r.s->reconnects(), 1);
  const std::vector<std::string> names = r.s->attempt_names();
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[1], "mmsh");
}

// A multi-bitrate header for the fakes: 300k and 100k video excluding each
// other, 64k audio.
std::shared_ptr<const asf::HeaderInfo> mbr_header_info() {
  auto info = std::make_shared<asf::HeaderInfo>();
  info->flags = 2u;
  info->preroll_ms = 3000;
  info->packet_size = 100;
  info->streams = {{1, asf::StreamType::kVideo, 300000, false},
                   {2, asf::StreamType::kVideo, 100000, false},
                   {3, asf::StreamType::kAudio, 64000, false}};
  info->exclusions = {{asf::ExclusionType::kBitrate, {1, 2}}};
  return info;
}

TEST(RolloverSession, OtherStreamsWhilePlayingGoOnFromTheLastPacketWithoutNotices) {
  Rig r("mmsh://h/a.wmv");
  r.start();
  // Before anything played: only the settings change.
  r.s->select_streams(200, false, r.now);
  ASSERT_EQ(r.made.size(), 1u);
  r.cur().open_tcp(1);
  r.kick();
  ChannelId g = 0;
  for (const IoAction& a : r.actions()) {
    g = a.kind == IoAction::Kind::kConnectTcp ? a.channel : g;
  }
  r.s->on_connected(g, r.now);
  r.cur().connected_event("mmsh");
  Event bw;
  bw.kind = Event::Kind::kBandwidth;
  bw.bandwidth_bps = 5'000'000;
  r.cur().emit(bw);
  Event h;
  h.kind = Event::Kind::kHeader;
  h.header = std::make_shared<const std::vector<std::uint8_t>>(std::vector<std::uint8_t>{7, 7});
  h.info = mbr_header_info();
  r.cur().emit(h);
  r.cur().packet(3000, 30);
  r.cur().packet(3100, 31);
  r.kick();
  EXPECT_EQ(r.events(), "H P30 P31");
  EXPECT_EQ(r.notices(), "connecting:mmsh bandwidth:mmsh=5000000 connected:mmsh");
  ASSERT_EQ(r.s->current_selection().size(), 3u);
  EXPECT_FALSE(r.s->current_selection()[0].selected);  // 200 kbps: the 100k video
  // The same choice again: nothing happens.
  r.s->select_streams(150, false, r.now);
  EXPECT_EQ(r.made.size(), 1u);
  // Another choice: the attempt is replaced on the same transport, from the
  // last delivered packet, without reconnect notices; the estimate is kept.
  r.s->select_streams(1000, false, r.now);
  ASSERT_EQ(r.made.size(), 2u);
  EXPECT_EQ(r.made_names[1], "mmsh");
  EXPECT_EQ(r.cur().config.connection_speed_kbps, 1000u);
  EXPECT_EQ(r.cur().config.known_bandwidth_bps, 5'000'000u);
  ASSERT_EQ(r.cur().plays.size(), 1u);
  EXPECT_EQ(r.cur().plays[0], 100u);  // 3100 - preroll 3000
  bool closed = false;
  for (const IoAction& a : r.actions()) {
    closed = closed || (a.kind == IoAction::Kind::kClose && a.channel == g);
  }
  EXPECT_TRUE(closed);
  r.cur().open_tcp(1);
  r.kick();
  for (const IoAction& a : r.actions()) {
    g = a.kind == IoAction::Kind::kConnectTcp ? a.channel : g;
  }
  r.s->on_connected(g, r.now);
  r.cur().connected_event("mmsh");
  r.cur().emit(h);  // the same header: not news
  r.cur().packet(3000, 40);
  r.cur().packet(3100, 41);
  r.cur().packet(3200, 42);
  r.kick();
  // The fakes' packets carry no payloads to tell a key frame by: they pass.
  EXPECT_EQ(r.events(), "P42");
  EXPECT_EQ(r.notices(), "");
  EXPECT_EQ(r.s->reconnects(), 0);
  // Audio only.
  r.s->select_streams(1000, true, r.now);
  ASSERT_EQ(r.made.size(), 3u);
  EXPECT_TRUE(r.cur().config.audio_only);
  EXPECT_EQ(r.notices(), "");
}

TEST(RolloverSession, ReconnectsOnTheWinningTransportOfAWalk) {
  Rig r("mms://h/a.wmv");
  r.start();
  r.cur().failed(Code::kRefused, "connection refused");  // rtspu; rtspt skipped
  r.kick();
  r.establish();                      // mmsu
  play_and_drop(r, Code::kTimedOut);  // no data for `timeout`
  r.now = r.now + kSecond;
  r.kick();
  EXPECT_EQ(r.made_names.back(), "mmsu");
  EXPECT_EQ(r.cur().config.first_reply_timeout, 0);  // no rollover any more
}

// A reconnect that reaches the server on the winning transport and still
// gets nothing (UDP blocked since, say) walks on to the next transport; the
// one that delivers is the transport of later reconnects. An attempt refused
// before connecting (the server away) stays on the transport.
TEST(RolloverSession, AReconnectThatConnectsAndFailsWalksOn) {
  Rig r("mms://h/a.wmv");
  r.start();
  r.establish();  // rtspu wins
  EXPECT_EQ(r.made_names.back(), "rtspu");
  play_and_drop(r, Code::kTimedOut);
  // #1: refused before any connection: the server is away, rtspu again next.
  r.now = *r.s->next_deadline();
  r.kick();
  EXPECT_EQ(r.made_names.back(), "rtspu");
  r.cur().open_tcp(1);
  r.kick();
  std::vector<IoAction> a = r.actions();
  ASSERT_FALSE(a.empty());
  r.s->on_connect_failed(a.back().channel, Status(Code::kRefused, "connection refused"), r.now);
  // #2: connects, then no data over UDP.
  r.now = *r.s->next_deadline();
  r.kick();
  EXPECT_EQ(r.made_names.back(), "rtspu");
  r.cur().open_tcp(1);
  r.kick();
  a = r.actions();
  ASSERT_FALSE(a.empty());
  r.s->on_connected(a.back().channel, r.now);
  r.cur().failed(Code::kTimedOut, "no RTP over UDP");
  r.kick();
  // #3: the next transport of the walk, at the next undelivered packet.
  r.now = *r.s->next_deadline();
  r.kick();
  EXPECT_EQ(r.made_names.back(), "rtspt");
  EXPECT_EQ(r.cur().config.url.scheme, "rtspt");
  r.establish();
  r.cur().packet(3200, 33);
  r.cur().packet(3300, 34);
  r.kick();
  EXPECT_EQ(r.events(), "P34");
  const std::string n = r.notices();
  EXPECT_NE(n.find("reconnecting:rtspu#2 reconnect-failed:rtspu reconnecting:rtspt#3"),
            std::string::npos)
      << n;
  EXPECT_NE(n.find("reconnected:rtspt"), std::string::npos) << n;
  // A later drop reconnects on rtspt, the transport that works now.
  r.cur().failed(Code::kConnectionLost, "reset");
  r.kick();
  r.now = *r.s->next_deadline();
  r.kick();
  EXPECT_EQ(r.made_names.back(), "rtspt");
}

TEST(RolloverSession, BackoffDoublesUpToTheCapAndExhaustedRetriesFail) {
  RolloverOptions opt;
  opt.retries = 4;
  opt.retry_delay_max = 600 * kMillisecond;
  Rig r("mmst://h/a.wmv", opt);
  r.start();
  r.establish();
  play_and_drop(r);
  const Duration expect[] = {250 * kMillisecond, 500 * kMillisecond, 600 * kMillisecond,
                             600 * kMillisecond};
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(r.s->next_deadline()) << i;
    EXPECT_EQ(*r.s->next_deadline() - r.now, expect[i]) << i;
    r.now = *r.s->next_deadline();
    r.kick();
    ASSERT_EQ(r.made.size(), static_cast<std::size_t>(i + 2));
    // The server is down: connection refused before any connection opened.
    r.cur().open_tcp(1);
    r.kick();
    std::vector<IoAction> a = r.actions();
    ASSERT_FALSE(a.empty());
    r.s->on_connect_failed(a.back().channel, Status(Code::kRefused, "connection refused"), r.now);
  }
  // The error is the drop that started it all; each attempt's failure is listed.
  EXPECT_EQ(r.events(), "F:connection-lost");
  EXPECT_FALSE(r.s->next_deadline());
  const std::string n = r.notices();
  EXPECT_NE(n.find("reconnecting:mmst#4 reconnect-final:mmst"), std::string::npos) << n;
  EXPECT_NE(n.find("reconnect-failed:mmst reconnecting:mmst#2"), std::string::npos) << n;
  // Every attempt is listed: the first plus four reconnects.
  EXPECT_EQ(r.s->attempt_names().size(), 5u);
  EXPECT_EQ(r.s->attempt_errors().size(), 5u);
}

TEST(RolloverSession, ASuccessfulReconnectResetsTheCount) {
  RolloverOptions opt;
  opt.retries = 1;
  Rig r("mmsh://h/a.wmv", opt);
  r.start();
  r.establish();
  play_and_drop(r);
  for (int round = 0; round < 3; ++round) {
    r.now = r.now + kSecond;
    r.kick();
    r.establish();
    r.cur().packet(static_cast<std::uint32_t>(3300 + 100 * round),
                   static_cast<std::uint8_t>(40 + round));
    r.kick();
    EXPECT_EQ(r.events(), "P" + std::to_string(40 + round));
    r.cur().failed(Code::kConnectionLost, "reset");
    r.kick();
    ASSERT_TRUE(r.s->next_deadline()) << round;  // still reconnecting, not failed
    EXPECT_EQ(*r.s->next_deadline() - r.now, 250 * kMillisecond);
  }
}

TEST(RolloverSession, ABroadcastRejoinsWithADiscont) {
  Rig r("mmsh://h/live");
  r.start();
  r.establish(/*broadcast=*/true);
  play_and_drop(r);
  r.now = r.now + kSecond;
  r.kick();
  EXPECT_EQ(r.cur().plays[0], 0u);
  r.establish(true);
  r.cur().packet(1000, 10);  // the live stream's clock restarted: no filter
  r.cur().packet(1100, 11);
  r.kick();
  EXPECT_EQ(r.events(), "P10d P11");
}

TEST(RolloverSession, ANewHeaderAfterAReconnectIsAChange) {
  Rig r("mmsh://h/live");
  r.start();
  r.establish(true);
  play_and_drop(r);
  r.now = r.now + kSecond;
  r.kick();
  r.cur().header(true, 3000, {9, 9, 9});
  r.cur().packet(10, 1);
  r.kick();
  EXPECT_EQ(r.events(), "H! P1d");
}

TEST(RolloverSession, ErrorsThatAReconnectCannotFixAreFinal) {
  for (Code code : {Code::kNotFound, Code::kNotAuthorized, Code::kMalformed}) {
    Rig r("mmsh://h/a.wmv");
    r.start();
    r.establish();
    r.cur().packet(3000, 30);
    r.cur().failed(code, "bad");
    r.kick();
    EXPECT_EQ(r.events(), std::string("H P30 F:") + to_string(code));
    EXPECT_EQ(r.made.size(), 1u);
  }
  RolloverOptions none;
  none.retries = 0;
  Rig r("mmsh://h/a.wmv", none);
  r.start();
  r.establish();
  play_and_drop(r);
  EXPECT_EQ(r.events(), "F:connection-lost");
}

TEST(RolloverSession, UnboundedRetriesKeepGoing) {
  RolloverOptions opt;
  opt.retries = -1;
  opt.retry_delay_max = kSecond;
  Rig r("mmsh://h/a.wmv", opt);
  r.start();
  r.establish();
  play_and_drop(r);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(r.s->next_deadline());
    EXPECT_LE(*r.s->next_deadline() - r.now, kSecond);
    r.now = *r.s->next_deadline();
    r.kick();
    r.cur().failed(Code::kRefused, "connection refused");
    r.kick();
  }
  EXPECT_EQ(r.events(), "");
  EXPECT_EQ(r.s->reconnects(), 21);
}

TEST(RolloverSession, ASeekDuringTheBackoffPlaysFromTheSeekWithoutFilter) {
  Rig r("mmsh://h/a.wmv");
  r.start();
  r.establish();
  play_and_drop(r);
  PlayRequest seek;
  seek.position_ms = 5000;
  r.s->play(seek, r.now);
  EXPECT_EQ(r.made.size(), 1u);  // still waiting
  r.now = r.now + kSecond;
  r.kick();
  EXPECT_EQ(r.cur().plays[0], 5000u);
  r.establish();
  r.cur().packet(2000, 20);  // earlier than anything before: not a duplicate after a seek
  r.kick();
  EXPECT_EQ(r.events(), "P20");
}

TEST(RolloverSession, ASeekAfterTheDropForgetsWhatWasDelivered) {
  Rig r("mmsh://h/a.wmv");
  r.start();
  r.establish();
  r.cur().packet(3000, 30);
  r.kick();
  PlayRequest seek;
  seek.position_ms = 1000;
  r.s->play(seek, r.now);
  EXPECT_EQ(r.cur().plays.back(), 1000u);
  r.cur().failed(Code::kConnectionLost, "reset");
  r.kick();
  r.now = r.now + kSecond;
  r.kick();
  EXPECT_EQ(r.cur().plays[0], 1000u);  // nothing delivered since the seek: its position
}

TEST(RolloverSession, ThrottlingCarriesOverToTheNextAttempt) {
  Rig r("mmst://h/a.wmv");
  r.start();
  r.establish();
  r.s->on_throttle(true, r.now);
  EXPECT_TRUE(r.cur().throttled);
  play_and_drop(r);
  r.now = r.now + kSecond;
  r.kick();
  EXPECT_TRUE(r.cur().throttled);
  r.s->on_throttle(false, r.now);
  EXPECT_FALSE(r.cur().throttled);
}

TEST(RolloverSession, CloseStopsAPendingReconnect) {
  Rig r("mmsh://h/a.wmv");
  r.start();
  r.establish();
  play_and_drop(r);
  r.s->close();
  EXPECT_FALSE(r.s->next_deadline());
  r.now = r.now + kSecond;
  r.kick();
  EXPECT_EQ(r.made.size(), 1u);
}

TEST(RolloverSession, InnerDeadlinesAndTimeoutsPassThrough) {
  Rig r("mmsh://h/a.wmv");
  r.start();
  r.cur().deadline = r.now + 7 * kSecond;
  EXPECT_EQ(*r.s->next_deadline(), r.now + 7 * kSecond);
  r.kick();
  EXPECT_EQ(r.cur().timeouts, 1);
}

}  // namespace
}  // namespace mms::session

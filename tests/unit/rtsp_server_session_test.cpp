// RTSP server session: requests written with the rtsp codec go in; what the
// session sends (RTSP messages, interleaved frames, UDP datagrams) is decoded
// back and the RTP depayloaded per SSRC / channel with rtsp::AsfDepayloader.
#include <algorithm>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/asf/packet.h"
#include "protocol/rtsp/asf_rtp.h"
#include "protocol/rtsp/message_codec.h"
#include "protocol/rtsp/rtcp.h"
#include "protocol/rtsp/sdp_wms.h"
#include "protocol/rtsp/server_session.h"
#include "protocol/session/metadata.h"
#include "tests/support/memory_source.h"

namespace mms::rtsp {
namespace {

constexpr const char* kUrl = "rtsp://127.0.0.1:5544/small.asf";

using mms_test::MemorySource;

// One decoded TCP unit (owned) or datagram.
struct Got {
  UnitKind kind = UnitKind::kResponse;
  Request req;
  Response resp;
  std::uint8_t channel = 0;
  std::vector<std::uint8_t> payload;
};

struct Dgram {
  std::uint16_t port = 0;
  std::vector<std::uint8_t> bytes;
};

class Client {
 public:
  explicit Client(const ServerConfig* config, Instant start = Instant{1000 * kSecond})
      : now_(start), s_(config, 0x1234, now_) {}

  ServerSession& session() { return s_; }
  Instant& now() { return now_; }

  // Feeds bytes (whole or in `chunk`-sized pieces) and drains the output.
  // Returns false when the session reported an error.
  bool feed(const std::string& bytes, std::size_t chunk = SIZE_MAX) {
    bool ok = true;
    for (std::size_t i = 0; i < bytes.size();) {
      const std::size_t n = std::min(chunk, bytes.size() - i);
      buf_.insert(buf_.end(), bytes.begin() + static_cast<std::ptrdiff_t>(i),
                  bytes.begin() + static_cast<std::ptrdiff_t>(i + n));
      i += n;
      auto r = s_.on_bytes(ByteView(buf_), now_);
      if (!r.ok()) {
        ok = false;
        buf_.clear();
      } else {
        EXPECT_LE(*r, buf_.size());
        buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(*r));
      }
      drain();
    }
    return ok;
  }

  // Sends a request with the next CSeq; returns that CSeq.
  std::uint32_t send(const std::string& method, const std::string& uri,
                     std::vector<std::pair<std::string, std::string>> headers = {},
                     std::size_t chunk = SIZE_MAX) {
    Request r;
    r.method = method;
    r.uri = uri;
    const std::uint32_t cseq = ++cseq_;
    r.headers.add("CSeq", std::to_string(cseq));
    for (auto& [n, v] : headers) {
      r.headers.add(n, v);
    }
    feed(write_request(r), chunk);
    return cseq;
  }

  // The response with this CSeq (parsed from everything received so far).
  Response response(std::uint32_t cseq) {
    for (const Got& g : units()) {
      if (g.kind == UnitKind::kResponse) {
        const std::string* c = g.resp.headers.find("CSeq");
        if (c != nullptr && *c == std::to_string(cseq)) {
          return g.resp;
        }
      }
    }
    ADD_FAILURE() << "no response for CSeq " << cseq;
    return Response();
  }
  Response request(const std::string& method, const std::string& uri,
                   std::vector<std::pair<std::string, std::string>> headers = {},
                   std::size_t chunk = SIZE_MAX) {
    return response(send(method, uri, std::move(headers), chunk));
  }

  // A client that stops reading (a paused player): TCP output is left unread.
  bool reading = true;

  void drain_output() {
    for (int i = 0; i < 100000 && reading; ++i) {
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
      const std::uint16_t port = s_.udp_port();
      const ByteView d = s_.next_datagram(now_);
      if (d.empty()) {
        if (s_.udp_port() != port) {
          continue;  // the next datagram is for another port
        }
        break;
      }
      (is_rtcp(d) ? rtcp : datagrams).push_back(Dgram{port, d.to_vector()});
      s_.consume_datagram();
    }
  }

  // Runs the timers until `until`.
  void run_until(Instant until) {
    drain();
    for (int i = 0; i < 200000; ++i) {
      auto at = s_.next_deadline();
      if (!at || *at > until) {
        break;
      }
      now_ = std::max(now_, *at);
      s_.on_timeout(now_);
      drain();
    }
    now_ = std::max(now_, until);
    s_.on_timeout(now_);
    drain();
  }
  void run_for(Duration d) { run_until(now_ + d); }

  // Everything received; interleaved frames are RTP only, or RTCP only.
  std::vector<Got> units(bool want_rtcp = false) const {
    std::vector<Got> out;
    ByteView in(wire);
    while (!in.empty()) {
      Unit u;
      Status err;
      const Decode d = decode_unit(in, &u, &err);
      EXPECT_EQ(d, Decode::kDone) << err.what();
      if (d != Decode::kDone) {
        break;
      }
      if (u.kind == UnitKind::kInterleaved && is_rtcp(u.frame.payload) != want_rtcp) {
        in = in.subview(u.wire_size);
        continue;
      }
      Got g;
      g.kind = u.kind;
      if (u.kind == UnitKind::kInterleaved) {
        g.channel = u.frame.channel;
        g.payload = u.frame.payload.to_vector();
      } else {
        g.req = u.request;
        g.resp = u.response;
      }
      out.push_back(std::move(g));
      in = in.subview(u.wire_size);
    }
    return out;
  }
  // Server requests (SET_PARAMETER, ANNOUNCE) received so far.
  std::vector<Request> server_requests() const {
    std::vector<Request> r;
    for (const Got& g : units()) {
      if (g.kind == UnitKind::kRequest) {
        r.push_back(g.req);
      }
    }
    return r;
  }

  std::vector<std::uint8_t> wire;
  std::vector<Dgram> datagrams;  // RTP
  std::vector<Dgram> rtcp;       // RTCP datagrams

 private:
  Instant now_;
  ServerSession s_;
  std::vector<std::uint8_t> buf_;
  std::uint32_t cseq_ = 0;
};

using Packets = std::vector<std::vector<std::uint8_t>>;

// What the server must send for stream `n`: each file packet filtered to it,
// skipped when empty, padding stripped when safe.
Packets expected_streams(const server::Content& c, std::initializer_list<std::uint16_t> streams,
                         std::uint32_t from = 0) {
  Packets out;
  std::vector<bool> keep(128, false);
  for (std::uint16_t n : streams) {
    keep[n] = true;
  }
  for (std::uint32_t i = from; i < c.packet_count(); ++i) {
    std::vector<std::uint8_t> f;
    bool empty = false;
    EXPECT_TRUE(asf::filter_streams(c.packet(i), c.packet_size(), keep, &f, &empty).ok());
    if (empty) {
      continue;
    }
    std::vector<std::uint8_t> r;
    EXPECT_TRUE(rtp_asf_packet(ByteView(f), c.packet_size(), &r).ok());
    out.push_back(r);
  }
  return out;
}

Packets expected_stream(const server::Content& c, std::uint16_t n, std::uint32_t from = 0) {
  return expected_streams(c, {n}, from);
}

std::string header_value(const Response& r, const char* name) {
  const std::string* v = r.headers.find(name);
  return v == nullptr ? std::string() : *v;
}

std::uint32_t ssrc_of(const Response& setup) {
  auto t = parse_transports(header_value(setup, "Transport"));
  EXPECT_TRUE(t.ok());
  if (!t.ok() || !(*t)[0].ssrc) {
    return 0;
  }
  return *(*t)[0].ssrc;
}

std::string session_of(const Response& r) {
  auto s = parse_session(header_value(r, "Session"));
  return s.ok() ? s->id : std::string();
}

std::map<std::string, std::uint16_t> rtp_info_seqs(const std::string& value) {
  std::map<std::string, std::uint16_t> m;
  auto info = parse_rtp_info(value);
  EXPECT_TRUE(info.ok()) << value;
  if (info.ok()) {
    for (const RtpInfo& e : *info) {
      EXPECT_TRUE(e.seq.has_value());
      m[e.url] = e.seq.value_or(0);
    }
  }
  return m;
}

class RtspServerTest : public ::testing::Test {
 protected:
  RtspServerTest() {
    EXPECT_TRUE(source.add_fixtures()) << "tests/media/fixtures: small.asf or mbr.asf unusable";
    config.content = &source;
    config.fast = true;
    config.udp_port = 5544;
    config.live_epoch = Instant{0};
  }
  const server::Content& content(const char* name) {
    return *source.items[std::string("/") + name];
  }

  MemorySource source;
  ServerConfig config;
};

TEST_F(RtspServerTest, OptionsAndDescribe) {
  Client c(&config);
  Response o = c.request("OPTIONS", kUrl);
  EXPECT_EQ(o.status, 200);
  EXPECT_EQ(header_value(o, "Server"), "WMServer/9.0.0.3372");
  EXPECT_NE(header_value(o, "Public").find("DESCRIBE"), std::string::npos);
  EXPECT_NE(header_value(o, "Public").find("GET_PARAMETER"), std::string::npos);
  EXPECT_NE(header_value(o, "Supported").find("com.microsoft.wm.eosmsg"), std::string::npos);
  EXPECT_EQ(header_value(o, "CSeq"), "1");

  Response d = c.request("DESCRIBE", kUrl, {{"Accept", "application/sdp"}});
  ASSERT_EQ(d.status, 200);
  EXPECT_EQ(header_value(d, "Content-Type"), "application/sdp");
  EXPECT_EQ(header_value(d, "Content-Base"), std::string(kUrl) + "/");
  EXPECT_EQ(header_value(d, "X-Broadcast-Id"), "0");
  EXPECT_FALSE(header_value(d, "X-Playlist-Gen-Id").empty());
  EXPECT_EQ(header_value(d, "Server"), "WMServer/9.0.0.3372");
  auto sdp = parse_wms_sdp(d.body);
  ASSERT_TRUE(sdp.ok()) << sdp.status().what();
  const ByteView header = content("small.asf").header();
  EXPECT_EQ(sdp->asf_header, header.to_vector());
  EXPECT_EQ(sdp->control, std::string(kUrl) + "/");
  ASSERT_NE(sdp->find_stream(1), nullptr);
  ASSERT_NE(sdp->find_stream(2), nullptr);
  EXPECT_EQ(sdp->find_stream(1)->control, "stream=1");
  ASSERT_NE(sdp->rtx(), nullptr);
  EXPECT_EQ(resolve_control(header_value(d, "Content-Base"), sdp->control, "stream=2"),
            std::string(kUrl) + "/stream=2");
  ASSERT_TRUE(sdp->range.has_value());
  EXPECT_TRUE(sdp->range->end_ms.has_value());
}

// The entry's content description goes to Windows Media players only.
TEST_F(RtspServerTest, ContentDescriptionForWindowsMediaPlayers) {
  for (const char* ua : {"WMPlayer/9.0.0.2980 guid/abc", "GStreamer/1.22.0", ""}) {
    Client c(&config);
    std::vector<std::pair<std::string, std::string>> headers;
    if (*ua != '\0') {
      headers.emplace_back("User-Agent", ua);
    }
    Response d = c.request("DESCRIBE", kUrl, headers);
    ASSERT_EQ(d.status, 200) << ua;
    auto sdp = parse_wms_sdp(d.body);
    ASSERT_TRUE(sdp.ok()) << sdp.status().what();
    if (std::string(ua).rfind("WMPlayer/", 0) != 0) {
      EXPECT_EQ(sdp->content_description, "") << ua;
      continue;
    }
    auto list = session::parse_sdp_cdl(sdp->content_description);
    ASSERT_TRUE(list.ok()) << list.status().what();
    ASSERT_EQ(list->size(), 1u);
    const session::CdlField* title = (*list)[0].find("title");
    ASSERT_NE(title, nullptr);
    EXPECT_EQ(title->value, content("small.asf").info().tags.title);
  }
}

TEST_F(RtspServerTest, PipelinedRequestsAndTrailingBytes) {
  Client c(&config);
  Request a;
  a.method = "OPTIONS";
  a.uri = kUrl;
  a.headers.add("CSeq", "1");
  Request b = a;
  b.method = "DESCRIBE";
  b.headers.set("CSeq", "2");
  // Both requests plus the start of a third in one read; then byte by byte.
  EXPECT_TRUE(c.feed(write_request(a) + write_request(b) + "GET_PAR"));
  EXPECT_EQ(c.response(1).status, 200);
  EXPECT_EQ(c.response(2).status, 200);
  EXPECT_TRUE(c.feed("AMETER " + std::string(kUrl) + " RTSP/1.0\r\nCSeq: 3\r\n\r\n", 1));
  EXPECT_EQ(c.response(3).status, 200);
}

// Depayloads datagrams (by SSRC) or interleaved frames (by channel).
// `gaps`: the streams share one sequence space (per-SSRC gaps are expected).
std::map<std::uint32_t, Packets> depayload(const std::vector<std::vector<std::uint8_t>>& rtp,
                                           const std::map<std::uint32_t, std::uint16_t>& first_seq,
                                           std::uint32_t max_packet, bool gaps = false) {
  std::map<std::uint32_t, AsfDepayloader> depay;
  std::map<std::uint32_t, Packets> out;
  for (const auto& [ssrc, seq] : first_seq) {
    depay.emplace(ssrc, AsfDepayloader(max_packet));
    depay.at(ssrc).expect_seq(seq);
  }
  for (const auto& p : rtp) {
    auto h = parse_rtp(ByteView(p));
    EXPECT_TRUE(h.ok());
    if (!h.ok()) {
      continue;
    }
    EXPECT_EQ(h->payload_type, 96);
    auto it = depay.find(h->ssrc);
    EXPECT_NE(it, depay.end()) << "unknown ssrc " << h->ssrc;
    if (it == depay.end()) {
      continue;
    }
    std::vector<DepayPacket> got;
    EXPECT_TRUE(it->second.push(ByteView(p), &got).ok());
    for (DepayPacket& g : got) {
      out[h->ssrc].push_back(std::move(g.data));
    }
  }
  for (auto& [ssrc, d] : depay) {
    if (!gaps) {
      EXPECT_EQ(d.stats().lost, 0u);
    }
    EXPECT_EQ(d.stats().dropped_partial, 0u);
    EXPECT_EQ(d.stats().malformed, 0u);
  }
  return out;
}

// FFmpeg: RTX first, then every media stream on one port without an RTCP port
// (shared sequence space); the gst-mms client: the same port pair for every
// media stream (one sequence per stream).
TEST_F(RtspServerTest, UdpFlowFfmpegAndPairForms) {
  for (const bool ffmpeg : {true, false}) {
    SCOPED_TRACE(ffmpeg ? "ffmpeg form" : "pair form");
    const std::string media_transport = ffmpeg
                                            ? "RTP/AVP/UDP;unicast;client_port=7002;mode=play"
                                            : "RTP/AVP/UDP;unicast;client_port=7002-7003;mode=PLAY";
    Client c(&config);
    const server::Content& small = content("small.asf");
    ASSERT_EQ(c.request("DESCRIBE", kUrl).status, 200);
    const std::string base = std::string(kUrl) + "/";
    Response rtx =
        c.request("SETUP", base + "rtx",
                  {{"Transport", "RTP/AVP/UDP;unicast;client_port=7000-7001;mode=PLAY"}});
    ASSERT_EQ(rtx.status, 200);
    const std::string session = session_of(rtx);
    EXPECT_EQ(session, c.session().session_id());
    EXPECT_NE(header_value(rtx, "Session").find(";timeout=60"), std::string::npos);
    EXPECT_NE(header_value(rtx, "Transport").find("server_port=5544-5545"), std::string::npos);
    Response s1 = c.request("SETUP", base + "stream=1",
                            {{"Transport", media_transport}, {"Session", session}});
    ASSERT_EQ(s1.status, 200);
    Response s2 = c.request("SETUP", base + "stream=2",
                            {{"Transport", media_transport}, {"Session", session}});
    ASSERT_EQ(s2.status, 200);
    const std::uint32_t ssrc1 = ssrc_of(s1);
    const std::uint32_t ssrc2 = ssrc_of(s2);
    EXPECT_NE(ssrc1, ssrc2);
    EXPECT_NE(ssrc_of(rtx), ssrc1);
    EXPECT_EQ(c.session().udp_port(), 7002);
    EXPECT_TRUE(c.datagrams.empty());

    const std::string npt = format_npt_time(small.info().preroll_ms) + "-";
    const std::uint32_t play_cseq =
        c.send("PLAY", base, {{"Range", "npt=" + npt}, {"Session", session}});
    Response play = c.response(play_cseq);
    ASSERT_EQ(play.status, 200);
    auto seqs = rtp_info_seqs(header_value(play, "RTP-Info"));
    ASSERT_EQ(seqs.size(), 2u);
    c.run_for(5 * kSecond);
    ASSERT_FALSE(c.datagrams.empty());
    std::vector<std::vector<std::uint8_t>> rtp;
    for (const Dgram& d : c.datagrams) {
      EXPECT_EQ(d.port, 7002);
      EXPECT_LE(d.bytes.size(), kRtspUdpMtu);
      rtp.push_back(d.bytes);
    }
    auto got = depayload(rtp, {{ssrc1, seqs[base + "stream=1"]}, {ssrc2, seqs[base + "stream=2"]}},
                         small.packet_size(), ffmpeg);
    if (ffmpeg) {
      // One gapless sequence over both SSRCs, starting at the RTP-Info seq.
      EXPECT_EQ(seqs[base + "stream=1"], seqs[base + "stream=2"]);
      std::uint16_t want = seqs[base + "stream=1"];
      for (const auto& p : rtp) {
        EXPECT_EQ(parse_rtp(ByteView(p))->seq, want++);
      }
    }
    EXPECT_EQ(got[ssrc1], expected_stream(small, 1));
    EXPECT_EQ(got[ssrc2], expected_stream(small, 2));

    // End of stream: SET_PARAMETER with the next seq of each stream.
    auto reqs = c.server_requests();
    ASSERT_EQ(reqs.size(), 1u);
    const Request& eos = reqs[0];
    EXPECT_EQ(eos.method, "SET_PARAMETER");
    EXPECT_EQ(eos.uri, base);
    EXPECT_EQ(header_value(Response{0, 0, "", eos.headers, ""}, "CSeq"), "1");
    EXPECT_EQ(*eos.headers.find("Content-Type"), "application/x-wms-extension-cmd");
    EXPECT_NE(eos.headers.find("X-Notice")->find("2101"), std::string::npos);
    EXPECT_EQ(eos.body, "Session: " + session + "\r\nEOF: true\r\n");
    std::map<std::uint32_t, std::uint16_t> last;
    for (const auto& p : rtp) {
      auto h = parse_rtp(ByteView(p));
      last[h->ssrc] = h->seq;
    }
    auto next = rtp_info_seqs(*eos.headers.find("RTP-Info"));
    if (ffmpeg) {
      const auto final_seq = static_cast<std::uint16_t>(parse_rtp(ByteView(rtp.back()))->seq + 1);
      EXPECT_EQ(next[base + "stream=1"], final_seq);
      EXPECT_EQ(next[base + "stream=2"], final_seq);
    } else {
      EXPECT_EQ(next[base + "stream=1"], static_cast<std::uint16_t>(last[ssrc1] + 1));
      EXPECT_EQ(next[base + "stream=2"], static_cast<std::uint16_t>(last[ssrc2] + 1));
    }

    // The client's answer is accepted; keepalive and teardown.
    EXPECT_TRUE(c.feed("RTSP/1.0 200 OK\r\nCSeq: 1\r\nSession: " + session + "\r\n\r\n"));
    EXPECT_EQ(c.request("GET_PARAMETER", base, {{"Session", session}}).status, 200);
    EXPECT_FALSE(c.session().wants_close());
    EXPECT_EQ(c.request("TEARDOWN", base, {{"Session", session}}).status, 200);
    EXPECT_TRUE(c.session().wants_close());
  }
}

TEST_F(RtspServerTest, UdpPerStreamPortsRtspsrcStyle) {
  Client c(&config);
  const std::string base = std::string(kUrl) + "/";
  ASSERT_EQ(c.request("OPTIONS", kUrl).status, 200);
  ASSERT_EQ(c.request("DESCRIBE", kUrl).status, 200);
  Response s1 = c.request("SETUP", base + "stream=1",
                          {{"Transport", "RTP/AVP;unicast;client_port=5000-5001"}});
  ASSERT_EQ(s1.status, 200);
  const std::string session = session_of(s1);
  Response s2 =
      c.request("SETUP", base + "stream=2",
                {{"Transport", "RTP/AVP;unicast;client_port=5002-5003"}, {"Session", session}});
  ASSERT_EQ(s2.status, 200);
  ASSERT_EQ(c.request("PLAY", base, {{"Range", "npt=0-"}, {"Session", session}}).status, 200);
  c.run_for(5 * kSecond);
  ASSERT_FALSE(c.datagrams.empty());
  std::size_t n1 = 0;
  std::size_t n2 = 0;
  for (const Dgram& d : c.datagrams) {
    auto h = parse_rtp(ByteView(d.bytes));
    ASSERT_TRUE(h.ok());
    if (h->ssrc == ssrc_of(s1)) {
      EXPECT_EQ(d.port, 5000);
      ++n1;
    } else {
      EXPECT_EQ(h->ssrc, ssrc_of(s2));
      EXPECT_EQ(d.port, 5002);
      ++n2;
    }
  }
  EXPECT_GT(n1, 0u);
  EXPECT_GT(n2, 0u);
}

// Fast UDP with a client that sends RTCP receiver reports: the reports bound
// what is in flight, a report counting new loss halves the window, a round
// trip longer than the shortest by kRtspQueueDelay shrinks it, and the
// end-of-stream request goes out as soon as everything is reported received.
TEST_F(RtspServerTest, UdpFastModeFollowsReceiverReports) {
  Client c(&config);
  const std::string base = std::string(kUrl) + "/";
  ASSERT_EQ(c.request("DESCRIBE", kUrl).status, 200);
  Response s1 = c.request("SETUP", base + "stream=1",
                          {{"Transport", "RTP/AVP/UDP;unicast;client_port=7002-7003"}});
  ASSERT_EQ(s1.status, 200);
  const std::string session = session_of(s1);
  Response s2 =
      c.request("SETUP", base + "stream=2",
                {{"Transport", "RTP/AVP/UDP;unicast;client_port=7002-7003"}, {"Session", session}});
  ASSERT_EQ(s2.status, 200);
  ASSERT_EQ(c.request("PLAY", base, {{"Range", "npt=0-"}, {"Session", session}}).status, 200);
  c.drain();
  ASSERT_FALSE(c.datagrams.empty());
  std::map<std::uint32_t, std::uint16_t> last;
  for (const Dgram& d : c.datagrams) {
    auto h = parse_rtp(ByteView(d.bytes));
    ASSERT_TRUE(h.ok());
    last[h->ssrc] = h->seq;
  }
  ASSERT_EQ(last.size(), 2u);
  // Everything is out (the file is small); no report yet: the end waits.
  EXPECT_EQ(c.session().datagrams_in_flight(), c.datagrams.size());
  EXPECT_TRUE(c.server_requests().empty());
  auto report = [&](std::uint32_t ssrc, std::uint16_t seq, std::uint32_t lost) {
    ReportBlock b;
    b.ssrc = ssrc;
    b.highest_seq = 0x10000u | seq;  // one wrap: only the low 16 bits count
    b.cumulative_lost = lost;
    std::vector<std::uint8_t> rr;
    write_receiver_report(0x55667788, {b}, "test", &rr);
    c.session().on_datagram(ByteView(rr), c.now());
    c.drain();
  };
  // A report on somebody else's stream changes nothing.
  report(0xDEADBEEF, 0, 0);
  EXPECT_EQ(c.session().fast_window(), kRtspFastWindowStart);
  // One stream reported up to its last packet but one; the window grows.
  const std::uint32_t ssrc1 = ssrc_of(s1);
  const std::uint32_t ssrc2 = ssrc_of(s2);
  report(ssrc1, static_cast<std::uint16_t>(last[ssrc1] - 1), 0);
  EXPECT_EQ(c.session().fast_window(), kRtspFastWindowStart + kRtspFastWindowStep);
  EXPECT_TRUE(c.server_requests().empty());
  // New loss: the window halves.
  report(ssrc1, last[ssrc1], 3);
  const std::uint32_t halved = (kRtspFastWindowStart + kRtspFastWindowStep) / 2;
  EXPECT_EQ(c.session().fast_window(), halved);
  EXPECT_TRUE(c.server_requests().empty());
  // Reported 10 ms after it was sent (the others took no time): a queue, the
  // window shrinks by 1/8.
  c.now() = c.now() + 2 * kRtspQueueDelay;
  report(ssrc2, static_cast<std::uint16_t>(last[ssrc2] - 1), 0);
  EXPECT_EQ(c.session().fast_window(), halved - halved / 8);
  EXPECT_TRUE(c.server_requests().empty());
  // Both streams complete: the end-of-stream request at once, not after
  // kRtspUdpEosDelay.
  report(ssrc2, last[ssrc2], 0);
  EXPECT_EQ(c.session().datagrams_in_flight(), 0u);
  auto reqs = c.server_requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "SET_PARAMETER");
}

// Batches for the I/O layer (sendmmsg) stop where the next datagram is for
// another port (rtspsrc-style port pairs per stream) and stay queued until
// consumed.
TEST_F(RtspServerTest, UdpBatchesStopAtAPortChange) {
  Client c(&config);
  const std::string base = std::string(kUrl) + "/";
  ASSERT_EQ(c.request("DESCRIBE", kUrl).status, 200);
  Response s1 = c.request("SETUP", base + "stream=1",
                          {{"Transport", "RTP/AVP;unicast;client_port=5000-5001"}});
  ASSERT_EQ(s1.status, 200);
  const std::string session = session_of(s1);
  ASSERT_EQ(
      c.request("SETUP", base + "stream=2",
                {{"Transport", "RTP/AVP;unicast;client_port=5002-5003"}, {"Session", session}})
          .status,
      200);
  const std::string play =
      "PLAY " + base + " RTSP/1.0\r\nCSeq: 9\r\nSession: " + session + "\r\nRange: npt=0-\r\n\r\n";
  ServerSession& s = c.session();
  ASSERT_TRUE(s.on_bytes(ByteView::of(play), c.now()).ok());
  c.drain_output();  // the PLAY reply opens the gate for RTP
  std::size_t total = 0;
  std::size_t batches = 0;
  ByteView views[64];
  for (int guard = 0; guard < 1000; ++guard) {
    const std::uint16_t port = s.udp_port();
    const std::size_t n = s.next_datagrams(c.now(), views, 64);
    if (n == 0) {
      if (s.udp_port() != port) {
        continue;
      }
      break;
    }
    const std::uint32_t ssrc = parse_rtp(views[0])->ssrc;
    for (std::size_t i = 0; i < n; ++i) {
      EXPECT_EQ(parse_rtp(views[i])->ssrc, ssrc);  // one stream, one port per batch
    }
    EXPECT_EQ(port, ssrc == ssrc_of(s1) ? 5000 : 5002);
    const std::vector<std::uint8_t> head = views[0].to_vector();
    ASSERT_EQ(s.next_datagrams(c.now(), views, 1), 1u);  // still queued
    EXPECT_EQ(views[0].to_vector(), head);
    s.consume_datagrams(n);
    total += n;
    ++batches;
  }
  EXPECT_GT(total, 0u);
  EXPECT_GT(batches, 2u);
}

// Without reports the end-of-stream request waits kRtspUdpEosDelay.
TEST_F(RtspServerTest, UdpFastModeWithoutReportsWaitsBeforeTheEnd) {
  Client c(&config);
  const std::string base = std::string(kUrl) + "/";
  ASSERT_EQ(c.request("DESCRIBE", kUrl).status, 200);
  Response s1 = c.request("SETUP", base + "stream=1",
                          {{"Transport", "RTP/AVP/UDP;unicast;client_port=7002-7003"}});
  ASSERT_EQ(s1.status, 200);
  const std::string session = session_of(s1);
  ASSERT_EQ(c.request("PLAY", base, {{"Range", "npt=0-"}, {"Session", session}}).status, 200);
  c.run_for(kRtspUdpEosDelay / 2);
  ASSERT_FALSE(c.datagrams.empty());
  EXPECT_TRUE(c.server_requests().empty());
  c.run_for(kRtspUdpEosDelay);
  EXPECT_EQ(c.server_requests().size(), 1u);
}

// An I/O layer that reads udp_port() once per batch never sends a datagram
// to the wrong port.
TEST_F(RtspServerTest, UdpPortReadOncePerBatch) {
  config.fast = false;
  Client c(&config);
  const std::string base = std::string(kUrl) + "/";
  Response s1 = c.request("SETUP", base + "stream=1",
                          {{"Transport", "RTP/AVP/UDP;unicast;client_port=5000-5001"}});
  const std::string session = session_of(s1);
  Response s2 =
      c.request("SETUP", base + "stream=2",
                {{"Transport", "RTP/AVP/UDP;unicast;client_port=5002-5003"}, {"Session", session}});
  ASSERT_EQ(c.request("PLAY", base, {{"Session", session}}).status, 200);
  ServerSession& s = c.session();
  std::size_t sent = 0;
  for (int batch = 0; batch < 2000 && !s.wants_close(); ++batch) {
    (void)s.next_output(c.now());
    s.consume_output(SIZE_MAX);
    const std::uint16_t port = s.udp_port();
    for (ByteView d = s.next_datagram(c.now()); !d.empty(); d = s.next_datagram(c.now())) {
      if (is_rtcp(d)) {
        s.consume_datagram();
        continue;
      }
      auto h = parse_rtp(d);
      ASSERT_TRUE(h.ok());
      EXPECT_EQ(port, h->ssrc == ssrc_of(s1) ? 5000 : 5002);
      s.consume_datagram();
      ++sent;
    }
    c.now() = c.now() + 3 * kMillisecond;
    s.on_timeout(c.now());
  }
  EXPECT_GT(sent, 20u);
}

TEST_F(RtspServerTest, TcpInterleavedFlowByteByByte) {
  for (std::size_t chunk : {SIZE_MAX, std::size_t{1}}) {
    Client c(&config);
    const server::Content& small = content("small.asf");
    const std::string base = std::string(kUrl) + "/";
    ASSERT_EQ(c.request("DESCRIBE", kUrl, {}, chunk).status, 200);
    Response s1 =
        c.request("SETUP", base + "stream=1",
                  {{"Transport", "RTP/AVP/TCP;unicast;interleaved=0-1;mode=PLAY"}}, chunk);
    ASSERT_EQ(s1.status, 200);
    EXPECT_NE(header_value(s1, "Transport").find("interleaved=0-1"), std::string::npos);
    const std::string session = session_of(s1);
    Response s2 = c.request(
        "SETUP", base + "stream=2",
        {{"Transport", "RTP/AVP/TCP;unicast;interleaved=2-3;mode=PLAY"}, {"Session", session}},
        chunk);
    ASSERT_EQ(s2.status, 200);
    EXPECT_EQ(c.session().udp_port(), 0);
    const std::uint32_t cseq =
        c.send("PLAY", base, {{"Range", "npt=0.000-"}, {"Session", session}}, chunk);
    c.run_for(5 * kSecond);
    EXPECT_TRUE(c.datagrams.empty());
    // Order: PLAY reply, frames, then the EOF request.
    const auto units = c.units();
    std::size_t reply_at = units.size();
    std::size_t eos_at = units.size();
    std::vector<std::vector<std::uint8_t>> rtp;
    std::map<std::uint8_t, std::uint32_t> ssrc_by_channel;
    for (std::size_t i = 0; i < units.size(); ++i) {
      const Got& g = units[i];
      if (g.kind == UnitKind::kResponse && header_value(g.resp, "CSeq") == std::to_string(cseq)) {
        reply_at = i;
      } else if (g.kind == UnitKind::kRequest) {
        eos_at = i;
      } else if (g.kind == UnitKind::kInterleaved) {
        EXPECT_GT(i, reply_at);
        EXPECT_LT(i, eos_at);
        auto h = parse_rtp(ByteView(g.payload));
        ASSERT_TRUE(h.ok());
        EXPECT_EQ(h->ssrc, g.channel == 0 ? ssrc_of(s1) : ssrc_of(s2));
        EXPECT_TRUE(h->marker);  // never fragmented over TCP
        rtp.push_back(g.payload);
      }
    }
    ASSERT_LT(reply_at, units.size());
    ASSERT_LT(eos_at, units.size());
    auto seqs = rtp_info_seqs(header_value(units[reply_at].resp, "RTP-Info"));
    auto got = depayload(
        rtp, {{ssrc_of(s1), seqs[base + "stream=1"]}, {ssrc_of(s2), seqs[base + "stream=2"]}},
        small.packet_size());
    EXPECT_EQ(got[ssrc_of(s1)], expected_stream(small, 1));
    EXPECT_EQ(got[ssrc_of(s2)], expected_stream(small, 2));
    EXPECT_EQ(units[eos_at].req.method, "SET_PARAMETER");
  }
}

TEST_F(RtspServerTest, SeekWhilePlayingAndPause) {
  config.fast = false;  // paced: the flow is still running when the seek comes
  Client c(&config);
  const server::Content& small = content("small.asf");
  const std::string base = std::string(kUrl) + "/";
  Response s1 =
      c.request("SETUP", base + "stream=1", {{"Transport", "RTP/AVP/TCP;unicast;interleaved=0-1"}});
  const std::string session = session_of(s1);
  ASSERT_EQ(c.request("SETUP", base + "stream=2",
                      {{"Transport", "RTP/AVP/TCP;unicast;interleaved=2-3"}, {"Session", session}})
                .status,
            200);
  ASSERT_EQ(c.request("PLAY", base, {{"Range", "npt=0-"}, {"Session", session}}).status, 200);
  c.run_for(300 * kMillisecond);
  const std::size_t before = c.units().size();
  EXPECT_GT(before, 3u);

  // Seek to 1.5 s of media (npt includes the preroll).
  const std::uint64_t target = small.info().preroll_ms + 1500;
  const std::size_t wire_before = c.wire.size();
  const std::uint32_t cseq = c.send(
      "PLAY", base, {{"Range", "npt=" + format_npt_time(target) + "-"}, {"Session", session}});
  Response play = c.response(cseq);
  ASSERT_EQ(play.status, 200);
  auto range = parse_range(header_value(play, "Range"));
  ASSERT_TRUE(range.ok());
  ASSERT_TRUE(range->start_ms.has_value());
  EXPECT_LE(*range->start_ms, target);
  const auto start = static_cast<std::uint32_t>(c.session().start_packet());
  EXPECT_TRUE(small.meta(start).key);
  EXPECT_LE(small.meta(start).presentation_ms, target);
  EXPECT_GT(start, 0u);
  auto seqs = rtp_info_seqs(header_value(play, "RTP-Info"));
  c.run_for(5 * kSecond);
  // The first stream-1 frame after the reply carries the RTP-Info seq and S=1.
  const auto units = c.units();
  bool after_reply = false;
  bool checked = false;
  std::vector<std::vector<std::uint8_t>> rtp;
  for (const Got& g : units) {
    if (g.kind == UnitKind::kResponse && header_value(g.resp, "CSeq") == std::to_string(cseq)) {
      after_reply = true;
      continue;
    }
    if (!after_reply || g.kind != UnitKind::kInterleaved) {
      continue;
    }
    rtp.push_back(g.payload);
    auto h = parse_rtp(ByteView(g.payload));
    ASSERT_TRUE(h.ok());
    if (g.channel == 0 && !checked) {
      checked = true;
      EXPECT_EQ(h->seq, seqs[base + "stream=1"]);
      ASSERT_GE(h->payload.size(), 4u);
      EXPECT_NE(h->payload[0] & kAsfPfKey, 0);
    }
  }
  EXPECT_TRUE(checked);
  (void)wire_before;
  auto got = depayload(
      rtp,
      {{ssrc_of(s1), seqs[base + "stream=1"]}, {ssrc_of(c.response(2)), seqs[base + "stream=2"]}},
      small.packet_size());
  EXPECT_EQ(got[ssrc_of(s1)], expected_stream(small, 1, start));

  // PAUSE stops output; PLAY without Range resumes with the sequence going on.
  Client p(&config);
  Response q1 =
      p.request("SETUP", base + "stream=1", {{"Transport", "RTP/AVP/TCP;unicast;interleaved=0-1"}});
  const std::string sid = session_of(q1);
  ASSERT_EQ(p.request("PLAY", base, {{"Session", sid}}).status, 200);
  p.run_for(400 * kMillisecond);
  ASSERT_EQ(p.request("PAUSE", base, {{"Session", sid}}).status, 200);
  const std::size_t paused_at = p.wire.size();
  p.run_for(3 * kSecond);
  EXPECT_EQ(p.wire.size(), paused_at);
  EXPECT_FALSE(p.session().wants_close());
  const std::uint32_t resume = p.send("PLAY", base, {{"Session", sid}});
  Response r = p.response(resume);
  ASSERT_EQ(r.status, 200);
  auto rs = rtp_info_seqs(header_value(r, "RTP-Info"));
  p.run_for(5 * kSecond);
  std::vector<std::vector<std::uint8_t>> all;
  for (const Got& g : p.units()) {
    if (g.kind == UnitKind::kInterleaved) {
      all.push_back(g.payload);
    }
  }
  // Every stream-1 packet exactly once across the pause.
  auto whole =
      depayload(all, {{ssrc_of(q1), parse_rtp(ByteView(all.front()))->seq}}, small.packet_size());
  EXPECT_EQ(whole[ssrc_of(q1)], expected_stream(small, 1));
  EXPECT_NE(rs[base + "stream=1"], 0u);
}

TEST_F(RtspServerTest, DigestAndBasicAuth) {
  config.auth.user = "user";
  config.auth.password = "secret";
  {
    Client c(&config);
    EXPECT_EQ(c.request("OPTIONS", kUrl).status, 200);
    Response r = c.request("DESCRIBE", kUrl);
    ASSERT_EQ(r.status, 401);
    auto ch = parse_www_authenticate(r.headers);
    ASSERT_TRUE(ch.ok());
    ASSERT_EQ(ch->size(), 2u);
    EXPECT_TRUE((*ch)[0].is("Digest"));
    EXPECT_TRUE((*ch)[1].is("Basic"));
    ASSERT_NE((*ch)[0].param("nonce"), nullptr);
    EXPECT_EQ(*(*ch)[0].param("realm"), "mms-server");
    // Wrong password refused, right one accepted.
    auto bad = digest_authorization((*ch)[0], "user", "wrong", "DESCRIBE", kUrl, "c0ffee");
    ASSERT_TRUE(bad.ok());
    EXPECT_EQ(c.request("DESCRIBE", kUrl, {{"Authorization", *bad}}).status, 401);
    auto good = digest_authorization((*ch)[0], "user", "secret", "DESCRIBE", kUrl, "c0ffee");
    ASSERT_TRUE(good.ok());
    EXPECT_EQ(c.request("DESCRIBE", kUrl, {{"Authorization", *good}}).status, 200);
    EXPECT_EQ(c.request("SETUP", std::string(kUrl) + "/stream=1",
                        {{"Transport", "RTP/AVP/TCP;unicast;interleaved=0-1"}})
                  .status,
              200);
  }
  {
    Client c(&config);
    EXPECT_EQ(
        c.request("DESCRIBE", kUrl, {{"Authorization", basic_authorization("user", "no")}}).status,
        401);
    EXPECT_EQ(
        c.request("DESCRIBE", kUrl, {{"Authorization", basic_authorization("user", "secret")}})
            .status,
        200);
  }
  {
    // SETUP without DESCRIBE needs credentials too; a stale nonce is refused.
    Client c(&config);
    EXPECT_EQ(c.request("SETUP", std::string(kUrl) + "/stream=1",
                        {{"Transport", "RTP/AVP/TCP;unicast;interleaved=0-1"}})
                  .status,
              401);
    auto ch = parse_auth("Digest realm=\"mms-server\", nonce=\"00112233\"");
    ASSERT_TRUE(ch.ok());
    auto stale = digest_authorization((*ch)[0], "user", "secret", "DESCRIBE", kUrl, "c");
    EXPECT_EQ(c.request("DESCRIBE", kUrl, {{"Authorization", *stale}}).status, 401);
  }
}

TEST_F(RtspServerTest, AccessHookOnDescribeAndSetup) {
  std::vector<std::string> seen;
  config.authorize = [&seen](std::string_view pq) {
    seen.emplace_back(pq);
    return pq.find("ok=1") != std::string_view::npos;
  };
  const std::string tcp = "RTP/AVP/TCP;unicast;interleaved=0-1";
  {
    Client c(&config);
    EXPECT_EQ(c.request("DESCRIBE", std::string(kUrl) + "?ok=0").status, 403);
    EXPECT_EQ(c.request("DESCRIBE", kUrl).status, 403);
    // SETUP of the refused path, without a query, is refused too.
    EXPECT_EQ(c.request("SETUP", std::string(kUrl) + "/stream=1", {{"Transport", tcp}}).status,
              403);
    // A granted DESCRIBE: the Content-Base has no query, and SETUP and PLAY
    // of that path need none.
    Response d = c.request("DESCRIBE", std::string(kUrl) + "?ok=1");
    ASSERT_EQ(d.status, 200);
    EXPECT_EQ(header_value(d, "Content-Base"), std::string(kUrl) + "/");
    Response s1 = c.request("SETUP", std::string(kUrl) + "/stream=1", {{"Transport", tcp}});
    ASSERT_EQ(s1.status, 200);
    EXPECT_EQ(c.request("PLAY", std::string(kUrl) + "/", {{"Session", session_of(s1)}}).status,
              200);
    ASSERT_EQ(seen.size(), 4u);
    EXPECT_EQ(seen[0], "/small.asf?ok=0");
    EXPECT_EQ(seen[1], "/small.asf");
    EXPECT_EQ(seen[2], "/small.asf");
    EXPECT_EQ(seen[3], "/small.asf?ok=1");
  }
  {
    // SETUP without DESCRIBE carries the query itself.
    seen.clear();
    Client c(&config);
    EXPECT_EQ(c.request("SETUP", std::string(kUrl) + "/stream=1?ok=1", {{"Transport", tcp}}).status,
              200);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0], "/small.asf?ok=1");
  }
}

TEST_F(RtspServerTest, NotFoundRedirectAndRefusedUdp) {
  config.redirects["moved.asf"] = "rtsp://10.0.0.1:554/small.asf";
  {
    Client c(&config);
    EXPECT_EQ(c.request("DESCRIBE", "rtsp://127.0.0.1/missing.asf").status, 404);
    EXPECT_FALSE(c.session().wants_close());
    Response r = c.request("DESCRIBE", "rtsp://127.0.0.1/moved.asf");
    EXPECT_EQ(r.status, 302);
    EXPECT_EQ(header_value(r, "Location"), "rtsp://10.0.0.1:554/small.asf");
    EXPECT_TRUE(c.session().wants_close());
  }
  {
    config.refuse_udp = true;
    Client c(&config);
    const std::string base = std::string(kUrl) + "/";
    EXPECT_EQ(c.request("SETUP", base + "rtx",
                        {{"Transport", "RTP/AVP/UDP;unicast;client_port=7000-7001;mode=PLAY"}})
                  .status,
              461);
    EXPECT_EQ(c.request("SETUP", base + "stream=1",
                        {{"Transport", "RTP/AVP/UDP;unicast;client_port=7002-7003;mode=PLAY"}})
                  .status,
              461);
    EXPECT_EQ(c.request("SETUP", base + "stream=1",
                        {{"Transport", "RTP/AVP/TCP;unicast;interleaved=0-1;mode=PLAY"}})
                  .status,
              200);
    EXPECT_EQ(c.request("SETUP", base + "stream=9",
                        {{"Transport", "RTP/AVP/TCP;unicast;interleaved=2-3;mode=PLAY"}})
                  .status,
              404);
  }
}

TEST_F(RtspServerTest, StateErrors) {
  Client c(&config);
  const std::string base = std::string(kUrl) + "/";
  EXPECT_EQ(c.request("PLAY", base, {{"Range", "npt=0-"}}).status, 455);
  EXPECT_EQ(c.request("FROBNICATE", base).status, 501);
  EXPECT_EQ(c.request("RECORD", base).status, 405);
  Response s1 =
      c.request("SETUP", base + "stream=1", {{"Transport", "RTP/AVP/TCP;unicast;interleaved=0-1"}});
  ASSERT_EQ(s1.status, 200);
  EXPECT_EQ(c.request("PLAY", base, {{"Session", "999"}}).status, 454);
  EXPECT_EQ(c.request("SET_PARAMETER", base, {{"Session", session_of(s1)}}).status, 200);
  // Mixing UDP into a TCP session is refused.
  EXPECT_EQ(c.request("SETUP", base + "stream=2",
                      {{"Transport", "RTP/AVP/UDP;unicast;client_port=7002"},
                       {"Session", session_of(s1)}})
                .status,
            461);
  EXPECT_EQ(c.request("PLAY", base, {{"Range", "npt=9999-"}, {"Session", session_of(s1)}}).status,
            457);
  EXPECT_EQ(c.request("PLAY", base, {{"Range", "smpte=0:00:00-"}}).status, 457);
  EXPECT_FALSE(c.session().wants_close());
}

TEST_F(RtspServerTest, PlaylistAnnouncesNextEntry) {
  config.playlists["pl"] = {"small.asf", "mbr.asf"};
  Client c(&config);
  const server::Content& small = content("small.asf");
  const server::Content& mbr = content("mbr.asf");
  const std::string url = "rtsp://127.0.0.1:5544/pl";
  const std::string base = url + "/";
  Response d = c.request("DESCRIBE", url);
  ASSERT_EQ(d.status, 200);
  auto sdp = parse_wms_sdp(d.body);
  ASSERT_TRUE(sdp.ok());
  EXPECT_EQ(sdp->asf_header, small.header().to_vector());
  const std::string gen = header_value(d, "X-Playlist-Gen-Id");
  Response s1 =
      c.request("SETUP", base + "stream=1", {{"Transport", "RTP/AVP/TCP;unicast;interleaved=0-1"}});
  const std::string session = session_of(s1);
  Response s2 =
      c.request("SETUP", base + "stream=2",
                {{"Transport", "RTP/AVP/TCP;unicast;interleaved=2-3"}, {"Session", session}});
  ASSERT_EQ(s2.status, 200);
  Response play = c.request(
      "PLAY", base, {{"Range", "npt=0-"}, {"Session", session}, {"X-Playlist-Gen-Id", gen}});
  ASSERT_EQ(play.status, 200);
  auto seqs = rtp_info_seqs(header_value(play, "RTP-Info"));
  c.run_for(10 * kSecond);
  auto reqs = c.server_requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].method, "SET_PARAMETER");
  EXPECT_NE(reqs[0].body.find("EOF: true\r\nEnd-Of-Playlist-Entry: true\r\n"), std::string::npos);
  EXPECT_EQ(reqs[1].method, "ANNOUNCE");
  EXPECT_EQ(*reqs[1].headers.find("CSeq"), "2");
  EXPECT_EQ(*reqs[1].headers.find("Content-Type"), "application/sdp");
  const std::string gen2 = *reqs[1].headers.find("X-Playlist-Gen-Id");
  EXPECT_EQ(gen2, std::to_string(std::stoul(gen) + 1));
  auto sdp2 = parse_wms_sdp(reqs[1].body);
  ASSERT_TRUE(sdp2.ok());
  EXPECT_EQ(sdp2->asf_header, mbr.header().to_vector());
  // Nothing more until the client's PLAY.
  const std::size_t waiting = c.wire.size();
  c.run_for(2 * kSecond);
  EXPECT_EQ(c.wire.size(), waiting);
  EXPECT_TRUE(c.feed("RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\nRTSP/1.0 200 OK\r\nCSeq: 2\r\n\r\n"));
  const std::uint32_t cseq2 =
      c.send("PLAY", base, {{"Session", session}, {"X-Playlist-Gen-Id", gen2}});
  Response play2 = c.response(cseq2);
  ASSERT_EQ(play2.status, 200);
  auto seqs2 = rtp_info_seqs(header_value(play2, "RTP-Info"));
  c.run_for(10 * kSecond);
  reqs = c.server_requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[2].method, "SET_PARAMETER");
  EXPECT_EQ(reqs[2].body.find("End-Of-Playlist-Entry"), std::string::npos);
  // Split the frames at the second PLAY reply.
  std::vector<std::vector<std::uint8_t>> first;
  std::vector<std::vector<std::uint8_t>> second;
  bool second_part = false;
  for (const Got& g : c.units()) {
    if (g.kind == UnitKind::kResponse && header_value(g.resp, "CSeq") == std::to_string(cseq2)) {
      second_part = true;
    }
    if (g.kind == UnitKind::kInterleaved) {
      (second_part ? second : first).push_back(g.payload);
    }
  }
  auto a = depayload(
      first, {{ssrc_of(s1), seqs[base + "stream=1"]}, {ssrc_of(s2), seqs[base + "stream=2"]}},
      small.packet_size());
  EXPECT_EQ(a[ssrc_of(s1)], expected_stream(small, 1));
  EXPECT_EQ(a[ssrc_of(s2)], expected_stream(small, 2));
  // Sequence numbers continue across entries.
  EXPECT_EQ(seqs2[base + "stream=1"],
            static_cast<std::uint16_t>(seqs[base + "stream=1"] + a[ssrc_of(s1)].size()));
  auto b = depayload(
      second, {{ssrc_of(s1), seqs2[base + "stream=1"]}, {ssrc_of(s2), seqs2[base + "stream=2"]}},
      mbr.packet_size());
  // The new entry's stream 3 has no slot of its own: it rides on the first.
  EXPECT_EQ(b[ssrc_of(s1)], expected_streams(mbr, {1, 3}));
  EXPECT_EQ(b[ssrc_of(s2)], expected_stream(mbr, 2));
}

TEST_F(RtspServerTest, LiveJoinsTheSharedClockAndRefusesSeeks) {
  config.fast = false;
  Client c(&config, Instant{0} + 1100 * kMillisecond);
  const std::string url = "rtsp://127.0.0.1/live.asf";
  const std::string base = url + "/";
  Response d = c.request("DESCRIBE", url);
  ASSERT_EQ(d.status, 200);
  auto sdp = parse_wms_sdp(d.body);
  ASSERT_TRUE(sdp.ok());
  ASSERT_TRUE(sdp->range.has_value());
  EXPECT_FALSE(sdp->range->end_ms.has_value());
  Response s1 =
      c.request("SETUP", base + "stream=1", {{"Transport", "RTP/AVP/TCP;unicast;interleaved=0-1"}});
  const std::string session = session_of(s1);
  Response play = c.request("PLAY", base, {{"Range", "npt=0-"}, {"Session", session}});
  ASSERT_EQ(play.status, 200);
  EXPECT_GT(c.session().start_packet(), 0);
  auto r = parse_range(header_value(play, "Range"));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->end_ms.has_value());
  EXPECT_EQ(c.request("PLAY", base, {{"Range", "npt=5-"}, {"Session", session}}).status, 457);
  // The loop restarts as a playlist change.
  c.run_for(5 * kSecond);
  auto reqs = c.server_requests();
  ASSERT_GE(reqs.size(), 2u);
  EXPECT_NE(reqs[0].body.find("End-Of-Playlist-Entry: true"), std::string::npos);
  EXPECT_EQ(reqs[1].method, "ANNOUNCE");
}

TEST_F(RtspServerTest, UdpSessionTimeout) {
  Client c(&config);
  const std::string base = std::string(kUrl) + "/";
  Response s1 = c.request("SETUP", base + "stream=1",
                          {{"Transport", "RTP/AVP/UDP;unicast;client_port=7002"}});
  ASSERT_EQ(s1.status, 200);
  c.run_for(59 * kSecond);
  EXPECT_FALSE(c.session().wants_close());
  EXPECT_EQ(c.request("GET_PARAMETER", base, {{"Session", session_of(s1)}}).status, 200);
  c.run_for(59 * kSecond);
  EXPECT_FALSE(c.session().wants_close());
  c.run_for(2 * kSecond);
  EXPECT_TRUE(c.session().wants_close());

  // TCP interleaved streaming is not timed out.
  config.fast = false;
  Client t(&config);
  Response q =
      t.request("SETUP", base + "stream=1", {{"Transport", "RTP/AVP/TCP;unicast;interleaved=0-1"}});
  ASSERT_EQ(t.request("PLAY", base, {{"Session", session_of(q)}}).status, 200);
  ASSERT_EQ(t.request("PAUSE", base, {{"Session", session_of(q)}}).status, 200);
  t.run_for(30 * kSecond);
  ASSERT_EQ(t.request("PLAY", base, {{"Session", session_of(q)}}).status, 200);
  t.run_for(1 * kSecond);
  EXPECT_FALSE(t.session().wants_close());
}

TEST_F(RtspServerTest, SessionTimeoutCountsKeepalivesRtcpAndReadData) {
  config.fast = false;
  config.session_timeout = 2500 * kMillisecond;
  const std::string base = std::string(kUrl) + "/";
  Client c(&config);
  Response q =
      c.request("SETUP", base + "stream=1", {{"Transport", "RTP/AVP/TCP;unicast;interleaved=0-1"}});
  ASSERT_EQ(q.status, 200);
  EXPECT_NE(header_value(q, "Session").find(";timeout=3"), std::string::npos);  // rounded up
  const std::string sid = session_of(q);
  ASSERT_EQ(c.request("PLAY", base, {{"Session", sid}}).status, 200);
  c.run_for(1 * kSecond);  // reading the interleaved flow: alive without any request
  EXPECT_FALSE(c.session().wants_close());
  const std::size_t read = c.wire.size();
  c.reading = false;  // paused player: the output stays unread
  c.run_for(2 * kSecond);
  EXPECT_FALSE(c.session().wants_close());
  c.send("GET_PARAMETER", base, {{"Session", sid}});  // its keepalive
  c.run_for(2 * kSecond);
  EXPECT_FALSE(c.session().wants_close());
  c.run_for(600 * kMillisecond);  // 2.6 s since the keepalive
  EXPECT_TRUE(c.session().wants_close());
  EXPECT_EQ(c.wire.size(), read);

  // UDP: RTCP receiver reports keep the session as requests do.
  Client u(&config);
  Response s1 = u.request("SETUP", base + "stream=1",
                          {{"Transport", "RTP/AVP/UDP;unicast;client_port=7002-7003"}});
  ASSERT_EQ(s1.status, 200);
  ASSERT_EQ(u.request("PLAY", base, {{"Session", session_of(s1)}}).status, 200);
  for (int i = 0; i < 5; ++i) {
    u.run_for(2 * kSecond);
    static const std::uint8_t kRr[8] = {0x80, 201, 0, 1, 0, 0, 0, 1};
    u.session().on_datagram(ByteView(kRr, sizeof kRr), u.now());
  }
  EXPECT_FALSE(u.session().wants_close());
  u.run_for(2600 * kMillisecond);
  EXPECT_TRUE(u.session().wants_close());
}

// A compound RTCP packet as the tests read it.
struct Rtcp {
  std::uint32_t sr_ssrc = 0;
  std::uint32_t sr_packets = 0;
  bool sdes = false;
  std::optional<std::uint32_t> bye_ssrc;
};
Rtcp parse_compound(const std::vector<std::uint8_t>& p) {
  Rtcp r;
  auto u32 = [&p](std::size_t at) {
    return static_cast<std::uint32_t>(p[at]) << 24 | static_cast<std::uint32_t>(p[at + 1]) << 16 |
           static_cast<std::uint32_t>(p[at + 2]) << 8 | p[at + 3];
  };
  std::size_t pos = 0;
  while (pos + 8 <= p.size()) {
    EXPECT_EQ(p[pos] >> 6, 2);
    const std::size_t len = (std::size_t{p[pos + 2]} << 8 | p[pos + 3]) * 4 + 4;
    EXPECT_LE(pos + len, p.size());
    if (pos + len > p.size()) {
      break;
    }
    if (p[pos + 1] == 200) {
      EXPECT_EQ(len, 28u);
      r.sr_ssrc = u32(pos + 4);
      r.sr_packets = u32(pos + 20);
    } else if (p[pos + 1] == 202) {
      r.sdes = u32(pos + 4) == r.sr_ssrc && p[pos + 8] == 1;  // CNAME of the same source
    } else if (p[pos + 1] == 203) {
      r.bye_ssrc = u32(pos + 4);
    }
    pos += len;
  }
  EXPECT_EQ(pos, p.size());
  return r;
}

TEST_F(RtspServerTest, SenderReportsAndByeAtTheEnd) {
  config.fast = false;
  const std::string base = std::string(kUrl) + "/";
  // UDP, a port pair per stream: reports on the RTCP port, BYE last.
  {
    Client c(&config);
    Response s1 = c.request("SETUP", base + "stream=1",
                            {{"Transport", "RTP/AVP/UDP;unicast;client_port=5000-5001"}});
    const std::string sid = session_of(s1);
    Response s2 =
        c.request("SETUP", base + "stream=2",
                  {{"Transport", "RTP/AVP/UDP;unicast;client_port=5002-5003"}, {"Session", sid}});
    ASSERT_EQ(c.request("PLAY", base, {{"Session", sid}}).status, 200);
    c.run_for(30 * kSecond);
    ASSERT_EQ(c.server_requests().size(), 1u);  // the end-of-stream request
    std::map<std::uint32_t, std::uint32_t> rtp_count;
    for (const Dgram& d : c.datagrams) {
      ++rtp_count[parse_rtp(ByteView(d.bytes))->ssrc];
    }
    ASSERT_GE(c.rtcp.size(), 2u);
    std::map<std::uint32_t, int> byes;
    for (const Dgram& d : c.rtcp) {
      const Rtcp r = parse_compound(d.bytes);
      EXPECT_TRUE(r.sdes);
      EXPECT_EQ(d.port, r.sr_ssrc == ssrc_of(s1) ? 5001 : 5003);
      if (r.bye_ssrc) {
        EXPECT_EQ(*r.bye_ssrc, r.sr_ssrc);
        EXPECT_EQ(r.sr_packets, rtp_count[r.sr_ssrc]);  // after every RTP packet
        ++byes[*r.bye_ssrc];
      }
    }
    EXPECT_EQ(byes[ssrc_of(s1)], 1);
    EXPECT_EQ(byes[ssrc_of(s2)], 1);
    EXPECT_TRUE(parse_compound(c.rtcp.back().bytes).bye_ssrc.has_value());
  }
  // FFmpeg's single-port form: multiplexed on the RTP port.
  {
    Client c(&config);
    Response s1 = c.request("SETUP", base + "stream=1",
                            {{"Transport", "RTP/AVP/UDP;unicast;client_port=7002"}});
    ASSERT_EQ(c.request("PLAY", base, {{"Session", session_of(s1)}}).status, 200);
    c.run_for(30 * kSecond);
    ASSERT_FALSE(c.rtcp.empty());
    EXPECT_EQ(c.rtcp.back().port, 7002);
    EXPECT_EQ(parse_compound(c.rtcp.back().bytes).bye_ssrc, ssrc_of(s1));
  }
  // TCP: on the RTCP channel of each stream, after its last RTP frame and
  // before the end-of-stream request.
  {
    Client c(&config);
    Response s1 = c.request("SETUP", base + "stream=1",
                            {{"Transport", "RTP/AVP/TCP;unicast;interleaved=0-1"}});
    const std::string sid = session_of(s1);
    ASSERT_EQ(c.request("SETUP", base + "stream=2",
                        {{"Transport", "RTP/AVP/TCP;unicast;interleaved=2-3"}, {"Session", sid}})
                  .status,
              200);
    ASSERT_EQ(c.request("PLAY", base, {{"Session", sid}}).status, 200);
    c.run_for(30 * kSecond);
    std::vector<Got> all;
    {
      ByteView in(c.wire);
      while (!in.empty()) {
        Unit u;
        Status err;
        ASSERT_EQ(decode_unit(in, &u, &err), Decode::kDone);
        Got g;
        g.kind = u.kind;
        g.channel = u.frame.channel;
        g.payload = u.kind == UnitKind::kInterleaved ? u.frame.payload.to_vector()
                                                     : std::vector<std::uint8_t>();
        g.req = u.request;
        all.push_back(std::move(g));
        in = in.subview(u.wire_size);
      }
    }
    std::map<std::uint8_t, std::size_t> last_rtp;
    std::map<std::uint8_t, std::size_t> bye_at;
    std::vector<std::pair<std::uint8_t, std::uint32_t>> byes;  // channel, SSRC
    std::size_t eos_at = 0;
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (all[i].kind == UnitKind::kRequest) {
        eos_at = i;
      } else if (all[i].kind == UnitKind::kInterleaved && is_rtcp(ByteView(all[i].payload))) {
        EXPECT_EQ(all[i].channel % 2, 1);
        const Rtcp r = parse_compound(all[i].payload);
        if (r.bye_ssrc) {
          bye_at[all[i].channel] = i;
          byes.push_back({all[i].channel, *r.bye_ssrc});
        }
      } else if (all[i].kind == UnitKind::kInterleaved) {
        last_rtp[all[i].channel] = i;
      }
    }
    ASSERT_EQ(bye_at.size(), 2u);
    EXPECT_GT(bye_at[1], last_rtp[0]);
    EXPECT_GT(bye_at[3], last_rtp[2]);
    EXPECT_LT(bye_at[1], eos_at);
    EXPECT_LT(bye_at[3], eos_at);
    // One BYE per SDP medium: the two streams', then the RTX source's (never
    // set up over TCP) on the first stream's RTCP channel.
    ASSERT_EQ(byes.size(), 3u);
    EXPECT_EQ(byes[0], std::make_pair(std::uint8_t{1}, ssrc_of(s1)));
    EXPECT_EQ(byes[1].first, 3);
    EXPECT_EQ(byes[2].first, 1);
    EXPECT_NE(byes[2].second, ssrc_of(s1));
    EXPECT_NE(byes[2].second, byes[1].second);
  }
}

TEST_F(RtspServerTest, GarbageAndOversizedRequestsGet400AndClose) {
  const std::vector<std::string> bad = {
      "GARBAGE\r\n\r\n",
      std::string("\x01\x02\x03\x04 binary\r\n", 14),
      "DESCRIBE " + std::string(kUrl) + " RTSP/1.0\r\nCSeq: 1\r\n" + std::string(9000, 'X') +
          ": y\r\n\r\n",
      "DESCRIBE " + std::string(kUrl) + " RTSP/1.0\r\nCSeq 1\r\n\r\n",
  };
  for (const std::string& b : bad) {
    for (std::size_t chunk : {SIZE_MAX, std::size_t{1}}) {
      Client c(&config);
      EXPECT_FALSE(c.feed(b, chunk));
      auto units = c.units();
      ASSERT_EQ(units.size(), 1u);
      EXPECT_EQ(units[0].resp.status, 400);
      EXPECT_TRUE(c.session().wants_close());
    }
  }
  // A body above the server's bound.
  for (std::size_t len : {std::size_t{100000}, std::size_t{300000}}) {
    Client c(&config);
    const std::string head = "SET_PARAMETER " + std::string(kUrl) +
                             " RTSP/1.0\r\nCSeq: 1\r\nContent-Length: " + std::to_string(len) +
                             "\r\n\r\n";
    EXPECT_FALSE(c.feed(head + std::string(len, 'a'), 4096));
    auto units = c.units();
    ASSERT_EQ(units.size(), 1u);
    EXPECT_EQ(units[0].resp.status, 400);
    EXPECT_TRUE(c.session().wants_close());
  }
  // A request without CSeq is answered 400 but the connection stays.
  Client c(&config);
  EXPECT_TRUE(c.feed("OPTIONS * RTSP/1.0\r\n\r\n"));
  EXPECT_EQ(c.units().at(0).resp.status, 400);
  EXPECT_FALSE(c.session().wants_close());
}

TEST_F(RtspServerTest, EofStopsEverything) {
  Client c(&config);
  const std::string base = std::string(kUrl) + "/";
  Response s1 = c.request("SETUP", base + "stream=1",
                          {{"Transport", "RTP/AVP/UDP;unicast;client_port=7002"}});
  ASSERT_EQ(c.request("PLAY", base, {{"Session", session_of(s1)}}).status, 200);
  c.session().on_eof(c.now());
  EXPECT_TRUE(c.session().wants_close());
  EXPECT_TRUE(c.session().next_datagram(c.now()).empty());
  EXPECT_TRUE(c.session().next_output(c.now()).empty());
  EXPECT_FALSE(c.session().next_deadline().has_value());
}

}  // namespace
}  // namespace mms::rtsp

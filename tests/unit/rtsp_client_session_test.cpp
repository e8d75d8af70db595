// RtspClientSession driven by a scripted RTSP server built from the
// role-neutral codecs (message_codec, sdp_wms, asf_rtp): the whole UDP and TCP
// sequences (whole, split, byte by byte), the server's per-stream split of the
// ASF mux, seeks, end of stream, playlist ANNOUNCE, Digest/Basic
// authentication, redirects, the failure mapping, keepalives and bad input.
// Pure and deterministic: no sockets, no clock.
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/asf/header_parser.h"
#include "protocol/asf/packet.h"
#include "protocol/core/text.h"
#include "protocol/core/url.h"
#include "protocol/rtsp/asf_rtp.h"
#include "protocol/rtsp/client_session.h"
#include "protocol/rtsp/message_codec.h"
#include "protocol/rtsp/rtcp.h"
#include "protocol/rtsp/sdp_wms.h"
#include "tests/support/client_rig.h"

namespace mms::rtsp {
namespace {

using session::ChannelId;
using session::Event;
using session::IoAction;
using Bytes = std::vector<std::uint8_t>;

constexpr const char* kControl = "rtsp://127.0.0.1/a.asf/";
constexpr std::uint16_t kRtxPort = 7000;
constexpr std::uint16_t kMediaPort = 7002;

struct Media {
  Bytes header;  // Header Object + Data Object prefix
  std::vector<Bytes> packets;
  std::uint32_t packet_size = 0;
  std::uint64_t preroll_ms = 0;
  std::uint64_t duration_ms = 0;
  std::vector<std::uint16_t> streams;
};

Media load(const char* name) {
  Media r;
  std::ifstream f(std::string(MMS_SOURCE_ROOT) + "/tests/media/fixtures/" + name, std::ios::binary);
  Bytes file((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  Result<asf::FileLayout> layout = asf::scan_file(ByteView(file.data(), file.size()));
  EXPECT_TRUE(layout.ok()) << name;
  if (!layout.ok()) {
    return r;
  }
  r.header.assign(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(layout->header_bytes));
  r.packet_size = layout->info.packet_size;
  r.preroll_ms = layout->info.preroll_ms;
  r.duration_ms = layout->info.duration_ns() / 1000000;
  for (const asf::StreamInfo& s : layout->info.streams) {
    r.streams.push_back(s.number);
  }
  for (std::uint64_t i = 0; i < layout->packet_count; ++i) {
    auto b = file.begin() + static_cast<std::ptrdiff_t>(layout->first_packet + i * r.packet_size);
    r.packets.emplace_back(b, b + r.packet_size);
  }
  return r;
}

const Media& small() {
  static const Media m = load("small.asf");
  return m;
}
const Media& mbr() {
  static const Media m = load("mbr.asf");
  return m;
}

std::string wms_sdp(const Media& m, bool rtx = true) {
  SdpWriteOptions o;
  o.control = kControl;
  o.include_rtx = rtx;
  Result<std::string> s = write_wms_sdp(ByteView(m.header.data(), m.header.size()), o);
  EXPECT_TRUE(s.ok());
  return s.ok() ? *s : std::string();
}

// One RTP packet the server sends: which SETUP-ordered stream, and its bytes.
struct Rtp {
  std::size_t stream = 0;
  Bytes bytes;
};

// The server's split of the mux: per stream, the file packets filtered to its
// payloads, payloaded with one AsfPayloader per stream (seq continue).
class Splitter {
 public:
  Splitter(const Media& m, std::vector<std::uint16_t> streams, std::size_t mtu,
           std::uint16_t first_seq = 1000)
      : m_(m), streams_(std::move(streams)) {
    for (std::size_t k = 0; k < streams_.size(); ++k) {
      PayloaderConfig c;
      c.ssrc = ssrc(k);
      c.first_seq = static_cast<std::uint16_t>(first_seq + 1000 * k);
      c.mtu = mtu;
      pay_.emplace_back(c);
    }
  }
  static std::uint32_t ssrc(std::size_t k) { return 0x11110000u + static_cast<std::uint32_t>(k); }
  std::uint16_t next_seq(std::size_t k) const { return pay_[k].next_seq(); }

  // Packets [from, to) of the file; `expected` gets the ASF packets in order.
  std::vector<Rtp> flow(std::size_t from, std::size_t to, std::vector<Bytes>* expected) {
    std::vector<Rtp> out;
    for (std::size_t i = from; i < to && i < m_.packets.size(); ++i) {
      for (std::size_t k = 0; k < streams_.size(); ++k) {
        Bytes filtered;
        if (streams_[k] == 0) {
          filtered = m_.packets[i];
        } else {
          std::vector<bool> keep(128, false);
          keep[streams_[k]] = true;
          bool empty = false;
          EXPECT_TRUE(
              asf::filter_streams(m_.packets[i], m_.packet_size, keep, &filtered, &empty).ok());
          if (empty) {
            continue;
          }
        }
        std::vector<std::vector<std::uint8_t>> rtp;
        EXPECT_TRUE(pay_[k].push_parsed(filtered, m_.packet_size, &rtp).ok());
        for (auto& r : rtp) {
          out.push_back(Rtp{k, std::move(r)});
        }
        if (expected != nullptr) {
          expected->push_back(filtered);
        }
      }
    }
    return out;
  }

 private:
  const Media& m_;
  std::vector<std::uint16_t> streams_;
  std::vector<AsfPayloader> pay_;
};

using Seen = test::SeenEvent;

class Rig : public test::ClientRig<RtspClientSession> {
 public:
  explicit Rig(bool udp, const std::string& url = "mms://127.0.0.1/a.asf",
               const std::string& user = "", const std::string& password = "",
               std::uint32_t speed = 0)
      : ClientRig(config(url, user, password, speed), udp), udp_(udp) {
    set_now(Instant{1000 * kSecond});
  }

  static session::ClientConfig config(const std::string& url, const std::string& user,
                                      const std::string& password, std::uint32_t speed) {
    return test::client_config(url, user, password, speed);
  }

  // play() and answer the binds and the TCP connect.
  void start(std::uint64_t position_ms = 0) {
    s().play(session::PlayRequest{position_ms}, now());
    drain();
    if (udp_) {
      ASSERT_EQ(binds_.size(), 2u);
      s().on_udp_bound(binds_[0], kRtxPort, now());
      drain();
      s().on_udp_bound(binds_[1], kMediaPort, now());
      drain();
      // Then the RTCP port next to the media port.
      ASSERT_EQ(binds_.size(), 3u);
      ASSERT_EQ(bind_ports_[2], kMediaPort + 1);
      s().on_udp_bound(binds_[2], kMediaPort + 1, now());
      drain();
    }
    ASSERT_NE(tcp_, 0u);
    s().on_connected(tcp_, now());
    drain();
  }

  session::ChannelId rtcp_channel() const { return binds_.size() > 2 ? binds_[2] : 0; }
  void datagram(const Bytes& d) {
    s().on_datagram(binds_.size() > 1 ? binds_[1] : 0, ByteView(d.data(), d.size()), now());
    drain();
  }
  // A datagram on the RTCP port (media port + 1).
  void rtcp_datagram(const Bytes& d) {
    s().on_datagram(binds_.size() > 2 ? binds_[2] : 0, ByteView(d.data(), d.size()), now());
    drain();
  }
  // Sends every RTP packet the way the transport carries it.
  void send_rtp(const std::vector<Rtp>& rtp, const std::vector<std::uint8_t>& channels = {}) {
    for (const Rtp& r : rtp) {
      if (udp_) {
        datagram(r.bytes);
      } else {
        Bytes frame;
        const std::uint8_t ch =
            channels.empty() ? static_cast<std::uint8_t>(2 * r.stream) : channels[r.stream];
        ASSERT_TRUE(write_interleaved(ch, ByteView(r.bytes.data(), r.bytes.size()), &frame).ok());
        feed(frame);
      }
    }
  }

  // Scripted replies to the last request.
  const Request& last() const { return requests_.back(); }
  std::string reply(int status,
                    const std::vector<std::pair<std::string, std::string>>& headers = {},
                    const std::string& body = std::string()) const {
    Response r;
    r.status = status;
    r.reason = reason_phrase(status);
    const std::string* cseq = last().headers.find("CSeq");
    r.headers.add("CSeq", cseq != nullptr ? *cseq : "0");
    r.headers.add("Server", "WMServer/9.0.0.3372");
    for (const auto& [n, v] : headers) {
      r.headers.add(n, v);
    }
    r.body = body;
    return write_response(r);
  }
  void answer(int status, const std::vector<std::pair<std::string, std::string>>& headers = {},
              const std::string& body = std::string(), bool byte_by_byte = false) {
    feed(reply(status, headers, body), byte_by_byte);
  }

  // OPTIONS, DESCRIBE with `sdp`, then every SETUP (ssrc per stream) and PLAY
  // answered with RTP-Info seq from `split`.
  void setup_and_play(const std::string& sdp, Splitter* split, bool byte_by_byte = false) {
    ASSERT_FALSE(requests_.empty());
    ASSERT_EQ(last().method, "OPTIONS");
    answer(200, {{"Public", "DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER"}});
    ASSERT_EQ(last().method, "DESCRIBE");
    answer(200,
           {{"Content-Type", "application/sdp"},
            {"Content-Base", "rtsp://127.0.0.1/a.asf/"},
            {"X-Playlist-Gen-Id", "7"},
            {"X-Broadcast-Id", "0"}},
           sdp, byte_by_byte);
    std::size_t k = 0;
    while (!failed() && last().method == "SETUP") {
      const std::string* tr = last().headers.find("Transport");
      EXPECT_NE(tr, nullptr);
      std::string t = tr != nullptr ? *tr : "";
      if (last().uri.find("/rtx") != std::string::npos) {
        t += ";server_port=5004-5005;ssrc=0000ABCD";
      } else if (udp_) {
        char ssrc[64];
        std::snprintf(ssrc, sizeof ssrc, ";server_port=5004-5005;ssrc=%08X", Splitter::ssrc(k++));
        t += ssrc;
      }
      answer(200, {{"Transport", t}, {"Session", "12345678;timeout=60"}});
    }
    ASSERT_EQ(last().method, "PLAY");
    answer_play(split);
  }
  void answer_play(Splitter* split) {
    std::string info;
    for (std::size_t k = 0; split != nullptr && k < s().streams_set_up(); ++k) {
      if (!info.empty()) {
        info += ",";
      }
      info +=
          "url=" + setup_urls()[k] + ";seq=" + std::to_string(split->next_seq(k)) + ";rtptime=0";
    }
    std::vector<std::pair<std::string, std::string>> h = {{"Session", "12345678"},
                                                          {"Range", "npt=0.000-"}};
    if (!info.empty()) {
      h.emplace_back("RTP-Info", info);
    }
    answer(200, h);
  }
  std::vector<std::string> setup_urls() const {
    std::vector<std::string> out;
    for (const Request& r : requests_) {
      if (r.method == "SETUP" && r.uri.find("/rtx") == std::string::npos) {
        out.push_back(r.uri);
      }
    }
    return out;
  }
  // A request from the server.
  std::string server_request(const std::string& method,
                             const std::vector<std::pair<std::string, std::string>>& headers,
                             const std::string& body) {
    Request r;
    r.method = method;
    r.uri = kControl;
    r.headers.add("CSeq", std::to_string(server_cseq_++));
    r.headers.add("Session", "12345678");
    for (const auto& [n, v] : headers) {
      r.headers.add(n, v);
    }
    r.body = body;
    return write_request(r);
  }
  std::string eof_request(Splitter* split, bool entry_end = false) {
    std::string info;
    for (std::size_t k = 0; k < s().streams_set_up(); ++k) {
      if (!info.empty()) {
        info += ",";
      }
      info += "url=" + setup_urls()[k] + ";seq=" + std::to_string(split->next_seq(k));
    }
    std::string body = "Session: 12345678\r\nEOF: true\r\n";
    if (entry_end) {
      body += "End-Of-Playlist-Entry: true\r\n";
    }
    return server_request("SET_PARAMETER",
                          {{"X-Notice", "2101 \"End-of-Stream Reached\""},
                           {"RTP-Info", info},
                           {"Content-Type", "application/x-wms-extension-cmd"}},
                          body);
  }

  std::vector<Request>& requests() { return requests_; }
  std::vector<Response>& responses() { return responses_; }
  std::vector<ChannelId>& closed() { return closed_; }
  std::vector<ChannelId>& binds() { return binds_; }
  std::vector<IoAction>& sent_to() { return sent_to_; }
  std::vector<std::uint16_t>& bind_ports() { return bind_ports_; }
  std::vector<IoAction>& connects() { return connects_; }
  std::size_t count_method(const std::string& m) const {
    std::size_t n = 0;
    for (const Request& r : requests_) {
      n += r.method == m ? 1 : 0;
    }
    return n;
  }
  Status failure() const {
    const Seen* f = find(Event::Kind::kFailed);
    return f != nullptr ? f->status : Status();
  }

 protected:
  void on_action(const IoAction& a) override {
    switch (a.kind) {
      case IoAction::Kind::kBindUdp:
        binds_.push_back(a.channel);
        bind_ports_.push_back(a.port);
        break;
      case IoAction::Kind::kConnectTcp:
        tcp_ = a.channel;
        connects_.push_back(a);
        break;
      case IoAction::Kind::kSend: {
        EXPECT_EQ(a.channel, tcp_);
        out_.insert(out_.end(), a.bytes.begin(), a.bytes.end());
        for (;;) {
          Unit u;
          Status err;
          Decode d = decode_unit(ByteView(out_.data(), out_.size()), &u, &err);
          if (d != Decode::kDone) {
            EXPECT_NE(d, Decode::kError) << err.what();
            break;
          }
          if (u.kind == UnitKind::kRequest) {
            requests_.push_back(u.request);
          } else if (u.kind == UnitKind::kResponse) {
            responses_.push_back(u.response);
          }
          out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(u.wire_size));
        }
        break;
      }
      case IoAction::Kind::kClose:
        closed_.push_back(a.channel);
        break;
      case IoAction::Kind::kSendTo:
        sent_to_.push_back(a);
        break;
      default:
        break;
    }
  }

 private:
  bool udp_;
  std::vector<ChannelId> binds_;
  std::vector<IoAction> sent_to_;
  std::vector<std::uint16_t> bind_ports_;
  std::vector<ChannelId> closed_;
  std::vector<IoAction> connects_;
  Bytes out_;
  std::vector<Request> requests_;
  std::vector<Response> responses_;
  std::uint32_t server_cseq_ = 1;
};

std::vector<Bytes> payloads(const std::vector<Seen>& packets) {
  std::vector<Bytes> out;
  for (const Seen& p : packets) {
    out.push_back(p.payload);
  }
  return out;
}

// A compound RTCP packet as gst-rtsp-server ends a stream with: SR, SDES
// (CNAME), BYE naming `ssrc` (no BYE when `bye` is false).
Bytes rtcp_compound(std::uint32_t ssrc, bool bye = true) {
  auto be32 = [](Bytes* b, std::uint32_t v) {
    for (int i = 3; i >= 0; --i) {
      b->push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
  };
  Bytes b = {0x80, 200, 0, 6};  // SR, no report blocks
  be32(&b, ssrc);
  for (int i = 0; i < 5; ++i) {
    be32(&b, 0x01020304u);  // NTP (2), RTP time, packet and octet counts
  }
  b.insert(b.end(), {0x81, 202, 0, 3});  // SDES, one chunk: CNAME "user", end
  be32(&b, ssrc);
  b.insert(b.end(), {1, 4, 'u', 's', 'e', 'r', 0, 0});
  if (bye) {
    b.insert(b.end(), {0x81, 203, 0, 1});
    be32(&b, ssrc);
  }
  return b;
}

// gst-rtsp-server's SDP for an ASF file: one m= line with the whole mux, the
// header (without Data Object prefix) in fmtp config, a=range:npt=0- (no end).
std::string gst_sdp(const Media& m, const std::string& range = "npt=0-") {
  Result<asf::HeaderInfo> info = asf::parse_header(m.header);
  EXPECT_TRUE(info.ok());
  Bytes bare(m.header.begin(),
             m.header.begin() + static_cast<std::ptrdiff_t>(info.ok() ? info->header_object_size
                                                                      : m.header.size()));
  return "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=Session streamed with GStreamer\r\n"
         "c=IN IP4 0.0.0.0\r\nt=0 0\r\na=tool:GStreamer\r\na=type:broadcast\r\n"
         "a=control:*\r\na=range:" +
         range +
         "\r\n"
         "m=application 0 RTP/AVP 96\r\na=rtpmap:96 X-ASF-PF/1000\r\n"
         "a=fmtp:96 maxps=" +
         std::to_string(m.packet_size) +
         ";config=" + base64_encode(ByteView(bare.data(), bare.size())) +
         "\r\na=control:stream=0\r\n";
}

// --- happy paths -------------------------------------------------------------------

TEST(RtspClientSession, UdpFlowToEndOfStream) {
  const Media& m = small();
  Rig rig(true);
  rig.start();
  ASSERT_EQ(rig.requests().size(), 1u);
  const Request& options = rig.requests()[0];
  EXPECT_EQ(options.method, "OPTIONS");
  EXPECT_EQ(options.uri, "rtsp://127.0.0.1/a.asf");  // mms:// rewritten
  ASSERT_EQ(rig.connects().size(), 1u);
  EXPECT_EQ(rig.connects()[0].port, 554);
  const std::string* ua = options.headers.find("User-Agent");
  ASSERT_NE(ua, nullptr);
  EXPECT_EQ(*ua, "WMPlayer/9.0.0.2980 guid/2a4e2c8b-5c1d-4f3e-9b7a-0123456789ab");

  Splitter split(m, m.streams, 1400);
  rig.setup_and_play(wms_sdp(m), &split);
  ASSERT_FALSE(rig.failed()) << rig.failure().what();

  // DESCRIBE headers.
  const Request& describe = rig.requests()[1];
  EXPECT_EQ(describe.method, "DESCRIBE");
  ASSERT_NE(describe.headers.find("Accept"), nullptr);
  EXPECT_EQ(*describe.headers.find("Accept"), "application/sdp");
  ASSERT_NE(describe.headers.find("Supported"), nullptr);
  EXPECT_NE(describe.headers.find("Supported")->find("com.microsoft.wm.eosmsg"), std::string::npos);
  // RTX first, on P-(P+1); then every stream on Q-(Q+1).
  const Request& rtx = rig.requests()[2];
  EXPECT_EQ(rtx.uri, "rtsp://127.0.0.1/a.asf/rtx");
  EXPECT_EQ(*rtx.headers.find("Transport"), "RTP/AVP/UDP;unicast;client_port=7000-7001;mode=PLAY");
  const Request& s1 = rig.requests()[3];
  EXPECT_EQ(s1.uri, "rtsp://127.0.0.1/a.asf/stream=1");
  EXPECT_EQ(*s1.headers.find("Transport"), "RTP/AVP/UDP;unicast;client_port=7002-7003;mode=PLAY");
  EXPECT_EQ(*s1.headers.find("X-Playlist-Gen-Id"), "7");
  EXPECT_EQ(*s1.headers.find("Session"), "12345678");
  EXPECT_EQ(rig.requests()[4].uri, "rtsp://127.0.0.1/a.asf/stream=2");
  const Request& play = rig.requests()[5];
  EXPECT_EQ(play.method, "PLAY");
  EXPECT_EQ(play.uri, kControl);
  EXPECT_EQ(*play.headers.find("Range"), "npt=" + format_npt_time(m.preroll_ms) + "-");
  EXPECT_EQ(*play.headers.find("X-Playlist-Gen-Id"), "7");
  EXPECT_EQ(*play.headers.find("Session"), "12345678");

  // Header: inflated by the number of streams set up.
  const Seen* h = rig.find(Event::Kind::kHeader);
  ASSERT_NE(h, nullptr);
  EXPECT_FALSE(h->changed);
  ASSERT_NE(h->info, nullptr);
  EXPECT_EQ(h->info->data_packets_count, m.packets.size() * 2);
  const std::uint64_t count = h->info->data_packets_count;
  const Seen* c = rig.find(Event::Kind::kConnected);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->detail, "rtspu");
  EXPECT_TRUE(rig.s().seekable());

  std::vector<Bytes> expected;
  rig.send_rtp(split.flow(0, m.packets.size(), &expected));
  std::vector<Seen> got = rig.packets();
  ASSERT_EQ(got.size(), expected.size());
  EXPECT_EQ(payloads(got), expected);
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].packet_number, i);
    EXPECT_LT(got[i].packet_number, count);
  }

  rig.feed(rig.eof_request(&split));
  ASSERT_FALSE(rig.responses().empty());
  const Response& ok = rig.responses().back();
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(*ok.headers.find("CSeq"), "1");
  EXPECT_EQ(*ok.headers.find("Session"), "12345678");
  EXPECT_EQ(rig.count(Event::Kind::kEos), 1u);  // every last seq arrived already
  EXPECT_FALSE(rig.failed());

  rig.s().close();
  rig.drain();
  EXPECT_EQ(rig.requests().back().method, "TEARDOWN");
}

// Over UDP the client reports what it received (RTCP RR to the server's RTCP
// port, from its own): after kRtcpReportEvery packets, and kRtcpReportDelay
// after the first packet not reported yet.
TEST(RtspClientSession, UdpReceiverReports) {
  const Media& m = small();
  Rig rig(true);
  rig.start();
  Splitter split(m, m.streams, 1400);
  rig.setup_and_play(wms_sdp(m), &split);
  ASSERT_FALSE(rig.failed()) << rig.failure().what();
  std::vector<Rtp> rtp = split.flow(0, m.packets.size(), nullptr);
  while (rtp.size() < kRtcpReportEvery + 1) {
    std::vector<Rtp> more = split.flow(0, m.packets.size(), nullptr);
    rtp.insert(rtp.end(), more.begin(), more.end());
  }
  rtp.resize(kRtcpReportEvery + 1);
  std::map<std::uint32_t, std::uint16_t> highest;
  for (std::size_t i = 0; i < rtp.size(); ++i) {
    rig.datagram(rtp[i].bytes);
    if (i < kRtcpReportEvery) {
      highest[Splitter::ssrc(rtp[i].stream)] =
          static_cast<std::uint16_t>(rtp[i].bytes[2] << 8 | rtp[i].bytes[3]);
    }
    if (i + 1 == kRtcpReportEvery - 1) {
      EXPECT_TRUE(rig.sent_to().empty());
    }
  }
  ASSERT_EQ(rig.sent_to().size(), 1u);  // after the 64th packet
  const IoAction& rr = rig.sent_to()[0];
  EXPECT_EQ(rr.port, 5005);  // server_port=5004-5005
  EXPECT_EQ(rr.host, "127.0.0.1");
  ASSERT_GE(rig.binds().size(), 3u);
  EXPECT_EQ(rr.channel, rig.binds()[2]);  // from our RTCP port
  std::vector<ReportBlock> blocks;
  const Bytes b(rr.bytes.begin(), rr.bytes.end());
  ASSERT_TRUE(parse_report_blocks(ByteView(b.data(), b.size()), &blocks).ok());
  ASSERT_EQ(blocks.size(), m.streams.size());
  for (const ReportBlock& blk : blocks) {
    ASSERT_EQ(highest.count(blk.ssrc), 1u);
    EXPECT_EQ(blk.highest_seq & 0xFFFFu, highest[blk.ssrc]);
    EXPECT_EQ(blk.cumulative_lost, 0);
    EXPECT_EQ(blk.fraction_lost, 0u);
  }
  // The 65th is reported after kRtcpReportDelay.
  std::optional<Instant> d = rig.s().next_deadline();
  ASSERT_TRUE(d.has_value());
  EXPECT_LE(*d, rig.now() + kRtcpReportDelay);
  rig.advance(kRtcpReportDelay);
  rig.timeout();
  ASSERT_EQ(rig.sent_to().size(), 2u);
  EXPECT_FALSE(rig.failed());
}

TEST(RtspClientSession, UdpEosWaitsForStragglersAtMostOneSecond) {
  const Media& m = small();
  Rig rig(true);
  rig.start();
  Splitter split(m, m.streams, 1400);
  rig.setup_and_play(wms_sdp(m), &split);
  std::vector<Bytes> expected;
  std::vector<Rtp> rtp = split.flow(0, m.packets.size(), &expected);
  const Rtp tail = rtp.back();
  rtp.pop_back();
  rig.send_rtp(rtp);
  rig.feed(rig.eof_request(&split));
  EXPECT_EQ(rig.count(Event::Kind::kEos), 0u);
  rig.datagram(tail.bytes);  // the straggler completes the end
  EXPECT_EQ(rig.count(Event::Kind::kEos), 1u);
  EXPECT_EQ(payloads(rig.packets()), expected);

  Rig lost(true);
  lost.start();
  Splitter split2(m, m.streams, 1400);
  lost.setup_and_play(wms_sdp(m), &split2);
  std::vector<Rtp> rtp2 = split2.flow(0, m.packets.size(), nullptr);
  rtp2.pop_back();
  lost.send_rtp(rtp2);
  lost.feed(lost.eof_request(&split2));
  ASSERT_TRUE(lost.s().next_deadline().has_value());
  EXPECT_LE(*lost.s().next_deadline(), lost.now() + kEosDrainWait);
  lost.advance(kEosDrainWait);
  lost.timeout();
  // The tail never came: not an end (no silent truncation) but a lost
  // connection, which the rollover reconnects and resumes.
  EXPECT_EQ(lost.count(Event::Kind::kEos), 0u);
  ASSERT_TRUE(lost.failed());
  EXPECT_EQ(lost.failure().code(), Code::kConnectionLost);
}

void tcp_flow(bool byte_by_byte) {
  const Media& m = small();
  Rig rig(false, "rtspt://127.0.0.1:8554/a.asf");
  rig.start();
  EXPECT_EQ(rig.connects()[0].port, 8554);
  EXPECT_EQ(rig.requests()[0].uri, "rtsp://127.0.0.1:8554/a.asf");
  Splitter split(m, m.streams, 65000);
  rig.setup_and_play(wms_sdp(m), &split, byte_by_byte);
  ASSERT_FALSE(rig.failed()) << rig.failure().what();
  // No RTX over TCP; interleaved 0-1 then 2-3.
  ASSERT_EQ(rig.count_method("SETUP"), 2u);
  EXPECT_EQ(*rig.requests()[2].headers.find("Transport"),
            "RTP/AVP/TCP;unicast;interleaved=0-1;mode=PLAY");
  EXPECT_EQ(*rig.requests()[3].headers.find("Transport"),
            "RTP/AVP/TCP;unicast;interleaved=2-3;mode=PLAY");
  EXPECT_EQ(rig.find(Event::Kind::kConnected)->detail, "rtspt");

  std::vector<Bytes> expected;
  std::vector<Rtp> rtp = split.flow(0, m.packets.size(), &expected);
  // Everything the server writes, as one byte stream: frames, an RTCP frame, a
  // frame on an unknown channel, a server OPTIONS between them, then the EOF.
  Bytes wire;
  for (std::size_t i = 0; i < rtp.size(); ++i) {
    ASSERT_TRUE(write_interleaved(static_cast<std::uint8_t>(2 * rtp[i].stream),
                                  ByteView(rtp[i].bytes.data(), rtp[i].bytes.size()), &wire)
                    .ok());
    if (i == 3) {
      const Bytes junk = {0x80, 0xC8, 0, 1, 0, 0, 0, 0};
      ASSERT_TRUE(write_interleaved(1, ByteView(junk.data(), junk.size()), &wire).ok());
      ASSERT_TRUE(write_interleaved(9, ByteView(junk.data(), junk.size()), &wire).ok());
      std::string opt = rig.server_request("OPTIONS", {}, "");
      wire.insert(wire.end(), opt.begin(), opt.end());
    }
  }
  std::string eof = rig.eof_request(&split);
  wire.insert(wire.end(), eof.begin(), eof.end());
  if (byte_by_byte) {
    rig.feed(wire, true);
  } else {
    // Split in two reads in the middle of a frame header.
    const std::size_t cut = 3 + 4 + rtp[0].bytes.size() + 2;
    rig.feed(Bytes(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(cut)));
    rig.feed(Bytes(wire.begin() + static_cast<std::ptrdiff_t>(cut), wire.end()));
  }
  ASSERT_FALSE(rig.failed()) << rig.failure().what();
  EXPECT_EQ(payloads(rig.packets()), expected);
  ASSERT_EQ(rig.responses().size(), 2u);  // OPTIONS and SET_PARAMETER answered
  EXPECT_EQ(rig.responses()[0].status, 200);
  EXPECT_EQ(rig.responses()[1].status, 200);
  EXPECT_EQ(rig.count(Event::Kind::kEos), 1u);
  // Done: no keepalive, no timer left.
  EXPECT_FALSE(rig.s().next_deadline().has_value());
}

TEST(RtspClientSession, TcpInterleavedFlow) {
  tcp_flow(false);
}
TEST(RtspClientSession, TcpInterleavedFlowByteByByte) {
  tcp_flow(true);
}

TEST(RtspClientSession, GstRtspServerWholeMux) {
  const Media& m = small();
  // Header without the Data Object prefix: the client synthesizes it.
  Result<asf::HeaderInfo> info = asf::parse_header(m.header);
  ASSERT_TRUE(info.ok());
  Bytes bare(m.header.begin(),
             m.header.begin() + static_cast<std::ptrdiff_t>(info->header_object_size));
  std::string sdp =
      "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=Session streamed with GStreamer\r\n"
      "c=IN IP4 0.0.0.0\r\nt=0 0\r\na=tool:GStreamer\r\na=type:broadcast\r\n"
      "a=control:*\r\na=range:npt=0-2\r\n"
      "m=application 0 RTP/AVP 96\r\na=rtpmap:96 X-ASF-PF/1000\r\n"
      "a=fmtp:96 maxps=" +
      std::to_string(m.packet_size) +
      ";config=" + base64_encode(ByteView(bare.data(), bare.size())) + "\r\na=control:stream=0\r\n";
  Rig rig(false, "rtsp://127.0.0.1/a.asf");
  rig.start();
  Splitter split(m, {0}, 65000);
  rig.setup_and_play(sdp, &split);
  ASSERT_FALSE(rig.failed()) << rig.failure().what();
  EXPECT_EQ(rig.count_method("SETUP"), 1u);
  EXPECT_EQ(rig.requests()[2].uri, "rtsp://127.0.0.1/a.asf/stream=0");
  EXPECT_EQ(rig.requests().back().uri, "rtsp://127.0.0.1/a.asf/");  // aggregate = base
  const Seen* h = rig.find(Event::Kind::kHeader);
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->header->size(), info->header_object_size + asf::kDataObjectPrefixSize);
  EXPECT_EQ(h->info->data_packets_count, m.packets.size());  // one stream: not inflated
  std::vector<Bytes> expected;
  rig.send_rtp(split.flow(0, m.packets.size(), &expected));
  EXPECT_EQ(payloads(rig.packets()), expected);
  EXPECT_EQ(expected.size(), m.packets.size());
}

// --- gst-rtsp-server: whole mux, media-time npt, RTCP BYE as the end ------------------

// TCP: the BYE arrives on the stream's odd channel after its last RTP; an SR
// without BYE does nothing. Fed whole, byte by byte, and with a server request
// after the BYE in the same read.
void gst_tcp_bye(bool byte_by_byte) {
  const Media& m = small();
  Rig rig(false, "rtsp://127.0.0.1/a.asf");
  rig.start();
  Splitter split(m, {0}, 1400);  // rtpasfpay fragments at its MTU over TCP too
  rig.setup_and_play(gst_sdp(m), &split, byte_by_byte);
  ASSERT_FALSE(rig.failed()) << rig.failure().what();
  ASSERT_EQ(rig.count_method("SETUP"), 1u);
  EXPECT_EQ(*rig.requests()[2].headers.find("Transport"),
            "RTP/AVP/TCP;unicast;interleaved=0-1;mode=PLAY");
  // npt is media time here: position 0 is npt 0, not the preroll.
  EXPECT_EQ(*rig.last().headers.find("Range"), "npt=0.000-");
  // a=range:npt=0- gives no duration; the ASF header does (not a broadcast).
  EXPECT_TRUE(rig.s().seekable());

  std::vector<Bytes> expected;
  std::vector<Rtp> rtp = split.flow(0, m.packets.size(), &expected);
  Bytes wire;
  const Bytes sr = rtcp_compound(Splitter::ssrc(0), false);
  const Bytes bye = rtcp_compound(Splitter::ssrc(0));
  for (std::size_t i = 0; i < rtp.size(); ++i) {
    ASSERT_TRUE(
        write_interleaved(0, ByteView(rtp[i].bytes.data(), rtp[i].bytes.size()), &wire).ok());
    if (i == 2) {
      ASSERT_TRUE(write_interleaved(1, ByteView(sr.data(), sr.size()), &wire).ok());
    }
  }
  rig.feed(wire, byte_by_byte);
  EXPECT_EQ(rig.count(Event::Kind::kEos), 0u);
  EXPECT_EQ(payloads(rig.packets()), expected);
  Bytes tail;
  ASSERT_TRUE(write_interleaved(1, ByteView(bye.data(), bye.size()), &tail).ok());
  const std::string trailing = rig.server_request("GET_PARAMETER", {}, "");
  tail.insert(tail.end(), trailing.begin(), trailing.end());
  rig.feed(tail, byte_by_byte);
  EXPECT_FALSE(rig.failed()) << rig.failure().what();
  EXPECT_EQ(rig.count(Event::Kind::kEos), 1u);
  EXPECT_EQ(payloads(rig.packets()), expected);
  EXPECT_FALSE(rig.s().next_deadline().has_value());
}

TEST(RtspClientSession, GstRtspServerTcpByeEndsThePlay) {
  gst_tcp_bye(false);
}
TEST(RtspClientSession, GstRtspServerTcpByeEndsThePlayByteByByte) {
  gst_tcp_bye(true);
}

TEST(RtspClientSession, GstRtspServerNptStartsAtTheRangeStart) {
  const Media& m = small();
  Rig rig(false, "rtsp://127.0.0.1/a.asf");
  rig.start();
  Splitter split(m, {0}, 65000);
  rig.setup_and_play(gst_sdp(m, "npt=2.5-"), &split);
  ASSERT_FALSE(rig.failed()) << rig.failure().what();
  EXPECT_EQ(*rig.last().headers.find("Range"), "npt=2.500-");
  rig.s().play(session::PlayRequest{1000}, rig.now());
  rig.drain();
  ASSERT_EQ(rig.last().method, "PLAY");
  EXPECT_EQ(*rig.last().headers.find("Range"), "npt=3.500-");
}

TEST(RtspClientSession, TcpByeNeedsEveryStreamAndIgnoresTheReplacedFlow) {
  const Media& m = small();
  Rig rig(false);
  rig.start();
  Splitter split(m, m.streams, 65000);
  rig.setup_and_play(wms_sdp(m), &split);
  ASSERT_EQ(rig.s().streams_set_up(), 2u);
  rig.send_rtp(split.flow(0, 4, nullptr));
  // A seek: a BYE of the old flow before the PLAY reply does not count.
  rig.s().play(session::PlayRequest{0}, rig.now());
  rig.drain();
  const Bytes bye0 = rtcp_compound(Splitter::ssrc(0));
  const Bytes bye1 = rtcp_compound(Splitter::ssrc(1));
  Bytes frame;
  ASSERT_TRUE(write_interleaved(1, ByteView(bye0.data(), bye0.size()), &frame).ok());
  ASSERT_TRUE(write_interleaved(3, ByteView(bye1.data(), bye1.size()), &frame).ok());
  rig.feed(frame);
  rig.answer_play(&split);
  EXPECT_EQ(rig.count(Event::Kind::kEos), 0u);
  rig.send_rtp(split.flow(4, m.packets.size(), nullptr));
  // Stream 0's BYE alone: not the end; an unknown channel's: ignored.
  frame.clear();
  ASSERT_TRUE(write_interleaved(1, ByteView(bye0.data(), bye0.size()), &frame).ok());
  ASSERT_TRUE(write_interleaved(9, ByteView(bye1.data(), bye1.size()), &frame).ok());
  rig.feed(frame);
  EXPECT_EQ(rig.count(Event::Kind::kEos), 0u);
  frame.clear();
  ASSERT_TRUE(write_interleaved(3, ByteView(bye1.data(), bye1.size()), &frame).ok());
  rig.feed(frame);
  EXPECT_EQ(rig.count(Event::Kind::kEos), 1u);
  EXPECT_FALSE(rig.failed());
}

// UDP: the BYE comes on Q+1 and may overtake the last RTP on Q: the end waits
// for kByeQuietWait without RTP, never while reading is throttled.
TEST(RtspClientSession, UdpByeOnTheRtcpPortEndsOnceRtpIsQuiet) {
  const Media& m = small();
  Rig rig(true, "rtspu://127.0.0.1/a.asf");
  rig.start();
  Splitter split(m, {0}, 1400);
  rig.setup_and_play(gst_sdp(m), &split);
  ASSERT_FALSE(rig.failed()) << rig.failure().what();
  EXPECT_EQ(*rig.requests()[2].headers.find("Transport"),
            "RTP/AVP/UDP;unicast;client_port=7002-7003;mode=PLAY");
  std::vector<Bytes> expected;
  std::vector<Rtp> rtp = split.flow(0, m.packets.size(), &expected);
  const Rtp last = rtp.back();
  rtp.pop_back();
  rig.send_rtp(rtp);
  rig.rtcp_datagram(rtcp_compound(Splitter::ssrc(0), false));  // SR only
  rig.rtcp_datagram(rtcp_compound(0xDEADBEEF));                // someone else's BYE
  rig.rtcp_datagram(Bytes{0x81, 203, 0, 9, 0x11, 0x11});       // truncated BYE
  rig.advance(kByeQuietWait);
  rig.timeout();
  EXPECT_EQ(rig.count(Event::Kind::kEos), 0u);

  rig.rtcp_datagram(rtcp_compound(Splitter::ssrc(0)));
  EXPECT_EQ(rig.count(Event::Kind::kEos), 0u);
  ASSERT_TRUE(rig.s().next_deadline().has_value());
  EXPECT_EQ(*rig.s().next_deadline(), rig.now() + kByeQuietWait);
  rig.advance(kByeQuietWait / 2);
  rig.datagram(last.bytes);  // the straggler: still taken, and the quiet restarts
  EXPECT_EQ(payloads(rig.packets()), expected);
  rig.advance(kByeQuietWait / 2);
  rig.timeout();
  EXPECT_EQ(rig.count(Event::Kind::kEos), 0u);
  rig.s().on_throttle(true, rig.now());
  rig.advance(2 * kEosDrainWait);
  rig.timeout();
  EXPECT_EQ(rig.count(Event::Kind::kEos), 0u);  // nothing read meanwhile
  rig.s().on_throttle(false, rig.now());
  ASSERT_TRUE(rig.s().next_deadline().has_value());
  EXPECT_EQ(*rig.s().next_deadline(), rig.now() + kByeQuietWait);
  rig.advance(kByeQuietWait);
  rig.timeout();
  EXPECT_EQ(rig.count(Event::Kind::kEos), 1u);
  EXPECT_FALSE(rig.failed());
}

TEST(RtspClientSession, UdpByeMultiplexedOnTheMediaPort) {
  const Media& m = small();
  Rig rig(true, "rtspu://127.0.0.1/a.asf");
  rig.start();
  Splitter split(m, {0}, 1400);
  rig.setup_and_play(gst_sdp(m), &split);
  std::vector<Bytes> expected;
  rig.send_rtp(split.flow(0, m.packets.size(), &expected));
  rig.datagram(rtcp_compound(Splitter::ssrc(0)));
  rig.advance(kByeQuietWait);
  rig.timeout();
  EXPECT_EQ(rig.count(Event::Kind::kEos), 1u);
  EXPECT_EQ(payloads(rig.packets()), expected);
}

TEST(RtspClientSession, UdpEndOfStreamRequestAfterByeWaitsForTheLastSeqs) {
  const Media& m = small();
  Rig rig(true);
  rig.start();
  Splitter split(m, m.streams, 1400);
  rig.setup_and_play(wms_sdp(m), &split);
  std::vector<Bytes> expected;
  std::vector<Rtp> rtp = split.flow(0, m.packets.size(), &expected);
  const Rtp last = rtp.back();
  rtp.pop_back();
  rig.send_rtp(rtp);
  Bytes both = rtcp_compound(Splitter::ssrc(0));
  const Bytes bye1 = rtcp_compound(Splitter::ssrc(1));
  both.insert(both.end(), bye1.begin(), bye1.end());
  rig.rtcp_datagram(both);
  rig.feed(rig.eof_request(&split));
  rig.advance(kByeQuietWait);
  rig.timeout();
  EXPECT_EQ(rig.count(Event::Kind::kEos), 0u);  // a seq is still missing
  rig.datagram(last.bytes);
  EXPECT_EQ(rig.count(Event::Kind::kEos), 1u);
  EXPECT_EQ(payloads(rig.packets()), expected);
}

// UDP reorders: neighbours of one stream swapped on the way (fragments of one
// ASF packet, the first packet of the play) are put back in sequence order;
// nothing is lost or flagged. The depayloader alone drops the overtaken
// packet as late.
TEST(RtspClientSession, UdpReorderedRtpIsPutBackInSequence) {
  const Media& m = small();
  Rig rig(true);
  rig.start();
  Splitter split(m, m.streams, 300);  // fragments: neighbours of one stream
  rig.setup_and_play(wms_sdp(m), &split);
  std::vector<Bytes> expected;
  std::vector<Rtp> rtp = split.flow(0, m.packets.size(), &expected);
  std::size_t pairs = 0;
  std::size_t swaps = 0;
  for (std::size_t i = 0; i + 1 < rtp.size(); ++i) {
    if (rtp[i].stream == rtp[i + 1].stream && (pairs++ % 2) == 0) {
      std::swap(rtp[i], rtp[i + 1]);
      ++swaps;
      ++i;
    }
  }
  ASSERT_GE(swaps, 10u);
  rig.send_rtp(rtp);
  std::vector<Seen> got = rig.packets();
  EXPECT_EQ(payloads(got), expected);
  for (std::size_t i = 1; i < got.size(); ++i) {
    EXPECT_FALSE(got[i].discont) << "packet " << i;
  }
  rig.feed(rig.eof_request(&split));
  EXPECT_EQ(rig.count(Event::Kind::kEos), 1u);
  EXPECT_FALSE(rig.failed());

  // The first packet of the play (RTP-Info seq) overtaken by the second.
  Rig one(true, "rtspu://127.0.0.1/a.asf");
  one.start();
  Splitter whole(m, {0}, 1400);
  one.setup_and_play(gst_sdp(m), &whole);
  std::vector<Bytes> expected1;
  std::vector<Rtp> rtp1 = whole.flow(0, m.packets.size(), &expected1);
  std::swap(rtp1[0], rtp1[1]);
  one.send_rtp(rtp1);
  EXPECT_EQ(payloads(one.packets()), expected1);
}

// One RTP packet lost: the stream's later packets wait kRtpReorderWait for it
// (the other stream flows on), then go out with DISCONT on the first one.
TEST(RtspClientSession, UdpGapIsGivenUpAfterTheReorderWait) {
  const Media& m = small();
  Rig rig(true);
  rig.start();
  Splitter split(m, m.streams, 1400);
  rig.setup_and_play(wms_sdp(m), &split);
  // Per file packet, so that the lost RTP packet's ASF packet is known.
  std::vector<Rtp> rtp;
  std::vector<Bytes> expected;
  std::size_t lost_at = 0;  // index into rtp
  Bytes lost_packet;
  for (std::size_t i = 0; i < m.packets.size(); ++i) {
    std::vector<Bytes> exp;
    std::vector<Rtp> r = split.flow(i, i + 1, &exp);
    if (lost_packet.empty() && i >= m.packets.size() / 2 && r.size() == exp.size()) {
      // One RTP packet per ASF packet here: drop the first one.
      lost_at = rtp.size();
      lost_packet = exp[0];
      exp.erase(exp.begin());
    }
    rtp.insert(rtp.end(), r.begin(), r.end());
    expected.insert(expected.end(), exp.begin(), exp.end());
  }
  ASSERT_FALSE(lost_packet.empty());
  const std::size_t lost_stream = rtp[lost_at].stream;
  rtp.erase(rtp.begin() + static_cast<std::ptrdiff_t>(lost_at));
  // Up to the loss and three packets of that stream after it.
  std::size_t upto = lost_at;
  for (int n = 0; n < 3 && upto < rtp.size(); ++upto) {
    n += rtp[upto].stream == lost_stream ? 1 : 0;
  }
  rig.send_rtp(std::vector<Rtp>(rtp.begin(), rtp.begin() + static_cast<std::ptrdiff_t>(upto)));
  const std::size_t before = rig.packets().size();
  ASSERT_TRUE(rig.s().next_deadline().has_value());
  EXPECT_EQ(*rig.s().next_deadline(), rig.now() + kRtpReorderWait);
  rig.advance(kRtpReorderWait - kMillisecond);
  rig.timeout();
  EXPECT_EQ(rig.packets().size(), before);  // still waiting
  rig.advance(kMillisecond);
  rig.timeout();
  std::vector<Seen> got = rig.packets();
  ASSERT_EQ(got.size(), before + 3);
  EXPECT_TRUE(got[before].discont);
  EXPECT_FALSE(got[before + 1].discont);
  rig.send_rtp(std::vector<Rtp>(rtp.begin() + static_cast<std::ptrdiff_t>(upto), rtp.end()));
  rig.feed(rig.eof_request(&split));
  EXPECT_EQ(rig.count(Event::Kind::kEos), 1u);
  std::vector<Bytes> all = payloads(rig.packets());
  std::sort(all.begin(), all.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(all, expected);  // everything but the lost packet, once
}

// Waiting packets are handed on before the end: the server closes the
// connection after its EndOfStream request while a gap is still open.
TEST(RtspClientSession, UdpWaitingPacketsGoOutBeforeTheEnd) {
  const Media& m = small();
  Rig rig(true);
  rig.start();
  Splitter split(m, m.streams, 1400);
  rig.setup_and_play(wms_sdp(m), &split);
  std::vector<Bytes> expected;
  std::vector<Rtp> rtp = split.flow(0, m.packets.size(), &expected);
  // The last but one RTP packet of the stream that ends the flow is lost.
  const std::size_t k = rtp.back().stream;
  std::size_t prev = rtp.size() - 2;
  while (rtp[prev].stream != k) {
    --prev;
  }
  rtp.erase(rtp.begin() + static_cast<std::ptrdiff_t>(prev));  // lost
  rig.send_rtp(rtp);
  rig.feed(rig.eof_request(&split));
  EXPECT_EQ(rig.count(Event::Kind::kEos), 0u);
  rig.s().on_eof(rig.tcp(), rig.now());
  rig.drain();
  ASSERT_EQ(rig.count(Event::Kind::kEos), 1u);
  EXPECT_EQ(rig.events().back().kind, Event::Kind::kEos);  // after every packet
  std::size_t n = 0;
  for (const Seen& e : rig.events()) {
    n += e.kind == Event::Kind::kPacket ? 1 : 0;
  }
  EXPECT_EQ(n + 1, expected.size());  // all but the ASF packet of the lost RTP packet
  EXPECT_TRUE(rig.packets().back().discont);
  EXPECT_FALSE(rig.failed());
}

// Too far ahead to wait (a burst lost, or the server's sequence jumped): the
// gap is given up at once.
TEST(RtspClientSession, UdpGapTooWideIsGivenUpAtOnce) {
  const Media& m = small();
  Rig rig(true, "rtspu://127.0.0.1/a.asf");
  rig.start();
  Splitter split(m, {0}, 200);  // the whole mux, small RTP packets: many per ASF packet
  rig.setup_and_play(gst_sdp(m), &split);
  std::vector<Rtp> rtp = split.flow(0, m.packets.size(), nullptr);
  ASSERT_GT(rtp.size(), kMaxRtpReorderPackets + 10);
  rig.datagram(rtp[0].bytes);
  const std::size_t first = rig.packets().size();
  for (std::size_t i = 2; i < kMaxRtpReorderPackets + 1; ++i) {
    rig.datagram(rtp[i].bytes);  // within the window: waiting for rtp[1]
  }
  EXPECT_EQ(rig.packets().size(), first);
  rig.datagram(rtp[kMaxRtpReorderPackets + 1].bytes);  // 64 ahead of rtp[1]: given up
  EXPECT_GT(rig.packets().size(), first);
  EXPECT_TRUE(rig.packets()[first].discont);
  const std::optional<Instant> d = rig.s().next_deadline();
  EXPECT_TRUE(!d || *d != rig.now() + kRtpReorderWait);  // nothing waits any more
}

// Q+1 taken: another Q is bound (the first one held meanwhile so the system
// cannot hand it back), a few times, then the client goes on without RTCP.
struct BindScript {
  RtspClientSession s;
  std::vector<IoAction> binds;
  std::vector<ChannelId> closed;
  ChannelId tcp = 0;
  explicit BindScript(std::uint16_t min = 0, std::uint16_t max = 0) : s(config(min, max), true) {}
  static session::ClientConfig config(std::uint16_t min, std::uint16_t max) {
    session::ClientConfig c = Rig::config("rtspu://127.0.0.1/a.asf", "", "", 0);
    c.udp_port_min = min;
    c.udp_port_max = max;
    return c;
  }
  void drain() {
    IoAction a;
    while (s.next_io_action(&a)) {
      if (a.kind == IoAction::Kind::kBindUdp) {
        binds.push_back(a);
      } else if (a.kind == IoAction::Kind::kClose) {
        closed.push_back(a.channel);
      } else if (a.kind == IoAction::Kind::kConnectTcp) {
        tcp = a.channel;
      }
    }
  }
};

TEST(RtspClientSession, RtcpPortTakenRebindsTheMediaPort) {
  Instant now{1000 * kSecond};
  BindScript b;
  b.s.play(session::PlayRequest{0}, now);
  b.drain();
  ASSERT_EQ(b.binds.size(), 2u);
  b.s.on_udp_bound(b.binds[0].channel, 7000, now);
  b.s.on_udp_bound(b.binds[1].channel, 7002, now);
  b.drain();
  ASSERT_EQ(b.binds.size(), 3u);
  EXPECT_EQ(b.binds[2].port, 7003);
  EXPECT_EQ(b.binds[2].port_max, 7003);
  b.s.on_connect_failed(b.binds[2].channel, Status(Code::kRefused, "taken"), now);
  b.drain();
  ASSERT_EQ(b.binds.size(), 4u);  // a new media port, any
  EXPECT_EQ(b.binds[3].port, 0);
  EXPECT_TRUE(b.closed.empty());  // 7002 held until the new one is bound
  EXPECT_EQ(b.tcp, 0u);
  b.s.on_udp_bound(b.binds[3].channel, 7010, now);
  b.drain();
  ASSERT_EQ(b.closed.size(), 1u);
  EXPECT_EQ(b.closed[0], b.binds[1].channel);
  ASSERT_EQ(b.binds.size(), 5u);
  EXPECT_EQ(b.binds[4].port, 7011);
  b.s.on_udp_bound(b.binds[4].channel, 7011, now);
  b.drain();
  ASSERT_NE(b.tcp, 0u);
  b.s.on_connected(b.tcp, now);
  b.drain();

  // Every Q+1 taken: kMaxRtcpPairAttempts tries, then on without RTCP.
  BindScript all;
  all.s.play(session::PlayRequest{0}, now);
  all.drain();
  all.s.on_udp_bound(all.binds[0].channel, 7000, now);
  std::uint16_t q = 7002;
  for (int i = 0; i < kMaxRtcpPairAttempts; ++i) {
    all.s.on_udp_bound(all.binds.back().channel, q, now);
    all.drain();
    ASSERT_EQ(all.binds.back().port, q + 1);
    all.s.on_connect_failed(all.binds.back().channel, Status(Code::kRefused, "taken"), now);
    all.drain();
    q = static_cast<std::uint16_t>(q + 10);
  }
  EXPECT_NE(all.tcp, 0u);
  EXPECT_EQ(all.binds.size(), 1u + 2u * kMaxRtcpPairAttempts);
  session::Event e;
  while (all.s.next_event(&e)) {
    EXPECT_NE(e.kind, Event::Kind::kFailed);
  }
}

TEST(RtspClientSession, RtcpPortTakenInAConfiguredRange) {
  Instant now{1000 * kSecond};
  // 7002-7004: Q=7002 (7003 taken) -> Q from 7004 (7005 taken) -> no room: on with 7004.
  BindScript b(7002, 7004);
  b.s.play(session::PlayRequest{0}, now);
  b.drain();
  ASSERT_EQ(b.binds.size(), 2u);
  EXPECT_EQ(b.binds[1].port, 7002);
  EXPECT_EQ(b.binds[1].port_max, 7004);
  b.s.on_udp_bound(b.binds[0].channel, 7000, now);
  b.s.on_udp_bound(b.binds[1].channel, 7002, now);
  b.drain();
  b.s.on_connect_failed(b.binds[2].channel, Status(Code::kRefused, "taken"), now);
  b.drain();
  ASSERT_EQ(b.binds.size(), 4u);
  EXPECT_EQ(b.binds[3].port, 7004);
  EXPECT_EQ(b.binds[3].port_max, 7004);
  b.s.on_udp_bound(b.binds[3].channel, 7004, now);
  b.drain();
  b.s.on_connect_failed(b.binds[4].channel, Status(Code::kRefused, "taken"), now);
  b.drain();
  EXPECT_EQ(b.binds.size(), 5u);
  EXPECT_NE(b.tcp, 0u);

  // The second Q cannot be bound: back to the first one, without RTCP.
  BindScript c(7002, 7010);
  c.s.play(session::PlayRequest{0}, now);
  c.drain();
  c.s.on_udp_bound(c.binds[0].channel, 7000, now);
  c.s.on_udp_bound(c.binds[1].channel, 7002, now);
  c.drain();
  c.s.on_connect_failed(c.binds[2].channel, Status(Code::kRefused, "taken"), now);
  c.drain();
  ASSERT_EQ(c.binds.size(), 4u);
  c.s.on_connect_failed(c.binds[3].channel, Status(Code::kRefused, "no port"), now);
  c.drain();
  EXPECT_NE(c.tcp, 0u);
  EXPECT_TRUE(c.closed.empty());
  session::Event e;
  while (c.s.next_event(&e)) {
    EXPECT_NE(e.kind, Event::Kind::kFailed);
  }
}

TEST(RtspClientSession, MbrSetsUpOnlyTheChosenStreams) {
  const Media& m = mbr();
  // 100 kbps: stream 2 (100 kbps video) + stream 3 (64 kbps audio) do not fit
  // both; the selector picks per exclusion group. Whatever it picks, only the
  // selected streams are set up.
  Rig rig(true, "rtsp://127.0.0.1/a.asf", "", "", 200);
  rig.start();
  Result<asf::HeaderInfo> info = asf::parse_header(m.header);
  ASSERT_TRUE(info.ok());
  std::vector<asf::StreamChoice> choice = asf::select_streams(*info, 200);
  std::vector<std::uint16_t> chosen;
  for (const auto& c : choice) {
    if (c.selected) {
      chosen.push_back(c.number);
    }
  }
  ASSERT_LT(chosen.size(), m.streams.size());
  Splitter split(m, chosen, 1400);  // 3200-byte packets: fragmented over UDP
  rig.setup_and_play(wms_sdp(m), &split);
  ASSERT_FALSE(rig.failed()) << rig.failure().what();
  std::vector<std::string> urls = rig.setup_urls();
  ASSERT_EQ(urls.size(), chosen.size());
  for (std::size_t k = 0; k < chosen.size(); ++k) {
    EXPECT_EQ(urls[k], "rtsp://127.0.0.1/a.asf/stream=" + std::to_string(chosen[k]));
  }
  EXPECT_EQ(rig.find(Event::Kind::kHeader)->info->data_packets_count,
            m.packets.size() * chosen.size());
  std::vector<Bytes> expected;
  rig.send_rtp(split.flow(0, m.packets.size(), &expected));
  EXPECT_EQ(payloads(rig.packets()), expected);
}

// --- seek, playlist, keepalive ---------------------------------------------------------

TEST(RtspClientSession, SeekSendsPlayWithRangeAndDropsOlderPackets) {
  const Media& m = small();
  Rig rig(true);
  rig.start();
  Splitter split(m, m.streams, 1400);
  rig.setup_and_play(wms_sdp(m), &split);
  std::vector<Bytes> first;
  std::vector<Rtp> old = split.flow(0, 10, &first);
  rig.send_rtp(std::vector<Rtp>(old.begin(), old.begin() + 4));
  const std::size_t before = rig.packets().size();

  rig.s().play(session::PlayRequest{1000}, rig.now());
  rig.drain();
  ASSERT_EQ(rig.last().method, "PLAY");
  EXPECT_EQ(rig.count_method("PAUSE"), 0u);
  EXPECT_EQ(*rig.last().headers.find("Range"), "npt=" + format_npt_time(1000 + m.preroll_ms) + "-");
  // The old flow keeps coming before the reply: held, then dropped as older.
  rig.send_rtp(std::vector<Rtp>(old.begin() + 4, old.end()));
  EXPECT_EQ(rig.packets().size(), before);
  rig.answer_play(&split);
  std::vector<Bytes> second;
  rig.send_rtp(split.flow(10, m.packets.size(), &second));
  std::vector<Seen> got = rig.packets();
  ASSERT_EQ(got.size(), before + second.size());
  std::vector<Seen> after(got.begin() + static_cast<std::ptrdiff_t>(before), got.end());
  EXPECT_EQ(payloads(after), second);
  EXPECT_TRUE(after.front().discont);
  EXPECT_FALSE(after[1].discont);
  const std::uint64_t count = m.packets.size() * 2;
  const std::uint32_t expected_first =
      static_cast<std::uint32_t>(1000.0 / static_cast<double>(m.duration_ms) * count);
  EXPECT_EQ(after.front().packet_number, expected_first);
  for (const Seen& p : after) {
    EXPECT_LT(p.packet_number, count);
  }
}

TEST(RtspClientSession, AnnounceGivesChangedHeaderAndPlaysNewEntry) {
  const Media& m = small();
  Rig rig(false);
  rig.start();
  Splitter split(m, m.streams, 65000);
  rig.setup_and_play(wms_sdp(m), &split);
  rig.send_rtp(split.flow(0, m.packets.size(), nullptr));
  rig.feed(rig.eof_request(&split, true));
  EXPECT_EQ(rig.count(Event::Kind::kEos), 0u);
  const std::size_t plays = rig.count_method("PLAY");
  const Media& next = mbr();
  rig.feed(rig.server_request("ANNOUNCE",
                              {{"Content-Type", "application/sdp"}, {"X-Playlist-Gen-Id", "8"}},
                              wms_sdp(next)));
  ASSERT_FALSE(rig.failed()) << rig.failure().what();
  EXPECT_EQ(rig.responses().back().status, 200);
  ASSERT_EQ(rig.count(Event::Kind::kHeader), 2u);
  const Seen* hp = nullptr;
  for (const Seen& e : rig.events()) {
    if (e.kind == Event::Kind::kHeader) {
      hp = &e;
    }
  }
  ASSERT_NE(hp, nullptr);
  const Seen& h = *hp;
  EXPECT_TRUE(h.changed);
  EXPECT_EQ(h.info->packet_size, next.packet_size);
  ASSERT_EQ(rig.count_method("PLAY"), plays + 1);
  EXPECT_EQ(*rig.last().headers.find("X-Playlist-Gen-Id"), "8");
  EXPECT_EQ(rig.last().headers.find("Range"), nullptr);
  // The next entry on the same channels (its streams 1 and 2).
  Splitter nsplit(next, {1, 2}, 65000, 5000);
  rig.answer_play(&nsplit);
  const std::size_t before = rig.packets().size();
  std::vector<Bytes> expected;
  rig.send_rtp(nsplit.flow(0, next.packets.size(), &expected));
  std::vector<Seen> got = rig.packets();
  std::vector<Seen> after(got.begin() + static_cast<std::ptrdiff_t>(before), got.end());
  EXPECT_EQ(payloads(after), expected);
  EXPECT_EQ(after.front().packet_number, 0u);
  rig.feed(rig.eof_request(&nsplit));
  EXPECT_EQ(rig.count(Event::Kind::kEos), 1u);
}

TEST(RtspClientSession, KeepaliveEveryHalfSessionTimeoutOverUdp) {
  const Media& m = small();
  Rig rig(true);
  rig.start();
  Splitter split(m, m.streams, 1400);
  rig.setup_and_play(wms_sdp(m), &split);
  std::vector<Rtp> rtp = split.flow(0, m.packets.size(), nullptr);
  rig.datagram(rtp[0].bytes);
  std::size_t i = 1;
  // Data keeps flowing; after 30 s (timeout=60 / 2) a GET_PARAMETER goes out.
  for (int s = 0; s < 29; ++s) {
    rig.advance(kSecond);
    rig.datagram(rtp[i++ % rtp.size()].bytes);
    if (auto d = rig.s().next_deadline(); d && rig.now() >= *d) {
      rig.timeout();
    }
  }
  EXPECT_EQ(rig.s().keepalives_sent(), 0u);
  rig.advance(kSecond);
  ASSERT_TRUE(rig.s().next_deadline().has_value());
  EXPECT_LE(*rig.s().next_deadline(), rig.now());
  rig.timeout();
  EXPECT_EQ(rig.s().keepalives_sent(), 1u);
  EXPECT_EQ(rig.last().method, "GET_PARAMETER");
  EXPECT_EQ(rig.last().uri, kControl);
  EXPECT_EQ(*rig.last().headers.find("Session"), "12345678");
  EXPECT_TRUE(rig.last().body.empty());
  rig.answer(200, {{"Session", "12345678"}});
  EXPECT_FALSE(rig.failed());
  EXPECT_EQ(rig.s().reports_sent(), 6u);  // receiver reports every 5 s meanwhile
  EXPECT_EQ(*rig.s().next_deadline(), rig.now() + 5 * kSecond);  // next: a receiver report
}

// Receiver reports every 5 s over UDP, from the RTCP port to the server's
// (server_port's second number): a block per stream with the highest
// sequence number, the packets lost, and the last SR echoed.
TEST(RtspClientSession, UdpReceiverReportsToTheServersRtcpPort) {
  const Media& m = small();
  Rig rig(true);
  rig.start();
  Splitter split(m, m.streams, 1400);
  rig.setup_and_play(wms_sdp(m), &split);
  std::vector<Rtp> rtp = split.flow(0, m.packets.size(), nullptr);
  ASSERT_GT(rtp.size(), 6u);
  // Stream 0's second datagram is lost.
  std::uint32_t ssrc0 = 0;
  std::uint16_t first0 = 0;
  std::uint16_t last0 = 0;
  int seen0 = 0;
  for (const Rtp& r : rtp) {
    auto h = parse_rtp(ByteView(r.bytes));
    ASSERT_TRUE(h.ok());
    if (ssrc0 == 0) {
      ssrc0 = h->ssrc;
      first0 = h->seq;
    }
    if (h->ssrc == ssrc0 && ++seen0 == 2) {
      continue;
    }
    if (h->ssrc == ssrc0) {
      last0 = h->seq;
    }
    rig.datagram(r.bytes);
  }
  // A sender report for stream 0 (NTP 0x0001_2345.6789_0000): LSR 0x23456789.
  const Bytes sr = {0x80,
                    200,
                    0,
                    6,
                    static_cast<std::uint8_t>(ssrc0 >> 24),
                    static_cast<std::uint8_t>(ssrc0 >> 16),
                    static_cast<std::uint8_t>(ssrc0 >> 8),
                    static_cast<std::uint8_t>(ssrc0),
                    0x00,
                    0x01,
                    0x23,
                    0x45,
                    0x67,
                    0x89,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    1,
                    0,
                    0,
                    0,
                    1};
  rig.rtcp_datagram(sr);
  EXPECT_TRUE(rig.sent_to().empty());
  rig.advance(5 * kSecond - 1);
  rig.timeout();
  EXPECT_TRUE(rig.sent_to().empty());
  rig.advance(1);
  rig.timeout();
  ASSERT_EQ(rig.sent_to().size(), 1u);
  const IoAction& a = rig.sent_to().back();
  EXPECT_EQ(a.channel, rig.rtcp_channel());
  EXPECT_EQ(a.port, 5005);
  const std::string& b = a.bytes;
  auto u8 = [&b](std::size_t i) { return static_cast<std::uint8_t>(b[i]); };
  auto u32 = [&](std::size_t i) {
    return static_cast<std::uint32_t>(u8(i)) << 24 | static_cast<std::uint32_t>(u8(i + 1)) << 16 |
           static_cast<std::uint32_t>(u8(i + 2)) << 8 | u8(i + 3);
  };
  ASSERT_GE(b.size(), 8u + 24u);
  EXPECT_EQ(u8(0) >> 6, 2);
  EXPECT_EQ(u8(1), 201);  // RR
  const std::size_t blocks = u8(0) & 0x1Fu;
  EXPECT_EQ(blocks, m.streams.size());
  const std::size_t rr_len = (std::size_t{u8(2)} << 8 | u8(3)) * 4 + 4;
  EXPECT_EQ(rr_len, 8 + 24 * blocks);
  bool found = false;
  for (std::size_t k = 0; k < blocks; ++k) {
    const std::size_t at = 8 + 24 * k;
    if (u32(at) != ssrc0) {
      continue;
    }
    found = true;
    EXPECT_EQ(u32(at + 4) & 0xFFFFFFu, 1u);        // one lost
    EXPECT_GT(u8(at + 4), 0);                      // fraction lost
    EXPECT_EQ(u32(at + 8), std::uint32_t{last0});  // highest seq, no wrap
    EXPECT_EQ(u32(at + 16), 0x23456789u);          // LSR
    EXPECT_EQ(u32(at + 20), 5u * 65536u);          // DLSR: 5 s
    (void)first0;
  }
  EXPECT_TRUE(found);
  ASSERT_GE(b.size(), rr_len + 8);
  EXPECT_EQ(u8(rr_len + 1), 202);  // SDES follows
  EXPECT_EQ(u32(rr_len + 4), u32(4));
  // Over TCP nothing is sent by datagram.
  Rig tcp(false);
  tcp.start();
  Splitter tsplit(m, m.streams, 65000);
  tcp.setup_and_play(wms_sdp(m), &tsplit);
  tcp.advance(10 * kSecond);
  tcp.timeout();
  EXPECT_TRUE(tcp.sent_to().empty());
}

// A full consumer over UDP: the session PAUSEs the server, still takes what
// was in flight, and resumes with a PLAY without Range; nothing is lost or
// repeated and the packet numbers run on.
TEST(RtspClientSession, UdpPausesTheServerWhileTheConsumerIsFull) {
  const Media& m = small();
  ASSERT_GT(m.packets.size(), 8u);
  Rig rig(true);
  rig.start();
  Splitter split(m, m.streams, 1400);
  rig.setup_and_play(wms_sdp(m), &split);
  std::vector<Bytes> expected;
  std::vector<Rtp> before = split.flow(0, 6, &expected);  // sent before the PAUSE took effect
  const std::size_t half = before.size() / 2;
  rig.send_rtp(
      std::vector<Rtp>(before.begin(), before.begin() + static_cast<std::ptrdiff_t>(half)));
  EXPECT_TRUE(rig.s().keep_reading_when_throttled());
  rig.s().on_throttle(true, rig.now());
  rig.drain();
  EXPECT_EQ(rig.last().method, "PAUSE");
  EXPECT_EQ(*rig.last().headers.find("Session"), "12345678");
  rig.answer(200, {{"Session", "12345678"}});
  rig.send_rtp(std::vector<Rtp>(before.begin() + static_cast<std::ptrdiff_t>(half), before.end()));
  // Paused for longer than the data timeout: no failure while throttled.
  rig.advance(60 * kSecond);
  rig.timeout();
  EXPECT_FALSE(rig.failed());
  EXPECT_EQ(rig.count_method("PLAY"), 1u);
  rig.s().on_throttle(false, rig.now());
  rig.drain();
  ASSERT_EQ(rig.count_method("PLAY"), 2u);
  EXPECT_EQ(rig.last().method, "PLAY");
  EXPECT_EQ(rig.last().headers.find("Range"), nullptr);
  rig.answer_play(&split);  // RTP-Info: the sequence goes on
  rig.send_rtp(split.flow(6, m.packets.size(), &expected));
  ASSERT_FALSE(rig.failed()) << rig.failure().what();
  std::vector<Seen> got = rig.packets();
  EXPECT_EQ(payloads(got), expected);
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].packet_number, i);
    EXPECT_FALSE(got[i].discont && i > 0) << i;
  }
}

// Over TCP nothing is paused (the server's writes block), but keepalives go
// on while the consumer is full: a paused player reads nothing, and only
// requests tell the server it is still there.
TEST(RtspClientSession, TcpKeepsAliveWhileTheConsumerIsFull) {
  const Media& m = small();
  Rig rig(false);
  rig.start();
  Splitter split(m, m.streams, 65000);
  rig.setup_and_play(wms_sdp(m), &split);
  EXPECT_FALSE(rig.s().keep_reading_when_throttled());
  rig.s().on_throttle(true, rig.now());
  rig.drain();
  EXPECT_EQ(rig.count_method("PAUSE"), 0u);
  for (int s = 0; s < 29; ++s) {
    rig.advance(kSecond);
    rig.timeout();
  }
  EXPECT_EQ(rig.s().keepalives_sent(), 0u);
  rig.advance(kSecond);
  rig.timeout();
  EXPECT_EQ(rig.s().keepalives_sent(), 1u);
  EXPECT_EQ(rig.last().method, "GET_PARAMETER");
  EXPECT_FALSE(rig.failed());
}

// --- authentication, redirect ---------------------------------------------------------

TEST(RtspClientSession, DigestRetryThenSuccess) {
  const Media& m = small();
  Rig rig(false, "rtsp://127.0.0.1/a.asf", "alice", "secret");
  rig.start();
  rig.answer(200);
  ASSERT_EQ(rig.last().method, "DESCRIBE");
  EXPECT_EQ(rig.last().headers.find("Authorization"), nullptr);
  Response r;
  r.status = 401;
  r.reason = "Unauthorized";
  r.headers.add("CSeq", *rig.last().headers.find("CSeq"));
  r.headers.add("WWW-Authenticate", "Digest realm=\"mms-server\", nonce=\"abc123\"");
  r.headers.add("WWW-Authenticate", "Basic realm=\"mms-server\"");
  rig.feed(write_response(r));
  ASSERT_EQ(rig.last().method, "DESCRIBE");
  const std::string* auth = rig.last().headers.find("Authorization");
  ASSERT_NE(auth, nullptr);
  Result<std::vector<AuthChallenge>> cred = parse_auth(*auth);
  ASSERT_TRUE(cred.ok());
  ASSERT_EQ(cred->size(), 1u);
  EXPECT_TRUE((*cred)[0].is("Digest"));
  EXPECT_TRUE(digest_verify((*cred)[0], "DESCRIBE", "secret"));
  Splitter split(m, m.streams, 65000);
  rig.answer(200, {{"Content-Type", "application/sdp"}, {"X-Playlist-Gen-Id", "7"}}, wms_sdp(m));
  while (!rig.failed() && rig.last().method == "SETUP") {
    const std::string* a = rig.last().headers.find("Authorization");
    ASSERT_NE(a, nullptr);
    Result<std::vector<AuthChallenge>> c = parse_auth(*a);
    ASSERT_TRUE(c.ok());
    EXPECT_TRUE(digest_verify((*c)[0], "SETUP", "secret"));
    EXPECT_NE(c->front().param("uri"), nullptr);
    EXPECT_EQ(*c->front().param("uri"), rig.last().uri);
    rig.answer(200, {{"Transport", *rig.last().headers.find("Transport")},
                     {"Session", "12345678;timeout=60"}});
  }
  ASSERT_EQ(rig.last().method, "PLAY");
  ASSERT_NE(rig.last().headers.find("Authorization"), nullptr);
  rig.answer_play(&split);
  EXPECT_FALSE(rig.failed());
  EXPECT_EQ(rig.count(Event::Kind::kConnected), 1u);
}

TEST(RtspClientSession, BasicWhenOnlyBasicOffered) {
  Rig rig(false, "rtsp://bob:pw@127.0.0.1/a.asf");
  rig.start();
  rig.answer(200);
  rig.answer(401, {{"WWW-Authenticate", "Basic realm=\"x\""}});
  ASSERT_EQ(rig.last().method, "DESCRIBE");
  ASSERT_NE(rig.last().headers.find("Authorization"), nullptr);
  EXPECT_EQ(*rig.last().headers.find("Authorization"), basic_authorization("bob", "pw"));
}

TEST(RtspClientSession, TwoUnauthorizedFail) {
  Rig rig(false, "rtsp://127.0.0.1/a.asf", "alice", "wrong");
  rig.start();
  rig.answer(200);
  rig.answer(401, {{"WWW-Authenticate", "Digest realm=\"r\", nonce=\"n\""}});
  EXPECT_FALSE(rig.failed());
  rig.answer(401, {{"WWW-Authenticate", "Digest realm=\"r\", nonce=\"n2\""}});
  ASSERT_TRUE(rig.failed());
  EXPECT_EQ(rig.failure().code(), Code::kNotAuthorized);

  Rig none(false);
  none.start();
  none.answer(200);
  none.answer(401, {{"WWW-Authenticate", "Basic realm=\"r\""}});
  ASSERT_TRUE(none.failed());
  EXPECT_EQ(none.failure().code(), Code::kNotAuthorized);
}

TEST(RtspClientSession, RedirectReconnects) {
  const Media& m = small();
  Rig rig(false, "rtsp://127.0.0.1/a.asf");
  rig.start();
  rig.answer(200);
  rig.answer(302, {{"Location", "rtsp://10.0.0.2:5554/b.asf"}});
  ASSERT_FALSE(rig.failed());
  const Seen* r = rig.find(Event::Kind::kRedirect);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->url, "rtsp://10.0.0.2:5554/b.asf");
  ASSERT_EQ(rig.connects().size(), 2u);
  EXPECT_EQ(rig.connects()[1].host, "10.0.0.2");
  EXPECT_EQ(rig.connects()[1].port, 5554);
  ASSERT_EQ(rig.closed().size(), 1u);
  rig.s().on_connected(rig.tcp(), rig.now());
  rig.drain();
  EXPECT_EQ(rig.last().method, "OPTIONS");
  EXPECT_EQ(rig.last().uri, "rtsp://10.0.0.2:5554/b.asf");
  Splitter split(m, m.streams, 65000);
  rig.setup_and_play(wms_sdp(m), &split);
  EXPECT_FALSE(rig.failed());
}

TEST(RtspClientSession, RedirectToAnotherTransportGoesToTheRollover) {
  Rig rig(false, "rtsp://127.0.0.1/a.asf");
  rig.start();
  rig.answer(200);
  rig.answer(302, {{"Location", "mmsh://10.0.0.2/b.asf"}});
  ASSERT_TRUE(rig.failed());
  const Seen* f = rig.find(Event::Kind::kFailed);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->status.code(), Code::kRefused);
  EXPECT_EQ(f->redirect_to, "mmsh://10.0.0.2/b.asf");
}

// --- failures --------------------------------------------------------------------------

TEST(RtspClientSession, UnsupportedTransportIsRefused) {
  const Media& m = small();
  Rig rig(true);
  rig.start();
  rig.answer(200);
  rig.answer(200, {{"Content-Type", "application/sdp"}}, wms_sdp(m));
  ASSERT_EQ(rig.last().method, "SETUP");
  rig.answer(461);
  ASSERT_TRUE(rig.failed());
  EXPECT_EQ(rig.failure().code(), Code::kRefused);
  EXPECT_EQ(rig.failure().detail(), 461u);
}

TEST(RtspClientSession, NotFoundAndOtherErrors) {
  for (int status : {404, 410}) {
    Rig rig(false);
    rig.start();
    rig.answer(200);
    rig.answer(status);
    ASSERT_TRUE(rig.failed());
    EXPECT_EQ(rig.failure().code(), Code::kNotFound) << status;
  }
  for (int status : {400, 500, 503, 405}) {
    Rig rig(false);
    rig.start();
    rig.answer(200);
    rig.answer(status);
    ASSERT_TRUE(rig.failed());
    EXPECT_EQ(rig.failure().code(), Code::kRefused) << status;
  }
  Rig forbidden(false);
  forbidden.start();
  forbidden.answer(200);
  forbidden.answer(403);
  EXPECT_EQ(forbidden.failure().code(), Code::kNotAuthorized);
}

TEST(RtspClientSession, HttpOrGarbageReplyIsRefused) {
  for (bool byte_by_byte : {false, true}) {
    Rig rig(false);
    rig.start();
    rig.feed("HTTP/1.0 200 OK\r\nServer: Cougar/9.01.01.3814\r\n\r\n", byte_by_byte);
    ASSERT_TRUE(rig.failed());
    EXPECT_EQ(rig.failure().code(), Code::kRefused);
  }
  Rig binary(false);
  binary.start();
  binary.feed(Bytes{0x01, 0x00, 0x00, 0x00, 0xCE, 0xFA, 0x0B, 0xB0});
  EXPECT_EQ(binary.failure().code(), Code::kRefused);

  Rig eof(false);
  eof.start();
  eof.s().on_eof(eof.tcp(), eof.now());
  eof.drain();
  EXPECT_EQ(eof.failure().code(), Code::kRefused);

  Rig connect(false);
  connect.s().play(session::PlayRequest{}, connect.now());
  connect.drain();
  connect.s().on_connect_failed(connect.tcp(), Status(Code::kRefused, "refused"), connect.now());
  connect.drain();
  EXPECT_EQ(connect.failure().code(), Code::kRefused);
}

TEST(RtspClientSession, SdpWithoutAsfHeaderIsUnsupported) {
  Rig rig(false);
  rig.start();
  rig.answer(200);
  rig.answer(200, {{"Content-Type", "application/sdp"}},
             "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=x\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\n"
             "a=rtpmap:96 H264/90000\r\n");
  ASSERT_TRUE(rig.failed());
  EXPECT_EQ(rig.failure().code(), Code::kUnsupported);
}

TEST(RtspClientSession, UdpSilenceTimesOutAfterTeardown) {
  const Media& m = small();
  Rig rig(true);
  rig.start();
  Splitter split(m, m.streams, 1400);
  rig.setup_and_play(wms_sdp(m), &split);
  ASSERT_TRUE(rig.s().next_deadline().has_value());
  EXPECT_EQ(*rig.s().next_deadline(), rig.now() + 5 * kSecond);
  rig.advance(5 * kSecond - 1);
  rig.timeout();
  EXPECT_FALSE(rig.failed());
  rig.advance(1);
  rig.timeout();
  ASSERT_TRUE(rig.failed());
  EXPECT_EQ(rig.failure().code(), Code::kTimedOut);
  EXPECT_STREQ(rig.failure().what(), "no RTP over UDP");
  EXPECT_EQ(rig.last().method, "TEARDOWN");
}

TEST(RtspClientSession, FirstReplyTimeoutAndNoDataTimeout) {
  session::ClientConfig c = Rig::config("rtsp://127.0.0.1/a.asf", "", "", 0);
  c.first_reply_timeout = 2 * kSecond;
  RtspClientSession s(c, false);
  Instant t{kSecond};
  s.play(session::PlayRequest{}, t);
  IoAction a;
  ChannelId tcp = 0;
  while (s.next_io_action(&a)) {
    tcp = a.channel;
  }
  s.on_connected(tcp, t);
  while (s.next_io_action(&a)) {
  }
  ASSERT_TRUE(s.next_deadline().has_value());
  EXPECT_EQ(*s.next_deadline(), t + 2 * kSecond);
  s.on_timeout(t + 2 * kSecond);
  Event e;
  bool failed = false;
  while (s.next_event(&e)) {
    if (e.kind == Event::Kind::kFailed) {
      failed = true;
      EXPECT_EQ(e.status.code(), Code::kTimedOut);
    }
  }
  EXPECT_TRUE(failed);

  // Mid-stream over TCP: nothing for `timeout` -> kTimedOut; EOF -> kConnectionLost.
  const Media& m = small();
  Rig rig(false);
  rig.start();
  Splitter split(m, m.streams, 65000);
  rig.setup_and_play(wms_sdp(m), &split);
  rig.advance(10 * kSecond);
  rig.timeout();
  EXPECT_EQ(rig.failure().code(), Code::kTimedOut);

  Rig lost(false);
  lost.start();
  Splitter split2(m, m.streams, 65000);
  lost.setup_and_play(wms_sdp(m), &split2);
  lost.send_rtp(split2.flow(0, 3, nullptr));
  lost.s().on_eof(lost.tcp(), lost.now());
  lost.drain();
  EXPECT_EQ(lost.failure().code(), Code::kConnectionLost);
}

TEST(RtspClientSession, BadInputFailsClearly) {
  {
    Rig rig(false);
    rig.start();
    rig.feed("RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: 4000000000\r\n\r\n");
    ASSERT_TRUE(rig.failed());
    EXPECT_EQ(rig.failure().code(), Code::kLimitExceeded);
  }
  {
    Rig rig(false);
    rig.start();
    rig.answer(200);
    rig.feed("RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Length: 9000000\r\n\r\n");
    ASSERT_TRUE(rig.failed());
    EXPECT_EQ(rig.failure().code(), Code::kLimitExceeded);
  }
  {
    Rig rig(false);
    rig.start();
    rig.answer(200);
    rig.feed("RTSP/1.0 200 OK\r\n\x01\x02garbage\r\n\r\n");
    ASSERT_TRUE(rig.failed());
    EXPECT_EQ(rig.failure().code(), Code::kMalformed);
  }
  {
    // A huge interleaved frame (65535 bytes of noise) on a known channel, split
    // across reads, then trailing data: dropped without harm.
    const Media& m = small();
    Rig rig(false);
    rig.start();
    Splitter split(m, m.streams, 65000);
    rig.setup_and_play(wms_sdp(m), &split);
    Bytes noise(65535, 0xAB);
    noise[0] = 0x80;
    noise[1] = 96;
    Bytes frame;
    ASSERT_TRUE(write_interleaved(0, ByteView(noise.data(), noise.size()), &frame).ok());
    rig.feed(Bytes(frame.begin(), frame.begin() + 30000));
    rig.feed(Bytes(frame.begin() + 30000, frame.end()));
    EXPECT_FALSE(rig.failed());
    EXPECT_EQ(rig.packets().size(), 0u);
    std::vector<Bytes> expected;
    rig.send_rtp(split.flow(0, m.packets.size(), &expected));
    EXPECT_EQ(payloads(rig.packets()), expected);
    // Garbage where a message should start.
    rig.feed("\x7f\x7f\x7f\x7f\r\n\r\n");
    ASSERT_TRUE(rig.failed());
    EXPECT_EQ(rig.failure().code(), Code::kMalformed);
  }
  {
    // Malformed SDP body.
    Rig rig(false);
    rig.start();
    rig.answer(200);
    rig.answer(200, {}, "v=0\r\na=pgmpu:data:application/vnd.ms.wms-hdr.asfv1;base64,!!!!\r\n");
    ASSERT_TRUE(rig.failed());
    EXPECT_EQ(rig.failure().code(), Code::kMalformed);
  }
}

TEST(RtspClientSession, UnknownSsrcBindsToStreamWithoutOne) {
  const Media& m = small();
  Rig rig(true);
  rig.start();
  rig.answer(200);
  rig.answer(200, {{"Content-Type", "application/sdp"}, {"Content-Base", kControl}},
             wms_sdp(m, false));
  ASSERT_EQ(rig.last().method, "SETUP");  // no RTX media: straight to the stream
  EXPECT_EQ(rig.last().uri, "rtsp://127.0.0.1/a.asf/stream=1");
  Splitter split(m, {1}, 1400);
  // Stream 1 gets its ssrc, stream 2 none.
  char t[128];
  std::snprintf(t, sizeof t, "%s;ssrc=%08X", rig.last().headers.find("Transport")->c_str(),
                Splitter::ssrc(0));
  rig.answer(200, {{"Transport", t}, {"Session", "1"}});
  rig.answer(200, {{"Transport", *rig.last().headers.find("Transport")}, {"Session", "1"}});
  ASSERT_EQ(rig.last().method, "PLAY");
  rig.answer(200, {{"Session", "1"}});
  Splitter both(m, m.streams, 1400);
  std::vector<Bytes> expected;
  std::vector<Rtp> rtp = both.flow(0, m.packets.size(), &expected);
  // Stream 2's datagrams carry ssrc(1), unknown: bound to stream 2.
  rig.send_rtp(rtp);
  EXPECT_EQ(payloads(rig.packets()), expected);
  (void)split;
}

}  // namespace
}  // namespace mms::rtsp

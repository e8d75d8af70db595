// MmstClientSession driven by a fake MMS server built from the role-neutral
// codecs (protocol/mmst/messages.h): the whole TCP sequence (whole and byte by
// byte), seeks by incarnation, pings while throttled, end of stream, playlist
// changes, redirects, BASIC and NTLM authentication, HRESULT failures, and the UDP data
// path (loss -> resend request, reordering, discont, silence timeout).
// Pure and deterministic: no sockets, no clock.
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/asf/header_parser.h"
#include "protocol/auth/ntlm.h"
#include "protocol/core/text.h"
#include "protocol/core/url.h"
#include "protocol/mmst/client_session.h"
#include "protocol/mmst/messages.h"
#include "tests/support/client_rig.h"

namespace mms::mmst {
namespace {

using session::ChannelId;
using session::Event;
using session::IoAction;
using Bytes = std::vector<std::uint8_t>;

struct Media {
  Bytes header;
  std::vector<Bytes> packets;
  std::uint32_t packet_size = 0;
  std::uint64_t preroll_ms = 0;
};

const Media& media() {
  static const Media m = [] {
    Media r;
    std::ifstream f(std::string(MMS_SOURCE_ROOT) + "/tests/media/fixtures/small.asf",
                    std::ios::binary);
    Bytes file((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    Result<asf::FileLayout> layout = asf::scan_file(ByteView(file.data(), file.size()));
    EXPECT_TRUE(layout.ok());
    if (!layout.ok()) {
      return r;
    }
    r.header.assign(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(layout->header_bytes));
    r.packet_size = layout->info.packet_size;
    r.preroll_ms = layout->info.preroll_ms;
    for (std::uint64_t i = 0; i < layout->packet_count; ++i) {
      auto b = file.begin() + static_cast<std::ptrdiff_t>(layout->first_packet + i * r.packet_size);
      r.packets.emplace_back(b, b + r.packet_size);
    }
    return r;
  }();
  return m;
}

using Seen = test::SeenEvent;

class Rig : public test::ClientRig<MmstClientSession> {
 public:
  Rig(const std::string& url, bool udp, const std::string& user = "",
      const std::string& password = "")
      : ClientRig(test::client_config(url, user, password), udp) {}
  Rig(session::ClientConfig config, bool udp) : ClientRig(std::move(config), udp) {}

  void datagram(const Bytes& d) {
    s().on_datagram(udp_, ByteView(d.data(), d.size()), now());
    drain();
  }

  // Server messages.
  Bytes msg(Message m) {
    m.header.seq = server_seq_++;
    Bytes out;
    EXPECT_TRUE(encode_message(m, &out).ok()) << mid_to_string(m.mid);
    return out;
  }

  // The messages the client sent since `from`.
  const std::vector<Message>& sent() const { return sent_; }
  const Message* last_sent(std::uint32_t mid) const {
    for (auto it = sent_.rbegin(); it != sent_.rend(); ++it) {
      if (it->mid == mid) {
        return &*it;
      }
    }
    return nullptr;
  }
  std::size_t count_sent(std::uint32_t mid) const {
    std::size_t n = 0;
    for (const Message& m : sent_) {
      n += m.mid == mid ? 1 : 0;
    }
    return n;
  }
  std::vector<IoAction>& actions() { return actions_; }
  std::vector<IoAction>& datagrams() { return datagrams_; }
  void set_udp(ChannelId ch) { udp_ = ch; }
  ChannelId udp() const { return udp_; }

 protected:
  void on_action(const IoAction& a) override {
    if (a.kind == IoAction::Kind::kSend) {
      Bytes b(a.bytes.begin(), a.bytes.end());
      std::size_t off = 0;
      while (off < b.size()) {
        Message m;
        Status err;
        ASSERT_EQ(decode_message(ByteView(b.data() + off, b.size() - off), &m, &err), Decode::kDone)
            << err.what();
        off += m.wire_size;
        sent_.push_back(m);
      }
    } else if (a.kind == IoAction::Kind::kSendTo) {
      datagrams_.push_back(a);
    }
    actions_.push_back(a);
  }

 private:
  ChannelId udp_ = 0;
  std::uint16_t server_seq_ = 0;
  std::vector<Message> sent_;
  std::vector<IoAction> actions_;
  std::vector<IoAction> datagrams_;
};

constexpr std::uint32_t kClientId = 0x1A2B3C4D;

Message connected_ex(const std::string& auth = "") {
  Message m = make_message(kLinkMacToViewerReportConnectedEX);
  m.report_connected_ex.server_version_info = "9.01.01.3841";
  m.report_connected_ex.authen_package = auth;
  return m;
}

Message funnel_info() {
  Message m = make_message(kLinkMacToViewerReportFunnelInfo);
  m.report_funnel_info.n_cubs = kClientId;
  return m;
}

Message open_file_ok(std::uint32_t inc, std::uint32_t attrs = kFileAttributeCanSeek) {
  Message m = make_message(kLinkMacToViewerReportOpenFile);
  ReportOpenFile& r = m.report_open_file;
  r.play_incarnation = inc;
  r.open_file_id = 1;
  r.file_attributes = attrs;
  r.file_packet_size = media().packet_size;
  r.file_packet_count = media().packets.size();
  r.file_header_size = static_cast<std::uint32_t>(media().header.size());
  r.file_bit_rate = 100000;
  return m;
}

Message with_hr(std::uint32_t mid, std::uint32_t hr, std::uint32_t inc = 0) {
  Message m = make_message(mid);
  switch (mid) {
    case kLinkMacToViewerReportOpenFile:
      m.report_open_file.hr = hr;
      m.report_open_file.play_incarnation = inc;
      break;
    case kLinkMacToViewerReportEndOfStream:
      m.report_end_of_stream.hr = hr;
      m.report_end_of_stream.play_incarnation = inc;
      break;
    case kLinkMacToViewerReportStartedPlaying:
      m.report_started_playing.hr = hr;
      m.report_started_playing.play_incarnation = inc;
      break;
    case kLinkMacToViewerReportConnectedEX:
      m = connected_ex();
      m.report_connected_ex.hr = hr;
      break;
    default:
      break;
  }
  return m;
}

Bytes header_packets(std::uint8_t inc, std::size_t frag = 1000) {
  Bytes out;
  encode_header_packets(ByteView(media().header.data(), media().header.size()), inc, frag, &out);
  return out;
}

Bytes data_packet(std::uint32_t n, std::uint8_t inc, std::uint8_t af = 0) {
  Bytes out;
  const Bytes& p = media().packets[n];
  EXPECT_TRUE(encode_data_packet(n, inc, af, ByteView(p.data(), p.size()), &out).ok());
  return out;
}

void cat(Bytes* a, const Bytes& b) {
  a->insert(a->end(), b.begin(), b.end());
}

// Runs the handshake up to the Header event and StartPlaying. Returns the
// StartPlaying incarnation.
std::uint8_t handshake(Rig* r, bool byte_by_byte = false, const std::string& auth = "") {
  r->s().play(session::PlayRequest{}, r->now());
  r->drain();
  EXPECT_FALSE(r->actions().empty());
  const IoAction& c = r->actions().back();
  EXPECT_EQ(c.kind, IoAction::Kind::kConnectTcp);
  r->set_tcp(c.channel);
  r->s().on_connected(c.channel, r->now());
  r->drain();
  const Message* connect = r->last_sent(kLinkViewerToMacConnect);
  EXPECT_NE(connect, nullptr);
  if (connect != nullptr) {
    EXPECT_EQ(connect->connect.play_incarnation, kMmsUsePacketPair);
    EXPECT_EQ(player_major_version(connect->connect.subscriber_name), 9);
  }
  r->feed(r->msg(connected_ex(auth)), byte_by_byte);
  EXPECT_NE(r->last_sent(kLinkViewerToMacFunnelInfo), nullptr);
  r->feed(r->msg(funnel_info()), byte_by_byte);
  const Message* cf = r->last_sent(kLinkViewerToMacConnectFunnel);
  EXPECT_NE(cf, nullptr);
  r->feed(r->msg(make_message(kLinkMacToViewerReportConnectedFunnel)), byte_by_byte);
  const Message* of = r->last_sent(kLinkViewerToMacOpenFile);
  EXPECT_NE(of, nullptr);
  if (of == nullptr) {
    return 0;
  }
  EXPECT_EQ(of->open_file.play_incarnation, 9u);
  return 9;
}

std::uint8_t open_and_header(Rig* r, bool byte_by_byte = false,
                             std::uint32_t attrs = kFileAttributeCanSeek) {
  r->feed(r->msg(open_file_ok(9, attrs)), byte_by_byte);
  const Message* rb = r->last_sent(kLinkViewerToMacReadBlock);
  EXPECT_NE(rb, nullptr);
  if (rb == nullptr) {
    return 0;
  }
  EXPECT_EQ(rb->read_block.open_file_id, 1u);
  const auto hinc = static_cast<std::uint8_t>(rb->read_block.play_incarnation);
  EXPECT_TRUE(is_header_incarnation(hinc));
  Message rrb = make_message(kLinkMacToViewerReportReadBlock);
  rrb.report_read_block.play_incarnation = hinc;
  Bytes b = r->msg(rrb);
  cat(&b, header_packets(hinc));
  r->feed(b, byte_by_byte);
  const Message* sp = r->last_sent(kLinkViewerToMacStartPlaying);
  EXPECT_NE(sp, nullptr);
  if (sp == nullptr) {
    return 0;
  }
  return static_cast<std::uint8_t>(sp->start_playing.play_incarnation);
}

void started(Rig* r, std::uint8_t inc) {
  Message ss = make_message(kLinkMacToViewerReportStreamSwitch);
  Message st = make_message(kLinkMacToViewerReportStartedPlaying);
  st.report_started_playing.play_incarnation = inc;
  Bytes b = r->msg(ss);
  cat(&b, r->msg(st));
  r->feed(b);
}

// --- TCP ---------------------------------------------------------------------

void full_tcp_sequence(bool byte_by_byte) {
  Rig r("mmst://127.0.0.1/dir/a%20b.wmv", false);
  handshake(&r, byte_by_byte);
  const Message* cf = r.last_sent(kLinkViewerToMacConnectFunnel);
  ASSERT_NE(cf, nullptr);
  EXPECT_NE(cf->connect_funnel.funnel_name.find("\\TCP\\"), std::string::npos);
  EXPECT_EQ(r.last_sent(kLinkViewerToMacOpenFile)->open_file.file_name, "dir/a b.wmv");
  std::uint8_t inc = open_and_header(&r, byte_by_byte);
  EXPECT_EQ(inc, 10);
  const Seen* h = r.find(Event::Kind::kHeader);
  ASSERT_NE(h, nullptr);
  EXPECT_FALSE(h->changed);
  EXPECT_FALSE(h->playlist);
  const Message* sw = r.last_sent(kLinkViewerToMacStreamSwitch);
  ASSERT_NE(sw, nullptr);
  EXPECT_FALSE(sw->stream_switch.a_stream_entries.empty());
  for (const StreamSwitchEntry& e : sw->stream_switch.a_stream_entries) {
    EXPECT_EQ(e.w_src_stream_number, kStreamNone);
    EXPECT_EQ(e.w_thinning_level, kThinningNone);  // every stream by default
  }
  const Message* sp = r.last_sent(kLinkViewerToMacStartPlaying);
  EXPECT_EQ(sp->start_playing.position, 0.0);
  EXPECT_EQ(sp->start_playing.open_file_id, 1u);
  EXPECT_EQ(sp->start_playing.frame_offset, 0u);
  started(&r, inc);
  Bytes data;
  for (std::uint32_t i = 0; i < media().packets.size(); ++i) {
    cat(&data, data_packet(i, inc, static_cast<std::uint8_t>(i)));
  }
  Message ping = make_message(kLinkMacToViewerPing);
  cat(&data, r.msg(ping));
  Message eos = make_message(kLinkMacToViewerReportEndOfStream);
  eos.report_end_of_stream.play_incarnation = inc;
  cat(&data, r.msg(eos));
  r.feed(data, byte_by_byte);
  std::vector<Seen> pk = r.packets();
  ASSERT_EQ(pk.size(), media().packets.size());
  for (std::size_t i = 0; i < pk.size(); ++i) {
    EXPECT_EQ(pk[i].payload, media().packets[i]);
    EXPECT_EQ(pk[i].packet_number, i);
    EXPECT_FALSE(pk[i].discont);
  }
  const Seen* c = r.find(Event::Kind::kConnected);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->detail, "mmst");
  EXPECT_NE(r.find(Event::Kind::kEos), nullptr);
  EXPECT_EQ(r.count_sent(kLinkViewerToMacPong), 1u);
  EXPECT_EQ(r.count_sent(kLinkViewerToMacLogging), 1u);
  EXPECT_EQ(r.find(Event::Kind::kFailed), nullptr);
  EXPECT_TRUE(r.s().seekable());
  r.s().close();
  r.drain();
  EXPECT_NE(r.last_sent(kLinkViewerToMacCloseFile), nullptr);
}

TEST(MmstClientSession, FullTcpSequenceWhole) {
  full_tcp_sequence(false);
}
TEST(MmstClientSession, FullTcpSequenceByteByByte) {
  full_tcp_sequence(true);
}

TEST(MmstClientSession, PlaylistAttributeMarksTheHeader) {
  Rig r("mmst://127.0.0.1/list", false);
  handshake(&r, false);
  open_and_header(&r, false, kFileAttributeCanSeek | kFileAttributePlaylist);
  const Seen* h = r.find(Event::Kind::kHeader);
  ASSERT_NE(h, nullptr);
  EXPECT_TRUE(h->playlist);
}

TEST(MmstClientSession, SeekUsesANewIncarnationAndDropsStaleData) {
  Rig r("mmst://h/a.wmv", false);
  handshake(&r);
  std::uint8_t inc = open_and_header(&r);
  started(&r, inc);
  r.feed(data_packet(0, inc));
  r.s().play(session::PlayRequest{2000}, r.now());
  r.drain();
  const Message* sp = r.last_sent(kLinkViewerToMacStartPlaying);
  ASSERT_NE(sp, nullptr);
  const auto inc2 = static_cast<std::uint8_t>(sp->start_playing.play_incarnation);
  EXPECT_EQ(inc2, next_play_incarnation(inc));
  EXPECT_DOUBLE_EQ(sp->start_playing.position,
                   static_cast<double>(2000 + media().preroll_ms) / 1000.0);
  // Old data still in flight, a stale end of stream, then the new play.
  Bytes b = data_packet(1, inc);
  Message stale = make_message(kLinkMacToViewerReportEndOfStream);
  stale.report_end_of_stream.play_incarnation = inc;
  cat(&b, r.msg(stale));
  Message st = make_message(kLinkMacToViewerReportStartedPlaying);
  st.report_started_playing.play_incarnation = inc2;
  cat(&b, r.msg(st));
  cat(&b, data_packet(3, inc2));
  cat(&b, data_packet(4, inc2));
  r.feed(b);
  std::vector<Seen> pk = r.packets();
  ASSERT_EQ(pk.size(), 3u);
  EXPECT_EQ(pk[0].packet_number, 0u);
  EXPECT_EQ(pk[1].packet_number, 3u);
  EXPECT_TRUE(pk[1].discont);
  EXPECT_FALSE(pk[2].discont);
  EXPECT_EQ(r.find(Event::Kind::kEos), nullptr);
}

TEST(MmstClientSession, PingsAnsweredWhileThrottledAndResumeAtNextPacket) {
  Rig r("mmst://h/a.wmv", false);
  handshake(&r);
  std::uint8_t inc = open_and_header(&r);
  started(&r, inc);
  EXPECT_TRUE(r.s().keep_reading_when_throttled());
  r.feed(data_packet(0, inc));
  r.feed(data_packet(1, inc));
  r.s().on_throttle(true, r.now());
  r.drain();
  const Message* stop = r.last_sent(kLinkViewerToMacStopPlaying);
  ASSERT_NE(stop, nullptr);
  EXPECT_EQ(stop->stop_playing.play_incarnation, inc);
  EXPECT_EQ(r.s().next_deadline(), std::nullopt);  // paused: no no-data timer
  // In flight: more data, the Stop acknowledgement, then minutes of pings.
  Bytes b = data_packet(2, inc);
  Message ack = make_message(kLinkMacToViewerReportEndOfStream);
  ack.report_end_of_stream.play_incarnation = inc;
  cat(&b, r.msg(ack));
  r.feed(b);
  for (int i = 0; i < 10; ++i) {
    r.advance(30 * kSecond);
    r.feed(r.msg(make_message(kLinkMacToViewerPing)));
  }
  EXPECT_EQ(r.count_sent(kLinkViewerToMacPong), 10u);
  EXPECT_EQ(r.packets().size(), 2u);
  EXPECT_EQ(r.find(Event::Kind::kEos), nullptr);
  EXPECT_EQ(r.find(Event::Kind::kFailed), nullptr);
  r.s().on_throttle(false, r.now());
  r.drain();
  const Message* sp = r.last_sent(kLinkViewerToMacStartPlaying);
  ASSERT_NE(sp, nullptr);
  const auto inc2 = static_cast<std::uint8_t>(sp->start_playing.play_incarnation);
  EXPECT_EQ(inc2, next_play_incarnation(inc));
  EXPECT_EQ(sp->start_playing.location_id, 2u);
  EXPECT_EQ(sp->start_playing.position, kPositionUseOffsets);
  // A server that backs up to a key frame: packets already delivered are dropped.
  Bytes c = data_packet(1, inc2);
  cat(&c, data_packet(2, inc2));
  cat(&c, data_packet(3, inc2));
  r.feed(c);
  std::vector<Seen> pk = r.packets();
  ASSERT_EQ(pk.size(), 4u);
  EXPECT_EQ(pk[2].packet_number, 2u);
  EXPECT_FALSE(pk[2].discont);
  EXPECT_EQ(pk[3].packet_number, 3u);
}

// A reconnect while the consumer is still full (a long pause after a Fast
// Start burst): the throttle comes before the play, so the first packet
// pauses the server and nothing is lost; the play resumes from its start.
TEST(MmstClientSession, ThrottledBeforeThePlayPausesAtTheFirstPacket) {
  Rig r("mmst://h/a.wmv", false);
  handshake(&r);
  r.s().on_throttle(true, r.now());
  r.drain();
  std::uint8_t inc = open_and_header(&r);
  const Message* first = r.last_sent(kLinkViewerToMacStartPlaying);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->start_playing.dw_accel_duration, kFastStartRequestMs);  // Fast Start asked
  started(&r, inc);
  EXPECT_EQ(r.last_sent(kLinkViewerToMacStopPlaying), nullptr);
  r.feed(data_packet(0, inc));
  r.feed(data_packet(1, inc));
  EXPECT_NE(r.last_sent(kLinkViewerToMacStopPlaying), nullptr);
  EXPECT_EQ(r.count_sent(kLinkViewerToMacStopPlaying), 1u);
  EXPECT_TRUE(r.packets().empty());
  r.s().on_throttle(false, r.now());
  r.drain();
  const Message* sp = r.last_sent(kLinkViewerToMacStartPlaying);
  ASSERT_NE(sp, nullptr);
  const auto inc2 = static_cast<std::uint8_t>(sp->start_playing.play_incarnation);
  EXPECT_EQ(inc2, next_play_incarnation(inc));
  EXPECT_NE(sp->start_playing.position, kPositionUseOffsets);  // from the play's position
  r.feed(data_packet(0, inc2));
  r.feed(data_packet(1, inc2));
  std::vector<Seen> pk = r.packets();
  ASSERT_EQ(pk.size(), 2u);
  EXPECT_EQ(pk[0].packet_number, 0u);
  EXPECT_EQ(pk[1].packet_number, 1u);
}

TEST(MmstClientSession, BroadcastDropsWhileThrottledWithDiscont) {
  Rig r("mmst://h/live", false);
  handshake(&r);
  r.feed(r.msg(open_file_ok(9, kFileAttributeBroadcast)));
  const Message* rb = r.last_sent(kLinkViewerToMacReadBlock);
  ASSERT_NE(rb, nullptr);
  r.feed(header_packets(static_cast<std::uint8_t>(rb->read_block.play_incarnation)));
  auto inc = static_cast<std::uint8_t>(
      r.last_sent(kLinkViewerToMacStartPlaying)->start_playing.play_incarnation);
  // Fast Start is asked for broadcasts too: the server answers by joining behind live.
  EXPECT_EQ(r.last_sent(kLinkViewerToMacStartPlaying)->start_playing.dw_accel_duration,
            kFastStartRequestMs);
  started(&r, inc);
  EXPECT_FALSE(r.s().seekable());
  r.feed(data_packet(0, inc));
  r.s().on_throttle(true, r.now());
  r.drain();
  EXPECT_EQ(r.last_sent(kLinkViewerToMacStopPlaying), nullptr);
  r.feed(data_packet(1, inc));
  r.feed(r.msg(make_message(kLinkMacToViewerPing)));
  r.s().on_throttle(false, r.now());
  r.drain();
  r.feed(data_packet(2, inc));
  std::vector<Seen> pk = r.packets();
  ASSERT_EQ(pk.size(), 2u);
  EXPECT_EQ(pk[1].packet_number, 2u);
  EXPECT_TRUE(pk[1].discont);
  EXPECT_EQ(r.count_sent(kLinkViewerToMacPong), 1u);
}

TEST(MmstClientSession, StreamChangeGivesANewHeader) {
  Rig r("mmst://h/list", false);
  handshake(&r);
  std::uint8_t inc = open_and_header(&r);
  started(&r, inc);
  r.feed(data_packet(0, inc));
  Message eos = make_message(kLinkMacToViewerReportEndOfStream);
  eos.report_end_of_stream.hr = kHrFalse;
  eos.report_end_of_stream.play_incarnation = inc;
  Message ch = make_message(kLinkMacToViewerReportStreamChange);
  ch.report_stream_change.cb_packet_size = media().packet_size;
  ch.report_stream_change.cb_header_size = static_cast<std::uint32_t>(media().header.size());
  Bytes b = r.msg(eos);
  cat(&b, r.msg(ch));
  cat(&b, header_packets(kPacketPairIncarnation));
  cat(&b, data_packet(0, kPacketPairIncarnation, 7));  // new entry's data before our Start
  r.feed(b);
  EXPECT_EQ(r.find(Event::Kind::kEos), nullptr);
  int headers = 0;
  bool changed = false;
  for (const Seen& e : r.events()) {
    if (e.kind == Event::Kind::kHeader) {
      ++headers;
      changed = e.changed;
    }
  }
  EXPECT_EQ(headers, 2);
  EXPECT_TRUE(changed);
  const Message* sp = r.last_sent(kLinkViewerToMacStartPlaying);
  auto inc2 = static_cast<std::uint8_t>(sp->start_playing.play_incarnation);
  EXPECT_EQ(inc2, next_play_incarnation(inc));
  EXPECT_EQ(r.count_sent(kLinkViewerToMacStreamSwitch), 2u);
  started(&r, inc2);
  r.feed(data_packet(0, inc2));
  EXPECT_EQ(r.packets().size(), 2u);
}

TEST(MmstClientSession, FollowsRedirectsOnANewConnection) {
  Rig r("mmst://h/a.wmv", false);
  handshake(&r);
  Message rd = make_message(kLinkMacToViewerReportRedirect);
  rd.report_redirect.wsz_location = "mms://h2:1756/b.wmv";
  r.feed(r.msg(rd));
  const Seen* e = r.find(Event::Kind::kRedirect);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->url, "mms://h2:1756/b.wmv");
  const IoAction& a = r.actions().back();
  ASSERT_EQ(a.kind, IoAction::Kind::kConnectTcp);
  EXPECT_EQ(a.host, "h2");
  EXPECT_EQ(a.port, 1756);
  EXPECT_NE(a.channel, r.tcp());
  bool closed = false;
  for (const IoAction& x : r.actions()) {
    closed = closed || (x.kind == IoAction::Kind::kClose && x.channel == r.tcp());
  }
  EXPECT_TRUE(closed);
  // Bytes on the old channel are ignored; the new one works.
  r.set_tcp(a.channel);
  r.s().on_connected(a.channel, r.now());
  r.drain();
  r.feed(r.msg(connected_ex()));
  r.feed(r.msg(funnel_info()));
  r.feed(r.msg(make_message(kLinkMacToViewerReportConnectedFunnel)));
  EXPECT_EQ(r.last_sent(kLinkViewerToMacOpenFile)->open_file.file_name, "b.wmv");
  // A redirect to another transport family ends the session and hands the
  // URL to the rollover (which refuses schemes mmssrc cannot play).
  rd.report_redirect.wsz_location = "mmsh://h3/c";
  r.feed(r.msg(rd));
  const Seen* f = r.find(Event::Kind::kFailed);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->status.code(), Code::kRefused);
  EXPECT_EQ(f->redirect_to, "mmsh://h3/c");
}

TEST(MmstClientSession, RedirectLoopIsBounded) {
  Rig r("mmst://h/a.wmv", false);
  handshake(&r);
  for (int i = 0; i < 20 && r.find(Event::Kind::kFailed) == nullptr; ++i) {
    Message rd = make_message(kLinkMacToViewerReportRedirect);
    rd.report_redirect.wsz_location = "mmst://h/a.wmv";
    r.feed(r.msg(rd));
    r.set_tcp(r.actions().back().channel);
  }
  const Seen* f = r.find(Event::Kind::kFailed);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->status.code(), Code::kLimitExceeded);
}

Message challenge(std::uint32_t inc, std::vector<std::uint8_t> token) {
  Message m = make_message(kLinkMacToViewerSecurityChallenge);
  m.security.play_incarnation = inc;
  m.security.cookie = 77;
  m.security.p_token = std::move(token);
  return m;
}

TEST(MmstClientSession, BasicAuthentication) {
  Rig r("mmst://h/a.wmv", false, "user", "pass");
  handshake(&r, false, "BASIC");
  r.feed(r.msg(challenge(9, basic_challenge_token("MMS"))));
  const Message* resp = r.last_sent(kLinkViewerToMacSecurityResponse);
  ASSERT_NE(resp, nullptr);
  EXPECT_EQ(resp->security.cookie, 77u);
  EXPECT_EQ(resp->security.play_incarnation, 9u);
  EXPECT_EQ(resp->security.p_token, basic_response_token("user", "pass"));
  std::uint8_t inc = open_and_header(&r);
  EXPECT_NE(inc, 0);
  EXPECT_NE(r.find(Event::Kind::kHeader), nullptr);
}

TEST(MmstClientSession, AuthenticationFailures) {
  struct Row {
    const char* user;
    std::vector<std::uint8_t> token;
    int rounds;
    const char* what;
  };
  const Row rows[] = {
      {"", basic_challenge_token("MMS"), 1, "server requires authentication"},
      {"u", basic_challenge_token("MMS"), 2, "server rejected the credentials"},
      {"", {0, 0}, 1, "server requires authentication"},
      {"u", {0, 0}, 3, "server rejected the credentials"},  // NEGOTIATE, NEGOTIATE again?
  };
  for (const Row& row : rows) {
    Rig r("mmst://h/a.wmv", false, row.user, "pw");
    handshake(&r, false, "BASIC");
    for (int i = 0; i < row.rounds; ++i) {
      r.feed(r.msg(challenge(9, row.token)));
    }
    const Seen* f = r.find(Event::Kind::kFailed);
    ASSERT_NE(f, nullptr) << row.what;
    if (row.rounds == 3) {
      // A second initial NTLM challenge instead of a CHALLENGE_MESSAGE.
      EXPECT_EQ(f->status.code(), Code::kPeerViolation);
      continue;
    }
    EXPECT_EQ(f->status.code(), Code::kNotAuthorized);
    EXPECT_STREQ(f->status.what(), row.what);
  }
}

// ---- NTLM (MS-MMSP 2.2.4.14.1, 3.1.5.8): the test plays the server with an
// ntlm::ServerContext.

const auth::ntlm::Nonce8 kServerNonce = {1, 2, 3, 4, 5, 6, 7, 8};
constexpr std::uint64_t kFiletime = 133000000000000000ull;  // 2022

// The NTLMSSP token of the client's last SecurityResponse.
std::string sent_ntlmssp(const Rig& r, bool* wrapped = nullptr) {
  const Message* resp = r.last_sent(kLinkViewerToMacSecurityResponse);
  EXPECT_NE(resp, nullptr);
  if (resp == nullptr) {
    return std::string();
  }
  auto t = parse_ntlm_token(ByteView(resp->security.p_token));
  EXPECT_TRUE(t.ok()) << t.status().what();
  if (!t.ok()) {
    return std::string();
  }
  if (wrapped != nullptr) {
    *wrapped = t->wrapped;
  }
  EXPECT_EQ(resp->security.cookie, 77u);
  EXPECT_EQ(resp->security.play_incarnation, 9u);
  return std::string(t->ntlmssp.as_string_view());
}

// Runs the handshake up to the AUTHENTICATE; returns it (empty on failure).
std::string ntlm_handshake(Rig* r, auth::ntlm::ServerContext* server, bool wrap) {
  handshake(r, false, "NTLM");
  r->feed(r->msg(challenge(9, {0, 0})));  // initial challenge: no token yet
  bool wrapped = false;
  const std::string negotiate = sent_ntlmssp(*r, &wrapped);
  EXPECT_EQ(auth::ntlm::message_type(ByteView::of(negotiate)), 1u);
  EXPECT_TRUE(wrapped);  // the client wraps its tokens in NTLM_AUTH
  auto ch = server->challenge(ByteView::of(negotiate));
  EXPECT_TRUE(ch.ok());
  if (!ch.ok()) {
    return std::string();
  }
  r->feed(r->msg(challenge(9, make_ntlm_token(ByteView::of(*ch), wrap))));
  EXPECT_EQ(r->count_sent(kLinkViewerToMacSecurityResponse), 2u);
  const std::string authenticate = sent_ntlmssp(*r, &wrapped);
  EXPECT_EQ(auth::ntlm::message_type(ByteView::of(authenticate)), 3u);
  EXPECT_EQ(wrapped, wrap);  // answered in the framing of the challenge
  return authenticate;
}

TEST(MmstClientSession, NtlmAuthentication) {
  for (bool wrap : {true, false}) {
    Rig r("mmst://h/a.wmv", false, "WORKGROUP\\user", "pass");
    auth::ntlm::ServerContext server("user", "pass", "MMS-SERVER", kServerNonce, kFiletime);
    const std::string authenticate = ntlm_handshake(&r, &server, wrap);
    EXPECT_TRUE(server.verify(ByteView::of(authenticate)).ok());
    EXPECT_EQ(server.user(), "user");
    auto parsed = auth::ntlm::parse_authenticate(ByteView::of(authenticate));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed->domain, "WORKGROUP");  // DOMAIN\user is split
    EXPECT_EQ(parsed->user, "user");
    std::uint8_t inc = open_and_header(&r);
    EXPECT_NE(inc, 0);
    EXPECT_NE(r.find(Event::Kind::kHeader), nullptr);
    EXPECT_EQ(r.find(Event::Kind::kFailed), nullptr);
  }
}

TEST(MmstClientSession, NtlmCredentialsFromTheUrl) {
  // Credentials in the URL; an empty pToken with AuthenPackage NTLM starts NTLM too.
  Rig r("mmst://user:pass@h/a.wmv", false);
  handshake(&r, false, "NTLM");
  r.feed(r.msg(challenge(9, {})));
  const std::string negotiate = sent_ntlmssp(r);
  auth::ntlm::ServerContext server("user", "pass", "MMS-SERVER", kServerNonce, kFiletime);
  auto ch = server.challenge(ByteView::of(negotiate));
  ASSERT_TRUE(ch.ok());
  r.feed(r.msg(challenge(9, make_ntlm_token(ByteView::of(*ch), true))));
  EXPECT_TRUE(server.verify(ByteView::of(sent_ntlmssp(r))).ok());
}

TEST(MmstClientSession, NtlmWrongPasswordIsRejected) {
  // The server's answer to a wrong AUTHENTICATE: access denied, or another challenge.
  for (bool denied : {true, false}) {
    Rig r("mmst://h/a.wmv", false, "user", "wrong");
    auth::ntlm::ServerContext server("user", "pass", "MMS-SERVER", kServerNonce, kFiletime);
    const std::string authenticate = ntlm_handshake(&r, &server, true);
    EXPECT_EQ(server.verify(ByteView::of(authenticate)).code(), Code::kNotAuthorized);
    if (denied) {
      r.feed(r.msg(with_hr(kLinkMacToViewerReportOpenFile, kHrAccessDenied, 9)));
    } else {
      r.feed(r.msg(challenge(9, {0, 0})));
    }
    const Seen* f = r.find(Event::Kind::kFailed);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->status.code(), Code::kNotAuthorized);
    if (!denied) {
      EXPECT_STREQ(f->status.what(), "server rejected the credentials");
    }
    EXPECT_EQ(r.count_sent(kLinkViewerToMacSecurityResponse), 2u);  // no third try
  }
}

TEST(MmstClientSession, NtlmMalformedChallengesFailCleanly) {
  auth::ntlm::ServerContext server("user", "pass", "MMS-SERVER", kServerNonce, kFiletime);
  const auth::ntlm::ClientContext peer({"user", "pass", "", ""}, kServerNonce, kFiletime);
  const std::string good = *server.challenge(ByteView::of(peer.negotiate()));
  const Bytes wrapped = make_ntlm_token(ByteView::of(good), true);
  // NTLM_AUTH whose NTLMTokenSize runs past the pToken.
  Bytes truncated = wrapped;
  truncated.resize(2 + kNtlmAuthSize + 10);
  // NTLM_AUTH cut inside its own 24 bytes.
  Bytes short_auth = wrapped;
  short_auth.resize(2 + 12);
  // A token above the NTLM message bound.
  std::string big = good;
  big.resize(auth::ntlm::kMaxMessage + 1, 'x');
  // A CHALLENGE whose fields point outside it.
  std::string cut = good;
  cut.resize(40);
  // A NEGOTIATE where a CHALLENGE belongs.
  const std::string negotiate = peer.negotiate();
  struct Row {
    Bytes token;
    Code code;
  };
  const Row rows[] = {
      {{0, 0, 1, 2}, Code::kMalformed},
      {{0, 0, 'N', 'T', 'L', 'M'}, Code::kMalformed},
      {truncated, Code::kMalformed},
      {short_auth, Code::kMalformed},
      {make_ntlm_token(ByteView::of(big), true), Code::kMalformed},
      {make_ntlm_token(ByteView::of(big), false), Code::kMalformed},
      {make_ntlm_token(ByteView::of(cut), true), Code::kMalformed},
      {make_ntlm_token(ByteView::of(negotiate), true), Code::kMalformed},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(to_hex(ByteView(row.token), 64));
    // As the first challenge, and as the answer to our NEGOTIATE.
    for (bool after_negotiate : {false, true}) {
      Rig r("mmst://h/a.wmv", false, "user", "pass");
      handshake(&r, false, "NTLM");
      if (after_negotiate) {
        r.feed(r.msg(challenge(9, {0, 0})));
        ASSERT_EQ(r.count_sent(kLinkViewerToMacSecurityResponse), 1u);
      }
      r.feed(r.msg(challenge(9, row.token)));
      const Seen* f = r.find(Event::Kind::kFailed);
      ASSERT_NE(f, nullptr);
      EXPECT_EQ(f->status.code(), row.code) << f->status.what();
      EXPECT_EQ(r.count_sent(kLinkViewerToMacSecurityResponse), after_negotiate ? 1u : 0u);
    }
  }
}

TEST(MmstClientSession, NtlmTokenFraming) {
  const std::string token = "NTLMSSP" + std::string(1, '\0') + "\x02rest";
  // 00 00 + NTLM_AUTH + token, with a terminating byte after it.
  Bytes w = make_ntlm_token(ByteView::of(token), true);
  ASSERT_EQ(w.size(), 2 + kNtlmAuthSize + token.size());
  EXPECT_EQ(w[2 + 4], 1);              // One
  EXPECT_EQ(w[2 + 12], token.size());  // NTLMTokenSize
  EXPECT_EQ(w[2 + 16], 2);             // Two
  w.push_back(0);
  auto t = parse_ntlm_token(ByteView(w));
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->wrapped);
  EXPECT_EQ(t->ntlmssp.as_string_view(), token);
  // NTLM_AUTH overlapping the two zero bytes (its Zero field read as them).
  Bytes overlap(w.begin() + 2, w.end());
  t = parse_ntlm_token(ByteView(overlap));
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->wrapped);
  EXPECT_EQ(t->ntlmssp.as_string_view(), token);
  // Bare token.
  const Bytes b = make_ntlm_token(ByteView::of(token), false);
  t = parse_ntlm_token(ByteView(b));
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->wrapped);
  EXPECT_EQ(t->ntlmssp.as_string_view(), token);
  // The initial challenge, alone or with a terminating byte.
  for (const Bytes& e : {Bytes{0, 0}, Bytes{0, 0, 0}, make_ntlm_token(ByteView(), true)}) {
    t = parse_ntlm_token(ByteView(e));
    ASSERT_TRUE(t.ok());
    EXPECT_TRUE(t->ntlmssp.empty());
  }
  // Every prefix of a wrapped token parses or fails; none reads past it.
  for (std::size_t n = 0; n <= w.size(); ++n) {
    const Bytes cut(w.begin(), w.begin() + static_cast<std::ptrdiff_t>(n));
    auto c = parse_ntlm_token(ByteView(cut));
    if (c.ok()) {
      EXPECT_LE(c->ntlmssp.size(), cut.size());
    }
  }
  EXPECT_FALSE(parse_ntlm_token(ByteView(basic_challenge_token("R"))).ok());
}

TEST(MmstClientSession, HresultsMapToCodes) {
  struct Row {
    std::uint32_t hr;
    Code code;
  };
  const Row rows[] = {
      {kHrFileNotFound, Code::kNotFound},     {kNsEFileNotFound, Code::kNotFound},
      {kHrPathNotFound, Code::kNotFound},     {kHrAccessDenied, Code::kNotAuthorized},
      {kNsETooManySess, Code::kRefused},      {kHrFail, Code::kRefused},
      {kNsEProtocolMismatch, Code::kRefused},
  };
  for (const Row& row : rows) {
    Rig r("mmst://h/a.wmv", false);
    handshake(&r);
    r.feed(r.msg(with_hr(kLinkMacToViewerReportOpenFile, row.hr, 9)));
    const Seen* f = r.find(Event::Kind::kFailed);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->status.code(), row.code) << std::hex << row.hr;
    EXPECT_EQ(f->status.detail(), row.hr);
    EXPECT_NE(f->detail.find("HRESULT"), std::string::npos);
  }
  // Connect refused by HRESULT.
  Rig c("mmst://h/a.wmv", false);
  c.s().play(session::PlayRequest{}, c.now());
  c.drain();
  c.set_tcp(c.actions().back().channel);
  c.s().on_connected(c.tcp(), c.now());
  c.feed(c.msg(with_hr(kLinkMacToViewerReportConnectedEX, kNsEProtocolMismatch)));
  ASSERT_NE(c.find(Event::Kind::kFailed), nullptr);
  EXPECT_EQ(c.find(Event::Kind::kFailed)->status.code(), Code::kRefused);
  // A streaming error.
  Rig s("mmst://h/a.wmv", false);
  handshake(&s);
  std::uint8_t inc = open_and_header(&s);
  started(&s, inc);
  s.feed(s.msg(with_hr(kLinkMacToViewerReportEndOfStream, kNsEFilePlayFailed, inc)));
  ASSERT_NE(s.find(Event::Kind::kFailed), nullptr);
  EXPECT_EQ(s.find(Event::Kind::kFailed)->status.code(), Code::kPeerViolation);
  EXPECT_EQ(s.find(Event::Kind::kFailed)->status.detail(), kNsEFilePlayFailed);
}

TEST(MmstClientSession, FunnelRefusedIsRefused) {
  Rig r("mmst://h/a.wmv", false);
  r.s().play(session::PlayRequest{}, r.now());
  r.drain();
  r.set_tcp(r.actions().back().channel);
  r.s().on_connected(r.tcp(), r.now());
  r.feed(r.msg(connected_ex()));
  r.feed(r.msg(funnel_info()));
  Message d = make_message(kLinkMacToViewerReportDisconnectedFunnel);
  d.report_disconnected_funnel.hr = kNsENoFunnel;
  r.feed(r.msg(d));
  const Seen* f = r.find(Event::Kind::kFailed);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->status.code(), Code::kRefused);
  EXPECT_EQ(f->status.detail(), kNsENoFunnel);
}

TEST(MmstClientSession, LostConnectionTimeoutsAndGarbage) {
  {
    Rig r("mmst://h/a.wmv", false);
    handshake(&r);
    std::uint8_t inc = open_and_header(&r);
    started(&r, inc);
    r.s().on_eof(r.tcp(), r.now());
    r.drain();
    ASSERT_NE(r.find(Event::Kind::kFailed), nullptr);
    EXPECT_EQ(r.find(Event::Kind::kFailed)->status.code(), Code::kConnectionLost);
  }
  {
    Rig r("mmst://h/a.wmv", false);
    handshake(&r);
    std::optional<Instant> d = r.s().next_deadline();
    ASSERT_TRUE(d.has_value());
    r.advance(*d - r.now());
    r.timeout();
    ASSERT_NE(r.find(Event::Kind::kFailed), nullptr);
    EXPECT_EQ(r.find(Event::Kind::kFailed)->status.code(), Code::kTimedOut);
  }
  {
    Rig r("mmst://h/a.wmv", false);
    r.s().play(session::PlayRequest{}, r.now());
    r.drain();
    r.set_tcp(r.actions().back().channel);
    r.s().on_connected(r.tcp(), r.now());
    const std::string http = "HTTP/1.0 200 OK\r\n\r\n";
    r.feed(Bytes(http.begin(), http.end()));
    ASSERT_NE(r.find(Event::Kind::kFailed), nullptr);
    EXPECT_EQ(r.find(Event::Kind::kFailed)->status.code(), Code::kMalformed);
  }
}

// A server that stops sending data but keeps pinging is stalled: Pings are
// answered but do not restart the no-data timer, so the session fails instead
// of waiting forever with the consumer starved.
void pings_do_not_hide_a_stall(bool byte_by_byte) {
  Rig r("mmst://h/a.wmv", false);
  handshake(&r);
  std::uint8_t inc = open_and_header(&r);
  started(&r, inc);
  r.feed(data_packet(0, inc), byte_by_byte);
  const Instant last_data = r.now();
  for (int i = 0; i < 5 && r.find(Event::Kind::kFailed) == nullptr; ++i) {
    r.advance(3 * kSecond);
    r.feed(r.msg(make_message(kLinkMacToViewerPing)), byte_by_byte);
    std::optional<Instant> d = r.s().next_deadline();
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->ns, (last_data + 10 * kSecond).ns);  // the Ping did not move it
    if (r.now() >= *d) {
      r.timeout();
    }
  }
  const Seen* f = r.find(Event::Kind::kFailed);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->status.code(), Code::kTimedOut);
  EXPECT_EQ(r.count_sent(kLinkViewerToMacPong), 4u);  // answered until the timeout
  EXPECT_EQ(r.packets().size(), 1u);
}

TEST(MmstClientSession, PingsDoNotHideAStalledStreamWhole) {
  pings_do_not_hide_a_stall(false);
}
TEST(MmstClientSession, PingsDoNotHideAStalledStreamByteByByte) {
  pings_do_not_hide_a_stall(true);
}

TEST(MmstClientSession, APacketTricklingInIsProgress) {
  // A Data packet arriving in pieces slower than the timeout as a whole
  // (a slow link) keeps the session alive, with a Ping after it.
  Rig r("mmst://h/a.wmv", false);
  handshake(&r);
  std::uint8_t inc = open_and_header(&r);
  started(&r, inc);
  Bytes b = data_packet(0, inc);
  cat(&b, r.msg(make_message(kLinkMacToViewerPing)));
  const std::size_t step = b.size() / 4 + 1;
  for (std::size_t off = 0; off < b.size(); off += step) {
    r.advance(4 * kSecond);
    r.timeout();
    const std::size_t n = std::min(step, b.size() - off);
    r.feed(Bytes(b.begin() + static_cast<std::ptrdiff_t>(off),
                 b.begin() + static_cast<std::ptrdiff_t>(off + n)));
  }
  EXPECT_EQ(r.find(Event::Kind::kFailed), nullptr);
  EXPECT_EQ(r.packets().size(), 1u);
  EXPECT_EQ(r.count_sent(kLinkViewerToMacPong), 1u);
}

TEST(MmstClientSession, OversizedDataPacketFails) {
  Rig r("mmst://h/a.wmv", false);
  handshake(&r);
  std::uint8_t inc = open_and_header(&r);
  started(&r, inc);
  Bytes big(media().packet_size + 1, 0);
  Bytes out;
  ASSERT_TRUE(encode_data_packet(0, inc, 0, ByteView(big.data(), big.size()), &out).ok());
  r.feed(out);
  ASSERT_NE(r.find(Event::Kind::kFailed), nullptr);
  EXPECT_EQ(r.find(Event::Kind::kFailed)->status.code(), Code::kMalformed);
}

// --- UDP -----------------------------------------------------------------------

Bytes udp_packet(std::uint32_t n, std::uint8_t inc, std::uint8_t seq) {
  return data_packet(n, inc, seq);
}

// Handshake in UDP mode up to StartPlaying; returns its incarnation.
std::uint8_t udp_setup(Rig* r, std::uint32_t attrs = kFileAttributeCanSeek) {
  r->s().play(session::PlayRequest{}, r->now());
  r->drain();
  EXPECT_EQ(r->actions().back().kind, IoAction::Kind::kBindUdp);
  r->set_udp(r->actions().back().channel);
  r->s().on_udp_bound(r->actions().back().channel, 7000, r->now());
  r->drain();
  EXPECT_EQ(r->actions().back().kind, IoAction::Kind::kConnectTcp);
  r->set_tcp(r->actions().back().channel);
  r->s().on_connected(r->tcp(), r->now());
  r->feed(r->msg(connected_ex()));
  r->feed(r->msg(funnel_info()));
  const Message* cf = r->last_sent(kLinkViewerToMacConnectFunnel);
  EXPECT_NE(cf, nullptr);
  if (cf != nullptr) {
    EXPECT_NE(cf->connect_funnel.funnel_name.find("\\UDP\\7000"), std::string::npos);
  }
  r->feed(r->msg(make_message(kLinkMacToViewerReportConnectedFunnel)));
  r->feed(r->msg(open_file_ok(9, attrs)));
  const Message* rb = r->last_sent(kLinkViewerToMacReadBlock);
  EXPECT_NE(rb, nullptr);
  if (rb == nullptr) {
    return 0;
  }
  auto hinc = static_cast<std::uint8_t>(rb->read_block.play_incarnation);
  // Header fragments over UDP, last one first.
  Bytes all = header_packets(hinc, 1000);
  std::vector<Bytes> frags;
  std::size_t off = 0;
  while (off < all.size()) {
    DataPacket p;
    Status err;
    EXPECT_EQ(decode_data_packet(ByteView(all.data() + off, all.size() - off), &p, &err),
              Decode::kDone);
    frags.emplace_back(all.begin() + static_cast<std::ptrdiff_t>(off),
                       all.begin() + static_cast<std::ptrdiff_t>(off + p.packet_size));
    off += p.packet_size;
  }
  EXPECT_GE(frags.size(), 2u);
  r->datagram(frags.back());
  for (std::size_t i = 0; i + 1 < frags.size(); ++i) {
    r->datagram(frags[i]);
  }
  EXPECT_NE(r->find(Event::Kind::kHeader), nullptr);
  const Message* sp = r->last_sent(kLinkViewerToMacStartPlaying);
  EXPECT_NE(sp, nullptr);
  if (sp == nullptr) {
    return 0;
  }
  auto inc = static_cast<std::uint8_t>(sp->start_playing.play_incarnation);
  Message st = make_message(kLinkMacToViewerReportStartedPlaying);
  st.report_started_playing.play_incarnation = inc;
  r->feed(r->msg(st));
  return inc;
}

// Plays and connects TCP; the server's ReportConnectedEX grants packet pair
// (or, with `grant` false, says nothing of it).
void connect_tcp(Rig* r, bool grant = true) {
  r->s().play(session::PlayRequest{}, r->now());
  r->drain();
  r->set_tcp(r->actions().back().channel);
  r->s().on_connected(r->tcp(), r->now());
  r->drain();
  Message cex = connected_ex();
  if (grant) {
    cex.report_connected_ex.play_incarnation = kMmsUsePacketPair;
  }
  r->feed(r->msg(cex));
}

// One of the TCP packet pair's ReportFunnelInfo with `n` filler bytes.
Bytes pair_funnel_info(Rig* r, std::size_t n, std::uint8_t fill) {
  Message m = funnel_info();
  m.report_funnel_info.play_incarnation = kMmsUseHighEntropyPacketPairTcp;
  m.report_funnel_info.packet_pair_data.assign(n, fill);
  return r->msg(m);
}

// TCP packet pair (MS-MMSP 3.2.5.4): asked for in Connect and FunnelInfo; the
// three ReportFunnelInfo of 512, 512 and 1056 bytes, spaced by the link, give
// the estimate; ConnectFunnel follows the third.
TEST(MmstClientSession, TcpPacketPairMeasuresTheLink) {
  for (const bool byte_by_byte : {false, true}) {
    SCOPED_TRACE(byte_by_byte);
    Rig r("mmst://h/x.asf", false);
    connect_tcp(&r);
    const Message* fi = r.last_sent(kLinkViewerToMacFunnelInfo);
    ASSERT_NE(fi, nullptr);
    EXPECT_EQ(fi->funnel_info.play_incarnation, kMmsUseHighEntropyPacketPairTcp);
    std::vector<Bytes> pairs;
    for (std::size_t n : {432u, 432u, 976u}) {
      pairs.push_back(pair_funnel_info(&r, n, 0x5A));
    }
    ASSERT_EQ(pairs[0].size(), 512u);
    ASSERT_EQ(pairs[2].size(), 1056u);
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      if (i > 0) {
        r.advance(10 * kMillisecond);
      }
      EXPECT_EQ(r.last_sent(kLinkViewerToMacConnectFunnel), nullptr) << "before pair " << i;
      r.feed(pairs[i], byte_by_byte);
    }
    ASSERT_NE(r.last_sent(kLinkViewerToMacConnectFunnel), nullptr);
    const Seen* bw = r.find(Event::Kind::kBandwidth);
    ASSERT_NE(bw, nullptr);
    EXPECT_EQ(bw->bandwidth_bps, (512u + 1056u) * 8u * 1000u / 20u);
    EXPECT_EQ(r.count(Event::Kind::kBandwidth), 1u);
    // The rest of the session goes on as without the probe.
    r.feed(r.msg(make_message(kLinkMacToViewerReportConnectedFunnel)));
    EXPECT_NE(r.last_sent(kLinkViewerToMacOpenFile), nullptr);
    EXPECT_EQ(r.count(Event::Kind::kFailed), 0u);
  }
}

TEST(MmstClientSession, PacketPairThatArrivesAtOnceIsTooFastToTell) {
  Rig r("mmst://h/x.asf", false);
  connect_tcp(&r);
  Bytes all;
  for (std::size_t n : {432u, 432u, 976u}) {
    cat(&all, pair_funnel_info(&r, n, 0));
  }
  r.feed(all);
  const Seen* bw = r.find(Event::Kind::kBandwidth);
  ASSERT_NE(bw, nullptr);
  EXPECT_EQ(bw->bandwidth_bps, 0u);
  EXPECT_NE(r.last_sent(kLinkViewerToMacConnectFunnel), nullptr);
}

TEST(MmstClientSession, PacketPairDisabledOrRefusedIsNotAskedFor) {
  session::ClientConfig cfg = test::client_config("mmst://h/x.asf", "", "");
  cfg.packet_pair = false;
  Rig off(cfg, false);
  connect_tcp(&off);  // granted all the same
  const Message* connect = off.last_sent(kLinkViewerToMacConnect);
  ASSERT_NE(connect, nullptr);
  EXPECT_EQ(connect->connect.play_incarnation, kMmsDisablePacketPair);
  ASSERT_NE(off.last_sent(kLinkViewerToMacFunnelInfo), nullptr);
  EXPECT_EQ(off.last_sent(kLinkViewerToMacFunnelInfo)->funnel_info.play_incarnation,
            kMmsDisablePacketPair);

  Rig r("mmst://h/x.asf", false);
  connect_tcp(&r, false);  // the server says no packet pair
  const Message* fi = r.last_sent(kLinkViewerToMacFunnelInfo);
  ASSERT_NE(fi, nullptr);
  EXPECT_EQ(fi->funnel_info.play_incarnation, kMmsDisablePacketPair);
  r.feed(r.msg(funnel_info()));
  EXPECT_NE(r.last_sent(kLinkViewerToMacConnectFunnel), nullptr);
  EXPECT_EQ(r.count(Event::Kind::kBandwidth), 0u);
}

// UDP packet pair (MS-MMSP 3.2.5.8): two 1472-byte Data packets after
// ReadBlock; the second's size over the gap.
TEST(MmstClientSession, UdpPacketPairMeasuresTheGapOfTwoDatagrams) {
  Rig r("mmsu://h/x.asf", true);
  r.s().play(session::PlayRequest{}, r.now());
  r.drain();
  r.set_udp(r.actions().back().channel);
  r.s().on_udp_bound(r.actions().back().channel, 7000, r.now());
  r.drain();
  r.set_tcp(r.actions().back().channel);
  r.s().on_connected(r.tcp(), r.now());
  Message cex = connected_ex();
  cex.report_connected_ex.play_incarnation = kMmsUsePacketPair;
  r.feed(r.msg(cex));
  const Message* fi = r.last_sent(kLinkViewerToMacFunnelInfo);
  ASSERT_NE(fi, nullptr);
  EXPECT_EQ(fi->funnel_info.play_incarnation, kMmsUseHighEntropyPacketPairUdp);
  Message rfi = funnel_info();
  rfi.report_funnel_info.play_incarnation = kMmsUseHighEntropyPacketPairUdp;
  r.feed(r.msg(rfi));
  r.feed(r.msg(make_message(kLinkMacToViewerReportConnectedFunnel)));
  r.feed(r.msg(open_file_ok(9)));
  ASSERT_NE(r.last_sent(kLinkViewerToMacReadBlock), nullptr);
  const Bytes noise(kUdpPacketPairPayload, 0xA5);
  Bytes p0;
  Bytes p1;
  ASSERT_TRUE(encode_data_packet(kPacketPairLocationId0, kPacketPairIncarnation, kAfPacketPair,
                                 ByteView(noise.data(), noise.size()), &p0)
                  .ok());
  ASSERT_TRUE(encode_data_packet(kPacketPairLocationId1, kPacketPairIncarnation, kAfPacketPair,
                                 ByteView(noise.data(), noise.size()), &p1)
                  .ok());
  ASSERT_EQ(p1.size(), 1472u);
  r.datagram(p0);
  r.advance(4 * kMillisecond);
  r.datagram(p1);
  r.datagram(p1);  // a repeat changes nothing
  const Seen* bw = r.find(Event::Kind::kBandwidth);
  ASSERT_NE(bw, nullptr);
  EXPECT_EQ(bw->bandwidth_bps, 1472u * 8u * 1000u / 4u);
  EXPECT_EQ(r.count(Event::Kind::kBandwidth), 1u);
  EXPECT_EQ(r.count(Event::Kind::kFailed), 0u);
}

TEST(MmstClientSession, UdpLossTriggersResendRequest) {
  Rig r("mmsu://127.0.0.1:1755/a.wmv", true);
  std::uint8_t inc = udp_setup(&r);
  ASSERT_NE(inc, 0);
  r.datagram(udp_packet(0, inc, 0));
  r.datagram(udp_packet(1, inc, 1));
  r.datagram(udp_packet(3, inc, 3));
  r.datagram(udp_packet(4, inc, 4));
  EXPECT_EQ(r.packets().size(), 2u);
  ASSERT_EQ(r.datagrams().size(), 1u);
  const IoAction& rq = r.datagrams()[0];
  EXPECT_EQ(rq.host, "127.0.0.1");
  EXPECT_EQ(rq.port, 1755);
  RequestPacketListResend req;
  Bytes b(rq.bytes.begin(), rq.bytes.end());
  ASSERT_TRUE(decode_resend(ByteView(b.data(), b.size()), &req).ok());
  EXPECT_EQ(req.dw_client_id, kClientId);
  EXPECT_EQ(req.w_source_id, 1);
  ASSERT_EQ(req.dw_begin_packet_list.size(), 1u);
  EXPECT_EQ(req.dw_begin_packet_list[0], 2u);
  r.datagram(udp_packet(2, inc, 2));  // the resent copy
  std::vector<Seen> pk = r.packets();
  ASSERT_EQ(pk.size(), 5u);
  for (std::uint32_t i = 0; i < 5; ++i) {
    EXPECT_EQ(pk[i].packet_number, i);
    EXPECT_EQ(pk[i].payload, media().packets[i]);
    EXPECT_FALSE(pk[i].discont);
  }
  EXPECT_EQ(r.s().udp_recovered(), 1u);
  EXPECT_EQ(r.s().udp_lost(), 0u);
  EXPECT_EQ(r.find(Event::Kind::kConnected)->detail, "mmsu");
}

TEST(MmstClientSession, UdpReorderAndDuplicates) {
  Rig r("mmsu://h/a.wmv", true);
  std::uint8_t inc = udp_setup(&r);
  for (std::uint8_t s : {0, 2, 1, 1, 3, 0}) {
    r.datagram(udp_packet(s, inc, s));
  }
  std::vector<Seen> pk = r.packets();
  ASSERT_EQ(pk.size(), 4u);
  for (std::uint32_t i = 0; i < 4; ++i) {
    EXPECT_EQ(pk[i].packet_number, i);
    EXPECT_FALSE(pk[i].discont);
  }
}

TEST(MmstClientSession, UdpUnrecoveredBroadcastLossIsDiscont) {
  Rig r("mmsu://h/a.wmv", true);
  std::uint8_t inc = udp_setup(&r, kFileAttributeBroadcast);
  r.datagram(udp_packet(0, inc, 0));
  r.datagram(udp_packet(2, inc, 2));
  EXPECT_EQ(r.packets().size(), 1u);
  // Re-requested after the retry interval, then given up.
  r.advance(kUdpResendRetry);
  r.timeout();
  EXPECT_EQ(r.datagrams().size(), 2u);
  std::optional<Instant> d = r.s().next_deadline();
  ASSERT_TRUE(d.has_value());
  r.advance(kUdpLossDeadline);
  r.timeout();
  std::vector<Seen> pk = r.packets();
  ASSERT_EQ(pk.size(), 2u);
  EXPECT_EQ(pk[1].packet_number, 2u);
  EXPECT_TRUE(pk[1].discont);
  EXPECT_EQ(r.s().udp_lost(), 1u);
  EXPECT_EQ(r.s().udp_replays(), 0u);
  r.datagram(udp_packet(1, inc, 1));  // too late: dropped
  EXPECT_EQ(r.packets().size(), 2u);
}

TEST(MmstClientSession, UdpUnrecoveredOnDemandLossPlaysAgainFromTheGap) {
  Rig r("mmsu://h/a.wmv", true);
  std::uint8_t inc = udp_setup(&r);
  r.datagram(udp_packet(0, inc, 0));
  r.datagram(udp_packet(2, inc, 2));
  r.advance(kUdpLossDeadline);
  r.timeout();
  // Nothing is given up: StartPlaying again at packet 1, a new incarnation.
  EXPECT_EQ(r.s().udp_lost(), 0u);
  EXPECT_EQ(r.s().udp_replays(), 1u);
  const Message* sp = r.last_sent(kLinkViewerToMacStartPlaying);
  ASSERT_NE(sp, nullptr);
  EXPECT_EQ(sp->start_playing.location_id, 1u);
  const auto inc2 = static_cast<std::uint8_t>(sp->start_playing.play_incarnation);
  EXPECT_NE(inc2, inc);
  Message st = make_message(kLinkMacToViewerReportStartedPlaying);
  st.report_started_playing.play_incarnation = inc2;
  r.feed(r.msg(st));
  // The old play's packets are dropped; the new play continues the
  // server's sequence counter (here after two more of the old play).
  r.datagram(udp_packet(3, inc, 3));
  for (std::uint32_t n = 1; n < 6; ++n) {
    r.datagram(udp_packet(n, inc2, static_cast<std::uint8_t>(n + 3)));
  }
  std::vector<Seen> pk = r.packets();
  ASSERT_EQ(pk.size(), 6u);
  for (std::uint32_t i = 0; i < 6; ++i) {
    EXPECT_EQ(pk[i].packet_number, i);
    EXPECT_EQ(pk[i].payload, media().packets[i]);
    EXPECT_FALSE(pk[i].discont);
  }
}

// A play none of whose datagrams arrive before its end of stream (a blackout
// longer than a Fast Start burst): never a short EOS. It plays again from the
// next packet, and when that keeps ending empty, the connection is given up
// (kConnectionLost, which the rollover turns into a reconnect).
TEST(MmstClientSession, UdpPlayEndingWithoutItsDatagramsIsNotTheEnd) {
  Rig r("mmsu://h/a.wmv", true);
  std::uint8_t inc = udp_setup(&r);
  ASSERT_GT(media().packets.size(), 4u);
  r.datagram(udp_packet(0, inc, 0));
  r.datagram(udp_packet(1, inc, 1));
  r.datagram(udp_packet(3, inc, 3));  // 2 lost for good
  r.advance(kUdpLossDeadline);
  r.timeout();
  ASSERT_EQ(r.s().udp_replays(), 1u);
  std::uint8_t cur = static_cast<std::uint8_t>(
      r.last_sent(kLinkViewerToMacStartPlaying)->start_playing.play_incarnation);
  unsigned plays = 0;
  for (int round = 0; round < 20 && r.find(Event::Kind::kFailed) == nullptr; ++round) {
    Message st = make_message(kLinkMacToViewerReportStartedPlaying);
    st.report_started_playing.play_incarnation = cur;
    r.feed(r.msg(st));
    Message eos = make_message(kLinkMacToViewerReportEndOfStream);
    eos.report_end_of_stream.play_incarnation = cur;
    r.feed(r.msg(eos));  // and not one datagram of this play
    ASSERT_EQ(r.find(Event::Kind::kEos), nullptr) << "round " << round;
    const Message* sp = r.last_sent(kLinkViewerToMacStartPlaying);
    ASSERT_NE(sp, nullptr);
    const auto next = static_cast<std::uint8_t>(sp->start_playing.play_incarnation);
    if (next != cur) {
      ++plays;
      EXPECT_EQ(sp->start_playing.location_id, 2u);  // from the first packet not delivered
      cur = next;
    }
  }
  const Seen* f = r.find(Event::Kind::kFailed);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->status.code(), Code::kConnectionLost);
  EXPECT_GE(plays, 1u);
  EXPECT_LE(plays, static_cast<unsigned>(kMaxUdpReplays));
  EXPECT_EQ(r.packets().size(), 2u);
  EXPECT_EQ(r.find(Event::Kind::kEos), nullptr);

  // A play that does bring its packets ends normally.
  Rig ok("mmsu://h/a.wmv", true);
  std::uint8_t i2 = udp_setup(&ok);
  for (std::uint32_t n = 0; n < media().packets.size(); ++n) {
    ok.datagram(udp_packet(n, i2, static_cast<std::uint8_t>(n)));
  }
  Message eos = make_message(kLinkMacToViewerReportEndOfStream);
  eos.report_end_of_stream.play_incarnation = i2;
  ok.feed(ok.msg(eos));
  EXPECT_NE(ok.find(Event::Kind::kEos), nullptr);
  EXPECT_EQ(ok.find(Event::Kind::kFailed), nullptr);
}

TEST(MmstClientSession, UdpLossBurstLongerThanAfFlagsIsAskedForByLocation) {
  // 300 packets lost in a row: AFFlags alone (8 bits) would see a gap of 44.
  Rig r("mmsu://h/a.wmv", true);
  std::uint8_t inc = udp_setup(&r);
  const auto n = static_cast<std::uint32_t>(media().packets.size());
  auto packet_at = [&](std::uint32_t loc) {
    Bytes out;
    const Bytes& p = media().packets[loc % n];
    EXPECT_TRUE(encode_data_packet(loc, inc, static_cast<std::uint8_t>(loc),
                                   ByteView(p.data(), p.size()), &out)
                    .ok());
    return out;
  };
  r.datagram(packet_at(0));
  r.datagram(packet_at(301));
  r.advance(kMillisecond);  // more than one round of requests
  r.timeout();
  std::set<std::uint32_t> asked;
  for (const IoAction& a : r.datagrams()) {
    RequestPacketListResend req;
    Bytes b(a.bytes.begin(), a.bytes.end());
    ASSERT_TRUE(decode_resend(ByteView(b.data(), b.size()), &req).ok());
    asked.insert(req.dw_begin_packet_list.begin(), req.dw_begin_packet_list.end());
  }
  EXPECT_EQ(asked.size(), 300u);
  EXPECT_EQ(*asked.begin(), 1u);
  EXPECT_EQ(*asked.rbegin(), 300u);
  for (std::uint32_t loc = 1; loc <= 300; ++loc) {
    r.datagram(packet_at(loc));
  }
  std::vector<Seen> pk = r.packets();
  ASSERT_EQ(pk.size(), 302u);
  for (std::uint32_t i = 0; i < pk.size(); ++i) {
    EXPECT_EQ(pk[i].packet_number, i);
  }
  EXPECT_EQ(r.s().udp_recovered(), 300u);
  EXPECT_EQ(r.s().udp_lost(), 0u);
}

TEST(MmstClientSession, UdpResendRetryFollowsTheMeasuredRoundTrip) {
  Rig r("mmsu://h/a.wmv", true);
  std::uint8_t inc = udp_setup(&r);
  r.datagram(udp_packet(0, inc, 0));
  r.datagram(udp_packet(2, inc, 2));  // asks for 1
  ASSERT_EQ(r.datagrams().size(), 1u);
  r.advance(2 * kMillisecond);
  r.datagram(udp_packet(1, inc, 1));  // answered after 2 ms
  r.datagram(udp_packet(4, inc, 4));  // asks for 3
  ASSERT_EQ(r.datagrams().size(), 2u);
  // Four round trips, at least kUdpResendRetryMin: asked again after 10 ms,
  // not after kUdpResendRetry.
  std::optional<Instant> d = r.s().next_deadline();
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, r.now() + kUdpResendRetryMin);
  r.advance(kUdpResendRetryMin);
  r.timeout();
  EXPECT_EQ(r.datagrams().size(), 3u);
}

// MMS/UDP on-demand: a pause would throw away what is in flight, so a short
// stall of the consumer goes on delivering; the server is paused only when
// the stall lasts kUdpThrottleGrace (or kUdpThrottleSlackBytes more came).
TEST(MmstClientSession, UdpThrottleGraceBeforeStopPlaying) {
  Rig r("mmsu://h/a.wmv", true);
  std::uint8_t inc = udp_setup(&r);
  r.datagram(udp_packet(0, inc, 0));
  r.s().on_throttle(true, r.now());
  r.drain();
  EXPECT_EQ(r.last_sent(kLinkViewerToMacStopPlaying), nullptr);
  r.datagram(udp_packet(1, inc, 1));  // still delivered
  r.s().on_throttle(false, r.now());  // the stall ends in time
  r.drain();
  r.datagram(udp_packet(2, inc, 2));
  EXPECT_EQ(r.last_sent(kLinkViewerToMacStopPlaying), nullptr);
  EXPECT_EQ(r.count_sent(kLinkViewerToMacStartPlaying), 1u);
  ASSERT_EQ(r.packets().size(), 3u);
  // A longer stall: paused after the grace, resumed at the next packet.
  r.s().on_throttle(true, r.now());
  r.drain();
  std::optional<Instant> d = r.s().next_deadline();
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, r.now() + kUdpThrottleGrace);
  r.advance(kUdpThrottleGrace);
  r.timeout();
  const Message* stop = r.last_sent(kLinkViewerToMacStopPlaying);
  ASSERT_NE(stop, nullptr);
  EXPECT_EQ(stop->stop_playing.play_incarnation, inc);
  r.datagram(udp_packet(3, inc, 3));  // in flight after StopPlaying: dropped
  EXPECT_EQ(r.packets().size(), 3u);
  r.s().on_throttle(false, r.now());
  r.drain();
  const Message* sp = r.last_sent(kLinkViewerToMacStartPlaying);
  ASSERT_NE(sp, nullptr);
  EXPECT_EQ(sp->start_playing.location_id, 3u);
}

TEST(MmstClientSession, UdpThrottleGraceEndsAfterTheSlackBytes) {
  Rig r("mmsu://h/a.wmv", true);
  std::uint8_t inc = udp_setup(&r);
  const auto n = static_cast<std::uint32_t>(media().packets.size());
  r.s().on_throttle(true, r.now());
  r.drain();
  std::size_t bytes = 0;
  std::uint32_t loc = 0;
  for (; bytes <= kUdpThrottleSlackBytes && loc < 100000; ++loc) {
    Bytes out;
    const Bytes& p = media().packets[loc % n];
    ASSERT_TRUE(encode_data_packet(loc, inc, static_cast<std::uint8_t>(loc),
                                   ByteView(p.data(), p.size()), &out)
                    .ok());
    r.datagram(out);
    bytes += p.size();
    EXPECT_EQ(r.last_sent(kLinkViewerToMacStopPlaying), nullptr) << loc;
  }
  // One more after the slack: StopPlaying.
  r.datagram(udp_packet(loc % n, inc, static_cast<std::uint8_t>(loc)));
  EXPECT_NE(r.last_sent(kLinkViewerToMacStopPlaying), nullptr);
  EXPECT_EQ(r.packets().size(), loc);
}

TEST(MmstClientSession, ThrottleKeepsTheViewsOfQueuedPackets) {
  // The I/O layer tells the session about back-pressure while it drains the
  // events of an input: packets handed out before must stay readable.
  Rig r("mmsu://h/a.wmv", true);
  std::uint8_t inc = udp_setup(&r);
  r.datagram(udp_packet(0, inc, 0));
  for (std::uint32_t n = 2; n < 6; ++n) {
    r.datagram(udp_packet(n, inc, static_cast<std::uint8_t>(n)));  // held
  }
  const Bytes one = udp_packet(1, inc, 1);
  r.s().on_datagram(r.udp(), ByteView(one.data(), one.size()), r.now());
  Event e;
  std::vector<Event> first;
  ASSERT_TRUE(r.s().next_event(&e));
  first.push_back(e);
  r.s().on_throttle(true, r.now());  // the first packet filled the queue
  while (r.s().next_event(&e)) {
    first.push_back(e);
  }
  ASSERT_EQ(first.size(), 5u);
  for (std::uint32_t i = 0; i < 5; ++i) {
    EXPECT_EQ(first[i].packet_number, i + 1);
    EXPECT_EQ(first[i].payload.to_vector(), media().packets[i + 1]);
  }
}

TEST(MmstClientSession, UdpTailLossIsProbedBeforeEos) {
  Rig r("mmsu://h/a.wmv", true);
  std::uint8_t inc = udp_setup(&r);
  const auto n = static_cast<std::uint32_t>(media().packets.size());
  ASSERT_GE(n, 3u);
  for (std::uint32_t i = 0; i + 1 < n; ++i) {
    r.datagram(udp_packet(i, inc, static_cast<std::uint8_t>(i)));
  }
  Message eos = make_message(kLinkMacToViewerReportEndOfStream);
  eos.report_end_of_stream.play_incarnation = inc;
  r.feed(r.msg(eos));
  EXPECT_EQ(r.find(Event::Kind::kEos), nullptr);  // waits for the last packet
  ASSERT_FALSE(r.datagrams().empty());
  r.datagram(udp_packet(n - 1, inc, static_cast<std::uint8_t>(n - 1)));
  EXPECT_EQ(r.packets().size(), n);
  EXPECT_NE(r.find(Event::Kind::kEos), nullptr);
}

TEST(MmstClientSession, UdpSilenceTimesOut) {
  Rig r("mmsu://h/a.wmv", true);
  r.s().play(session::PlayRequest{}, r.now());
  r.drain();
  r.set_udp(r.actions().back().channel);
  r.s().on_udp_bound(r.actions().back().channel, 7000, r.now());
  r.drain();
  r.set_tcp(r.actions().back().channel);
  r.s().on_connected(r.tcp(), r.now());
  r.feed(r.msg(connected_ex()));
  r.feed(r.msg(funnel_info()));
  r.feed(r.msg(make_message(kLinkMacToViewerReportConnectedFunnel)));
  r.feed(r.msg(open_file_ok(9)));
  Message rrb = make_message(kLinkMacToViewerReportReadBlock);
  rrb.report_read_block.play_incarnation = 1;
  r.feed(r.msg(rrb));
  for (int i = 0; i < 100 && r.find(Event::Kind::kFailed) == nullptr; ++i) {
    std::optional<Instant> d = r.s().next_deadline();
    ASSERT_TRUE(d.has_value());
    r.advance(*d - r.now());
    r.timeout();
  }
  const Seen* f = r.find(Event::Kind::kFailed);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->status.code(), Code::kTimedOut);
  EXPECT_STREQ(f->status.what(), "no UDP data from the server");
}

TEST(MmstClientSession, UdpBindFailureFails) {
  Rig r("mmsu://h/a.wmv", true);
  r.s().play(session::PlayRequest{}, r.now());
  r.drain();
  r.s().on_connect_failed(r.actions().back().channel,
                          Status(Code::kRefused, "no free port in range"), r.now());
  r.drain();
  ASSERT_NE(r.find(Event::Kind::kFailed), nullptr);
  EXPECT_EQ(r.find(Event::Kind::kFailed)->status.code(), Code::kRefused);
}

TEST(MmstClientSession, HresultMapping) {
  EXPECT_EQ(status_for_hresult(kHrFileNotFound, Code::kRefused).code(), Code::kNotFound);
  EXPECT_EQ(status_for_hresult(kHrAccessDenied, Code::kRefused).code(), Code::kNotAuthorized);
  EXPECT_EQ(status_for_hresult(kNsEBusy, Code::kRefused).code(), Code::kRefused);
  EXPECT_EQ(status_for_hresult(kNsEBusy, Code::kPeerViolation).code(), Code::kPeerViolation);
  EXPECT_EQ(status_for_hresult(kNsEBusy, Code::kRefused).detail(), kNsEBusy);
}

}  // namespace
}  // namespace mms::mmst

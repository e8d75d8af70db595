// MmshClientSession driven as a fake server would drive it: Describe, Play,
// seeks, redirects, authentication, stream changes, failures and timeouts.
// Pure and deterministic: no sockets, no clock (Instants are made up).
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/asf/header_parser.h"
#include "protocol/auth/http_auth.h"
#include "protocol/auth/ntlm.h"
#include "protocol/core/bytes.h"
#include "protocol/core/limits.h"
#include "protocol/core/text.h"
#include "protocol/core/url.h"
#include "protocol/mmsh/client_session.h"
#include "protocol/mmsh/framing.h"
#include "protocol/mmsh/http_codec.h"
#include "protocol/session/metadata.h"

namespace mms::mmsh {
namespace {

using session::ChannelId;
using session::Event;
using session::IoAction;

std::vector<std::uint8_t> read_media(const std::string& rel) {
  std::ifstream f(std::string(MMS_SOURCE_ROOT) + "/tests/media/" + rel, std::ios::binary);
  return std::vector<std::uint8_t>((std::istreambuf_iterator<char>(f)),
                                   std::istreambuf_iterator<char>());
}

// An ASF file split into its header and data packets.
struct Media {
  std::vector<std::uint8_t> header;
  std::vector<std::vector<std::uint8_t>> packets;
  std::uint32_t packet_size = 0;
  std::vector<std::uint16_t> streams;
};

Media load_media(const std::string& rel) {
  Media m;
  std::vector<std::uint8_t> file = read_media(rel);
  EXPECT_FALSE(file.empty()) << rel;
  Result<asf::FileLayout> layout = asf::scan_file(file);
  EXPECT_TRUE(layout.ok()) << rel << ": " << layout.status().what();
  if (!layout.ok()) {
    return m;
  }
  m.header.assign(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(layout->header_bytes));
  m.packet_size = layout->info.packet_size;
  for (std::uint64_t i = 0; i < layout->packet_count; ++i) {
    auto b = file.begin() + static_cast<std::ptrdiff_t>(layout->first_packet + i * m.packet_size);
    m.packets.emplace_back(b, b + m.packet_size);
  }
  for (const asf::StreamInfo& s : layout->info.streams) {
    m.streams.push_back(s.number);
  }
  return m;
}

const Media& small_media() {
  static const Media m = load_media("fixtures/small.asf");
  return m;
}

void append(std::vector<std::uint8_t>* out, const std::string& s) {
  out->insert(out->end(), s.begin(), s.end());
}

std::string ok_head(std::uint32_t client_id = 3735928559u,
                    const char* features = "\"seekable,playlist\"") {
  return "HTTP/1.0 200 OK\r\n"
         "Server: Cougar/9.01.01.3814\r\n"
         "Content-Type: application/x-mms-framed\r\n"
         "Cache-Control: no-cache\r\n"
         "Pragma: no-cache,client-id=" +
         std::to_string(client_id) +
         "\r\n"
         "Pragma: features=" +
         features +
         "\r\n"
         "Pragma: timeout=60000\r\n"
         "\r\n";
}

std::string simple_head(int status, const std::string& reason, const std::string& extra = "") {
  return "HTTP/1.0 " + std::to_string(status) + " " + reason +
         "\r\nServer: Cougar/9.01.01.3814\r\n" + extra + "\r\n";
}

// head + $H (in fragments of `frag` bytes).
std::vector<std::uint8_t> header_body(const std::string& head, const std::vector<std::uint8_t>& h,
                                      std::size_t frag = 65527) {
  std::vector<std::uint8_t> out;
  append(&out, head);
  encode_header_frames(kFrameHeader, h, 0, &out, frag);
  return out;
}

std::string hex_of(ByteView v) {
  return to_hex(v, v.size());
}

// The client session with a fake server around it: drains actions and events
// after every input, keeps an event log and checks the on_bytes contract.
class Rig {
 public:
  explicit Rig(session::ClientConfig cfg) : s_(std::move(cfg)) {}
  static session::ClientConfig config(const std::string& url) {
    session::ClientConfig c;
    Result<Url> u = parse_url(url);
    EXPECT_TRUE(u.ok()) << url;
    if (u.ok()) {
      c.url = *u;
    }
    c.client_guid = "{2a4e2c8b-5c1d-4f3e-9b7a-0123456789ab}";
    c.timeout = 10 * kSecond;
    return c;
  }

  MmshClientSession& s() { return s_; }
  Instant now() const { return now_; }
  void advance(Duration d) { now_ = now_ + d; }

  void drain() {
    IoAction a;
    while (s_.next_io_action(&a)) {
      actions_.push_back(a);
    }
    Event e;
    while (s_.next_event(&e)) {
      if (failed_) {
        ADD_FAILURE() << "event after Failed: " << describe(e);
      }
      if (e.kind == Event::Kind::kFailed) {
        failed_ = true;
      }
      log_.push_back(describe(e));
      if (e.kind == Event::Kind::kPacket) {
        packets_.push_back(e.payload.to_vector());
      }
      events_.push_back(e);
      events_.back().payload = ByteView();  // aliases the input
    }
  }

  static std::string describe(const Event& e) {
    switch (e.kind) {
      case Event::Kind::kConnected:
        return "connected " + e.detail;
      case Event::Kind::kHeader:
        return "header changed=" + std::to_string(e.changed) +
               " bytes=" + std::to_string(e.header ? e.header->size() : 0);
      case Event::Kind::kPacket:
        return "packet n=" + std::to_string(e.packet_number) +
               " discont=" + std::to_string(e.discont) +
               " len=" + std::to_string(e.payload.size()) +
               " data=" + hex_of(e.payload.subview(0, 16));
      case Event::Kind::kEos:
        return "eos";
      case Event::Kind::kRedirect:
        return "redirect " + e.url;
      case Event::Kind::kBandwidth:
        return "bandwidth " + std::to_string(e.bandwidth_bps);
      case Event::Kind::kFailed:
        return std::string("failed ") + to_string(e.status.code()) +
               " detail=" + std::to_string(e.status.detail());
    }
    return "?";
  }

  void play(std::uint64_t position_ms = 0) {
    session::PlayRequest r;
    r.position_ms = position_ms;
    s_.play(r, now_);
    drain();
  }

  // Pops the next action, which must be of `kind`.
  IoAction expect_action(IoAction::Kind kind) {
    if (actions_.empty()) {
      ADD_FAILURE() << "no action, wanted kind " << static_cast<int>(kind);
      return IoAction{};
    }
    IoAction a = actions_.front();
    actions_.erase(actions_.begin());
    EXPECT_EQ(static_cast<int>(a.kind), static_cast<int>(kind)) << "channel " << a.channel;
    return a;
  }
  bool no_actions() const { return actions_.empty(); }
  void clear_actions() { actions_.clear(); }

  // ConnectTcp expected; connects it and returns the request that was sent.
  std::string connect(ChannelId* ch, std::string* host = nullptr, std::uint16_t* port = nullptr) {
    IoAction c = expect_action(IoAction::Kind::kConnectTcp);
    *ch = c.channel;
    if (host != nullptr) {
      *host = c.host;
    }
    if (port != nullptr) {
      *port = c.port;
    }
    s_.on_connected(c.channel, now_);
    drain();
    IoAction send = expect_action(IoAction::Kind::kSend);
    EXPECT_EQ(send.channel, c.channel);
    return send.bytes;
  }

  // Feeds `bytes` in chunks ending at `cuts` (offsets, ascending); the
  // unconsumed tail is kept and offered again with the next chunk appended.
  void feed(ChannelId ch, const std::vector<std::uint8_t>& bytes,
            const std::vector<std::size_t>& cuts = {}) {
    std::size_t pos = 0;
    std::vector<std::size_t> ends = cuts;
    ends.push_back(bytes.size());
    for (std::size_t end : ends) {
      end = std::min(end, bytes.size());
      if (end < pos) {
        continue;
      }
      pending_.insert(pending_.end(), bytes.begin() + static_cast<std::ptrdiff_t>(pos),
                      bytes.begin() + static_cast<std::ptrdiff_t>(end));
      pos = end;
      if (pending_.empty()) {
        continue;
      }
      std::size_t n = s_.on_bytes(ch, ByteView(pending_), now_);
      EXPECT_LE(n, pending_.size());
      n = std::min(n, pending_.size());
      drain();  // packet payloads alias pending_: copy them before erasing
      pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(n));
    }
  }
  void feed_bytewise(ChannelId ch, const std::vector<std::uint8_t>& bytes) {
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < bytes.size(); ++i) {
      cuts.push_back(i);
    }
    feed(ch, bytes, cuts);
  }
  void feed_random(ChannelId ch, const std::vector<std::uint8_t>& bytes, unsigned seed) {
    std::mt19937 rng(seed);
    std::vector<std::size_t> cuts;
    std::size_t pos = 0;
    while (pos < bytes.size()) {
      std::uniform_int_distribution<std::size_t> step(1, rng() % 4 == 0 ? 3000 : 40);
      pos += step(rng);
      cuts.push_back(pos);
    }
    feed(ch, bytes, cuts);
  }
  std::size_t pending() const { return pending_.size(); }
  void reset_pending() { pending_.clear(); }

  void eof(ChannelId ch) {
    s_.on_eof(ch, now_);
    drain();
  }

  const std::vector<std::string>& log() const { return log_; }
  const std::vector<Event>& events() const { return events_; }
  const std::vector<std::vector<std::uint8_t>>& packets() const { return packets_; }
  void clear_log() {
    log_.clear();
    events_.clear();
    packets_.clear();
  }
  // The log must be exactly one Failed with `code`.
  void expect_failed(Code code) {
    ASSERT_FALSE(events_.empty());
    EXPECT_EQ(events_.back().kind, Event::Kind::kFailed) << log_.back();
    EXPECT_EQ(events_.back().status.code(), code)
        << to_string(events_.back().status.code()) << " " << events_.back().status.what();
  }
  std::size_t count(Event::Kind k) const {
    return static_cast<std::size_t>(
        std::count_if(events_.begin(), events_.end(), [k](const Event& e) { return e.kind == k; }));
  }

 private:
  MmshClientSession s_;
  Instant now_{1000 * kSecond};
  std::vector<IoAction> actions_;
  std::vector<std::string> log_;
  std::vector<Event> events_;
  std::vector<std::vector<std::uint8_t>> packets_;
  std::vector<std::uint8_t> pending_;
  bool failed_ = false;
};

bool has_line(const std::string& req, const std::string& line) {
  return req.find("\r\n" + line + "\r\n") != std::string::npos;
}

// play body: head + $H + $D for each packet (payloads as given) + $E reason 0.
std::vector<std::uint8_t> play_body(const Media& m, std::size_t npackets,
                                    const std::string& head = ok_head(),
                                    std::uint32_t first_location = 0) {
  std::vector<std::uint8_t> out = header_body(head, m.header);
  for (std::size_t i = 0; i < npackets && i < m.packets.size(); ++i) {
    encode_data_frame(kFrameData, first_location + static_cast<std::uint32_t>(i), 0,
                      static_cast<std::uint8_t>(i), m.packets[i], &out);
  }
  encode_reason_frame(kFrameEnd, 0, &out);
  return out;
}

// Runs Describe up to the Play request; returns the play channel and request.
struct Started {
  ChannelId describe = 0;
  ChannelId play = 0;
  std::string describe_request;
  std::string play_request;
};

Started start(Rig* rig, const Media& m, std::uint64_t position_ms = 0,
              const std::string& head = ok_head()) {
  Started st;
  rig->play(position_ms);
  st.describe_request = rig->connect(&st.describe);
  rig->feed(st.describe, header_body(head, m.header));
  rig->expect_action(IoAction::Kind::kClose);
  st.play_request = rig->connect(&st.play);
  return st;
}

// --- the happy path ---------------------------------------------------------

TEST(MmshClientSession, DescribeThenPlayDeliversHeaderPacketsAndEos) {
  const Media& m = small_media();
  ASSERT_GE(m.packets.size(), 5u);
  Rig rig(Rig::config("mmsh://media.example:8080/clips/small.asf"));
  EXPECT_STREQ(rig.s().transport_name(), "mmsh");
  EXPECT_FALSE(rig.s().seekable());
  rig.play();

  ChannelId ch1 = 0;
  std::string host;
  std::uint16_t port = 0;
  std::string describe = rig.connect(&ch1, &host, &port);
  EXPECT_EQ(host, "media.example");
  EXPECT_EQ(port, 8080);
  EXPECT_EQ(describe.rfind("GET /clips/small.asf HTTP/1.0\r\n", 0), 0u) << describe;
  EXPECT_NE(describe.find("User-Agent: NSPlayer/"), std::string::npos);
  EXPECT_NE(describe.find("xClientGUID={2a4e2c8b-5c1d-4f3e-9b7a-0123456789ab}"), std::string::npos);
  EXPECT_NE(describe.find("no-cache"), std::string::npos);
  EXPECT_EQ(describe.find("xPlayStrm"), std::string::npos);
  EXPECT_EQ(describe.find("client-id="), std::string::npos);
  EXPECT_EQ(describe.find("Authorization"), std::string::npos);
  EXPECT_EQ(describe.substr(describe.size() - 4), "\r\n\r\n");
  EXPECT_TRUE(rig.log().empty());  // nothing announced before the media connection

  rig.feed(ch1, header_body(ok_head(), m.header, 700));  // several $H fragments
  ASSERT_EQ(rig.log().size(), 1u);
  const Event& h = rig.events()[0];
  ASSERT_EQ(h.kind, Event::Kind::kHeader);
  EXPECT_FALSE(h.changed);
  ASSERT_TRUE(h.header && h.info);
  EXPECT_EQ(*h.header, m.header);
  EXPECT_EQ(h.info->packet_size, m.packet_size);
  EXPECT_TRUE(rig.s().seekable());
  EXPECT_EQ(rig.s().client_id(), 3735928559u);

  IoAction close = rig.expect_action(IoAction::Kind::kClose);
  EXPECT_EQ(close.channel, ch1);
  ChannelId ch2 = 0;
  std::string playreq = rig.connect(&ch2, &host, &port);
  EXPECT_NE(ch2, ch1);
  EXPECT_EQ(host, "media.example");
  EXPECT_EQ(port, 8080);
  EXPECT_EQ(playreq.rfind("GET /clips/small.asf HTTP/1.0\r\n", 0), 0u) << playreq;
  EXPECT_TRUE(has_line(playreq, "Pragma: xPlayStrm=1")) << playreq;
  EXPECT_TRUE(has_line(playreq, "Pragma: client-id=3735928559")) << playreq;
  EXPECT_TRUE(has_line(playreq, "Pragma: stream-switch-count=2")) << playreq;
  EXPECT_TRUE(has_line(playreq, "Pragma: stream-switch-entry=ffff:1:0 ffff:2:0")) << playreq;
  EXPECT_NE(playreq.find("stream-time=0"), std::string::npos);
  EXPECT_NE(playreq.find("User-Agent: NSPlayer/"), std::string::npos);
  ASSERT_EQ(rig.log().size(), 2u);
  EXPECT_EQ(rig.log()[1], "connected mmsh");

  rig.clear_log();
  rig.feed(ch2, play_body(m, 5));
  ASSERT_EQ(rig.log().size(), 6u) << ::testing::PrintToString(rig.log());
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(rig.events()[i].kind, Event::Kind::kPacket);
    EXPECT_EQ(rig.events()[i].packet_number, i);
    EXPECT_FALSE(rig.events()[i].discont);
    EXPECT_EQ(rig.packets()[i], m.packets[i]);
  }
  EXPECT_EQ(rig.events()[5].kind, Event::Kind::kEos);
  EXPECT_EQ(rig.expect_action(IoAction::Kind::kClose).channel, ch2);
  EXPECT_TRUE(rig.no_actions());
  EXPECT_EQ(rig.s().next_deadline(), std::nullopt);
}

// The play body fed whole, byte by byte and at random split points gives the
// same events.
TEST(MmshClientSession, PlayBodySplitsGiveTheSameEvents) {
  const Media& m = small_media();
  std::vector<std::uint8_t> body = play_body(m, m.packets.size());
  // A $T and a $M in the middle must be skipped too.
  std::vector<std::uint8_t> extra;
  encode_test_frame(&extra);
  body.insert(body.end() - 8, extra.begin(), extra.end());

  auto run = [&](int mode, unsigned seed) {
    Rig rig(Rig::config("mmsh://h/x.asf"));
    Started st = start(&rig, m);
    rig.clear_log();
    if (mode == 0) {
      rig.feed(st.play, body);
    } else if (mode == 1) {
      rig.feed_bytewise(st.play, body);
    } else {
      rig.feed_random(st.play, body, seed);
    }
    EXPECT_EQ(rig.packets().size(), m.packets.size());
    for (std::size_t i = 0; i < rig.packets().size() && i < m.packets.size(); ++i) {
      EXPECT_EQ(rig.packets()[i], m.packets[i]) << "packet " << i << " mode " << mode;
    }
    EXPECT_EQ(rig.pending(), 0u);
    return rig.log();
  };
  std::vector<std::string> whole = run(0, 0);
  ASSERT_EQ(whole.size(), m.packets.size() + 1);
  EXPECT_EQ(whole.back(), "eos");
  EXPECT_EQ(run(1, 0), whole);
  for (unsigned seed = 1; seed <= 20; ++seed) {
    EXPECT_EQ(run(2, seed), whole) << "seed " << seed;
  }
}

TEST(MmshClientSession, DescribeSplitsGiveTheSameEvents) {
  const Media& m = small_media();
  std::vector<std::uint8_t> body = header_body(ok_head(), m.header, 900);
  for (int mode = 0; mode < 3; ++mode) {
    Rig rig(Rig::config("mmsh://h/x.asf"));
    rig.play();
    ChannelId ch = 0;
    rig.connect(&ch);
    if (mode == 0) {
      rig.feed(ch, body);
    } else if (mode == 1) {
      rig.feed_bytewise(ch, body);
    } else {
      rig.feed_random(ch, body, 7);
    }
    ASSERT_EQ(rig.log().size(), 1u) << mode;
    EXPECT_EQ(*rig.events()[0].header, m.header);
    rig.expect_action(IoAction::Kind::kClose);
    rig.expect_action(IoAction::Kind::kConnectTcp);
  }
}

TEST(MmshClientSession, MmsSchemeUsesPort80) {
  Rig rig(Rig::config("mms://media.example/live"));
  rig.play();
  ChannelId ch = 0;
  std::string host;
  std::uint16_t port = 0;
  std::string req = rig.connect(&ch, &host, &port);
  EXPECT_EQ(port, 80);
  EXPECT_EQ(req.rfind("GET /live HTTP/1.0\r\n", 0), 0u);
}

TEST(MmshClientSession, DataFrameDuringDescribeIsIgnored) {
  const Media& m = small_media();
  Rig rig(Rig::config("mmsh://h/x.asf"));
  rig.play();
  ChannelId ch = 0;
  rig.connect(&ch);
  std::vector<std::uint8_t> body;
  append(&body, ok_head());
  encode_data_frame(kFrameData, 0, 0, 0, m.packets[0], &body);
  encode_header_frames(kFrameHeader, m.header, 0, &body);
  rig.feed(ch, body);
  ASSERT_EQ(rig.log().size(), 1u);
  EXPECT_EQ(rig.events()[0].kind, Event::Kind::kHeader);
}

// --- seeking ----------------------------------------------------------------

TEST(MmshClientSession, SeekStartsANewPlayWithStreamTime) {
  const Media& m = small_media();
  Rig rig(Rig::config("mmsh://h/x.asf"));
  Started st = start(&rig, m);
  std::vector<std::uint8_t> body = header_body(ok_head(), m.header);
  for (std::size_t i = 0; i < 3; ++i) {
    encode_data_frame(kFrameData, static_cast<std::uint32_t>(i), 0, 0, m.packets[i], &body);
  }
  rig.feed(st.play, body);
  ASSERT_EQ(rig.count(Event::Kind::kPacket), 3u);
  rig.clear_log();

  rig.play(1500);  // seek while playing
  EXPECT_EQ(rig.expect_action(IoAction::Kind::kClose).channel, st.play);
  ChannelId ch3 = 0;
  std::string req = rig.connect(&ch3);
  EXPECT_NE(ch3, st.play);
  EXPECT_NE(req.find("stream-time=1500"), std::string::npos) << req;
  EXPECT_TRUE(has_line(req, "Pragma: xPlayStrm=1"));
  EXPECT_TRUE(has_line(req, "Pragma: client-id=3735928559"));

  // Stale bytes on the old channel are discarded.
  std::vector<std::uint8_t> stale;
  encode_data_frame(kFrameData, 3, 0, 0, m.packets[3], &stale);
  EXPECT_EQ(rig.s().on_bytes(st.play, ByteView(stale), rig.now()), stale.size());
  rig.drain();
  EXPECT_TRUE(rig.log().empty());

  std::vector<std::uint8_t> seek_body = play_body(m, 0);
  seek_body.resize(seek_body.size() - 8);  // without $E
  for (std::size_t i = 15; i < 18 && i < m.packets.size(); ++i) {
    encode_data_frame(kFrameData, static_cast<std::uint32_t>(i), 0, 0, m.packets[i], &seek_body);
  }
  encode_reason_frame(kFrameEnd, 0, &seek_body);
  rig.feed(ch3, seek_body);
  ASSERT_EQ(rig.count(Event::Kind::kHeader), 0u) << "identical header must not be re-announced";
  ASSERT_EQ(rig.count(Event::Kind::kPacket), 3u);
  EXPECT_TRUE(rig.events()[0].discont);
  EXPECT_EQ(rig.events()[0].packet_number, 15u);
  EXPECT_FALSE(rig.events()[1].discont);
  EXPECT_FALSE(rig.events()[2].discont);
  EXPECT_EQ(rig.events().back().kind, Event::Kind::kEos);
}

TEST(MmshClientSession, PlayAfterEosRestarts) {
  const Media& m = small_media();
  Rig rig(Rig::config("mmsh://h/x.asf"));
  Started st = start(&rig, m);
  rig.feed(st.play, play_body(m, 2));
  ASSERT_EQ(rig.events().back().kind, Event::Kind::kEos);
  rig.clear_actions();
  rig.play(0);
  ChannelId ch = 0;
  std::string req = rig.connect(&ch);
  EXPECT_TRUE(has_line(req, "Pragma: xPlayStrm=1"));
}

// --- stream changes and header repair ------------------------------------------

TEST(MmshClientSession, StreamChangeWithNewHeaderAnnouncesChangedHeader) {
  const Media& m = small_media();
  const Media mbr = load_media("fixtures/mbr.asf");
  ASSERT_FALSE(mbr.header.empty());
  Rig rig(Rig::config("mmsh://h/playlist"));
  Started st = start(&rig, m);
  rig.clear_log();
  std::vector<std::uint8_t> body = play_body(m, 2);
  body.resize(body.size() - 8);
  encode_reason_frame(kFrameEnd, 1, &body);  // entry done, another follows
  encode_reason_frame(kFrameChange, 0, &body);
  encode_header_frames(kFrameHeader, mbr.header, 1, &body);
  encode_data_frame(kFrameData, 0, 1, 0, mbr.packets[0], &body);
  encode_reason_frame(kFrameEnd, 0, &body);
  rig.feed(st.play, body);
  ASSERT_EQ(rig.log().size(), 5u) << ::testing::PrintToString(rig.log());
  EXPECT_EQ(rig.events()[2].kind, Event::Kind::kHeader);
  EXPECT_TRUE(rig.events()[2].changed);
  EXPECT_TRUE(rig.events()[2].playlist);  // features="seekable,playlist"
  EXPECT_EQ(*rig.events()[2].header, mbr.header);
  EXPECT_EQ(rig.events()[2].info->packet_size, mbr.packet_size);
  EXPECT_EQ(rig.events()[3].kind, Event::Kind::kPacket);
  EXPECT_EQ(rig.packets()[2], mbr.packets[0]);
  EXPECT_EQ(rig.events()[4].kind, Event::Kind::kEos);
}

TEST(MmshClientSession, HeaderSaysWhetherTheContentIsAPlaylist) {
  const Media& m = small_media();
  for (const char* features : {"\"seekable\"", "\"seekable,playlist\"", "\"broadcast\""}) {
    Rig rig(Rig::config("mmsh://h/clip"));
    start(&rig, m, 0, ok_head(42, features));
    ASSERT_FALSE(rig.events().empty()) << features;
    EXPECT_EQ(rig.events()[0].kind, Event::Kind::kHeader);
    EXPECT_EQ(rig.events()[0].playlist, std::string(features).find("playlist") != std::string::npos)
        << features;
  }
}

TEST(MmshClientSession, StreamChangeWithTheSameHeaderIsStillANewEntry) {
  const Media& m = small_media();
  Rig rig(Rig::config("mmsh://h/playlist"));
  Started st = start(&rig, m);
  rig.clear_log();
  std::vector<std::uint8_t> body = play_body(m, 1);
  body.resize(body.size() - 8);
  encode_reason_frame(kFrameEnd, 1, &body);
  encode_reason_frame(kFrameChange, 0, &body);
  encode_header_frames(kFrameHeader, m.header, 1, &body);
  rig.feed(st.play, body);
  ASSERT_EQ(rig.count(Event::Kind::kHeader), 1u);
  EXPECT_TRUE(rig.events().back().changed);
}

// $M before a header rides on that header's event (fragmented or not); a bad
// $M is dropped and the stream goes on.
TEST(MmshClientSession, MetadataRidesOnTheHeaderEventThatFollowsIt) {
  const Media& m = small_media();
  const Media mbr = load_media("fixtures/mbr.asf");
  ASSERT_FALSE(mbr.header.empty());
  session::EntryMetadata first;
  first.playlist_gen_id = 1;
  first.features = "seekable";
  asf::ContentTags tags;
  tags.title = "First, entry";
  first.descriptions.push_back(session::describe_entry(tags, 1000));
  session::EntryMetadata second = first;
  second.playlist_gen_id = 2;
  second.descriptions[0].fields[0].value = "Second entry";

  Rig rig(Rig::config("mmsh://h/playlist"));
  rig.play(0);
  ChannelId describe = 0;
  rig.connect(&describe);
  std::vector<std::uint8_t> d;
  append(&d, ok_head());
  encode_header_frames(kFrameMeta, ByteView(session::encode_wmsp_metadata(first)), 0, &d, 20);
  encode_header_frames(kFrameHeader, m.header, 0, &d);
  rig.feed(describe, d);
  ASSERT_EQ(rig.count(Event::Kind::kHeader), 1u);
  ASSERT_TRUE(rig.events()[0].metadata);
  EXPECT_EQ(rig.events()[0].metadata->playlist_gen_id, 1u);
  EXPECT_EQ(*rig.events()[0].metadata->find("title"), "First, entry");
  rig.expect_action(IoAction::Kind::kClose);
  ChannelId play = 0;
  rig.connect(&play);
  rig.clear_log();

  std::vector<std::uint8_t> body;
  append(&body, ok_head());
  encode_header_frames(kFrameMeta, ByteView(session::encode_wmsp_metadata(first)), 0, &body);
  encode_header_frames(kFrameHeader, m.header, 0, &body);
  encode_data_frame(kFrameData, 0, 0, 0, m.packets[0], &body);
  encode_reason_frame(kFrameEnd, 1, &body);
  encode_reason_frame(kFrameChange, 0, &body);
  encode_header_frames(kFrameMeta, ByteView(session::encode_wmsp_metadata(second)), 1, &body);
  encode_header_frames(kFrameHeader, mbr.header, 1, &body);
  encode_data_frame(kFrameData, 0, 1, 0, mbr.packets[0], &body);
  encode_reason_frame(kFrameEnd, 1, &body);
  encode_reason_frame(kFrameChange, 0, &body);
  const std::string junk = "not metadata";
  encode_header_frames(kFrameMeta, ByteView::of(junk), 2, &body);
  encode_header_frames(kFrameHeader, m.header, 2, &body);
  encode_reason_frame(kFrameEnd, 0, &body);
  rig.feed(play, body);
  // The Play's header is the Describe's: not announced again. Then two entries.
  std::vector<const Event*> headers;
  for (const Event& e : rig.events()) {
    if (e.kind == Event::Kind::kHeader) {
      headers.push_back(&e);
    }
  }
  ASSERT_EQ(headers.size(), 2u) << ::testing::PrintToString(rig.log());
  ASSERT_TRUE(headers[0]->metadata);
  EXPECT_EQ(headers[0]->metadata->playlist_gen_id, 2u);
  EXPECT_EQ(*headers[0]->metadata->find("title"), "Second entry");
  EXPECT_FALSE(headers[1]->metadata);  // the junk $M was dropped
  EXPECT_EQ(rig.events().back().kind, Event::Kind::kEos);
}

TEST(MmshClientSession, RepairsVlcHeaderObjectCount) {
  const Media& m = small_media();
  std::vector<std::uint8_t> vlc = m.header;
  // "Number of Header Objects" (u32 LE at offset 24) one too high, as VLC sends.
  std::uint32_t count =
      vlc[24] | (vlc[25] << 8) | (vlc[26] << 16) | (static_cast<std::uint32_t>(vlc[27]) << 24);
  ++count;
  for (int i = 0; i < 4; ++i) {
    vlc[24 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(count >> (8 * i));
  }
  Media bad = m;
  bad.header = vlc;
  Rig rig(Rig::config("mmsh://h/x.asf"));
  rig.play();
  ChannelId ch = 0;
  rig.connect(&ch);
  rig.feed(ch, header_body(ok_head(), vlc));
  ASSERT_EQ(rig.log().size(), 1u) << ::testing::PrintToString(rig.log());
  const Event& e = rig.events()[0];
  ASSERT_EQ(e.kind, Event::Kind::kHeader);
  Result<asf::HeaderInfo> info = asf::parse_header(*e.header);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->declared_object_count, info->actual_object_count);
  EXPECT_EQ(info->declared_object_count, count - 1);
  EXPECT_EQ(*e.header, m.header);

  // The Play repeats the same (broken) header: no second Header event.
  rig.expect_action(IoAction::Kind::kClose);
  ChannelId ch2 = 0;
  rig.connect(&ch2);
  rig.clear_log();
  rig.feed(ch2, play_body(bad, 1));
  EXPECT_EQ(rig.count(Event::Kind::kHeader), 0u) << ::testing::PrintToString(rig.log());
  EXPECT_EQ(rig.count(Event::Kind::kPacket), 1u);
}

// A Play header that differs from the Describe header only in what the repair
// fixes (here: the VLC object count) is the same header for downstream: it must
// not be announced again as a changed header (mmssrc would push a second header
// buffer before the first packet).
TEST(MmshClientSession, HeaderEqualAfterRepairIsNotReannounced) {
  const Media& m = small_media();
  std::vector<std::uint8_t> vlc = m.header;
  ++vlc[24];  // "Number of Header Objects" one too high (low byte; small.asf has < 255)
  Rig rig(Rig::config("mmsh://h/x.asf"));
  rig.play();
  ChannelId ch = 0;
  rig.connect(&ch);
  rig.feed(ch, header_body(ok_head(), vlc));
  ASSERT_EQ(rig.count(Event::Kind::kHeader), 1u);
  EXPECT_EQ(*rig.events()[0].header, m.header);
  rig.expect_action(IoAction::Kind::kClose);
  ChannelId ch2 = 0;
  rig.connect(&ch2);
  rig.clear_log();
  rig.feed(ch2, play_body(m, 1));  // the correct header this time
  EXPECT_EQ(rig.count(Event::Kind::kHeader), 0u) << ::testing::PrintToString(rig.log());
  EXPECT_EQ(rig.count(Event::Kind::kPacket), 1u);
}

// --- stream selection ----------------------------------------------------------

TEST(MmshClientSession, ConnectionSpeedExcludesTheBiggerMbrStream) {
  const Media mbr = load_media("fixtures/mbr.asf");
  ASSERT_EQ(mbr.streams, (std::vector<std::uint16_t>{1, 2, 3}));
  session::ClientConfig cfg = Rig::config("mmsh://h/mbr.asf");
  cfg.connection_speed_kbps = 200;  // 64k audio + 100k video fit, 300k video does not
  Rig rig(cfg);
  Started st = start(&rig, mbr);
  EXPECT_TRUE(has_line(st.play_request, "Pragma: stream-switch-count=3")) << st.play_request;
  EXPECT_TRUE(has_line(st.play_request, "Pragma: stream-switch-entry=ffff:1:2 ffff:2:0 ffff:3:0"))
      << st.play_request;
}

TEST(MmshClientSession, WithoutSpeedOrEstimateTheBestStreamOfEachGroupIsSelected) {
  const Media mbr = load_media("fixtures/mbr.asf");
  Rig rig(Rig::config("mmsh://h/mbr.asf"));
  Started st = start(&rig, mbr);
  EXPECT_TRUE(has_line(st.describe_request, "Pragma: packet-pair-experiment=1"))
      << st.describe_request;
  EXPECT_TRUE(has_line(st.play_request, "Pragma: stream-switch-entry=ffff:1:0 ffff:2:2 ffff:3:0"))
      << st.play_request;
}

// The Describe's three $P (MS-WMSP 2.2.3.7), as a link of `gap` per read
// would space them: the head and the first frame together, then the second,
// then the third with the header. `later_bytes`: what arrived after the first
// read (what the estimate counts).
struct Probed {
  std::vector<std::string> bandwidth;  // the log's "bandwidth N" lines
  std::string play_request;
};
Probed probe_describe(session::ClientConfig cfg, const Media& m, Duration gap,
                      std::size_t* later_bytes = nullptr) {
  Rig rig(std::move(cfg));
  rig.play(0);
  ChannelId ch = 0;
  const std::string req = rig.connect(&ch);
  EXPECT_TRUE(has_line(req, "Pragma: packet-pair-experiment=1")) << req;
  const std::string head = ok_head();
  std::vector<std::uint8_t> body;
  append(&body, head);
  encode_packet_pair_frames(head.size(), &body);
  const std::size_t r = std::min<std::size_t>(head.size(), 504);
  const std::size_t first_end = head.size() + 8 + 504 - r;
  const std::size_t second_end = first_end + 8 + 504;
  encode_header_frames(kFrameHeader, m.header, 0, &body, 65527);
  const std::vector<std::uint8_t> part1(body.begin(),
                                        body.begin() + static_cast<std::ptrdiff_t>(first_end));
  const std::vector<std::uint8_t> part2(body.begin() + static_cast<std::ptrdiff_t>(first_end),
                                        body.begin() + static_cast<std::ptrdiff_t>(second_end));
  const std::vector<std::uint8_t> part3(body.begin() + static_cast<std::ptrdiff_t>(second_end),
                                        body.end());
  rig.feed(ch, part1);
  rig.advance(gap);
  rig.feed(ch, part2);
  rig.advance(gap);
  rig.feed(ch, part3);
  if (later_bytes != nullptr) {
    *later_bytes = part2.size() + part3.size();
  }
  Probed p;
  for (const std::string& line : rig.log()) {
    if (line.rfind("bandwidth ", 0) == 0) {
      p.bandwidth.push_back(line);
    }
  }
  rig.expect_action(IoAction::Kind::kClose);
  p.play_request = rig.connect(&ch);
  return p;
}

TEST(MmshClientSession, PacketPairEstimateChoosesTheStreamThatFits) {
  const Media mbr = load_media("fixtures/mbr.asf");
  ASSERT_EQ(mbr.streams, (std::vector<std::uint16_t>{1, 2, 3}));
  // Spaced for about 250 kbit/s: 64k audio and the 100k video fit, the 300k
  // video does not.
  std::size_t later = 0;
  probe_describe(Rig::config("mmsh://h/mbr.asf"), mbr, 0, &later);
  ASSERT_GT(later, 2000u);
  const Duration gap = static_cast<Duration>(later) * 8 * kSecond / 500000;
  Probed slow = probe_describe(Rig::config("mmsh://h/mbr.asf"), mbr, gap);
  const std::uint64_t want =
      static_cast<std::uint64_t>(later) * 8u * 1'000'000'000u / static_cast<std::uint64_t>(2 * gap);
  EXPECT_GT(want, 240000u);
  EXPECT_LT(want, 260000u);
  EXPECT_EQ(slow.bandwidth, (std::vector<std::string>{"bandwidth " + std::to_string(want)}));
  EXPECT_TRUE(has_line(slow.play_request, "Pragma: stream-switch-entry=ffff:1:2 ffff:2:0 ffff:3:0"))
      << slow.play_request;
  // Ten times faster: the 300k video.
  Probed fast = probe_describe(Rig::config("mmsh://h/mbr.asf"), mbr, gap / 10);
  const std::uint64_t want_fast = static_cast<std::uint64_t>(later) * 8u * 1'000'000'000u /
                                  static_cast<std::uint64_t>(2 * (gap / 10));
  EXPECT_EQ(fast.bandwidth, (std::vector<std::string>{"bandwidth " + std::to_string(want_fast)}));
  EXPECT_TRUE(has_line(fast.play_request, "Pragma: stream-switch-entry=ffff:1:0 ffff:2:2 ffff:3:0"))
      << fast.play_request;
  // A configured connection speed wins over the estimate.
  session::ClientConfig cfg = Rig::config("mmsh://h/mbr.asf");
  cfg.connection_speed_kbps = 1000;
  Probed fixed = probe_describe(cfg, mbr, gap);
  EXPECT_TRUE(
      has_line(fixed.play_request, "Pragma: stream-switch-entry=ffff:1:0 ffff:2:2 ffff:3:0"))
      << fixed.play_request;
  // No time between the frames (loopback): 0, "too fast to tell", no limit.
  Probed instant = probe_describe(Rig::config("mmsh://h/mbr.asf"), mbr, 0);
  EXPECT_EQ(instant.bandwidth, (std::vector<std::string>{"bandwidth 0"}));
  EXPECT_TRUE(
      has_line(instant.play_request, "Pragma: stream-switch-entry=ffff:1:0 ffff:2:2 ffff:3:0"))
      << instant.play_request;
}

TEST(MmshClientSession, PacketPairFramesArriveWholeByteByByteOrMerged) {
  const Media m = small_media();
  const std::string head = ok_head();
  std::vector<std::uint8_t> body;
  append(&body, head);
  encode_packet_pair_frames(head.size(), &body);
  encode_header_frames(kFrameHeader, m.header, 0, &body, 65527);
  for (int mode = 0; mode < 2; ++mode) {
    SCOPED_TRACE(mode);
    Rig rig(Rig::config("mmsh://h/small.asf"));
    rig.play(0);
    ChannelId ch = 0;
    rig.connect(&ch);
    if (mode == 0) {
      rig.feed_bytewise(ch, body);
    } else {
      rig.feed(ch, body);
    }
    EXPECT_EQ(rig.count(Event::Kind::kBandwidth), 1u);
    EXPECT_EQ(rig.count(Event::Kind::kHeader), 1u);
    EXPECT_EQ(rig.count(Event::Kind::kFailed), 0u);
  }
}

TEST(MmshClientSession, PacketPairNotAskedWhenDisabled) {
  session::ClientConfig cfg = Rig::config("mmsh://h/small.asf");
  cfg.packet_pair = false;
  Rig rig(cfg);
  Started st = start(&rig, small_media());
  EXPECT_EQ(st.describe_request.find("packet-pair"), std::string::npos) << st.describe_request;
}

// --- HTTP outcomes ----------------------------------------------------------------

TEST(MmshClientSession, NotFound) {
  Rig rig(Rig::config("mmsh://h/missing.asf"));
  rig.play();
  ChannelId ch = 0;
  rig.connect(&ch);
  std::vector<std::uint8_t> b;
  append(&b, simple_head(404, "Not Found", "Content-Length: 0\r\n"));
  rig.feed(ch, b);
  ASSERT_EQ(rig.log().size(), 1u);
  rig.expect_failed(Code::kNotFound);
  EXPECT_EQ(rig.events()[0].status.detail(), 404u);
  EXPECT_EQ(rig.expect_action(IoAction::Kind::kClose).channel, ch);
}

TEST(MmshClientSession, ServerErrorIsRefused) {
  Rig rig(Rig::config("mmsh://h/x"));
  rig.play();
  ChannelId ch = 0;
  rig.connect(&ch);
  std::vector<std::uint8_t> b;
  append(&b, simple_head(503, "Service Unavailable"));
  rig.feed(ch, b);
  rig.expect_failed(Code::kRefused);
  EXPECT_EQ(rig.events()[0].status.detail(), 503u);
}

TEST(MmshClientSession, UnauthorizedWithoutCredentials) {
  Rig rig(Rig::config("mmsh://h/secret"));
  rig.play();
  ChannelId ch = 0;
  rig.connect(&ch);
  std::vector<std::uint8_t> b;
  append(&b, simple_head(401, "Unauthorized", "WWW-Authenticate: Basic realm=\"wms\"\r\n"));
  rig.feed(ch, b);
  ASSERT_EQ(rig.log().size(), 1u);
  rig.expect_failed(Code::kNotAuthorized);
  EXPECT_EQ(rig.events()[0].status.detail(), 401u);
}

// Digest is preferred to Basic; each request gets its own response (the
// method and URI are in the hash, the cnonce changes).
TEST(MmshClientSession, UnauthorizedAnswersDigest) {
  const Media& m = small_media();
  Rig rig(Rig::config("mmsh://alice:s3cret@h/secret.asf"));
  rig.play();
  ChannelId ch1 = 0;
  rig.connect(&ch1);
  std::vector<std::uint8_t> b;
  append(&b,
         simple_head(401, "Unauthorized",
                     "WWW-Authenticate: Basic realm=\"wms\"\r\n"
                     "WWW-Authenticate: Digest realm=\"wms\", nonce=\"abc\", qop=\"auth\"\r\n"));
  rig.feed(ch1, b);
  EXPECT_TRUE(rig.log().empty());
  rig.expect_action(IoAction::Kind::kClose);
  ChannelId ch2 = 0;
  const std::string describe = rig.connect(&ch2);
  const std::size_t at = describe.find("Authorization: Digest ");
  ASSERT_NE(at, std::string::npos) << describe;
  const std::string value = describe.substr(at + 15, describe.find("\r\n", at) - at - 15);
  Result<std::vector<auth::AuthChallenge>> creds = auth::parse_auth(value);
  ASSERT_TRUE(creds.ok());
  ASSERT_EQ(creds->size(), 1u);
  const auth::AuthChallenge& c = creds->front();
  EXPECT_EQ(*c.param("username"), "alice");
  EXPECT_EQ(*c.param("uri"), "/secret.asf");
  EXPECT_TRUE(auth::digest_verify(c, "GET", "s3cret"));
  EXPECT_FALSE(auth::digest_verify(c, "GET", "other"));
  rig.feed(ch2, header_body(ok_head(), m.header));
  ASSERT_EQ(rig.log().size(), 1u);
  rig.expect_action(IoAction::Kind::kClose);
  ChannelId ch3 = 0;
  const std::string play = rig.connect(&ch3);
  const std::size_t at3 = play.find("Authorization: Digest ");
  ASSERT_NE(at3, std::string::npos) << play;
  EXPECT_NE(play.substr(at3, play.find("\r\n", at3) - at3),
            describe.substr(at, describe.find("\r\n", at) - at));
  // A second 401 means the credentials were wrong.
  b.clear();
  append(&b, simple_head(401, "Unauthorized",
                         "WWW-Authenticate: Digest realm=\"wms\", nonce=\"abc\"\r\n"));
  rig.feed(ch3, b);
  rig.expect_failed(Code::kNotAuthorized);
  EXPECT_STREQ(rig.events().back().status.what(), "server rejected the credentials");
}

// NTLM: the NEGOTIATE goes out with Connection: Keep-Alive on a new
// connection; the AUTHENTICATE follows on that same connection once the
// 401's body is read; the play request's connection does the same again.
TEST(MmshClientSession, NtlmHandshakeKeepsTheConnection) {
  const Media& m = small_media();
  session::ClientConfig cfg = Rig::config("mmsh://h/secret.asf");
  cfg.user = "CORP\\alice";
  cfg.password = "s3cret";
  Rig rig(cfg);
  rig.play();
  ChannelId ch1 = 0;
  rig.connect(&ch1);
  std::vector<std::uint8_t> b;
  append(&b, simple_head(401, "Unauthorized",
                         "WWW-Authenticate: NTLM\r\nWWW-Authenticate: Digest realm=\"w\", "
                         "nonce=\"n\"\r\nContent-Length: 0\r\n"));
  rig.feed(ch1, b);
  rig.expect_action(IoAction::Kind::kClose);
  for (int phase = 0; phase < 2; ++phase) {
    SCOPED_TRACE(phase == 0 ? "describe" : "play");
    ChannelId ch = 0;
    const std::string first = rig.connect(&ch);
    EXPECT_TRUE(has_line(first, "Connection: Keep-Alive")) << first;
    const std::size_t at = first.find("Authorization: NTLM ");
    ASSERT_NE(at, std::string::npos) << first;
    std::string type1;
    ASSERT_TRUE(base64_decode(first.substr(at + 20, first.find("\r\n", at) - at - 20), &type1));
    auth::ntlm::ServerContext server("alice", "s3cret", "CORP", auth::ntlm::Nonce8{9, 8, 7, 6}, 0);
    Result<std::string> type2 = server.challenge(ByteView::of(type1));
    ASSERT_TRUE(type2.ok()) << type2.status().what();
    b.clear();
    // The 401 carries a body, read before the next leg.
    append(&b, simple_head(401, "Unauthorized",
                           "WWW-Authenticate: NTLM " + base64_encode(*type2) +
                               "\r\nContent-Length: 6\r\nConnection: Keep-Alive\r\n") +
                   "denied");
    rig.feed(ch, b, {b.size() - 4});
    IoAction again = rig.expect_action(IoAction::Kind::kSend);
    EXPECT_EQ(again.channel, ch);  // the same connection
    const std::size_t at3 = again.bytes.find("Authorization: NTLM ");
    ASSERT_NE(at3, std::string::npos) << again.bytes;
    EXPECT_TRUE(has_line(again.bytes, "Connection: Close")) << again.bytes;
    std::string type3;
    ASSERT_TRUE(base64_decode(
        again.bytes.substr(at3 + 20, again.bytes.find("\r\n", at3) - at3 - 20), &type3));
    EXPECT_TRUE(server.verify(ByteView::of(type3)).ok());
    EXPECT_EQ(server.user(), "alice");
    if (phase == 0) {
      rig.feed(ch, header_body(ok_head(), m.header));
      ASSERT_EQ(rig.log().size(), 1u);
      rig.expect_action(IoAction::Kind::kClose);
    } else {
      rig.feed(ch, play_body(m, 2));
      EXPECT_EQ(rig.count(Event::Kind::kPacket), 2u);
    }
  }
}

// A server that closes the connection of its NTLM challenge cannot be answered.
TEST(MmshClientSession, NtlmChallengeOnAClosedConnectionFails) {
  Rig rig(Rig::config("mmsh://alice:pw@h/a.asf"));
  rig.play();
  ChannelId ch1 = 0;
  rig.connect(&ch1);
  std::vector<std::uint8_t> b;
  append(&b, simple_head(401, "Unauthorized", "WWW-Authenticate: NTLM\r\nContent-Length: 0\r\n"));
  rig.feed(ch1, b);
  rig.expect_action(IoAction::Kind::kClose);
  ChannelId ch2 = 0;
  const std::string first = rig.connect(&ch2);
  const std::size_t at = first.find("Authorization: NTLM ");
  ASSERT_NE(at, std::string::npos);
  std::string type1;
  ASSERT_TRUE(base64_decode(first.substr(at + 20, first.find("\r\n", at) - at - 20), &type1));
  auth::ntlm::ServerContext server("alice", "pw", "D", auth::ntlm::Nonce8{}, 0);
  Result<std::string> type2 = server.challenge(ByteView::of(type1));
  ASSERT_TRUE(type2.ok());
  b.clear();
  append(&b, simple_head(
                 401, "Unauthorized",
                 "WWW-Authenticate: NTLM " + base64_encode(*type2) + "\r\nConnection: close\r\n"));
  rig.feed(ch2, b);
  rig.expect_failed(Code::kNotAuthorized);
  EXPECT_STREQ(rig.events().back().status.what(),
               "the NTLM challenge did not keep the connection open");
}

TEST(MmshClientSession, UnauthorizedWithUrlCredentialsRetriesWithBasic) {
  const Media& m = small_media();
  Rig rig(Rig::config("mmsh://alice:s3cret@h/secret"));
  rig.play();
  ChannelId ch1 = 0;
  std::string first = rig.connect(&ch1);
  EXPECT_EQ(first.find("Authorization:"), std::string::npos);
  std::vector<std::uint8_t> b;
  append(&b, simple_head(401, "Unauthorized", "WWW-Authenticate: Basic realm=\"wms\"\r\n"));
  rig.feed(ch1, b);
  EXPECT_TRUE(rig.log().empty());
  EXPECT_EQ(rig.expect_action(IoAction::Kind::kClose).channel, ch1);
  ChannelId ch2 = 0;
  std::string second = rig.connect(&ch2);
  EXPECT_TRUE(has_line(second, "Authorization: Basic " + base64_encode("alice:s3cret"))) << second;
  EXPECT_TRUE(has_line(second, "Authorization: Basic YWxpY2U6czNjcmV0"));
  rig.feed(ch2, header_body(ok_head(), m.header));
  ASSERT_EQ(rig.log().size(), 1u);
  EXPECT_EQ(rig.events()[0].kind, Event::Kind::kHeader);
  rig.expect_action(IoAction::Kind::kClose);
  ChannelId ch3 = 0;
  std::string playreq = rig.connect(&ch3);
  EXPECT_TRUE(has_line(playreq, "Authorization: Basic YWxpY2U6czNjcmV0")) << playreq;
  rig.feed(ch3, play_body(m, 2));
  EXPECT_EQ(rig.count(Event::Kind::kPacket), 2u);
  EXPECT_EQ(rig.events().back().kind, Event::Kind::kEos);
}

TEST(MmshClientSession, ConfigCredentialsOverrideUrl) {
  session::ClientConfig cfg = Rig::config("mmsh://alice:wrong@h/secret");
  cfg.user = "bob";
  cfg.password = "pw";
  Rig rig(cfg);
  rig.play();
  ChannelId ch1 = 0;
  rig.connect(&ch1);
  std::vector<std::uint8_t> b;
  append(&b, simple_head(401, "Unauthorized"));
  rig.feed(ch1, b);
  rig.expect_action(IoAction::Kind::kClose);
  ChannelId ch2 = 0;
  std::string second = rig.connect(&ch2);
  EXPECT_TRUE(has_line(second, "Authorization: Basic " + base64_encode("bob:pw"))) << second;
  // Rejected again: give up.
  rig.feed(ch2, b);
  rig.expect_failed(Code::kNotAuthorized);
}

TEST(MmshClientSession, RedirectFollowsLocation) {
  const Media& m = small_media();
  Rig rig(Rig::config("mmsh://origin.example/a.asf"));
  rig.play();
  ChannelId ch1 = 0;
  rig.connect(&ch1);
  std::vector<std::uint8_t> b;
  append(&b, simple_head(302, "Found", "Location: mmsh://edge.example:8081/b.asf\r\n"));
  rig.feed(ch1, b);
  ASSERT_EQ(rig.log().size(), 1u);
  EXPECT_EQ(rig.events()[0].kind, Event::Kind::kRedirect);
  EXPECT_EQ(rig.events()[0].url.find("edge.example:8081/b.asf") != std::string::npos, true)
      << rig.events()[0].url;
  EXPECT_EQ(rig.expect_action(IoAction::Kind::kClose).channel, ch1);
  ChannelId ch2 = 0;
  std::string host;
  std::uint16_t port = 0;
  std::string req = rig.connect(&ch2, &host, &port);
  EXPECT_EQ(host, "edge.example");
  EXPECT_EQ(port, 8081);
  EXPECT_EQ(req.rfind("GET /b.asf HTTP/1.0\r\n", 0), 0u) << req;
  EXPECT_EQ(req.find("xPlayStrm"), std::string::npos);
  rig.feed(ch2, header_body(ok_head(), m.header));
  EXPECT_EQ(rig.events().back().kind, Event::Kind::kHeader);
  rig.expect_action(IoAction::Kind::kClose);
  ChannelId ch3 = 0;
  rig.connect(&ch3, &host, &port);
  EXPECT_EQ(host, "edge.example");
  EXPECT_EQ(port, 8081);
}

TEST(MmshClientSession, RedirectToHttpStaysOnMmsh) {
  Rig rig(Rig::config("mmsh://origin.example/a.asf"));
  rig.play();
  ChannelId ch1 = 0;
  rig.connect(&ch1);
  std::vector<std::uint8_t> b;
  append(&b, simple_head(302, "Found", "Location: http://edge.example/c.asf\r\n"));
  rig.feed(ch1, b);
  rig.expect_action(IoAction::Kind::kClose);
  ChannelId ch2 = 0;
  std::string host;
  std::uint16_t port = 0;
  rig.connect(&ch2, &host, &port);
  EXPECT_EQ(host, "edge.example");
  EXPECT_EQ(port, 80);
}

// A web server's ASX behind an http:// location: read whole (Content-Length),
// then its first ref is followed; an http:// ref stays on MMSH here.
TEST(MmshClientSession, AsxBodyIsFollowedToItsFirstRef) {
  for (std::size_t split : {std::size_t{0}, std::size_t{1}, std::size_t{7}}) {
    Rig rig(Rig::config("http://web.example/radio.asx"));
    rig.play();
    ChannelId ch1 = 0;
    std::string host;
    std::uint16_t port = 0;
    rig.connect(&ch1, &host, &port);
    EXPECT_EQ(host, "web.example");
    EXPECT_EQ(port, 80);
    const std::string asx =
        "<ASX version=\"3\"><Entry><Ref href=\"stream/live.asf\"/></Entry></ASX>\r\n";
    std::vector<std::uint8_t> b;
    append(&b, simple_head(200, "OK",
                           "Content-Type: video/x-ms-asf\r\nContent-Length: " +
                               std::to_string(asx.size()) + "\r\n"));
    append(&b, asx);
    if (split == 0) {
      rig.feed(ch1, b);
    } else {
      for (std::size_t i = 0; i < b.size(); i += split) {
        rig.feed(ch1, std::vector<std::uint8_t>(
                          b.begin() + static_cast<std::ptrdiff_t>(i),
                          b.begin() + static_cast<std::ptrdiff_t>(std::min(b.size(), i + split))));
      }
    }
    ASSERT_EQ(rig.log().size(), 1u) << "split " << split;
    EXPECT_EQ(rig.events()[0].kind, Event::Kind::kRedirect);
    EXPECT_NE(rig.events()[0].url.find("web.example/stream/live.asf"), std::string::npos)
        << rig.events()[0].url;
    rig.expect_action(IoAction::Kind::kClose);
    ChannelId ch2 = 0;
    const std::string req = rig.connect(&ch2, &host, &port);
    EXPECT_EQ(host, "web.example");
    EXPECT_EQ(req.rfind("GET /stream/live.asf HTTP/1.0\r\n", 0), 0u) << req;
  }
}

// A [Reference] file without Content-Length ends with the connection; an
// mms:// ref goes to the rollover (another transport family).
TEST(MmshClientSession, ReferenceBodyEndsAtEofAndHandsMmsToTheRollover) {
  Rig rig(Rig::config("mmsh://web.example/x.wvx"));
  rig.play();
  ChannelId ch = 0;
  rig.connect(&ch);
  std::vector<std::uint8_t> b;
  append(&b, simple_head(200, "OK"));
  append(&b, "[Reference]\r\nRef1=mms://wm.example/clip.wmv\r\n");
  rig.feed(ch, b);
  EXPECT_TRUE(rig.log().empty());
  rig.eof(ch);
  rig.expect_failed(Code::kRefused);
  ASSERT_TRUE(rig.events().back().redirect_to.has_value());
  EXPECT_EQ(rig.events().back().redirect_to->scheme, "mms");
  EXPECT_EQ(rig.events().back().redirect_to->host, "wm.example");
}

TEST(MmshClientSession, NeitherFramesNorRedirectorIsMalformed) {
  Rig rig(Rig::config("http://web.example/page"));
  rig.play();
  ChannelId ch = 0;
  rig.connect(&ch);
  std::vector<std::uint8_t> b;
  append(&b, simple_head(200, "OK", "Content-Length: 13\r\n"));
  append(&b, "<html></html>");
  rig.feed(ch, b);
  rig.expect_failed(Code::kMalformed);
  EXPECT_NE(std::string(rig.events().back().status.what()).find("neither MMSH frames"),
            std::string::npos);
}

TEST(MmshClientSession, AsxWithoutPlayableRefFails) {
  Rig rig(Rig::config("http://web.example/bad.asx"));
  rig.play();
  ChannelId ch = 0;
  rig.connect(&ch);
  std::vector<std::uint8_t> b;
  append(&b, simple_head(200, "OK"));
  append(&b, "<asx><entry><ref href=\"file:///etc/passwd\"/></entry></asx>");
  rig.feed(ch, b);
  rig.eof(ch);
  rig.expect_failed(Code::kMalformed);
}

TEST(MmshClientSession, TooManyRedirects) {
  Rig rig(Rig::config("mmsh://h0.example/a.asf"));
  rig.play();
  int redirects = 0;
  for (int i = 0; i <= limits::kMaxRedirects; ++i) {
    ChannelId ch = 0;
    rig.connect(&ch);
    std::vector<std::uint8_t> b;
    append(&b, simple_head(302, "Found",
                           "Location: mmsh://h" + std::to_string(i + 1) + ".example/a.asf\r\n"));
    rig.feed(ch, b);
    rig.expect_action(IoAction::Kind::kClose);
    if (rig.events().back().kind == Event::Kind::kFailed) {
      break;
    }
    ++redirects;
  }
  EXPECT_EQ(redirects, limits::kMaxRedirects);
  rig.expect_failed(Code::kLimitExceeded);
  EXPECT_TRUE(rig.no_actions());
}

TEST(MmshClientSession, RedirectWithoutLocationFails) {
  Rig rig(Rig::config("mmsh://h/a.asf"));
  rig.play();
  ChannelId ch = 0;
  rig.connect(&ch);
  std::vector<std::uint8_t> b;
  append(&b, simple_head(302, "Found"));
  rig.feed(ch, b);
  rig.expect_failed(Code::kPeerViolation);
}

TEST(MmshClientSession, RedirectToFileSchemeIsRefused) {
  Rig rig(Rig::config("mmsh://h/a.asf"));
  rig.play();
  ChannelId ch = 0;
  rig.connect(&ch);
  std::vector<std::uint8_t> b;
  append(&b, simple_head(302, "Found", "Location: rtsp://h/a.asf\r\n"));
  rig.feed(ch, b);
  ASSERT_FALSE(rig.events().empty());
  EXPECT_EQ(rig.events().back().kind, Event::Kind::kFailed);
  EXPECT_EQ(rig.count(Event::Kind::kRedirect), 0u);
}

// --- failures ----------------------------------------------------------------

TEST(MmshClientSession, ConnectFailed) {
  Rig rig(Rig::config("mmsh://h/a.asf"));
  rig.play();
  IoAction c = rig.expect_action(IoAction::Kind::kConnectTcp);
  rig.s().on_connect_failed(c.channel, Status(Code::kRefused, "connection refused"), rig.now());
  rig.drain();
  rig.expect_failed(Code::kRefused);
  EXPECT_TRUE(rig.no_actions());  // the channel never opened: nothing to close
}

TEST(MmshClientSession, EofBeforeHead) {
  Rig rig(Rig::config("mmsh://h/a.asf"));
  rig.play();
  ChannelId ch = 0;
  rig.connect(&ch);
  std::vector<std::uint8_t> partial;
  append(&partial, "HTTP/1.0 200 OK\r\nServer: Cou");
  rig.feed(ch, partial);
  EXPECT_TRUE(rig.log().empty());
  rig.eof(ch);
  ASSERT_EQ(rig.log().size(), 1u);
  rig.expect_failed(Code::kConnectionLost);
}

TEST(MmshClientSession, EofDuringDescribeBody) {
  const Media& m = small_media();
  Rig rig(Rig::config("mmsh://h/a.asf"));
  rig.play();
  ChannelId ch = 0;
  rig.connect(&ch);
  std::vector<std::uint8_t> body = header_body(ok_head(), m.header, 1000);
  body.resize(body.size() - 10);
  rig.feed(ch, body);
  EXPECT_TRUE(rig.log().empty());
  rig.eof(ch);
  rig.expect_failed(Code::kConnectionLost);
}

TEST(MmshClientSession, EofMidStream) {
  const Media& m = small_media();
  Rig rig(Rig::config("mmsh://h/a.asf"));
  Started st = start(&rig, m);
  std::vector<std::uint8_t> body = play_body(m, 3);
  body.resize(body.size() - 8 - 100);  // cut inside the third $D, no $E
  rig.clear_log();
  rig.feed(st.play, body);
  EXPECT_EQ(rig.count(Event::Kind::kPacket), 2u);
  rig.eof(st.play);
  rig.expect_failed(Code::kConnectionLost);
  EXPECT_EQ(rig.count(Event::Kind::kEos), 0u);
}

TEST(MmshClientSession, GarbageInsteadOfHttp) {
  Rig rig(Rig::config("mmsh://h/a.asf"));
  rig.play();
  ChannelId ch = 0;
  rig.connect(&ch);
  std::vector<std::uint8_t> b;
  append(&b, "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n\r\n");
  rig.feed(ch, b);
  ASSERT_EQ(rig.log().size(), 1u);
  rig.expect_failed(Code::kMalformed);
}

TEST(MmshClientSession, DataBeforeHeaderInPlayFails) {
  const Media& m = small_media();
  Rig rig(Rig::config("mmsh://h/a.asf"));
  Started st = start(&rig, m);
  rig.clear_log();
  std::vector<std::uint8_t> b;
  append(&b, ok_head());
  encode_data_frame(kFrameData, 0, 0, 0, m.packets[0], &b);
  rig.feed(st.play, b);
  ASSERT_EQ(rig.log().size(), 1u);
  EXPECT_EQ(rig.events()[0].kind, Event::Kind::kFailed);
  EXPECT_EQ(rig.count(Event::Kind::kPacket), 0u);
}

TEST(MmshClientSession, DataLargerThanPacketSizeIsMalformed) {
  const Media& m = small_media();
  Rig rig(Rig::config("mmsh://h/a.asf"));
  Started st = start(&rig, m);
  rig.clear_log();
  std::vector<std::uint8_t> b = header_body(ok_head(), m.header);
  std::vector<std::uint8_t> big(m.packet_size + 1, 0x82);
  encode_data_frame(kFrameData, 0, 0, 0, big, &b);
  rig.feed(st.play, b);
  ASSERT_EQ(rig.log().size(), 1u);
  rig.expect_failed(Code::kMalformed);
}

TEST(MmshClientSession, DataAtExactlyThePacketSizeIsAccepted) {
  const Media& m = small_media();
  Rig rig(Rig::config("mmsh://h/a.asf"));
  Started st = start(&rig, m);
  rig.clear_log();
  std::vector<std::uint8_t> b = header_body(ok_head(), m.header);
  std::vector<std::uint8_t> exact(m.packet_size, 0x82);
  std::vector<std::uint8_t> shorter(10, 0x82);
  encode_data_frame(kFrameData, 0, 0, 0, exact, &b);
  encode_data_frame(kFrameData, 1, 0, 1, shorter, &b);
  rig.feed(st.play, b);
  EXPECT_EQ(rig.count(Event::Kind::kPacket), 2u);
  EXPECT_EQ(rig.packets()[1], shorter);
}

TEST(MmshClientSession, EndWithErrorHresultFails) {
  const Media& m = small_media();
  Rig rig(Rig::config("mmsh://h/a.asf"));
  Started st = start(&rig, m);
  rig.clear_log();
  std::vector<std::uint8_t> b = play_body(m, 1);
  b.resize(b.size() - 8);
  encode_reason_frame(kFrameEnd, 0xC00D001Au, &b);  // NS_E_FILE_NOT_FOUND
  rig.feed(st.play, b);
  ASSERT_EQ(rig.log().size(), 2u);
  EXPECT_EQ(rig.events()[1].kind, Event::Kind::kFailed);
  EXPECT_EQ(rig.events()[1].status.detail(), 0xC00D001Au);
  EXPECT_EQ(rig.count(Event::Kind::kEos), 0u);
}

TEST(MmshClientSession, MalformedFrameFails) {
  const Media& m = small_media();
  Rig rig(Rig::config("mmsh://h/a.asf"));
  Started st = start(&rig, m);
  rig.clear_log();
  std::vector<std::uint8_t> b = header_body(ok_head(), m.header);
  // PacketLength 20 but inner PacketSize 99.
  const std::uint8_t bad[] = {0x24, 'D', 20, 0, 0, 0, 0, 0, 0, 0,  99, 0,
                              1,    2,   3,  4, 5, 6, 7, 8, 9, 10, 11, 12};
  b.insert(b.end(), std::begin(bad), std::end(bad));
  rig.feed(st.play, b);
  rig.expect_failed(Code::kMalformed);
}

TEST(MmshClientSession, UnusableHeaderFails) {
  Rig rig(Rig::config("mmsh://h/a.asf"));
  rig.play();
  ChannelId ch = 0;
  rig.connect(&ch);
  std::vector<std::uint8_t> junk(300, 0x11);
  rig.feed(ch, header_body(ok_head(), junk));
  ASSERT_EQ(rig.log().size(), 1u);
  EXPECT_EQ(rig.events()[0].kind, Event::Kind::kFailed);
}

TEST(MmshClientSession, FailedIsSticky) {
  const Media& m = small_media();
  Rig rig(Rig::config("mmsh://h/a.asf"));
  Started st = start(&rig, m);
  rig.clear_log();
  rig.clear_actions();
  rig.eof(st.play);
  rig.expect_failed(Code::kConnectionLost);
  rig.clear_actions();
  std::vector<std::uint8_t> more = play_body(m, 3);
  EXPECT_EQ(rig.s().on_bytes(st.play, ByteView(more), rig.now()), more.size());
  rig.drain();
  rig.s().on_eof(st.play, rig.now());
  rig.s().on_timeout(rig.now() + 3600 * kSecond);
  rig.s().on_connected(st.play, rig.now());
  rig.s().on_connect_failed(st.play, Status(Code::kRefused, "x"), rig.now());
  rig.play(100);
  rig.s().close();
  rig.drain();
  EXPECT_EQ(rig.log().size(), 1u) << ::testing::PrintToString(rig.log());
  EXPECT_TRUE(rig.no_actions());
  EXPECT_EQ(rig.s().next_deadline(), std::nullopt);
}

TEST(MmshClientSession, CloseStopsEverything) {
  const Media& m = small_media();
  Rig rig(Rig::config("mmsh://h/a.asf"));
  Started st = start(&rig, m);
  rig.clear_log();
  rig.s().close();
  rig.drain();
  EXPECT_EQ(rig.expect_action(IoAction::Kind::kClose).channel, st.play);
  EXPECT_EQ(rig.s().next_deadline(), std::nullopt);
  std::vector<std::uint8_t> more = play_body(m, 2);
  rig.s().on_bytes(st.play, ByteView(more), rig.now());
  rig.drain();
  EXPECT_TRUE(rig.log().empty());
}

// --- time ----------------------------------------------------------------------

TEST(MmshClientSession, ConnectTimeout) {
  Rig rig(Rig::config("mmsh://h/a.asf"));
  EXPECT_EQ(rig.s().next_deadline(), std::nullopt);  // idle
  rig.play();
  std::optional<Instant> d = rig.s().next_deadline();
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, rig.now() + 10 * kSecond);
  rig.s().on_timeout(*d + (-1));  // early wake-up: nothing
  rig.drain();
  EXPECT_TRUE(rig.log().empty());
  rig.s().on_timeout(*d);
  rig.drain();
  rig.expect_failed(Code::kTimedOut);
}

TEST(MmshClientSession, NoDataTimeoutAndActivityMovesTheDeadline) {
  const Media& m = small_media();
  Rig rig(Rig::config("mmsh://h/a.asf"));
  Started st = start(&rig, m);
  std::optional<Instant> d0 = rig.s().next_deadline();
  ASSERT_TRUE(d0.has_value());
  rig.advance(4 * kSecond);
  std::vector<std::uint8_t> head;
  append(&head, ok_head());
  rig.feed(st.play, head);
  std::optional<Instant> d1 = rig.s().next_deadline();
  ASSERT_TRUE(d1.has_value());
  EXPECT_EQ(*d1, rig.now() + 10 * kSecond);
  EXPECT_GT(*d1, *d0);
  rig.s().on_timeout(*d0);  // the old deadline has passed, the new one has not
  rig.drain();
  EXPECT_EQ(rig.count(Event::Kind::kFailed), 0u);
  rig.s().on_timeout(*d1);
  rig.drain();
  rig.expect_failed(Code::kTimedOut);
}

TEST(MmshClientSession, NoDeadlineWhileThrottled) {
  const Media& m = small_media();
  Rig rig(Rig::config("mmsh://h/a.asf"));
  Started st = start(&rig, m);
  std::vector<std::uint8_t> body = header_body(ok_head(), m.header);
  rig.feed(st.play, body);
  rig.clear_log();
  rig.s().on_throttle(true, rig.now());
  EXPECT_EQ(rig.s().next_deadline(), std::nullopt);
  rig.advance(3600 * kSecond);
  rig.s().on_timeout(rig.now());
  rig.drain();
  EXPECT_TRUE(rig.log().empty());
  rig.s().on_throttle(false, rig.now());
  std::optional<Instant> d = rig.s().next_deadline();
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, rig.now() + 10 * kSecond);
  rig.s().on_timeout(*d);
  rig.drain();
  rig.expect_failed(Code::kTimedOut);
}

TEST(MmshClientSession, ZeroTimeoutMeansNoDeadline) {
  session::ClientConfig cfg = Rig::config("mmsh://h/a.asf");
  cfg.timeout = 0;
  Rig rig(cfg);
  rig.play();
  EXPECT_EQ(rig.s().next_deadline(), std::nullopt);
}

TEST(MmshClientSession, WaitForStreamChangeAllowsALongerGap) {
  const Media& m = small_media();
  Rig rig(Rig::config("mmsh://h/a.asf"));
  Started st = start(&rig, m);
  std::vector<std::uint8_t> body = play_body(m, 1);
  body.resize(body.size() - 8);
  encode_reason_frame(kFrameEnd, 1, &body);
  rig.feed(st.play, body);
  std::optional<Instant> d = rig.s().next_deadline();
  ASSERT_TRUE(d.has_value());
  EXPECT_GT(*d, rig.now() + 10 * kSecond);
}

// --- proxy ---------------------------------------------------------------------

TEST(MmshClientSession, ProxyGetsAbsoluteUriAndProxyCredentials) {
  session::ClientConfig cfg = Rig::config("mmsh://media.example:8080/a.asf");
  Result<Url> proxy = parse_url("http://pu:pp@proxy.example:3129");
  ASSERT_TRUE(proxy.ok());
  cfg.proxy = *proxy;
  Rig rig(cfg);
  rig.play();
  ChannelId ch1 = 0;
  std::string host;
  std::uint16_t port = 0;
  std::string req = rig.connect(&ch1, &host, &port);
  EXPECT_EQ(host, "proxy.example");
  EXPECT_EQ(port, 3129);
  EXPECT_EQ(req.rfind("GET http://media.example:8080/a.asf HTTP/1.0\r\n", 0), 0u) << req;
  EXPECT_EQ(req.find("Proxy-Authorization"), std::string::npos);
  std::vector<std::uint8_t> b;
  append(&b, simple_head(407, "Proxy Authentication Required"));
  rig.feed(ch1, b);
  rig.expect_action(IoAction::Kind::kClose);
  ChannelId ch2 = 0;
  req = rig.connect(&ch2, &host, &port);
  EXPECT_EQ(host, "proxy.example");
  EXPECT_TRUE(has_line(req, "Proxy-Authorization: Basic " + base64_encode("pu:pp"))) << req;
  EXPECT_EQ(req.find("\r\nAuthorization:"), std::string::npos);
}

// --- live ----------------------------------------------------------------------

TEST(MmshClientSession, BroadcastFeatureMakesPlayWithoutPositionAndNotSeekable) {
  const Media& m = small_media();
  Rig rig(Rig::config("mmsh://h/live"));
  Started st = start(&rig, m, 0, ok_head(42, "\"broadcast,playlist\""));
  EXPECT_FALSE(rig.s().seekable());
  EXPECT_EQ(st.play_request.find("stream-time="), std::string::npos) << st.play_request;
  EXPECT_TRUE(has_line(st.play_request, "Pragma: client-id=42"));
}

}  // namespace
}  // namespace mms::mmsh

// io::make_demux_connection: one TCP port for MMS, RTSP and MMSH. The first
// bytes choose the protocol (MMS TCP header signature, an RTSP or HTTP request
// line, an interleaved '$' frame); everything, the first bytes included, goes
// to the session the chosen factory makes. Fed whole, byte by byte (as the
// listener does: unconsumed bytes are offered again with the next ones) and
// with more bytes after the first request.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/io/listener.h"
#include "protocol/server/demux.h"

namespace mms::io {
namespace {

using Bytes = std::vector<std::uint8_t>;

// A session that takes every byte and remembers them.
class Recorder : public Connection {
 public:
  Recorder(const char* name, Bytes* sink) : name_(name), sink_(sink) {}
  Result<std::size_t> on_bytes(ByteView in, Instant) override {
    sink_->insert(sink_->end(), in.begin(), in.end());
    return in.size();
  }
  void on_eof(Instant) override { eof_ = true; }
  void on_timeout(Instant) override {}
  std::optional<Instant> next_deadline() const override { return std::nullopt; }
  ByteView next_output(Instant) override { return ByteView(); }
  void consume_output(std::size_t) override {}
  bool wants_close() const override { return eof_; }
  const char* protocol() const override { return name_; }

 private:
  const char* name_;
  Bytes* sink_;
  bool eof_ = false;
};

struct Rig {
  ProtocolFactories factories;
  Bytes received;
  std::vector<std::string> made;  // protocols of the sessions made, in order
  Instant now{};
  std::unique_ptr<Connection> conn;
  Bytes pending;  // what the connection has not consumed yet

  explicit Rig(bool mmsh = true, bool mms = true, bool rtsp = true) {
    auto factory = [this](const char* name) {
      return [this, name](Instant) -> std::unique_ptr<Connection> {
        made.emplace_back(name);
        return std::make_unique<Recorder>(name, &received);
      };
    };
    if (mmsh) {
      factories.mmsh = factory("mmsh");
    }
    if (mms) {
      factories.mms = factory("mms");
    }
    if (rtsp) {
      factories.rtsp = factory("rtsp");
    }
    conn = make_demux_connection(&factories, now);
  }

  // Offers `in` like the listener: appended to what is pending, consumed
  // bytes dropped. Returns the first error, if any.
  Status feed(const Bytes& in) {
    pending.insert(pending.end(), in.begin(), in.end());
    Result<std::size_t> r = conn->on_bytes(ByteView(pending), now);
    if (!r.ok()) {
      return r.status();
    }
    EXPECT_LE(*r, pending.size());
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(*r));
    return Status::Ok();
  }
  Status feed_bytewise(const Bytes& in) {
    for (std::uint8_t b : in) {
      Status st = feed(Bytes{b});
      if (!st.ok()) {
        return st;
      }
    }
    return Status::Ok();
  }
};

Bytes text(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

Bytes mms_header() {
  // Bytes 4-7 of an MMS TCP message: the session id signature CE FA 0B B0.
  return Bytes{0x01, 0x00, 0x00, 0x00, 0xCE, 0xFA, 0x0B, 0xB0, 0x20, 0x00, 0x00, 0x00};
}

struct Case {
  const char* name;
  Bytes first;
  const char* protocol;
};

std::vector<Case> recognised() {
  return {
      {"mms", mms_header(), "mms"},
      {"rtsp request", text("OPTIONS rtsp://127.0.0.1/a.wmv RTSP/1.0\r\nCSeq: 1\r\n\r\n"), "rtsp"},
      {"rtsp interleaved", Bytes{'$', 0, 0, 4, 1, 2, 3, 4}, "rtsp"},
      {"http", text("GET /a.wmv HTTP/1.0\r\nAccept: */*\r\n\r\n"), "mmsh"},
      {"http after empty lines", text("\r\n\r\nGET /a.wmv HTTP/1.1\r\n\r\n"), "mmsh"},
      {"bare newline", text("DESCRIBE rtsp://h/x RTSP/1.0\nCSeq: 2\n\n"), "rtsp"},
  };
}

TEST(ListenerDemux, WholeFirstBytesChooseTheProtocol) {
  for (const Case& c : recognised()) {
    Rig r;
    ASSERT_TRUE(r.feed(c.first).ok()) << c.name;
    ASSERT_EQ(r.made, std::vector<std::string>{c.protocol}) << c.name;
    EXPECT_STREQ(r.conn->protocol(), c.protocol) << c.name;
    EXPECT_EQ(r.conn->info().transport, c.protocol) << c.name;
    EXPECT_EQ(r.received, c.first) << c.name;  // nothing lost, nothing doubled
    EXPECT_TRUE(r.pending.empty()) << c.name;
  }
}

TEST(ListenerDemux, ByteByByteAndWithTrailingData) {
  for (const Case& c : recognised()) {
    Rig r;
    Bytes all = c.first;
    const Bytes more = text("trailing bytes of the next request\r\n");
    all.insert(all.end(), more.begin(), more.end());
    ASSERT_TRUE(r.feed_bytewise(all).ok()) << c.name;
    ASSERT_EQ(r.made, std::vector<std::string>{c.protocol}) << c.name;  // one session only
    EXPECT_EQ(r.received, all) << c.name;
    EXPECT_TRUE(r.pending.empty()) << c.name;
  }
}

TEST(ListenerDemux, NothingChosenBeforeTheFirstLineEnds) {
  Rig r;
  ASSERT_TRUE(r.feed(text("GET /a.wmv HTTP/1.0")).ok());
  EXPECT_TRUE(r.made.empty());
  EXPECT_STREQ(r.conn->protocol(), "");
  EXPECT_FALSE(r.conn->wants_close());
  EXPECT_EQ(r.pending.size(), 19u);  // kept for the next read
  ASSERT_TRUE(r.feed(text("\r\n")).ok());
  EXPECT_EQ(r.made, std::vector<std::string>{"mmsh"});
}

TEST(ListenerDemux, UnknownProtocolIsRefusedAndClosed) {
  for (const Bytes& junk :
       {text("HELLO world\r\n"), text("GET / SPDY/3\r\n"), Bytes{0, 1, 2, '\n'}}) {
    Rig r;
    Status st = r.feed(junk);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.code(), Code::kRefused);
    EXPECT_TRUE(r.made.empty());
    EXPECT_TRUE(r.conn->wants_close());
    // What still arrives is swallowed, never handed to a session.
    ASSERT_TRUE(r.feed(text("GET / HTTP/1.0\r\n")).ok());
    EXPECT_TRUE(r.made.empty());
  }
}

TEST(ListenerDemux, DisabledProtocolIsRefused) {
  Rig r(/*mmsh=*/false, /*mms=*/true, /*rtsp=*/true);
  Status st = r.feed(text("GET /a.wmv HTTP/1.0\r\n\r\n"));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kRefused);
  EXPECT_TRUE(r.made.empty());
  EXPECT_TRUE(r.conn->wants_close());
  Rig m(true, false, true);
  EXPECT_FALSE(m.feed(mms_header()).ok());
  EXPECT_TRUE(m.made.empty());
}

TEST(ListenerDemux, NoRequestLineWithinTheSniffLimit) {
  Rig r;
  Bytes blob(server::kMaxSniffBytes - 1, 'A');
  ASSERT_TRUE(r.feed(blob).ok());  // still waiting
  EXPECT_FALSE(r.conn->wants_close());
  Status st = r.feed(Bytes{'A'});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kRefused);
  EXPECT_TRUE(r.conn->wants_close());
  EXPECT_TRUE(r.made.empty());
}

TEST(ListenerDemux, SilentClientTimesOutAndEofCloses) {
  Rig r;
  ASSERT_TRUE(r.feed(text("GET")).ok());
  ASSERT_TRUE(r.conn->next_deadline().has_value());
  EXPECT_EQ(*r.conn->next_deadline(), r.now + kSniffTimeout);
  r.conn->on_timeout(r.now + (kSniffTimeout - kMillisecond));
  EXPECT_FALSE(r.conn->wants_close());
  r.conn->on_timeout(r.now + kSniffTimeout);
  EXPECT_TRUE(r.conn->wants_close());
  EXPECT_EQ(r.conn->next_deadline(), std::nullopt);

  Rig e;
  e.conn->on_eof(e.now);
  EXPECT_TRUE(e.conn->wants_close());
  EXPECT_TRUE(e.made.empty());
}

TEST(ListenerDemux, AfterChoosingEverythingGoesToTheSession) {
  Rig r;
  ASSERT_TRUE(r.feed(mms_header()).ok());
  EXPECT_FALSE(r.conn->wants_close());
  r.conn->on_eof(r.now);
  EXPECT_TRUE(r.conn->wants_close());  // the session's answer, not the demultiplexer's
  EXPECT_EQ(r.conn->next_deadline(), std::nullopt);
}

}  // namespace
}  // namespace mms::io

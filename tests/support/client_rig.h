// The rig of the client-session unit tests: one session of any transport, a
// clock, the server's bytes fed on the TCP channel whole or one byte at a
// time (what the session leaves unconsumed is offered again with the next
// bytes, as protocol/io does), and every event copied out of its views. What
// the session writes is the protocol's: a rig derives from ClientRig<Session>
// and decodes it in on_action().
//
// Pure and deterministic: no sockets, no clock, no gtest main.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/asf/header_parser.h"
#include "protocol/core/bytes.h"
#include "protocol/core/status.h"
#include "protocol/core/time.h"
#include "protocol/core/url.h"
#include "protocol/session/client_session.h"

namespace mms::test {

// A session::Event with its views copied.
struct SeenEvent {
  session::Event::Kind kind = session::Event::Kind::kPacket;
  std::vector<std::uint8_t> payload;
  std::uint32_t packet_number = 0;
  bool discont = false;
  bool changed = false;
  bool playlist = false;  // kHeader
  Status status;
  std::string detail;
  std::string url;
  std::shared_ptr<const std::vector<std::uint8_t>> header;
  std::shared_ptr<const asf::HeaderInfo> info;
  std::shared_ptr<const session::EntryMetadata> metadata;
  std::uint64_t bandwidth_bps = 0;  // kBandwidth
  std::string redirect_to;  // kFailed: a redirect for the rollover to follow ("scheme://host/path")
};

// The configuration every client test starts from: a fixed client GUID, a
// 10 s connect / no-data bound, 5 s for UDP.
inline session::ClientConfig client_config(const std::string& url, const std::string& user = "",
                                           const std::string& password = "",
                                           std::uint32_t connection_speed_kbps = 0) {
  session::ClientConfig c;
  Result<Url> u = parse_url(url);
  EXPECT_TRUE(u.ok()) << url;
  if (u.ok()) {
    c.url = *u;
  }
  c.user = user;
  c.password = password;
  c.client_guid = "{2a4e2c8b-5c1d-4f3e-9b7a-0123456789ab}";
  c.timeout = 10 * kSecond;
  c.udp_timeout = 5 * kSecond;
  c.connection_speed_kbps = connection_speed_kbps;
  return c;
}

template <typename Session>
class ClientRig {
 public:
  template <typename... Args>
  explicit ClientRig(Args&&... args) : s_(std::forward<Args>(args)...) {}
  virtual ~ClientRig() = default;
  ClientRig(const ClientRig&) = delete;
  ClientRig& operator=(const ClientRig&) = delete;

  Session& s() { return s_; }
  Instant now() const { return now_; }
  void advance(Duration d) { now_ = now_ + d; }
  void set_now(Instant t) { now_ = t; }

  // Takes every pending I/O action (on_action) and event.
  void drain() {
    session::IoAction a;
    while (s_.next_io_action(&a)) {
      on_action(a);
    }
    session::Event e;
    while (s_.next_event(&e)) {
      if (failed_) {
        ADD_FAILURE() << "event after Failed";
      }
      SeenEvent v;
      v.kind = e.kind;
      v.payload.assign(e.payload.begin(), e.payload.end());
      v.packet_number = e.packet_number;
      v.discont = e.discont;
      v.changed = e.changed;
      v.playlist = e.playlist;
      v.status = e.status;
      v.detail = e.detail;
      v.bandwidth_bps = e.bandwidth_bps;
      v.url = e.url;
      v.header = e.header;
      v.info = e.info;
      v.metadata = e.metadata;
      if (e.redirect_to) {
        v.redirect_to = e.redirect_to->scheme + "://" + e.redirect_to->host + e.redirect_to->path;
      }
      failed_ = failed_ || e.kind == session::Event::Kind::kFailed;
      events_.push_back(std::move(v));
    }
  }

  // The server's bytes on the TCP channel: whole, or one byte at a time.
  void feed(const std::vector<std::uint8_t>& bytes, bool byte_by_byte = false) {
    if (!byte_by_byte) {
      pending_.insert(pending_.end(), bytes.begin(), bytes.end());
      offer();
      return;
    }
    for (std::uint8_t b : bytes) {
      pending_.push_back(b);
      offer();
    }
  }
  void feed(const std::string& bytes, bool byte_by_byte = false) {
    feed(std::vector<std::uint8_t>(bytes.begin(), bytes.end()), byte_by_byte);
  }
  void timeout() {
    s_.on_timeout(now_);
    drain();
  }

  std::vector<SeenEvent>& events() { return events_; }
  const std::vector<SeenEvent>& events() const { return events_; }
  std::vector<SeenEvent> packets() const {
    std::vector<SeenEvent> out;
    for (const SeenEvent& e : events_) {
      if (e.kind == session::Event::Kind::kPacket) {
        out.push_back(e);
      }
    }
    return out;
  }
  const SeenEvent* find(session::Event::Kind k) const {
    for (const SeenEvent& e : events_) {
      if (e.kind == k) {
        return &e;
      }
    }
    return nullptr;
  }
  std::size_t count(session::Event::Kind k) const {
    std::size_t n = 0;
    for (const SeenEvent& e : events_) {
      n += e.kind == k ? 1 : 0;
    }
    return n;
  }
  bool failed() const { return failed_; }
  void set_tcp(session::ChannelId ch) { tcp_ = ch; }
  session::ChannelId tcp() const { return tcp_; }

 protected:
  // One I/O action of the session, in order: the protocol's rig decodes it.
  virtual void on_action(const session::IoAction& a) = 0;

  session::ChannelId tcp_ = 0;

 private:
  void offer() {
    const std::size_t used = s_.on_bytes(tcp_, ByteView(pending_.data(), pending_.size()), now_);
    ASSERT_LE(used, pending_.size());
    drain();  // events alias pending_: drain before erasing
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(used));
  }

  Session s_;
  Instant now_{5 * kSecond};
  std::vector<std::uint8_t> pending_;
  bool failed_ = false;
  std::vector<SeenEvent> events_;
};

}  // namespace mms::test

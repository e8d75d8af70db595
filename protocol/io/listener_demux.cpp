// The one-port demultiplexing connection of the listener (listener.h
// make_demux_connection): keeps the first bytes until server::classify names
// the protocol, then hands them and everything after to that protocol's
// session. No sockets: unit-tested in tests/unit/io_listener_demux_test.cpp.
#include <memory>
#include <string>
#include <utility>

#include "protocol/core/log.h"
#include "protocol/io/listener.h"
#include "protocol/server/demux.h"

namespace mms::io {
namespace {

constexpr const char* kLog = "io-listener";

// Recognises the protocol from the first bytes, then forwards to the session.
class DemuxConnection final : public Connection {
 public:
  DemuxConnection(const ProtocolFactories* f, Instant now)
      : factories_(f), deadline_(now + kSniffTimeout) {}

  Result<std::size_t> on_bytes(ByteView in, Instant now) override {
    if (inner_) {
      return inner_->on_bytes(in, now);
    }
    if (closed_) {
      return in.size();
    }
    const server::FirstBytes kind = server::classify(in);
    const ConnectionFactory* chosen = nullptr;
    switch (kind) {
      case server::FirstBytes::kNeedMore:
        return std::size_t{0};  // wait for more
      case server::FirstBytes::kUnknown:
        return fail("unknown protocol");
      case server::FirstBytes::kMmsh:
        chosen = &factories_->mmsh;
        break;
      case server::FirstBytes::kMms:
        chosen = &factories_->mms;
        break;
      case server::FirstBytes::kRtsp:
        chosen = &factories_->rtsp;
        break;
    }
    if (!*chosen) {
      MMS_LOG(LogLevel::kInfo, kLog, "%s connection refused (protocol disabled)",
              server::to_string(kind));
      return fail("protocol refused");
    }
    inner_ = (*chosen)(now);
    if (!inner_) {
      return fail("protocol refused");
    }
    return inner_->on_bytes(in, now);
  }
  void on_eof(Instant now) override {
    if (inner_) {
      inner_->on_eof(now);
    } else {
      closed_ = true;
    }
  }
  void on_timeout(Instant now) override {
    if (inner_) {
      inner_->on_timeout(now);
    } else if (now >= deadline_) {
      closed_ = true;
    }
  }
  std::optional<Instant> next_deadline() const override {
    if (inner_) {
      return inner_->next_deadline();
    }
    if (closed_) {
      return std::nullopt;
    }
    return deadline_;
  }
  ByteView next_output(Instant now) override {
    return inner_ ? inner_->next_output(now) : ByteView();
  }
  void consume_output(std::size_t n) override {
    if (inner_) {
      inner_->consume_output(n);
    }
  }
  bool wants_close() const override { return inner_ ? inner_->wants_close() : closed_; }
  std::uint16_t datagram_port() const override { return inner_ ? inner_->datagram_port() : 0; }
  ByteView next_datagram(Instant now) override {
    return inner_ ? inner_->next_datagram(now) : ByteView();
  }
  void consume_datagram() override {
    if (inner_) {
      inner_->consume_datagram();
    }
  }
  std::size_t next_datagrams(Instant now, ByteView* out, std::size_t max) override {
    return inner_ ? inner_->next_datagrams(now, out, max) : 0;
  }
  void consume_datagrams(std::size_t n) override {
    if (inner_) {
      inner_->consume_datagrams(n);
    }
  }
  void on_datagram(ByteView d, Instant now) override {
    if (inner_) {
      inner_->on_datagram(d, now);
    }
  }
  const char* protocol() const override { return inner_ ? inner_->protocol() : ""; }
  ConnectionInfo info() const override { return inner_ ? inner_->info() : ConnectionInfo{}; }

 private:
  Result<std::size_t> fail(const char* why) {
    closed_ = true;
    return Status(Code::kRefused, why);
  }

  const ProtocolFactories* factories_;
  Instant deadline_;
  std::unique_ptr<Connection> inner_;
  bool closed_ = false;
};
}  // namespace

std::unique_ptr<Connection> make_demux_connection(const ProtocolFactories* factories, Instant now) {
  return std::make_unique<DemuxConnection>(factories, now);
}
}  // namespace mms::io

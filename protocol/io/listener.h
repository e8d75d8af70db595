// Listener: accepts TCP connections on a GMainContext and drives one sans-I/O
// server session per connection (the reference server's only socket code).
//
// Per connection: a non-blocking GSocket, a read source (always on, so a
// client leaving is noticed while streaming), a write source only while the
// kernel buffer is full, and one timer for the session's next deadline. Output
// is written in the session's large batches (one send() per batch). When the
// session wants to close, the write side is shut down and the socket lingers
// until the client closes (bounded), so unread request bytes never turn the
// close into a reset that would destroy data still in flight.
//
// Thread confinement: create, use and destroy a Listener on the thread that
// runs its GMainContext.
#pragma once

#include <glib.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "protocol/core/bytes.h"
#include "protocol/core/status.h"
#include "protocol/core/time.h"
#include "protocol/mmsh/server_session.h"
#include "protocol/mmst/server_session.h"
#include "protocol/rtsp/server_session.h"

namespace mms::io {

// What a connection served, for access logs: the content path asked for
// (without the query; "" when no request came), the outcome as an HTTP-style
// status (200 served, 403 access denied, 404 not found, 503 busy...; 0 when
// no request came) and the transport ("mmsh", "mmst", "mmsu", "rtsp"; ""
// while a demultiplexing connection has not recognised its protocol).
struct ConnectionInfo {
  std::string path;
  int status = 0;
  std::string transport;
};

// What the listener drives per accepted connection (the ServerSession drain API).
class Connection {
 public:
  virtual ~Connection() = default;
  virtual Result<std::size_t> on_bytes(ByteView in, Instant now) = 0;
  virtual void on_eof(Instant now) = 0;
  virtual void on_timeout(Instant now) = 0;
  virtual std::optional<Instant> next_deadline() const = 0;
  virtual ByteView next_output(Instant now) = 0;
  virtual void consume_output(std::size_t n) = 0;
  virtual bool wants_close() const = 0;
  // UDP data (MMS, RTP): the client's UDP port on the TCP peer's address (0 =
  // none), the next datagram to send there, and datagrams the client sent to
  // the listener's UDP socket. Connections without UDP keep the defaults. A
  // connection with several destination ports returns an empty datagram at a
  // port change; datagram_port() then names the next one.
  virtual std::uint16_t datagram_port() const { return 0; }
  virtual ByteView next_datagram(Instant /*now*/) { return ByteView(); }
  virtual void consume_datagram() {}
  // Several at once: up to `max` datagrams for datagram_port() in order, left
  // queued (the views stay valid until consume_datagrams()); fewer at a port
  // change. By default one, through next_datagram().
  virtual std::size_t next_datagrams(Instant now, ByteView* out, std::size_t max) {
    const ByteView d = max != 0 ? next_datagram(now) : ByteView();
    if (d.empty()) {
      return 0;
    }
    out[0] = d;
    return 1;
  }
  virtual void consume_datagrams(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      consume_datagram();
    }
  }
  virtual void on_datagram(ByteView /*datagram*/, Instant /*now*/) {}
  // "mmsh", "mms" or "rtsp" ("" while a demultiplexing connection has not
  // recognised its protocol yet).
  virtual const char* protocol() const = 0;
  virtual ConnectionInfo info() const { return ConnectionInfo{std::string(), 0, protocol()}; }
};

// A connection that ended, as the listener saw it.
struct ConnectionRecord {
  std::string client;            // the peer's address, numeric ("127.0.0.1", "::1")
  std::uint64_t bytes_sent = 0;  // TCP bytes written plus UDP datagram bytes sent
  Duration duration{};           // from accept to close
  ConnectionInfo info;
};
// Called on the listener's thread as each connection is destroyed (also when
// the listener itself is).
using CloseHook = std::function<void(const ConnectionRecord&)>;

// Wraps an MMSH server session (takes ownership).
std::unique_ptr<Connection> make_connection(std::unique_ptr<mmsh::ServerSession> session);
// Wraps an MMS server session (takes ownership), UDP data included.
std::unique_ptr<Connection> make_connection(std::unique_ptr<mmst::ServerSession> session);
// Wraps an RTSP server session (takes ownership), RTP over UDP included.
std::unique_ptr<Connection> make_connection(std::unique_ptr<rtsp::ServerSession> session);

// Called once per accepted connection; returns the handler that owns it.
using ConnectionFactory = std::function<std::unique_ptr<Connection>(Instant now)>;

// One TCP port for every protocol: the factories of the protocols served
// (empty = refused: such a connection is closed once recognised).
struct ProtocolFactories {
  ConnectionFactory mmsh;
  ConnectionFactory mms;
  ConnectionFactory rtsp;
};
// Bytes a demultiplexing connection reads before it must have recognised the
// protocol (an RTSP or HTTP request line, or the 8-byte MMS TCP header).
constexpr std::size_t kMaxSniffBytes = 8 * 1024;
// How long it waits for those bytes.
constexpr Duration kSniffTimeout = 30 * kSecond;
// A connection that recognises its protocol from its first bytes and then
// hands everything to a session made by the matching factory: an MMS TCP
// header (bytes 4-7 CE FA 0B B0) is MMS, a first line ending in "RTSP/1.x"
// (or an interleaved '$' frame) is RTSP, one ending in "HTTP/1.x" is MMSH.
// Anything else, or a refused protocol, is closed. `factories` is not owned
// and must outlive the connection.
std::unique_ptr<Connection> make_demux_connection(const ProtocolFactories* factories, Instant now);

// The monotonic clock the I/O layer feeds to the engine.
Instant monotonic_now();

// UDP beside the TCP listener (MMS, RTSP): a datagram socket bound to the same
// address and port number, used to send the connections' datagrams and to
// receive the clients' resend requests and RTCP reports. Datagrams never get
// dropped for a full socket buffer: a connection whose next datagram does not
// fit waits for G_IO_OUT on the shared socket (one write source while any
// connection waits; the waiters are served in turn).
struct UdpOptions {
  bool enabled = false;
  // Also receive on port + 1 (RTSP announces it as its RTCP port): what
  // arrives there reaches the connections like the rest. Best effort: a port
  // that is taken only leaves RTCP unread.
  bool rtcp = false;
  // Called per outgoing datagram of `from`; true = drop it (loss simulation,
  // "refuse UDP" fault). Runs on the listener's thread.
  std::function<bool(const Connection& from)> drop;
};

// Datagrams sent per connection per wake-up before yielding.
constexpr int kMaxDatagramsPerWakeup = 256;
// Datagrams per sendmmsg() call. Runs of equal-sized datagrams up to
// kMaxGsoSegment bytes (RTP fragments) go out as one UDP GSO send of at most
// kMaxGsoSegments / kMaxGsoBytes: the network stack is walked once per run,
// the wire sees the same datagrams. Bigger ones would exceed an Ethernet MTU.
constexpr std::size_t kDatagramsPerSend = 64;
constexpr std::size_t kMaxGsoSegment = 1472;
constexpr std::size_t kMaxGsoSegments = 64;
constexpr std::size_t kMaxGsoBytes = 60000;
// Largest datagram received (resend requests are <= 140 bytes).
constexpr std::size_t kMaxDatagramBytes = 2048;

// Connections served at the same time; more are accepted and closed at once.
constexpr std::size_t kMaxConnections = 1024;
// How long a closing connection waits for the client's close after our
// shutdown(SHUT_WR) before the socket is closed anyway.
constexpr Duration kLingerTimeout = 5 * kSecond;

class Listener {
 public:
  // Binds `address` (numeric IPv4/IPv6) and `port` (0 = any free port) and
  // listens; sources are attached to `context` (not owned; must outlive the
  // Listener; nullptr = the global default context). Errors: kRefused when the
  // address cannot be bound, kLocalMisuse for an address that is not numeric.
  static Result<std::unique_ptr<Listener>> create(GMainContext* context, const std::string& address,
                                                  std::uint16_t port, ConnectionFactory factory);
  // Same, plus a UDP socket on the bound port number when udp.enabled
  // (kRefused when that UDP port is taken).
  static Result<std::unique_ptr<Listener>> create(GMainContext* context, const std::string& address,
                                                  std::uint16_t port, ConnectionFactory factory,
                                                  UdpOptions udp);
  // Closes the listening socket and every connection.
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // The bound port (the real one when 0 was asked).
  std::uint16_t port() const;
  std::size_t connection_count() const;
  // Called for every connection that ends from now on (replaces any earlier hook).
  void set_close_hook(CloseHook hook);
  // Called with the peer's numeric address for every connection accepted from
  // now on (replaces any earlier hook).
  void set_accept_hook(std::function<void(const std::string& client)> hook);
  // The sessions have new output without a deadline of their own (a
  // publishing point got packets): every connection is driven once now.
  void wake();
  // TCP and UDP bytes sent to the connections open now.
  std::uint64_t open_bytes_sent() const;

  struct Impl;

 private:
  explicit Listener(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mms::io

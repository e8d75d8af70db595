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

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <glib.h>

#include "protocol/core/bytes.h"
#include "protocol/core/status.h"
#include "protocol/core/time.h"
#include "protocol/server/session.h"

namespace mms::io {

// What the listener drives per accepted connection: a server session itself
// (mmsh, mmst and rtsp::ServerSession are ones), the demultiplexing connection
// below, or a wrapper around another one.
using Connection = server::ServerSession;
// What a connection served, for access logs (path, status, transport).
using ConnectionInfo = server::SessionInfo;

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

// Called once per accepted connection; returns the handler that owns it.
using ConnectionFactory = std::function<std::unique_ptr<Connection>(Instant now)>;

// One TCP port for every protocol: the factories of the protocols served
// (empty = refused: such a connection is closed once recognised).
struct ProtocolFactories {
  ConnectionFactory mmsh;
  ConnectionFactory mms;
  ConnectionFactory rtsp;
};
// How long a demultiplexing connection waits for the bytes that tell its
// protocol (at most server::kMaxSniffBytes of them).
constexpr Duration kSniffTimeout = 30 * kSecond;
// A connection that keeps its first bytes until server::classify()
// (protocol/server/demux.h) recognises the protocol, then hands everything to
// a session made by the matching factory: an MMS TCP header (bytes 4-7 CE FA
// 0B B0) is MMS, a first line ending in "RTSP/1.x" (or an interleaved '$'
// frame) is RTSP, one ending in "HTTP/1.x" is MMSH. Anything else, or a
// refused protocol, is closed. `factories` is not owned and must outlive the
// connection.
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
// Also bounded by the process's descriptor limit (RLIMIT_NOFILE) less
// kReservedDescriptors; mms-server raises its soft limit to the hard one.
constexpr std::size_t kMaxConnections = 16384;
constexpr std::size_t kReservedDescriptors = 64;
// Pending connections the kernel queues for accept().
constexpr int kListenBacklog = 1024;
// After an accept error (out of descriptors), accepting resumes after this.
constexpr Duration kAcceptPause = 100 * kMillisecond;
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

// The server session interface: what the I/O layer (protocol/io/listener)
// drives per accepted TCP connection. mmsh::ServerSession, mmst::ServerSession
// and rtsp::ServerSession implement it, and so do the listener's
// demultiplexing connection and wrappers such as mms-server's admission
// counter.
//
// Sans-I/O like the rest of protocol/: bytes and "now" go in, bytes, datagrams
// and the next deadline come out; no sockets, clocks or threads.
//
//   on_bytes(buf, now)      -> consumed; unconsumed bytes are offered again
//                              with more appended
//   on_eof(now)             -> the peer closed its side
//   on_timeout(now)         -> a deadline passed
//   next_deadline()         -> when to call next_output/on_timeout again
//   next_output(now)        -> TCP bytes to write now
//   consume_output(n)       -> n bytes of that view were written
//   wants_close()           -> everything is written; close the connection
//
// Thread confinement: a session is used by one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "protocol/core/bytes.h"
#include "protocol/core/status.h"
#include "protocol/core/time.h"

namespace mms::server {

// What a session served, for access logs: the content path asked for (without
// the query; "" when no request came), the outcome as an HTTP-style status
// (200 served, 403 access denied, 404 not found, 503 busy...; 0 when no
// request came) and the transport ("mmsh", "mmst", "mmsu", "rtsp"; "" while a
// demultiplexing connection has not recognised its protocol).
struct SessionInfo {
  std::string path;
  int status = 0;
  std::string transport;
};

class ServerSession {
 public:
  virtual ~ServerSession() = default;

  // TCP bytes from the client. Returns the bytes consumed; offer the rest again
  // with more appended. An error is logged by the caller, who keeps draining
  // next_output() until wants_close().
  virtual Result<std::size_t> on_bytes(ByteView in, Instant now) = 0;
  virtual void on_eof(Instant now) = 0;
  virtual void on_timeout(Instant now) = 0;
  virtual std::optional<Instant> next_deadline() const = 0;
  // The view is valid until the next call of any method of the session.
  virtual ByteView next_output(Instant now) = 0;
  virtual void consume_output(std::size_t n) = 0;
  virtual bool wants_close() const = 0;

  // UDP data (MMS, RTP): the client's UDP port on the TCP peer's address (0 =
  // none), the next datagram to send there, and datagrams the client sent to
  // the server's UDP socket. Sessions without UDP keep the defaults. A session
  // with several destination ports returns an empty datagram at a port change;
  // datagram_port() then names the next one.
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
  // For access logs; by default no path, no status, protocol() as transport.
  virtual SessionInfo info() const { return SessionInfo{std::string(), 0, protocol()}; }
};

}  // namespace mms::server

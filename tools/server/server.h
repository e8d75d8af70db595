// mms-server as a library: the reference MMSH and MMS (TCP + UDP data)
// server, usable in-process by tests (bind 127.0.0.1 port 0, read the ports
// back) and by the CLI.
//
// Content: files under `root` ("/name" -> root/name, ".." rejected), loaded on
// first request and cached for the server's lifetime; live broadcasts are
// named files looped in real time on a clock started by start().
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "protocol/auth/server_auth.h"
#include "protocol/core/bytes.h"
#include "protocol/core/status.h"
#include "protocol/core/time.h"
#include "protocol/mmsh/server_session.h"
#include "protocol/server/live_feed.h"

namespace mms::server {

// A client's connection opened or ended (mmssink's messages), reported on the
// server's thread.
struct ServerEvent {
  bool connected = false;  // true: accepted; false: ended (the fields below are set)
  std::string client;      // numeric address
  std::string path;        // content path asked for ("" when no request came)
  std::string transport;   // "mmsh", "mmst", "mmsu", "rtsp" (or "")
  int status = 0;          // HTTP-style outcome (200, 403, 404, 503...; 0: no request)
  std::uint64_t bytes_sent = 0;
  Duration duration = 0;
};

struct ServerStats {
  std::uint32_t clients = 0;      // connections open now
  std::uint64_t connections = 0;  // connections accepted since start
  std::uint64_t bytes_sent = 0;   // TCP + UDP bytes sent to all of them
};

// Bytes handed to feed_*() and not yet taken by the server's thread beyond
// which a feed call fails (the server cannot keep up).
constexpr std::size_t kMaxFeedBacklog = 64u * 1024 * 1024;

struct ServerOptions {
  std::string root = ".";                   // content directory ("": none, publishing points only)
  std::string bind_address = "127.0.0.1";   // numeric IPv4/IPv6
  std::uint16_t mmsh_port = 0;              // 0 = any free port
  std::map<std::string, std::string> live;  // name -> file (absolute, or relative to root/cwd)
  bool fast = false;                        // on-demand Play as fast as the client reads
  bool keep_padding = false;                // send full-size $D payloads
  std::string auth_user;                    // authentication when non-empty
  std::string auth_password;
  // The schemes offered (MMSH and RTSP: Basic, Digest, NTLM/Negotiate; MMS: BASIC).
  mms::auth::SchemeSet auth_schemes = mms::auth::kDefaultSchemes;
  std::map<std::string, std::string> redirects;  // name -> URL (302)
  mmsh::Fault fault = mmsh::Fault::kNone;        // MMSH only
  // MMS (MS-MMSP) on TCP, plus a UDP socket on the same port number for UDP data.
  std::uint16_t mms_port = 0;  // 0 = any free port
  // Server-side playlists (MMS): name -> content names under root, played in order.
  std::map<std::string, std::vector<std::string>> playlists;
  std::uint32_t udp_loss_percent = 0;  // MMS UDP data datagrams dropped at random
  // RTSP (MS-RTSP) on TCP, plus a UDP socket on the same port number for RTP.
  std::uint16_t rtsp_port = 0;  // 0 = any free port
  // One port for everything: RTSP, MMS and MMSH on one TCP port (each
  // connection recognised by its first bytes), RTP and MMS UDP data on the
  // same UDP port number. `port` 0 = any free port. The per-protocol ports
  // are then ignored.
  bool single_port = false;
  std::uint16_t port = 0;
  // Transports refused: "mms" (no MMS listener), "mmsu" (MMS UDP data silently
  // dropped), "mmsh" (no HTTP listener), "rtsp" (no RTSP listener), "rtspu"
  // (RTP over UDP silently dropped). With single_port a refused protocol's
  // connections are closed once recognised.
  std::set<std::string> refuse;
  std::uint32_t close_after_packets = 0;  // MMS: close the connection after N Data packets
  // MMS KeepAlive timer (MS-MMSP 3.2.2): Ping after that long without a client
  // packet; 0 keeps the protocol default (30 s).
  std::uint32_t mms_keepalive_ms = 0;
  // Idle timeout of every protocol; 0 keeps each protocol's default. MMS:
  // Idle-Timeout, a session that is not streaming (3600 s). RTSP: the session
  // timeout, no request, RTCP or read data from the client (60 s). MMSH: a
  // response the client does not read (60 s).
  std::uint32_t idle_timeout_ms = 0;
  // Fast Start (protocol/core/fast_start.h): the largest factor a client's
  // acceleration request is granted on paced on-demand plays; 1 turns it off.
  std::uint32_t fast_start_factor = kFastStartDefaultFactor;
  // Grant the packet-pair bandwidth probe (MMS and MMSH) to clients that ask.
  bool packet_pair = true;
  // Signed URLs (tools/server/url_signing.h): when non-empty, every request
  // URL must carry a valid e= and s= for this key, else access is denied.
  std::string url_key;
  // Access log: when non-empty, one line per session as it ends is appended
  // to this file (docs/server.md, "Access log"): UTC time, client address, path,
  // transport, bytes sent, duration in seconds, status. Reopened by
  // Server::reopen_access_log() (mms-server: on SIGHUP).
  std::string access_log;
  // Sessions served at the same time, over all protocols (0 = no limit):
  // beyond it a new connection is told the server is busy (MMSH and RTSP
  // 503, MMS NS_E_TOO_MANY_SESS) and closed. A session holds its place from
  // its connection's accept until the session is done.
  std::uint32_t max_clients = 0;
  // Publishing points: names served live from what feed_header() and
  // feed_packet() hand over (mmssink, `mms-server --live NAME=-`); a request
  // for one before its first header is "not found".
  std::set<std::string> feeds;
  // What the feeds keep for joining clients.
  FeedLimits feed_limits;
  // Called on the server's thread as connections open and end.
  std::function<void(const ServerEvent&)> on_event;
};

class Server {
 public:
  Server();
  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Starts the listener on its own thread (own GMainContext) and returns once
  // it listens. Errors: kRefused (bind failed), kLocalMisuse (already started,
  // bad address), kNotFound (root directory missing).
  Status start(const ServerOptions& options);
  // The bound MMSH port (0 before start() or when refused).
  std::uint16_t mmsh_port() const;
  // The bound MMS TCP (and UDP) port (0 before start() or when refused).
  std::uint16_t mms_port() const;
  // The bound RTSP TCP (and UDP) port (0 before start() or when refused).
  std::uint16_t rtsp_port() const;
  // Publishing points (options.feeds): hand a stream's next header or packet
  // (AsfStreamReader items) or its end to the server's thread; safe from any
  // thread, returns at once. Errors: kNotFound (no such feed), kLocalMisuse
  // (not started), kLimitExceeded (kMaxFeedBacklog bytes wait already).
  Status feed_header(const std::string& name, ByteView header);
  Status feed_packet(const std::string& name, ByteView packet);
  Status feed_end(const std::string& name);
  // Counters, safe from any thread (bytes of open connections as of the last
  // feed item or connection event).
  ServerStats stats() const;
  // Closes and reopens the access log file (after log rotation), on the
  // server's thread; safe from any thread, also from a signal-driven source.
  void reopen_access_log();
  // Stops the thread and closes every connection. Idempotent.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace mms::server

// RTSP (MS-RTSP, Windows Media Services style) server session: one object per
// accepted TCP control connection, RTP over UDP or interleaved in the TCP
// connection.
//
// Sans-I/O, a server::ServerSession (protocol/server/session.h) like
// mmst::ServerSession: request bytes and "now" go in; TCP bytes (RTSP messages
// and, in TCP mode, "$" frames), UDP datagrams and the next deadline come out.
// No sockets, no clock reads, no threads.
//
//   on_bytes(buf, now)      -> consumed; unconsumed bytes (an incomplete
//                              request) are offered again with more appended
//   next_output(now)        -> TCP bytes to write now
//   consume_output(n)       -> n bytes of that view were written
//   udp_port()              -> where the next datagram goes (on the TCP peer's
//                              address); read it before each next_datagram()
//   next_datagram(now)      -> one RTP datagram (empty: none now)
//   consume_datagram()      -> that datagram was sent (or dropped)
//   on_datagram(buf, now)   -> a datagram from the client: RTCP receiver reports
//                              on our streams pace fast mode, the rest is ignored
//   next_deadline()         -> when to call next_output/on_timeout again
//   wants_close()           -> everything is written; close the connection
//
// Wire behaviour: docs/protocols/rtsp.md (server side) and
// docs/protocols/rtsp-wms-reference.md. OPTIONS answers with Server: WMServer/9.0.0.3372
// (FFmpeg and GStreamer's rtspwms switch to WMS mode on it); DESCRIBE gives the
// WMS SDP (rtsp::write_wms_sdp) whose session control is the request URL with
// a trailing '/'; SETUP per stream ("<control>/stream=<n>", "<control>/rtx")
// over UDP (client_port "Q" or "Q-R") or TCP (interleaved); PLAY with Range
// (npt includes the preroll), PLAY while playing = seek, PLAY without Range
// resumes; PAUSE; GET_PARAMETER / SET_PARAMETER keepalives; TEARDOWN. The end
// of content is a server SET_PARAMETER (X-Notice 2101, RTP-Info with the next
// seq, body "EOF: true"); server-side playlists and the live loop add
// "End-Of-Playlist-Entry: true" and an ANNOUNCE with the next entry's SDP.
//
// Media: each set-up stream has its own SSRC, sequence counter and
// AsfPayloader; every file packet is split per stream (asf::filter_streams)
// and sent in file order, paced on the send times unless config.fast.
//
// UDP destinations: FFmpeg and the gst-mms client give every media stream the
// same port Q; rtspsrc gives each stream its own pair. FFmpeg names Q alone
// ("client_port=Q", no RTCP port) and reads all of them with one RTP receiver:
// streams set up that way share one sequence counter per port (each keeps its
// SSRC), so that receiver sees no gaps; with a port pair every stream has its
// own sequence (the contract's form). udp_port() is the port
// of the datagram next_datagram() returns next; next_datagram() returns empty
// (and next_deadline() says "now") when the queued datagram is for another
// port than the last udp_port() answer, so an I/O layer that reads the port
// once per batch still sends every datagram to the right port.
//
// Implementation: the request dispatcher in server_session.cpp, the media
// flow (pacing, RTP/RTCP production, output queues) in server_flow.cpp,
// authentication in auth::ServerAuth (protocol/auth/server_auth.h).
//
// Thread confinement: a session is used by one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/auth/server_auth.h"
#include "protocol/core/access.h"
#include "protocol/core/bytes.h"
#include "protocol/core/fast_start.h"
#include "protocol/core/status.h"
#include "protocol/core/time.h"
#include "protocol/rtsp/asf_rtp.h"
#include "protocol/rtsp/message_codec.h"
#include "protocol/server/content.h"
#include "protocol/server/session.h"

namespace mms::rtsp {

// Configuration shared by every session of a server.
struct ServerConfig {
  server::ContentSource* content = nullptr;      // not owned; outlives the sessions
  bool fast = false;                             // on-demand data as fast as the client reads
  bool keep_padding = false;                     // send full-size ASF packets
  auth::ServerAccount auth;                      // 401 challenges when auth.user is non-empty
  std::map<std::string, std::string> redirects;  // content name -> URL (302)
  // Server-side playlists: name -> content names played in order.
  std::map<std::string, std::vector<std::string>> playlists;
  std::uint16_t udp_port = 0;             // the server's UDP port number (server_port=)
  bool refuse_udp = false;                // SETUP for UDP -> 461
  std::uint32_t close_after_packets = 0;  // fault: close after N file packets (0 = never)
  Instant live_epoch;                     // start of the shared broadcast clock (server start)
  // Session timeout, advertised in "Session: <id>;timeout=<s>" (rounded up):
  // a session without any sign of the client for this long is closed. Signs:
  // a request or response, RTCP (UDP or interleaved), and over TCP the client
  // reading the interleaved data. A paused player over TCP stops reading, so
  // its keepalive requests are what keeps the session.
  Duration session_timeout =
      60 *
      kSecond;  // Fast Start: the largest factor granted (1 = none). protocol/core/fast_start.h.
  std::uint32_t fast_start_factor = kFastStartDefaultFactor;
  // Access hook (protocol/core/access.h): the path and query of DESCRIBE, and
  // of a SETUP for another path than the one granted; false -> 403.
  AuthorizeHook authorize;
};
// Largest request body the server accepts (SET_PARAMETER statistics, packet
// pair); bigger requests get 400 and the connection closes.
constexpr std::size_t kMaxRtspRequestBody = 64 * 1024;
// RTCP sender reports while playing (RFC 3550's minimum interval).
constexpr Duration kRtspReportInterval = 5 * kSecond;
// RTP packet size limits: UDP stays below the Ethernet MTU; interleaved frames
// hold up to 65535 bytes, so ASF packets are never fragmented over TCP.
constexpr std::size_t kRtspUdpMtu = 1400;
constexpr std::size_t kRtspTcpMtu = 65535;
// UDP in fast mode. RTP has no retransmission here, so a datagram that the
// client's socket buffer or a queue on the way cannot take is lost for good.
// A client that sends RTCP receiver reports (the gst-mms client does) gets at
// most a window of datagrams beyond the highest sequence it reported: the
// window starts at kRtspFastWindowStart, grows by kRtspFastWindowStep per
// report up to kRtspFastWindowMax (1.4 MB of 1400-byte datagrams, well within
// the client's 4 MiB receive buffer), shrinks by 1/8 when the round trip of
// the reported datagram exceeds the smallest one seen by kRtspQueueDelay (a
// queue builds up on the way: a slower link) and halves when a report counts
// new loss. Until the first report the initial window waits up to
// kRtspFirstReportWait; a client that does not report (or stops for
// kRtspReportWait) gets file packets open-loop, kRtspUdpFastBurst per
// kRtspUdpFastTick (~130 MB/s of 8000-byte packets).
constexpr std::uint32_t kRtspUdpFastBurst = 32;
constexpr Duration kRtspUdpFastTick = 2 * kMillisecond;
constexpr std::uint32_t kRtspFastWindowStart = 64;
constexpr std::uint32_t kRtspFastWindowMin = 16;
constexpr std::uint32_t kRtspFastWindowMax = 1024;
constexpr std::uint32_t kRtspFastWindowStep = 32;
constexpr Duration kRtspQueueDelay = 5 * kMillisecond;
constexpr Duration kRtspFirstReportWait = 1 * kSecond;
constexpr Duration kRtspReportWait = 50 * kMillisecond;
// Send times kept per stream for round-trip samples (more than the window).
constexpr std::size_t kRtspSendTimes = 2048;
// Datagrams queued at most per production round (paced catch-up).
constexpr std::size_t kRtspMaxQueuedDatagrams = 1024;
// UDP: the end-of-stream SET_PARAMETER (TCP) follows the last datagram after
// this delay, so a client that stops at it (rtspsrc) has read the datagrams;
// in fast mode at once when the client's receiver reports cover every
// datagram sent.
constexpr Duration kRtspUdpEosDelay = 200 * kMillisecond;
// Paced mode sends every packet due within this window in one batch.
constexpr Duration kRtspPacingSlack = 10 * kMillisecond;
// TCP bytes produced per batch handed to the I/O layer.
constexpr std::size_t kRtspOutputBatchBytes = 256 * 1024;
// Wrong credentials accepted before the connection is closed.
constexpr int kRtspMaxAuthFailures = 5;

// An ASF data packet as it travels in RTP (what WMS sends): padding removed,
// Padding Length 0 and an explicit Packet Length holding the real length (a
// WORD field is inserted when the packet has none). FFmpeg's ASF-over-RTP
// demuxer needs that form: a missing Packet Length means the full packet
// size to it, and a non-zero remainder (length or padding) is skipped again at
// the start of the next RTP packet. Falls back to `packet` itself (*out =
// packet) when the field cannot be added without growing past packet_size or
// a one-byte field is too small; kMalformed when the packet does not parse.
Status rtp_asf_packet(ByteView packet, std::uint32_t packet_size, std::vector<std::uint8_t>* out);

class ServerSession : public server::ServerSession {
 public:
  // `config` must outlive the session. `seed` makes the session id, nonce and
  // SSRCs (the caller owns the random source). `now` starts the session timer.
  ServerSession(const ServerConfig* config, std::uint32_t seed, Instant now);

  // TCP bytes from the client. Returns the bytes consumed (whole messages and
  // interleaved frames); offer the rest again with more appended. An error is
  // fatal (garbage, oversized request): a 400 has been queued; keep draining
  // next_output() until wants_close().
  Result<std::size_t> on_bytes(ByteView in, Instant now) override;
  void on_eof(Instant now) override;
  void on_timeout(Instant now) override;
  std::optional<Instant> next_deadline() const override;

  // TCP bytes to write now; valid until the next call of any method.
  ByteView next_output(Instant now) override;
  void consume_output(std::size_t n) override;
  bool wants_close() const override;

  // UDP: the client port the next datagram goes to (0 = TCP interleaved or no
  // UDP stream set up).
  std::uint16_t udp_port() const;
  std::uint16_t datagram_port() const override { return udp_port(); }
  // The next datagram to send now (empty: none); valid until consume_datagram().
  ByteView next_datagram(Instant now) override;
  void consume_datagram() override;
  // Up to `max` datagrams for the port udp_port() named, left queued: the
  // views stay valid until consume_datagrams(); then the first n are sent.
  std::size_t next_datagrams(Instant now, ByteView* out, std::size_t max) override;
  void consume_datagrams(std::size_t n) override;
  // A datagram the client sent to the server's UDP ports: RTCP receiver
  // reports on this session's streams are read; anything else is ignored.
  void on_datagram(ByteView datagram, Instant now) override;

  // The server is full: every request gets "503 Service Unavailable"; the
  // connection closes after the first DESCRIBE, SETUP or PLAY.
  void set_busy() { busy_ = true; }

  // For logs and tests.
  const std::string& session_id() const { return session_id_; }
  // Access logs: the content path of the last DESCRIBE, SETUP or PLAY (""
  // before one), the status of its response (0 before one), "rtsp".
  const std::string& served_path() const { return served_path_; }
  int served_status() const { return served_status_; }
  const char* transport_name() const { return "rtsp"; }
  const char* protocol() const override { return "rtsp"; }
  server::SessionInfo info() const override {
    return server::SessionInfo{served_path(), served_status(), transport_name()};
  }
  std::int64_t start_packet() const { return start_packet_; }
  std::uint32_t packets_sent() const { return data_sent_; }
  // Fast UDP: datagrams sent beyond the client's reports, and the window.
  std::uint32_t datagrams_in_flight() const;
  std::uint32_t fast_window() const { return window_; }

 private:
  enum class State : std::uint8_t {
    kInit,       // no stream set up yet
    kReady,      // streams set up, not playing (or at the end)
    kPlaying,    // producing RTP
    kPaused,     // PAUSE
    kAnnounced,  // playlist entry changed: ANNOUNCE sent, waiting for PLAY
    kDone,       // closing once pending output is written
  };

  // Entries of Slot::keep: one per ASF stream number (1..127).
  static constexpr std::size_t kStreamSlots = 128;

  // One set-up media stream.
  struct Slot {
    std::uint16_t number = 0;  // ASF stream number the client set up
    std::uint16_t source = 0;  // stream of the current entry sent on it (0 = none)
    std::string url;           // SETUP request URI (RTP-Info url=)
    std::uint32_t ssrc = 0;
    std::uint16_t client_port = 0;  // UDP
    // UDP with a single client port (no RTCP port; FFmpeg's WMS form): the
    // streams on that port share one RTP sequence space (port_seq_), since
    // such a client runs one RTP receiver per port.
    bool shared_seq = false;
    std::uint8_t channel = 0;  // TCP interleaved RTP channel
    std::unique_ptr<AsfPayloader> payloader;
    // RTCP: the client's RTCP port (UDP; 0 = none announced, reports go
    // multiplexed to client_port), and what the sender report counts.
    std::uint16_t rtcp_port = 0;
    std::uint32_t rtp_packets = 0;
    std::uint32_t rtp_octets = 0;  // payload octets (RFC 3550 6.4.1)
    std::uint32_t last_rtp_ts = 0;
    Instant last_rtp_at;
    std::vector<bool> keep;  // filter for `source`, 128 entries
    // UDP: the last sequence number sent, the highest the client reported,
    // and how many went out before its first report.
    bool sent_any = false;
    std::uint16_t last_sent_seq = 0;
    std::optional<std::uint16_t> reported_seq;
    std::uint32_t sent_unreported = 0;
    std::int32_t reported_lost = 0;
    std::vector<Instant> sent_at;  // fast UDP: by seq % kRtspSendTimes
  };

  struct Datagram {
    std::vector<std::uint8_t> bytes;
    std::uint16_t port = 0;
  };

  void handle_request(const Request& req, Instant now);
  void on_options(const Request& req, Response* resp);
  void on_describe(const Request& req, Response* resp);
  void on_setup(const Request& req, Response* resp);
  void on_play(const Request& req, Response* resp, Instant now);
  void on_pause(const Request& req, Response* resp);
  void reply(const Request& req, Response* resp);
  void reply_error(int status);
  // The access hook's verdict on the request's path (remembered per path).
  bool access_allowed(const Request& req);
  void challenge(Response* resp);
  // Opens `name` (playlist, redirect, file). On failure fills resp and returns false.
  bool open_content(const std::string& name, Response* resp,
                    std::vector<std::shared_ptr<const server::Content>>* entries);
  // The SDP of `content` with its controls under `base` (the session's URL by default).
  Result<std::string> sdp_for(const server::Content& content, const std::string& base) const;
  Result<std::string> sdp_for(const server::Content& content) const {
    return sdp_for(content, base_url_);
  }
  bool session_matches(const Request& req, Response* resp) const;
  // RTCP for `slot`: sender report + SDES CNAME, and BYE when `bye`.
  void queue_rtcp(Slot* slot, bool bye);
  void queue_reports(bool bye);
  // The advertised session timeout: whole seconds, rounded up, at least 1.
  std::uint32_t timeout_seconds() const;
  bool has_session() const { return !slots_.empty() || rtx_set_up_; }
  std::uint32_t new_ssrc();
  void set_source(Slot* slot, std::uint16_t source);
  void remap_streams();

  std::uint32_t choose_start(std::uint64_t target_ms) const;
  std::uint32_t back_to_key(std::uint32_t packet) const;
  std::uint32_t live_join(Instant now, std::uint32_t behind_ms);
  void start_flow(std::uint32_t packet, Instant now);
  Instant due_time(std::uint32_t packet) const;
  void produce(Instant now);
  void send_packet(std::uint32_t packet);
  void end_of_entry();
  std::string rtp_info(bool with_rtptime, std::uint32_t packet) const;
  std::uint16_t next_seq(const Slot& slot) const;
  void queue_request(Request* req);

  const ServerConfig* config_;
  std::uint32_t seed_;
  State state_ = State::kInit;
  bool peer_gone_ = false;
  Instant now_;
  Instant last_activity_;  // session timer (see ServerConfig::session_timeout)

  // Identity.
  std::string session_id_;
  std::uint32_t ssrc_counter_ = 0;
  std::uint32_t server_cseq_ = 0;
  auth::ServerAuth auth_;                    // 401 challenges and credentials (server_auth.h)
  std::optional<std::string> granted_path_;  // the path the access hook allowed
  std::string served_path_;
  int served_status_ = 0;
  bool busy_ = false;

  // Output.
  std::vector<std::uint8_t> pending_;
  std::size_t pending_pos_ = 0;
  bool datagram_gate_ = false;  // UDP: a PLAY reply must be written before RTP
  std::deque<Datagram> datagrams_;
  mutable std::uint16_t announced_port_ = 0;  // last udp_port() answer

  // Content.
  std::string base_url_;  // aggregate URL without the trailing '/'
  std::vector<std::shared_ptr<const server::Content>> entries_;
  std::size_t entry_ = 0;
  std::shared_ptr<const server::Content> content_;
  bool playlist_ = false;
  bool wmp_client_ = false;  // the DESCRIBE came from a Windows Media player (User-Agent)
  std::uint32_t gen_id_ = 1;

  // Transport.
  std::vector<Slot> slots_;
  bool udp_ = false;
  bool rtx_set_up_ = false;
  std::map<std::uint16_t, std::uint16_t> port_seq_;  // next seq per shared UDP port
  std::uint32_t rtx_ssrc_ = 0;
  std::uint16_t rtx_port_ = 0;       // UDP: where the RTX stream would go
  std::uint16_t rtx_rtcp_port_ = 0;  // and its RTCP (0 = multiplexed)

  // Play.
  std::uint32_t next_packet_ = 0;
  std::int64_t start_packet_ = -1;
  Instant play_start_;
  std::uint32_t start_send_ms_ = 0;
  FastStart accel_;  // this flow's Fast Start grant (X-Accelerate-Streaming; on demand, paced)
  std::int64_t live_iteration_ = 0;
  bool paced_ = false;
  bool played_ = false;
  std::optional<Instant> eos_at_;     // UDP: when the end-of-stream request may go
  std::optional<Instant> report_at_;  // next RTCP sender reports (while playing)
  // Fast UDP pacing (receiver reports, else ticks).
  bool reporting_ = false;
  Instant last_report_at_;
  std::optional<Instant> fast_start_;  // the first fast UDP flow
  std::uint32_t window_ = kRtspFastWindowStart;
  std::optional<Duration> min_rtt_;
  Instant tick_start_;
  std::uint32_t burst_in_tick_ = 0;
  bool windowed(Instant now) const {
    return reporting_ ? now < last_report_at_ + kRtspReportWait
                      : fast_start_ && now < *fast_start_ + kRtspFirstReportWait;
  }
  Instant report_wait_end() const {
    return reporting_ ? last_report_at_ + kRtspReportWait
                      : fast_start_.value_or(Instant{}) + kRtspFirstReportWait;
  }
  bool may_send_fast(Instant now);  // a PLAY has started a flow (live: later Ranges are seeks)
  std::uint32_t data_sent_ = 0;
  std::vector<std::uint8_t> scratch_;
  std::vector<std::uint8_t> scratch2_;
  std::vector<std::vector<std::uint8_t>> rtp_out_;
};

}  // namespace mms::rtsp

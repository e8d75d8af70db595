// Windows Media RTSP client (MS-RTSP) as a sans-I/O session: RTSP control on TCP, RTP data over UDP
// ("rtspu") or interleaved on the RTSP connection ("rtspt"). The wire behaviour is the WMS one
// (docs/protocols/rtsp-wms-reference.md §2, §3, §7, §8), as the project's RTSP server session
// speaks it:
//
//   [UDP: bind RTX port P and media port Q] -> TCP connect
//   -> OPTIONS -> DESCRIBE [-> 401 -> DESCRIBE with Digest/Basic] [-> 3xx: reconnect]
//   -> Header event (from the SDP's a=pgmpu or fmtp config)
//   -> SETUP rtx (UDP only, when the SDP has one) -> SETUP each selected stream
//   -> PLAY Range: npt=<position + preroll>- -> RTP-Info -> Connected event
//   -> RTP (datagrams on Q, or "$" frames) -> Packet events
//      (UDP: each stream's RTP put back in sequence order first, waiting up to
//      kRtpReorderWait behind a missing packet; a gap that outlasts it is loss)
//   -> SET_PARAMETER "EOF: true" from the server -> 200 -> Eos event
//      (or, from servers without that extension, RTCP BYE for every stream)
//
// Streams: one AsfDepayloader per set-up m= line (demuxed by SSRC over UDP,
// by interleaved channel over TCP). An SDP whose one m= line carries the whole
// mux (gst-rtsp-server's rtpasfpay: fmtp config=, no a=stream) is one stream;
// its npt is media time (no preroll), the a=range start is its origin.
//
// End without the EndOfStream request (gst-rtsp-server): the server's RTCP
// BYE for every set-up stream ends the play. RTCP comes on the odd interleaved
// channel (TCP) or on the media port + 1 (UDP: the client binds Q+1 next to Q,
// trying a few other Q when Q+1 is taken, and goes without RTCP otherwise).
// Over TCP the BYE follows the last RTP in order: Eos at once. Over UDP the
// last RTP may still be queued on the other socket: Eos once no RTP came for
// kByeQuietWait, at most kEosDrainWait after the BYE. The server splits the ASF mux per stream,
// so the client receives more ASF packets than the file has: the header given
// to the caller has its packet counts multiplied by the number of streams set
// up, and packets are numbered by a running counter (restarted after a seek
// at position/duration of that count).
//
// A play() while playing is a seek: PLAY with the new Range; RTP received
// before its reply is held (bounded) and then filtered by the RTP-Info seq;
// the next packet is flagged discont. A server-side playlist announces the
// next entry (ANNOUNCE): new Header event with changed = true, then PLAY with
// the new X-Playlist-Gen-Id. Over UDP a GET_PARAMETER keepalive goes out every
// session timeout / 2.
//
// Failures (rollover reads them via session::outcome_for): connect failure,
// an answer that is not RTSP, EOF before the first reply, 461 and other
// 4xx/5xx -> kRefused; 404/410 -> kNotFound; 401/403 after the credentials
// were sent -> kNotAuthorized; an SDP without ASF header -> kUnsupported; no
// RTP within udp_timeout after the PLAY reply (UDP) -> kTimedOut after a
// TEARDOWN; nothing for `timeout` -> kTimedOut; connection lost once the PLAY
// was answered -> kConnectionLost.
//
// Components (one file each): RequestTracker (CSeq,
// outstanding requests, 401 with Digest/Basic), the stream plan (which media
// are set up, with which transport; the caller's header), RtpReceiver (RTP to
// the depayloaders in sequence order) and UdpPorts (RTX, media, RTCP ports).
// This class is the state machine composing them: the RTSP dialogue in
// client_session.cpp, the play phase in client_play.cpp.
//
// Thread confinement: one thread at a time; never calls back.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/asf/header_gate.h"
#include "protocol/rtsp/asf_rtp.h"
#include "protocol/rtsp/message_codec.h"
#include "protocol/rtsp/request_tracker.h"
#include "protocol/rtsp/rtp_receiver.h"
#include "protocol/rtsp/sdp_wms.h"
#include "protocol/rtsp/stream_plan.h"
#include "protocol/rtsp/udp_ports.h"
#include "protocol/session/client_session.h"

namespace mms::rtsp {

// Player token sent when the configured user agent is the MMS default.
constexpr const char* kWmpUserAgent = "WMPlayer/9.0.0.2980";
// The features the client announces (and handles) on DESCRIBE.
constexpr const char* kClientSupported =
    "com.microsoft.wm.srvppair, com.microsoft.wm.sswitch, com.microsoft.wm.eosmsg, "
    "com.microsoft.wm.predstrm";
// After the EndOfStream request over UDP, wait at most this long for the last
// RTP packets of every stream before reporting the end.
constexpr Duration kEosDrainWait = 1 * kSecond;
// After the last RTCP BYE over UDP, the end is reported once no RTP came for
// this long (bounded by kEosDrainWait after the BYE).
constexpr Duration kByeQuietWait = 250 * kMillisecond;
// Session timeout assumed when the server names none (RFC 2326 12.37).
constexpr std::uint32_t kDefaultSessionTimeoutS = 60;
// RTCP receiver reports over UDP (RFC 3550's minimum interval).
constexpr Duration kReceiverReportInterval = 5 * kSecond;
// Keepalive floor, so a hostile "timeout=0" cannot make us flood the server.
constexpr Duration kMinKeepaliveInterval = 1 * kSecond;
// UDP: an RTCP receiver report (RFC 3550 6.4.2) goes to the server's RTCP
// port every kReceiverReportInterval, after kRtcpReportEvery RTP packets, and
// kRtcpReportDelay after the first packet not reported yet once the reduced
// minimum interval of RFC 3550 6.2 (360 s divided by the session bandwidth in
// kbit/s, measured over the last report interval; at most 5 s) has passed: at
// 128 kbit/s that is the 5 s, at loopback rates under a millisecond. A server
// may pace on them (mms-server --fast does); others ignore them.
constexpr std::uint32_t kRtcpReportEvery = 64;
constexpr Duration kRtcpReportDelay = 1 * kMillisecond;
// Bytes a report interval must carry for the reduced minimum interval to be
// that interval (360 s at 1 kbit/s = 45,000 bytes).
constexpr std::uint64_t kRtcpReducedIntervalBytes = 45000;
// A playlist may pause between entries: the no-data bound is multiplied.
constexpr int kEntryChangeTimeoutFactor = 4;

class RtspClientSession final : public session::ClientSession, private RtpReceiver::Sink {
 public:
  // `udp`: RTP over UDP ("rtspu"); otherwise interleaved on the RTSP connection.
  RtspClientSession(session::ClientConfig config, bool udp);
  // Its components point back into it (ports_, receiver_): neither copied nor moved.
  RtspClientSession(const RtspClientSession&) = delete;
  RtspClientSession& operator=(const RtspClientSession&) = delete;

  void on_connected(session::ChannelId ch, Instant now) override;
  void on_connect_failed(session::ChannelId ch, Status why, Instant now) override;
  std::size_t on_bytes(session::ChannelId ch, ByteView bytes, Instant now) override;
  void on_eof(session::ChannelId ch, Instant now) override;
  void on_timeout(Instant now) override;
  std::optional<Instant> next_deadline() const override;
  void on_throttle(bool paused, Instant now) override;
  // RTSP/UDP on demand: the session PAUSEs the server while the consumer is
  // full and keeps reading what was already in flight (the kernel would drop
  // it otherwise); PLAY resumes right after it.
  bool keep_reading_when_throttled() const override { return udp_ && seekable(); }
  void on_udp_bound(session::ChannelId ch, std::uint16_t port, Instant now) override;
  void on_datagram(session::ChannelId ch, ByteView datagram, Instant now) override;
  void play(const session::PlayRequest& req, Instant now) override;
  void close() override;
  bool next_io_action(session::IoAction* out) override;
  bool next_event(session::Event* out) override;
  bool seekable() const override;
  const char* transport_name() const override { return udp_ ? "rtspu" : "rtspt"; }

  // Counters and facts (tests, stats).
  std::uint32_t keepalives_sent() const { return keepalives_; }
  std::uint32_t reports_sent() const { return reports_sent_; }
  std::size_t streams_set_up() const { return plan_.streams.size(); }
  const std::string& session_id() const { return session_id_; }

 private:
  enum class State : std::uint8_t {
    kIdle,        // nothing requested yet
    kBinding,     // UDP: kBindUdp issued for the RTX and media ports
    kConnecting,  // TCP connect issued
    kOptions,     // OPTIONS sent (the first reply decides whether this is RTSP)
    kDescribe,    // DESCRIBE sent
    kSetup,       // SETUPs in progress
    kPlayWait,    // PLAY sent, reply pending
    kPlaying,     // media flows
    kWaitEntry,   // end of a playlist entry: waiting for ANNOUNCE
    kDone,        // Eos emitted or closed
    kFailed,      // sticky: Failed emitted, inputs ignored
  };

  void connect_tcp(Instant now);
  void send_request(Request req, Sent what, std::size_t stream, Instant now);
  Request make_request(const char* method, const std::string& uri) const;
  void send_options(Instant now);
  void send_describe(Instant now);
  void send_next_setup(Instant now);
  void send_play(bool with_range, Instant now);
  void send_keepalive(Instant now);
  Duration keepalive_interval() const;
  // RTCP receiver reports over UDP, to the server's RTCP port.
  void send_receiver_report(Instant now);
  void count_received(std::size_t stream, ByteView packet, Instant now);
  void send_teardown();
  void send_response(int status, const std::string& cseq);

  void handle_unit(const Unit& unit, Instant now);
  void handle_response(const Response& resp, Instant now);
  bool handle_auth(const Response& resp, const Outstanding& o, Instant now);
  bool handle_redirect(const Response& resp, Instant now);
  void fail_for_status(const Response& resp, const char* during);
  void handle_describe(const Response& resp, Instant now);
  void handle_setup(const Response& resp, const Outstanding& o, Instant now);
  void handle_play(const Response& resp, Instant now);
  void handle_server_request(const Request& req, Instant now);
  void handle_end_of_stream(const Request& req, Instant now);
  void handle_announce(const Request& req, Instant now);
  bool take_sdp(const std::string& body, bool announce, Instant now);
  bool take_header(const std::vector<std::uint8_t>& raw, bool changed);
  bool take_plan();
  std::shared_ptr<const session::EntryMetadata> sdp_metadata() const;
  void emit_header(bool changed);

  void udp_bind_done(Instant now);
  std::uint64_t npt_origin_ms() const;

  void handle_rtcp(std::optional<std::size_t> stream, ByteView packet, Instant now);
  void stream_bye(std::size_t stream, Instant now);
  void handle_rtp(std::size_t stream, ByteView packet, Instant now);
  void on_depayloaded(std::size_t stream, std::vector<DepayPacket>* packets, Instant now) override;
  void release_held(Instant now);
  void emit_packet(std::vector<std::uint8_t> data, bool discont);
  void maybe_finish_eos(Instant now, bool force);
  void finish_eos(Instant now);

  std::optional<Instant> idle_deadline() const;
  void fail(Status status, std::string detail = std::string());
  void close_channels();
  void touch(Instant now) { last_activity_ = now; }
  bool live() const { return gate_.known() && gate_.info().broadcast(); }
  Credentials credentials() const;  // the configured ones, else the URL's

  session::ClientConfig config_;
  bool udp_ = false;
  Url current_url_;
  State state_ = State::kIdle;
  session::ChannelId tcp_ = 0;
  std::uint16_t server_rtcp_port_ = 0;                  // where receiver reports go (0 = nowhere)
  std::uint32_t rr_pending_ = 0;                        // RTP packets not reported yet
  std::uint64_t rr_bytes_ = 0;                          // RTP bytes since the last report
  Instant rr_last_at_;                                  // the last report (or the PLAY reply)
  Duration rr_min_interval_ = kReceiverReportInterval;  // RFC 3550 6.2 reduced minimum
  std::optional<Instant> rr_due_;
  session::ChannelId next_channel_ = 1;
  Instant last_activity_;
  std::uint64_t position_ms_ = 0;
  int redirects_ = 0;
  bool first_reply_seen_ = false;
  bool announced_ = false;
  bool throttled_ = false;

  // Storage of the emitted packets; cleared at every input.
  std::vector<std::vector<std::uint8_t>> released_;
  std::deque<session::IoAction> actions_;
  std::deque<session::Event> events_;

  // UDP: the RTX, media and RTCP ports (udp_ports.h).
  UdpPorts ports_{&next_channel_, &actions_};

  // Requests (CSeq, outstanding, authentication: request_tracker.h).
  RequestTracker requests_;
  std::string request_url_;  // rtsp:// form of current_url_
  std::string base_url_;     // Content-Base, else the DESCRIBE URL
  std::string aggregate_;    // PLAY / TEARDOWN / GET_PARAMETER URI
  std::string session_id_;
  std::uint32_t session_timeout_s_ = kDefaultSessionTimeoutS;
  std::string gen_id_;  // X-Playlist-Gen-Id
  std::optional<Instant> keepalive_at_;
  bool paused_server_ = false;        // our PAUSE (consumer full) awaits a resuming PLAY
  std::optional<Instant> report_at_;  // next periodic receiver report (UDP, playing)
  std::uint32_t reports_sent_ = 0;
  std::uint32_t keepalives_ = 0;

  // Content.
  WmsSdp sdp_;
  asf::HeaderGate gate_;              // the repaired (not inflated) header, its info
  std::uint64_t inflated_count_ = 0;  // packets in the caller's header
  StreamPlan plan_;                   // the streams set up (stream_plan.h)
  RtpReceiver receiver_;              // their RTP (rtp_receiver.h)
  bool setup_rtx_ = false;            // the RTX SETUP is still to be sent
  std::size_t next_setup_ = 0;

  // Play.
  bool discont_pending_ = false;
  bool play_with_range_ = false;
  bool rtp_seen_ = false;  // some RTP since the PLAY reply (UDP silence check)
  std::optional<Instant> udp_wait_since_;
  std::uint32_t packet_number_ = 0;
  bool eos_pending_ = false;
  std::optional<Instant> eos_deadline_;
  bool eos_by_bye_ = false;  // the pending end comes from RTCP BYE (UDP)
  Instant bye_at_;
  bool entry_ended_ = false;  // EOF with End-Of-Playlist-Entry: ANNOUNCE follows
};

}  // namespace mms::rtsp

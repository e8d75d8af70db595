// MMS (MS-MMSP) server session: one object per accepted TCP control connection,
// with optional UDP data delivery.
//
// Sans-I/O, a server::ServerSession (protocol/server/session.h) like
// mmsh::ServerSession: command bytes and "now" go in; TCP bytes (control
// messages and, in TCP mode, Data packets), UDP datagrams and the next
// deadline come out. No sockets, no clock reads, no threads.
//
//   on_bytes(buf, now)      -> consumed; unconsumed bytes (an incomplete TCP
//                              message) are offered again with more appended
//   next_output(now)        -> TCP bytes to write now
//   consume_output(n)       -> n bytes of that view were written
//   next_datagram(now)      -> one UDP datagram for (TCP peer address, udp_port())
//   consume_datagram()      -> that datagram was sent (or dropped)
//   on_datagram(buf, now)   -> a datagram the client sent to the server's UDP port
//                              (RequestPacketListResend); foreign ones are ignored
//   next_deadline()         -> when to call next_output/on_timeout again
//   wants_close()           -> everything is written; close the connection
//
// Server duties follow docs/protocols/mmsp-reference.md §4.3 with the tolerance list of
// §8: FunnelInfo optional, funnel IP ignored, openFileId 1 accepted from every
// client, frameOffset 0x00FFFFFF = no limit, StartPlaying while streaming =
// restart at the new position (libmms seeks that way), StreamSwitch in either
// "off" form, a session that never sent StreamSwitch receives every stream,
// ConnectFunnel before ReportConnectedEX is answered in order.
//
// Position conventions: StartPlaying.position is ASF presentation time in
// seconds *including* the preroll (libmms adds the preroll; 0.0 = start).
// Time seeks land on the last key-frame packet presented at or before it.
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
#include <string_view>
#include <vector>

#include "protocol/auth/ntlm.h"
#include "protocol/auth/server_auth.h"
#include "protocol/core/access.h"
#include "protocol/core/bytes.h"
#include "protocol/core/fast_start.h"
#include "protocol/core/status.h"
#include "protocol/core/time.h"
#include "protocol/core/udp_pacer.h"
#include "protocol/mmst/messages.h"
#include "protocol/server/content.h"
#include "protocol/server/session.h"

namespace mms::mmst {

// Configuration shared by every session of a server.
struct ServerConfig {
  server::ContentSource* content = nullptr;  // not owned; outlives the sessions
  bool fast = false;                         // on-demand data as fast as the client reads
  bool keep_padding = false;                 // send full-size ASF packets
  // Authentication when auth.user is non-empty: NTLM when auth.schemes has
  // kSchemeNtlm (BASIC answers are then still taken if it has kSchemeBasic),
  // BASIC otherwise.
  auth::ServerAccount auth;
  std::map<std::string, std::string> redirects;  // content name -> URL (ReportRedirect)
  // Server-side playlists: name -> content names played in order.
  std::map<std::string, std::vector<std::string>> playlists;
  bool refuse_udp = false;                 // ConnectFunnel for UDP -> ReportDisconnectedFunnel
  std::uint32_t close_after_packets = 0;   // fault: close after N Data packets (0 = never)
  Duration keepalive = 30 * kSecond;       // KeepAlive timer (Ping)
  Duration idle_timeout = 3600 * kSecond;  // Idle-Timeout (INIT/READY)
  Instant live_epoch;                      // start of the shared broadcast clock (server start)
  // Fast Start: the largest factor granted (1 = none). protocol/core/fast_start.h.
  std::uint32_t fast_start_factor = kFastStartDefaultFactor;
  // Access hook (protocol/core/access.h): "/" + every OpenFile name, query
  // included, after authentication; false -> ReportOpenFile E_ACCESSDENIED.
  AuthorizeHook authorize;
  // Grant a client's packet-pair request (MS-MMSP 3.2.5.4, 3.2.5.8).
  bool packet_pair = true;
};

// Largest TCP control message a client may send (Logging is 1536 bytes; a
// SecurityResponse or OpenFile with a long path stays far below).
constexpr std::size_t kMaxCommandBytes = 64 * 1024;
// Data packets kept for UDP resend requests (MS-MMSP 3.2.5.11.1). Kept as
// what rebuilds them (16 bytes each), so the history can cover what a fast
// client's socket buffer holds plus a retry: 32768 packets are a third of a
// second of 8000-byte packets at 800 MB/s, minutes at media rates.
constexpr std::size_t kResendHistory = 32768;
// Resent packets per session per second (reflection bound, MS-MMSP 5.1): this
// many, or as many as Data packets were sent in the last second when that is
// more (a fast client loses more, and at most doubles what it is sent anyway).
constexpr std::uint32_t kMaxResendsPerSecond = 256;
constexpr std::uint32_t kResendShareDivisor = 1;
// UDP in fast mode is paced by a UdpPacer (protocol/core/udp_pacer.h): resend
// requests are its loss reports.
// Paced mode sends every packet due within this window in one batch.
constexpr Duration kMmsPacingSlack = 10 * kMillisecond;
// TCP bytes produced per batch handed to the I/O layer.
constexpr std::size_t kMmsOutputBatchBytes = 256 * 1024;
// Authentication rounds (BASIC challenges, NTLM handshakes) before the open is
// refused with access denied.
constexpr int kMaxAuthRounds = 3;
// The NTLM TargetName (NetBIOS domain) of the server's CHALLENGE_MESSAGE.
constexpr const char* kNtlmTarget = "MMS-SERVER";
// Largest ASF header fragment per header Data packet (<= packet size).
constexpr std::size_t kMaxHeaderFragment = 16 * 1024;

class ServerSession : public server::ServerSession {
 public:
  // `config` must outlive the session. `client_id` is the random Client-ID
  // (nCubs), `seed` more random material (the NTLM server challenges are made
  // of both). `now` starts the Idle-Timeout.
  ServerSession(const ServerConfig* config, std::uint32_t client_id, Instant now,
                std::uint64_t seed = 0);

  // TCP bytes from the client. Returns the bytes consumed (whole messages);
  // offer the rest again with more appended. An error is fatal (malformed
  // framing, oversized message): the session closes after pending output.
  Result<std::size_t> on_bytes(ByteView in, Instant now) override;
  void on_eof(Instant now) override;
  void on_timeout(Instant now) override;
  std::optional<Instant> next_deadline() const override;

  // TCP bytes to write now; valid until the next call of any method.
  ByteView next_output(Instant now) override;
  void consume_output(std::size_t n) override;
  bool wants_close() const override;

  // UDP: the client's announced port (0 = TCP data mode).
  std::uint16_t udp_port() const { return udp_port_; }
  std::uint16_t datagram_port() const override { return udp_port(); }
  // The next datagram to send now (empty: none); valid until consume_datagram().
  ByteView next_datagram(Instant now) override;
  void consume_datagram() override;
  // Up to `max` datagrams to send now, left queued: the views stay valid until
  // consume_datagrams(); then the first n are sent (or dropped).
  std::size_t next_datagrams(Instant now, ByteView* out, std::size_t max) override;
  void consume_datagrams(std::size_t n) override;
  // A datagram the client sent to the server's UDP port.
  void on_datagram(ByteView datagram, Instant now) override;

  // The server is full: Connect is answered with NS_E_TOO_MANY_SESS and the
  // connection closes.
  void set_busy() { busy_ = true; }

  // For logs and tests.
  std::uint32_t client_id() const { return client_id_; }
  // Access logs: "/" + the last OpenFile name without its query ("" before
  // one), its outcome as an HTTP-style status (200 opened, 403 access denied,
  // 404 not found, 302 redirected, 400 invalid, 500 other; 0 before an
  // OpenFile), and
  // "mmsu" once a UDP funnel was set up, else "mmst".
  std::string served_path() const { return opened_any_ ? "/" + requested_ : std::string(); }
  int served_status() const { return served_status_; }
  const char* transport_name() const { return used_udp_ ? "mmsu" : "mmst"; }
  const char* protocol() const override { return "mms"; }
  server::SessionInfo info() const override {
    return server::SessionInfo{served_path(), served_status(), transport_name()};
  }
  std::int64_t start_packet() const { return start_packet_; }
  std::uint32_t data_packets_sent() const { return data_sent_; }
  std::uint32_t packets_resent() const { return resent_; }
  // Fast UDP: the pacer's rate (bytes/s) and how often loss reports halved it.
  std::uint64_t udp_rate() const { return pacer_.rate(); }
  std::uint32_t udp_backoffs() const { return pacer_.backoffs(); }

 private:
  enum class State : std::uint8_t {
    kInit,       // before Connect
    kConnected,  // after Connect (funnel / open file)
    kOpened,     // file open, header not fully requested yet
    kReady,      // header sent (or stopped)
    kStreaming,  // producing Data packets
    kChanged,    // TCP playlist change: new header sent, waiting for StartPlaying
    kDone,       // closing once pending output is written
  };

  struct Datagram {
    std::vector<std::uint8_t> bytes;
    bool header = false;  // an ASF header fragment (dropped by CancelReadBlock)
  };

  void handle_message(const Message& m, Instant now);
  void on_connect(const Message& m);
  void on_funnel_info(const Message& m);
  void on_connect_funnel(const Message& m);
  void on_open_file(const Message& m);
  void on_security_response(const Message& m);
  void on_read_block(const Message& m);
  void fill_pair_bytes(std::vector<std::uint8_t>* out);
  void on_stream_switch(const Message& m);
  void on_start_playing(const Message& m, Instant now);
  void on_stop_playing(const Message& m);

  void send(Message* m);
  void challenge(std::uint32_t inc);
  void refuse_open(std::uint32_t inc, std::uint32_t hr);
  void open_resolved(std::uint32_t inc);
  void fill_open_file(ReportOpenFile* r) const;
  std::uint32_t total_bitrate() const;
  bool credentials_ok(ByteView token) const;
  // NTLM challenges when auth.schemes has kSchemeNtlm; BASIC answers are
  // taken unless NTLM is the only scheme.
  bool ntlm_offered() const;
  bool basic_allowed() const;
  // NTLM (docs/protocols/mmsp-reference.md §6): a token (SecurityResponse or
  // OpenFile tokenData) that starts with 00 00.
  void on_ntlm_token(std::uint32_t inc, ByteView token);
  void ntlm_challenge(std::uint32_t inc, ByteView ntlmssp, bool wrapped);
  auth::ntlm::Nonce8 ntlm_server_challenge() const;
  void send_header(std::uint8_t inc);
  void emit_data(std::uint32_t location_id, std::uint8_t inc, std::uint8_t af_flags,
                 ByteView payload, bool media);
  std::uint32_t choose_start(const StartPlaying& sp, bool* beyond_end) const;
  std::uint32_t back_to_key(std::uint32_t packet) const;
  std::uint32_t live_join(Instant now, std::uint32_t behind_ms);
  bool all_selected() const;
  void produce(Instant now);
  void end_of_entry();
  Instant due_time(std::uint32_t packet) const;
  void send_packet(std::uint32_t packet);
  // The payload of file packet `packet` as sent (stream filter, padding);
  // empty when none of the selected streams is in it.
  ByteView packet_payload(std::uint32_t packet);
  void forget_history();

  const ServerConfig* config_;
  std::uint32_t client_id_;
  std::uint64_t seed_;
  State state_ = State::kInit;
  bool peer_gone_ = false;
  std::uint16_t seq_ = 0;  // TcpMessageHeader seq counter
  Instant session_start_;

  // Timers.
  std::optional<Instant> ping_at_;  // KeepAlive: started by every message sent
  std::optional<Instant> idle_at_;  // Idle-Timeout (not while streaming)
  Instant now_;                     // latest "now" seen

  // Output.
  std::vector<std::uint8_t> pending_;
  std::size_t pending_pos_ = 0;
  std::deque<Datagram> datagrams_;
  bool pair_granted_ = false;                         // ReportConnectedEX said packet pair
  bool udp_pair_pending_ = false;                     // the UDP pair goes out at the next ReadBlock
  std::uint64_t pair_noise_ = 0x9E3779B97F4A7C15ull;  // fill_pair_bytes' state

  // Connection facts.
  std::uint32_t player_major_ = 0;
  bool spoon_ = false;  // "Spoooon!" (WMS 4.x server-to-server): all streams, keep padding
  std::uint16_t udp_port_ = 0;

  // File.
  std::string requested_;
  std::string requested_query_;  // of the OpenFile name, "?..." or ""
  bool opened_any_ = false;      // an OpenFile came
  int served_status_ = 0;
  bool used_udp_ = false;
  bool busy_ = false;
  std::vector<std::shared_ptr<const server::Content>> entries_;  // playlist or one file
  std::size_t entry_ = 0;
  std::shared_ptr<const server::Content> content_;
  std::uint32_t open_file_id_ = 1;  // VLC accepts only 1 or 2; FFmpeg hard-codes 1
  bool playlist_ = false;
  std::uint32_t auth_cookie_ = 0;
  int auth_rounds_ = 0;
  bool authorized_ = false;
  // NTLM: where the handshake is; the context that made the CHALLENGE.
  enum class NtlmStage : std::uint8_t {
    kNone,          // no NTLM challenge sent (or BASIC)
    kNegotiate,     // initial challenge (00 00) sent: waiting for the NEGOTIATE
    kAuthenticate,  // CHALLENGE_MESSAGE sent: waiting for the AUTHENTICATE
  };
  NtlmStage ntlm_stage_ = NtlmStage::kNone;
  std::optional<auth::ntlm::ServerContext> ntlm_;
  std::uint8_t header_inc_ = 0;

  // Play.
  std::vector<bool> keep_;  // stream filter, 128 entries
  bool stream_switch_seen_ = false;
  std::uint32_t play_inc_ = 0;
  std::uint32_t next_packet_ = 0;
  std::int64_t start_packet_ = -1;
  std::uint32_t sequence_ = 0;  // AFFlags counter, 32-bit extended
  std::uint8_t last_af_ = 0;
  std::optional<std::uint32_t> stop_send_ms_;  // frameOffset limit (send time)
  Instant play_start_;
  std::uint32_t start_send_ms_ = 0;
  FastStart accel_;   // this play's Fast Start grant (on demand, paced)
  CatchUp catch_up_;  // a broadcast joined behind live over UDP: its backlog's pace
  std::int64_t live_iteration_ = 0;
  bool paced_ = false;
  bool fed_from_first_ = false;  // after a publishing point's stream change
  std::uint32_t data_sent_ = 0;
  std::vector<std::uint8_t> scratch_;
  std::vector<std::uint8_t> scratch2_;

  // UDP resend history, in sequence order: what each media datagram was made
  // of. Cleared when the content or the stream selection changes (the same
  // packet would be rebuilt differently).
  struct Sent {
    std::uint32_t sequence = 0;
    std::uint32_t packet = 0;
    std::uint32_t location_id = 0;
    std::uint32_t rate_kb = 0;  // fast UDP: the pacer's rate when sent, kB/s
    std::uint8_t inc = 0;
    std::uint8_t af_flags = 0;
  };
  std::deque<Sent> history_;
  const Sent* find_sent(std::uint32_t sequence) const;
  std::int64_t resend_window_s_ = -1;
  std::uint32_t resends_in_window_ = 0;
  std::uint32_t sent_at_window_ = 0;    // data_sent_ when the window began
  std::uint32_t sent_last_window_ = 0;  // Data packets sent in the window before
  std::uint32_t resent_ = 0;
  std::uint32_t resend_misses_ = 0;  // asked for, no longer in history_
  UdpPacer pacer_;                   // fast UDP only
  bool pacer_started_ = false;
};

}  // namespace mms::mmst

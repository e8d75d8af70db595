// MMS client (MS-MMSP) as a sans-I/O session: MMS/TCP, and MMS/UDP data when
// constructed with `udp = true` (control stays on TCP).
//
//   Connect -> FunnelInfo -> ConnectFunnel (TCP, or UDP with the bound port)
//   -> OpenFile [-> SecurityChallenge/Response (BASIC, or NTLM: NEGOTIATE,
//      then AUTHENTICATE for the server's CHALLENGE)] [-> Redirect]
//   -> ReadBlock -> header Data packets (Header event, repaired)
//   -> StreamSwitch + StartPlaying(position) -> ReportStartedPlaying
//   -> Data packets (Packet events) ... -> ReportEndOfStream (Eos)
//
// Incarnations (docs/protocols/mmsp-reference.md §4.1) tag every Data packet with the request it
// answers, so a seek is simply StartPlaying with the next play incarnation: anything still tagged
// with an older one is discarded. Pings are answered in every state. A ReportStreamChange
// (server-side playlist) leads to a new Header event with changed = true.
//
// Back-pressure: MMS pings travel on the connection that carries the data, so
// the caller keeps reading while throttled (keep_reading_when_throttled()).
// On throttle the session pauses on-demand content with StopPlaying and later
// resumes it with StartPlaying at the next packet number (locationId, new
// incarnation; packets before it are dropped); over UDP only when the stall
// lasts kUdpThrottleGrace (or kUdpThrottleSlackBytes more were delivered),
// since a pause throws away what is in flight. Broadcast packets received
// while throttled are dropped and the next one is flagged discont.
//
// UDP (docs/protocols/mmsp-reference.md §5): the UdpReceiveWindow (udp_receive_window.h) sequences
// the datagrams, reorders them, asks for resends (RequestPacketListResend to the server's MMS port)
// and gives up what does not come within kUdpLossDeadline. On-demand content is then played again
// from the first packet not delivered (StartPlaying at its LocationId, as after a pause), so no
// packet is lost; for broadcasts the missing ones count as lost and the next packet is flagged
// discont. No datagram within ClientConfig::udp_timeout fails with kTimedOut ("no UDP data from the
// server") so rollover can move on. The MMS dialogue and the header are in client_session.cpp, the
// play phase (media, loss, end of stream, back-pressure) in client_play.cpp.
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
#include "protocol/auth/ntlm.h"
#include "protocol/core/packet_pair.h"
#include "protocol/mmst/messages.h"
#include "protocol/mmst/udp_receive_window.h"
#include "protocol/session/client_session.h"

namespace mms::mmst {

// Player string in Connect: servers gate features on NSPlayer major >= 9.
constexpr const char* kClientPlayerVersion = "9.0.0.2980";
// Header timer (UDP, docs/protocols/mmsp-reference.md §4.10): wait for the header this long after
// ReadBlock before CancelReadBlock + a new ReadBlock; retries before failing.
constexpr Duration kUdpHeaderRetry = 2 * kSecond;
constexpr int kMaxUdpHeaderRetries = 4;
// Back-pressure over UDP (on-demand): the server is paused (StopPlaying) only
// when the consumer is still full after kUdpThrottleGrace, or after
// kUdpThrottleSlackBytes more were delivered into the full queue.
constexpr Duration kUdpThrottleGrace = 50 * kMillisecond;
constexpr std::size_t kUdpThrottleSlackBytes = 8u * 1024 * 1024;
// Header fragments collected over UDP (a 16 MiB header in 1 KiB fragments).
constexpr std::size_t kMaxUdpHeaderFragments = 16384;
// SecurityResponse rounds before giving up (docs/protocols/mmsp-reference.md §9 item 14):
// BASIC credentials, or one NTLM handshake (NEGOTIATE + AUTHENTICATE), are sent this often.
constexpr int kMaxAuthRounds = 1;
// Pongs answered per second before Pings count as a flood
// (docs/protocols/mmsp-reference.md §9 item 14).
constexpr int kMaxPingsPerSecond = 50;
// A playlist may pause between entries: the no-data bound is multiplied.
constexpr int kStreamChangeTimeoutFactor = 4;

// Maps an HRESULT from a Report* message to a Status (code + `what` + detail =
// hr): file/path not found -> kNotFound, access denied -> kNotAuthorized,
// others -> `fallback` (kRefused during setup, kPeerViolation mid-stream).
Status status_for_hresult(std::uint32_t hr, Code fallback);

class MmstClientSession final : public session::ClientSession, private UdpReceiveWindow::Sink {
 public:
  // `udp`: receive data over UDP (MMS/UDP, "mmsu"); otherwise on the TCP connection.
  MmstClientSession(session::ClientConfig config, bool udp);

  void on_connected(session::ChannelId ch, Instant now) override;
  void on_connect_failed(session::ChannelId ch, Status why, Instant now) override;
  std::size_t on_bytes(session::ChannelId ch, ByteView bytes, Instant now) override;
  void on_eof(session::ChannelId ch, Instant now) override;
  void on_timeout(Instant now) override;
  std::optional<Instant> next_deadline() const override;
  void on_throttle(bool paused, Instant now) override;
  bool keep_reading_when_throttled() const override { return true; }
  void on_udp_bound(session::ChannelId ch, std::uint16_t port, Instant now) override;
  void on_local_address(session::ChannelId ch, const std::string& local_ip) override;
  void on_datagram(session::ChannelId ch, ByteView datagram, Instant now) override;
  void play(const session::PlayRequest& req, Instant now) override;
  void close() override;
  bool next_io_action(session::IoAction* out) override;
  bool next_event(session::Event* out) override;
  bool seekable() const override;
  const char* transport_name() const override { return udp_ ? "mmsu" : "mmst"; }

  // Counters (tests, stats).
  std::uint32_t client_id() const { return client_id_; }
  std::uint32_t pongs_sent() const { return pongs_; }
  std::uint32_t udp_lost() const { return window_.lost(); }
  std::uint32_t udp_resend_requests() const { return resend_requests_; }
  std::uint32_t udp_recovered() const { return window_.recovered(); }
  std::uint32_t udp_replays() const { return replays_; }
  std::uint8_t play_incarnation() const { return play_inc_; }

 private:
  // Where the session is (docs/protocols/mmsp-reference.md §4.2).
  // One TCP control connection at a time.
  enum class State : std::uint8_t {
    kIdle,             // nothing requested yet
    kBinding,          // UDP: kBindUdp issued, waiting for on_udp_bound
    kConnecting,       // TCP connect issued
    kAwaitConnected,   // Connect sent, waiting for ReportConnectedEX
    kAwaitFunnelInfo,  // FunnelInfo sent, waiting for ReportFunnelInfo
    kAwaitFunnel,      // ConnectFunnel sent, waiting for ReportConnectedFunnel
    kAwaitOpen,        // OpenFile/SecurityResponse sent, waiting for ReportOpenFile
    kAwaitHeader,      // ReadBlock sent, header Data packets arriving
    kAwaitStarted,     // StreamSwitch + StartPlaying sent
    kStreaming,        // ReportStartedPlaying seen; media flows
    kPaused,           // StopPlaying sent because the consumer is full (on-demand)
    kWaitChange,       // EndOfStream hr=1: waiting for ReportStreamChange + header
    kDone,             // Eos emitted or closed
    kFailed,           // sticky: Failed emitted, inputs ignored
  };

  void connect_tcp(Instant now);
  void send(Message* m);
  void send_connect();
  void send_read_block(Instant now);
  void send_open_file(Instant now);
  void send_start(Instant now, std::optional<std::uint32_t> location);
  void handle_message(const Message& m, Instant now);
  void handle_data(const DataPacket& p, bool from_udp, Instant now);
  // The packet-pair estimate (none: too fast to tell): for the selection, as an event.
  void report_bandwidth(std::optional<std::uint64_t> bps);
  void handle_header_fragment(const DataPacket& p, bool from_udp, Instant now);
  void handle_complete_header(const std::vector<std::uint8_t>& raw, Instant now);
  void handle_media(const DataPacket& p, bool from_udp, Instant now);
  void handle_udp_media(const DataPacket& p, Instant now);
  UdpReceiveWindow::Context window_context() const;
  void emit_packet(ByteView payload, std::uint32_t location_id);
  void send_resend_request(const std::uint32_t* seqs, std::size_t n);
  // UdpReceiveWindow::Sink
  void on_deliver(ByteView payload, std::uint32_t location_id) override {
    emit_packet(payload, location_id);
  }
  void on_resend_request(const std::uint32_t* seqs, std::size_t n) override {
    send_resend_request(seqs, n);
  }
  void on_lost(std::uint32_t) override { discont_pending_ = true; }
  bool may_replay() const override { return replay_possible(); }
  // On-demand content: StartPlaying again from the first packet not delivered.
  bool replay_possible() const;
  void replay(std::uint32_t lost, const char* why, Instant now);
  // Back-pressure: StopPlaying for on-demand content (resumed on unthrottle).
  void pause_server();
  bool throttle_grace_over(Instant now) const;
  void finish_eos(Instant now);
  void maybe_finish_eos(Instant now);
  std::optional<Instant> idle_deadline() const;
  void follow_redirect(const ReportRedirect& r, Instant now);
  void answer_challenge(const Security& c, Instant now);
  void answer_ntlm(const Security& c, const std::string& user, const std::string& password,
                   Instant now);
  auth::ntlm::Nonce8 ntlm_client_challenge();
  void fail(Status status, std::string detail = std::string());
  void close_channels();
  void touch(Instant now) { last_activity_ = now; }
  bool live() const;

  session::ClientConfig config_;
  bool udp_ = false;
  Url current_url_;
  State state_ = State::kIdle;
  session::ChannelId tcp_ = 0;
  session::ChannelId udp_ch_ = 0;
  session::ChannelId next_channel_ = 1;
  std::uint16_t udp_port_ = 0;
  std::string local_ip_;   // our address of the control connection (funnel name)
  std::uint16_t seq_ = 0;  // our TcpMessageHeader counter
  Instant last_activity_;
  std::uint64_t position_ms_ = 0;
  int redirects_ = 0;
  int auth_rounds_ = 0;
  bool announced_ = false;

  // NTLM (docs/protocols/mmsp-reference.md §6): where the handshake of this OpenFile is.
  enum class NtlmStage : std::uint8_t {
    kNone,          // no NTLM token sent
    kNegotiate,     // NEGOTIATE sent, waiting for the CHALLENGE
    kAuthenticate,  // AUTHENTICATE sent: a further challenge is a rejection
  };
  NtlmStage ntlm_stage_ = NtlmStage::kNone;
  std::uint32_t ntlm_nonces_ = 0;  // client challenges made (salts the next)

  // Server facts.
  int server_major_ = -1;
  std::string authen_package_;
  std::uint32_t client_id_ = 0;
  std::uint32_t open_file_id_ = 0;
  std::uint32_t file_attributes_ = 0;
  std::uint32_t file_header_size_ = 0;

  // Incarnations (docs/protocols/mmsp-reference.md §4.1).
  std::uint8_t header_inc_ = kLastHeaderIncarnation;  // next ReadBlock uses next_header_incarnation
  std::uint8_t play_inc_ = kFirstPlayIncarnation;     // OpenFile uses 9; Start* the next ones
  std::uint8_t expected_header_inc_ = 0;              // incarnation of header packets we accept

  // Header.
  HeaderAssembler assembler_;
  std::map<std::uint32_t, std::vector<std::uint8_t>> udp_fragments_;  // UDP header, by LocationId
  std::size_t udp_fragment_bytes_ = 0;
  std::optional<std::uint32_t> udp_last_fragment_;
  std::optional<Instant> header_retry_at_;
  int header_retries_ = 0;
  asf::HeaderGate gate_;  // the known header, its info and stream selection
  bool after_change_ = false;
  bool all_selected_ = true;
  // Packet pair (MS-MMSP 3.1.5.3): asked once per session.
  PacketPairProbe probe_;
  int pairs_seen_ = 0;                 // probe packets of this attempt so far
  bool probed_ = false;                // an estimate was reported
  bool udp_pair_expected_ = false;     // the server will send the UDP pair after ReadBlock
  std::size_t unit_wire_ = 0;          // wire size of the TCP unit being handled
  std::size_t unread_after_unit_ = 0;  // bytes that arrived with it, after it

  bool switch_needed_ = true;  // StreamSwitch before the next StartPlaying

  // Play.
  bool discont_pending_ = false;
  bool stop_sent_ = false;
  bool throttled_ = false;
  std::optional<Instant> throttle_grace_until_;  // UDP: throttled, not paused yet
  std::size_t throttle_bytes_ = 0;               // delivered since
  bool media_seen_ = false;
  bool eos_pending_ = false;  // EndOfStream seen; waiting for UDP stragglers
  bool tail_probe_ = false;   // EndOfStream: ask for the tail (UdpReceiveWindow::probe_tail)
  std::optional<std::uint32_t> last_location_;  // last emitted packet number
  std::uint32_t resume_floor_ = 0;              // drop packets below this after a resume
  bool resume_floor_active_ = false;

  // UDP data.
  std::optional<Instant> udp_wait_since_;  // waiting for the first datagram
  bool udp_seen_ = false;
  UdpReceiveWindow window_;
  std::optional<std::uint32_t> replay_from_;  // LocationId of the last replay
  int replays_in_row_ = 0;
  std::uint32_t replays_ = 0;
  std::uint32_t resend_requests_ = 0;

  // Pings.
  std::uint32_t pongs_ = 0;
  std::int64_t ping_window_s_ = -1;
  int pings_in_window_ = 0;

  std::deque<session::IoAction> actions_;
  std::deque<session::Event> events_;
};

}  // namespace mms::mmst

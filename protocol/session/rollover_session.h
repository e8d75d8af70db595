// RolloverSession: the attempt runner, as a ClientSession of its own.
//
// One RolloverSession is one stream as the user sees it. Inside, it runs one
// transport session per attempt (made by a SessionFactory) and decides, with
// the RolloverController table, what happens when an attempt fails:
//
//  * before the first media packet: roll over to the next transport (mms://
//    walk), follow cross-transport redirects, or give up;
//  * after it: reconnect on the winning transport with bounded exponential
//    backoff (`retries`, `retry_delay_max`). On-demand content resumes at the
//    next undelivered packet: the new attempt plays from the last key frame at
//    or before it and the packets already delivered are dropped by send time
//    (a count per send time, so equal send times work). Broadcasts rejoin and
//    mark the first new packet DISCONT. A reconnect that delivers a new packet
//    resets the retry count.
//
// Channel ids are unique across attempts (each attempt's own ids are mapped),
// so the caller never confuses a channel of a finished attempt with a new one.
// The caller is an I/O executor only: it runs the IoActions, feeds inputs,
// arms one timer from next_deadline() and drains events and notices.
// Thread confinement: one thread at a time.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/session/client_session.h"
#include "protocol/session/rollover.h"
#include "protocol/session/stream_switch.h"

namespace mms::session {

// Something worth telling the user about (progress and element messages).
struct Notice {
  enum class Kind : std::uint8_t {
    kConnecting,       // an attempt of the rollover walk starts
    kAttemptFailed,    // it failed (`text`); the walk goes on unless `final`
    kConnected,        // media flows on `transport` (the winner)
    kRedirect,         // following a redirect to `url`
    kReconnecting,     // after a failure mid-stream: reconnect attempt `attempt` starts
    kReconnectFailed,  // that attempt failed (`text`); another follows unless `final`
    kReconnected,      // media flows again after a reconnect
    kBandwidth,        // the packet-pair probe measured `bandwidth_bps` on `transport`
  };
  Kind kind = Kind::kConnecting;
  std::string transport;            // "rtspu", "rtspt", "mmsu", "mmst", "mmsh"
  std::string url;                  // redacted
  std::string text;                 // failures: why
  bool final = false;               // failures: nothing else is tried (an error event follows)
  int attempt = 0;                  // reconnects: 1, 2, ...
  int max_attempts = 0;             // reconnects: the `retries` bound (-1 = unbounded)
  std::uint64_t bandwidth_bps = 0;  // kBandwidth (0: too fast to tell)
};

using SessionFactory =
    std::function<std::unique_ptr<ClientSession>(Transport transport, ClientConfig config)>;

struct RolloverOptions {
  std::vector<Transport> protocols;  // empty = the scheme's default list
  // Reconnects after media started: -1 = forever, 0 = none.
  int retries = 3;
  // Backoff: first_retry_delay, doubling per attempt, capped at retry_delay_max.
  Duration first_retry_delay = 250 * kMillisecond;
  Duration retry_delay_max = 10 * kSecond;
  // Bound on a server's first answer while another transport can still be tried.
  Duration first_reply_timeout = 3 * kSecond;
  RolloverController::Options table;
};

class RolloverSession final : public ClientSession {
 public:
  // Errors: those of RolloverController::create (unsupported scheme, no candidate).
  static Result<std::unique_ptr<RolloverSession>> create(ClientConfig config,
                                                         RolloverOptions options,
                                                         SessionFactory factory);

  void on_connected(ChannelId ch, Instant now) override;
  void on_connect_failed(ChannelId ch, Status why, Instant now) override;
  std::size_t on_bytes(ChannelId ch, ByteView bytes, Instant now) override;
  void on_eof(ChannelId ch, Instant now) override;
  void on_timeout(Instant now) override;
  std::optional<Instant> next_deadline() const override;
  void on_throttle(bool paused, Instant now) override;
  bool keep_reading_when_throttled() const override;
  void on_udp_bound(ChannelId ch, std::uint16_t port, Instant now) override;
  void on_datagram(ChannelId ch, ByteView datagram, Instant now) override;
  void on_local_address(ChannelId ch, const std::string& local_ip) override;
  void play(const PlayRequest& req, Instant now) override;
  void close() override;
  bool next_io_action(IoAction* out) override;
  bool next_event(Event* out) override;
  bool seekable() const override;
  const char* transport_name() const override;

  bool next_notice(Notice* out);
  // Transports of every attempt so far, reconnects included, in order.
  std::vector<std::string> attempt_names() const;
  // "transport: why" for every failed attempt, in order.
  const std::vector<std::string>& attempt_errors() const { return attempt_errors_; }
  // The transport media flows on ("" before the first packet).
  const std::string& established() const { return established_; }
  // Reconnect attempts started since the stream began (for tests and stats).
  int reconnects() const { return reconnects_total_; }

  // Chooses the streams again: a connection speed in kbps (0: the packet-pair
  // estimate, else no limit) and whether to leave video out. When the choice
  // changes mid-play, the stream goes on from the current position with the
  // new streams (a new request on the same transport, as a reconnect does,
  // without its notices), and the header comes again as a new entry
  // (Event::continues_at_ms) where the first added stream starts at a key
  // frame (session::StreamSwitcher). Otherwise it applies to the next play.
  void select_streams(std::uint32_t connection_speed_kbps, bool audio_only, Instant now);
  // The selection the settings give for the current header (empty before it).
  std::vector<asf::StreamChoice> current_selection() const;

 private:
  RolloverSession(ClientConfig config, RolloverOptions options, SessionFactory factory,
                  RolloverController table);

  // Input plumbing: everything from the caller goes through here.
  template <typename F>
  void feed(ChannelId global, Instant now, F&& f);
  void begin_input();
  void start_attempt(Transport transport, const Url& url, Instant now);
  void report_skipped();
  void drain_inner(Instant now);
  void handle_inner_event(Event& e, Instant now);
  void on_inner_packet(Event& e, Instant now);
  void on_inner_failed(const Event& e, Instant now);
  void deliver_packet(Event& e, std::optional<std::uint32_t> send_ms);
  void announce_media();
  bool duplicate(std::uint32_t send_ms);
  void close_attempt_channels();
  void fail(const Event& e);
  bool reconnectable(const Status& st) const;
  void schedule_reconnect(const Event& e, Instant now);
  // Where a new attempt of on-demand content resumes (the next undelivered
  // packet) or a broadcast rejoins; sets position_ms_ and the resume filter.
  void resume_from_here();
  void walk_on_reconnect();
  void notify(Notice n);
  Duration backoff(int attempt) const;

  ClientConfig config_;
  RolloverOptions options_;
  SessionFactory factory_;
  RolloverController table_;

  std::unique_ptr<ClientSession> inner_;
  // Sessions of finished attempts: their events may alias their storage until
  // the next input.
  std::vector<std::unique_ptr<ClientSession>> retired_;
  Transport transport_ = Transport::kMmsh;
  Url attempt_url_;
  bool attempt_connected_ = false;  // a TCP connection of this attempt opened
  std::string connected_detail_;    // kConnected of this attempt, announced with media

  // Channel ids: global (ours, given to the caller) <-> the current attempt's.
  ChannelId next_global_ = 1;
  std::map<ChannelId, ChannelId> to_inner_;   // global -> inner (current attempt only)
  std::map<ChannelId, ChannelId> to_global_;  // inner -> global (current attempt only)

  std::deque<IoAction> actions_;
  std::deque<Event> events_;
  std::deque<Notice> notices_;

  // Stream state.
  bool media_started_ = false;
  bool finished_ = false;  // Eos or Failed emitted
  bool throttled_ = false;
  bool closed_ = false;
  bool started_ = false;
  Transport winner_transport_ = Transport::kMmsh;  // the attempt media last flowed on
  Url winner_url_;
  // The next reconnect attempt: the winner first; after an attempt that
  // connected and still failed, the next candidate of the walk.
  Transport reconnect_transport_ = Transport::kMmsh;
  Url reconnect_url_;
  std::uint64_t position_ms_ = 0;  // where the next attempt starts playing
  std::shared_ptr<const std::vector<std::uint8_t>> last_header_;
  bool playlist_ = false;  // of the last header (Event::playlist)
  std::shared_ptr<const asf::HeaderInfo> info_;
  bool seekable_ = false;
  // The last packet delivered: its send time and how many delivered packets had it.
  bool have_last_ = false;
  std::uint32_t last_send_ms_ = 0;
  std::uint32_t last_send_count_ = 0;
  // Resume filter after a reconnect of on-demand content.
  bool dedupe_ = false;
  std::uint32_t dup_left_ = 0;  // packets at last_send_ms_ still to drop
  bool discont_next_ = false;
  // Reconnects.
  bool reconnecting_ = false;  // a reconnect attempt runs (or waits) that delivered nothing new
  std::optional<Instant> reconnect_at_;
  int retry_ = 0;  // reconnect attempts since media last flowed
  int reconnects_total_ = 0;

  std::vector<std::string> reconnect_names_;
  std::string reconnect_reason_;
  Status reconnect_cause_;  // the failure that started the current reconnects
  std::vector<std::string> attempt_errors_;
  std::size_t reported_attempts_ = 0;  // table_.attempts() looked at by report_skipped()
  std::string established_;
  // Stream selection changes (select_streams).
  std::uint64_t measured_bps_ = 0;  // the packet-pair estimate, for later attempts
  bool switching_ = false;          // the current attempt plays a new selection on
  StreamSwitcher switcher_;
  std::deque<std::vector<std::uint8_t>>
      filtered_;  // packets cut by switcher_, until the next input
};

}  // namespace mms::session

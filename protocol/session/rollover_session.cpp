#include "protocol/session/rollover_session.h"

#include <algorithm>
#include <utility>

#include "protocol/asf/packet.h"
#include "protocol/core/log.h"

namespace mms::session {
namespace {

constexpr const char* kLog = "rollover";

}  // namespace

Result<std::unique_ptr<RolloverSession>> RolloverSession::create(ClientConfig config,
                                                                 RolloverOptions options,
                                                                 SessionFactory factory) {
  options.table.via_proxy = config.proxy.has_value();
  if (options.table.via_proxy) {
    Result<std::vector<Transport>> c = candidates_for(config.url, options.protocols);
    if (c.ok() && std::all_of(c->begin(), c->end(), uses_udp)) {
      return Status(Code::kUnsupported, "UDP transports cannot go through an HTTP proxy");
    }
  }
  Result<RolloverController> table =
      RolloverController::create(config.url, options.protocols, options.table);
  if (!table.ok()) {
    return table.status();
  }
  return std::unique_ptr<RolloverSession>(new RolloverSession(
      std::move(config), std::move(options), std::move(factory), std::move(*table)));
}

RolloverSession::RolloverSession(ClientConfig config, RolloverOptions options,
                                 SessionFactory factory, RolloverController table)
    : config_(std::move(config)),
      options_(std::move(options)),
      factory_(std::move(factory)),
      table_(std::move(table)) {}

// --- inputs -----------------------------------------------------------------

void RolloverSession::begin_input() {
  retired_.clear();
  filtered_.clear();
}

template <typename F>
void RolloverSession::feed(ChannelId global, Instant now, F&& f) {
  begin_input();
  auto it = to_inner_.find(global);
  if (it == to_inner_.end() || !inner_) {
    return;  // a channel of a finished attempt: nothing listens any more
  }
  f(it->second);
  drain_inner(now);
}

void RolloverSession::on_connected(ChannelId ch, Instant now) {
  feed(ch, now, [&](ChannelId in) {
    attempt_connected_ = true;
    inner_->on_connected(in, now);
  });
}

void RolloverSession::on_connect_failed(ChannelId ch, Status why, Instant now) {
  feed(ch, now, [&](ChannelId in) { inner_->on_connect_failed(in, why, now); });
}

std::size_t RolloverSession::on_bytes(ChannelId ch, ByteView bytes, Instant now) {
  std::size_t used = bytes.size();  // stale channels: drop what they deliver
  feed(ch, now, [&](ChannelId in) { used = inner_->on_bytes(in, bytes, now); });
  return used;
}

void RolloverSession::on_eof(ChannelId ch, Instant now) {
  feed(ch, now, [&](ChannelId in) { inner_->on_eof(in, now); });
}

void RolloverSession::on_udp_bound(ChannelId ch, std::uint16_t port, Instant now) {
  feed(ch, now, [&](ChannelId in) { inner_->on_udp_bound(in, port, now); });
}

void RolloverSession::on_datagram(ChannelId ch, ByteView datagram, Instant now) {
  feed(ch, now, [&](ChannelId in) { inner_->on_datagram(in, datagram, now); });
}

void RolloverSession::on_local_address(ChannelId ch, const std::string& local_ip) {
  auto it = to_inner_.find(ch);
  if (it != to_inner_.end() && inner_) {
    inner_->on_local_address(it->second, local_ip);
  }
}

void RolloverSession::on_timeout(Instant now) {
  begin_input();
  if (reconnect_at_) {
    if (now >= *reconnect_at_) {
      reconnect_at_.reset();
      start_attempt(reconnect_transport_, reconnect_url_, now);
    }
    return;
  }
  if (inner_) {
    inner_->on_timeout(now);
    drain_inner(now);
  }
}

std::optional<Instant> RolloverSession::next_deadline() const {
  if (reconnect_at_) {
    return reconnect_at_;
  }
  if (inner_ && !finished_) {
    return inner_->next_deadline();
  }
  return std::nullopt;
}

void RolloverSession::on_throttle(bool paused, Instant now) {
  // No begin_input(): a retired attempt may still own views of queued events.
  throttled_ = paused;
  if (inner_) {
    inner_->on_throttle(paused, now);
    drain_inner(now);
  }
}

bool RolloverSession::keep_reading_when_throttled() const {
  return inner_ && inner_->keep_reading_when_throttled();
}

void RolloverSession::play(const PlayRequest& req, Instant now) {
  begin_input();
  if (closed_) {
    return;
  }
  position_ms_ = req.position_ms;
  if (!started_) {
    started_ = true;
    Decision d = table_.start(now);
    if (d.kind == Decision::Kind::kGiveUp) {
      fail(failed_event(d.status));
      return;
    }
    start_attempt(d.transport, d.url, now);
    return;
  }
  // A seek: what was delivered before no longer decides what a reconnect skips.
  have_last_ = false;
  dedupe_ = false;
  discont_next_ = false;
  if (finished_ && !inner_) {
    return;  // failed for good
  }
  finished_ = false;
  if (reconnect_at_) {
    return;  // the pending reconnect plays from the new position
  }
  if (inner_) {
    inner_->play(req, now);
    drain_inner(now);
  }
}

void RolloverSession::close() {
  begin_input();
  closed_ = true;
  reconnect_at_.reset();
  if (inner_) {
    inner_->close();
    drain_inner(Instant{});
  }
}

// --- drains -----------------------------------------------------------------

bool RolloverSession::next_io_action(IoAction* out) {
  return pop_front(&actions_, out);
}
bool RolloverSession::next_event(Event* out) {
  return pop_front(&events_, out);
}
bool RolloverSession::next_notice(Notice* out) {
  return pop_front(&notices_, out);
}

bool RolloverSession::seekable() const {
  return seekable_;
}

const char* RolloverSession::transport_name() const {
  return to_string(transport_);
}

std::vector<std::string> RolloverSession::attempt_names() const {
  std::vector<std::string> names = table_.attempt_names();
  names.insert(names.end(), reconnect_names_.begin(), reconnect_names_.end());
  return names;
}

// --- attempts ---------------------------------------------------------------

void RolloverSession::notify(Notice n) {
  notices_.push_back(std::move(n));
}

Duration RolloverSession::backoff(int attempt) const {
  Duration d = options_.first_retry_delay;
  for (int i = 1; i < attempt && d < options_.retry_delay_max; ++i) {
    d *= 2;
  }
  return std::min(d, options_.retry_delay_max);
}

void RolloverSession::close_attempt_channels() {
  for (const auto& [global, inner] : to_inner_) {
    IoAction a;
    a.kind = IoAction::Kind::kClose;
    a.channel = global;
    actions_.push_back(std::move(a));
  }
  to_inner_.clear();
  to_global_.clear();
  if (inner_) {
    retired_.push_back(std::move(inner_));
  }
}

void RolloverSession::report_skipped() {
  const std::vector<Attempt>& attempts = table_.attempts();
  for (; reported_attempts_ < attempts.size(); ++reported_attempts_) {
    const Attempt& a = attempts[reported_attempts_];
    if (!a.skipped || !config_.proxy || !uses_udp(a.transport)) {
      continue;
    }
    // Told like an attempt that failed at once, so the user sees why.
    const std::string name = to_string(a.transport);
    attempt_errors_.push_back(name + ": not tried: UDP does not go through the HTTP proxy");
    Notice n;
    n.kind = Notice::Kind::kAttemptFailed;
    n.transport = name;
    n.url = config_.url.redacted();
    n.text = "not tried: UDP does not go through the HTTP proxy";
    notify(std::move(n));
  }
}

void RolloverSession::start_attempt(Transport transport, const Url& url, Instant now) {
  report_skipped();
  close_attempt_channels();
  transport_ = transport;
  attempt_url_ = url;
  attempt_connected_ = false;
  connected_detail_.clear();
  ClientConfig cfg = config_;
  cfg.url = url;
  cfg.known_bandwidth_bps = measured_bps_;  // one probe per stream, not per attempt
  if (!media_started_ && table_.attempts().size() < table_.candidates().size()) {
    // Another transport can still be tried: do not wait long for a first answer.
    cfg.first_reply_timeout = options_.first_reply_timeout;
  }
  inner_ = factory_(transport, std::move(cfg));
  if (!inner_) {
    fail(failed_event(Status(Code::kUnsupported, "transport not available in this build")));
    return;
  }
  Notice n;
  n.transport = to_string(transport);
  n.url = url.redacted();
  if (switching_) {
    // A new selection on the same transport: not a reconnect to tell of.
  } else if (media_started_) {
    reconnect_names_.push_back(n.transport);
    n.kind = Notice::Kind::kReconnecting;
    n.attempt = retry_;
    n.max_attempts = options_.retries;
    n.text = reconnect_reason_;
  } else {
    n.kind = Notice::Kind::kConnecting;
  }
  if (!switching_) {
    notify(std::move(n));
  }
  if (throttled_) {
    inner_->on_throttle(true, now);
  }
  PlayRequest req;
  req.position_ms = position_ms_;
  inner_->play(req, now);
  drain_inner(now);
}

void RolloverSession::drain_inner(Instant now) {
  if (!inner_) {
    return;
  }
  ClientSession* const inner = inner_.get();
  Event e;
  while (inner_.get() == inner && inner->next_event(&e)) {
    if (e.kind == Event::Kind::kFailed) {
      // The attempt is over: its remaining output does not matter.
      on_inner_failed(e, now);
      return;
    }
    handle_inner_event(e, now);
  }
  if (inner_.get() != inner) {
    return;
  }
  IoAction a;
  while (inner->next_io_action(&a)) {
    auto it = to_global_.find(a.channel);
    if (a.kind == IoAction::Kind::kConnectTcp || a.kind == IoAction::Kind::kBindUdp) {
      if (it != to_global_.end()) {
        // Re-opening an id: the old channel of that id is closed first.
        IoAction c;
        c.kind = IoAction::Kind::kClose;
        c.channel = it->second;
        to_inner_.erase(it->second);
        actions_.push_back(std::move(c));
      }
      const ChannelId global = next_global_++;
      to_global_[a.channel] = global;
      to_inner_[global] = a.channel;
      a.channel = global;
    } else if (it == to_global_.end()) {
      continue;  // a channel that was never opened
    } else {
      const ChannelId global = it->second;
      if (a.kind == IoAction::Kind::kClose) {
        to_inner_.erase(global);
        to_global_.erase(it);
      }
      a.channel = global;
    }
    actions_.push_back(std::move(a));
  }
}

void RolloverSession::handle_inner_event(Event& e, Instant now) {
  switch (e.kind) {
    case Event::Kind::kConnected:
      if (!media_started_) {
        (void)table_.on_outcome(Outcome::kEstablished, now);
      }
      // Announced with the first media packet: a UDP transport may still fail
      // for want of data.
      connected_detail_ = e.detail;
      break;
    case Event::Kind::kRedirect: {
      Notice n;
      n.kind = Notice::Kind::kRedirect;
      n.transport = to_string(transport_);
      n.url = e.url;
      notify(std::move(n));
      break;
    }
    case Event::Kind::kHeader:
      info_ = e.info;
      seekable_ = inner_->seekable();
      if (reconnecting_ && last_header_ && e.header && *last_header_ == *e.header) {
        break;  // the same content again: nothing to tell downstream
      }
      if (reconnecting_ && last_header_) {
        e.changed = true;  // the server now sends something else
      }
      switcher_.disarm();  // a new header is a new entry anyway
      last_header_ = e.header;
      playlist_ = e.playlist;
      events_.push_back(std::move(e));
      break;
    case Event::Kind::kPacket:
      on_inner_packet(e, now);
      break;
    case Event::Kind::kEos:
      announce_media();
      finished_ = true;
      events_.push_back(std::move(e));
      break;
    case Event::Kind::kBandwidth: {
      measured_bps_ = e.bandwidth_bps;
      Notice n;
      n.kind = Notice::Kind::kBandwidth;
      n.transport = to_string(transport_);
      n.url = attempt_url_.redacted();
      n.bandwidth_bps = e.bandwidth_bps;
      notify(std::move(n));
      break;
    }
    case Event::Kind::kFailed:
      break;  // handled by drain_inner
  }
}

void RolloverSession::announce_media() {
  if (reconnecting_ && switching_) {
    reconnecting_ = false;
    switching_ = false;
    retry_ = 0;
    return;
  }
  if (reconnecting_) {
    reconnecting_ = false;
    retry_ = 0;  // a reconnect that delivers resets the count
    Notice n;
    n.kind = Notice::Kind::kReconnected;
    n.transport = to_string(transport_);
    n.url = attempt_url_.redacted();
    notify(std::move(n));
    MMS_LOG(LogLevel::kInfo, kLog, "reconnected over %s", to_string(transport_));
    winner_transport_ = transport_;  // a walked-on transport is the one that works now
    winner_url_ = attempt_url_;
    connected_detail_.clear();
    return;
  }
  if (connected_detail_.empty() || !established_.empty()) {
    return;
  }
  established_ = connected_detail_;
  connected_detail_.clear();
  Notice n;
  n.kind = Notice::Kind::kConnected;
  n.transport = established_;
  n.url = config_.url.redacted();
  notify(std::move(n));
}

void RolloverSession::on_inner_packet(Event& e, Instant now) {
  if (!media_started_) {
    media_started_ = true;
    (void)table_.on_outcome(Outcome::kFirstMediaPacket, now);
    winner_transport_ = transport_;
    winner_url_ = attempt_url_;
  }
  std::optional<std::uint32_t> send_ms;
  if (Result<std::uint32_t> t = asf::packet_send_time(e.payload); t.ok()) {
    send_ms = *t;
  }
  if (dedupe_ && send_ms && duplicate(*send_ms)) {
    return;
  }
  dedupe_ = false;
  if (switcher_.armed()) {
    StreamSwitcher::Offer o = switcher_.offer(e.payload);
    switch (o.kind) {
      case StreamSwitcher::Offer::Kind::kPass:
        break;
      case StreamSwitcher::Offer::Kind::kDrop:
        return;
      case StreamSwitcher::Offer::Kind::kFiltered:
        filtered_.push_back(std::move(o.packet));
        e.payload = ByteView(filtered_.back());
        break;
      case StreamSwitcher::Offer::Kind::kSwitch: {
        Event h;
        h.kind = Event::Kind::kHeader;
        h.header = last_header_;
        h.info = info_;
        h.changed = true;
        h.continues_at_ms = o.continues_at_ms;
        h.playlist = playlist_;
        MMS_LOG(LogLevel::kInfo, kLog, "new streams from %llu ms",
                static_cast<unsigned long long>(o.continues_at_ms));
        events_.push_back(std::move(h));
        break;
      }
    }
  }
  deliver_packet(e, send_ms);
}

std::vector<asf::StreamChoice> RolloverSession::current_selection() const {
  if (!info_) {
    return {};
  }
  // RTSP measures nothing: its estimate stays 0.
  return asf::select_streams(
      *info_, asf::selection_bandwidth_kbps(config_.connection_speed_kbps, measured_bps_),
      config_.audio_only);
}

void RolloverSession::select_streams(std::uint32_t connection_speed_kbps, bool audio_only,
                                     Instant now) {
  begin_input();
  const std::vector<asf::StreamChoice> before = current_selection();
  config_.connection_speed_kbps = connection_speed_kbps;
  config_.audio_only = audio_only;
  if (closed_ || finished_ || !media_started_ || !info_ || !last_header_) {
    return;  // the next attempt (or play) takes the new settings
  }
  const std::vector<asf::StreamChoice> after = current_selection();
  if (asf::same_selection(before, after)) {
    return;
  }
  MMS_LOG(LogLevel::kInfo, kLog, "%s: other streams (%u kbps%s): playing on with them",
          to_string(transport_), connection_speed_kbps, audio_only ? ", audio only" : "");
  switcher_.arm(info_, before, after);
  if (!inner_) {
    return;  // a reconnect is pending: it plays the new streams
  }
  close_attempt_channels();
  resume_from_here();
  switching_ = true;
  reconnecting_ = true;  // the same header again is not news
  start_attempt(transport_, attempt_url_, now);
}

bool RolloverSession::duplicate(std::uint32_t send_ms) {
  if (send_ms < last_send_ms_) {
    return true;
  }
  if (send_ms == last_send_ms_ && dup_left_ > 0) {
    --dup_left_;
    return true;
  }
  return false;
}

void RolloverSession::deliver_packet(Event& e, std::optional<std::uint32_t> send_ms) {
  announce_media();
  if (discont_next_) {
    discont_next_ = false;
    e.discont = true;
  }
  if (send_ms) {
    if (have_last_ && *send_ms == last_send_ms_) {
      ++last_send_count_;
    } else {
      last_send_ms_ = *send_ms;
      last_send_count_ = 1;
    }
    have_last_ = true;
  }
  events_.push_back(std::move(e));
}

void RolloverSession::fail(const Event& e) {
  close_attempt_channels();
  finished_ = true;
  events_.push_back(e);
}

bool RolloverSession::reconnectable(const Status& st) const {
  switch (st.code()) {
    case Code::kConnectionLost:
    case Code::kTimedOut:
    case Code::kRefused:
      return true;
    default:
      return false;
  }
}

void RolloverSession::on_inner_failed(const Event& e, Instant now) {
  if (closed_) {
    return;
  }
  const std::string name = to_string(transport_);
  if (media_started_) {
    attempt_errors_.push_back(name + ": " + e.status.what());
    const bool again = !e.redirect_to && reconnectable(e.status) &&
                       (options_.retries < 0 || retry_ < options_.retries);
    if (reconnecting_) {
      Notice n;
      n.kind = Notice::Kind::kReconnectFailed;
      n.transport = name;
      n.url = attempt_url_.redacted();
      n.text = e.status.what();
      n.final = !again;
      n.attempt = retry_;
      n.max_attempts = options_.retries;
      notify(std::move(n));
    }
    if (!again) {
      if (reconnecting_ && reconnectable(e.status)) {
        // Retries exhausted: the error is the drop that started them (a
        // read error mid-stream); every attempt is in attempt_errors().
        Event drop = e;
        drop.status = reconnect_cause_;
        fail(drop);
        return;
      }
      fail(e);
      return;
    }
    if (!reconnecting_) {
      reconnect_cause_ = e.status;
      reconnect_transport_ = winner_transport_;
      reconnect_url_ = winner_url_;
    } else if (attempt_connected_) {
      walk_on_reconnect();
    }
    schedule_reconnect(e, now);
    return;
  }
  if (e.redirect_to) {
    Decision d = table_.on_outcome(Outcome::kRedirect, now, e.status, &*e.redirect_to);
    if (d.kind != Decision::Kind::kFollowRedirect) {
      fail(e);
      return;
    }
    Notice n;
    n.kind = Notice::Kind::kRedirect;
    n.transport = name;
    n.url = e.redirect_to->redacted();
    notify(std::move(n));
    start_attempt(d.transport, d.url, now);
    return;
  }
  Outcome outcome = outcome_for(e.status);
  if (!attempt_connected_ && (outcome == Outcome::kRefused || outcome == Outcome::kNoDataTimeout ||
                              outcome == Outcome::kFailed)) {
    outcome = Outcome::kConnectFailed;  // no TCP connection of this attempt ever opened
  }
  Decision d = table_.on_outcome(outcome, now, e.status);
  attempt_errors_.push_back(name + ": " + e.status.what());
  Notice n;
  n.kind = Notice::Kind::kAttemptFailed;
  n.transport = name;
  n.url = config_.url.redacted();
  n.text = e.status.what();
  const bool is_final =
      d.kind != Decision::Kind::kTryNext && d.kind != Decision::Kind::kFollowRedirect;
  n.final = is_final;
  notify(std::move(n));
  if (is_final) {
    fail(e);
    return;
  }
  start_attempt(d.transport, d.url, now);
}

// A reconnect attempt that reached the server and still delivered nothing
// (UDP data no longer arriving, say) says that transport no longer works from
// here: the next attempt takes the next transport of the walk (wrapping). One
// refused before connecting says the server is away: that one stays.
void RolloverSession::walk_on_reconnect() {
  const std::vector<Transport>& c = table_.candidates();
  if (c.size() < 2) {
    return;
  }
  auto it = std::find(c.begin(), c.end(), transport_);
  std::size_t next = it == c.end() ? 0 : (static_cast<std::size_t>(it - c.begin()) + 1) % c.size();
  // Through a proxy only the TCP transports are candidates (one of them is the winner).
  for (std::size_t i = 0; config_.proxy && uses_udp(c[next]) && i < c.size(); ++i) {
    next = (next + 1) % c.size();
  }
  reconnect_transport_ = c[next];
  reconnect_url_ = winner_url_;
  reconnect_url_.scheme = scheme_for(reconnect_transport_);
}

void RolloverSession::schedule_reconnect(const Event& e, Instant now) {
  close_attempt_channels();
  ++retry_;
  ++reconnects_total_;
  reconnecting_ = true;
  reconnect_reason_ = e.status.what();
  const Duration delay = backoff(retry_);
  reconnect_at_ = now + delay;
  switching_ = false;  // a failure: a reconnect like any other
  resume_from_here();
  MMS_LOG(LogLevel::kInfo, kLog, "%s: %s; reconnect %d in %lld ms from %llu ms",
          to_string(transport_), e.status.what(), retry_,
          static_cast<long long>(delay / kMillisecond),
          static_cast<unsigned long long>(position_ms_));
}

void RolloverSession::resume_from_here() {
  const bool live = info_ && info_->broadcast();
  if (live) {
    // A broadcast rejoins where it is now; the gap is a discontinuity.
    position_ms_ = 0;
    dedupe_ = false;
    discont_next_ = true;
  } else if (have_last_) {
    // Resume at the next undelivered packet: play from the last key frame at
    // or before the last delivered send time (content time, without preroll),
    // then drop what was delivered already.
    const std::uint64_t preroll = info_ ? info_->preroll_ms : 0;
    position_ms_ = seekable_ ? (last_send_ms_ > preroll ? last_send_ms_ - preroll : 0) : 0;
    dedupe_ = true;
    dup_left_ = last_send_count_;
    discont_next_ = false;
  }
}

}  // namespace mms::session

#include "protocol/session/rollover.h"

#include <algorithm>
#include <utility>

#include "protocol/core/log.h"
#include "protocol/core/text.h"

namespace mms::session {
namespace {

constexpr const char* kLog = "rollover";

// The default candidate list of each scheme, before filtering.
bool scheme_candidates(const std::string& scheme, std::vector<Transport>* out) {
  if (scheme == "mms") {
    *out = {Transport::kRtspUdp, Transport::kRtspTcp, Transport::kMmsUdp, Transport::kMmsTcp,
            Transport::kMmsh};
  } else if (scheme == "mmsu") {
    *out = {Transport::kMmsUdp};
  } else if (scheme == "mmst") {
    *out = {Transport::kMmsTcp};
  } else if (scheme == "mmsh" ||
             scheme == "http") {  // http://: a Windows Media server, spoken as MMSH
    *out = {Transport::kMmsh};
  } else if (scheme == "rtsp") {
    *out = {Transport::kRtspUdp, Transport::kRtspTcp};
  } else if (scheme == "rtspu") {
    *out = {Transport::kRtspUdp};
  } else if (scheme == "rtspt") {
    *out = {Transport::kRtspTcp};
  } else {
    return false;
  }
  return true;
}

}  // namespace

const char* to_string(Transport t) {
  switch (t) {
    case Transport::kRtspUdp:
      return "rtspu";
    case Transport::kRtspTcp:
      return "rtspt";
    case Transport::kMmsUdp:
      return "mmsu";
    case Transport::kMmsTcp:
      return "mmst";
    case Transport::kMmsh:
      return "mmsh";
  }
  return "?";
}

const char* scheme_for(Transport t) {
  return to_string(t);
}

bool parse_transport(std::string_view name, Transport* out) {
  static constexpr Transport kAll[] = {Transport::kRtspUdp, Transport::kRtspTcp, Transport::kMmsUdp,
                                       Transport::kMmsTcp, Transport::kMmsh};
  for (Transport t : kAll) {
    if (iequals(name, to_string(t))) {
      *out = t;
      return true;
    }
  }
  return false;
}

bool transport_implemented(Transport t) {
  (void)t;
  return true;  // every transport has a session
}

Result<std::vector<Transport>> parse_protocols(std::string_view list) {
  std::vector<Transport> out;
  std::size_t pos = 0;
  while (pos < list.size()) {
    std::size_t end = list.find_first_of(", ;", pos);
    if (end == std::string_view::npos) {
      end = list.size();
    }
    std::string_view item = list.substr(pos, end - pos);
    pos = end + 1;
    if (item.empty()) {
      continue;
    }
    Transport t = Transport::kMmsTcp;
    if (!parse_transport(item, &t)) {
      return Status(Code::kUnsupported, "unknown transport in the protocols list");
    }
    if (std::find(out.begin(), out.end(), t) == out.end()) {
      out.push_back(t);
    }
  }
  if (out.empty()) {
    return Status(Code::kLocalMisuse, "the protocols list is empty");
  }
  return out;
}

const char* to_string(Outcome o) {
  switch (o) {
    case Outcome::kEstablished:
      return "established";
    case Outcome::kFirstMediaPacket:
      return "first-media-packet";
    case Outcome::kConnectFailed:
      return "connect-failed";
    case Outcome::kRefused:
      return "refused";
    case Outcome::kNoDataTimeout:
      return "no-data-timeout";
    case Outcome::kNotFound:
      return "not-found";
    case Outcome::kNotAuthorized:
      return "not-authorized";
    case Outcome::kRedirect:
      return "redirect";
    case Outcome::kLost:
      return "lost";
    case Outcome::kFailed:
      return "failed";
  }
  return "?";
}

const char* to_string(Decision::Kind k) {
  switch (k) {
    case Decision::Kind::kContinue:
      return "continue";
    case Decision::Kind::kTryNext:
      return "try-next";
    case Decision::Kind::kFollowRedirect:
      return "follow-redirect";
    case Decision::Kind::kGiveUp:
      return "give-up";
  }
  return "?";
}

Outcome outcome_for(const Status& status) {
  switch (status.code()) {
    case Code::kNotFound:
      return Outcome::kNotFound;
    case Code::kNotAuthorized:
      return Outcome::kNotAuthorized;
    case Code::kRefused:
      return Outcome::kRefused;
    case Code::kTimedOut:
      return Outcome::kNoDataTimeout;
    case Code::kConnectionLost:
      return Outcome::kLost;
    default:
      return Outcome::kFailed;
  }
}

Result<std::vector<Transport>> candidates_for(const Url& url,
                                              const std::vector<Transport>& protocols) {
  std::vector<Transport> scheme_list;
  if (!scheme_candidates(url.scheme, &scheme_list)) {
    return Status(Code::kUnsupported, "mmssrc does not handle this URL scheme");
  }
  std::vector<Transport> out;
  if (protocols.empty()) {
    for (Transport t : scheme_list) {
      if (transport_implemented(t)) {
        out.push_back(t);
      }
    }
  } else {
    // The user's order, restricted to what the scheme allows.
    for (Transport t : protocols) {
      if (transport_implemented(t) &&
          std::find(scheme_list.begin(), scheme_list.end(), t) != scheme_list.end()) {
        out.push_back(t);
      }
    }
  }
  if (out.empty()) {
    return Status(Code::kLocalMisuse, "no allowed transport for this URL and protocols list");
  }
  return out;
}

Result<RolloverController> RolloverController::create(const Url& url,
                                                      const std::vector<Transport>& protocols,
                                                      Options options) {
  Result<std::vector<Transport>> c = candidates_for(url, protocols);
  if (!c.ok()) {
    return c.status();
  }
  RolloverController r;
  r.url_ = url;
  r.protocols_ = protocols;
  r.candidates_ = std::move(*c);
  r.options_ = options;
  return r;
}

std::vector<std::string> RolloverController::attempt_names() const {
  std::vector<std::string> names;
  names.reserve(attempts_.size());
  for (const Attempt& a : attempts_) {
    names.emplace_back(to_string(a.transport));
  }
  return names;
}

Decision RolloverController::start(Instant now) {
  if (started_) {
    return give_up(Status(Code::kLocalMisuse, "rollover started twice"));
  }
  started_ = true;
  started_at_ = now;
  return try_candidate(0);
}

bool uses_udp(Transport t) {
  return t == Transport::kRtspUdp || t == Transport::kMmsUdp;
}

Decision RolloverController::try_candidate(std::size_t index) {
  if (options_.via_proxy) {
    // UDP cannot go through the proxy: those steps are not tried.
    while (index < candidates_.size() && uses_udp(candidates_[index])) {
      MMS_LOG(LogLevel::kInfo, kLog, "skipping %s: UDP does not go through the HTTP proxy",
              to_string(candidates_[index]));
      Attempt skipped;
      skipped.transport = candidates_[index];
      skipped.outcome = Outcome::kRefused;
      skipped.finished = true;
      skipped.skipped = true;
      attempts_.push_back(skipped);
      ++index;
    }
    if (index >= candidates_.size()) {
      next_ = index;
      return give_up(Status(Code::kUnsupported, "UDP transports cannot go through an HTTP proxy"));
    }
  }
  Decision d;
  d.kind = Decision::Kind::kTryNext;
  d.transport = candidates_[index];
  d.url = url_;
  d.url.scheme = scheme_for(d.transport);
  next_ = index + 1;
  Attempt a;
  a.transport = d.transport;
  attempts_.push_back(a);
  MMS_LOG(LogLevel::kInfo, kLog, "attempt %zu: %s (%s)", attempts_.size(), to_string(d.transport),
          d.url.redacted().c_str());
  return d;
}

Decision RolloverController::give_up(const Status& status) {
  done_ = true;
  last_failure_ = status;
  Decision d;
  d.kind = Decision::Kind::kGiveUp;
  d.status = status;
  d.url = url_;
  if (!attempts_.empty()) {
    d.transport = attempts_.back().transport;
  }
  MMS_LOG(LogLevel::kInfo, kLog, "giving up after %zu attempt(s): %s (%s)", attempts_.size(),
          status.what(), mms::to_string(status.code()));
  return d;
}

Decision RolloverController::on_outcome(Outcome outcome, Instant now, const Status& status,
                                        const Url* redirect) {
  if (done_) {
    return give_up(last_failure_);
  }
  if (!started_ || attempts_.empty()) {
    return give_up(Status(Code::kLocalMisuse, "outcome reported before the first attempt"));
  }
  Attempt& current = attempts_.back();
  MMS_LOG(LogLevel::kInfo, kLog, "%s: %s", to_string(current.transport), to_string(outcome));
  switch (outcome) {
    case Outcome::kEstablished:
      return Decision();
    case Outcome::kFirstMediaPacket:
      media_started_ = true;
      return Decision();
    default:
      break;
  }
  current.outcome = outcome;
  current.finished = true;
  Status failure = status;
  if (failure.ok()) {
    failure = Status(
        outcome == Outcome::kRedirect ? Code::kPeerViolation : Code::kRefused,
        outcome == Outcome::kRedirect ? "redirect without a location" : "the transport failed");
  }
  if (media_started_) {
    // Media already flowed on this transport: no rollover mid-stream.
    return give_up(failure);
  }
  if (outcome == Outcome::kNotFound || outcome == Outcome::kNotAuthorized) {
    return give_up(failure);
  }
  if (static_cast<int>(attempts_.size()) >= options_.max_attempts) {
    return give_up(outcome == Outcome::kRedirect
                       ? Status(Code::kLimitExceeded, "too many connection attempts")
                       : failure);
  }
  if (options_.total_timeout > 0 && now - started_at_ >= options_.total_timeout) {
    return give_up(Status(Code::kTimedOut, "no transport worked in time", failure.detail()));
  }
  if (outcome == Outcome::kRedirect) {
    if (redirect == nullptr) {
      return give_up(failure);
    }
    if (++redirects_ > options_.max_redirects) {
      return give_up(Status(Code::kLimitExceeded, "too many redirects"));
    }
    // The new URL's scheme decides the candidates; the user's list still narrows them.
    Result<std::vector<Transport>> c = candidates_for(*redirect, protocols_);
    if (!c.ok()) {
      return give_up(Status(Code::kUnsupported, "redirect to a URL mmssrc cannot play"));
    }
    url_ = *redirect;
    candidates_ = std::move(*c);
    Decision d = try_candidate(0);
    if (d.kind == Decision::Kind::kTryNext) {
      d.kind = Decision::Kind::kFollowRedirect;
    }
    return d;
  }
  last_failure_ = failure;
  // Both RTSP variants share the control connection: when it could not even be
  // opened, RTSP over TCP would fail the same way (MS-RTSP rollover table).
  if (outcome == Outcome::kConnectFailed && current.transport == Transport::kRtspUdp &&
      next_ < candidates_.size() && candidates_[next_] == Transport::kRtspTcp) {
    MMS_LOG(LogLevel::kInfo, kLog, "skipping rtspt: the RTSP control connection failed");
    Attempt skipped;
    skipped.transport = Transport::kRtspTcp;
    skipped.outcome = Outcome::kConnectFailed;
    skipped.finished = true;
    skipped.skipped = true;
    attempts_.push_back(skipped);
    ++next_;
  }
  if (next_ >= candidates_.size()) {
    return give_up(failure);
  }
  return try_candidate(next_);
}

}  // namespace mms::session

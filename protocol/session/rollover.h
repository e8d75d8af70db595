// Protocol rollover as a pure decision table
// (docs/architecture.md, "Rollover and reconnect: the attempt runner").
//
// The URL scheme and the `protocols` list give an ordered list of candidate
// transports. The caller (io::Driver) runs one session per attempt and reports
// what happened; the controller answers with a Decision. No sockets, no clock:
// time is an input, like everywhere in the engine.
//
// Rules:
//  * mms://  walks the transports in Windows Media Player order: RTSP/UDP ->
//    RTSP/TCP -> MMS/UDP -> MMS/TCP -> MMSH. `protocols` narrows and reorders
//    that list. When the RTSP control connection cannot be opened at all, the
//    RTSP/TCP step right after RTSP/UDP is skipped (it needs the same connection).
//  * mmsu://, mmst://, mmsh://, rtspu://, rtspt:// pin one transport (rtsp://
//    pins RTSP with its own UDP -> TCP order); `protocols` may only narrow it.
//  * Ports: an explicit URL port is used for every candidate (our server, like
//    any WMS, may serve MMS and MMSH on different ports: pin the scheme or the
//    `protocols` list to reach both). Without one each transport uses its
//    default (MMS 1755, MMSH 80, RTSP 554).
//  * Through an HTTP proxy (Options::via_proxy) the UDP transports are not
//    tried (their data would bypass the proxy): each is recorded as a skipped
//    attempt, logged, and the walk goes on with the next candidate; a list of
//    UDP transports only gives up with kUnsupported.
//  * Roll over only before the first media packet; afterwards any failure is
//    final (GiveUp). NotFound and NotAuthorized stop the walk at once: another
//    transport will not fix them. Attempts, redirects and the total time are
//    bounded.
// Thread confinement: one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/core/status.h"
#include "protocol/core/time.h"
#include "protocol/core/url.h"

namespace mms::session {

// Every transport the element knows, in Windows Media Player 9/10 order.
enum class Transport : std::uint8_t {
  kRtspUdp,  // RTSP control, RTP over UDP ("rtspu")
  kRtspTcp,  // RTSP with interleaved RTP ("rtspt")
  kMmsUdp,   // MMS control over TCP, data over UDP ("mmsu")
  kMmsTcp,   // MMS over one TCP connection ("mmst")
  kMmsh,     // MMS over HTTP (MS-WMSP)
};

// "rtspu", "rtspt", "mmsu", "mmst", "mmsh": the names used in `protocols`,
// messages and logs.
const char* to_string(Transport t);
// Accepts the names above (case-insensitive); false for anything else.
bool parse_transport(std::string_view name, Transport* out);
// Whether a session exists for the transport in this build.
bool transport_implemented(Transport t);
// The URL scheme an attempt on `t` uses ("mmsu", "mmst", "mmsh", "rtspu", "rtspt").
const char* scheme_for(Transport t);

// Parses an ordered, comma- or space-separated list ("mmsu,mmst,mmsh").
// Duplicates are dropped; an empty list is kLocalMisuse; an unknown name kUnsupported.
Result<std::vector<Transport>> parse_protocols(std::string_view list);

// What happened to an attempt, as reported by the caller.
enum class Outcome : std::uint8_t {
  kEstablished,       // the transport answered (informational)
  kFirstMediaPacket,  // media flowed: rollover is over for this stream
  kConnectFailed,     // TCP connect failed or timed out
  kRefused,           // the server rejected the transport (funnel refused, HTTP error...)
  kNoDataTimeout,     // no data in time (UDP silence, stalled setup)
  kNotFound,          // the content does not exist
  kNotAuthorized,     // credentials missing or rejected
  kRedirect,          // the server points elsewhere (a URL of any scheme)
  kLost,              // the connection dropped
  kFailed,            // anything else (bad data, unsupported feature)
};
const char* to_string(Outcome o);

// Maps a session's failure status to an outcome.
Outcome outcome_for(const Status& status);

struct Decision {
  enum class Kind : std::uint8_t {
    kContinue,        // keep going with the current attempt
    kTryNext,         // start an attempt on `transport` at `url`
    kFollowRedirect,  // start over at `url` with `transport` (first candidate of its scheme)
    kGiveUp,          // stop; report `status`
  };
  Kind kind = Kind::kContinue;
  Transport transport = Transport::kMmsTcp;
  Url url;        // the attempt's URL: scheme rewritten to scheme_for(transport)
  Status status;  // kGiveUp: the failure to report
};
const char* to_string(Decision::Kind k);

// One attempt, for progress messages and the error's `mms-attempts` field.
struct Attempt {
  Transport transport = Transport::kMmsTcp;
  Outcome outcome = Outcome::kEstablished;  // kEstablished while running
  bool finished = false;
  bool skipped = false;  // not run: an earlier attempt proved it would fail the same way,
                         // or it uses UDP and a proxy is set
};

class RolloverController {
 public:
  struct Options {
    // Attempts in all (rollovers and redirects together). Five transports
    // plus a few redirects; bounds a hostile redirect/refuse loop.
    int max_attempts = 12;
    // Redirects followed across transports (limits::kMaxRedirects as elsewhere).
    int max_redirects = 10;
    // Total time for the whole walk; 0 = unbounded.
    Duration total_timeout = 0;
    // Every connection goes through an HTTP proxy: UDP transports are skipped.
    bool via_proxy = false;
  };

  // Builds the candidate list for `url` and `protocols` (empty = the default
  // list of the scheme). Unimplemented transports are skipped. Errors:
  // kUnsupported for a scheme mmssrc does not handle, kLocalMisuse when no
  // candidate is left.
  static Result<RolloverController> create(const Url& url, const std::vector<Transport>& protocols,
                                           Options options);
  static Result<RolloverController> create(const Url& url,
                                           const std::vector<Transport>& protocols) {
    return create(url, protocols, Options());
  }

  // The first attempt (kTryNext). Call once.
  Decision start(Instant now);
  // Reports the current attempt's outcome. `status` is the failure (for the
  // failing outcomes); `redirect` the target URL for kRedirect.
  Decision on_outcome(Outcome outcome, Instant now, const Status& status = Status(),
                      const Url* redirect = nullptr);

  const std::vector<Transport>& candidates() const { return candidates_; }
  const std::vector<Attempt>& attempts() const { return attempts_; }
  // Names of the transports tried, in order ("mmsu", "mmst", ...).
  std::vector<std::string> attempt_names() const;
  bool media_started() const { return media_started_; }

 private:
  RolloverController() = default;
  Decision try_candidate(std::size_t index);
  Decision give_up(const Status& status);

  Url url_;
  std::vector<Transport> protocols_;  // the user's list (empty = default)
  std::vector<Transport> candidates_;
  std::size_t next_ = 0;  // index of the next candidate to try
  std::vector<Attempt> attempts_;
  Options options_;
  int redirects_ = 0;
  bool started_ = false;
  bool media_started_ = false;
  bool done_ = false;
  Instant started_at_;
  Status last_failure_;
};

// Whether the transport carries media over UDP (not through an HTTP proxy).
bool uses_udp(Transport t);

// The candidate list for a URL (exposed for tests and documentation).
Result<std::vector<Transport>> candidates_for(const Url& url,
                                              const std::vector<Transport>& protocols);

}  // namespace mms::session

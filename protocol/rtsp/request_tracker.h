// RTSP client request tracking and authentication: the CSeq counter, the
// requests sent and not yet answered (to route each response to what asked
// for it, and to resend one with credentials), and the 401 handling with
// Digest or Basic (RFC 2617 as RFC 2326 uses it).
//
// Pure bookkeeping: no I/O, no clock. Used by RtspClientSession only.
// Thread confinement: one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/auth/client_auth.h"
#include "protocol/core/status.h"
#include "protocol/rtsp/message_codec.h"

namespace mms::rtsp {

// Requests sent and not yet answered (keepalives, seeks): older ones are forgotten.
constexpr std::size_t kMaxOutstandingRequests = 16;
using auth::kMaxAuthRounds;

// What an outstanding request was, to route its response.
enum class Sent : std::uint8_t {
  kOptions,
  kDescribe,
  kSetupRtx,
  kSetup,
  kPlay,
  kKeepalive,
  kPause,
  kOther,
};

struct Outstanding {
  Sent what = Sent::kOther;
  std::size_t stream = 0;  // kSetup: index of the planned stream
  Request request;         // as sent, for a retry with credentials (CSeq, Authorization replaced)
};

using auth::Credentials;

// Answers the server's challenges (protocol/auth/client_auth.h). Once a
// challenge is taken, every later request carries credentials for it.
class Authenticator {
 public:
  // `client_guid` salts the Digest cnonce.
  explicit Authenticator(std::string_view client_guid = {}) : auth_(client_guid, true) {}

  // A 401 or 407 answer to a request. Ok: a Digest (preferred, when its
  // algorithm is one we compute) or Basic challenge was taken; resend the
  // request. Otherwise kNotAuthorized with the status as detail: 407 (RTSP
  // proxies are not supported), no user name, credentials sent already
  // (kMaxAuthRounds), an unparsable challenge, neither Digest nor Basic.
  Status on_challenge(const Response& resp, const Credentials& credentials);
  // Called once per request sent: the next Digest cnonce.
  void next_request() { auth_.next_request(); }
  // Sets Authorization on `req` for the challenge taken; nothing before one.
  void authorize(Request* req, const Credentials& credentials);
  // A redirect to another server: challenges and rounds start again.
  void reset() { auth_.reset(); }

  bool challenged() const { return auth_.challenged(); }
  bool basic() const { return auth_.basic(); }
  bool ntlm() const { return auth_.ntlm(); }

 private:
  auth::ClientAuth auth_;
};

// CSeq numbering and the outstanding requests.
class RequestTracker {
 public:
  explicit RequestTracker(std::string_view client_guid = {}) : auth_(client_guid) {}

  struct Stamped {
    std::uint32_t cseq = 0;
    std::string wire;  // the request as written
  };
  // Gives `req` the next CSeq (replacing any CSeq and Authorization it has),
  // adds credentials for the challenge taken, and remembers it (forgetting
  // the oldest beyond kMaxOutstandingRequests). A kPlay becomes the PLAY
  // whose answer counts.
  Stamped send(Request req, Sent what, std::size_t stream, const Credentials& credentials);
  // The request answered by a response with this CSeq, removed; nullopt for
  // an unknown (forgotten, already answered, never sent) CSeq.
  std::optional<Outstanding> take(std::uint32_t cseq);
  // Whether `cseq` is the last PLAY sent (older PLAYs were superseded).
  bool is_current_play(std::uint32_t cseq) const { return cseq == play_cseq_; }
  // A new connection: no answer to an earlier request can come.
  void forget_outstanding() { outstanding_.clear(); }

  std::uint32_t last_cseq() const { return cseq_; }
  std::size_t outstanding() const { return outstanding_.size(); }
  Authenticator& auth() { return auth_; }
  const Authenticator& auth() const { return auth_; }

 private:
  std::uint32_t cseq_ = 0;
  std::map<std::uint32_t, Outstanding> outstanding_;
  std::uint32_t play_cseq_ = 0;
  Authenticator auth_;
};

}  // namespace mms::rtsp

// Client-side HTTP authentication (RFC 2617, and NTLM / Negotiate as
// MS-NLMP and RFC 4559 put them in HTTP) for MMSH, RTSP and HTTP proxies:
// picks one of the challenges of a 401 / 407 answer (NTLM, then Negotiate
// with NTLM inside, when the session can hold a connection; else Digest when
// its algorithm is one we compute; else Basic) and gives later requests the
// credentials for it. Credentials are sent once: a challenge after they were
// sent means they were rejected.
//
// NTLM authenticates a connection, not a request, in two legs: the
// NEGOTIATE goes in a request, the server's 401 carries the CHALLENGE, and
// the AUTHENTICATE must go on that same connection (continuing()). A new
// connection starts the handshake again (new_connection()).
//
// Pure bookkeeping: no I/O. The NTLM client challenge derives from the salt
// (the client GUID) and a counter; the NTLM timestamp is the server's, else
// the system clock's. Thread confinement: one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/auth/http_auth.h"
#include "protocol/core/status.h"

namespace mms::auth {

struct Credentials {
  std::string user;  // "DOMAIN\user" gives NTLM its domain
  std::string password;
};

// Credentials are sent once; a second 401 fails.
constexpr int kMaxAuthRounds = 1;

class ClientAuth {
 public:
  // `salt` varies the Digest cnonce and the NTLM client challenge between
  // clients. `connection_auth`: the caller can keep a connection for the
  // second NTLM leg (NTLM and Negotiate are taken only then).
  explicit ClientAuth(std::string_view salt = {}, bool connection_auth = false);

  // A 401 (server) or 407 (proxy) answer with the values of its
  // WWW-Authenticate / Proxy-Authenticate headers. Ok: a challenge was taken
  // (or, in NTLM, the CHALLENGE answered); resend the request. Otherwise
  // kNotAuthorized with `status` as detail: no user name ("... requires
  // authentication"), credentials sent already ("... rejected the
  // credentials"), an unparsable challenge, no scheme we speak offered; a
  // bad NTLM CHALLENGE is its codec's error. Status 407 says "proxy".
  Status on_challenge(const std::vector<std::string_view>& challenges, int status,
                      const Credentials& credentials);
  // Called once per request sent: the next Digest cnonce.
  void next_request() { ++cnonce_counter_; }
  // The Authorization (or Proxy-Authorization) value for the next request
  // of (method, uri) under the challenge taken; "" before one was taken or
  // when the connection is authenticated already (NTLM). Taking an NTLM
  // leg's value moves the handshake on.
  std::string authorization(std::string_view method, std::string_view uri,
                            const Credentials& credentials);
  // The next request must go on the connection that carried the last
  // answer: the NTLM AUTHENTICATE is due.
  bool continuing() const { return leg_ == Leg::kAuthenticate; }
  // The request about to be sent starts an NTLM handshake: its connection
  // must stay open for the answer.
  bool wants_keep_alive() const { return leg_ == Leg::kNegotiate; }
  // The caller opens a new connection: an NTLM session starts over with a
  // NEGOTIATE on it.
  void new_connection();
  // Another server (a redirect): challenges and rounds start again.
  void reset();

  bool challenged() const { return challenge_.has_value() || scheme_ == Scheme::kNtlm; }
  bool basic() const { return scheme_ == Scheme::kBasic; }
  bool ntlm() const { return scheme_ == Scheme::kNtlm; }

 private:
  enum class Scheme : std::uint8_t { kNone, kBasic, kDigest, kNtlm };
  enum class Leg : std::uint8_t {
    kNone,            // not NTLM, or not started
    kNegotiate,       // the next request carries the NEGOTIATE
    kAwaitChallenge,  // NEGOTIATE sent: the 401 carries the CHALLENGE
    kAuthenticate,    // the next request (same connection) carries the AUTHENTICATE
    kDone,            // AUTHENTICATE sent: this connection is authenticated
  };
  Status answer_ntlm(const std::vector<AuthChallenge>& offered, const Credentials& credentials,
                     std::uint32_t detail);

  int rounds_ = 0;
  Scheme scheme_ = Scheme::kNone;
  std::optional<AuthChallenge> challenge_;  // Basic / Digest
  bool negotiate_ = false;                  // NTLM inside "Negotiate" (SPNEGO)
  Leg leg_ = Leg::kNone;
  std::string authenticate_;  // the AUTHENTICATE of kAuthenticate
  std::string salt_;
  bool connection_auth_ = false;
  std::uint32_t cnonce_counter_ = 0;
  std::uint32_t cnonce_salt_ = 0;
  std::uint32_t ntlm_counter_ = 0;
};

}  // namespace mms::auth

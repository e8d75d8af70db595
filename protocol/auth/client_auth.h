// Client-side HTTP authentication (RFC 2617 as MMSH, RTSP and HTTP proxies
// use it): picks one of the challenges of a 401 / 407 answer (Digest when
// its algorithm is one we compute, else Basic) and gives every later request
// the credentials for it. Credentials are sent once: a second challenge
// after they were sent means they were rejected.
//
// Pure bookkeeping: no I/O, no clock. Used by the MMSH and RTSP client
// sessions and the proxy tunnel. Thread confinement: one thread at a time.
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
  std::string user;
  std::string password;
};

// Credentials are sent once; a second 401 fails.
constexpr int kMaxAuthRounds = 1;

class ClientAuth {
 public:
  // `salt` varies the Digest cnonce between clients (only its length counts).
  explicit ClientAuth(std::string_view salt = {});

  // A 401 (server) or 407 (proxy) answer with the values of its
  // WWW-Authenticate / Proxy-Authenticate headers. Ok: a challenge was taken;
  // resend the request. Otherwise kNotAuthorized with `status` as detail: no
  // user name ("... requires authentication"), credentials sent already
  // ("... rejected the credentials"), an unparsable challenge, neither Digest
  // nor Basic offered. Status 407 says "proxy" in the messages.
  Status on_challenge(const std::vector<std::string_view>& challenges, int status,
                      const Credentials& credentials);
  // Called once per request sent: the next Digest cnonce.
  void next_request() { ++cnonce_counter_; }
  // The Authorization (or Proxy-Authorization) value for a request of
  // (method, uri) under the challenge taken; "" before one was taken.
  std::string authorization(std::string_view method, std::string_view uri,
                            const Credentials& credentials) const;
  // Another server (a redirect): challenges and rounds start again.
  void reset();

  bool challenged() const { return challenge_.has_value(); }
  bool basic() const { return basic_; }

 private:
  int rounds_ = 0;
  std::optional<AuthChallenge> challenge_;
  bool basic_ = false;
  std::uint32_t cnonce_counter_ = 0;
  std::uint32_t cnonce_salt_ = 0;
};

}  // namespace mms::auth

// Server-side HTTP authentication (RFC 2617 as MMSH and RTSP use it, NTLM
// and Negotiate as MS-NLMP and RFC 4559 put them in HTTP): the 401
// challenges a server sends (Negotiate, NTLM, Digest with the session's
// nonce, Basic) and the check of a request's Authorization against the
// configured account. NTLM takes two requests on one connection: the
// NEGOTIATE is answered with a 401 carrying the CHALLENGE (challenges()
// then gives that one value), the AUTHENTICATE passes or fails.
// Once a request passed, the session is authorized for good; wrong
// credentials are counted (the caller closes the connection after a few).
//
// Which schemes are offered is the server's choice (SchemeSet); the
// challenges are sent strongest first, as clients take the first they know.
//
// Pure: no I/O. The client side is client_auth.h. Thread confinement: one
// thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/auth/http_auth.h"

namespace mms::auth {

namespace ntlm {
class ServerContext;
}  // namespace ntlm

// The realm of the server's challenges.
constexpr const char* kRealm = "mms-server";

// Schemes a server offers, as bits.
enum Scheme : unsigned {
  kSchemeBasic = 1u << 0,
  kSchemeDigest = 1u << 1,
  kSchemeNtlm = 1u << 2,  // NTLM, also inside Negotiate (SPNEGO)
};
using SchemeSet = unsigned;
constexpr SchemeSet kDefaultSchemes = kSchemeBasic | kSchemeDigest;
// "basic", "digest", "ntlm" -> the bit; 0 for anything else (case-insensitive).
Scheme scheme_from_name(std::string_view name);

// A server's account: `user` empty means no authentication. The strings
// must outlive the ServerAuth objects made from it.
struct ServerAccount {
  std::string user;
  std::string password;
  SchemeSet schemes = kDefaultSchemes;
  // The Digest nonce of every session when non-empty (MMSH opens a
  // connection, hence a session, per request: its nonce must outlive one);
  // empty: each session makes its own.
  std::string nonce;
};

class ServerAuth {
 public:
  ServerAuth();
  ~ServerAuth();
  ServerAuth(ServerAuth&&) noexcept;
  ServerAuth& operator=(ServerAuth&&) noexcept;
  // `nonce`: this session's Digest nonce (account->nonce overrides it); `session_id` names the
  // session in logs, `log_domain` is the log domain of the server using it.
  ServerAuth(const ServerAccount* account, std::string nonce, std::string session_id,
             const char* log_domain);

  // Whether a request (`method`, its Authorization value or nullptr) may
  // proceed: no user configured, authorized before, or its credentials are
  // the account's Basic credentials, a Digest response for (kRealm, our
  // nonce, method) or an NTLM AUTHENTICATE answering our CHALLENGE, in an
  // offered scheme. Wrong credentials count as a failure; a request without
  // Authorization, or with an NTLM NEGOTIATE, does not.
  bool check(std::string_view method, const std::string* authorization);
  // The WWW-Authenticate values of the 401 for the request just refused:
  // the NTLM CHALLENGE after a NEGOTIATE, else one per offered scheme,
  // strongest first (Negotiate, NTLM, Digest, Basic).
  std::vector<std::string> challenges() const;
  // The 401 continues an NTLM handshake: the connection must stay open.
  bool continuing() const { return !continuation_.empty(); }

  bool enabled() const { return account_ != nullptr && !account_->user.empty(); }
  int failures() const { return failures_; }
  bool authorized() const { return authorized_; }
  const std::string& nonce() const { return nonce_; }

 private:
  bool check_ntlm(const AuthChallenge& c);

  const ServerAccount* account_ = nullptr;
  std::string nonce_;
  std::string session_id_;
  const char* log_domain_ = "server";
  int failures_ = 0;
  bool authorized_ = false;
  std::unique_ptr<ntlm::ServerContext> ntlm_;  // between NEGOTIATE and AUTHENTICATE
  std::string continuation_;                   // the 401's "NTLM <CHALLENGE>"
  std::uint32_t ntlm_rounds_ = 0;
};

}  // namespace mms::auth

// Server-side HTTP authentication (RFC 2617 as MMSH and RTSP use it): the
// 401 challenges a server sends (Digest with the session's nonce, Basic) and
// the check of a request's Authorization against the configured account.
// Once a request passed, the session is authorized for good; wrong
// credentials are counted (the caller closes the connection after a few).
//
// Which schemes are offered is the server's choice (SchemeSet); the
// challenges are sent strongest first, as clients take the first they know.
//
// Pure: no I/O. The client side is client_auth.h. Thread confinement: one
// thread at a time.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mms::auth {

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
  ServerAuth() = default;
  // `nonce`: this session's Digest nonce (account->nonce overrides it); `session_id` names the
  // session in logs, `log_domain` is the log domain of the server using it.
  ServerAuth(const ServerAccount* account, std::string nonce, std::string session_id,
             const char* log_domain);

  // Whether a request (`method`, its Authorization value or nullptr) may
  // proceed: no user configured, authorized before, or its credentials are
  // the account's Basic credentials or a Digest response for (kRealm, our
  // nonce, method), in an offered scheme. Wrong credentials count as a
  // failure; a request without Authorization does not.
  bool check(std::string_view method, const std::string* authorization);
  // The WWW-Authenticate values of a 401: one per offered scheme, Digest
  // before Basic.
  std::vector<std::string> challenges() const;

  bool enabled() const { return account_ != nullptr && !account_->user.empty(); }
  int failures() const { return failures_; }
  bool authorized() const { return authorized_; }
  const std::string& nonce() const { return nonce_; }

 private:
  const ServerAccount* account_ = nullptr;
  std::string nonce_;
  std::string session_id_;
  const char* log_domain_ = "server";
  int failures_ = 0;
  bool authorized_ = false;
};

}  // namespace mms::auth

#include "protocol/auth/server_auth.h"

#include <utility>

#include "protocol/auth/http_auth.h"
#include "protocol/core/log.h"
#include "protocol/core/text.h"

namespace mms::auth {

Scheme scheme_from_name(std::string_view name) {
  if (iequals(name, "basic")) {
    return kSchemeBasic;
  }
  if (iequals(name, "digest")) {
    return kSchemeDigest;
  }
  if (iequals(name, "ntlm")) {
    return kSchemeNtlm;
  }
  return Scheme{};
}

ServerAuth::ServerAuth(const ServerAccount* account, std::string nonce, std::string session_id,
                       const char* log_domain)
    : account_(account),
      nonce_(account != nullptr && !account->nonce.empty() ? account->nonce : std::move(nonce)),
      session_id_(std::move(session_id)),
      log_domain_(log_domain) {}

bool ServerAuth::check(std::string_view method, const std::string* authorization) {
  if (!enabled() || authorized_) {
    return true;
  }
  if (authorization == nullptr) {
    return false;
  }
  Result<std::vector<AuthChallenge>> creds = parse_auth(*authorization);
  if (!creds.ok() || creds->empty()) {
    return false;
  }
  const AuthChallenge& c = creds->front();
  bool ok = false;
  if (c.is("Basic") && (account_->schemes & kSchemeBasic) != 0) {
    std::string user;
    std::string password;
    ok = parse_basic_credentials(c, &user, &password) && user == account_->user &&
         password == account_->password;
  } else if (c.is("Digest") && (account_->schemes & kSchemeDigest) != 0) {
    const std::string* user = c.param("username");
    const std::string* realm = c.param("realm");
    const std::string* nonce = c.param("nonce");
    ok = user != nullptr && *user == account_->user && realm != nullptr && *realm == kRealm &&
         nonce != nullptr && *nonce == nonce_ && digest_verify(c, method, account_->password);
  }
  if (ok) {
    authorized_ = true;
  } else {
    ++failures_;
    MMS_LOG(LogLevel::kInfo, log_domain_, "session %s: wrong credentials (%.40s)",
            session_id_.c_str(), c.scheme.c_str());
  }
  return ok;
}

std::vector<std::string> ServerAuth::challenges() const {
  std::vector<std::string> out;
  if (!enabled()) {
    return out;
  }
  if ((account_->schemes & kSchemeDigest) != 0) {
    out.push_back(std::string("Digest realm=\"") + kRealm + "\", nonce=\"" + nonce_ + "\"");
  }
  if ((account_->schemes & kSchemeBasic) != 0) {
    out.push_back(std::string("Basic realm=\"") + kRealm + "\"");
  }
  return out;
}

}  // namespace mms::auth

#include "protocol/auth/server_auth.h"

#include <utility>

#include "protocol/auth/http_auth.h"
#include "protocol/auth/ntlm.h"
#include "protocol/auth/spnego.h"
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

namespace {
// The NetBIOS domain our NTLM CHALLENGE names.
constexpr const char* kNtlmTarget = "MMS-SERVER";

}  // namespace

ServerAuth::ServerAuth() = default;
ServerAuth::~ServerAuth() = default;
ServerAuth::ServerAuth(ServerAuth&&) noexcept = default;
ServerAuth& ServerAuth::operator=(ServerAuth&&) noexcept = default;

ServerAuth::ServerAuth(const ServerAccount* account, std::string nonce, std::string session_id,
                       const char* log_domain)
    : account_(account),
      nonce_(std::move(nonce)),
      session_id_(std::move(session_id)),
      log_domain_(log_domain) {
  if (account_ != nullptr && !account_->nonce.empty()) {
    nonce_ = account_->nonce;
  }
}

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
  continuation_.clear();
  bool ok = false;
  if ((c.is("NTLM") || c.is("Negotiate")) && (account_->schemes & kSchemeNtlm) != 0) {
    if (check_ntlm(c)) {
      authorized_ = true;
      return true;
    }
    return false;
  }
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

bool ServerAuth::check_ntlm(const AuthChallenge& c) {
  std::string token;
  if (c.token68.empty() || !base64_decode(c.token68, &token)) {
    ++failures_;
    ntlm_.reset();
    MMS_LOG(LogLevel::kInfo, log_domain_, "session %s: unusable %s token", session_id_.c_str(),
            c.is("NTLM") ? "NTLM" : "Negotiate");
    return false;
  }
  const bool negotiate = c.is("Negotiate");
  if (negotiate) {
    Result<std::string> inner = spnego::unwrap(ByteView::of(token));
    if (!inner.ok()) {
      ++failures_;
      ntlm_.reset();
      MMS_LOG(LogLevel::kInfo, log_domain_, "session %s: Negotiate: %s", session_id_.c_str(),
              inner.status().what());
      return false;
    }
    token = std::move(*inner);
  }
  const std::uint32_t type = ntlm::message_type(ByteView::of(token));
  if (type == 1) {
    // NEGOTIATE: answer with a CHALLENGE; the server challenge derives from
    // this session's nonce and id (each session has its own).
    const ntlm::Nonce8 server_challenge =
        ntlm::nonce_from(nonce_ + ":" + session_id_ + ":" + std::to_string(++ntlm_rounds_));
    ntlm_ = std::make_unique<ntlm::ServerContext>(account_->user, account_->password, kNtlmTarget,
                                                  server_challenge, ntlm::filetime_now());
    Result<std::string> challenge = ntlm_->challenge(ByteView::of(token));
    if (!challenge.ok()) {
      ++failures_;
      ntlm_.reset();
      MMS_LOG(LogLevel::kInfo, log_domain_, "session %s: NTLM NEGOTIATE: %s", session_id_.c_str(),
              challenge.status().what());
      return false;
    }
    continuation_ =
        negotiate
            ? "Negotiate " + base64_encode(spnego::wrap_response(ByteView::of(*challenge), false))
            : "NTLM " + base64_encode(*challenge);
    return false;
  }
  if (type == 3 && ntlm_ != nullptr) {
    const Status verified = ntlm_->verify(ByteView::of(token));
    const std::string user = ntlm_->user();
    const bool v1 = ntlm_->used_v1();
    ntlm_.reset();
    if (verified.ok()) {
      MMS_LOG(LogLevel::kDebug, log_domain_, "session %s: NTLM%s user %.80s authenticated",
              session_id_.c_str(), v1 ? "v1" : "v2", user.c_str());
      return true;
    }
    ++failures_;
    MMS_LOG(LogLevel::kInfo, log_domain_, "session %s: NTLM: %s", session_id_.c_str(),
            verified.what());
    return false;
  }
  ++failures_;
  ntlm_.reset();
  MMS_LOG(LogLevel::kInfo, log_domain_, "session %s: unexpected NTLM message (type %u)",
          session_id_.c_str(), type);
  return false;
}

std::vector<std::string> ServerAuth::challenges() const {
  std::vector<std::string> out;
  if (!enabled()) {
    return out;
  }
  if (!continuation_.empty()) {
    out.push_back(continuation_);
    return out;
  }
  if ((account_->schemes & kSchemeNtlm) != 0) {
    out.emplace_back("Negotiate");
    out.emplace_back("NTLM");
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

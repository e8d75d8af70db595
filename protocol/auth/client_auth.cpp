#include "protocol/auth/client_auth.h"

#include <cstdio>

#include "protocol/core/limits.h"

namespace mms::auth {

ClientAuth::ClientAuth(std::string_view salt)
    : cnonce_salt_(static_cast<unsigned>(salt.size() * 2654435761u)) {}

namespace {
// The messages of a refusal by the server (401) or a proxy (407).
struct Refusals {
  const char* requires_auth;
  const char* rejected;
  const char* unusable;
  const char* none_known;
};
constexpr Refusals kServer = {
    "server requires authentication",
    "server rejected the credentials",
    "server sent an unusable authentication challenge",
    "server offers no Digest or Basic authentication",
};
constexpr Refusals kProxy = {
    "proxy requires authentication",
    "proxy rejected the credentials",
    "proxy sent an unusable authentication challenge",
    "proxy offers no Digest or Basic authentication",
};
}  // namespace

Status ClientAuth::on_challenge(const std::vector<std::string_view>& challenges, int status,
                                const Credentials& credentials) {
  const auto detail = static_cast<std::uint32_t>(status);
  const Refusals& why = status == 407 ? kProxy : kServer;
  if (credentials.user.empty()) {
    return Status(Code::kNotAuthorized, why.requires_auth, detail);
  }
  if (rounds_ >= kMaxAuthRounds) {
    return Status(Code::kNotAuthorized, why.rejected, detail);
  }
  std::vector<AuthChallenge> offered;
  for (std::string_view value : challenges) {
    Result<std::vector<AuthChallenge>> parsed = parse_auth(value);
    if (!parsed.ok()) {
      return Status(Code::kNotAuthorized, why.unusable, detail);
    }
    for (AuthChallenge& c : *parsed) {
      if (offered.size() < limits::kMaxAuthChallenges) {
        offered.push_back(std::move(c));
      }
    }
  }
  const AuthChallenge* digest = nullptr;
  const AuthChallenge* basic = nullptr;
  for (const AuthChallenge& c : offered) {
    if (c.is("Digest") && digest == nullptr) {
      // Only a Digest whose algorithm and qop we can answer.
      if (digest_authorization(c, credentials.user, credentials.password, "GET", "/", "0").ok()) {
        digest = &c;
      }
    } else if (c.is("Basic") && basic == nullptr) {
      basic = &c;
    }
  }
  if (digest == nullptr && basic == nullptr) {
    return Status(Code::kNotAuthorized, why.none_known, detail);
  }
  ++rounds_;
  challenge_ = digest != nullptr ? *digest : *basic;
  basic_ = digest == nullptr;
  return Status();
}

std::string ClientAuth::authorization(std::string_view method, std::string_view uri,
                                      const Credentials& credentials) const {
  if (!challenge_) {
    return std::string();
  }
  if (basic_) {
    return basic_authorization(credentials.user, credentials.password);
  }
  char cnonce[32];
  std::snprintf(cnonce, sizeof cnonce, "%08x%08x", cnonce_counter_, cnonce_salt_);
  Result<std::string> v = digest_authorization(*challenge_, credentials.user, credentials.password,
                                               method, uri, cnonce);
  return v.ok() ? *v : std::string();
}

void ClientAuth::reset() {
  rounds_ = 0;
  challenge_.reset();
  basic_ = false;
}

}  // namespace mms::auth

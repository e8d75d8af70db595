#include "protocol/auth/client_auth.h"

#include <cstdio>
#include <utility>

#include "protocol/auth/ntlm.h"
#include "protocol/auth/spnego.h"
#include "protocol/core/limits.h"
#include "protocol/core/text.h"

namespace mms::auth {

namespace {
// The messages of a refusal by the server (401) or a proxy (407).
struct Refusals {
  const char* requires_auth;
  const char* rejected;
  const char* unusable;
  const char* none_known;
  const char* bad_ntlm;
};
constexpr Refusals kServer = {
    "server requires authentication",
    "server rejected the credentials",
    "server sent an unusable authentication challenge",
    "server offers no authentication scheme we speak",
    "server sent an unusable NTLM challenge",
};
constexpr Refusals kProxy = {
    "proxy requires authentication",
    "proxy rejected the credentials",
    "proxy sent an unusable authentication challenge",
    "proxy offers no authentication scheme we speak",
    "proxy sent an unusable NTLM challenge",
};

// NTLM credentials; the workstation names this client.
ntlm::Credentials ntlm_credentials(const Credentials& c) {
  ntlm::Credentials out = ntlm::credentials_for(c.user, c.password);
  out.workstation = "MMSSRC";
  return out;
}
}  // namespace

ClientAuth::ClientAuth(std::string_view salt, bool connection_auth)
    : salt_(salt),
      connection_auth_(connection_auth),
      cnonce_salt_(static_cast<unsigned>(salt.size() * 2654435761u)) {}

Status ClientAuth::on_challenge(const std::vector<std::string_view>& challenges, int status,
                                const Credentials& credentials) {
  const auto detail = static_cast<std::uint32_t>(status);
  const Refusals& why = status == 407 ? kProxy : kServer;
  if (credentials.user.empty()) {
    return Status(Code::kNotAuthorized, why.requires_auth, detail);
  }
  std::vector<AuthChallenge> offered;
  for (std::string_view value : challenges) {
    Result<std::vector<AuthChallenge>> parsed = parse_auth(value);
    if (!parsed.ok()) {
      if (leg_ == Leg::kAwaitChallenge) {
        leg_ = Leg::kDone;  // the handshake cannot go on
      }
      return Status(Code::kNotAuthorized, why.unusable, detail);
    }
    for (AuthChallenge& c : *parsed) {
      if (offered.size() < limits::kMaxAuthChallenges) {
        offered.push_back(std::move(c));
      }
    }
  }
  if (leg_ == Leg::kAwaitChallenge) {
    // The second NTLM leg: the CHALLENGE is in the 401.
    return answer_ntlm(offered, credentials, detail);
  }
  if (rounds_ >= kMaxAuthRounds || leg_ == Leg::kDone) {
    return Status(Code::kNotAuthorized, why.rejected, detail);
  }
  const AuthChallenge* ntlm = nullptr;
  const AuthChallenge* negotiate = nullptr;
  const AuthChallenge* digest = nullptr;
  const AuthChallenge* basic = nullptr;
  for (const AuthChallenge& c : offered) {
    if (c.is("NTLM") && ntlm == nullptr) {
      ntlm = &c;
    } else if (c.is("Negotiate") && negotiate == nullptr) {
      negotiate = &c;
    } else if (c.is("Digest") && digest == nullptr) {
      // Only a Digest whose algorithm and qop we can answer.
      if (digest_authorization(c, credentials.user, credentials.password, "GET", "/", "0").ok()) {
        digest = &c;
      }
    } else if (c.is("Basic") && basic == nullptr) {
      basic = &c;
    }
  }
  ++rounds_;
  if (connection_auth_ && (ntlm != nullptr || negotiate != nullptr)) {
    scheme_ = Scheme::kNtlm;
    negotiate_ = ntlm == nullptr;
    leg_ = Leg::kNegotiate;
    challenge_.reset();
    return Status();
  }
  if (digest == nullptr && basic == nullptr) {
    --rounds_;
    return Status(Code::kNotAuthorized, why.none_known, detail);
  }
  challenge_ = digest != nullptr ? *digest : *basic;
  scheme_ = digest != nullptr ? Scheme::kDigest : Scheme::kBasic;
  return Status();
}

Status ClientAuth::answer_ntlm(const std::vector<AuthChallenge>& offered,
                               const Credentials& credentials, std::uint32_t detail) {
  const Refusals& why = detail == 407 ? kProxy : kServer;
  const char* scheme = negotiate_ ? "Negotiate" : "NTLM";
  const AuthChallenge* answer = nullptr;
  for (const AuthChallenge& c : offered) {
    if (c.is(scheme) && !c.token68.empty()) {
      answer = &c;
      break;
    }
  }
  if (answer == nullptr) {
    // No CHALLENGE: the server refused our NEGOTIATE (or the user).
    leg_ = Leg::kDone;
    return Status(Code::kNotAuthorized, why.rejected, detail);
  }
  std::string token;
  if (!base64_decode(answer->token68, &token)) {
    leg_ = Leg::kDone;
    return Status(Code::kNotAuthorized, why.bad_ntlm, detail);
  }
  if (negotiate_) {
    Result<std::string> inner = spnego::unwrap(ByteView::of(token));
    if (!inner.ok()) {
      leg_ = Leg::kDone;
      return inner.status();
    }
    token = std::move(*inner);
  }
  // The client challenge: from the salt (the random client GUID) and a counter.
  const ntlm::Nonce8 client_challenge =
      ntlm::nonce_from(salt_ + ":" + std::to_string(++ntlm_counter_));
  ntlm::ClientContext ctx(ntlm_credentials(credentials), client_challenge, ntlm::filetime_now());
  Result<std::string> authenticate = ctx.authenticate(ByteView::of(token));
  if (!authenticate.ok()) {
    leg_ = Leg::kDone;
    return authenticate.status();
  }
  if (negotiate_) {
    Result<std::string> wrapped = spnego::wrap_response_client(ByteView::of(*authenticate));
    if (!wrapped.ok()) {
      leg_ = Leg::kDone;
      return wrapped.status();
    }
    authenticate_ = std::move(*wrapped);
  } else {
    authenticate_ = std::move(*authenticate);
  }
  leg_ = Leg::kAuthenticate;
  return Status();
}

std::string ClientAuth::authorization(std::string_view method, std::string_view uri,
                                      const Credentials& credentials) {
  if (scheme_ == Scheme::kNtlm) {
    const std::string prefix = negotiate_ ? "Negotiate " : "NTLM ";
    if (leg_ == Leg::kNegotiate) {
      ntlm::ClientContext ctx(ntlm_credentials(credentials), ntlm::Nonce8{}, 0);
      std::string type1 = ctx.negotiate();
      if (negotiate_) {
        Result<std::string> wrapped = spnego::wrap_init(ByteView::of(type1));
        type1 = wrapped.ok() ? std::move(*wrapped) : std::string();
      }
      leg_ = Leg::kAwaitChallenge;
      return prefix + base64_encode(type1);
    }
    if (leg_ == Leg::kAuthenticate) {
      leg_ = Leg::kDone;
      return prefix + base64_encode(authenticate_);
    }
    return std::string();
  }
  if (!challenge_) {
    return std::string();
  }
  if (scheme_ == Scheme::kBasic) {
    return basic_authorization(credentials.user, credentials.password);
  }
  char cnonce[32];
  std::snprintf(cnonce, sizeof cnonce, "%08x%08x", cnonce_counter_, cnonce_salt_);
  Result<std::string> v = digest_authorization(*challenge_, credentials.user, credentials.password,
                                               method, uri, cnonce);
  return v.ok() ? *v : std::string();
}

void ClientAuth::new_connection() {
  if (scheme_ == Scheme::kNtlm && leg_ == Leg::kDone) {
    leg_ = Leg::kNegotiate;  // authenticated before: the new connection starts over
  }
}

void ClientAuth::reset() {
  rounds_ = 0;
  scheme_ = Scheme::kNone;
  challenge_.reset();
  negotiate_ = false;
  leg_ = Leg::kNone;
  authenticate_.clear();
}

}  // namespace mms::auth

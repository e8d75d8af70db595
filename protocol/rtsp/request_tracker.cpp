#include "protocol/rtsp/request_tracker.h"

#include <cstdio>
#include <utility>
#include <vector>

namespace mms::rtsp {

Authenticator::Authenticator(std::string_view client_guid)
    : cnonce_salt_(static_cast<unsigned>(client_guid.size() * 2654435761u)) {}

Status Authenticator::on_challenge(const Response& resp, const Credentials& credentials,
                                   std::string_view probe_uri) {
  if (resp.status == 407) {
    return Status(Code::kNotAuthorized, "RTSP proxy authentication is not supported", 407);
  }
  if (credentials.user.empty()) {
    return Status(Code::kNotAuthorized, "server requires authentication", 401);
  }
  if (rounds_ >= kMaxAuthRounds) {
    return Status(Code::kNotAuthorized, "server rejected the credentials", 401);
  }
  Result<std::vector<AuthChallenge>> challenges = parse_www_authenticate(resp.headers);
  if (!challenges.ok()) {
    return Status(Code::kNotAuthorized, "server sent an unusable authentication challenge", 401);
  }
  const AuthChallenge* digest = nullptr;
  const AuthChallenge* basic = nullptr;
  for (const AuthChallenge& c : *challenges) {
    if (c.is("Digest") && digest == nullptr) {
      digest = &c;
    } else if (c.is("Basic") && basic == nullptr) {
      basic = &c;
    }
  }
  if (digest != nullptr) {
    Result<std::string> probe = digest_authorization(
        *digest, credentials.user, credentials.password, "DESCRIBE", probe_uri, "0");
    if (!probe.ok()) {
      digest = nullptr;  // an algorithm we cannot do: Basic if offered
    }
  }
  if (digest == nullptr && basic == nullptr) {
    return Status(Code::kNotAuthorized, "server offers no Digest or Basic authentication", 401);
  }
  ++rounds_;
  challenge_ = digest != nullptr ? *digest : *basic;
  basic_ = digest == nullptr;
  return Status();
}

void Authenticator::authorize(Request* req, const Credentials& credentials) const {
  if (!challenge_) {
    return;
  }
  if (basic_) {
    req->headers.set("Authorization", basic_authorization(credentials.user, credentials.password));
    return;
  }
  char cnonce[32];
  std::snprintf(cnonce, sizeof cnonce, "%08x%08x", cnonce_counter_, cnonce_salt_);
  Result<std::string> v = digest_authorization(*challenge_, credentials.user, credentials.password,
                                               req->method, req->uri, cnonce);
  if (v.ok()) {
    req->headers.set("Authorization", *v);
  }
}

void Authenticator::reset() {
  rounds_ = 0;
  challenge_.reset();
}

RequestTracker::Stamped RequestTracker::send(Request req, Sent what, std::size_t stream,
                                             const Credentials& credentials) {
  req.headers.remove("CSeq");
  req.headers.remove("Authorization");
  Stamped out;
  out.cseq = ++cseq_;
  req.headers.add("CSeq", std::to_string(out.cseq));
  auth_.next_request();
  auth_.authorize(&req, credentials);
  out.wire = write_request(req);
  if (outstanding_.size() >= kMaxOutstandingRequests) {
    outstanding_.erase(outstanding_.begin());
  }
  Outstanding o;
  o.what = what;
  o.stream = stream;
  o.request = std::move(req);
  outstanding_[out.cseq] = std::move(o);
  if (what == Sent::kPlay) {
    play_cseq_ = out.cseq;
  }
  return out;
}

std::optional<Outstanding> RequestTracker::take(std::uint32_t cseq) {
  auto it = outstanding_.find(cseq);
  if (it == outstanding_.end()) {
    return std::nullopt;
  }
  Outstanding o = std::move(it->second);
  outstanding_.erase(it);
  return o;
}

}  // namespace mms::rtsp

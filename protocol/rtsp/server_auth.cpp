#include "protocol/rtsp/server_auth.h"

#include <utility>
#include <vector>

#include "protocol/core/log.h"

namespace mms::rtsp {
namespace {
constexpr const char* kLog = "rtsp-server";
}  // namespace

ServerAuth::ServerAuth(std::string_view user, std::string_view password, std::string nonce,
                       std::string session_id)
    : user_(user),
      password_(password),
      nonce_(std::move(nonce)),
      session_id_(std::move(session_id)) {}

bool ServerAuth::check(const Request& req) {
  if (user_.empty() || authorized_) {
    return true;
  }
  const std::string* a = req.headers.find("Authorization");
  if (a == nullptr) {
    return false;
  }
  Result<std::vector<AuthChallenge>> creds = parse_auth(*a);
  if (!creds.ok() || creds->empty()) {
    return false;
  }
  const AuthChallenge& c = creds->front();
  bool ok = false;
  if (c.is("Basic")) {
    std::string user;
    std::string password;
    ok = parse_basic_credentials(c, &user, &password) && user == user_ && password == password_;
  } else if (c.is("Digest")) {
    const std::string* user = c.param("username");
    const std::string* realm = c.param("realm");
    const std::string* nonce = c.param("nonce");
    ok = user != nullptr && *user == user_ && realm != nullptr && *realm == kRtspRealm &&
         nonce != nullptr && *nonce == nonce_ && digest_verify(c, req.method, password_);
  }
  if (ok) {
    authorized_ = true;
  } else {
    ++failures_;
    MMS_LOG(LogLevel::kInfo, kLog, "session %s: wrong credentials (%s)", session_id_.c_str(),
            c.scheme.c_str());
  }
  return ok;
}

void ServerAuth::challenge(Response* resp) const {
  resp->status = 401;
  resp->headers.add("WWW-Authenticate",
                    std::string("Digest realm=\"") + kRtspRealm + "\", nonce=\"" + nonce_ + "\"");
  resp->headers.add("WWW-Authenticate", std::string("Basic realm=\"") + kRtspRealm + "\"");
}

}  // namespace mms::rtsp

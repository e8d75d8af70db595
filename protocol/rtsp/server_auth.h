// RTSP server authentication (RFC 2617 as RFC 2326 uses it): the 401
// challenges a server sends (Digest with the session's nonce, then Basic) and
// the check of a request's Authorization against the configured user. Once a
// request passed, the session is authorized for good; wrong credentials are
// counted (kRtspMaxAuthFailures closes the connection, server_session.h).
//
// Pure: no I/O. Used by rtsp::ServerSession; the client side is
// request_tracker.h's Authenticator. Thread confinement: one thread at a time.
#pragma once

#include <string>
#include <string_view>

#include "protocol/rtsp/message_codec.h"

namespace mms::rtsp {

// The realm of the server's challenges.
constexpr const char* kRtspRealm = "mms-server";

class ServerAuth {
 public:
  ServerAuth() = default;
  // `user` empty: no authentication. The views must outlive this object
  // (they point into the server's configuration). `nonce`: this session's
  // Digest nonce; `session_id` names the session in logs.
  ServerAuth(std::string_view user, std::string_view password, std::string nonce,
             std::string session_id);

  // Whether `req` may proceed: no user configured, authorized before, or its
  // Authorization holds the user's Basic credentials or a Digest response for
  // (realm kRtspRealm, our nonce, req.method). Wrong credentials count as a
  // failure; a request without Authorization does not.
  bool check(const Request& req);
  // Makes `resp` a 401 with both challenges.
  void challenge(Response* resp) const;

  int failures() const { return failures_; }
  bool authorized() const { return authorized_; }
  const std::string& nonce() const { return nonce_; }

 private:
  std::string_view user_;
  std::string_view password_;
  std::string nonce_;
  std::string session_id_;
  int failures_ = 0;
  bool authorized_ = false;
};

}  // namespace mms::rtsp

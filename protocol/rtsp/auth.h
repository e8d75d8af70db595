// RTSP authentication (RFC 2617 as RFC 2326 uses it): the role-neutral codec
// of protocol/auth/http_auth.h under the RTSP namespace, and the challenges of
// a response's WWW-Authenticate headers.
#pragma once

#include <vector>

#include "protocol/auth/http_auth.h"
#include "protocol/core/status.h"

namespace mms::rtsp {

struct Headers;  // message_codec.h

using auth::AuthChallenge;
using auth::AuthParam;
using auth::basic_authorization;
using auth::digest_authorization;
using auth::digest_response;
using auth::digest_verify;
using auth::DigestInput;
using auth::parse_auth;
using auth::parse_basic_credentials;

Result<std::vector<AuthChallenge>> parse_www_authenticate(const Headers& headers);

}  // namespace mms::rtsp

// HTTP authentication (RFC 2617) as MMSH and RTSP use it, role-neutral:
// WWW-Authenticate / Authorization values, Basic credentials, Digest
// responses (MD5, MD5-sess, qop auth) for the client and their check for the
// server. Pure: no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "protocol/core/status.h"

namespace mms::auth {

struct AuthParam {
  std::string name;   // lower-cased
  std::string value;  // unquoted
};
// One challenge of WWW-Authenticate, or the credentials of Authorization.
struct AuthChallenge {
  std::string scheme;  // as sent; compare with iequals
  std::vector<AuthParam> params;
  std::string token68;  // Basic credentials / NTLM token (no params)
  const std::string* param(std::string_view name) const;
  bool is(std::string_view scheme_name) const;  // case-insensitive scheme compare
};
// Parses a WWW-Authenticate (or Authorization) value holding one or more
// challenges ("Basic realm=\"x\", Digest realm=\"y\", nonce=\"z\""). At most
// kMaxAuthChallenges challenges with kMaxAuthParams params each
// (kLimitExceeded); an unterminated quote is kMalformed.
Result<std::vector<AuthChallenge>> parse_auth(std::string_view value);
// Every challenge of every WWW-Authenticate header.

// "Basic <base64(user:password)>".
std::string basic_authorization(std::string_view user, std::string_view password);
// Splits Basic credentials; false if not Basic or not base64 of "user:password".
bool parse_basic_credentials(const AuthChallenge& credentials, std::string* user,
                             std::string* password);

// Digest (RFC 2617 3.2.2): the response hash for one request. `qop` "" for
// the RFC 2069 form, else "auth" with `nc` (8 hex digits) and `cnonce`.
// `algorithm` "" or "MD5" or "MD5-sess" (case-insensitive).
struct DigestInput {
  std::string user, password, realm, nonce, method, uri;
  std::string algorithm;
  std::string qop;
  std::string nc = "00000001";
  std::string cnonce;
};
std::string digest_response(const DigestInput& in);
// The Authorization value answering a Digest challenge for (method, uri):
// picks qop "auth" when offered (with `cnonce`, nc 00000001), echoes opaque
// and algorithm. kUnsupported for other algorithms or an auth-int-only qop,
// kMalformed without realm or nonce.
Result<std::string> digest_authorization(const AuthChallenge& challenge, std::string_view user,
                                         std::string_view password, std::string_view method,
                                         std::string_view uri, std::string_view cnonce);
// Server side: whether Digest credentials answer (method, password) correctly
// for the realm/nonce they carry; the caller checks those against its own.
bool digest_verify(const AuthChallenge& credentials, std::string_view method,
                   std::string_view password);

}  // namespace mms::auth

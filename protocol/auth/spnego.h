// SPNEGO (RFC 4178) as HTTP "Negotiate" (RFC 4559) carries NTLM: just enough
// DER to wrap an NTLMSSP token in a NegTokenInit / NegTokenResp and to find
// the NTLMSSP token inside one. Pure: no I/O.
//
// Decoding is bounded: every length must fit the bytes that remain, lengths
// are short form or long form of at most 4 bytes (no indefinite form), tags
// are single-byte, the walk follows the fixed shape of the two tokens (no
// recursion: nesting never goes deeper than the six levels of a NegTokenInit's
// mechType OID), and a token is at most kMaxToken bytes (kLimitExceeded).
#pragma once

#include <cstddef>
#include <string>

#include "protocol/auth/ntlm.h"
#include "protocol/core/bytes.h"
#include "protocol/core/status.h"

namespace mms::auth::spnego {

// An NTLM message plus its DER wrapping (< 64 bytes).
constexpr std::size_t kMaxToken = ntlm::kMaxMessage + 256;

// GSS InitialContextToken: [APPLICATION 0] { OID 1.3.6.1.5.5.2,
// [0] NegTokenInit { [0] mechTypes { NTLMSSP 1.3.6.1.4.1.311.2.2.10 },
// [2] mechToken } }. kLimitExceeded for an NTLM token over ntlm::kMaxMessage.
Result<std::string> wrap_init(ByteView ntlm);
// [1] NegTokenResp { [0] negState (accept-incomplete 1 / accept-completed 0),
// [1] supportedMech NTLMSSP (when incomplete), [2] responseToken (when
// `ntlm` is not empty) }: the server's answers.
std::string wrap_response(ByteView ntlm, bool accept_completed);
// The client's NegTokenResp carrying the AUTHENTICATE: [2] responseToken only.
Result<std::string> wrap_response_client(ByteView ntlm);

// The NTLMSSP token inside a NegTokenInit (with or without the GSS framing)
// or a NegTokenResp (empty when the response carries no responseToken, as a
// final accept-completed may). A raw NTLMSSP token (what Windows sends in
// "Negotiate" headers when SPNEGO falls back) is returned as is.
// kUnsupported when the init does not offer NTLMSSP, or its mechToken is not
// an NTLMSSP token (an optimistic token for another mechanism), or the
// response selects another mechanism or is a reject; kMalformed for bad DER
// or trailing bytes after the token.
Result<std::string> unwrap(ByteView token);

}  // namespace mms::auth::spnego

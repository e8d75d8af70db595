// NTLM (MS-NLMP) as HTTP "NTLM"/"Negotiate" authentication uses it,
// role-neutral: the client builds NEGOTIATE_MESSAGE and answers a
// CHALLENGE_MESSAGE with an AUTHENTICATE_MESSAGE (NTLMv2, or NTLMv1 for old
// servers whose challenge has no TargetInfo); the server builds the
// CHALLENGE_MESSAGE and checks the AUTHENTICATE_MESSAGE against one
// configured user.
//
// A pure codec: no I/O, no clock, no randomness. The caller supplies the
// 8-byte challenges and the FILETIME (100 ns units since 1601-01-01 UTC).
// Crypto (MD4, MD5, HMAC-MD5, DES) is nettle's. No session security: no
// signing or sealing keys, no key exchange, no MIC sent or required.
//
// Every peer message is at most kMaxMessage bytes (kLimitExceeded); every
// offset/length field must lie inside the message, UTF-16 fields have even
// lengths, the AV_PAIR walk is bounded by the field and kMaxAvPairs and ends
// at MsvAvEOL (kMalformed otherwise).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/core/bytes.h"
#include "protocol/core/status.h"

namespace mms::auth::ntlm {

using Nonce8 = std::array<std::uint8_t, 8>;
using Hash16 = std::array<std::uint8_t, 16>;
using Response24 = std::array<std::uint8_t, 24>;

// Real messages are a few hundred bytes (the TargetInfo of a domain member
// with DNS names is ~200); 8 KiB bounds what a peer can make us parse.
constexpr std::size_t kMaxMessage = 8192;
// AV_PAIRs in one TargetInfo: Windows sends < 12.
constexpr std::size_t kMaxAvPairs = 64;

// NegotiateFlags (MS-NLMP 2.2.2.5), the ones this codec reads or writes.
namespace flags {
constexpr std::uint32_t kUnicode = 0x00000001;
constexpr std::uint32_t kOem = 0x00000002;
constexpr std::uint32_t kRequestTarget = 0x00000004;
constexpr std::uint32_t kSign = 0x00000010;
constexpr std::uint32_t kSeal = 0x00000020;
constexpr std::uint32_t kLmKey = 0x00000080;
constexpr std::uint32_t kNtlm = 0x00000200;
constexpr std::uint32_t kAnonymous = 0x00000800;
constexpr std::uint32_t kAlwaysSign = 0x00008000;
constexpr std::uint32_t kTargetTypeDomain = 0x00010000;
constexpr std::uint32_t kTargetTypeServer = 0x00020000;
constexpr std::uint32_t kExtendedSessionSecurity = 0x00080000;
constexpr std::uint32_t kTargetInfo = 0x00800000;
constexpr std::uint32_t kVersion = 0x02000000;
constexpr std::uint32_t k128 = 0x20000000;
constexpr std::uint32_t kKeyExchange = 0x40000000;
constexpr std::uint32_t k56 = 0x80000000;
}  // namespace flags

// AV_PAIR ids (MS-NLMP 2.2.2.1).
namespace av {
constexpr std::uint16_t kEol = 0;
constexpr std::uint16_t kNbComputerName = 1;
constexpr std::uint16_t kNbDomainName = 2;
constexpr std::uint16_t kDnsComputerName = 3;
constexpr std::uint16_t kDnsDomainName = 4;
constexpr std::uint16_t kFlags = 6;
constexpr std::uint16_t kTimestamp = 7;
}  // namespace av

struct Credentials {
  std::string user, password, domain, workstation;  // UTF-8
};

// ClientContext::Options (declared outside the class so that it can be a
// default argument of the constructor).
struct ClientOptions {
  // NTLMv1 only when the CHALLENGE carries no TargetInfo (old servers);
  // otherwise NTLMv2.
  bool allow_v1 = true;
};

class ClientContext {
 public:
  using Options = ClientOptions;
  ClientContext(Credentials creds, Nonce8 client_challenge, std::uint64_t filetime,
                Options options = {});
  // NEGOTIATE_MESSAGE bytes: Unicode, RequestTarget, NTLM, AlwaysSign,
  // ExtendedSessionSecurity, 128 and 56; no domain, workstation or version.
  std::string negotiate() const;
  // Parses a CHALLENGE_MESSAGE and returns the AUTHENTICATE_MESSAGE bytes.
  // kMalformed (with what is wrong) for a bad challenge, kLimitExceeded for
  // one over kMaxMessage, kUnsupported when v1 would be needed but
  // !allow_v1. Strings are UTF-16LE when the challenge offers Unicode, else
  // sent as they are (OEM).
  Result<std::string> authenticate(ByteView challenge);
  bool used_v1() const { return used_v1_; }

 private:
  Credentials creds_;
  Nonce8 client_challenge_;
  std::uint64_t filetime_;
  Options options_;
  bool used_v1_ = false;
};

class ServerContext {
 public:
  // `target` is the NetBIOS domain name the server announces (TargetName, and
  // in TargetInfo as MsvAvNbDomainName and MsvAvNbComputerName, with
  // MsvAvTimestamp = filetime and MsvAvEOL).
  ServerContext(std::string user, std::string password, std::string target, Nonce8 server_challenge,
                std::uint64_t filetime, bool accept_v1 = true);
  // CHALLENGE_MESSAGE bytes answering a NEGOTIATE_MESSAGE; kMalformed for a
  // bad one (kLimitExceeded over kMaxMessage).
  Result<std::string> challenge(ByteView negotiate);
  // Ok when the AUTHENTICATE answers our challenge with the configured user
  // (case-insensitive, any domain) and password, by NTLMv2 (NTProofStr) or,
  // if accept_v1, NTLMv1 (with or without extended session security);
  // kNotAuthorized "wrong NTLM credentials" otherwise (an anonymous answer
  // too); kMalformed for a bad message; kLocalMisuse when challenge() was not
  // called. One challenge answers one verify(): a second one is kLocalMisuse.
  Status verify(ByteView authenticate);
  // The user name the AUTHENTICATE carried (UTF-8), after verify() parsed it.
  const std::string& user() const { return peer_user_; }
  bool used_v1() const { return used_v1_; }

 private:
  std::string user_, password_, target_;
  Nonce8 server_challenge_;
  std::uint64_t filetime_;
  bool accept_v1_;
  bool challenged_ = false;
  std::string peer_user_;
  bool used_v1_ = false;
};

// ---- what the callers share ----------------------------------------------------

// The first 8 bytes of MD5(seed): a client or server challenge drawn from the
// caller's random material (a client GUID, a session seed) and a counter.
Nonce8 nonce_from(std::string_view seed);
// Credentials of a user name as people type it: "DOMAIN\user" names the
// domain; any other name (a UPN "user@domain" too) stays whole.
Credentials credentials_for(std::string_view user, std::string_view password);

// ---- the clock ---------------------------------------------------------------

// The system clock as a FILETIME (100 ns units since 1601-01-01 UTC): the one
// clock read of the engine, for NTLM timestamps only (no deadline or decision
// depends on it; docs/architecture.md).
std::uint64_t filetime_now();

// ---- helpers -----------------------------------------------------------------

// Starts with the signature "NTLMSSP\0".
bool is_ntlmssp(ByteView token);
// MessageType of an NTLMSSP token: 1, 2 or 3; 0 for anything else.
std::uint32_t message_type(ByteView token);

// ---- the computations of MS-NLMP §3.3 (checked against §4.2) ------------------

// UTF-8 to UTF-16LE code units as bytes; invalid UTF-8 becomes U+FFFD.
std::string utf16le(std::string_view utf8);
// NTOWFv1 = MD4(UNICODE(Passwd)).
Hash16 nt_owf_v1(std::string_view password);
// LMOWFv1: DES("KGS!@#$%") under the two halves of the upper-cased (ASCII)
// password, NUL-padded to 14 bytes (longer ones are cut, as they cannot work).
Hash16 lm_owf_v1(std::string_view password);
// NTOWFv2 = HMAC_MD5(NTOWFv1, UNICODE(Uppercase(User) + UserDom)).
// Uppercase covers ASCII and Latin-1 letters.
Hash16 nt_owf_v2(std::string_view user, std::string_view password, std::string_view domain);
// DESL(K, D) (MS-NLMP §6): D under the three DES keys made of K's 16 bytes
// plus five zeros, 7 bytes each, spread to 8 bytes with odd parity.
Response24 desl(const Hash16& key, const Nonce8& data);
// NTLMv1: DESL(NTOWFv1, server challenge); with extended session security
// DESL(NTOWFv1, MD5(server challenge + client challenge)[0..7]).
Response24 ntlmv1_response(const Hash16& nt_owf, const Nonce8& server_challenge);
Response24 ntlmv1_ess_response(const Hash16& nt_owf, const Nonce8& server_challenge,
                               const Nonce8& client_challenge);
// LMv1: DESL(LMOWFv1, server challenge).
Response24 lmv1_response(const Hash16& lm_owf, const Nonce8& server_challenge);
// NTLMv2_CLIENT_CHALLENGE ("temp"): 01 01 Z(6) Time ClientChallenge Z(4)
// TargetInfo Z(4).
std::string ntlmv2_client_blob(std::uint64_t filetime, const Nonce8& client_challenge,
                               ByteView target_info);
// NTProofStr = HMAC_MD5(NTOWFv2, ServerChallenge + temp).
Hash16 nt_proof_str(const Hash16& nt_owf_v2, const Nonce8& server_challenge, ByteView blob);
// NtChallengeResponse for NTLMv2: NTProofStr + temp.
std::string ntlmv2_response(const Hash16& nt_owf_v2, const Nonce8& server_challenge,
                            const Nonce8& client_challenge, std::uint64_t filetime,
                            ByteView target_info);
// LMv2: HMAC_MD5(NTOWFv2, ServerChallenge + ClientChallenge) + ClientChallenge.
Response24 lmv2_response(const Hash16& nt_owf_v2, const Nonce8& server_challenge,
                         const Nonce8& client_challenge);

// ---- message parsers (what the contexts use; exposed for tests and fuzzers) ---

struct Negotiate {
  std::uint32_t flags = 0;
};
struct Challenge {
  std::uint32_t flags = 0;
  Nonce8 server_challenge{};
  std::string target_name;  // UTF-8
  std::string target_info;  // raw AV_PAIRs, empty when absent
  bool has_timestamp = false;
  std::uint64_t timestamp = 0;  // MsvAvTimestamp
};
struct Authenticate {
  std::uint32_t flags = 0;
  std::string lm_response, nt_response;   // raw
  std::string domain, user, workstation;  // UTF-8
};
Result<Negotiate> parse_negotiate(ByteView msg);
Result<Challenge> parse_challenge(ByteView msg);
Result<Authenticate> parse_authenticate(ByteView msg);

}  // namespace mms::auth::ntlm

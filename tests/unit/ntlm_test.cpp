// NTLM (MS-NLMP) and SPNEGO (RFC 4178): the §4.2 test vectors, client and
// server round trips, every decoder whole / cut at every byte / with trailing
// data / with fields pointing outside / oversize, and an independent peer
// (python ntlm-auth through tests/tools/ntlm_peer.py).
#include "protocol/auth/ntlm.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/auth/spnego.h"
#include "protocol/core/byte_reader.h"
#include "protocol/core/bytes.h"
#include "protocol/core/text.h"

namespace mms::auth {
namespace {

using ntlm::ClientContext;
using ntlm::Credentials;
using ntlm::Hash16;
using ntlm::Nonce8;
using ntlm::ServerContext;

std::string unhex(std::string_view hex) {
  std::vector<std::uint8_t> v;
  EXPECT_TRUE(parse_hex(hex, &v)) << hex;
  return std::string(v.begin(), v.end());
}

template <std::size_t N>
std::string str(const std::array<std::uint8_t, N>& a) {
  return std::string(a.begin(), a.end());
}

ByteView bv(const std::string& s) {
  return ByteView::of(s);
}

std::string hex(const std::string& s) {
  return to_hex(bv(s), SIZE_MAX);
}

// MS-NLMP §4.2.1: the common inputs.
const Nonce8 kServerChallenge = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
const Nonce8 kClientChallenge = {0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa};

// MS-NLMP §4.2.4: the TargetInfo of the NTLMv2 example (MsvAvNbDomainName
// "Domain", MsvAvNbComputerName "Server", MsvAvEOL).
const char* const kTargetInfo424 =
    "02 00 0c 00 44 00 6f 00 6d 00 61 00 69 00 6e 00"
    "01 00 0c 00 53 00 65 00 72 00 76 00 65 00 72 00"
    "00 00 00 00";

// MS-NLMP §4.2.4.3: the CHALLENGE_MESSAGE of the NTLMv2 example (flags
// e28a8233, Version 6.0.6000 / 15, TargetName "Server").
std::string challenge_424() {
  return unhex(
             "4e 54 4c 4d 53 53 50 00  02 00 00 00  0c 00 0c 00 38 00 00 00"
             "33 82 8a e2  01 23 45 67 89 ab cd ef  00 00 00 00 00 00 00 00"
             "24 00 24 00 44 00 00 00  06 00 70 17 00 00 00 0f"
             "53 00 65 00 72 00 76 00 65 00 72 00") +
         unhex(kTargetInfo424);
}

// ---- MS-NLMP §4.2.2 NTLMv1 and §4.2.3 NTLMv1 with client challenge ----

TEST(NtlmVectors, NtOwfV1_4_2_2_1_2) {
  EXPECT_EQ(hex(str(ntlm::nt_owf_v1("Password"))), hex(unhex("a4f49c406510bdcab6824ee7c30fd852")));
}

TEST(NtlmVectors, LmOwfV1_4_2_2_1_1) {
  EXPECT_EQ(hex(str(ntlm::lm_owf_v1("Password"))), hex(unhex("e52cac67419a9a224a3b108f3fa6cb6d")));
  // LMOWFv1 upper-cases the password.
  EXPECT_EQ(ntlm::lm_owf_v1("password"), ntlm::lm_owf_v1("PASSWORD"));
}

TEST(NtlmVectors, NtlmV1Response_4_2_2_2_1) {
  EXPECT_EQ(hex(str(ntlm::ntlmv1_response(ntlm::nt_owf_v1("Password"), kServerChallenge))),
            hex(unhex("67c43011f30298a2ad35ece64f16331c44bdbed927841f94")));
}

TEST(NtlmVectors, LmV1Response_4_2_2_2_2) {
  EXPECT_EQ(hex(str(ntlm::lmv1_response(ntlm::lm_owf_v1("Password"), kServerChallenge))),
            hex(unhex("98def7b87f88aa5dafe2df779688a172def11c7d5ccdef13")));
}

TEST(NtlmVectors, NtlmV1WithClientChallenge_4_2_3_2_2) {
  EXPECT_EQ(hex(str(ntlm::ntlmv1_ess_response(ntlm::nt_owf_v1("Password"), kServerChallenge,
                                              kClientChallenge))),
            hex(unhex("7537f803ae367128ca458204bde7caf81e97ed2683267232")));
}

// DESL's third key is two hash bytes and five zeros: a hash ending in 00 00
// makes the weak all-zero DES key, which must still encrypt (FIPS 81 / the
// classic DES check value: key 0101010101010101, plaintext 0 -> 8ca64de9c1b123a7).
TEST(NtlmVectors, DeslWithWeakKeys) {
  const Hash16 zero{};
  const Nonce8 data{};
  EXPECT_EQ(hex(str(ntlm::desl(zero, data))),
            hex(unhex("8ca64de9c1b123a7 8ca64de9c1b123a7 8ca64de9c1b123a7")));
}

// ---- MS-NLMP §4.2.4 NTLMv2 ----

TEST(NtlmVectors, NtOwfV2_4_2_4_1_1) {
  EXPECT_EQ(hex(str(ntlm::nt_owf_v2("User", "Password", "Domain"))),
            hex(unhex("0c868a403bfd7a93a3001ef22ef02e3f")));
  // Uppercase(User): the user's case does not matter, the domain's does.
  EXPECT_EQ(ntlm::nt_owf_v2("uSeR", "Password", "Domain"),
            ntlm::nt_owf_v2("User", "Password", "Domain"));
  EXPECT_NE(ntlm::nt_owf_v2("User", "Password", "DOMAIN"),
            ntlm::nt_owf_v2("User", "Password", "Domain"));
}

TEST(NtlmVectors, LmV2Response_4_2_4_2_1) {
  const Hash16 key = ntlm::nt_owf_v2("User", "Password", "Domain");
  EXPECT_EQ(hex(str(ntlm::lmv2_response(key, kServerChallenge, kClientChallenge))),
            hex(unhex("86c35097ac9cec102554764a57cccc19 aaaaaaaaaaaaaaaa")));
}

TEST(NtlmVectors, NtProofStrAndNtlmV2Response_4_2_4_2_2) {
  const Hash16 key = ntlm::nt_owf_v2("User", "Password", "Domain");
  const std::string info = unhex(kTargetInfo424);
  const std::string blob = ntlm::ntlmv2_client_blob(0, kClientChallenge, bv(info));
  EXPECT_EQ(hex(blob), hex(unhex("0101 000000000000 0000000000000000 aaaaaaaaaaaaaaaa 00000000") +
                           info + unhex("00000000")));
  EXPECT_EQ(hex(str(ntlm::nt_proof_str(key, kServerChallenge, bv(blob)))),
            hex(unhex("68cd0ab851e51c96aabc927bebef6a1c")));
  EXPECT_EQ(hex(ntlm::ntlmv2_response(key, kServerChallenge, kClientChallenge, 0, bv(info))),
            hex(unhex("68cd0ab851e51c96aabc927bebef6a1c") + blob));
}

// Our client answering the §4.2.4.3 CHALLENGE_MESSAGE sends the
// LmChallengeResponse and NtChallengeResponse of the §4.2.4.4
// AUTHENTICATE_MESSAGE (ours has no Version, MIC or session key).
TEST(NtlmVectors, ClientAnswersTheSpecChallenge_4_2_4_3) {
  ClientContext client({"User", "Password", "Domain", "COMPUTER"}, kClientChallenge, 0);
  Result<std::string> auth = client.authenticate(bv(challenge_424()));
  ASSERT_TRUE(auth.ok()) << auth.status().what();
  EXPECT_FALSE(client.used_v1());
  Result<ntlm::Authenticate> a = ntlm::parse_authenticate(bv(*auth));
  ASSERT_TRUE(a.ok()) << a.status().what();
  EXPECT_EQ(hex(a->lm_response), hex(unhex("86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa")));
  EXPECT_EQ(hex(a->nt_response),
            hex(unhex("68cd0ab851e51c96aabc927bebef6a1c"
                      "0101000000000000 0000000000000000 aaaaaaaaaaaaaaaa 00000000") +
                unhex(kTargetInfo424) + unhex("00000000")));
  EXPECT_EQ(a->user, "User");
  EXPECT_EQ(a->domain, "Domain");
  EXPECT_EQ(a->workstation, "COMPUTER");
  EXPECT_TRUE(a->flags & ntlm::flags::kUnicode);
  EXPECT_FALSE(a->flags & ntlm::flags::kKeyExchange);  // no session security
  EXPECT_FALSE(a->flags & ntlm::flags::kSeal);
}

TEST(NtlmVectors, ParsesTheSpecChallenge) {
  Result<ntlm::Challenge> c = ntlm::parse_challenge(bv(challenge_424()));
  ASSERT_TRUE(c.ok()) << c.status().what();
  EXPECT_EQ(c->flags, 0xe28a8233u);
  EXPECT_EQ(c->server_challenge, kServerChallenge);
  EXPECT_EQ(c->target_name, "Server");
  EXPECT_EQ(hex(c->target_info), hex(unhex(kTargetInfo424)));
  EXPECT_FALSE(c->has_timestamp);
}

// ---- messages and helpers ----

TEST(Ntlm, NegotiateMessage) {
  ClientContext client({"u", "p", "", ""}, kClientChallenge, 0);
  const std::string n = client.negotiate();
  // Signature, type 1, flags a0088205 (Unicode, RequestTarget, NTLM,
  // AlwaysSign, ExtendedSessionSecurity, 128, 56), empty domain/workstation.
  EXPECT_EQ(hex(n), hex(unhex("4e544c4d53535000 01000000 058208a0 0000000000000000"
                              "0000000000000000")));
  EXPECT_TRUE(ntlm::is_ntlmssp(bv(n)));
  EXPECT_EQ(ntlm::message_type(bv(n)), 1u);
  EXPECT_EQ(ntlm::message_type(bv(challenge_424())), 2u);
  EXPECT_EQ(ntlm::message_type(ByteView::of("NTLMSSP")), 0u);
  EXPECT_EQ(ntlm::message_type(ByteView::of(std::string("NTLMSSP\0\x04\0\0\0", 12))), 0u);
  EXPECT_EQ(ntlm::message_type(ByteView::of("HTTP/1.0 200 OK")), 0u);
  EXPECT_FALSE(ntlm::is_ntlmssp(ByteView::of("NTLMSSP")));
}

TEST(Ntlm, ServerChallengeMessage) {
  ClientContext client({"u", "p", "", ""}, kClientChallenge, 0);
  ServerContext server("u", "p", "MMS", kServerChallenge, 0x01d2030405060708ull);
  Result<std::string> ch = server.challenge(bv(client.negotiate()));
  ASSERT_TRUE(ch.ok()) << ch.status().what();
  Result<ntlm::Challenge> c = ntlm::parse_challenge(bv(*ch));
  ASSERT_TRUE(c.ok()) << c.status().what();
  EXPECT_EQ(c->server_challenge, kServerChallenge);
  EXPECT_EQ(c->target_name, "MMS");
  EXPECT_TRUE(c->has_timestamp);
  EXPECT_EQ(c->timestamp, 0x01d2030405060708ull);
  const std::uint32_t want = ntlm::flags::kUnicode | ntlm::flags::kRequestTarget |
                             ntlm::flags::kNtlm | ntlm::flags::kAlwaysSign |
                             ntlm::flags::kTargetTypeDomain |
                             ntlm::flags::kExtendedSessionSecurity | ntlm::flags::kTargetInfo |
                             ntlm::flags::k128 | ntlm::flags::k56;
  EXPECT_EQ(c->flags, want);
  const std::string name = ntlm::utf16le("MMS");
  EXPECT_EQ(hex(c->target_info), hex(unhex("0200 0600") + name + unhex("0100 0600") + name +
                                     unhex("0700 0800 08070605 0403d201 0000 0000")));
}

TEST(Ntlm, Utf16) {
  EXPECT_EQ(hex(ntlm::utf16le("A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80")),
            hex(unhex("4100 e900 ac20 3dd8 00de")));
  EXPECT_EQ(hex(ntlm::utf16le("\xff")), hex(unhex("fdff")));
  EXPECT_EQ(hex(ntlm::utf16le("\xc3")), hex(unhex("fdff")));
}

// ---- round trips ----

struct Exchange {
  Status status;
  bool client_v1 = false;
  bool server_v1 = false;
  std::string server_user;
};

// `edit_challenge` changes the CHALLENGE on its way to the client.
Exchange run_exchange(const Credentials& creds, const std::string& user,
                      const std::string& password, bool accept_v1 = true,
                      void (*edit_challenge)(std::string*) = nullptr) {
  ClientContext client(creds, kClientChallenge, 0x01d0000000000000ull);
  ServerContext server(user, password, "MMS", kServerChallenge, 0x01d0000000000001ull, accept_v1);
  Exchange e;
  Result<std::string> ch = server.challenge(bv(client.negotiate()));
  EXPECT_TRUE(ch.ok()) << ch.status().what();
  std::string challenge = *ch;
  if (edit_challenge != nullptr) {
    edit_challenge(&challenge);
  }
  Result<std::string> auth = client.authenticate(bv(challenge));
  EXPECT_TRUE(auth.ok()) << auth.status().what();
  e.status = server.verify(bv(*auth));
  e.client_v1 = client.used_v1();
  e.server_v1 = server.used_v1();
  e.server_user = server.user();
  return e;
}

void clear_flag(std::string* msg, std::uint32_t flag) {
  auto* p = reinterpret_cast<std::uint8_t*>(msg->data());  // NOLINT
  store_u32le(p + 20, load_u32le(p + 20) & ~flag);
}
void v1_challenge(std::string* msg) {
  clear_flag(msg, ntlm::flags::kTargetInfo);
}
void v1_challenge_without_ess(std::string* msg) {
  clear_flag(msg, ntlm::flags::kTargetInfo | ntlm::flags::kExtendedSessionSecurity);
}

TEST(NtlmRoundTrip, V2) {
  Exchange e = run_exchange({"Alice", "s3cret", "HOME", "PC"}, "alice", "s3cret");
  EXPECT_TRUE(e.status.ok()) << e.status.what();
  EXPECT_FALSE(e.client_v1);
  EXPECT_FALSE(e.server_v1);
  EXPECT_EQ(e.server_user, "Alice");
}

TEST(NtlmRoundTrip, V2NonAsciiCredentials) {
  Exchange e = run_exchange({"J\xc3\xb6rg", "p\xc3\xa4ss\xe2\x82\xac", "", ""}, "J\xc3\x96RG",
                            "p\xc3\xa4ss\xe2\x82\xac");
  EXPECT_TRUE(e.status.ok()) << e.status.what();
  EXPECT_EQ(e.server_user, "J\xc3\xb6rg");
}

TEST(NtlmRoundTrip, V1WithExtendedSessionSecurity) {
  Exchange e = run_exchange({"Alice", "s3cret", "", ""}, "ALICE", "s3cret", true, v1_challenge);
  EXPECT_TRUE(e.status.ok()) << e.status.what();
  EXPECT_TRUE(e.client_v1);
  EXPECT_TRUE(e.server_v1);
}

TEST(NtlmRoundTrip, V1WithoutExtendedSessionSecurity) {
  Exchange e =
      run_exchange({"Alice", "s3cret", "", ""}, "alice", "s3cret", true, v1_challenge_without_ess);
  EXPECT_TRUE(e.status.ok()) << e.status.what();
  EXPECT_TRUE(e.client_v1);
  EXPECT_TRUE(e.server_v1);
}

TEST(NtlmRoundTrip, V1RefusedWhenNotAccepted) {
  Exchange e = run_exchange({"Alice", "s3cret", "", ""}, "alice", "s3cret", false, v1_challenge);
  EXPECT_EQ(e.status.code(), Code::kNotAuthorized);
}

TEST(NtlmRoundTrip, ClientWithoutV1RefusesAV1Challenge) {
  ClientContext client({"Alice", "s3cret", "", ""}, kClientChallenge, 0, {false});
  ServerContext server("alice", "s3cret", "MMS", kServerChallenge, 0);
  Result<std::string> ch = server.challenge(bv(client.negotiate()));
  ASSERT_TRUE(ch.ok());
  std::string c = *ch;
  v1_challenge(&c);
  Result<std::string> auth = client.authenticate(bv(c));
  EXPECT_EQ(auth.status().code(), Code::kUnsupported);
  // A v2 challenge is fine.
  EXPECT_TRUE(client.authenticate(bv(*ch)).ok());
}

TEST(NtlmRoundTrip, WrongPassword) {
  for (auto edit :
       {static_cast<void (*)(std::string*)>(nullptr), &v1_challenge, &v1_challenge_without_ess}) {
    Exchange e = run_exchange({"Alice", "wrong", "", ""}, "alice", "s3cret", true, edit);
    EXPECT_EQ(e.status.code(), Code::kNotAuthorized);
    EXPECT_STREQ(e.status.what(), "wrong NTLM credentials");
  }
}

TEST(NtlmRoundTrip, WrongUser) {
  for (auto edit : {static_cast<void (*)(std::string*)>(nullptr), &v1_challenge}) {
    Exchange e = run_exchange({"Bob", "s3cret", "", ""}, "alice", "s3cret", true, edit);
    EXPECT_EQ(e.status.code(), Code::kNotAuthorized);
    EXPECT_EQ(e.server_user, "Bob");
  }
}

TEST(NtlmRoundTrip, VerifyNeedsAChallengeAndUsesItOnce) {
  ClientContext client({"alice", "s3cret", "", ""}, kClientChallenge, 0);
  ServerContext server("alice", "s3cret", "MMS", kServerChallenge, 0);
  ServerContext other("alice", "s3cret", "MMS", kServerChallenge, 0);
  Result<std::string> ch = other.challenge(bv(client.negotiate()));
  ASSERT_TRUE(ch.ok());
  Result<std::string> auth = client.authenticate(bv(*ch));
  ASSERT_TRUE(auth.ok());
  EXPECT_EQ(server.verify(bv(*auth)).code(), Code::kLocalMisuse);
  EXPECT_TRUE(other.verify(bv(*auth)).ok());
  EXPECT_EQ(other.verify(bv(*auth)).code(), Code::kLocalMisuse);  // no replay
}

TEST(NtlmRoundTrip, TamperedOrAnonymousResponsesFail) {
  ClientContext client({"alice", "s3cret", "", ""}, kClientChallenge, 0);
  ServerContext server("alice", "s3cret", "MMS", kServerChallenge, 0);
  Result<std::string> ch = server.challenge(bv(client.negotiate()));
  ASSERT_TRUE(ch.ok());
  Result<std::string> auth = client.authenticate(bv(*ch));
  ASSERT_TRUE(auth.ok());
  Result<ntlm::Authenticate> a = ntlm::parse_authenticate(bv(*auth));
  ASSERT_TRUE(a.ok());
  // Flip one byte of the NTProofStr, then of the blob (the proof covers it).
  const std::uint32_t nt_offset =
      load_u32le(reinterpret_cast<const std::uint8_t*>(auth->data()) + 24);  // NOLINT
  for (std::size_t at : {std::size_t{0}, std::size_t{16 + 10}, a->nt_response.size() - 5}) {
    std::string bad = *auth;
    bad[nt_offset + at] = static_cast<char>(bad[nt_offset + at] ^ 0x01);
    ASSERT_TRUE(server.challenge(bv(client.negotiate())).ok());
    EXPECT_EQ(server.verify(bv(bad)).code(), Code::kNotAuthorized) << at;
  }
  // Anonymous: empty NT response.
  std::string anon = *auth;
  anon[20] = 0;
  anon[21] = 0;
  ASSERT_TRUE(server.challenge(bv(client.negotiate())).ok());
  EXPECT_EQ(server.verify(bv(anon)).code(), Code::kNotAuthorized);
  // An NT response too short for NTLMv2 and not 24 bytes.
  std::string odd = *auth;
  odd[20] = 30;
  ASSERT_TRUE(server.challenge(bv(client.negotiate())).ok());
  EXPECT_EQ(server.verify(bv(odd)).code(), Code::kMalformed);
}

// ---- decoders: whole, every prefix, trailing data, bad fields, oversize ----

std::string sample_negotiate() {
  return ClientContext({"u", "p", "", ""}, kClientChallenge, 0).negotiate();
}
std::string sample_challenge() {
  ServerContext server("u", "p", "MMS", kServerChallenge, 7);
  return *server.challenge(bv(sample_negotiate()));
}
std::string sample_authenticate() {
  ClientContext client({"user", "pw", "dom", "ws"}, kClientChallenge, 9);
  return *client.authenticate(bv(sample_challenge()));
}

using Parser = Status (*)(ByteView);
Status negotiate_parser(ByteView v) {
  return ntlm::parse_negotiate(v).status();
}
Status challenge_parser(ByteView v) {
  return ntlm::parse_challenge(v).status();
}
Status authenticate_parser(ByteView v) {
  return ntlm::parse_authenticate(v).status();
}
Status spnego_parser(ByteView v) {
  return spnego::unwrap(v).status();
}

// Each prefix in a buffer of its own size, so that a read past it is a
// sanitizer report rather than a read of the rest of the message.
void expect_every_prefix_malformed(const std::string& whole, Parser parse) {
  for (std::size_t n = 0; n < whole.size(); ++n) {
    const std::vector<std::uint8_t> prefix(whole.begin(), whole.begin() + static_cast<long>(n));
    const Status s = parse(ByteView(prefix));
    EXPECT_EQ(s.code(), Code::kMalformed) << "prefix " << n << ": " << s.what();
  }
}

// Every byte replaced by a few values: whatever the result, no crash and no
// read outside (sanitizers).
void mutate_every_byte(const std::string& whole, Parser parse) {
  for (std::size_t i = 0; i < whole.size(); ++i) {
    for (std::uint8_t v : {std::uint8_t{0x00}, std::uint8_t{0xff}, std::uint8_t{0x7f}}) {
      std::vector<std::uint8_t> m(whole.begin(), whole.end());
      m[i] = v;
      (void)parse(ByteView(m));
    }
  }
}

TEST(NtlmDecoders, WholeMessagesParse) {
  EXPECT_TRUE(negotiate_parser(bv(sample_negotiate())).ok());
  EXPECT_TRUE(challenge_parser(bv(sample_challenge())).ok());
  Result<ntlm::Authenticate> a = ntlm::parse_authenticate(bv(sample_authenticate()));
  ASSERT_TRUE(a.ok()) << a.status().what();
  EXPECT_EQ(a->user, "user");
  EXPECT_EQ(a->domain, "dom");
  EXPECT_EQ(a->workstation, "ws");
  EXPECT_EQ(a->lm_response, std::string(24, '\0'));  // the challenge carries MsvAvTimestamp
}

TEST(NtlmDecoders, EveryPrefixIsMalformed) {
  expect_every_prefix_malformed(sample_negotiate(), negotiate_parser);
  expect_every_prefix_malformed(sample_challenge(), challenge_parser);
  expect_every_prefix_malformed(challenge_424(), challenge_parser);
  expect_every_prefix_malformed(sample_authenticate(), authenticate_parser);
}

TEST(NtlmDecoders, EveryByteMutatedDoesNotCrash) {
  mutate_every_byte(sample_negotiate(), negotiate_parser);
  mutate_every_byte(sample_challenge(), challenge_parser);
  mutate_every_byte(sample_authenticate(), authenticate_parser);
  // Through the contexts too.
  const std::string auth = sample_authenticate();
  for (std::size_t i = 0; i < auth.size(); ++i) {
    std::string m = auth;
    m[i] = static_cast<char>(m[i] ^ 0x5a);
    ServerContext server("user", "pw", "MMS", kServerChallenge, 7);
    ASSERT_TRUE(server.challenge(bv(sample_negotiate())).ok());
    (void)server.verify(bv(m));
  }
}

// Fields are addressed by offset: bytes after the last one change nothing.
TEST(NtlmDecoders, TrailingDataIsIgnored) {
  const std::string tail = "trailing";
  EXPECT_TRUE(negotiate_parser(bv(sample_negotiate() + tail)).ok());
  Result<ntlm::Challenge> c = ntlm::parse_challenge(bv(sample_challenge() + tail));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->target_name, "MMS");
  Result<ntlm::Authenticate> a = ntlm::parse_authenticate(bv(sample_authenticate() + tail));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->user, "user");
  ServerContext server("user", "pw", "MMS", kServerChallenge, 7);
  ASSERT_TRUE(server.challenge(bv(sample_negotiate() + tail)).ok());
  EXPECT_TRUE(server.verify(bv(sample_authenticate() + tail)).ok());
}

TEST(NtlmDecoders, Oversize) {
  for (const std::string& m : {sample_negotiate(), sample_challenge(), sample_authenticate()}) {
    std::string big = m;
    big.resize(ntlm::kMaxMessage + 1, 'x');
    EXPECT_EQ(negotiate_parser(bv(big)).code(), Code::kLimitExceeded);
    EXPECT_EQ(challenge_parser(bv(big)).code(), Code::kLimitExceeded);
    EXPECT_EQ(authenticate_parser(bv(big)).code(), Code::kLimitExceeded);
    std::string at_limit = m;
    at_limit.resize(ntlm::kMaxMessage, 'x');
    EXPECT_NE(authenticate_parser(bv(at_limit)).code(), Code::kLimitExceeded);
  }
  // Our own output obeys the limit too.
  ClientContext client({std::string(5000, 'u'), "p", "", ""}, kClientChallenge, 0);
  EXPECT_EQ(client.authenticate(bv(sample_challenge())).status().code(), Code::kLimitExceeded);
  ServerContext server("u", "p", std::string(3000, 't'), kServerChallenge, 0);
  EXPECT_EQ(server.challenge(bv(sample_negotiate())).status().code(), Code::kLimitExceeded);
}

void set_u16(std::string* m, std::size_t at, std::uint16_t v) {
  store_u16le(reinterpret_cast<std::uint8_t*>(m->data()) + at, v);  // NOLINT
}
void set_u32(std::string* m, std::size_t at, std::uint32_t v) {
  store_u32le(reinterpret_cast<std::uint8_t*>(m->data()) + at, v);  // NOLINT
}

TEST(NtlmDecoders, FieldsPointingOutside) {
  // (message, parser, offsets of its field headers)
  struct Case {
    std::string msg;
    Parser parse;
    std::vector<std::size_t> fields;
  };
  const std::vector<Case> cases = {
      {sample_negotiate(), negotiate_parser, {16, 24}},
      {sample_challenge(), challenge_parser, {12, 40}},
      {sample_authenticate(), authenticate_parser, {12, 20, 28, 36, 44, 52}},
  };
  for (const Case& c : cases) {
    const auto size = static_cast<std::uint32_t>(c.msg.size());
    for (std::size_t f : c.fields) {
      std::string m = c.msg;
      set_u16(&m, f, 1);  // one byte at the very end
      set_u32(&m, f + 4, size - 1);
      EXPECT_NE(c.parse(bv(m)).code(), Code::kLimitExceeded) << f;  // inside: fine or odd UTF-16
      set_u32(&m, f + 4, size);                                     // starts at the end
      EXPECT_EQ(c.parse(bv(m)).code(), Code::kMalformed) << f;
      set_u32(&m, f + 4, 0xffffffffu);  // offset + length wraps around
      EXPECT_EQ(c.parse(bv(m)).code(), Code::kMalformed) << f;
      m = c.msg;
      set_u16(&m, f, 0xffff);  // length beyond the message
      EXPECT_EQ(c.parse(bv(m)).code(), Code::kMalformed) << f;
    }
  }
}

TEST(NtlmDecoders, BadSignatureTypeAndCharset) {
  std::string m = sample_challenge();
  m[0] = 'X';
  EXPECT_EQ(challenge_parser(bv(m)).code(), Code::kMalformed);
  EXPECT_EQ(challenge_parser(bv(sample_negotiate())).code(), Code::kMalformed);  // type 1
  EXPECT_EQ(negotiate_parser(bv(sample_challenge())).code(), Code::kMalformed);
  EXPECT_EQ(authenticate_parser(bv(sample_challenge())).code(), Code::kMalformed);
  // Neither Unicode nor OEM.
  m = sample_challenge();
  clear_flag(&m, ntlm::flags::kUnicode | ntlm::flags::kOem);
  EXPECT_EQ(challenge_parser(bv(m)).code(), Code::kMalformed);
  m = sample_negotiate();
  set_u32(&m, 12, ntlm::flags::kNtlm);
  ServerContext server("u", "p", "MMS", kServerChallenge, 0);
  EXPECT_EQ(server.challenge(bv(m)).status().code(), Code::kMalformed);
  // TargetInfo flagged but the message ends before its field: a 32-byte
  // CHALLENGE of an old server is fine without the flag.
  m = sample_challenge().substr(0, 32);
  set_u16(&m, 12, 0);  // no TargetName
  EXPECT_EQ(challenge_parser(bv(m)).code(), Code::kMalformed);
  clear_flag(&m, ntlm::flags::kTargetInfo);
  Result<ntlm::Challenge> old = ntlm::parse_challenge(bv(m));
  ASSERT_TRUE(old.ok()) << old.status().what();
  EXPECT_TRUE(old->target_info.empty());
}

TEST(NtlmDecoders, OddUtf16Lengths) {
  std::string m = sample_challenge();
  set_u16(&m, 12, 5);  // TargetName "MMS" is 6 bytes
  EXPECT_EQ(challenge_parser(bv(m)).code(), Code::kMalformed);
  for (std::size_t f : {28, 36, 44}) {  // domain, user, workstation
    m = sample_authenticate();
    const std::uint16_t len =
        load_u16le(reinterpret_cast<const std::uint8_t*>(m.data()) + f);  // NOLINT
    set_u16(&m, f, static_cast<std::uint16_t>(len - 1));
    EXPECT_EQ(authenticate_parser(bv(m)).code(), Code::kMalformed) << f;
  }
}

// A CHALLENGE around a hand-made TargetInfo.
std::string challenge_with_info(const std::string& info) {
  std::string m = unhex("4e544c4d53535000 02000000 00000000 30000000 01028200") +
                  str(kServerChallenge) + unhex("0000000000000000");
  std::string len = unhex("0000 0000 30000000");
  set_u16(&len, 0, static_cast<std::uint16_t>(info.size()));
  set_u16(&len, 2, static_cast<std::uint16_t>(info.size()));
  return m + len + info;
}

TEST(NtlmDecoders, AvPairWalk) {
  EXPECT_TRUE(challenge_parser(bv(challenge_with_info(unhex(kTargetInfo424)))).ok());
  // No MsvAvEOL.
  EXPECT_EQ(challenge_parser(bv(challenge_with_info(unhex("0200 0200 4100")))).code(),
            Code::kMalformed);
  // An AV_PAIR longer than the TargetInfo.
  EXPECT_EQ(challenge_parser(bv(challenge_with_info(unhex("0200 0800 4100 0000 0000")))).code(),
            Code::kMalformed);
  // A cut AV_PAIR header.
  EXPECT_EQ(challenge_parser(bv(challenge_with_info(unhex("0200 02")))).code(), Code::kMalformed);
  // A timestamp that is not 8 bytes.
  EXPECT_EQ(challenge_parser(bv(challenge_with_info(unhex("0700 0400 01020304 0000 0000")))).code(),
            Code::kMalformed);
  // The walk stops at MsvAvEOL: what follows is not read.
  EXPECT_TRUE(challenge_parser(bv(challenge_with_info(unhex("0000 0000 ffff ffff")))).ok());
  // kMaxAvPairs.
  std::string many;
  for (std::size_t i = 0; i + 1 < ntlm::kMaxAvPairs; ++i) {
    many += unhex("0500 0000");
  }
  EXPECT_TRUE(challenge_parser(bv(challenge_with_info(many + unhex("0000 0000")))).ok());
  EXPECT_EQ(challenge_parser(bv(challenge_with_info(many + unhex("0500 0000 0000 0000")))).code(),
            Code::kLimitExceeded);
}

// ---- SPNEGO ----

TEST(Spnego, InitRoundTrip) {
  const std::string n = sample_negotiate();
  Result<std::string> init = spnego::wrap_init(bv(n));
  ASSERT_TRUE(init.ok());
  // RFC 4178 4.2 / RFC 2743 3.1, written out: [APPLICATION 0] { OID
  // 1.3.6.1.5.5.2, [0] { SEQUENCE { [0] { SEQUENCE { OID NTLMSSP } }, [2] {
  // OCTET STRING token } } } }.
  EXPECT_EQ(hex(*init), hex(unhex("60 40 06 06 2b0601050502 a0 36 30 34 a0 0e 30 0c 06 0a "
                                  "2b06010401823702020a a2 22 04 20") +
                            n));
  Result<std::string> back = spnego::unwrap(bv(*init));
  ASSERT_TRUE(back.ok()) << back.status().what();
  EXPECT_EQ(*back, n);
}

TEST(Spnego, ResponseRoundTrips) {
  ServerContext server("u", "p", "WORKGROUP-WITH-A-LONG-NAME", kServerChallenge, 7);
  const std::string c = *server.challenge(bv(sample_negotiate()));
  const std::string r = spnego::wrap_response(bv(c), false);
  Result<std::string> back = spnego::unwrap(bv(r));
  ASSERT_TRUE(back.ok()) << back.status().what();
  EXPECT_EQ(*back, c);
  // Long-form lengths: two bytes for the whole (over 255 bytes), one byte
  // for the responseToken's OCTET STRING (128..255).
  ASSERT_GT(c.size(), 127u);
  ASSERT_LT(c.size(), 256u);
  ASSERT_GT(r.size(), 259u);
  EXPECT_NE(r.find(unhex("04 81") + std::string(1, static_cast<char>(c.size())) + c.substr(0, 8)),
            std::string::npos);
  EXPECT_EQ(static_cast<std::uint8_t>(r[1]), 0x82);

  const std::string a = sample_authenticate();
  Result<std::string> client = spnego::wrap_response_client(bv(a));
  ASSERT_TRUE(client.ok());
  back = spnego::unwrap(bv(*client));
  ASSERT_TRUE(back.ok()) << back.status().what();
  EXPECT_EQ(*back, a);

  // The server's final accept-completed without a token.
  const std::string done = spnego::wrap_response(ByteView(), true);
  EXPECT_EQ(hex(done), hex(unhex("a1 07 30 05 a0 03 0a 01 00")));
  back = spnego::unwrap(bv(done));
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->empty());
}

TEST(Spnego, RawNtlmsspPassesThrough) {
  for (const std::string& m : {sample_negotiate(), sample_challenge(), sample_authenticate()}) {
    Result<std::string> back = spnego::unwrap(bv(m));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, m);
  }
}

// Written by hand from RFC 4178 4.2.1 and X.690 DER, the way a Windows client
// that prefers Kerberos builds it: mechTypes { MS KRB5 1.2.840.48018.1.2.2,
// KRB5 1.2.840.113554.1.2.2, NTLMSSP }, reqFlags [1] BIT STRING, and a
// mechToken that is an NTLM NEGOTIATE (flags e2088297, Windows' own).
const char* const kWindowsStyleInit =
    "60 4c"                                        // [APPLICATION 0], 76 bytes
    "  06 06 2b 06 01 05 05 02"                    // OID 1.3.6.1.5.5.2 (SPNEGO)
    "  a0 42"                                      // [0] NegTokenInit
    "    30 40"                                    // SEQUENCE
    "      a0 24 30 22"                            // [0] mechTypes: SEQUENCE OF
    "        06 09 2a 86 48 82 f7 12 01 02 02"     // 1.2.840.48018.1.2.2
    "        06 09 2a 86 48 86 f7 12 01 02 02"     // 1.2.840.113554.1.2.2
    "        06 0a 2b 06 01 04 01 82 37 02 02 0a"  // 1.3.6.1.4.1.311.2.2.10
    "      a1 04 03 02 00 00"                      // [1] reqFlags BIT STRING
    "      a2 12 04 10"                            // [2] mechToken OCTET STRING (16)
    "        4e 54 4c 4d 53 53 50 00 01 00 00 00 97 82 08 e2";

TEST(Spnego, HandWrittenWindowsStyleInit) {
  Result<std::string> t = spnego::unwrap(bv(unhex(kWindowsStyleInit)));
  ASSERT_TRUE(t.ok()) << t.status().what();
  EXPECT_EQ(hex(*t), hex(unhex("4e544c4d53535000 01000000 978208e2")));
  expect_every_prefix_malformed(unhex(kWindowsStyleInit), spnego_parser);
}

// Written by hand from RFC 4178 4.2.2: what IIS answers, negState
// accept-incomplete, supportedMech NTLMSSP, a responseToken, with the
// long-form lengths a real CHALLENGE needs (0x81 xx), here for a short token.
TEST(Spnego, HandWrittenServerResponseWithLongFormLengths) {
  const std::string token = unhex("4e544c4d53535000 02000000");
  const std::string r = unhex(
                            "a1 81 2c 30 81 29"
                            "  a0 03 0a 01 01"
                            "  a1 0c 06 0a 2b 06 01 04 01 82 37 02 02 0a"
                            "  a2 82 00 12 04 84 00 00 00 0c") +
                        token;
  Result<std::string> t = spnego::unwrap(bv(r));
  ASSERT_TRUE(t.ok()) << t.status().what();
  EXPECT_EQ(hex(*t), hex(token));
}

TEST(Spnego, InitWithoutNtlmsspIsUnsupported) {
  // mechTypes { KRB5 } with a (fake) Kerberos token.
  const std::string krb_only = unhex(
      "60 22 06 06 2b0601050502 a0 18 30 16 a0 0d 30 0b 06 09 2a864886f712010202"
      " a2 05 04 03 6e 01 02");
  EXPECT_EQ(spnego::unwrap(bv(krb_only)).status().code(), Code::kUnsupported);
  // NTLMSSP offered second, but the optimistic token is Kerberos'.
  const std::string optimistic = unhex(
      "60 2e 06 06 2b0601050502 a0 24 30 22 a0 19 30 17 06 09 2a864886f712010202"
      " 06 0a 2b06010401823702020a a2 05 04 03 6e 01 02");
  EXPECT_EQ(spnego::unwrap(bv(optimistic)).status().code(), Code::kUnsupported);
  // A GSS token of Kerberos itself.
  EXPECT_EQ(spnego::unwrap(bv(unhex("60 0d 06 09 2a864886f712010202 01 00"))).status().code(),
            Code::kUnsupported);
  // A response selecting Kerberos, and a reject.
  EXPECT_EQ(spnego::unwrap(bv(unhex("a1 0f 30 0d a1 0b 06 09 2a864886f712010202"))).status().code(),
            Code::kUnsupported);
  EXPECT_EQ(spnego::unwrap(bv(unhex("a1 07 30 05 a0 03 0a 01 02"))).status().code(),
            Code::kUnsupported);
}

TEST(Spnego, DecoderBounds) {
  Result<std::string> init = spnego::wrap_init(bv(sample_negotiate()));
  ASSERT_TRUE(init.ok());
  expect_every_prefix_malformed(*init, spnego_parser);
  expect_every_prefix_malformed(spnego::wrap_response(bv(sample_challenge()), false),
                                spnego_parser);
  expect_every_prefix_malformed(*spnego::wrap_response_client(bv(sample_authenticate())),
                                spnego_parser);
  mutate_every_byte(*init, spnego_parser);
  mutate_every_byte(spnego::wrap_response(bv(sample_challenge()), false), spnego_parser);
  // Trailing data after the token.
  EXPECT_EQ(spnego::unwrap(bv(*init + "x")).status().code(), Code::kMalformed);
  // Indefinite length, a 5-byte length, a length beyond the input, a
  // multi-byte tag, something that is not a NegotiationToken.
  EXPECT_EQ(spnego::unwrap(bv(unhex("a1 80 30 00 00 00"))).status().code(), Code::kMalformed);
  EXPECT_EQ(spnego::unwrap(bv(unhex("a1 85 00 00 00 00 02 30 00"))).status().code(),
            Code::kMalformed);
  EXPECT_EQ(spnego::unwrap(bv(unhex("a1 84 ff ff ff ff 30 00"))).status().code(), Code::kMalformed);
  EXPECT_EQ(spnego::unwrap(bv(unhex("a1 03 30 81 7f"))).status().code(), Code::kMalformed);
  EXPECT_EQ(spnego::unwrap(bv(unhex("bf 1f 00"))).status().code(), Code::kMalformed);
  EXPECT_EQ(spnego::unwrap(bv(unhex("30 00"))).status().code(), Code::kMalformed);
  EXPECT_EQ(spnego::unwrap(ByteView()).status().code(), Code::kMalformed);
  // Wrong inner types.
  EXPECT_EQ(spnego::unwrap(bv(unhex("a1 02 04 00"))).status().code(), Code::kMalformed);
  EXPECT_EQ(spnego::unwrap(bv(unhex("a1 06 30 04 a2 02 30 00"))).status().code(), Code::kMalformed);
  // Oversize, both ways.
  std::string big(spnego::kMaxToken + 1, '\0');
  EXPECT_EQ(spnego::unwrap(bv(big)).status().code(), Code::kLimitExceeded);
  EXPECT_EQ(spnego::wrap_init(bv(std::string(ntlm::kMaxMessage + 1, 'x'))).status().code(),
            Code::kLimitExceeded);
  // The largest NTLM token still wraps and unwraps (two-byte long-form lengths).
  const std::string largest = "NTLMSSP" + std::string(ntlm::kMaxMessage - 7, '\0');
  Result<std::string> w = spnego::wrap_init(bv(largest));
  ASSERT_TRUE(w.ok());
  Result<std::string> u = spnego::unwrap(bv(*w));
  ASSERT_TRUE(u.ok()) << u.status().what();
  EXPECT_EQ(*u, largest);
}

// ---- the independent peer: python ntlm-auth (tests/tools/ntlm_peer.py) ----

// Runs the peer; its stdout (first line) in *out, its exit status returned
// (127 when /usr/bin/python3 is missing).
int run_peer(const std::string& args, std::string* out) {
  const std::string cmd =
      "/usr/bin/python3 " + std::string(MMS_SOURCE_ROOT) + "/tests/tools/ntlm_peer.py " + args;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) {
    return 127;
  }
  out->clear();
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) {
    out->append(buf, n);
  }
  const int status = pclose(p);
  while (!out->empty() && (out->back() == '\n' || out->back() == '\r')) {
    out->pop_back();
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string b64(const std::string& s) {
  return base64_encode(std::string_view(s));
}
std::string unb64(const std::string& s) {
  std::string out;
  EXPECT_TRUE(base64_decode(s, &out)) << s;
  return out;
}

class PythonPeer : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string out;
    const int rc = run_peer("check", &out);
    if (rc == 77 || rc == 127) {
      GTEST_SKIP() << "/usr/bin/python3 cannot use ntlm_auth (exit " << rc << ")";
    }
    ASSERT_EQ(rc, 0) << out;
  }

  // The python client against our ServerContext. ntlm_auth's NEGOTIATE
  // offers OEM only, so our CHALLENGE to it selects OEM; with `unicode` the
  // CHALLENGE answers our own NEGOTIATE (Unicode) instead, which the python
  // client answers in UTF-16 just the same.
  Status python_client(int compat, const std::string& password, bool accept_v1, bool* v1,
                       bool unicode = false) {
    std::string negotiate;
    EXPECT_EQ(run_peer("negotiate " + std::to_string(compat), &negotiate), 0);
    if (unicode) {
      negotiate = b64(sample_negotiate());
    }
    ServerContext server("Alice", "s3cret", "MMS", kServerChallenge, 0x01d9000000000000ull,
                         accept_v1);
    Result<std::string> ch = server.challenge(bv(unb64(negotiate)));
    EXPECT_TRUE(ch.ok()) << ch.status().what();
    if (!ch.ok()) {
      return ch.status();
    }
    std::string auth;
    EXPECT_EQ(run_peer("authenticate " + std::to_string(compat) + " alice '" + password +
                           "' HOME " + b64(*ch),
                       &auth),
              0)
        << auth;
    Status s = server.verify(bv(unb64(auth)));
    *v1 = server.used_v1();
    EXPECT_EQ(server.user(), "alice");
    return s;
  }

  // Our ClientContext, checked by the python peer.
  std::string python_verifies(const std::string& password, void (*edit)(std::string*)) {
    ClientContext client({"Alice", password, "HOME", "PC"}, kClientChallenge,
                         0x01d9000000000000ull);
    ServerContext server("alice", "s3cret", "MMS", kServerChallenge, 0x01d9000000000001ull);
    Result<std::string> ch = server.challenge(bv(client.negotiate()));
    EXPECT_TRUE(ch.ok());
    std::string challenge = *ch;
    if (edit != nullptr) {
      edit(&challenge);
    }
    Result<std::string> auth = client.authenticate(bv(challenge));
    EXPECT_TRUE(auth.ok()) << auth.status().what();
    std::string out;
    (void)run_peer("verify Alice s3cret " + b64(challenge) + " " + b64(*auth), &out);
    return out;
  }
};

TEST_F(PythonPeer, ServerVerifiesItsNtlmV2Answers) {
  for (int compat : {3, 4, 5}) {
    bool v1 = true;
    Status s = python_client(compat, "s3cret", true, &v1);
    EXPECT_TRUE(s.ok()) << compat << ": " << s.what();
    EXPECT_FALSE(v1) << compat;
    s = python_client(compat, "wrong", true, &v1);
    EXPECT_EQ(s.code(), Code::kNotAuthorized) << compat;
    s = python_client(compat, "s3cret", true, &v1, true);
    EXPECT_TRUE(s.ok()) << compat << " (Unicode): " << s.what();
    s = python_client(compat, "wrong", true, &v1, true);
    EXPECT_EQ(s.code(), Code::kNotAuthorized) << compat;
  }
}

TEST_F(PythonPeer, ServerVerifiesItsNtlmV1Answers) {
  for (int compat : {0, 1}) {  // 0: LM + NTLMv1; 1: NTLMv1 with extended session security
    bool v1 = false;
    Status s = python_client(compat, "s3cret", true, &v1);
    EXPECT_TRUE(s.ok()) << compat << ": " << s.what();
    EXPECT_TRUE(v1) << compat;
    s = python_client(compat, "wrong", true, &v1);
    EXPECT_EQ(s.code(), Code::kNotAuthorized) << compat;
    s = python_client(compat, "s3cret", false, &v1);
    EXPECT_EQ(s.code(), Code::kNotAuthorized) << compat;
    s = python_client(compat, "s3cret", true, &v1, true);
    EXPECT_TRUE(s.ok()) << compat << " (Unicode): " << s.what();
  }
}

TEST_F(PythonPeer, VerifiesOurClientsAnswers) {
  EXPECT_EQ(python_verifies("s3cret", nullptr), "v2 ok");
  EXPECT_EQ(python_verifies("s3cret", &v1_challenge), "v1 ok");
  EXPECT_EQ(python_verifies("s3cret", &v1_challenge_without_ess), "v1 ok");
  EXPECT_EQ(python_verifies("wrong", nullptr), "mismatch: NTLMv2 response");
  EXPECT_EQ(python_verifies("wrong", &v1_challenge), "mismatch: NTLMv1 response");
}

}  // namespace
}  // namespace mms::auth

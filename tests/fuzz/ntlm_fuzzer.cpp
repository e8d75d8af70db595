// Fuzz target: NTLM (MS-NLMP) and SPNEGO decoding, both roles. The input is
// fed to ServerContext as a NEGOTIATE (challenge) and then as an
// AUTHENTICATE (verify), to ClientContext::authenticate as a CHALLENGE, to the
// three message parsers and to spnego::unwrap; an unwrapped token goes through
// the NTLM side again.
// Invariants: nothing over ntlm::kMaxMessage parses; an accepted CHALLENGE
// gives an AUTHENTICATE that parses back with the client's names; a verify of
// an input that does not carry this server's user is never Ok; what unwrap
// returns re-wraps and unwraps to itself.
#include <cstddef>
#include <cstdint>
#include <string>

#include "protocol/auth/ntlm.h"
#include "protocol/auth/spnego.h"
#include "protocol/core/text.h"

namespace {

namespace ntlm = mms::auth::ntlm;
namespace spnego = mms::auth::spnego;

void check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

constexpr ntlm::Nonce8 kChallenge = {1, 2, 3, 4, 5, 6, 7, 8};

void exercise_ntlm(mms::ByteView in) {
  const bool oversize = in.size() > ntlm::kMaxMessage;
  {
    mms::Result<ntlm::Negotiate> n = ntlm::parse_negotiate(in);
    check(!(oversize && n.ok()));
    mms::Result<ntlm::Challenge> c = ntlm::parse_challenge(in);
    check(!(oversize && c.ok()));
    if (c.ok()) {
      check(c->target_info.size() <= in.size());
    }
    mms::Result<ntlm::Authenticate> a = ntlm::parse_authenticate(in);
    check(!(oversize && a.ok()));
  }
  {
    // The server, answering a NEGOTIATE and then this input as the AUTHENTICATE.
    ntlm::ServerContext server("fuzz-user-\xe2\x82\xac", "pw", "FUZZ", kChallenge, 42);
    const std::string negotiate =
        ntlm::ClientContext({"u", "p", "", ""}, kChallenge, 0).negotiate();
    mms::Result<std::string> ch = server.challenge(in);
    check(!(oversize && ch.ok()));
    if (!ch.ok()) {
      ch = server.challenge(mms::ByteView::of(negotiate));
      check(ch.ok());
    }
    check(ntlm::parse_challenge(mms::ByteView::of(*ch)).ok());
    const mms::Status s = server.verify(in);
    if (s.ok()) {
      check(mms::iequals(server.user(), "fuzz-user-\xe2\x82\xac"));
    }
    check(server.verify(in).code() == mms::Code::kLocalMisuse);
  }
  {
    // The client, answering this input as a CHALLENGE.
    for (bool allow_v1 : {true, false}) {
      ntlm::ClientContext client({"user", "pw", "DOM", "WS"}, kChallenge, 7, {allow_v1});
      mms::Result<std::string> auth = client.authenticate(in);
      if (auth.ok()) {
        check(auth->size() <= ntlm::kMaxMessage);
        check(allow_v1 || !client.used_v1());
        mms::Result<ntlm::Authenticate> a = ntlm::parse_authenticate(mms::ByteView::of(*auth));
        check(a.ok());
        check(a->user == "user" && a->domain == "DOM" && a->workstation == "WS");
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const mms::ByteView in(data, size);
  exercise_ntlm(in);
  mms::Result<std::string> token = spnego::unwrap(in);
  check(!(size > spnego::kMaxToken && token.ok()));
  if (token.ok()) {
    check(token->size() <= size);
    if (ntlm::is_ntlmssp(mms::ByteView::of(*token)) && token->size() <= ntlm::kMaxMessage) {
      exercise_ntlm(mms::ByteView::of(*token));
      mms::Result<std::string> again = spnego::wrap_init(mms::ByteView::of(*token));
      check(again.ok());
      mms::Result<std::string> back = spnego::unwrap(mms::ByteView::of(*again));
      check(back.ok() && *back == *token);
    }
    if (token->size() <= ntlm::kMaxMessage) {
      const std::string resp = spnego::wrap_response(mms::ByteView::of(*token), false);
      mms::Result<std::string> back = spnego::unwrap(mms::ByteView::of(resp));
      check(back.ok() && *back == *token);
    }
  }
  return 0;
}

#include "protocol/auth/ntlm.h"

#include <nettle/des.h>
#include <nettle/hmac.h>
#include <nettle/md4.h>
#include <nettle/md5.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <initializer_list>
#include <utility>
#include <vector>

#include "protocol/auth/md5.h"
#include "protocol/core/byte_reader.h"
#include "protocol/core/byte_writer.h"
#include "protocol/core/text.h"

namespace mms::auth::ntlm {

namespace {

constexpr std::uint8_t kSignature[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};
// Fixed parts of the messages as MS-NLMP 2.2.1 lays them out, without the
// optional Version (and MIC): NEGOTIATE 2.2.1.1, CHALLENGE 2.2.1.2,
// AUTHENTICATE 2.2.1.3.
constexpr std::size_t kNegotiateHeader = 32;
constexpr std::size_t kChallengeHeader = 48;
constexpr std::size_t kChallengeHeaderOld = 32;  // before the TargetInfo fields
constexpr std::size_t kAuthenticateHeader = 64;
// NTLMv2_CLIENT_CHALLENGE up to its AvPairs (2.2.2.7).
constexpr std::size_t kBlobHeader = 28;
static_assert(kMaxMessage <= 0xffff, "a field's u16 Len must hold any field of a message");

const char* const kWrongCredentials = "wrong NTLM credentials";

ByteView view(const std::string& s) {
  return ByteView::of(s);
}

template <std::size_t N>
ByteView view(const std::array<std::uint8_t, N>& a) {
  return ByteView(a.data(), a.size());
}

template <std::size_t N>
std::string to_string(const std::array<std::uint8_t, N>& a) {
  return std::string(ByteView(a.data(), N).as_string_view());
}

bool equal_ct(ByteView a, ByteView b) {
  if (a.size() != b.size()) {
    return false;
  }
  std::uint8_t diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = static_cast<std::uint8_t>(diff | (a[i] ^ b[i]));
  }
  return diff == 0;
}

// ---- text --------------------------------------------------------------------

// The next code point of UTF-8 `s` at *pos (advanced); U+FFFD for a bad
// sequence (one byte consumed).
std::uint32_t next_code_point(std::string_view s, std::size_t* pos) {
  const auto b0 = static_cast<std::uint8_t>(s[*pos]);
  ++*pos;
  if (b0 < 0x80) {
    return b0;
  }
  std::size_t extra = 0;
  std::uint32_t cp = 0;
  std::uint32_t min = 0;
  if ((b0 & 0xe0) == 0xc0) {
    extra = 1;
    cp = b0 & 0x1fu;
    min = 0x80;
  } else if ((b0 & 0xf0) == 0xe0) {
    extra = 2;
    cp = b0 & 0x0fu;
    min = 0x800;
  } else if ((b0 & 0xf8) == 0xf0) {
    extra = 3;
    cp = b0 & 0x07u;
    min = 0x10000;
  } else {
    return 0xfffd;
  }
  if (s.size() - *pos < extra) {
    return 0xfffd;
  }
  for (std::size_t i = 0; i < extra; ++i) {
    const auto b = static_cast<std::uint8_t>(s[*pos + i]);
    if ((b & 0xc0) != 0x80) {
      return 0xfffd;
    }
    cp = (cp << 6) | (b & 0x3fu);
  }
  *pos += extra;
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    return 0xfffd;
  }
  return cp;
}

// Upper case for ASCII and Latin-1 letters (what NTOWFv2's Uppercase(User)
// needs for the names real accounts use).
std::uint32_t to_upper(std::uint32_t cp) {
  if (cp >= 'a' && cp <= 'z') {
    return cp - 0x20;
  }
  if (cp >= 0xe0 && cp <= 0xfe && cp != 0xf7) {
    return cp - 0x20;
  }
  if (cp == 0xff) {
    return 0x178;
  }
  return cp;
}

void put_unit(std::string* out, std::uint32_t unit) {
  out->push_back(static_cast<char>(unit & 0xffu));
  out->push_back(static_cast<char>((unit >> 8) & 0xffu));
}

std::string encode_utf16le(std::string_view utf8, bool upper) {
  std::string out;
  out.reserve(utf8.size() * 2);
  std::size_t pos = 0;
  while (pos < utf8.size()) {
    std::uint32_t cp = next_code_point(utf8, &pos);
    if (upper) {
      cp = to_upper(cp);
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      put_unit(&out, 0xd800 + (cp >> 10));
      put_unit(&out, 0xdc00 + (cp & 0x3ffu));
    } else {
      put_unit(&out, cp);
    }
  }
  return out;
}

// A string field as the negotiated character set wants it.
std::string encode_string(std::string_view utf8, bool unicode) {
  return unicode ? encode_utf16le(utf8, false) : std::string(utf8);
}

Status decode_string(ByteView field, bool unicode, std::string* out) {
  if (!unicode) {
    *out = std::string(field.as_string_view());
    return Status::Ok();
  }
  if (field.size() % 2 != 0) {
    return Status(Code::kMalformed, "ntlm: UTF-16 string of odd length");
  }
  *out = utf16le_to_utf8(field);
  return Status::Ok();
}

// ---- crypto (nettle) ---------------------------------------------------------

Hash16 hmac_md5(ByteView key, std::initializer_list<ByteView> parts) {
  hmac_md5_ctx ctx;
  hmac_md5_set_key(&ctx, key.size(), key.data());
  for (ByteView p : parts) {
    if (!p.empty()) {
      hmac_md5_update(&ctx, p.size(), p.data());
    }
  }
  Hash16 out{};
  hmac_md5_digest(&ctx, out.size(), out.data());
  return out;
}

Hash16 md4(ByteView data) {
  md4_ctx ctx;
  md4_init(&ctx);
  if (!data.empty()) {
    md4_update(&ctx, data.size(), data.data());
  }
  Hash16 out{};
  md4_digest(&ctx, out.size(), out.data());
  return out;
}

// DES (one block) under a 7-byte key spread to 8 bytes, 7 bits each, with odd
// parity in the low bit (MS-NLMP §6, "DES").
void des_7(const std::uint8_t* key7, const std::uint8_t* in, std::uint8_t* out) {
  std::uint8_t k[DES_KEY_SIZE];
  k[0] = key7[0];
  for (int i = 1; i < 7; ++i) {
    k[i] = static_cast<std::uint8_t>((key7[i - 1] << (8 - i)) | (key7[i] >> i));
  }
  k[7] = static_cast<std::uint8_t>(key7[6] << 1);
  des_fix_parity(DES_KEY_SIZE, k, k);
  des_ctx ctx;
  // des_set_key reports weak keys but schedules them all the same; DESL's
  // third key (two hash bytes and five zeros) can be one, legitimately.
  (void)des_set_key(&ctx, k);
  des_encrypt(&ctx, DES_BLOCK_SIZE, out, in);
}

// ---- message writing ---------------------------------------------------------

// Payload fields placed one after another behind a fixed header.
class Layout {
 public:
  explicit Layout(std::size_t header) : offset_(header) {}
  // Writes the (Len, MaxLen, Offset) header of `data` and queues the data.
  void field(ByteWriter* w, std::string data) {
    w->u16le(static_cast<std::uint16_t>(data.size()));
    w->u16le(static_cast<std::uint16_t>(data.size()));
    w->u32le(static_cast<std::uint32_t>(offset_));
    offset_ += data.size();
    payload_.push_back(std::move(data));
  }
  void append_payload(ByteWriter* w) const {
    for (const std::string& p : payload_) {
      w->str(p);
    }
  }

 private:
  std::size_t offset_;
  std::vector<std::string> payload_;
};

std::string as_string(const std::vector<std::uint8_t>& v) {
  return std::string(v.begin(), v.end());
}

void put_av(ByteWriter* w, std::uint16_t id, ByteView value) {
  w->u16le(id);
  w->u16le(static_cast<std::uint16_t>(value.size()));
  w->bytes(value);
}

// ---- message reading ---------------------------------------------------------

Status check_header(ByteView msg, std::size_t min_size, std::uint32_t type, const char* too_short,
                    const char* wrong_type) {
  if (msg.size() > kMaxMessage) {
    return Status(Code::kLimitExceeded, "ntlm: message larger than kMaxMessage");
  }
  if (msg.size() < 8 || std::memcmp(msg.data(), kSignature, 8) != 0) {
    return Status(Code::kMalformed, "ntlm: no NTLMSSP signature");
  }
  if (msg.size() < 12 || load_u32le(msg.data() + 8) != type) {
    return Status(Code::kMalformed, wrong_type);
  }
  if (msg.size() < min_size) {
    return Status(Code::kMalformed, too_short);
  }
  return Status::Ok();
}

// A (Len, MaxLen, Offset) field header and the bytes it points at, which must
// lie inside `msg`.
Status read_field(ByteReader* r, ByteView msg, ByteView* out) {
  std::uint16_t len = 0;
  std::uint16_t max_len = 0;
  std::uint32_t offset = 0;
  if (!r->read_u16le(&len) || !r->read_u16le(&max_len) || !r->read_u32le(&offset)) {
    return Status(Code::kMalformed, "ntlm: message ends inside its fixed fields");
  }
  if (len == 0) {
    *out = ByteView();
    return Status::Ok();
  }
  if (offset > msg.size() || msg.size() - offset < len) {
    return Status(Code::kMalformed, "ntlm: field points outside the message", offset);
  }
  *out = msg.subview(offset, len);
  return Status::Ok();
}

// Walks TargetInfo's AV_PAIRs up to MsvAvEOL; notes MsvAvTimestamp.
Status walk_target_info(ByteView info, Challenge* c) {
  ByteReader r(info);
  for (std::size_t n = 0;; ++n) {
    if (n >= kMaxAvPairs) {
      return Status(Code::kLimitExceeded, "ntlm: more AV_PAIRs than kMaxAvPairs");
    }
    std::uint16_t id = 0;
    std::uint16_t len = 0;
    ByteView value;
    if (!r.read_u16le(&id) || !r.read_u16le(&len)) {
      return Status(Code::kMalformed, "ntlm: TargetInfo ends without MsvAvEOL");
    }
    if (!r.read_view(len, &value)) {
      return Status(Code::kMalformed, "ntlm: AV_PAIR longer than TargetInfo");
    }
    if (id == av::kEol) {
      return Status::Ok();
    }
    if (id == av::kTimestamp) {
      if (len != 8) {
        return Status(Code::kMalformed, "ntlm: MsvAvTimestamp is not 8 bytes");
      }
      c->has_timestamp = true;
      c->timestamp = load_u64le(value.data());
    }
  }
}

}  // namespace

// ---- helpers -----------------------------------------------------------------

bool is_ntlmssp(ByteView token) {
  return token.size() >= 8 && std::memcmp(token.data(), kSignature, 8) == 0;
}

std::uint32_t message_type(ByteView token) {
  if (!is_ntlmssp(token) || token.size() < 12) {
    return 0;
  }
  const std::uint32_t t = load_u32le(token.data() + 8);
  return t >= 1 && t <= 3 ? t : 0;
}

std::string utf16le(std::string_view utf8) {
  return encode_utf16le(utf8, false);
}

// ---- §3.3 computations -------------------------------------------------------

Hash16 nt_owf_v1(std::string_view password) {
  return md4(view(encode_utf16le(password, false)));
}

Hash16 lm_owf_v1(std::string_view password) {
  static constexpr std::uint8_t kMagic[8] = {'K', 'G', 'S', '!', '@', '#', '$', '%'};
  std::uint8_t key[14] = {};
  for (std::size_t i = 0; i < password.size() && i < sizeof(key); ++i) {
    const char ch = password[i];
    key[i] = static_cast<std::uint8_t>(ch >= 'a' && ch <= 'z' ? ch - 'a' + 'A' : ch);
  }
  Hash16 out{};
  des_7(key, kMagic, out.data());
  des_7(key + 7, kMagic, out.data() + 8);
  return out;
}

Hash16 nt_owf_v2(std::string_view user, std::string_view password, std::string_view domain) {
  const Hash16 v1 = nt_owf_v1(password);
  const std::string who = encode_utf16le(user, true) + encode_utf16le(domain, false);
  return hmac_md5(view(v1), {view(who)});
}

Response24 desl(const Hash16& key, const Nonce8& data) {
  std::uint8_t k[21] = {};
  std::memcpy(k, key.data(), key.size());
  Response24 out{};
  des_7(k, data.data(), out.data());
  des_7(k + 7, data.data(), out.data() + 8);
  des_7(k + 14, data.data(), out.data() + 16);
  return out;
}

Response24 ntlmv1_response(const Hash16& nt_owf, const Nonce8& server_challenge) {
  return desl(nt_owf, server_challenge);
}

Response24 ntlmv1_ess_response(const Hash16& nt_owf, const Nonce8& server_challenge,
                               const Nonce8& client_challenge) {
  md5_ctx ctx;
  md5_init(&ctx);
  md5_update(&ctx, server_challenge.size(), server_challenge.data());
  md5_update(&ctx, client_challenge.size(), client_challenge.data());
  std::uint8_t digest[MD5_DIGEST_SIZE];
  md5_digest(&ctx, sizeof(digest), digest);
  Nonce8 first{};
  std::memcpy(first.data(), digest, first.size());
  return desl(nt_owf, first);
}

Response24 lmv1_response(const Hash16& lm_owf, const Nonce8& server_challenge) {
  return desl(lm_owf, server_challenge);
}

std::string ntlmv2_client_blob(std::uint64_t filetime, const Nonce8& client_challenge,
                               ByteView target_info) {
  std::vector<std::uint8_t> out;
  ByteWriter w(&out);
  w.u8(1);  // RespType
  w.u8(1);  // HiRespType
  w.zeros(6);
  w.u64le(filetime);
  w.bytes(view(client_challenge));
  w.zeros(4);
  w.bytes(target_info);
  w.zeros(4);
  return as_string(out);
}

Hash16 nt_proof_str(const Hash16& nt_owf_v2, const Nonce8& server_challenge, ByteView blob) {
  return hmac_md5(view(nt_owf_v2), {view(server_challenge), blob});
}

std::string ntlmv2_response(const Hash16& nt_owf_v2, const Nonce8& server_challenge,
                            const Nonce8& client_challenge, std::uint64_t filetime,
                            ByteView target_info) {
  const std::string blob = ntlmv2_client_blob(filetime, client_challenge, target_info);
  return to_string(nt_proof_str(nt_owf_v2, server_challenge, view(blob))) + blob;
}

Response24 lmv2_response(const Hash16& nt_owf_v2, const Nonce8& server_challenge,
                         const Nonce8& client_challenge) {
  const Hash16 h = hmac_md5(view(nt_owf_v2), {view(server_challenge), view(client_challenge)});
  Response24 out{};
  std::memcpy(out.data(), h.data(), h.size());
  std::memcpy(out.data() + h.size(), client_challenge.data(), client_challenge.size());
  return out;
}

// ---- parsers -----------------------------------------------------------------

Result<Negotiate> parse_negotiate(ByteView msg) {
  MMS_TRY(check_header(msg, kNegotiateHeader, 1, "ntlm: NEGOTIATE shorter than 32 bytes",
                       "ntlm: not a NEGOTIATE message"));
  ByteReader r(msg.subview(12));
  Negotiate n;
  ByteView domain;
  ByteView workstation;
  (void)r.read_u32le(&n.flags);
  MMS_TRY(read_field(&r, msg, &domain));
  MMS_TRY(read_field(&r, msg, &workstation));
  return n;
}

Result<Challenge> parse_challenge(ByteView msg) {
  MMS_TRY(check_header(msg, kChallengeHeaderOld, 2, "ntlm: CHALLENGE shorter than 32 bytes",
                       "ntlm: not a CHALLENGE message"));
  ByteReader r(msg.subview(12));
  Challenge c;
  ByteView target_name;
  MMS_TRY(read_field(&r, msg, &target_name));
  (void)r.read_u32le(&c.flags);
  (void)r.read_bytes(c.server_challenge.size(), c.server_challenge.data());
  const bool unicode = (c.flags & flags::kUnicode) != 0;
  if (!unicode && (c.flags & flags::kOem) == 0) {
    return Status(Code::kMalformed, "ntlm: CHALLENGE selects neither Unicode nor OEM");
  }
  MMS_TRY(decode_string(target_name, unicode, &c.target_name));
  if ((c.flags & flags::kTargetInfo) != 0) {
    if (msg.size() < kChallengeHeader) {
      return Status(Code::kMalformed, "ntlm: CHALLENGE flags TargetInfo but has no TargetInfo");
    }
    ByteView info;
    (void)r.skip(8);  // Reserved
    MMS_TRY(read_field(&r, msg, &info));
    if (!info.empty()) {
      MMS_TRY(walk_target_info(info, &c));
      c.target_info = std::string(info.as_string_view());
    }
  }
  return c;
}

Result<Authenticate> parse_authenticate(ByteView msg) {
  MMS_TRY(check_header(msg, kAuthenticateHeader, 3, "ntlm: AUTHENTICATE shorter than 64 bytes",
                       "ntlm: not an AUTHENTICATE message"));
  ByteReader r(msg.subview(12));
  ByteView lm;
  ByteView nt;
  ByteView domain;
  ByteView user;
  ByteView workstation;
  ByteView session_key;
  MMS_TRY(read_field(&r, msg, &lm));
  MMS_TRY(read_field(&r, msg, &nt));
  MMS_TRY(read_field(&r, msg, &domain));
  MMS_TRY(read_field(&r, msg, &user));
  MMS_TRY(read_field(&r, msg, &workstation));
  MMS_TRY(read_field(&r, msg, &session_key));
  Authenticate a;
  (void)r.read_u32le(&a.flags);
  const bool unicode = (a.flags & flags::kUnicode) != 0;
  if (!unicode && (a.flags & flags::kOem) == 0) {
    return Status(Code::kMalformed, "ntlm: AUTHENTICATE selects neither Unicode nor OEM");
  }
  a.lm_response = std::string(lm.as_string_view());
  a.nt_response = std::string(nt.as_string_view());
  MMS_TRY(decode_string(domain, unicode, &a.domain));
  MMS_TRY(decode_string(user, unicode, &a.user));
  MMS_TRY(decode_string(workstation, unicode, &a.workstation));
  return a;
}

// ---- ClientContext -----------------------------------------------------------

ClientContext::ClientContext(Credentials creds, Nonce8 client_challenge, std::uint64_t filetime,
                             Options options)
    : creds_(std::move(creds)),
      client_challenge_(client_challenge),
      filetime_(filetime),
      options_(options) {}

std::string ClientContext::negotiate() const {
  std::vector<std::uint8_t> out;
  ByteWriter w(&out);
  w.bytes(ByteView(kSignature, sizeof(kSignature)));
  w.u32le(1);
  w.u32le(flags::kUnicode | flags::kRequestTarget | flags::kNtlm | flags::kAlwaysSign |
          flags::kExtendedSessionSecurity | flags::k128 | flags::k56);
  w.zeros(8);  // DomainNameFields
  w.zeros(8);  // WorkstationFields
  return as_string(out);
}

Result<std::string> ClientContext::authenticate(ByteView challenge) {
  Result<Challenge> c = parse_challenge(challenge);
  if (!c.ok()) {
    return c.status();
  }
  const bool unicode = (c->flags & flags::kUnicode) != 0;
  std::uint32_t out_flags =
      flags::kNtlm | (unicode ? flags::kUnicode : flags::kOem) |
      (c->flags & (flags::kRequestTarget | flags::kAlwaysSign | flags::kExtendedSessionSecurity |
                   flags::kTargetInfo | flags::k128 | flags::k56));
  std::string lm;
  std::string nt;
  if (!c->target_info.empty()) {
    // NTLMv2 (§3.3.2). With the server's MsvAvTimestamp the blob carries that
    // time and LmChallengeResponse is Z(24) (§3.1.5.1.2).
    const Hash16 key = nt_owf_v2(creds_.user, creds_.password, creds_.domain);
    const std::uint64_t time = c->has_timestamp ? c->timestamp : filetime_;
    nt = ntlmv2_response(key, c->server_challenge, client_challenge_, time, view(c->target_info));
    lm = c->has_timestamp ? std::string(24, '\0')
                          : to_string(lmv2_response(key, c->server_challenge, client_challenge_));
    used_v1_ = false;
  } else {
    if (!options_.allow_v1) {
      return Status(Code::kUnsupported, "ntlm: the server offers only NTLMv1 (no TargetInfo)");
    }
    const Hash16 key = nt_owf_v1(creds_.password);
    if ((c->flags & flags::kExtendedSessionSecurity) != 0) {
      nt = to_string(ntlmv1_ess_response(key, c->server_challenge, client_challenge_));
      lm = to_string(client_challenge_) + std::string(16, '\0');
    } else {
      // No LM hash on the wire: LmChallengeResponse repeats the NT response
      // (§3.3.1, NoLMResponseNTLMv1).
      nt = to_string(ntlmv1_response(key, c->server_challenge));
      lm = nt;
    }
    used_v1_ = true;
  }
  std::string domain = encode_string(creds_.domain, unicode);
  std::string user = encode_string(creds_.user, unicode);
  std::string workstation = encode_string(creds_.workstation, unicode);
  const std::size_t total = kAuthenticateHeader + lm.size() + nt.size() + domain.size() +
                            user.size() + workstation.size();
  if (total > kMaxMessage) {  // which keeps every field under its u16 Len too
    return Status(Code::kLimitExceeded, "ntlm: AUTHENTICATE larger than kMaxMessage");
  }
  std::vector<std::uint8_t> out;
  ByteWriter w(&out);
  w.bytes(ByteView(kSignature, sizeof(kSignature)));
  w.u32le(3);
  // Header order: LM, NT, domain, user, workstation, session key; payload in
  // the order Windows writes it: domain, user, workstation, LM, NT.
  const std::size_t strings = domain.size() + user.size() + workstation.size();
  auto put = [&w](std::size_t offset, std::size_t len) {
    w.u16le(static_cast<std::uint16_t>(len));
    w.u16le(static_cast<std::uint16_t>(len));
    w.u32le(static_cast<std::uint32_t>(offset));
  };
  put(kAuthenticateHeader + strings, lm.size());
  put(kAuthenticateHeader + strings + lm.size(), nt.size());
  put(kAuthenticateHeader, domain.size());
  put(kAuthenticateHeader + domain.size(), user.size());
  put(kAuthenticateHeader + domain.size() + user.size(), workstation.size());
  put(total, 0);  // EncryptedRandomSessionKey: no key exchange
  w.u32le(out_flags);
  w.str(domain);
  w.str(user);
  w.str(workstation);
  w.str(lm);
  w.str(nt);
  return as_string(out);
}

// ---- ServerContext -----------------------------------------------------------

ServerContext::ServerContext(std::string user, std::string password, std::string target,
                             Nonce8 server_challenge, std::uint64_t filetime, bool accept_v1)
    : user_(std::move(user)),
      password_(std::move(password)),
      target_(std::move(target)),
      server_challenge_(server_challenge),
      filetime_(filetime),
      accept_v1_(accept_v1) {}

Result<std::string> ServerContext::challenge(ByteView negotiate) {
  Result<Negotiate> n = parse_negotiate(negotiate);
  if (!n.ok()) {
    return n.status();
  }
  const std::uint32_t f = n->flags;
  if ((f & (flags::kUnicode | flags::kOem)) == 0) {
    return Status(Code::kMalformed, "ntlm: NEGOTIATE offers neither Unicode nor OEM");
  }
  const bool unicode = (f & flags::kUnicode) != 0;
  // Unicode when offered; OEM echoed beside it when the client offers both, as
  // the example of §4.2.4.3 does. Strings are UTF-16 whenever Unicode is set.
  std::uint32_t out_flags =
      (f & (flags::kUnicode | flags::kOem)) | flags::kRequestTarget | flags::kNtlm |
      flags::kTargetTypeDomain | flags::kTargetInfo |
      (f & (flags::kAlwaysSign | flags::kExtendedSessionSecurity | flags::k128 | flags::k56));
  const std::string name = encode_string(target_, unicode);
  const std::string name16 = encode_utf16le(target_, false);  // AV_PAIR strings are Unicode
  std::vector<std::uint8_t> info;
  {
    ByteWriter iw(&info);
    put_av(&iw, av::kNbDomainName, view(name16));
    put_av(&iw, av::kNbComputerName, view(name16));
    std::uint8_t ts[8];
    store_u64le(ts, filetime_);
    put_av(&iw, av::kTimestamp, ByteView(ts, sizeof(ts)));
    put_av(&iw, av::kEol, ByteView());
  }
  if (kChallengeHeader + name.size() + info.size() > kMaxMessage) {
    return Status(Code::kLimitExceeded, "ntlm: target name too long for a CHALLENGE");
  }
  std::vector<std::uint8_t> out;
  ByteWriter w(&out);
  w.bytes(ByteView(kSignature, sizeof(kSignature)));
  w.u32le(2);
  Layout layout(kChallengeHeader);
  layout.field(&w, name);
  w.u32le(out_flags);
  w.bytes(view(server_challenge_));
  w.zeros(8);  // Reserved
  layout.field(&w, as_string(info));
  layout.append_payload(&w);
  challenged_ = true;
  return as_string(out);
}

Status ServerContext::verify(ByteView authenticate) {
  if (!challenged_) {
    return Status(Code::kLocalMisuse, "ntlm: verify() without a challenge()");
  }
  challenged_ = false;  // one answer per challenge
  Result<Authenticate> a = parse_authenticate(authenticate);
  if (!a.ok()) {
    return a.status();
  }
  peer_user_ = a->user;
  const bool user_ok =
      encode_utf16le(a->user, true) == encode_utf16le(user_, true);  // case-insensitive
  const std::string& nt = a->nt_response;
  bool proof_ok = false;
  if (nt.size() == 24) {
    used_v1_ = true;
    if (!accept_v1_) {
      return Status(Code::kNotAuthorized, kWrongCredentials);
    }
    const Hash16 key = nt_owf_v1(password_);
    Response24 expected{};
    if ((a->flags & flags::kExtendedSessionSecurity) != 0 && a->lm_response.size() == 24) {
      Nonce8 cc{};
      std::memcpy(cc.data(), a->lm_response.data(), cc.size());
      expected = ntlmv1_ess_response(key, server_challenge_, cc);
    } else {
      expected = ntlmv1_response(key, server_challenge_);
    }
    proof_ok = equal_ct(view(expected), view(nt));
  } else if (nt.size() >= 16 + kBlobHeader) {
    used_v1_ = false;
    const ByteView blob = view(nt).subview(16);
    if (blob[0] != 1 || blob[1] != 1) {
      return Status(Code::kMalformed, "ntlm: NTLMv2 response of an unknown version");
    }
    const Hash16 key = nt_owf_v2(a->user, password_, a->domain);
    proof_ok = equal_ct(view(nt_proof_str(key, server_challenge_, blob)), view(nt).subview(0, 16));
  } else if (nt.empty()) {
    return Status(Code::kNotAuthorized, kWrongCredentials);  // anonymous
  } else {
    return Status(Code::kMalformed, "ntlm: NtChallengeResponse of impossible length",
                  static_cast<std::uint32_t>(nt.size()));
  }
  if (!user_ok || !proof_ok) {
    return Status(Code::kNotAuthorized, kWrongCredentials);
  }
  return Status::Ok();
}

Nonce8 nonce_from(std::string_view seed) {
  const std::array<std::uint8_t, 16> h = md5(ByteView::of(seed));
  Nonce8 out{};
  std::copy(h.begin(), h.begin() + out.size(), out.begin());
  return out;
}

Credentials credentials_for(std::string_view user, std::string_view password) {
  Credentials out;
  const std::size_t slash = user.find('\\');
  if (slash != std::string_view::npos) {
    out.domain = std::string(user.substr(0, slash));
    out.user = std::string(user.substr(slash + 1));
  } else {
    out.user = std::string(user);
  }
  out.password = std::string(password);
  return out;
}

std::uint64_t filetime_now() {
  // 100 ns units between 1601-01-01 and 1970-01-01.
  constexpr std::uint64_t kUnixEpochAsFiletime = 116444736000000000ull;
  const auto since_unix = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  const std::int64_t us = since_unix.count();
  return kUnixEpochAsFiletime + (us > 0 ? static_cast<std::uint64_t>(us) * 10 : 0);
}

}  // namespace mms::auth::ntlm

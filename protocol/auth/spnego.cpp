#include "protocol/auth/spnego.h"

#include <cstdint>
#include <string_view>

namespace mms::auth::spnego {

namespace {

// DER identifiers used here (X.690 8.1.2).
constexpr std::uint8_t kTagEnumerated = 0x0a;
constexpr std::uint8_t kTagOctetString = 0x04;
constexpr std::uint8_t kTagOid = 0x06;
constexpr std::uint8_t kTagSequence = 0x30;
constexpr std::uint8_t kTagApplication0 = 0x60;  // GSS InitialContextToken (RFC 2743 3.1)
constexpr std::uint8_t kTagNegTokenInit = 0xa0;  // NegotiationToken CHOICE [0]
constexpr std::uint8_t kTagNegTokenResp = 0xa1;  // NegotiationToken CHOICE [1]
constexpr std::uint8_t context(unsigned n) {
  return static_cast<std::uint8_t>(0xa0 + n);  // [n] constructed, context-specific
}

// OID contents (without tag and length).
constexpr std::string_view kSpnegoOid("\x2b\x06\x01\x05\x05\x02", 6);  // 1.3.6.1.5.5.2
constexpr std::string_view kNtlmsspOid("\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a",
                                       10);  // 1.3.6.1.4.1.311.2.2.10

// negState (RFC 4178 4.2.2).
constexpr std::uint8_t kAcceptCompleted = 0;
constexpr std::uint8_t kAcceptIncomplete = 1;
constexpr std::uint8_t kReject = 2;

// ---- writing -----------------------------------------------------------------

void put_length(std::string* out, std::size_t len) {
  if (len < 0x80) {
    out->push_back(static_cast<char>(len));
    return;
  }
  int n = 0;
  for (std::size_t v = len; v != 0; v >>= 8) {
    ++n;
  }
  out->push_back(static_cast<char>(0x80 | n));
  for (int i = n - 1; i >= 0; --i) {
    out->push_back(static_cast<char>((len >> (8 * i)) & 0xffu));
  }
}

std::string tlv(std::uint8_t tag, std::string_view contents) {
  std::string out;
  out.push_back(static_cast<char>(tag));
  put_length(&out, contents.size());
  out.append(contents);
  return out;
}

std::string ntlmssp_mech() {
  return tlv(kTagOid, kNtlmsspOid);
}

// ---- reading -----------------------------------------------------------------

// One TLV from the front of a view.
struct Element {
  std::uint8_t tag = 0;
  ByteView contents;
};

class DerReader {
 public:
  explicit DerReader(ByteView data) : data_(data) {}
  bool empty() const { return pos_ == data_.size(); }
  std::uint8_t peek() const { return data_[pos_]; }

  Status next(Element* e) {
    if (data_.size() - pos_ < 2) {
      return Status(Code::kMalformed, "spnego: DER element cut short");
    }
    const std::uint8_t tag = data_[pos_];
    if ((tag & 0x1f) == 0x1f) {
      return Status(Code::kMalformed, "spnego: multi-byte DER tag");
    }
    std::size_t p = pos_ + 1;
    std::size_t len = data_[p++];
    if (len == 0x80) {
      return Status(Code::kMalformed, "spnego: indefinite DER length");
    }
    if (len > 0x80) {
      const std::size_t n = len - 0x80;
      if (n > 4) {
        return Status(Code::kMalformed, "spnego: DER length over 4 bytes");
      }
      if (data_.size() - p < n) {
        return Status(Code::kMalformed, "spnego: DER length cut short");
      }
      len = 0;
      for (std::size_t i = 0; i < n; ++i) {
        len = (len << 8) | data_[p++];
      }
    }
    if (data_.size() - p < len) {
      return Status(Code::kMalformed, "spnego: DER length beyond the input");
    }
    e->tag = tag;
    e->contents = data_.subview(p, len);
    pos_ = p + len;
    return Status::Ok();
  }
  // The next element, which must carry `tag`.
  Status expect(std::uint8_t tag, ByteView* contents, const char* what) {
    Element e;
    MMS_TRY(next(&e));
    if (e.tag != tag) {
      return Status(Code::kMalformed, what, e.tag);
    }
    *contents = e.contents;
    return Status::Ok();
  }

 private:
  ByteView data_;
  std::size_t pos_ = 0;
};

bool is_oid(ByteView contents, std::string_view oid) {
  return contents.as_string_view() == oid;
}

// NegTokenInit ::= SEQUENCE { mechTypes [0], reqFlags [1], mechToken [2],
// mechListMIC [3] } (RFC 4178 4.2.1).
Result<std::string> read_init(ByteView choice) {
  DerReader outer(choice);
  ByteView seq;
  MMS_TRY(outer.expect(kTagSequence, &seq, "spnego: NegTokenInit is not a SEQUENCE"));
  if (!outer.empty()) {
    return Status(Code::kMalformed, "spnego: bytes after NegTokenInit");
  }
  DerReader r(seq);
  bool offers_ntlm = false;
  bool has_token = false;
  ByteView token;
  while (!r.empty()) {
    Element e;
    MMS_TRY(r.next(&e));
    if (e.tag == context(0)) {
      DerReader list_outer(e.contents);
      ByteView list;
      MMS_TRY(list_outer.expect(kTagSequence, &list, "spnego: mechTypes is not a SEQUENCE"));
      DerReader mechs(list);
      while (!mechs.empty()) {
        ByteView oid;
        MMS_TRY(mechs.expect(kTagOid, &oid, "spnego: mechTypes holds a non-OID"));
        offers_ntlm = offers_ntlm || is_oid(oid, kNtlmsspOid);
      }
    } else if (e.tag == context(2)) {
      DerReader t(e.contents);
      MMS_TRY(t.expect(kTagOctetString, &token, "spnego: mechToken is not an OCTET STRING"));
      has_token = true;
    }
    // reqFlags [1], mechListMIC [3] and later extensions are not needed.
  }
  if (!offers_ntlm) {
    return Status(Code::kUnsupported, "spnego: NegTokenInit does not offer NTLMSSP");
  }
  if (!has_token || !ntlm::is_ntlmssp(token)) {
    return Status(Code::kUnsupported, "spnego: NegTokenInit carries no NTLMSSP token");
  }
  return std::string(token.as_string_view());
}

// NegTokenResp ::= SEQUENCE { negState [0], supportedMech [1],
// responseToken [2], mechListMIC [3] } (RFC 4178 4.2.2).
Result<std::string> read_resp(ByteView choice) {
  DerReader outer(choice);
  ByteView seq;
  MMS_TRY(outer.expect(kTagSequence, &seq, "spnego: NegTokenResp is not a SEQUENCE"));
  if (!outer.empty()) {
    return Status(Code::kMalformed, "spnego: bytes after NegTokenResp");
  }
  DerReader r(seq);
  std::string token;
  while (!r.empty()) {
    Element e;
    MMS_TRY(r.next(&e));
    DerReader inner(e.contents);
    ByteView v;
    if (e.tag == context(0)) {
      MMS_TRY(inner.expect(kTagEnumerated, &v, "spnego: negState is not ENUMERATED"));
      if (v.size() != 1) {
        return Status(Code::kMalformed, "spnego: negState is not one byte");
      }
      if (v[0] == kReject) {
        return Status(Code::kUnsupported, "spnego: NegTokenResp rejects");
      }
    } else if (e.tag == context(1)) {
      MMS_TRY(inner.expect(kTagOid, &v, "spnego: supportedMech is not an OID"));
      if (!is_oid(v, kNtlmsspOid)) {
        return Status(Code::kUnsupported,
                      "spnego: NegTokenResp selects a mechanism other than NTLMSSP");
      }
    } else if (e.tag == context(2)) {
      MMS_TRY(inner.expect(kTagOctetString, &v, "spnego: responseToken is not an OCTET STRING"));
      token = std::string(v.as_string_view());
    }
  }
  return token;
}

}  // namespace

Result<std::string> wrap_init(ByteView ntlm) {
  if (ntlm.size() > ntlm::kMaxMessage) {
    return Status(Code::kLimitExceeded, "spnego: NTLM token larger than kMaxMessage");
  }
  const std::string mech_types = tlv(context(0), tlv(kTagSequence, ntlmssp_mech()));
  const std::string mech_token = tlv(context(2), tlv(kTagOctetString, ntlm.as_string_view()));
  const std::string init = tlv(kTagNegTokenInit, tlv(kTagSequence, mech_types + mech_token));
  return tlv(kTagApplication0, tlv(kTagOid, kSpnegoOid) + init);
}

std::string wrap_response(ByteView ntlm, bool accept_completed) {
  std::string fields = tlv(
      context(0),
      tlv(kTagEnumerated, std::string(1, static_cast<char>(accept_completed ? kAcceptCompleted
                                                                            : kAcceptIncomplete))));
  if (!accept_completed) {
    fields += tlv(context(1), ntlmssp_mech());
  }
  if (!ntlm.empty()) {
    fields += tlv(context(2), tlv(kTagOctetString, ntlm.as_string_view()));
  }
  return tlv(kTagNegTokenResp, tlv(kTagSequence, fields));
}

Result<std::string> wrap_response_client(ByteView ntlm) {
  if (ntlm.size() > ntlm::kMaxMessage) {
    return Status(Code::kLimitExceeded, "spnego: NTLM token larger than kMaxMessage");
  }
  return tlv(kTagNegTokenResp,
             tlv(kTagSequence, tlv(context(2), tlv(kTagOctetString, ntlm.as_string_view()))));
}

Result<std::string> unwrap(ByteView token) {
  if (token.size() > kMaxToken) {
    return Status(Code::kLimitExceeded, "spnego: token larger than kMaxToken");
  }
  if (ntlm::is_ntlmssp(token)) {
    return std::string(token.as_string_view());
  }
  DerReader top(token);
  Element e;
  MMS_TRY(top.next(&e));
  if (!top.empty()) {
    return Status(Code::kMalformed, "spnego: bytes after the token");
  }
  if (e.tag == kTagApplication0) {
    DerReader gss(e.contents);
    ByteView oid;
    MMS_TRY(gss.expect(kTagOid, &oid, "spnego: GSS token without a mechanism OID"));
    if (!is_oid(oid, kSpnegoOid)) {
      return Status(Code::kUnsupported, "spnego: GSS token of a mechanism other than SPNEGO");
    }
    ByteView init;
    MMS_TRY(gss.expect(kTagNegTokenInit, &init, "spnego: GSS token without a NegTokenInit"));
    if (!gss.empty()) {
      return Status(Code::kMalformed, "spnego: bytes after the NegTokenInit");
    }
    return read_init(init);
  }
  if (e.tag == kTagNegTokenInit) {
    return read_init(e.contents);
  }
  if (e.tag == kTagNegTokenResp) {
    return read_resp(e.contents);
  }
  return Status(Code::kMalformed, "spnego: neither NTLMSSP nor a NegotiationToken", e.tag);
}

}  // namespace mms::auth::spnego

// Small MMS helpers both roles need: subscriber names and versions, BASIC
// challenge/response tokens, the NTLM pToken framing, the CLIENT_LOG for Logging. Declared in
// protocol/mmst/messages.h.
#include <cstring>
#include <string>
#include <vector>

#include "protocol/auth/ntlm.h"
#include "protocol/core/byte_reader.h"
#include "protocol/core/text.h"
#include "protocol/mmst/messages.h"

namespace mms::mmst {
namespace {

void put_ansi(std::vector<std::uint8_t>* buf, std::size_t off, std::size_t size,
              const std::string& s) {
  const std::string& v = s.empty() ? std::string("-") : s;
  const std::size_t n = v.size() < size ? v.size() : size - 1;
  std::memcpy(buf->data() + off, v.data(), n);
  (*buf)[off + n] = 0;
}

int leading_int(const std::string& s, std::size_t pos) {
  int v = -1;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9' && v < 100000) {
    v = (v < 0 ? 0 : v * 10) + (s[pos] - '0');
    ++pos;
  }
  return v;
}

}  // namespace

std::string make_subscriber_name(const std::string& version, const std::string& guid,
                                 const std::string& host) {
  std::string s = "NSPlayer/" + version + "; {" + guid + "}";
  if (!host.empty()) {
    s += "; Host: " + host;
  }
  return s;
}

int player_major_version(const std::string& subscriber_name) {
  static constexpr char kToken[] = "NSPlayer/";
  const std::size_t pos = subscriber_name.find(kToken);
  if (pos == std::string::npos) {
    return -1;
  }
  return leading_int(subscriber_name, pos + sizeof(kToken) - 1);
}

int server_major_version(const std::string& server_version_info) {
  return leading_int(server_version_info, 0);
}

std::vector<std::uint8_t> basic_challenge_token(const std::string& realm) {
  std::vector<std::uint8_t> out = utf8_to_utf16le("realm=\"" + realm + "\"");
  out.push_back(0);
  out.push_back(0);
  return out;
}

std::vector<std::uint8_t> basic_response_token(const std::string& user,
                                               const std::string& password) {
  const std::string b64 = base64_encode(user + ":" + password);
  std::vector<std::uint8_t> out(b64.begin(), b64.end());
  out.push_back(0);
  return out;
}

bool is_ntlm_token(ByteView token) {
  return token.size() >= 2 && token[0] == 0 && token[1] == 0;
}

std::vector<std::uint8_t> make_ntlm_token(ByteView ntlmssp, bool wrapped) {
  std::vector<std::uint8_t> out(2 + (wrapped ? kNtlmAuthSize : 0), 0);
  if (wrapped) {
    std::uint8_t* a = out.data() + 2;
    store_u32le(a + 4, 1);  // One
    store_u32le(a + 12, static_cast<std::uint32_t>(ntlmssp.size()));
    store_u32le(a + 16, 2);  // Two
  }
  out.insert(out.end(), ntlmssp.begin(), ntlmssp.end());
  return out;
}

namespace {

bool is_ntlm_auth(ByteView v) {
  return v.size() >= kNtlmAuthSize && load_u32le(v.data()) == 0 && load_u32le(v.data() + 4) == 1 &&
         load_u32le(v.data() + 16) == 2;
}

bool all_zero(ByteView v) {
  for (std::uint8_t b : v) {
    if (b != 0) {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<NtlmToken> parse_ntlm_token(ByteView p_token) {
  if (!is_ntlm_token(p_token)) {
    return Status(Code::kMalformed, "NTLM pToken does not start with 00 00");
  }
  NtlmToken t;
  ByteView auth_struct;
  if (is_ntlm_auth(p_token.subview(2))) {
    auth_struct = p_token.subview(2);
  } else if (is_ntlm_auth(p_token)) {
    auth_struct = p_token;  // the two zero bytes read as the start of Zero
  }
  if (!auth_struct.empty()) {
    const std::uint32_t size = load_u32le(auth_struct.data() + 12);
    if (size > auth_struct.size() - kNtlmAuthSize) {
      return Status(Code::kMalformed, "NTLM_AUTH NTLMTokenSize beyond the pToken", size);
    }
    t.wrapped = true;
    t.ntlmssp = auth_struct.subview(kNtlmAuthSize, size);
  } else {
    const ByteView rest = p_token.subview(2);
    if (all_zero(rest)) {
      return t;  // the initial challenge (maybe with a terminating byte)
    }
    if (!auth::ntlm::is_ntlmssp(rest)) {
      return Status(Code::kMalformed, "NTLM pToken holds neither NTLM_AUTH nor an NTLMSSP token");
    }
    t.ntlmssp = rest;
  }
  if (t.ntlmssp.size() > auth::ntlm::kMaxMessage) {
    return Status(Code::kLimitExceeded, "NTLM token above kMaxMessage",
                  static_cast<std::uint32_t>(t.ntlmssp.size()));
  }
  if (!t.ntlmssp.empty() && !auth::ntlm::is_ntlmssp(t.ntlmssp)) {
    return Status(Code::kMalformed, "NTLM_AUTH holds no NTLMSSP token");
  }
  return t;
}

std::vector<std::uint8_t> make_client_log(std::uint32_t source_id, const std::string& url,
                                          const std::string& transport) {
  std::vector<std::uint8_t> log(kClientLogSize, 0);
  constexpr std::size_t kInfo = 4;  // CLIENT_LOG_INFO offset in CLIENT_LOG
  store_u32le(log.data(), kClientLogSize);
  store_u32le(log.data() + kInfo, kClientLogInfoSize);
  put_ansi(&log, kInfo + 4, 260, url);         // szURL
  put_ansi(&log, kInfo + 264, 260, "");        // szChannelURL
  put_ansi(&log, kInfo + 524, 64, "");         // szUserAgent
  put_ansi(&log, kInfo + 588, 260, "");        // szHostingWebPage
  put_ansi(&log, kInfo + 856, 16, "en-US");    // szLang
  put_ansi(&log, kInfo + 872, 40, "");         // szUniquePID
  put_ansi(&log, kInfo + 912, 32, "");         // szHostExe
  put_ansi(&log, kInfo + 968, 64, "");         // szAudioCodec
  put_ansi(&log, kInfo + 1032, 64, "");        // szVideoCodec
  store_u16le(log.data() + kInfo + 1104, 1);   // rate
  store_u32le(log.data() + 1146, source_id);   // dwSourceId
  store_u32le(log.data() + 1150, 0xFFFFFFFF);  // dwIPAddress
  put_ansi(&log, 1154, 260, "");               // szComputerDNS
  put_ansi(&log, 1414, 16, "Linux");           // szOS
  put_ansi(&log, 1438, 16, "");                // szCPU
  put_ansi(&log, 1454, 8, "mms");              // szProto
  put_ansi(&log, 1462, 8, transport);          // szTransport
  return log;
}

}  // namespace mms::mmst

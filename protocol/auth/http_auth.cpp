#include "protocol/auth/http_auth.h"

#include "protocol/auth/md5.h"
#include "protocol/core/limits.h"
#include "protocol/core/text.h"

namespace mms::auth {

const std::string* AuthChallenge::param(std::string_view name) const {
  for (const AuthParam& p : params) {
    if (iequals(p.name, name)) {
      return &p.value;
    }
  }
  return nullptr;
}

bool AuthChallenge::is(std::string_view scheme_name) const {
  return iequals(scheme, scheme_name);
}

Result<std::vector<AuthChallenge>> parse_auth(std::string_view value) {
  std::vector<AuthChallenge> out;
  std::size_t pos = 0;
  auto skip_ws = [&] {
    while (pos < value.size() && (is_lws(value[pos]) || value[pos] == ',')) {
      ++pos;
    }
  };
  auto read_token = [&] {
    const std::size_t b = pos;
    while (pos < value.size() && is_token_char(value[pos])) {
      ++pos;
    }
    return value.substr(b, pos - b);
  };
  skip_ws();
  while (pos < value.size()) {
    const std::string_view scheme = read_token();
    if (scheme.empty()) {
      return Status(Code::kMalformed, "auth: bad auth scheme");
    }
    if (out.size() >= limits::kMaxAuthChallenges) {
      return Status(Code::kLimitExceeded, "auth: more challenges than kMaxAuthChallenges");
    }
    AuthChallenge c;
    c.scheme = std::string(scheme);
    while (pos < value.size() && is_lws(value[pos])) {
      ++pos;
    }
    // token68 (Basic credentials): everything up to a comma, if no '=' follows a token.
    {
      const std::size_t save = pos;
      const std::string_view tok = read_token();
      std::size_t k = pos;
      while (k < value.size() && is_lws(value[k])) {
        ++k;
      }
      const bool is_param = !tok.empty() && k < value.size() && value[k] == '=' &&
                            !(k + 1 >= value.size() || value[k + 1] == '=' || value[k + 1] == ',');
      pos = save;
      if (!is_param && save < value.size() && value[save] != ',') {
        std::size_t e = value.find(',', save);
        if (e == std::string_view::npos) {
          e = value.size();
        }
        c.token68 = std::string(trim_lws(value.substr(save, e - save)));
        pos = e;
        out.push_back(std::move(c));
        skip_ws();
        continue;
      }
    }
    // auth-params until the next "<token> <token|token=>" (a new challenge).
    while (true) {
      skip_ws();
      if (pos >= value.size()) {
        break;
      }
      const std::size_t save = pos;
      const std::string_view name = read_token();
      std::size_t k = pos;
      while (k < value.size() && is_lws(value[k])) {
        ++k;
      }
      if (name.empty() || k >= value.size() || value[k] != '=') {
        if (name.empty()) {
          return Status(Code::kMalformed, "auth: bad auth parameter");
        }
        pos = save;  // next challenge
        break;
      }
      pos = k + 1;
      while (pos < value.size() && is_lws(value[pos])) {
        ++pos;
      }
      std::string v;
      if (pos < value.size() && value[pos] == '"') {
        ++pos;
        bool closed = false;
        while (pos < value.size()) {
          const char ch = value[pos++];
          if (ch == '\\' && pos < value.size()) {
            v.push_back(value[pos++]);
          } else if (ch == '"') {
            closed = true;
            break;
          } else {
            v.push_back(ch);
          }
        }
        if (!closed) {
          return Status(Code::kMalformed, "auth: unterminated quoted auth parameter");
        }
      } else {
        const std::size_t b = pos;
        while (pos < value.size() && value[pos] != ',' && !is_lws(value[pos])) {
          ++pos;
        }
        v = std::string(value.substr(b, pos - b));
      }
      if (c.params.size() >= limits::kMaxAuthParams) {
        return Status(Code::kLimitExceeded, "auth: more auth parameters than kMaxAuthParams");
      }
      c.params.push_back(AuthParam{ascii_lower(name), std::move(v)});
    }
    out.push_back(std::move(c));
    skip_ws();
  }
  return out;
}

std::string basic_authorization(std::string_view user, std::string_view password) {
  const std::string plain = std::string(user) + ":" + std::string(password);
  return "Basic " + base64_encode(ByteView::of(plain));
}

bool parse_basic_credentials(const AuthChallenge& credentials, std::string* user,
                             std::string* password) {
  std::vector<std::uint8_t> plain;
  if (!credentials.is("Basic") ||
      !base64_decode(credentials.token68, &plain, Base64Mode::kLenient)) {
    return false;
  }
  const std::string s(plain.begin(), plain.end());
  const std::size_t colon = s.find(':');
  if (colon == std::string::npos) {
    return false;
  }
  *user = s.substr(0, colon);
  *password = s.substr(colon + 1);
  return true;
}

std::string digest_response(const DigestInput& in) {
  std::string ha1 = md5_hex(in.user + ":" + in.realm + ":" + in.password);
  if (iequals(in.algorithm, "MD5-sess")) {
    ha1 = md5_hex(ha1 + ":" + in.nonce + ":" + in.cnonce);
  }
  const std::string ha2 = md5_hex(in.method + ":" + in.uri);
  if (in.qop.empty()) {
    return md5_hex(ha1 + ":" + in.nonce + ":" + ha2);
  }
  return md5_hex(ha1 + ":" + in.nonce + ":" + in.nc + ":" + in.cnonce + ":" + in.qop + ":" + ha2);
}

namespace {

std::string quoted(std::string_view v) {
  std::string s = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') {
      s.push_back('\\');
    }
    s.push_back(c);
  }
  s.push_back('"');
  return s;
}

}  // namespace

Result<std::string> digest_authorization(const AuthChallenge& challenge, std::string_view user,
                                         std::string_view password, std::string_view method,
                                         std::string_view uri, std::string_view cnonce) {
  const std::string* realm = challenge.param("realm");
  const std::string* nonce = challenge.param("nonce");
  if (!challenge.is("Digest") || realm == nullptr || nonce == nullptr) {
    return Status(Code::kMalformed, "auth: Digest challenge without realm or nonce");
  }
  DigestInput in;
  in.user = std::string(user);
  in.password = std::string(password);
  in.realm = *realm;
  in.nonce = *nonce;
  in.method = std::string(method);
  in.uri = std::string(uri);
  in.cnonce = std::string(cnonce);
  if (const std::string* alg = challenge.param("algorithm")) {
    if (!iequals(*alg, "MD5") && !iequals(*alg, "MD5-sess")) {
      return Status(Code::kUnsupported, "auth: Digest algorithm other than MD5");
    }
    in.algorithm = *alg;
  }
  if (const std::string* qop = challenge.param("qop")) {
    bool auth = false;
    for (std::string_view q : split_unquoted(*qop, ',')) {
      auth = auth || iequals(trim_lws(q), "auth");
    }
    if (!auth) {
      return Status(Code::kUnsupported, "auth: Digest qop without auth");
    }
    in.qop = "auth";
  }
  std::string s = "Digest username=" + quoted(user) + ", realm=" + quoted(*realm) +
                  ", nonce=" + quoted(*nonce) + ", uri=" + quoted(uri) +
                  ", response=" + quoted(digest_response(in));
  if (!in.algorithm.empty()) {
    s += ", algorithm=" + in.algorithm;
  }
  if (const std::string* opaque = challenge.param("opaque")) {
    s += ", opaque=" + quoted(*opaque);
  }
  if (!in.qop.empty()) {
    s += ", qop=auth, nc=" + in.nc + ", cnonce=" + quoted(cnonce);
  }
  return s;
}

bool digest_verify(const AuthChallenge& credentials, std::string_view method,
                   std::string_view password) {
  const std::string* user = credentials.param("username");
  const std::string* realm = credentials.param("realm");
  const std::string* nonce = credentials.param("nonce");
  const std::string* uri = credentials.param("uri");
  const std::string* response = credentials.param("response");
  if (!credentials.is("Digest") || user == nullptr || realm == nullptr || nonce == nullptr ||
      uri == nullptr || response == nullptr) {
    return false;
  }
  DigestInput in;
  in.user = *user;
  in.password = std::string(password);
  in.realm = *realm;
  in.nonce = *nonce;
  in.method = std::string(method);
  in.uri = *uri;
  if (const std::string* alg = credentials.param("algorithm")) {
    in.algorithm = *alg;
  }
  if (const std::string* qop = credentials.param("qop")) {
    const std::string* nc = credentials.param("nc");
    const std::string* cnonce = credentials.param("cnonce");
    if (nc == nullptr || cnonce == nullptr) {
      return false;
    }
    in.qop = *qop;
    in.nc = *nc;
    in.cnonce = *cnonce;
  }
  return iequals(digest_response(in), *response);
}

}  // namespace mms::auth

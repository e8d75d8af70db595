#include "protocol/rtsp/auth.h"

#include "protocol/core/limits.h"
#include "protocol/rtsp/message_codec.h"

namespace mms::rtsp {

Result<std::vector<AuthChallenge>> parse_www_authenticate(const Headers& headers) {
  std::vector<AuthChallenge> all;
  for (std::string_view v : headers.all("WWW-Authenticate")) {
    Result<std::vector<AuthChallenge>> r = parse_auth(v);
    if (!r.ok()) {
      return r.status();
    }
    for (AuthChallenge& c : *r) {
      if (all.size() >= limits::kMaxAuthChallenges) {
        return Status(Code::kLimitExceeded, "rtsp: more challenges than kMaxAuthChallenges");
      }
      all.push_back(std::move(c));
    }
  }
  return all;
}

}  // namespace mms::rtsp

#include "protocol/core/status.h"

namespace mms {

const char* to_string(Code code) {
  switch (code) {
    case Code::kOk:
      return "ok";
    case Code::kMalformed:
      return "malformed";
    case Code::kPeerViolation:
      return "peer-violation";
    case Code::kLocalMisuse:
      return "local-misuse";
    case Code::kUnsupported:
      return "unsupported";
    case Code::kLimitExceeded:
      return "limit-exceeded";
    case Code::kNotFound:
      return "not-found";
    case Code::kNotAuthorized:
      return "not-authorized";
    case Code::kRefused:
      return "refused";
    case Code::kTimedOut:
      return "timed-out";
    case Code::kConnectionLost:
      return "connection-lost";
    case Code::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

}  // namespace mms

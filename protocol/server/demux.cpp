// First-bytes protocol recognition for the one-port server.
#include "protocol/server/demux.h"

#include <algorithm>
#include <string_view>

namespace mms::server {
namespace {

// The MMS TCP header: bytes 4-7 are the session id signature.
constexpr std::size_t kMmsHeaderBytes = 8;
constexpr std::size_t kMmsSignatureAt = 4;
constexpr std::uint8_t kMmsSignature[4] = {0xCE, 0xFA, 0x0B, 0xB0};

bool ends_with_version(std::string_view line, std::string_view proto) {
  // "<method> <uri> PROTO/1.<d>" (a trailing CR already removed)
  if (line.size() < proto.size() + 5) {
    return false;
  }
  const std::string_view tail = line.substr(line.size() - proto.size() - 5);
  return tail.substr(0, 1) == " " && tail.substr(1, proto.size()) == proto &&
         tail.substr(1 + proto.size(), 3) == "/1." && tail[4 + proto.size()] >= '0' &&
         tail[4 + proto.size()] <= '9';
}

}  // namespace

const char* to_string(FirstBytes kind) {
  switch (kind) {
    case FirstBytes::kNeedMore:
      return "need-more";
    case FirstBytes::kMmsh:
      return "mmsh";
    case FirstBytes::kMms:
      return "mms";
    case FirstBytes::kRtsp:
      return "rtsp";
    case FirstBytes::kUnknown:
      break;
  }
  return "unknown";
}

FirstBytes classify(ByteView in) {
  if (in.empty()) {
    return FirstBytes::kNeedMore;
  }
  if (in[0] == '$') {
    return FirstBytes::kRtsp;
  }
  const std::string_view text(reinterpret_cast<const char*>(in.data()),
                              std::min(in.size(), kMaxSniffBytes));
  // A line feed before the signature rules MMS out for good, so a line that
  // ends early decides at once, whatever bytes 4-7 turn out to be.
  const bool line_before_signature =
      text.substr(0, kMmsSignatureAt).find('\n') != std::string_view::npos;
  if (!line_before_signature && in.size() >= kMmsHeaderBytes &&
      std::equal(kMmsSignature, kMmsSignature + 4, in.data() + kMmsSignatureAt)) {
    return FirstBytes::kMms;
  }
  // Skip empty lines before the request line, as both codecs do.
  std::size_t start = text.find_first_not_of("\r\n");
  if (start == std::string_view::npos) {
    start = text.size();
  }
  const std::size_t eol = text.find('\n', start);
  if (eol == std::string_view::npos) {
    return in.size() >= kMaxSniffBytes ? FirstBytes::kUnknown : FirstBytes::kNeedMore;
  }
  std::string_view line = text.substr(start, eol - start);
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  if (ends_with_version(line, "RTSP")) {
    return FirstBytes::kRtsp;
  }
  if (ends_with_version(line, "HTTP")) {
    return FirstBytes::kMmsh;
  }
  return FirstBytes::kUnknown;
}

}  // namespace mms::server

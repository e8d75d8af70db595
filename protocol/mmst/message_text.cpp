// The MMS message names and HRESULTs as text, make_message, and the text the
// sessions put into messages: subscriber names, player and server versions,
// the BASIC security tokens, the client log (declared in messages.h).
#include <cstring>

#include "protocol/core/byte_reader.h"
#include "protocol/core/byte_writer.h"
#include "protocol/core/limits.h"
#include "protocol/core/text.h"
#include "protocol/mmst/messages.h"

namespace mms::mmst {
namespace {

bool mid_has_hr(std::uint32_t mid) {
  return is_mac_to_viewer(mid) && mid != kLinkMacToViewerPing &&
         mid != kLinkMacToViewerSecurityChallenge && is_known_mid(mid);
}

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

// ---- names ----

const char* to_string(Mid mid) {
  return mid_to_string(mid);
}

const char* mid_to_string(std::uint32_t mid) {
  switch (mid) {
#define MMS_MID_CASE(name) \
  case name:               \
    return &#name[1];
    MMS_MID_CASE(kLinkViewerToMacConnect)
    MMS_MID_CASE(kLinkViewerToMacConnectFunnel)
    MMS_MID_CASE(kLinkViewerToMacOpenFile)
    MMS_MID_CASE(kLinkViewerToMacStartPlaying)
    MMS_MID_CASE(kLinkViewerToMacStopPlaying)
    MMS_MID_CASE(kLinkViewerToMacCloseFile)
    MMS_MID_CASE(kLinkViewerToMacReadBlock)
    MMS_MID_CASE(kLinkViewerToMacFunnelInfo)
    MMS_MID_CASE(kLinkViewerToMacSecurityResponse)
    MMS_MID_CASE(kLinkViewerToMacPong)
    MMS_MID_CASE(kLinkViewerToMacCancelReadBlock)
    MMS_MID_CASE(kLinkViewerToMacStartStriding)
    MMS_MID_CASE(kLinkViewerToMacLogging)
    MMS_MID_CASE(kLinkViewerToMacStreamSwitch)
    MMS_MID_CASE(kLinkMacToViewerReportConnectedEX)
    MMS_MID_CASE(kLinkMacToViewerReportConnectedFunnel)
    MMS_MID_CASE(kLinkMacToViewerReportDisconnectedFunnel)
    MMS_MID_CASE(kLinkMacToViewerReportStartedPlaying)
    MMS_MID_CASE(kLinkMacToViewerReportOpenFile)
    MMS_MID_CASE(kLinkMacToViewerReportStartStriding)
    MMS_MID_CASE(kLinkMacToViewerReportReadBlock)
    MMS_MID_CASE(kLinkMacToViewerReportFunnelInfo)
    MMS_MID_CASE(kLinkMacToViewerSecurityChallenge)
    MMS_MID_CASE(kLinkMacToViewerPing)
    MMS_MID_CASE(kLinkMacToViewerReportEndOfStream)
    MMS_MID_CASE(kLinkMacToViewerReportStreamChange)
    MMS_MID_CASE(kLinkMacToViewerReportStreamSwitch)
    MMS_MID_CASE(kLinkMacToViewerReportRedirect)
#undef MMS_MID_CASE
    default:
      return "unknown";
  }
}

bool is_known_mid(std::uint32_t mid) {
  return fixed_message_size(mid) != 0;
}

std::size_t fixed_message_size(std::uint32_t mid) {
  switch (mid) {
    case kLinkViewerToMacConnect:
      return 20;
    case kLinkViewerToMacConnectFunnel:
      return 28;
    case kLinkViewerToMacOpenFile:
      return 24;
    case kLinkViewerToMacStartPlaying:
      return 40;
    case kLinkViewerToMacStopPlaying:
    case kLinkViewerToMacCloseFile:
    case kLinkViewerToMacPong:
    case kLinkMacToViewerPing:
    case kLinkMacToViewerReportEndOfStream:
    case kLinkMacToViewerReportDisconnectedFunnel:
      return 16;
    case kLinkViewerToMacReadBlock:
      return 56;
    case kLinkViewerToMacFunnelInfo:
    case kLinkViewerToMacCancelReadBlock:
    case kLinkViewerToMacStreamSwitch:
    case kLinkMacToViewerReportStreamSwitch:
      return 12;
    case kLinkViewerToMacSecurityResponse:
    case kLinkMacToViewerSecurityChallenge:
    case kLinkMacToViewerReportConnectedFunnel:
    case kLinkMacToViewerReportStartStriding:
    case kLinkMacToViewerReportReadBlock:
      return 20;
    case kLinkViewerToMacStartStriding:
    case kLinkMacToViewerReportFunnelInfo:
      return 48;
    case kLinkViewerToMacLogging:
      return 12;
    case kLinkMacToViewerReportConnectedEX:
      return 64;
    case kLinkMacToViewerReportStartedPlaying:
      return 36;
    case kLinkMacToViewerReportOpenFile:
      return 116;
    case kLinkMacToViewerReportStreamChange:
      return 32;
    case kLinkMacToViewerReportRedirect:
      return 16;
    default:
      return 0;
  }
}

const char* hresult_to_string(std::uint32_t hr) {
  switch (hr) {
    case kHrOk:
      return "S_OK";
    case kHrFalse:
      return "S_FALSE";
    case kHrFail:
      return "E_FAIL";
    case kHrUnexpected:
      return "E_UNEXPECTED";
    case kHrFileNotFound:
      return "HRESULT(ERROR_FILE_NOT_FOUND)";
    case kHrPathNotFound:
      return "HRESULT(ERROR_PATH_NOT_FOUND)";
    case kHrAccessDenied:
      return "E_ACCESSDENIED";
    case kHrOutOfMemory:
      return "E_OUTOFMEMORY";
    case kHrInvalidArg:
      return "E_INVALIDARG";
    case kNsENoConnection:
      return "NS_E_NOCONNECTION";
    case kNsECannotConnect:
      return "NS_E_CANNOTCONNECT";
    case kNsENoFunnel:
      return "NS_E_NOFUNNEL";
    case kNsENetworkBusy:
      return "NS_E_NETWORK_BUSY";
    case kNsETooManySess:
      return "NS_E_TOO_MANY_SESS";
    case kNsEProtocolMismatch:
      return "NS_E_PROTOCOL_MISMATCH";
    case kNsETimeout:
      return "NS_E_TIMEOUT";
    case kNsENetRead:
      return "NS_E_NET_READ";
    case kNsEFileNotFound:
      return "NS_E_FILE_NOT_FOUND";
    case kNsEFileOpenFailed:
      return "NS_E_FILE_OPEN_FAILED";
    case kNsEFilePlayFailed:
      return "NS_E_FILE_PLAY_FAILED";
    case kNsEBusy:
      return "NS_E_BUSY";
    case kNsEConnectionFailure:
      return "NS_E_CONNECTION_FAILURE";
    case kNsEInvalidRequest:
      return "NS_E_INVALID_REQUEST";
    case kNsEInsufficientBandwidth:
      return "NS_E_INSUFFICIENT_BANDWIDTH";
    case kNsEFileBandwidthLimit:
      return "NS_E_FILE_BANDWIDTH_LIMIT";
    case kNsEOpenFileLimit:
      return "NS_E_OPEN_FILE_LIMIT";
    case kNsEBadControlData:
      return "NS_E_BAD_CONTROL_DATA";
    case kNsENoStream:
      return "NS_E_NO_STREAM";
    case kNsEStreamEnd:
      return "NS_E_STREAM_END";
    case kNsEServerNotFound:
      return "NS_E_SERVER_NOT_FOUND";
    case kNsEInvalidChannel:
      return "NS_E_INVALID_CHANNEL";
    case kNsEInvalidStream:
      return "NS_E_INVALID_STREAM";
    case kNsEStrideRefused:
      return "NS_E_STRIDE_REFUSED";
    case kNsEMaxBitrate:
      return "NS_E_MAX_BITRATE";
    case kNsEMaxClients:
      return "NS_E_MAX_CLIENTS";
    default:
      return "unknown";
  }
}

Message make_message(std::uint32_t mid) {
  Message m;
  m.mid = mid;
  return m;
}

bool message_hr(const Message& m, std::uint32_t* hr) {
  if (!mid_has_hr(m.mid)) {
    return false;
  }
  switch (m.mid) {
    case kLinkMacToViewerReportConnectedEX:
      *hr = m.report_connected_ex.hr;
      break;
    case kLinkMacToViewerReportConnectedFunnel:
      *hr = m.report_connected_funnel.hr;
      break;
    case kLinkMacToViewerReportDisconnectedFunnel:
      *hr = m.report_disconnected_funnel.hr;
      break;
    case kLinkMacToViewerReportStartedPlaying:
      *hr = m.report_started_playing.hr;
      break;
    case kLinkMacToViewerReportOpenFile:
      *hr = m.report_open_file.hr;
      break;
    case kLinkMacToViewerReportStartStriding:
      *hr = m.report_start_striding.hr;
      break;
    case kLinkMacToViewerReportReadBlock:
      *hr = m.report_read_block.hr;
      break;
    case kLinkMacToViewerReportFunnelInfo:
      *hr = m.report_funnel_info.hr;
      break;
    case kLinkMacToViewerReportEndOfStream:
      *hr = m.report_end_of_stream.hr;
      break;
    case kLinkMacToViewerReportStreamChange:
      *hr = m.report_stream_change.hr;
      break;
    case kLinkMacToViewerReportStreamSwitch:
      *hr = m.report_stream_switch.hr;
      break;
    case kLinkMacToViewerReportRedirect:
      *hr = m.report_redirect.hr;
      break;
    default:
      return false;
  }
  return true;
}

// ---- helpers ----

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

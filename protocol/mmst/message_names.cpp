// MMS message tables: MID and HRESULT names, fixed message sizes.
// Declared in protocol/mmst/messages.h.
#include <cstddef>
#include <cstdint>

#include "protocol/mmst/messages.h"

namespace mms::mmst {

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

}  // namespace mms::mmst

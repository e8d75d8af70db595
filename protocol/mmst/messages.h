// MMS (MS-MMSP) codecs, role-neutral: the TCP control messages (TcpMessageHeader
// + one MMS message), the 8-byte Data packet header used on TCP and UDP, the
// UDP RequestPacketListResend datagram, and small pure helpers both roles need
// (header fragment reassembly, incarnation counters, 8-bit sequence extension).
//
// Wire layouts: docs/protocols/mmsp-reference.md §1-§5 (MS-MMSP 2.2). Field names are the
// spec's, in snake_case (playIncarnation -> play_incarnation).
//
// All decoders are stateless: they decode one unit from the front of a buffer
// and report kNeedMore until the whole unit is present, so they are restartable
// at any byte. Views in decoded structs alias the input and live as long as it.
// Strings are UTF-16LE on the wire and UTF-8 std::string here (invalid UTF-16
// becomes U+FFFD; decoding stops at the first NUL; bounded by
// limits::kMaxMmsStringUnits).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "protocol/core/bytes.h"
#include "protocol/core/status.h"

namespace mms::mmst {

enum class Decode : std::uint8_t { kDone, kNeedMore, kError };

// ---- TcpMessageHeader (MS-MMSP 2.2.3) ---------------------------------------

constexpr std::size_t kTcpHeaderSize = 32;
constexpr std::uint32_t kSessionId = 0xB00BFACE;  // bytes ce fa 0b b0
constexpr std::uint32_t kSeal = 0x20534D4D;       // "MMS "
// Bytes of a message before its MID-specific fields: chunkLen + MID.
constexpr std::size_t kMessagePrefixSize = 8;

struct TcpMessageHeader {
  std::uint8_t rep = 0x01;  // bytes 0..3 are informational on receive
  std::uint8_t version = 0;
  std::uint8_t version_minor = 0;
  std::uint8_t padding = 0;
  std::uint32_t session_id = kSessionId;
  std::uint32_t message_length = 0;  // bytes after offset 16 (= total - 16)
  std::uint32_t seal = kSeal;
  std::uint32_t chunk_count = 0;  // sent as message_length / 8; not validated on receive
  std::uint16_t seq = 0;          // per-sender counter; never validated on receive
  std::uint16_t mbz = 0;
  std::uint64_t time_sent = 0;  // raw 8 bytes (ms on sane peers, garbage on WMS 2003)
};

// ---- MIDs (MS-MMSP 2.2.4): high 16 bits 0x0003 = client->server, 0x0004 = server->client

enum Mid : std::uint32_t {
  kLinkViewerToMacConnect = 0x00030001,
  kLinkViewerToMacConnectFunnel = 0x00030002,
  kLinkViewerToMacOpenFile = 0x00030005,
  kLinkViewerToMacStartPlaying = 0x00030007,
  kLinkViewerToMacStopPlaying = 0x00030009,
  kLinkViewerToMacCloseFile = 0x0003000D,
  kLinkViewerToMacReadBlock = 0x00030015,
  kLinkViewerToMacFunnelInfo = 0x00030018,
  kLinkViewerToMacSecurityResponse = 0x0003001A,
  kLinkViewerToMacPong = 0x0003001B,
  kLinkViewerToMacCancelReadBlock = 0x00030025,
  kLinkViewerToMacStartStriding = 0x00030028,
  kLinkViewerToMacLogging = 0x00030032,
  kLinkViewerToMacStreamSwitch = 0x00030033,
  kLinkMacToViewerReportConnectedEX = 0x00040001,
  kLinkMacToViewerReportConnectedFunnel = 0x00040002,
  kLinkMacToViewerReportDisconnectedFunnel = 0x00040003,
  kLinkMacToViewerReportStartedPlaying = 0x00040005,
  kLinkMacToViewerReportOpenFile = 0x00040006,
  kLinkMacToViewerReportStartStriding = 0x0004000A,
  kLinkMacToViewerReportReadBlock = 0x00040011,
  kLinkMacToViewerReportFunnelInfo = 0x00040015,
  kLinkMacToViewerSecurityChallenge = 0x0004001A,
  kLinkMacToViewerPing = 0x0004001B,
  kLinkMacToViewerReportEndOfStream = 0x0004001E,
  kLinkMacToViewerReportStreamChange = 0x00040020,
  kLinkMacToViewerReportStreamSwitch = 0x00040021,
  kLinkMacToViewerReportRedirect = 0x00040022,
};

// Spec name ("LinkViewerToMacConnect"), or "unknown" for a MID not in the table.
const char* to_string(Mid mid);
const char* mid_to_string(std::uint32_t mid);
bool is_known_mid(std::uint32_t mid);
constexpr bool is_viewer_to_mac(std::uint32_t mid) {
  return (mid >> 16) == 0x0003;
}
constexpr bool is_mac_to_viewer(std::uint32_t mid) {
  return (mid >> 16) == 0x0004;
}
// Fixed size in bytes (chunkLen and MID included, before padding) of a known
// MID; 0 for unknown MIDs. A message shorter than this is kMalformed.
std::size_t fixed_message_size(std::uint32_t mid);

// ---- Constants used in message fields ---------------------------------------

constexpr std::uint32_t kMacToViewerProtocolRevision = 0x0004000B;
constexpr std::uint32_t kViewerToMacProtocolRevision = 0x0003001C;

// Connect / ReportConnectedEX / FunnelInfo / ReportFunnelInfo playIncarnation values.
constexpr std::uint32_t kMmsDisablePacketPair = 0xF0F0F0EF;
constexpr std::uint32_t kMmsUsePacketPair = 0xF0F0F0F0;
constexpr std::uint32_t kMmsUseHighEntropyPacketPairTcp = 0xF0F0F0F1;
constexpr std::uint32_t kMmsUseHighEntropyPacketPairUdp = 0xF0F0F901;

constexpr std::uint32_t kFunnelModeDefault = 2;  // ConnectFunnel.funnelMode MUST be 2
constexpr std::uint32_t kTransportMaskDefault = 0x00000008;

// ReportOpenFile.fileAttributes.
constexpr std::uint32_t kFileAttributeCanStride = 0x00800000;
constexpr std::uint32_t kFileAttributeCanSeek = 0x01000000;
constexpr std::uint32_t kFileAttributeBroadcast = 0x02000000;
constexpr std::uint32_t kFileAttributeLive = 0x04000000;
constexpr std::uint32_t kFileAttributePlaylist = 0x40000000;

// ReadBlock defaults.
constexpr std::uint32_t kReadBlockLength = 0x00008000;
constexpr std::uint32_t kReadBlockFlags = 0xFFFFFFFF;
constexpr double kReadBlockDeadline = 3600.0;

// StartPlaying: position == DBL_MAX means "use asfOffset / locationId"; 0 and
// 0xFFFFFFFF in those mean "unused". frameOffset 0 = play to end; 0x00FFFFFF is
// what FFmpeg/VLC/libmms send and servers treat as "no stop" too.
constexpr double kPositionUseOffsets = 1.7976931348623157e308;  // DBL_MAX
constexpr std::uint32_t kOffsetUnused = 0xFFFFFFFF;
constexpr std::uint32_t kFrameOffsetForeignNoLimit = 0x00FFFFFF;
constexpr std::uint32_t kFrameOffsetRelative = 0x80000000;

// STREAM_SWITCH_ENTRY.
constexpr std::uint16_t kStreamNone = 0xFFFF;
constexpr std::uint16_t kThinningNone = 0;     // all objects
constexpr std::uint16_t kThinningKeyOnly = 1;  // key-frame objects only
constexpr std::uint16_t kThinningNothing = 2;  // deselected (VLC/libmms off form)

// ReportStreamChange.dwTcpHdrIncarnation.
constexpr std::uint32_t kTcpStreamChangeIncarnation = 0x000000FF;

// ReportRedirect.RedirectType.
constexpr std::uint16_t kRedirectUrl = 0x0001;
constexpr std::uint16_t kRedirectProxy = 0x0002;

// CLIENT_LOG size (MS-MMSP 2.2.1).
constexpr std::uint32_t kClientLogSize = 1490;
constexpr std::uint32_t kClientLogInfoSize = 1142;

// ---- HRESULTs (docs/protocols/mmsp-reference.md §4.11) ------------------------------------------

constexpr std::uint32_t kHrOk = 0x00000000;            // S_OK
constexpr std::uint32_t kHrFalse = 0x00000001;         // S_FALSE (EOS: more entries)
constexpr std::uint32_t kHrFail = 0x80004005;          // E_FAIL
constexpr std::uint32_t kHrUnexpected = 0x8000FFFF;    // E_UNEXPECTED
constexpr std::uint32_t kHrFileNotFound = 0x80070002;  // HRESULT(ERROR_FILE_NOT_FOUND)
constexpr std::uint32_t kHrPathNotFound = 0x80070003;  // HRESULT(ERROR_PATH_NOT_FOUND)
constexpr std::uint32_t kHrAccessDenied = 0x80070005;  // E_ACCESSDENIED
constexpr std::uint32_t kHrOutOfMemory = 0x8007000E;   // E_OUTOFMEMORY
constexpr std::uint32_t kHrInvalidArg = 0x80070057;    // E_INVALIDARG
constexpr std::uint32_t kNsENoConnection = 0xC00D0005;
constexpr std::uint32_t kNsECannotConnect = 0xC00D0006;
constexpr std::uint32_t kNsENoFunnel = 0xC00D000C;
constexpr std::uint32_t kNsENetworkBusy = 0xC00D000E;
constexpr std::uint32_t kNsETooManySess = 0xC00D000F;
constexpr std::uint32_t kNsEProtocolMismatch = 0xC00D0012;
constexpr std::uint32_t kNsETimeout = 0xC00D0013;
constexpr std::uint32_t kNsENetRead = 0xC00D0015;
constexpr std::uint32_t kNsEFileNotFound = 0xC00D001A;
constexpr std::uint32_t kNsEFileOpenFailed = 0xC00D001D;
constexpr std::uint32_t kNsEFilePlayFailed = 0xC00D0020;
constexpr std::uint32_t kNsEBusy = 0xC00D0025;
constexpr std::uint32_t kNsEConnectionFailure = 0xC00D0029;
constexpr std::uint32_t kNsEInvalidRequest = 0xC00D002B;
constexpr std::uint32_t kNsEInsufficientBandwidth = 0xC00D002C;
constexpr std::uint32_t kNsEFileBandwidthLimit = 0xC00D0030;
constexpr std::uint32_t kNsEOpenFileLimit = 0xC00D0031;
constexpr std::uint32_t kNsEBadControlData = 0xC00D0032;
constexpr std::uint32_t kNsENoStream = 0xC00D0033;
constexpr std::uint32_t kNsEStreamEnd = 0xC00D0034;
constexpr std::uint32_t kNsEServerNotFound = 0xC00D0035;
constexpr std::uint32_t kNsEInvalidChannel = 0xC00D003B;
constexpr std::uint32_t kNsEInvalidStream = 0xC00D003C;
constexpr std::uint32_t kNsEStrideRefused = 0xC00D0045;
constexpr std::uint32_t kNsEMaxBitrate = 0xC00D0047;
constexpr std::uint32_t kNsEMaxClients = 0xC00D0049;

constexpr bool hr_failed(std::uint32_t hr) {
  return (hr & 0x80000000u) != 0;
}
// Symbol ("NS_E_FILE_NOT_FOUND") of a code above, or "unknown".
const char* hresult_to_string(std::uint32_t hr);

// ---- Message payloads (offsets: docs/protocols/mmsp-reference.md §2; message offset 0 = chunkLen)

// LinkViewerToMacConnect (2.2.4.17). subscriber_name is the client token up to
// its first NUL ("NSPlayer/9.0.0.2980; {GUID}; Host: h"); the optional
// NUL-separated "HOST:"/"VIA:" parts follow in subscriber_extra.
struct Connect {
  std::uint32_t play_incarnation = kMmsDisablePacketPair;
  std::uint32_t mac_to_viewer_protocol_revision = kMacToViewerProtocolRevision;
  std::uint32_t viewer_to_mac_protocol_revision = kViewerToMacProtocolRevision;
  std::string subscriber_name;
  std::vector<std::string> subscriber_extra;
};

// LinkMacToViewerReportConnectedEX (2.2.4.2). The four strings are encoded with
// character counts including the NUL (0 for an empty string).
struct ReportConnectedEX {
  std::uint32_t hr = kHrOk;
  std::uint32_t play_incarnation = kMmsDisablePacketPair;
  std::uint32_t mac_to_viewer_protocol_revision = kMacToViewerProtocolRevision;
  std::uint32_t viewer_to_mac_protocol_revision = kViewerToMacProtocolRevision;
  double block_group_play_time = 1.0;
  std::uint32_t block_group_blocks = 1;
  std::uint32_t n_max_open_files = 1;
  std::uint32_t n_block_max_bytes = 0x00008000;
  std::uint32_t max_bit_rate = 0x00989680;
  std::string server_version_info;  // "9.01.01.3841"
  std::string version_info;         // ignore
  std::string version_url;          // ignore; never fetch
  std::string authen_package;       // "", "BASIC" or "NTLM"
};

// LinkViewerToMacFunnelInfo (2.2.4.19).
struct FunnelInfo {
  std::uint32_t play_incarnation = kMmsDisablePacketPair;
};

// LinkMacToViewerReportFunnelInfo (2.2.4.6). packet_pair_data: the bytes after
// the fixed 48 within chunkLen (random packet-pair bytes; padding included).
struct ReportFunnelInfo {
  std::uint32_t hr = kHrOk;
  std::uint32_t play_incarnation = kMmsDisablePacketPair;
  std::uint32_t transport_mask = kTransportMaskDefault;
  std::uint32_t n_block_fragments = 1;
  std::uint32_t fragment_bytes = 0x00010000;
  std::uint32_t n_cubs = 0;  // Client-ID
  std::uint32_t failed_cubs = 0;
  std::uint32_t n_disks = 1;
  std::uint32_t decluster = 0;
  std::uint32_t cubdd_datagram_size = 0;
  std::vector<std::uint8_t> packet_pair_data;
};

// LinkViewerToMacConnectFunnel (2.2.4.18). funnel_name "\\ip\TCP\port".
struct ConnectFunnel {
  std::uint32_t play_incarnation = 0;
  std::uint32_t max_block_bytes = 0xFFFFFFFF;
  std::uint32_t max_funnel_bytes = 0;
  std::uint32_t max_bit_rate = 0x00989680;
  std::uint32_t funnel_mode = kFunnelModeDefault;
  std::string funnel_name;
};

// LinkMacToViewerReportConnectedFunnel (2.2.4.3).
struct ReportConnectedFunnel {
  std::uint32_t hr = kHrOk;
  std::uint32_t play_incarnation = 0;
  std::uint32_t packet_payload_size = 0;
  std::string funnel_name = "Funnel Of The Gods";
};

// LinkMacToViewerReportDisconnectedFunnel (2.2.4.4).
struct ReportDisconnectedFunnel {
  std::uint32_t hr = kHrOk;
  std::uint32_t play_incarnation = 0;
};

// LinkViewerToMacOpenFile (2.2.4.21). token/cbtoken are derived on encode:
// token = byte size of file_name + NUL when token_data is not empty.
struct OpenFile {
  std::uint32_t play_incarnation = 0;
  std::uint32_t spare = 0;
  std::string file_name;
  std::vector<std::uint8_t> token_data;  // e.g. ASCII base64("u:p") + NUL
};

// LinkMacToViewerReportOpenFile (2.2.4.7). unused1/unused2 are zero on encode
// and ignored on decode.
struct ReportOpenFile {
  std::uint32_t hr = kHrOk;
  std::uint32_t play_incarnation = 0;
  std::uint32_t open_file_id = 0;
  std::uint32_t padding = 0;
  std::uint32_t file_name = 0;
  std::uint32_t file_attributes = 0;
  double file_duration = 0.0;
  std::uint32_t file_blocks = 0;
  std::uint32_t file_packet_size = 0;
  std::uint64_t file_packet_count = 0;
  std::uint32_t file_bit_rate = 0;
  std::uint32_t file_header_size = 0;
};

// LinkViewerToMacReadBlock (2.2.4.23).
struct ReadBlock {
  std::uint32_t open_file_id = 0;
  std::uint32_t file_block_id = 0;
  std::uint32_t offset = 0;
  std::uint32_t length = kReadBlockLength;
  std::uint32_t flags = kReadBlockFlags;
  std::uint32_t padding = 0;
  double t_earliest = 0.0;
  double t_deadline = kReadBlockDeadline;
  std::uint32_t play_incarnation = 0;  // header incarnation 1..8
  std::uint32_t play_sequence = 0;
};

// LinkMacToViewerReportReadBlock (2.2.4.8).
struct ReportReadBlock {
  std::uint32_t hr = kHrOk;
  std::uint32_t play_incarnation = 0;
  std::uint32_t play_sequence = 0;
};

// LinkViewerToMacCancelReadBlock (2.2.4.15).
struct CancelReadBlock {
  std::uint32_t play_incarnation = 0;
};

// STREAM_SWITCH_ENTRY and LinkViewerToMacStreamSwitch (2.2.4.28). The entry
// count is bounded by limits::kMaxStreamSwitchEntries.
struct StreamSwitchEntry {
  std::uint16_t w_src_stream_number = kStreamNone;
  std::uint16_t w_dst_stream_number = kStreamNone;
  std::uint16_t w_thinning_level = kThinningNone;
};
struct StreamSwitch {
  std::vector<StreamSwitchEntry> a_stream_entries;  // cStreamEntries = size()
};

// LinkMacToViewerReportStreamSwitch (2.2.4.13).
struct ReportStreamSwitch {
  std::uint32_t hr = kHrOk;
};

// LinkViewerToMacStartPlaying (2.2.4.25). has_accel selects the 52-byte form
// with the three dwAccel*/dwLink* fields (send only to servers with major >= 9).
struct StartPlaying {
  std::uint32_t open_file_id = 0;
  std::uint32_t padding = 0;
  double position = 0.0;
  std::uint32_t asf_offset = kOffsetUnused;
  std::uint32_t location_id = kOffsetUnused;
  std::uint32_t frame_offset = 0;
  std::uint32_t play_incarnation = 0;
  bool has_accel = false;
  std::uint32_t dw_accel_bandwidth = 0;
  std::uint32_t dw_accel_duration = 0;
  std::uint32_t dw_link_bandwidth = 0;
};

// LinkMacToViewerReportStartedPlaying (2.2.4.10).
struct ReportStartedPlaying {
  std::uint32_t hr = kHrOk;
  std::uint32_t play_incarnation = 0;
  std::uint32_t tiger_file_id = 0;
  std::uint32_t unused1 = 0;
};

// LinkViewerToMacStartStriding (2.2.4.26); frame_offset is ignored by servers.
struct StartStriding {
  std::uint32_t open_file_id = 0;
  std::uint32_t padding = 0;
  double position = 0.0;
  std::uint32_t asf_offset = kOffsetUnused;
  std::uint32_t location_id = kOffsetUnused;
  std::uint32_t frame_offset = 0;
  std::uint32_t play_incarnation = 0;
  double rate = 1.0;  // -5..5, != 0
};

// LinkMacToViewerReportStartStriding (2.2.4.11).
struct ReportStartStriding {
  std::uint32_t hr = kHrOk;
  std::uint32_t play_incarnation = 0;
  std::uint32_t spare = 0;
};

// LinkViewerToMacStopPlaying (2.2.4.27).
struct StopPlaying {
  std::uint32_t open_file_id = 0;
  std::uint32_t play_incarnation = 0;
};

// LinkMacToViewerReportEndOfStream (2.2.4.5). hr 1 = entry ended, StreamChange follows.
struct ReportEndOfStream {
  std::uint32_t hr = kHrOk;
  std::uint32_t play_incarnation = 0;
};

// LinkViewerToMacLogging (2.2.4.20): the CLIENT_LOG structure as raw bytes,
// starting with its cbSize (see make_client_log()). cbSize is bounded by
// limits::kMaxClientLogBytes and by the message; log.size() == cbSize.
struct Logging {
  std::vector<std::uint8_t> log;
};

// LinkMacToViewerReportStreamChange (2.2.4.12).
struct ReportStreamChange {
  std::uint32_t hr = kHrOk;
  std::uint32_t dw_tcp_hdr_incarnation = kTcpStreamChangeIncarnation;
  std::uint32_t cb_packet_size = 0;
  std::uint32_t cb_header_size = 0;
  std::uint32_t dw_bit_rate = 0;
  std::uint32_t dw_stream_id = 0;
};

// LinkMacToViewerPing (2.2.4.1) and LinkViewerToMacPong (2.2.4.22).
struct PingPong {
  std::uint32_t dw_param1 = 0;
  std::uint32_t dw_param2 = 0;
};

// LinkViewerToMacCloseFile (2.2.4.16).
struct CloseFile {
  std::uint32_t play_incarnation = 0;
  std::uint32_t open_file_id = 0;
};

// LinkMacToViewerReportRedirect (2.2.4.9). cbLocation (bytes incl. NUL) is
// derived on encode.
struct ReportRedirect {
  std::uint32_t hr = kHrOk;
  std::uint16_t redirect_type = kRedirectUrl;
  std::string wsz_location;
};

// LinkMacToViewerSecurityChallenge (2.2.4.14) and LinkViewerToMacSecurityResponse
// (2.2.4.24): pToken as raw bytes (cbToken = size()), bounded by
// limits::kMaxMmsTokenBytes. See basic_challenge_token()/basic_realm().
struct Security {
  std::uint32_t play_incarnation = 0;
  std::uint32_t cookie = 0;
  std::vector<std::uint8_t> p_token;
};

// One MMS message with its TcpMessageHeader. Only the payload member that
// matches `mid` is meaningful (the others keep their defaults).
struct Message {
  std::uint32_t mid = 0;
  TcpMessageHeader header;  // decode: as received; encode: seq and time_sent used

  Connect connect;                                      // kLinkViewerToMacConnect
  ReportConnectedEX report_connected_ex;                // kLinkMacToViewerReportConnectedEX
  FunnelInfo funnel_info;                               // kLinkViewerToMacFunnelInfo
  ReportFunnelInfo report_funnel_info;                  // kLinkMacToViewerReportFunnelInfo
  ConnectFunnel connect_funnel;                         // kLinkViewerToMacConnectFunnel
  ReportConnectedFunnel report_connected_funnel;        // ...ReportConnectedFunnel
  ReportDisconnectedFunnel report_disconnected_funnel;  // ...ReportDisconnectedFunnel
  OpenFile open_file;                                   // kLinkViewerToMacOpenFile
  ReportOpenFile report_open_file;                      // kLinkMacToViewerReportOpenFile
  ReadBlock read_block;                                 // kLinkViewerToMacReadBlock
  ReportReadBlock report_read_block;                    // kLinkMacToViewerReportReadBlock
  CancelReadBlock cancel_read_block;                    // kLinkViewerToMacCancelReadBlock
  StreamSwitch stream_switch;                           // kLinkViewerToMacStreamSwitch
  ReportStreamSwitch report_stream_switch;              // kLinkMacToViewerReportStreamSwitch
  StartPlaying start_playing;                           // kLinkViewerToMacStartPlaying
  ReportStartedPlaying report_started_playing;          // ...ReportStartedPlaying
  StartStriding start_striding;                         // kLinkViewerToMacStartStriding
  ReportStartStriding report_start_striding;            // ...ReportStartStriding
  StopPlaying stop_playing;                             // kLinkViewerToMacStopPlaying
  ReportEndOfStream report_end_of_stream;               // kLinkMacToViewerReportEndOfStream
  Logging logging;                                      // kLinkViewerToMacLogging
  ReportStreamChange report_stream_change;              // kLinkMacToViewerReportStreamChange
  PingPong ping_pong;                                   // kLinkMacToViewerPing / ...Pong
  CloseFile close_file;                                 // kLinkViewerToMacCloseFile
  ReportRedirect report_redirect;                       // kLinkMacToViewerReportRedirect
  Security security;  // kLinkMacToViewerSecurityChallenge / kLinkViewerToMacSecurityResponse

  // Decode only; alias the input.
  ByteView raw;               // this message's 8*chunkLen bytes (chunkLen, MID, fields, padding)
  ByteView extra_messages;    // further messages in the same TCP packet (decode with decode_body)
  std::size_t wire_size = 0;  // bytes consumed from the input (whole TCP packet)
};

// Convenience constructor: a Message with `mid` set and defaults elsewhere.
Message make_message(std::uint32_t mid);

// HRESULT of a reply that has one at message offset 8 (all Report* messages);
// false for messages without hr (Ping, SecurityChallenge, client messages).
bool message_hr(const Message& m, std::uint32_t* hr);

// Decodes one TCP control packet (TcpMessageHeader + first message) from the front of `in`.
//  kDone: *out filled, out->wire_size bytes consumed (the whole packet, all messages).
//  kNeedMore: `in` holds a valid prefix; offer it again with more bytes.
//  kError: *error says why: kMalformed (sessionId/seal mismatch, messageLength < 24
//          or not a multiple of 8, chunkLen 0 or beyond messageLength, message shorter
//          than its MID's fixed size, bad string/token counts), kLimitExceeded
//          (messageLength > limits::kMaxMmsMessageLength, string/token/entry limits).
// Lenient: bytes 0..3, chunkCount, seq, timeSent are not validated; padding content is
// ignored. Unknown MIDs decode as kDone with only mid/raw set (caller decides).
// Prefix checks are done early (sessionId at 8 bytes, seal and length at 16) so a
// stream that is not MMS fails fast. Cost: linear in the packet, no allocation
// beyond the decoded strings/vectors.
Decode decode_message(ByteView in, Message* out, Status* error);

// Decodes one message (chunkLen, MID, fields) from the front of `body`, e.g. the
// extra_messages of a packet. *used = 8*chunkLen. The header member is kept.
// `body` holds complete messages: a short body is kError (kMalformed), never
// kNeedMore.
Decode decode_body(ByteView body, Message* out, std::size_t* used, Status* error);

// Appends the TcpMessageHeader + message to *out (lengths, chunkLen, chunkCount =
// messageLength/8, zero padding to 8). Uses m.header.seq / m.header.time_sent; the
// other header fields are written with their wire constants.
// kLocalMisuse: unknown MID, a string/token/entry count over its limit, Logging
// whose cbSize does not match. Nothing is appended on error.
Status encode_message(const Message& m, std::vector<std::uint8_t>* out);
// The message alone (chunkLen, MID, fields, padding), without the TcpMessageHeader.
Status encode_body(const Message& m, std::vector<std::uint8_t>* out);

// ---- Data packets (MS-MMSP 2.2.2): same 8-byte header on TCP and UDP ---------

constexpr std::size_t kDataHeaderSize = 8;
constexpr std::size_t kMaxDataPayload = 65535 - kDataHeaderSize;  // PacketSize is u16

// AFFlags of header packets; packet-pair values.
constexpr std::uint8_t kAfHeaderMore = 0x04;
constexpr std::uint8_t kAfHeaderLast = 0x0C;  // receivers accept any value with 0x08 set
constexpr std::uint8_t kAfHeaderLastBit = 0x08;
constexpr std::uint8_t kAfPacketPair = 0x10;
constexpr std::uint8_t kPacketPairIncarnation = 0xFF;  // also TCP stream-change data
constexpr std::uint32_t kPacketPairLocationId0 = 0xF0F0F000;
constexpr std::uint32_t kPacketPairLocationId1 = 0xF0F0F001;
constexpr std::size_t kUdpPacketPairPayload = 1464;

struct DataPacket {
  std::uint32_t location_id = 0;
  std::uint8_t play_incarnation = 0;
  std::uint8_t af_flags = 0;
  std::uint16_t packet_size = 0;  // including the 8-byte header
  ByteView payload;               // aliases the input
};

// One Data packet from the front of a TCP stream: kNeedMore until packet_size
// bytes are present; kError (kMalformed) for PacketSize < 8.
Decode decode_data_packet(ByteView in, DataPacket* out, Status* error);
// A whole UDP datagram: must be exactly one Data packet (PacketSize == size).
Status decode_udp_data_packet(ByteView datagram, DataPacket* out);
// Appends header + payload. kLocalMisuse if payload.size() > kMaxDataPayload.
Status encode_data_packet(std::uint32_t location_id, std::uint8_t play_incarnation,
                          std::uint8_t af_flags, ByteView payload, std::vector<std::uint8_t>* out);

// The "ASF file header" (ASF Header Object + first 50 bytes of the Data Object)
// split into header Data packets: LocationId 0,1,..; AFFlags 0x04 then 0x0C on the
// last; payloads of at most max_payload bytes (clamped to 1..kMaxDataPayload).
// Appends the packets back to back; each is decodable with decode_data_packet.
// An empty header gives one packet flagged 0x0C without payload.
void encode_header_packets(ByteView header, std::uint8_t play_incarnation, std::size_t max_payload,
                           std::vector<std::uint8_t>* out);
// Number of packets encode_header_packets produces.
std::size_t header_packet_count(std::size_t header_size, std::size_t max_payload);

// Reassembles header Data packets (docs/protocols/mmsp-reference.md §3.2): LocationId consecutive
// from 0, final = AFFlags bit 0x08, total bounded by expected_size (fileHeaderSize, when non-zero:
// exceeding it or finishing short is kPeerViolation) and by limits::kMaxAsfHeaderBytes
// (kLimitExceeded). A duplicate of the previous fragment is ignored. The caller routes only packets
// whose incarnation is the expected header incarnation.
class HeaderAssembler {
 public:
  explicit HeaderAssembler(std::size_t expected_size = 0) : expected_(expected_size) {}
  // true when complete; header() then holds the bytes (valid until the next add/reset).
  Result<bool> add(const DataPacket& packet);
  const std::vector<std::uint8_t>& header() const { return buf_; }
  void reset(std::size_t expected_size = 0);

 private:
  std::vector<std::uint8_t> buf_;
  std::size_t expected_ = 0;
  std::uint32_t next_location_ = 0;
  bool complete_ = false;
};

// ---- Demultiplexing the TCP byte stream (docs/protocols/mmsp-reference.md §1.5) -----------------

// A command (TcpMessageHeader, bytes 4..7 == 0xB00BFACE) or a Data packet.
struct Unit {
  enum class Kind : std::uint8_t { kMessage, kData };
  Kind kind = Kind::kMessage;
  Message message;  // kind == kMessage
  DataPacket data;  // kind == kData
  std::size_t wire_size = 0;
};
// Needs 8 bytes to decide; then as decode_message / decode_data_packet.
Decode decode_tcp_unit(ByteView in, Unit* out, Status* error);

// ---- UDP RequestPacketListResend (MS-MMSP 2.2.5) -----------------------------

constexpr std::uint32_t kResendSignature = 0xBEEFF00D;
constexpr std::size_t kResendHeaderSize = 12;

struct RequestPacketListResend {
  std::uint32_t dw_client_id = 0;                   // nCubs
  std::uint16_t w_source_id = 0;                    // openFileId & 0xFFFF
  std::vector<std::uint32_t> dw_begin_packet_list;  // 32-bit sequence numbers, 1..32
};
// Whole datagram; kMalformed for a bad signature or size != 12 + 4n, n == 0;
// kLimitExceeded for n > limits::kMaxResendPackets.
Status decode_resend(ByteView datagram, RequestPacketListResend* out);
// kLocalMisuse for an empty list or more than limits::kMaxResendPackets entries.
Status encode_resend(const RequestPacketListResend& r, std::vector<std::uint8_t>* out);

// ---- Incarnations and sequence numbers (docs/protocols/mmsp-reference.md §3.4, §4.1) ------------

constexpr std::uint8_t kFirstHeaderIncarnation = 0x01;  // 1..8
constexpr std::uint8_t kLastHeaderIncarnation = 0x08;
constexpr std::uint8_t kFirstPlayIncarnation = 0x09;  // 9..0xFE
constexpr std::uint8_t kLastPlayIncarnation = 0xFE;

constexpr std::uint8_t next_header_incarnation(std::uint8_t inc) {
  return (inc >= kFirstHeaderIncarnation && inc < kLastHeaderIncarnation)
             ? static_cast<std::uint8_t>(inc + 1)
             : kFirstHeaderIncarnation;
}
constexpr std::uint8_t next_play_incarnation(std::uint8_t inc) {
  return (inc >= kFirstPlayIncarnation && inc < kLastPlayIncarnation)
             ? static_cast<std::uint8_t>(inc + 1)
             : kFirstPlayIncarnation;
}
constexpr bool is_header_incarnation(std::uint8_t inc) {
  return inc >= kFirstHeaderIncarnation && inc <= kLastHeaderIncarnation;
}
constexpr bool is_play_incarnation(std::uint8_t inc) {
  return inc >= kFirstPlayIncarnation && inc <= kLastPlayIncarnation;
}
// Low byte of a 32-bit incarnation as carried in Data packets.
constexpr std::uint8_t incarnation_byte(std::uint32_t inc) {
  return static_cast<std::uint8_t>(inc & 0xFF);
}
// Extends an 8-bit AFFlags sequence to 32 bits given the last extended value:
// the result is the value closest to `last` (forward within +127, backward
// within -128) whose low byte is `af_flags`.
std::uint32_t extend_sequence(std::uint32_t last, std::uint8_t af_flags);

// ---- Small helpers ------------------------------------------------------------

// UTF-8 to UTF-16LE (no NUL added). Invalid input becomes U+FFFD. The other
// way is mms::utf16le_to_utf8 (protocol/core/text.h).
std::vector<std::uint8_t> utf8_to_utf16le(const std::string& utf8);

// Connect.subscriber_name for our client: "NSPlayer/<version>; {<guid>}; Host: <host>".
std::string make_subscriber_name(const std::string& version, const std::string& guid,
                                 const std::string& host);
// Major version from "NSPlayer/9.0.0.2980; ..." or a ServerVersionInfo "9.01.01.3841";
// -1 when absent. "Spoooon!" tokens give -1.
int player_major_version(const std::string& subscriber_name);
int server_major_version(const std::string& server_version_info);

// BASIC SecurityChallenge pToken: UTF-16LE realm="R" + NUL.
std::vector<std::uint8_t> basic_challenge_token(const std::string& realm);
// BASIC SecurityResponse pToken: ASCII base64("user:password") + NUL.
std::vector<std::uint8_t> basic_response_token(const std::string& user,
                                               const std::string& password);
// True if a challenge pToken is NTLM-shaped (starts with 00 00).
bool is_ntlm_token(ByteView token);

// NTLM pToken (MS-MMSP 2.2.4.14, 2.2.4.14.1, 2.2.4.24, 3.2.5.7): two zero bytes,
// then either the NTLM_AUTH structure (u32 Zero=0, One=1, Reserved1,
// NTLMTokenSize, Two=2, Reserved2; 24 bytes) followed by the NTLMSSP token, or
// the bare NTLMSSP token. "00 00" alone is the initial challenge (no token yet).
constexpr std::size_t kNtlmAuthSize = 24;
// `ntlmssp` empty gives "00 00" (+ an NTLM_AUTH of size 0 when `wrapped`).
std::vector<std::uint8_t> make_ntlm_token(ByteView ntlmssp, bool wrapped);
struct NtlmToken {
  ByteView ntlmssp;      // view into the pToken; empty for the initial challenge
  bool wrapped = false;  // it came inside NTLM_AUTH
};
// Parses an NTLM pToken. NTLM_AUTH is recognised by its Zero/One/Two fields,
// right after the two zero bytes or (an ambiguity of the spec) overlapping
// them; bytes after NTLMTokenSize (a terminating byte) are ignored. A bare
// token must start with the NTLMSSP signature. kMalformed for anything else
// (no 00 00, NTLMTokenSize beyond the pToken, garbage), kLimitExceeded for a
// token above auth::ntlm::kMaxMessage.
Result<NtlmToken> parse_ntlm_token(ByteView p_token);

// A CLIENT_LOG (1490 bytes, MS-MMSP 2.2.1) filled with cbSize fields, "-" for
// strings, the given source id (openFileId) and transport ("TCP"/"UDP").
std::vector<std::uint8_t> make_client_log(std::uint32_t source_id, const std::string& url,
                                          const std::string& transport);

}  // namespace mms::mmst

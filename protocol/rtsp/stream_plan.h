// RTSP client stream plan: which media of a WMS SDP the client sets up, with
// which transport, and how the server's answers (SETUP Transport, RTP-Info)
// map back onto the planned streams. Also the ASF header the caller sees for
// that plan: the server splits the mux per stream, so each set-up stream
// carries its own ASF packets and the packet counts are multiplied by the
// number of streams (docs/protocols/rtsp-wms-reference.md §2.4, §4.1 for npt).
//
// Pure functions over parsed values; no I/O, no state. Used by
// RtspClientSession.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "protocol/asf/header_parser.h"
#include "protocol/core/status.h"
#include "protocol/rtsp/message_codec.h"
#include "protocol/rtsp/sdp_wms.h"

namespace mms::rtsp {

// One m= line to SETUP.
struct PlannedStream {
  std::uint16_t number = 0;  // ASF stream number; 0 for the whole mux
  std::string url;           // SETUP URL (also what RTP-Info entries are matched by)
};

struct StreamPlan {
  std::vector<PlannedStream> streams;  // in SETUP order
  std::uint32_t max_packet_size = 0;   // for the depayloaders
  // One media carrying every stream of the mux (gst-rtsp-server's rtpasfpay).
  bool whole_mux() const { return streams.size() == 1 && streams[0].number == 0; }
};

// The largest ASF packet a depayloader accepts: a=maxps when it is set and
// not above the header's packet size, else the header's packet size.
std::uint32_t rtp_max_packet_size(const WmsSdp& sdp, const asf::HeaderInfo& info);

// Chooses the media to SETUP: the whole-mux media when the SDP has one (an
// x-asf-pf media without a=stream), else the m= line of every ASF stream that
// asf::select_streams picks for `connection_speed_kbps` and `audio_only`
// (streams without an m= line are skipped). URLs are resolved against
// `base_url` and the session control. kUnsupported when nothing is left.
Result<StreamPlan> plan_streams(const WmsSdp& sdp, const asf::HeaderInfo& info,
                                const std::string& base_url, std::uint32_t connection_speed_kbps,
                                bool audio_only = false);

// Where npt 0 of the content lies: WMS counts the preroll in npt; a whole-mux
// SDP gives media time, starting at its a=range start.
std::uint64_t npt_origin_ms(const WmsSdp& sdp, bool whole_mux, std::uint64_t preroll_ms);

// SETUP Transport for the RTX media (UDP only): client_port=P-(P+1).
Transport rtx_setup_transport(std::uint16_t rtx_port);
// SETUP Transport for planned stream `index`: UDP to media port Q (Q-(Q+1)),
// or interleaved channels 2*index, 2*index+1 over TCP.
Transport stream_setup_transport(bool udp, std::uint16_t media_port, std::size_t index);

// What a SETUP reply's Transport tells about a stream.
struct SetupAnswer {
  bool has_transport = false;         // a parsable, non-empty Transport came
  std::optional<std::uint32_t> ssrc;  // UDP: the server's SSRC (may be absent)
  // UDP: where receiver reports go, from server_port (its second port, else
  // the first + 1; 0 when that is beyond 65535). Empty without server_port.
  std::optional<std::uint16_t> server_rtcp_port;
  std::optional<std::uint8_t> channel;  // TCP: the interleaved RTP channel granted
};
// kRefused when a UDP SETUP is answered with a TCP transport. A missing or
// unparsable Transport is not an error (has_transport false).
Result<SetupAnswer> read_setup_transport(const Headers& headers, bool udp);

// RTP-Info of a PLAY reply: (stream index, seq) for every entry with a seq,
// in entry order. An entry names the first stream with its URL, else (URLs
// written differently) the stream in the same position when the entry count
// equals the stream count; entries matching nothing are left out.
std::vector<std::pair<std::size_t, std::uint16_t>> match_play_rtp_info(
    const std::vector<RtpInfo>& entries, const std::vector<PlannedStream>& streams);
// RTP-Info of the EndOfStream request: sets (*end_seqs)[k] for the first
// stream k whose URL the entry names or, when the counts agree, that is in the
// entry's position and has no end seq yet. `end_seqs` has one slot per stream.
void match_end_rtp_info(const std::vector<RtpInfo>& entries,
                        const std::vector<PlannedStream>& streams,
                        std::vector<std::optional<std::uint16_t>>* end_seqs);

// The header the caller is given for a plan of `stream_count` streams.
struct CallerHeader {
  std::shared_ptr<const std::vector<std::uint8_t>> bytes;
  std::shared_ptr<const asf::HeaderInfo> info;  // of `bytes` (of the original if unparsable)
  std::uint64_t packet_count = 0;               // 0 for a broadcast: packet numbers run on
};
// `repaired` is the repaired header `info` was parsed from. On demand with more
// than one stream, the File Properties data packets count and the Data Object
// total are multiplied (saturating); a broadcast header is given unchanged.
CallerHeader caller_header(std::vector<std::uint8_t> repaired, const asf::HeaderInfo& info,
                           std::uint64_t stream_count);

// The packet number a PLAY at `position_ms` starts at: the same fraction of
// `packet_count` as of the duration, at most the last packet (0 when either
// is unknown).
std::uint32_t first_packet_number(std::uint64_t position_ms, std::uint64_t duration_ms,
                                  std::uint64_t packet_count);

}  // namespace mms::rtsp

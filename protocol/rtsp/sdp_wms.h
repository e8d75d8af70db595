// The SDP subset of Windows Media Services (MS-RTSP 2.2.5) and of
// gst-rtsp-server's rtpasfpay, parsed; and the WMS-style SDP a server sends,
// written so that FFmpeg's RTSP client (rtpdec_asf) and GStreamer's rtspsrc
// (rtspwms extension + rtpasfdepay) accept it.
//
// Parsed (lenient: unknown lines are ignored, bare LF line ends, any case of
// the encoding names):
//   session: a=pgmpu:data:application/vnd.ms.wms-hdr.asfv1;base64,<ASF header>
//            a=pgmpu:data:application/x-wms-contentdesc,<list> (kept raw)
//            a=maxps:<n>  a=control:<url>  a=range:npt=<a>-<b>  b=AS:<kbps>
//   media:   m=<audio|video|application> <port> RTP/AVP <pt>
//            a=rtpmap:<pt> x-asf-pf/1000 | x-wms-rtx/1000   a=control:<rel>
//            a=stream:<n>   b=AS:<kbps>
//            a=fmtp:<pt> maxps=<n>;config=<base64 ASF header>  (gst-rtsp-server:
//            one m=application line for the whole ASF mux, no a=stream)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/core/bytes.h"
#include "protocol/core/status.h"
#include "protocol/rtsp/message_codec.h"

namespace mms::rtsp {

// a=stream values (MS-RTSP 2.2.5.2.5): 1..65534 ASF streams, 65536..131070 RTX.
constexpr std::uint32_t kFirstRtxStream = 65536;
constexpr std::uint32_t kLastRtxStream = 131070;

struct SdpMedia {
  std::string media;  // "audio", "video", "application", ...
  std::uint8_t payload_type = 0;
  std::string encoding;  // rtpmap encoding name, lower-cased ("x-asf-pf", "x-wms-rtx")
  std::uint32_t clock_rate = 0;
  std::string control;             // a=control, as written (relative or absolute)
  std::uint32_t stream = 0;        // a=stream; 0 when absent
  std::uint32_t bitrate_kbps = 0;  // b=AS
  // True for x-asf-pf media carrying the whole ASF mux (gst-rtsp-server form,
  // no a=stream): every ASF stream arrives on it.
  bool whole_mux = false;
  bool asf_pf() const { return encoding == "x-asf-pf"; }
  bool rtx() const { return encoding == "x-wms-rtx"; }
};

struct WmsSdp {
  std::vector<std::uint8_t> asf_header;  // decoded; starts with the Header Object GUID
  bool header_from_fmtp = false;         // came from a=fmtp config= (gst-rtsp-server)
  std::uint32_t max_packet_size = 0;     // a=maxps (or fmtp maxps); 0 when absent
  std::string control;                   // session a=control; "" when absent
  std::optional<NptRange> range;         // a=range
  std::uint32_t bitrate_kbps = 0;        // session b=AS
  std::string content_description;       // raw list after "x-wms-contentdesc,"
  std::vector<SdpMedia> media;

  // The x-asf-pf media carrying ASF stream `n` (a=stream == n, or the
  // whole-mux media), or nullptr.
  const SdpMedia* find_stream(std::uint32_t n) const;
  const SdpMedia* rtx() const;  // the x-wms-rtx media, or nullptr
};

// Parses an SDP body. Errors: kMalformed for a line that is not "<letter>=",
// bad numbers in the lines above, undecodable base64, a header not starting
// with the Header Object GUID, a=stream out of range; kNotFound when no ASF
// header is present (not a WMS/ASF SDP); kLimitExceeded above kMaxSdpLines
// lines, kMaxSdpMedia media or a header above kMaxAsfHeaderBytes.
Result<WmsSdp> parse_wms_sdp(std::string_view text);

// Resolves a media control against the session control and the base URL
// (Content-Base, else the DESCRIBE URL): absolute controls are kept; "*" or
// empty means the base itself; relative ones are appended to the session
// control (if absolute) or the base, with one '/' between them.
std::string resolve_control(std::string_view base, std::string_view session_control,
                            std::string_view media_control);
// The aggregate URL for PLAY/PAUSE/TEARDOWN: an absolute session control,
// else the base (a session control of "*" or "" means the base).
std::string aggregate_url(std::string_view base, std::string_view session_control);

// What write_wms_sdp needs besides the ASF header.
struct SdpWriteOptions {
  std::string control;                // session a=control, e.g. "rtsp://host/path/file.asf/"
  std::string origin_id = "0";        // o= session id and version (digits)
  std::string address = "127.0.0.1";  // o= address (IPv4 or IPv6 literal)
  bool include_rtx = false;           // add the x-wms-rtx media (a=control:rtx, a=stream:65536)
  std::uint32_t max_packet_size = 0;  // 0: the header's packet size
  // The x-wms-contentdesc list in its SDP form (session::encode_sdp_cdl);
  // "" = no such line. Must hold no CR or LF.
  std::string content_description;
};

// Writes the WMS SDP for an ASF header (Header Object + Data Object prefix,
// as the file starts): v/o/s/c/b/t, a=maxps, a=control, a=range (npt from the
// preroll to the play duration; "npt=<preroll>-" for broadcast), a=recvonly,
// a=pgmpu with the header in base64, a=pgmpu with the content description
// (when given; after the header, which rtspsrc takes from the first a=pgmpu),
// then per ASF stream (header order)
//   m=<audio|video|application> 0 RTP/AVP 96, b=AS, b=RS:0, b=RR:0,
//   a=rtpmap:96 x-asf-pf/1000, a=control:stream=<n>, a=stream:<n>
// and the RTX media when asked. Lines end in CRLF. kMalformed when the header
// does not parse or has no stream.
Result<std::string> write_wms_sdp(ByteView asf_header, const SdpWriteOptions& options);

}  // namespace mms::rtsp

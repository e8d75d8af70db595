// ASF over RTP, payload format "x-asf-pf" (MS-RTSP 2.2.1): RTP header codec,
// the depayloader a client runs per RTP stream, and the payloader a server
// runs per stream.
//
// Payload format header, before each ASF packet or fragment (big-endian):
//   byte 0: S (0x80 key frame) L (0x40 length, else offset) R (0x20 relative
//           timestamp) D (0x10 duration) I (0x08 location id) RES (0x07)
//   bytes 1-3: length (L=1) or offset of this fragment (L=0)
//   then 4 bytes each for R, D, I when set.
// The L=1 length is read two ways by peers: WMS and FFmpeg count the payload
// format header in it, the spec text and GStreamer do not. The depayloader
// accepts both (see AsfDepayloader::push); the payloader writes the WMS way.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "protocol/core/bytes.h"
#include "protocol/core/status.h"

namespace mms::rtsp {

constexpr std::size_t kRtpHeaderSize = 12;
constexpr std::uint8_t kAsfPfKey = 0x80;
constexpr std::uint8_t kAsfPfLength = 0x40;
constexpr std::uint8_t kAsfPfRelativeTime = 0x20;
constexpr std::uint8_t kAsfPfDuration = 0x10;
constexpr std::uint8_t kAsfPfLocationId = 0x08;

struct RtpHeader {
  bool marker = false;
  std::uint8_t payload_type = 0;
  std::uint16_t seq = 0;
  std::uint32_t timestamp = 0;
  std::uint32_t ssrc = 0;
  ByteView payload;  // after CSRCs and the extension, without RTP padding; aliases the input
};

// Parses an RTP packet (RFC 3550 5.1): V=2, CSRC list, header extension and
// padding honoured. kMalformed for anything else (short, V != 2, padding or
// extension longer than the packet). An RTCP packet (PT 200..204 with M) is
// kMalformed too: check is_rtcp() first on a shared channel.
Result<RtpHeader> parse_rtp(ByteView packet);
// Whether a datagram/interleaved frame is RTCP (second byte 200..204).
bool is_rtcp(ByteView packet);
// Appends the 12-byte fixed header (V=2, no CSRC/extension/padding).
void write_rtp_header(const RtpHeader& h, std::vector<std::uint8_t>* out);

struct AsfPfHeader {
  std::uint8_t flags = 0;
  std::uint32_t field = 0;  // length (L=1) or offset (L=0), 24 bits
  std::int32_t relative_time = 0;
  std::uint32_t duration = 0;
  std::uint32_t location_id = 0;
  std::size_t size = 4;  // bytes of this header: 4, 8, 12 or 16
};
// Parses the payload format header at the front of `in`; false when short.
bool parse_asf_pf_header(ByteView in, AsfPfHeader* out);

// One ASF data packet out of the depayloader, without padding (re-pad it with
// asf::pad_packet to the a=maxps size before an ASF demuxer sees it).
struct DepayPacket {
  std::vector<std::uint8_t> data;
  bool keyframe = false;            // S flag
  bool discont = false;             // data was lost or dropped before this packet
  std::uint32_t rtp_timestamp = 0;  // of the RTP packet that completed it
  std::uint16_t seq = 0;            // of the RTP packet that completed it
};

struct DepayStats {
  std::uint64_t rtp_packets = 0;            // accepted RTP packets
  std::uint64_t asf_packets = 0;            // packets output
  std::uint64_t lost = 0;                   // RTP packets missing (sequence gaps)
  std::uint64_t late = 0;                   // RTP packets older than expected, dropped
  std::uint64_t dropped_partial = 0;        // partial ASF packets thrown away
  std::uint64_t malformed = 0;              // payloads (or their tails) that did not parse
  std::uint64_t oversized = 0;              // ASF packets above the packet size, dropped
  std::uint64_t length_with_header = 0;     // L=1 lengths read the WMS/FFmpeg way
  std::uint64_t length_without_header = 0;  // L=1 lengths read the spec/GStreamer way
};

// Reassembles ASF packets from the x-asf-pf RTP packets of one stream (one
// SSRC). Not thread-safe; one per stream.
class AsfDepayloader {
 public:
  // `max_packet_size`: a=maxps; 0 means unknown (limits::kMaxAsfPacketSize).
  explicit AsfDepayloader(std::uint32_t max_packet_size = 0);
  void set_max_packet_size(std::uint32_t max_packet_size);

  // Feeds one RTP packet (a UDP datagram or an interleaved frame's payload)
  // and appends the ASF packets it completes to *out. Returns kMalformed only
  // for a packet that is not RTP (nothing changes then); a bad x-asf-pf payload
  // is counted in stats, dropped, and flags the next output discont.
  //
  // Rules: sequence numbers must follow each other; a gap drops the partial
  // packet and flags discont; a packet older than expected (reordered or
  // duplicate) is dropped as late. L=1 units: the length is tried as counting
  // the payload header (WMS, FFmpeg) and as not counting it (spec,
  // GStreamer); a reading that ends exactly at the payload end, or where a
  // plausible next header (RES 0, L 1) starts, wins (WMS reading first); a
  // length running past the end takes the rest. L=0 fragments run to the end of
  // the payload, their offset must equal the bytes collected (offset 0 starts a
  // packet) and M=1 completes the packet. A packet above max_packet_size is
  // dropped. Cost: one copy of each ASF packet.
  Status push(ByteView rtp_packet, std::vector<DepayPacket>* out);

  // Forgets the sequence and any partial packet; the next output is discont
  // (seek, new PLAY).
  void reset();
  // Expect `seq` next (RTP-Info seq after PLAY): older packets are dropped as
  // late, and a jump to `seq` is not counted as loss.
  void expect_seq(std::uint16_t seq);
  const DepayStats& stats() const { return stats_; }

 private:
  void drop_partial();
  void emit(ByteView data, bool key, const RtpHeader& rtp, std::vector<DepayPacket>* out);
  // End offset of the L=1 unit at `pos`, or 0 when no reading fits.
  std::size_t unit_end(ByteView payload, std::size_t pos, const AsfPfHeader& h);

  std::uint32_t max_packet_size_;
  bool have_seq_ = false;
  std::uint16_t next_seq_ = 0;
  bool discont_ = false;
  bool in_fragment_ = false;
  bool fragment_key_ = false;
  std::vector<std::uint8_t> partial_;
  DepayStats stats_;
};

struct PayloaderConfig {
  std::uint8_t payload_type = 96;
  std::uint32_t ssrc = 0;
  std::uint16_t first_seq = 0;
  std::uint32_t timestamp_offset = 0;  // added to the send time (ms)
  // Largest RTP packet (12-byte header + payload). Clamped to 64..65535; keep
  // it below the path MTU for UDP (1400 fits Ethernet with IP/UDP headers).
  std::size_t mtu = 1400;
  // Several small ASF packets per RTP packet. Off by default: with more than
  // one unit per RTP packet, GStreamer's rtpasfdepay (length without header)
  // and FFmpeg (length with header) disagree; with one, both work.
  bool group = false;
};

// Packs ASF data packets into x-asf-pf RTP packets for one stream.
// Timestamp = send time of the first ASF packet in the RTP packet (ms) +
// timestamp_offset; M=1 on every RTP packet that ends an ASF packet; S from
// the caller; lengths count the payload format header (WMS way).
class AsfPayloader {
 public:
  explicit AsfPayloader(const PayloaderConfig& config);

  // Packs one ASF packet (padding may be stripped) and appends the finished
  // RTP packets to *out. A packet that does not fit one RTP packet is
  // fragmented (L=0, offsets). With grouping, a packet that fits is held until
  // the next one does not fit or flush(). kLocalMisuse for an empty packet or
  // one above 16 MiB - 1 (the 24-bit field).
  Status push(ByteView asf_packet, std::uint32_t send_time_ms, bool keyframe,
              std::vector<std::vector<std::uint8_t>>* out);
  // As push(), with send time and key-frame flag read from the packet
  // (asf::parse_packet with `packet_size`); kMalformed if it does not parse.
  Status push_parsed(ByteView asf_packet, std::uint32_t packet_size,
                     std::vector<std::vector<std::uint8_t>>* out);
  // Emits a held group, if any.
  void flush(std::vector<std::vector<std::uint8_t>>* out);

  std::uint16_t next_seq() const { return seq_; }
  std::uint32_t rtp_timestamp(std::uint32_t send_time_ms) const {
    return send_time_ms + config_.timestamp_offset;
  }

 private:
  void start(std::uint32_t send_time_ms, bool marker);
  void finish(std::vector<std::vector<std::uint8_t>>* out);

  PayloaderConfig config_;
  std::uint16_t seq_;
  std::vector<std::uint8_t> pending_;  // RTP packet being grouped (header written)
};

}  // namespace mms::rtsp

// RTSP client RTP receiver: per set-up stream, the RTP that comes in (UDP
// datagrams demuxed by SSRC, or interleaved frames by channel) goes to that
// stream's AsfDepayloader in sequence order, and the ASF packets it completes
// go to the Sink.
//
//   hold()      while a PLAY is unanswered (bounded: kMaxHeldRtpPackets)
//   push()      UDP: a packet ahead of the next expected one waits up to
//               kRtpReorderWait (at most kMaxRtpReorderPackets per stream) for
//               the missing ones; a gap that outlasts it is loss (DISCONT).
//               Over TCP RTP is never reordered and goes straight on.
//   filtering   RTP older than the PLAY's RTP-Info seq is dropped.
//   statistics  what arrived per source, and the SR times, for RTCP
//               receiver reports (RFC 3550 6.4.2, A.3).
//
// Sans-I/O and clock-free: `now` is an argument. Calls only its Sink, which
// may call flush() from inside on_depayloaded() (the end of the stream).
// Used by RtspClientSession.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "protocol/core/bytes.h"
#include "protocol/core/time.h"
#include "protocol/rtsp/asf_rtp.h"
#include "protocol/rtsp/rtcp.h"

namespace mms::rtsp {

// UDP reordering, per stream: RTP that overtook a missing packet waits this
// long (and at most this many packets) for it; then the gap counts as loss
// (DISCONT). RTP over UDP may be reordered on the way; over TCP it never is.
constexpr Duration kRtpReorderWait = 200 * kMillisecond;
constexpr std::size_t kMaxRtpReorderPackets = 64;
// RTP packets held while a PLAY is unanswered (a seek's old flow, or new
// packets that overtook the reply). At 1.4 KB this is < 1 MiB.
constexpr std::size_t kMaxHeldRtpPackets = 512;

// Receive state of one set-up stream.
struct RtpStream {
  std::optional<std::uint32_t> ssrc;
  std::uint8_t channel = 0;  // TCP: RTP interleaved channel
  AsfDepayloader depay;
  // This play: RTP-Info seq, and the last RTP seq seen.
  std::optional<std::uint16_t> play_seq;
  std::optional<std::uint16_t> last_seq;
  std::optional<std::uint16_t> eos_seq;  // EndOfStream RTP-Info seq (next seq)
  bool bye = false;                      // RTCP BYE from the server in this play
  // Receiver report (RFC 3550 6.4.2, A.3): what arrived on this source.
  struct Reception {
    bool started = false;
    std::uint16_t base_seq = 0;
    std::uint16_t max_seq = 0;
    std::uint32_t cycles = 0;  // seq wraps, times 65536
    std::uint32_t received = 0;
    std::uint32_t expected_prior = 0;  // at the last report
    std::uint32_t received_prior = 0;
    std::uint32_t lsr = 0;  // middle 32 bits of the last SR's NTP time
    Instant sr_at;          // when that SR arrived
  } rx;
  // UDP: the seq the depayloader gets next, and RTP that came before it
  // (sequence order restored by push(); at most kMaxRtpReorderPackets).
  std::optional<std::uint16_t> next_rtp;
  struct Early {
    std::uint16_t seq = 0;
    Instant at;  // arrival (reset when reading resumes after a throttle)
    std::vector<std::uint8_t> bytes;
  };
  std::vector<Early> early;
};

class RtpReceiver {
 public:
  class Sink {
   public:
    virtual ~Sink() = default;
    // The depayloader of `stream` took an RTP packet of this play and
    // completed `packets` (maybe none). The views are the caller's to move.
    virtual void on_depayloaded(std::size_t stream, std::vector<DepayPacket>* packets,
                                Instant now) = 0;
  };

  // `udp`: reorder (RTP over UDP); `sink` must outlive the receiver.
  RtpReceiver(bool udp, Sink* sink) : udp_(udp), sink_(sink) {}

  // One stream per planned stream, each depayloader limited to `max_packet_size`.
  void set_streams(std::size_t count, std::uint32_t max_packet_size);
  // A new playlist entry on the same streams.
  void set_max_packet_size(std::uint32_t max_packet_size);
  std::vector<RtpStream>& streams() { return streams_; }
  const std::vector<RtpStream>& streams() const { return streams_; }

  // A PLAY was answered: forget the flow it replaces (seqs, BYEs, waiting RTP).
  void start_play();
  // RTP-Info seq of `stream` for this play (the depayloader expects it).
  void expect(std::size_t stream, std::uint16_t seq);

  // The stream a datagram belongs to, by SSRC; a stream whose SETUP reply
  // named none takes the first unknown SSRC. nullopt: not RTP, or no stream.
  std::optional<std::size_t> stream_for_ssrc(ByteView datagram);
  // The stream whose interleaved RTP channel this is (RTCP: channel - 1).
  std::optional<std::size_t> stream_for_channel(std::uint8_t rtp_channel) const;

  // RTP of a play not answered yet: kept (the oldest dropped beyond kMaxHeldRtpPackets).
  void hold(std::size_t stream, ByteView packet);
  struct Held {
    std::size_t stream = 0;
    std::vector<std::uint8_t> bytes;
  };
  // Hands over what hold() kept (the caller push()es it while still playing).
  std::deque<Held> take_held();
  void clear_held() { held_.clear(); }

  // RTP of the current play: to the depayloader in sequence order (UDP).
  void push(std::size_t stream, ByteView packet, Instant now);
  // Every waiting packet goes on now, gaps given up (an end, an entry change).
  void flush(Instant now);
  // Gaps that waited kRtpReorderWait are given up (not while throttled).
  void expire(Instant now);
  // When expire() has work next; nullopt while throttled or nothing waits.
  std::optional<Instant> deadline() const;
  // The consumer is full (nothing is read) or reads again: waiting packets
  // then start a full wait again (the missing ones may be queued unread).
  void set_throttled(bool throttled, Instant now);

  // Statistics for receiver reports: an RTP datagram of `stream` arrived.
  // False (nothing counted) when it is shorter than an RTP header.
  bool count_received(std::size_t stream, ByteView packet);
  // Sender reports in an RTCP packet: their times, echoed in the next report.
  void take_sender_reports(ByteView packet, Instant now);
  // Report blocks (at most kMaxReportBlocks) for every source heard from,
  // advancing the per-interval counts.
  std::vector<ReportBlock> report_blocks(Instant now);
  // The streams an RTCP packet's BYE ends: `stream` (the interleaved channel
  // it came on) if it carries a BYE, else (UDP) those whose SSRC it names.
  std::vector<std::size_t> bye_streams(std::optional<std::size_t> stream, ByteView packet) const;

 private:
  void release_early(std::size_t stream, Instant now);
  void give_up_gap(std::size_t stream, Instant now);
  void depayload(std::size_t stream, ByteView packet, Instant now);

  bool udp_;
  Sink* sink_;
  bool throttled_ = false;
  std::vector<RtpStream> streams_;
  std::deque<Held> held_;
};

// Seq a is at or after b (RFC 1982 on 16 bits).
inline bool seq_at_or_after(std::uint16_t a, std::uint16_t b) {
  return static_cast<std::int16_t>(static_cast<std::uint16_t>(a - b)) >= 0;
}

}  // namespace mms::rtsp

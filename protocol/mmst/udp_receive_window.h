// MMS/UDP receive window (docs/protocols/mmsp-reference.md §5): the data path of
// MmstClientSession over UDP, sans-I/O and clock-free (`now` is an argument).
//
//   sequencing  datagrams carry only the low 8 bits of the server's packet
//               counter (AFFlags); they are extended to 32 bits, and with the
//               LocationId when every packet of the content is sent (on-demand,
//               every stream selected), which tells how many 256-packet cycles a
//               long loss burst hid. The first packet of a later play comes after
//               everything the server sent before (its counter runs on across
//               plays, MS-MMSP 3.2.3).
//   reordering  packets ahead of a missing one are held (kMaxUdpReorderPackets,
//               kMaxUdpReorderBytes) and handed on in sequence order.
//   resends     missing packets are asked for (RequestPacketListResend, up to
//               limits::kMaxResendPackets each, kMaxResendRequestsAtOnce at once)
//               and asked for again after a retry interval that follows the
//               measured resend round trip.
//   loss        a missing packet not resent within kUdpLossDeadline (or pushed
//               out of a full reorder window) is given up: the Sink may play
//               again from there (on-demand: feed()/on_timeout() return a Replay
//               and do nothing more), else it counts as lost (Sink::on_lost) and
//               what follows is handed on. A jump of kMaxUdpGapPackets or more
//               gives up on what is in between at once.
//   tail probe  at the end of a play lost packets at the very end leave no gap:
//               probe_tail() asks for the packets that should still come.
//
// The Sink is called from inside feed(), on_timeout() and probe_tail() only;
// it must not call the window back. Used by MmstClientSession.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "protocol/core/bytes.h"
#include "protocol/core/time.h"
#include "protocol/mmst/messages.h"

namespace mms::mmst {

// UDP reordering: packets held while waiting for a missing one, at most this
// many and this many bytes of packets. A fast server (loopback) loses whole
// bursts when this client is not scheduled for a few ms; the packets that
// follow such a burst are held until the resends come, which arrive behind
// what the socket buffer (4 MiB) holds already: 2048 packets of 8000 bytes
// cover that; at 1 Mbit/s and 1.5 KB packets they are ~25 s of media.
constexpr std::size_t kMaxUdpReorderPackets = 4096;
constexpr std::size_t kMaxUdpReorderBytes = 32u * 1024 * 1024;
// A sequence gap up to this long is asked for again; a longer jump (a
// restarted sender) gives up on what is in between at once.
constexpr std::uint32_t kMaxUdpGapPackets = 8192;
// A missing UDP packet is re-requested after the retry interval: four resend
// round trips as measured (packets asked for once), within these bounds, and
// kUdpResendRetry until a round trip was measured. It is given up after
// kUdpLossDeadline (broadcast: counted lost, next packet discont; on-demand:
// played again from there, at most kMaxUdpReplays times from the same packet).
constexpr Duration kUdpResendRetry = 200 * kMillisecond;
constexpr Duration kUdpResendRetryMin = 10 * kMillisecond;
constexpr Duration kUdpLossDeadline = 1 * kSecond;
constexpr int kMaxUdpReplays = 8;
// Resend requests (of up to 32 packets each) sent at once.
constexpr std::size_t kMaxResendRequestsAtOnce = 8;

class UdpReceiveWindow {
 public:
  class Sink {
   public:
    virtual ~Sink() = default;
    // The next packet in sequence order. `payload` stays valid until
    // release_storage() (it may point into the datagram being fed).
    virtual void on_deliver(ByteView payload, std::uint32_t location_id) = 0;
    // Ask the server again for these packets (server sequence numbers, n <=
    // limits::kMaxResendPackets): one RequestPacketListResend.
    virtual void on_resend_request(const std::uint32_t* seqs, std::size_t n) = 0;
    // Packet `seq` is given up for good (before what is delivered next).
    virtual void on_lost(std::uint32_t seq) = 0;
    // Whether a loss is to be repaired by playing again from the first packet
    // not delivered (asked when one happens, after the deliveries before it).
    virtual bool may_replay() const = 0;
  };

  // What the session knows when it feeds a packet.
  struct Context {
    // On-demand content with every stream selected: the server sends every
    // packet, so sequence - LocationId stays the same within a play.
    bool every_packet = false;
    std::uint32_t packet_size = 0;  // the ASF packet size (bounds the reorder window)
    bool can_request = true;        // a UDP channel to send resend requests on
  };

  // A loss the Sink wants repaired by playing again (may_replay()): the window
  // did nothing after it; the caller starts the new play (start_play()).
  struct Replay {
    std::uint32_t seq = 0;  // the packet given up
    const char* why = "";   // for the log
  };

  explicit UdpReceiveWindow(Sink* sink) : sink_(sink) {}

  // A new play (StartPlaying with `play_incarnation`, from `first_location`
  // when it names a packet): forgets what is held and missing. The server's
  // counter starts at 0 with the session (`sequence_from_zero`: nothing was
  // received yet); a later play's first packet sets it.
  void start_play(std::uint8_t play_incarnation, std::optional<std::uint32_t> first_location,
                  bool sequence_from_zero);
  // Forgets what is held and missing (a pause, a playlist change).
  void clear();
  // clear(), and the next packet sets the sequence (a broadcast after dropping).
  void restart_sequence();

  // Every UDP data packet of a play incarnation, also those dropped before
  // feed() (stale, paused): they advance the server's counter.
  void note(const DataPacket& p, bool every_packet);
  struct Fed {
    bool duplicate = false;        // delivered or given up before: dropped, nothing done
    std::optional<Replay> replay;  // see Replay
  };
  // A packet of the current play to hand on in order.
  Fed feed(const DataPacket& p, Instant now, const Context& ctx);
  // Gives up what is overdue, asks again for what is due.
  std::optional<Replay> on_timeout(Instant now, const Context& ctx);
  std::optional<Instant> next_deadline() const;

  // The end of the play (every packet sent): lost packets at the very end
  // leave no gap, so ask for the next batch of the `packet_count` that should
  // still come after `last_location` (the last one delivered). False when
  // there is nothing more to ask for (or the last batch recovered nothing).
  bool probe_tail(std::optional<std::uint32_t> last_location, std::uint64_t packet_count,
                  Instant now, const Context& ctx);
  // The next probe_tail() starts a new tail.
  void start_tail() { tail_next_set_ = false; }

  // Nothing held, nothing missing.
  bool idle() const { return missing_.empty() && held_.empty(); }
  bool has_missing() const { return !missing_.empty(); }
  bool sequence_known() const { return seq_known_; }
  // Frees the copies of held packets that were delivered (their payload views die).
  void release_storage() { released_.clear(); }

  std::uint32_t lost() const { return lost_; }
  std::uint32_t recovered() const { return recovered_; }

 private:
  // A UDP data packet held for reordering.
  struct Held {
    std::uint32_t location_id = 0;
    std::vector<std::uint8_t> payload;
  };
  struct Requested {
    Instant at;          // last request
    bool again = false;  // requested more than once (no round-trip sample)
  };

  std::uint32_t sequence_of(const DataPacket& p, bool every_packet);
  void note_server_sequence(std::uint32_t seq);
  void deliver_held(std::map<std::uint32_t, Held>::iterator it);
  void release_in_order();
  std::optional<Replay> skip_lost(Instant now, bool force, std::uint32_t packet_size);
  void request_resends(Instant now, const Context& ctx);
  void add_missing(std::uint32_t seq, Instant now);
  void forget_missing(std::uint32_t seq);
  Duration resend_retry() const;
  // Packets held_ may hold (kMaxUdpReorderPackets, fewer for big packets).
  static std::size_t reorder_limit(std::uint32_t packet_size);

  Sink* sink_;
  bool seq_known_ = false;
  std::uint32_t next_seq_ = 0;  // extended sequence expected next
  // The highest server sequence seen (the reference for the first packet of
  // a play): the server's counter runs on across plays (MS-MMSP 3.2.3), and
  // resend requests name its values.
  std::uint32_t last_seq_ = 0;
  // With every packet sent, sequence - LocationId of this play (set by its
  // first packet). The previous play's value places that play's packets still
  // in flight after a new StartPlaying (they advance the server's counter too).
  std::uint8_t play_inc_ = 0;
  std::optional<std::uint32_t> seq_minus_location_;
  std::uint8_t prev_play_inc_ = 0;
  std::optional<std::uint32_t> prev_seq_minus_location_;
  std::optional<std::uint32_t> play_first_location_;  // StartPlaying's locationId

  std::map<std::uint32_t, Held> held_;
  std::optional<std::uint32_t> window_top_;   // highest seq held or missing
  std::map<std::uint32_t, Instant> missing_;  // seq -> when first noticed
  std::map<std::uint32_t, Requested> requested_at_;
  std::set<std::uint32_t> unrequested_;                        // missing, never asked for
  std::deque<std::pair<Instant, std::uint32_t>> retry_queue_;  // requests in time order
  std::optional<Instant> request_round_;                       // last request_resends() that sent
  std::optional<Duration> resend_rtt_;                         // smoothed resend round trip
  std::vector<std::vector<std::uint8_t>> released_;            // storage of delivered held packets

  // Tail probe.
  std::uint32_t tail_next_ = 0;  // first tail packet not yet asked for
  bool tail_next_set_ = false;
  std::uint32_t tail_recovered_mark_ = 0;  // recovered_ when the last tail batch was asked for

  std::uint32_t lost_ = 0;
  std::uint32_t recovered_ = 0;
};

}  // namespace mms::mmst

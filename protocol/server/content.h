// The server's content model, shared by the MMSH, MMS and RTSP server
// sessions: an ASF file parsed once (header, per-packet send times and key
// flags, key-frame lookup for positioning and for joining a broadcast), or a
// publishing point's content fed packet by packet (protocol/server/live_feed.h).
//
// Sans-I/O like the rest of protocol/: no sockets, clocks or threads.
//
// Thread confinement: file contents are immutable after creation except for
// the framed caches, whose one-time construction is synchronised, so they may
// be shared between threads. A fed content is mutated by its feed and must be
// used on the feed's thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/asf/header_parser.h"
#include "protocol/core/bytes.h"
#include "protocol/core/status.h"
#include "protocol/core/time.h"

namespace mms::server {

// Per-packet facts the server needs for positioning and pacing.
struct PacketMeta {
  static constexpr std::uint32_t kNoTime = UINT32_MAX;
  std::uint32_t send_time_ms = 0;  // ASF Send Time (muxers differ on whether it includes preroll)
  // Presentation time (ms, includes the preroll) of the key frame this packet starts
  // (video), else of the earliest media object starting in it; kNoTime when none.
  std::uint32_t presentation_ms = kNoTime;
  bool key = false;  // starts a video key frame (audio-only content: every parsable packet)
};

// $D frames of every packet of a content, concatenated: frame i occupies
// bytes [offsets[i], offsets[i + 1]). LocationId = i, AFFlags = i mod 256.
struct FramedPackets {
  std::vector<std::uint8_t> bytes;
  std::vector<std::size_t> offsets;  // packet_count + 1 entries
};

// Called once on each big buffer the content allocates (the framed cache), so
// the embedder can advise the OS (e.g. transparent huge pages: fewer page faults
// when a 100 MB cache is first written). Must not touch the bytes.
using LargeBufferHint = void (*)(void* data, std::size_t size);

// How a content's $D frames are written (the MMSH framing; injected so this
// layer does not depend on a transport): frame `index` carrying `payload`.
using FrameEncoder = void (*)(std::uint32_t index, ByteView payload,
                              std::vector<std::uint8_t>* out);

class LiveFeed;

// One ASF file, parsed once and shared (read-only) by all sessions; or the
// content of a publishing point fed packet by packet (fed(): see LiveFeed).
class Content {
 public:
  // Takes ownership of the file bytes. `live` serves the content as a looped
  // broadcast (header marked broadcast). Errors: kMalformed for a file that is
  // not a usable ASF file (no packets, bad header).
  static Result<std::shared_ptr<const Content>> create(std::string name,
                                                       std::vector<std::uint8_t> file, bool live);
  // Zero-copy form: `file` stays valid while `owner` lives (e.g. a memory-mapped
  // file whose deleter unmaps it); the Content keeps `owner`.
  static Result<std::shared_ptr<const Content>> create(std::string name, ByteView file,
                                                       std::shared_ptr<const void> owner, bool live,
                                                       LargeBufferHint hint = nullptr);

  const std::string& name() const { return name_; }
  bool live() const { return live_; }
  const asf::FileLayout& layout() const { return layout_; }
  const asf::HeaderInfo& info() const { return layout_.info; }
  std::uint32_t packet_size() const { return layout_.info.packet_size; }
  // Packets so far: indices [first_packet(), packet_count()) are available.
  std::uint32_t packet_count() const {
    return first_ + static_cast<std::uint32_t>(packets_.size());
  }
  // The $H payload: Header Object + 50-byte Data Object prefix (broadcast-marked when live).
  // Lives as long as the Content.
  ByteView header() const { return ByteView(header_); }
  // ASF data packet `i` (first_packet() <= i < packet_count()), full size with
  // padding. Lives as long as the Content; a fed content's packet only until
  // its feed next appends (copy it before returning to the caller's loop).
  ByteView packet(std::uint32_t i) const;
  const PacketMeta& meta(std::uint32_t i) const { return packets_[i - first_]; }

  // Fed content (a publishing point). Mutated only by its LiveFeed, on the
  // thread that runs the sessions (no locking). Packets older than the feed's
  // window are dropped, so indices stay absolute: first_packet() grows.
  bool fed() const { return fed_; }
  // The oldest packet available (0 for files).
  std::uint32_t first_packet() const { return first_; }
  // Fed: no more packets will be added to this content (the feed ended, or a
  // new header started the next content).
  bool ended() const { return ended_; }
  // Fed, ended: the content of the header that followed (a stream change for
  // the clients), or null when the broadcast ended.
  std::shared_ptr<const Content> successor() const { return successor_; }
  // Fed: where a joining client starts: the last key-frame packet sent at
  // least `behind_ms` before the newest packet (broadcast Fast Start,
  // protocol/core/fast_start.h), else the oldest key frame available;
  // packet_count() while none has arrived.
  std::uint32_t live_start(std::uint32_t behind_ms = 0) const;
  // Fed: where a client whose next packet is `next` goes on: `next` while it
  // is held, else (it fell behind the window) the oldest key frame held.
  std::uint32_t catch_up(std::uint32_t next) const;
  // Looped live (live() and not fed()): where a client joins the broadcast
  // clock `elapsed` after its start, `behind_ms` behind live (broadcast Fast
  // Start; never back into the previous loop): the key-frame packet at or
  // before that point, and the loop number in *iteration.
  std::uint32_t loop_join(Duration elapsed, std::uint32_t behind_ms, std::int64_t* iteration) const;
  // Looped live: when `packet` of loop `iteration` is live on a broadcast
  // clock started at `epoch`.
  Instant loop_due(Instant epoch, std::int64_t iteration, std::uint32_t packet) const {
    const std::int64_t rel = send_ms_since(packet, meta(0).send_time_ms);
    return epoch + (iteration * std::int64_t{loop_period_ms_} + rel) * kMillisecond;
  }
  // Media time of `packet` after a send time of `start_send_ms` (what a play
  // starting there paces by; negative for an earlier packet).
  std::int64_t send_ms_since(std::uint32_t packet, std::int64_t start_send_ms) const {
    return std::int64_t{meta(packet).send_time_ms} - start_send_ms;
  }
  // Content duration in ms without preroll (from the header, else from send times).
  std::uint32_t duration_ms() const { return duration_ms_; }
  // Loop period of a live content in ms (send-time span plus one packet interval).
  std::uint32_t loop_period_ms() const { return loop_period_ms_; }
  // Streams declared by the header, stream number -> true.
  bool has_stream(std::uint16_t number) const;

  // Where a server starts, shared by every protocol's server session.
  // The last key-frame packet at or before `packet` (`packet` itself when none).
  std::uint32_t key_at_or_before(std::uint32_t packet) const;
  // For an ASF presentation time (including the preroll): the last key-frame
  // packet presented at or before it; packet 0 when it is before the first key
  // frame; without timed key frames, the key packet at or before the last
  // packet sent by then. Callers check the time against the duration first.
  std::uint32_t start_for_presentation(std::uint64_t presentation_ms) const;
  // The last packet sent at or before `send_ms`, moved back to a key frame
  // (joining a broadcast loop).
  std::uint32_t key_at_send_time(std::uint64_t send_ms) const;

  // The $D frames of all streams (padding stripped when `strip`) written by
  // `encode`, built on first use (thread-safe) and kept for the lifetime of the
  // Content. Files only (a fed content has none: nullptr). Every caller passes
  // the same encoder.
  const FramedPackets* framed(bool strip, FrameEncoder encode) const;

 private:
  friend class LiveFeed;
  Content() = default;
  void build_framed(bool strip, FrameEncoder encode, FramedPackets* out) const;
  static PacketMeta scan_packet(ByteView packet, const asf::HeaderInfo& info,
                                const std::vector<bool>& video, bool has_video,
                                std::uint32_t last_send);
  // Video stream numbers of a header (index = stream number < 128).
  static std::vector<bool> video_streams(const asf::HeaderInfo& info, bool* has_video);

  std::string name_;
  bool live_ = false;
  ByteView file_;
  std::shared_ptr<const void> owner_;
  LargeBufferHint hint_ = nullptr;
  std::vector<std::uint8_t> header_;
  asf::FileLayout layout_;
  std::deque<PacketMeta> packets_;  // packets_[i - first_] describes packet i
  std::uint32_t first_ = 0;
  bool fed_ = false;
  bool ended_ = false;
  std::shared_ptr<const Content> successor_;
  std::deque<std::vector<std::uint8_t>> fed_packets_;  // fed: the packets' bytes
  std::uint32_t duration_ms_ = 0;
  std::uint32_t loop_period_ms_ = 1;
  mutable std::once_flag framed_once_[2];
  mutable FramedPackets framed_[2];
};

// The content's bit rate: File Properties' maximum, else the sum of its
// streams' (0 when unknown). What Fast Start divides a stated bandwidth by.
std::uint64_t content_bps(const Content& c);

// Where content comes from. Implemented by the server (files under a root
// directory, publishing points) and by tests (in-memory fixtures).
class ContentSource {
 public:
  virtual ~ContentSource() = default;
  // Looks up the content for a request path ("/name", query string already
  // removed). Errors: kNotFound (-> 404), anything else (-> 500).
  virtual Result<std::shared_ptr<const Content>> open(std::string_view path) = 0;
};

}  // namespace mms::server

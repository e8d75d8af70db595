// MMSH (MS-WMSP) server session: one object per accepted TCP connection.
//
// Sans-I/O: request bytes and "now" go in, response bytes and the next
// deadline come out. No sockets, no clock reads, no threads. The caller
// (protocol/io/listener) owns the socket and drives the session through
// server::ServerSession (protocol/server/session.h; no UDP):
//
//   on_bytes(buf, now)      -> consumed; unconsumed bytes are offered again
//                              with more appended (the session never buffers input)
//   next_output(now)        -> view of bytes to write now (large batches)
//   consume_output(n)       -> n bytes of that view were written
//   next_deadline()         -> when to call next_output/on_timeout again
//   wants_close()           -> everything is written; close the connection
//
// Non-pipelined MS-WMSP: a connection carries one request and its response,
// then closes (MS-WMSP 1.3, what every open-source client does), unless the
// request asks to keep it (HTTP/1.1 without "Connection: close", or
// "Connection: Keep-Alive"): then the connection stays open after a response
// of known length (Describe, POST, OPTIONS) for the client's next request, and
// requests sent back to back are answered in order (on_bytes consumes one
// request at a time and leaves the next one to the caller until the response is
// written). A Play response has no length and ends with the connection. POST
// SelectStream sets the streams of the next Play on the connection that names
// none; POST KeepAlive and OPTIONS refresh the connection's idle timer; POST Log
// is logged at debug level. The chunked pipelined mode (the pipeline-request
// probe, version11-enabled Play) is not implemented: the server never offers it.
//
// Content comes from an injected server::ContentSource (protocol/server/
// content.h): files, with a lazily built cache of framed $D packets so
// fast-mode Play hands out views into one contiguous buffer, and publishing
// points fed packet by packet (a Play of one starts at its last key frame, sends
// each packet as it arrives, and turns a new header into $E(1) $C(0) $H; the
// I/O layer calls next_output() again when the feed grew).
//
// Thread confinement: a session is used by one thread (a fed content's thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/asf/header_parser.h"
#include "protocol/auth/server_auth.h"
#include "protocol/core/access.h"
#include "protocol/core/bytes.h"
#include "protocol/core/fast_start.h"
#include "protocol/core/status.h"
#include "protocol/core/time.h"
#include "protocol/mmsh/http_codec.h"
#include "protocol/server/content.h"
#include "protocol/server/session.h"

namespace mms::mmsh {

// Fault injection for client robustness tests.
enum class Fault : std::uint8_t {
  kNone,
  kGarbage,      // answer every request with non-HTTP junk, then close
  kTruncate,     // Play: close the connection in the middle of the 5th $D frame
  kHugeLength,   // $H's ASF Header Object claims 2 GiB; Describe Content-Length 2147483648
  kStallHeader,  // response head + half of the $H frame, then silence until the client leaves
  kBadFrame,     // Play: after the $H, a frame with a bad sync byte, then close
};
const char* to_string(Fault fault);
// "garbage", "truncate", "huge-length", "stall-header", "bad-frame" (and "none").
std::optional<Fault> fault_from_string(std::string_view name);

// Configuration shared by every session of a server.
struct ServerConfig {
  server::ContentSource* content = nullptr;      // not owned; outlives the sessions
  bool fast = false;                             // on-demand Play as fast as the client reads
  bool keep_padding = false;                     // send full-size $D payloads
  auth::ServerAccount auth;                      // 401 challenges when auth.user is non-empty
  std::map<std::string, std::string> redirects;  // content name (path without '/') -> URL
  // Server-side playlists: name (path without '/') -> content names played in
  // order. A Play of a playlist ends each entry but the last with $E(1) $C(0)
  // and the next entry's $H (docs/protocols/wmsp-reference.md §9.2), then its
  // packets; a Describe answers the first entry's header.
  std::map<std::string, std::vector<std::string>> playlists;
  Fault fault = Fault::kNone;
  Instant live_epoch;  // start of the shared broadcast clock (server start)
  // A response whose bytes the client does not read for this long (a paused
  // player with full buffers, a dead peer behind a NAT) is abandoned and the
  // connection closed; also advertised as the Pragma timeout. A client resumes
  // by a new request at its position (MS-WMSP has no pause request).
  Duration idle_timeout = 60 * kSecond;
  // Fast Start: the largest factor granted (1 = none). protocol/core/fast_start.h.
  std::uint32_t fast_start_factor = kFastStartDefaultFactor;
  // Access hook (protocol/core/access.h): every GET's target; false -> 403.
  AuthorizeHook authorize;
  // Grant a Describe's packet-pair-experiment=1: three $P frames before the
  // header (MS-WMSP 2.2.3.7), for the client's bandwidth estimate.
  bool packet_pair = true;
};

// Bytes of one output batch handed to the I/O layer. Big enough that fast mode
// does one write() per 256 KiB; small enough to keep per-session memory low.
constexpr std::size_t kOutputBatchBytes = 256 * 1024;
// A client that has not finished its request head within this time is dropped
// (slowloris bound).
constexpr Duration kRequestHeadTimeout = 30 * kSecond;
// Largest POST body (Log, SendEvent) the session reads and discards.
constexpr std::size_t kMaxRequestBody = 64 * 1024;
// Paced mode sends every packet due within this window in one batch, so timers
// fire at most every few milliseconds.
constexpr Duration kPacingSlack = 10 * kMillisecond;

class ServerSession : public server::ServerSession {
 public:
  // `config` must outlive the session. `client_id` is the session's random id
  // (the caller owns the random source). `now` starts the request-head timer.
  ServerSession(const ServerConfig* config, std::uint32_t client_id, Instant now);

  // Request bytes. Returns the bytes consumed (0 while the head is incomplete;
  // offer them again with more appended). After the request is complete every
  // byte is consumed and discarded. An error means the request was rejected: a
  // 4xx response has been queued anyway, so keep draining next_output() until
  // wants_close(). On a kept-alive connection only the current request (head and
  // body) is consumed; offer the rest again once its response is written
  // (next_output() empty and !wants_close()).
  Result<std::size_t> on_bytes(ByteView in, Instant now) override;
  // The peer closed its side: stop streaming; wants_close() becomes true.
  void on_eof(Instant now) override;
  // A deadline passed (request-head timer, output idle for idle_timeout).
  void on_timeout(Instant now) override;
  // Earliest time next_output()/on_timeout() should be called again, if any.
  std::optional<Instant> next_deadline() const override;

  // Bytes to write now (empty: nothing yet; see next_deadline/wants_close). The
  // view is valid until the next call of any method of this session; in fast
  // mode it usually aliases the content's framed cache (no copy).
  ByteView next_output(Instant now) override;
  // `n` bytes of the last next_output() view were written (n <= its size).
  void consume_output(std::size_t n) override;
  // True when the response is complete (or abandoned) and every byte handed out
  // was consumed: the caller closes the connection.
  bool wants_close() const override;

  // The server is full: the request gets "503 Service Unavailable".
  void set_busy() { busy_ = true; }

  // For logs and tests.
  std::uint32_t client_id() const { return client_id_; }
  int response_status() const { return response_status_; }
  // The request's path without the query ("" before a request head).
  const std::string& request_path() const { return request_path_; }
  // First packet of a Play (after positioning), or -1.
  std::int64_t start_packet() const { return start_packet_; }

  const char* protocol() const override { return "mmsh"; }
  // Access logs: request_path(), response_status(), "mmsh".
  server::SessionInfo info() const override {
    return server::SessionInfo{request_path_, response_status_, "mmsh"};
  }

 private:
  enum class State : std::uint8_t {
    kReadingHead,  // waiting for the complete request head
    kReadingBody,  // discarding a POST body of body_left_ bytes
    kResponding,   // writing a fixed response (pending_), then close
    kStreaming,    // Play: producing $D frames
    kStalled,      // fault stall-header: nothing more to send, wait for the peer
    kDone,         // everything produced; close once pending output is written
  };

  void handle_request(const HttpRequest& req, ByteView body, Instant now);
  void handle_post(const HttpRequest& req, const std::vector<PragmaToken>& pragmas, ByteView body);
  bool wants_keep_alive(const HttpRequest& req) const;
  void next_request(Instant now);
  void handle_get(const HttpRequest& req, const std::vector<PragmaToken>& pragmas, Instant now);
  void respond_simple(int status, const char* reason, const std::vector<HttpHeader>& extra = {});
  std::string response_head(int status, const char* reason, const char* content_type,
                            std::optional<std::uint64_t> content_length, bool live,
                            const std::vector<HttpHeader>& extra) const;
  std::vector<std::uint8_t> header_payload() const;
  // [$M] $H of the current content; $M only to players of version 9 or later
  // (docs/protocols/wmsp-reference.md §6.7), each with the next playlist-gen-id.
  void append_header_frames(std::vector<std::uint8_t>* out);
  void start_play(const HttpRequest& req, const std::vector<PragmaToken>& pragmas, Instant now);
  std::uint32_t choose_start(const std::vector<PragmaToken>& pragmas, bool* beyond_end) const;
  std::uint32_t back_to_key(std::uint32_t packet) const;
  void select_streams(const std::vector<PragmaToken>& pragmas);
  void all_streams();  // no filter: the framed cache of a file, packets as they are of a feed
  void produce_fed();

  Instant due_time(std::uint32_t packet) const;
  void produce(Instant now);
  void produce_end(Instant now);
  void append_packet_frame(std::uint32_t packet);
  std::size_t clamp_to_cut(std::size_t n) const;
  bool output_pending() const { return pending_pos_ < pending_.size() || zc_pos_ < zc_end_; }
  void drop_output();  // what was not written is abandoned

  const ServerConfig* config_;
  std::uint32_t client_id_;
  auth::ServerAuth auth_;  // 401 challenges and credentials (protocol/auth/server_auth.h)
  State state_ = State::kReadingHead;
  Instant head_deadline_;
  std::size_t body_left_ = 0;
  int response_status_ = 0;
  std::string request_path_;
  bool busy_ = false;
  bool peer_gone_ = false;
  bool keep_alive_ = false;            // the current response leaves the connection open
  bool send_metadata_ = false;         // the player is NSPlayer 9 or later: $M before every $H
  std::uint32_t playlist_gen_id_ = 0;  // of the last $M sent
  bool playlist_ = false;              // the request names a server-side playlist
  std::uint32_t requests_ = 0;         // requests read on this connection
  std::string selected_entry_;         // stream-switch-entry of a POST SelectStream

  // Output: owned bytes (pending_) or a view into the framed cache (zc_*), never both.
  std::vector<std::uint8_t> pending_;
  std::size_t pending_pos_ = 0;
  const std::uint8_t* zc_base_ = nullptr;
  std::size_t zc_pos_ = 0;
  std::size_t zc_end_ = 0;
  std::uint64_t produced_ = 0;         // bytes handed out so far (absolute stream offset)
  std::uint64_t written_ = 0;          // bytes consumed so far
  std::uint64_t cut_at_ = UINT64_MAX;  // fault truncate: close when written_ reaches this
  Instant now_;                        // of the last next_output()
  Instant progress_at_;                // output last produced or partly written

  // Play state.
  std::shared_ptr<const server::Content> content_;
  std::vector<std::shared_ptr<const server::Content>> entries_;  // playlist entries after content_
  std::size_t next_entry_ = 0;                                   // index into entries_
  const server::FramedPackets* framed_ = nullptr;  // cache for the all-streams case, else nullptr
  std::vector<bool> keep_;              // stream filter (128 entries) when framed_ == nullptr
  std::vector<std::uint8_t> scratch_;   // filtered packet
  std::vector<std::uint8_t> scratch2_;  // stripped packet
  std::uint32_t next_packet_ = 0;
  std::int64_t start_packet_ = -1;
  std::uint32_t d_count_ = 0;  // $D frames produced (AFFlags = d_count_ mod 256)
  Instant play_start_;         // on-demand pacing origin (due time of start packet)
  std::uint32_t start_send_ms_ = 0;
  FastStart accel_;                  // this play's Fast Start grant (on demand, paced)
  std::int64_t live_iteration_ = 0;  // live: loop number of next_packet_
  bool paced_ = false;
};

}  // namespace mms::mmsh

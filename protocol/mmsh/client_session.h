// MMSH client (MS-WMSP, non-pipelined mode) as a sans-I/O session.
//
// Describe (GET without xPlayStrm) fetches the ASF header; Play (GET with
// xPlayStrm=1, stream selection and a start time) streams $H $D... $E. A seek
// is a new Play on a new connection. Redirects (3xx) and HTTP Basic
// authentication restart the Describe. See docs/protocols/mmsh.md.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "protocol/asf/header_gate.h"
#include "protocol/auth/client_auth.h"
#include "protocol/core/packet_pair.h"
#include "protocol/mmsh/framing.h"
#include "protocol/mmsh/http_codec.h"
#include "protocol/session/client_session.h"

namespace mms::mmsh {

class MmshClientSession final : public session::ClientSession {
 public:
  explicit MmshClientSession(session::ClientConfig config);

  void on_connected(session::ChannelId ch, Instant now) override;
  void on_connect_failed(session::ChannelId ch, Status why, Instant now) override;
  std::size_t on_bytes(session::ChannelId ch, ByteView bytes, Instant now) override;
  void on_eof(session::ChannelId ch, Instant now) override;
  void on_timeout(Instant now) override;
  std::optional<Instant> next_deadline() const override;
  void on_throttle(bool paused, Instant now) override;
  void play(const session::PlayRequest& req, Instant now) override;
  void close() override;
  bool next_io_action(session::IoAction* out) override;
  bool next_event(session::Event* out) override;
  bool seekable() const override;
  const char* transport_name() const override { return "mmsh"; }

  // The request bytes the session would send next (tests).
  const std::string& last_request() const { return last_request_; }
  std::uint32_t client_id() const { return client_id_; }

 private:
  // Where the session is. One connection at a time.
  enum class State : std::uint8_t {
    kIdle,        // nothing requested yet
    kConnecting,  // TCP connect issued for channel_
    kAwaitHead,   // request sent, waiting for the response head
    kBody,        // reading the response body (frames)
    kWaitChange,  // play: $E reason 1 seen, waiting for $C
    kRedirector,  // describe: the body is a redirector file (ASX, [Reference]), not frames
    kSkipBody,    // the body of a 401/407 continuing NTLM: skipped, then the next leg
    kDone,        // $E reason 0 handled, Eos emitted
    kFailed,      // sticky: Failed emitted, inputs ignored
  };
  enum class Phase : std::uint8_t { kDescribe, kPlay };

  void start_phase(Phase phase, Instant now);
  void send_request(Instant now);
  std::size_t handle_head(ByteView bytes, Instant now);
  std::size_t handle_body(ByteView bytes, Instant now);
  void handle_meta_frame(const Frame& frame);
  void handle_header_frame(const Frame& frame, Instant now);
  void on_packet_pair(const Frame& frame, std::size_t already_here, Instant now);
  void handle_complete_header(Instant now);
  std::size_t handle_redirector(ByteView bytes, Instant now);
  void follow_redirector(Instant now);
  // Follows a redirect to `next` (an HTTP Location, a redirector's ref).
  void follow(Url next, Instant now);
  void fail(Status status, std::string detail = std::string());
  auth::Credentials credentials() const;        // the configured ones, else the URL's
  auth::Credentials proxy_credentials() const;  // the proxy URL's
  void touch(Instant now);
  void close_channel();

  session::ClientConfig config_;
  Url current_url_;
  State state_ = State::kIdle;
  Phase phase_ = Phase::kDescribe;
  session::ChannelId channel_ = 0;
  session::ChannelId next_channel_ = 1;
  std::uint64_t position_ms_ = 0;
  int redirects_ = 0;
  auth::ClientAuth auth_;        // the server's 401 challenges
  auth::ClientAuth proxy_auth_;  // the proxy's 407 challenges
  int request_context_ = 0;
  std::uint32_t client_id_ = 0;
  bool have_client_id_ = false;
  bool features_known_ = false;
  bool features_broadcast_ = false;
  bool features_seekable_ = false;
  bool features_playlist_ = false;
  bool throttled_ = false;
  bool announced_ = false;
  Instant last_activity_;
  std::string last_request_;
  std::optional<std::uint64_t> body_length_;   // Content-Length of the current response
  std::uint64_t skip_left_ = 0;                // kSkipBody
  std::vector<std::uint8_t> redirector_body_;  // kRedirector: the file so far
  bool frames_in_body_ = false;                // a frame of the current response was read
  FrameContext frame_ctx_;                     // $P frames of the current response
  PacketPairProbe probe_;                      // the Describe's $P arrival times
  bool probed_ = false;                        // the probe ran (asked once per session)

  HeaderAssembler assembler_;
  HeaderAssembler meta_assembler_;  // $M fragments
  // The last $M's metadata, for the header event that follows it.
  std::shared_ptr<const session::EntryMetadata> metadata_;
  asf::HeaderGate gate_;          // the known header, its info and stream selection
  bool after_change_ = false;     // next $H starts a new playlist entry
  bool discont_pending_ = false;  // next packet follows a seek
  bool header_seen_in_body_ = false;

  std::deque<session::IoAction> actions_;
  std::deque<session::Event> events_;
};

}  // namespace mms::mmsh

// RTSP client UDP ports: the RTX port P and the media port Q the client names
// in its SETUPs, and Q+1 next to Q for the server's RTCP. When Q+1 is taken the
// client binds another Q (holding the first meanwhile), up to
// kMaxRtcpPairAttempts times, and goes without RTCP otherwise.
//
// Sans-I/O: issues kBindUdp / kClose IoActions and is told the outcome.
// Used by RtspClientSession (RTP over UDP only).
#pragma once

#include <cstdint>
#include <deque>
#include <string>

#include "protocol/core/status.h"
#include "protocol/session/client_session.h"

namespace mms::rtsp {

// UDP: attempts at binding a media port Q whose Q+1 (RTCP) is free as well.
constexpr int kMaxRtcpPairAttempts = 4;

class UdpPorts {
 public:
  // Where the binds go: channel ids come from *next_channel, actions are
  // appended to *actions. Both must outlive this object.
  UdpPorts(session::ChannelId* next_channel, std::deque<session::IoAction>* actions)
      : next_channel_(next_channel), actions_(actions) {}

  // Binds P (any port) and Q (in [port_min, port_max]; 0, 0: any) on the
  // family of `host`.
  void start(const std::string& host, std::uint16_t port_min, std::uint16_t port_max);
  // A bind succeeded. Returns whether the caller should check ready() (a
  // bind of Q first binds Q+1; unknown channels change nothing).
  bool on_bound(session::ChannelId ch, std::uint16_t port);

  enum class Failure : std::uint8_t {
    kIgnored,     // not one of ours (or Q+1 after the binding phase)
    kRetrying,    // Q+1 was taken: another Q is being bound
    kCheckReady,  // given up on RTCP (or back to the Q held): check ready()
    kFatal,       // P or Q could not be bound: the attempt fails
  };
  // A bind failed. `binding`: still in the binding phase (a Q+1 failure
  // later is ignored).
  Failure on_bind_failed(session::ChannelId ch, bool binding);
  // P, Q and (if it could be had) Q+1 are bound.
  bool ready() const { return rtx_bound_ && media_bound_ && rtcp_done_; }
  // Closes every channel still open.
  void close_all();

  session::ChannelId rtx_channel() const { return rtx_ch_; }
  session::ChannelId media_channel() const { return media_ch_; }
  session::ChannelId rtcp_channel() const { return rtcp_ch_; }  // 0: no RTCP port
  std::uint16_t rtx_port() const { return rtx_port_; }
  std::uint16_t media_port() const { return media_port_; }

 private:
  void bind_media(std::uint16_t port_min, std::uint16_t port_max);
  void close(session::ChannelId* ch);

  session::ChannelId* next_channel_;
  std::deque<session::IoAction>* actions_;
  std::string host_;
  std::uint16_t port_min_ = 0;
  std::uint16_t port_max_ = 0;
  session::ChannelId rtx_ch_ = 0;        // P (RTX; nothing is read from it)
  session::ChannelId media_ch_ = 0;      // Q (every media stream)
  session::ChannelId rtcp_ch_ = 0;       // Q+1 (the server's RTCP: BYE)
  session::ChannelId old_media_ch_ = 0;  // a Q whose Q+1 was taken, kept while rebinding
  std::uint16_t old_media_port_ = 0;
  int pair_attempts_ = 0;
  bool rtcp_done_ = false;  // Q+1 bound, or given up
  std::uint16_t rtx_port_ = 0;
  std::uint16_t media_port_ = 0;
  bool rtx_bound_ = false;
  bool media_bound_ = false;
};

}  // namespace mms::rtsp

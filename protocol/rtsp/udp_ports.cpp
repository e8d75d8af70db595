#include "protocol/rtsp/udp_ports.h"

#include <algorithm>
#include <utility>

#include "protocol/core/log.h"

namespace mms::rtsp {
namespace {
constexpr const char* kLog = "rtsp-client";
}  // namespace

void UdpPorts::start(const std::string& host, std::uint16_t port_min, std::uint16_t port_max) {
  host_ = host;
  port_min_ = port_min;
  port_max_ = port_max;
  rtx_ch_ = (*next_channel_)++;
  session::IoAction a;
  a.kind = session::IoAction::Kind::kBindUdp;
  a.channel = rtx_ch_;
  a.host = host_;
  actions_->push_back(std::move(a));
  // The configured range is for the port data arrives on; nothing comes to RTX.
  bind_media(port_min, port_max);
}

void UdpPorts::bind_media(std::uint16_t port_min, std::uint16_t port_max) {
  media_ch_ = (*next_channel_)++;
  media_bound_ = false;
  session::IoAction a;
  a.kind = session::IoAction::Kind::kBindUdp;
  a.channel = media_ch_;
  a.host = host_;
  a.port = port_min;
  a.port_max = port_max;
  actions_->push_back(std::move(a));
}

void UdpPorts::close(session::ChannelId* ch) {
  if (*ch != 0) {
    session::IoAction a;
    a.kind = session::IoAction::Kind::kClose;
    a.channel = *ch;
    actions_->push_back(std::move(a));
    *ch = 0;
  }
}

bool UdpPorts::on_bound(session::ChannelId ch, std::uint16_t port) {
  if (ch == rtx_ch_) {
    rtx_port_ = port;
    rtx_bound_ = true;
  } else if (ch == media_ch_) {
    media_port_ = port;
    media_bound_ = true;
    // A new Q while the previous one is still held: the previous one goes now.
    close(&old_media_ch_);
    if (port != 0 && port < 65535) {
      // The server sends its RTCP (BYE at the end) to Q+1.
      rtcp_ch_ = (*next_channel_)++;
      session::IoAction a;
      a.kind = session::IoAction::Kind::kBindUdp;
      a.channel = rtcp_ch_;
      a.host = host_;
      a.port = static_cast<std::uint16_t>(port + 1);
      a.port_max = a.port;
      actions_->push_back(std::move(a));
      return false;
    }
    rtcp_done_ = true;
  } else if (ch == rtcp_ch_) {
    rtcp_done_ = true;
  } else {
    return false;
  }
  return true;
}

UdpPorts::Failure UdpPorts::on_bind_failed(session::ChannelId ch, bool binding) {
  if (ch == 0) {
    return Failure::kIgnored;
  }
  if (ch == rtcp_ch_ && binding) {
    // Q+1 is taken: another Q (holding this one meanwhile), or no RTCP.
    rtcp_ch_ = 0;
    const bool ranged = port_min_ != 0;
    const std::uint32_t next_min = std::uint32_t{media_port_} + 2;
    const std::uint32_t max = std::max(port_max_, port_min_);
    if (++pair_attempts_ < kMaxRtcpPairAttempts && old_media_ch_ == 0 &&
        (!ranged || next_min <= max)) {
      old_media_ch_ = media_ch_;
      old_media_port_ = media_port_;
      bind_media(ranged ? static_cast<std::uint16_t>(next_min) : 0,
                 ranged ? static_cast<std::uint16_t>(max) : 0);
      return Failure::kRetrying;
    }
    MMS_LOG(LogLevel::kInfo, kLog, "UDP port %u is taken: no RTCP from the server",
            media_port_ + 1);
    rtcp_done_ = true;
    return Failure::kCheckReady;
  }
  if (ch == media_ch_ && old_media_ch_ != 0) {
    // No other Q: back to the one held, without RTCP.
    media_ch_ = old_media_ch_;
    media_port_ = old_media_port_;
    old_media_ch_ = 0;
    media_bound_ = true;
    rtcp_done_ = true;
    return Failure::kCheckReady;
  }
  if (ch == rtx_ch_ || ch == media_ch_) {
    (ch == rtx_ch_ ? rtx_ch_ : media_ch_) = 0;
    return Failure::kFatal;
  }
  return Failure::kIgnored;
}

void UdpPorts::close_all() {
  for (session::ChannelId* ch : {&rtx_ch_, &media_ch_, &rtcp_ch_, &old_media_ch_}) {
    close(ch);
  }
}

}  // namespace mms::rtsp

#include "protocol/session/session_factory.h"

#include <utility>

#include "protocol/mmsh/client_session.h"
#include "protocol/mmst/client_session.h"
#include "protocol/rtsp/client_session.h"
#include "protocol/session/proxy_tunnel.h"

namespace mms::session {

namespace {

std::unique_ptr<ClientSession> plain_session(Transport transport, ClientConfig cfg) {
  switch (transport) {
    case Transport::kRtspUdp:
      return std::make_unique<rtsp::RtspClientSession>(std::move(cfg), true);
    case Transport::kRtspTcp:
      return std::make_unique<rtsp::RtspClientSession>(std::move(cfg), false);
    case Transport::kMmsUdp:
      return std::make_unique<mmst::MmstClientSession>(std::move(cfg), true);
    case Transport::kMmsTcp:
      return std::make_unique<mmst::MmstClientSession>(std::move(cfg), false);
    case Transport::kMmsh:
      return std::make_unique<mmsh::MmshClientSession>(std::move(cfg));
  }
  return nullptr;
}

}  // namespace

SessionFactory transport_session_factory() {
  return [](Transport transport, ClientConfig cfg) -> std::unique_ptr<ClientSession> {
    // With a proxy the TCP transports go through its CONNECT tunnel (MMSH
    // sends absolute-URI requests to it itself; the walk skips the UDP ones).
    const bool tunnel =
        cfg.proxy && (transport == Transport::kRtspTcp || transport == Transport::kMmsTcp);
    if (!tunnel) {
      return plain_session(transport, std::move(cfg));
    }
    Url proxy = *cfg.proxy;
    ClientConfig outer = cfg;
    std::unique_ptr<ClientSession> inner = plain_session(transport, std::move(cfg));
    if (!inner) {
      return nullptr;
    }
    return std::make_unique<ProxyTunnelSession>(std::move(inner), std::move(proxy), outer);
  };
}

}  // namespace mms::session

#include "protocol/session/session_factory.h"

#include <utility>

#include "protocol/mmsh/client_session.h"
#include "protocol/mmst/client_session.h"
#include "protocol/rtsp/client_session.h"

namespace mms::session {

SessionFactory transport_session_factory() {
  return [](Transport transport, ClientConfig cfg) -> std::unique_ptr<ClientSession> {
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
  };
}

}  // namespace mms::session

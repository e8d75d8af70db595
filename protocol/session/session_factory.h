// The production SessionFactory: one client session per transport.
#pragma once

#include "protocol/session/rollover_session.h"

namespace mms::session {

// Makes an RTSP, MMS or MMSH client session for `transport`.
SessionFactory transport_session_factory();

}  // namespace mms::session

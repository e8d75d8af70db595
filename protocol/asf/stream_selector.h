// Stream selection for a connection speed (multi-bitrate content).
#pragma once

#include <cstdint>
#include <vector>

#include "protocol/asf/header_parser.h"

namespace mms::asf {

struct StreamChoice {
  std::uint16_t number = 0;
  bool selected = false;
};

// Chooses streams. connection_speed_kbps == 0 selects every stream. Otherwise
// streams outside bitrate exclusion groups are always selected; for each
// Bitrate Mutual Exclusion group (audio groups first, then video) the highest
// bitrate stream that fits the remaining budget is chosen, else the lowest.
// Language/unknown exclusion groups: the first stream is chosen.
// The result lists every stream of the header, in header order.
std::vector<StreamChoice> select_streams(const HeaderInfo& info,
                                         std::uint32_t connection_speed_kbps);

}  // namespace mms::asf

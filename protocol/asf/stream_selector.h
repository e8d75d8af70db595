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

// Chooses one stream per mutual exclusion group, as Windows Media Player did.
// Streams outside exclusion groups are always selected; for each Bitrate
// Mutual Exclusion group (audio groups first, then video) the highest bitrate
// stream that fits what is left of `bandwidth_kbps` is chosen, else the
// lowest; `bandwidth_kbps` == 0 means no limit (the highest of each group).
// Language/unknown exclusion groups: the first stream is chosen. With
// `audio_only`, video streams are left out (when the header has audio).
// The result lists every stream of the header, in header order.
std::vector<StreamChoice> select_streams(const HeaderInfo& info, std::uint32_t bandwidth_kbps,
                                         bool audio_only = false);

// The bandwidth (kbps) a selection fits: the configured connection speed when
// set, else the packet-pair estimate (bits/s; 0: none), else 0 (no limit).
std::uint32_t selection_bandwidth_kbps(std::uint32_t configured_kbps, std::uint64_t measured_bps);

// Whether two selections choose the same streams.
bool same_selection(const std::vector<StreamChoice>& a, const std::vector<StreamChoice>& b);

// Every stream of the header, selected (a server relaying the whole file).
std::vector<StreamChoice> all_streams(const HeaderInfo& info);

}  // namespace mms::asf

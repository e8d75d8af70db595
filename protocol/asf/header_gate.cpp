#include "protocol/asf/header_gate.h"

#include <algorithm>
#include <utility>

#include "protocol/core/limits.h"
#include "protocol/core/log.h"

namespace mms::asf {

Result<HeaderGate::Verdict> HeaderGate::offer(ByteView raw, bool new_entry) {
  const bool same_raw = options_.dedupe && known_ && !new_entry &&
                        std::equal(raw.begin(), raw.end(), raw_.begin(), raw_.end());
  if (same_raw) {
    return Verdict{};
  }
  std::vector<std::uint8_t> repaired = raw.to_vector();
  Result<unsigned> rep = repair_header(&repaired);
  if (!rep.ok()) {
    return rep.status();
  }
  if (*rep != 0) {
    MMS_LOG(LogLevel::kWarning, options_.log_component,
            "repaired the server's ASF header (fixes 0x%x)", *rep);
  }
  if (options_.dedupe && options_.same_when_repaired_equal && !new_entry && known_ &&
      repaired == *repaired_) {
    // Differs from the known header only in what repair rewrites.
    raw_ = raw.to_vector();
    return Verdict{Kind::kSameRepaired, false};
  }
  Result<HeaderInfo> info = parse_header(repaired);
  if (!info.ok()) {
    return info.status();
  }
  if (info->packet_size == 0 || info->packet_size > limits::kMaxAsfPacketSize) {
    return Status(Code::kMalformed, "ASF header has an unusable packet size", info->packet_size);
  }
  if (info->streams.empty()) {
    return Status(Code::kMalformed, "ASF header declares no stream");
  }
  Verdict v;
  v.kind = Kind::kFresh;
  v.changed = known_ || (new_entry && options_.new_entry_is_change);
  raw_ = raw.to_vector();
  repaired_ = std::make_shared<const std::vector<std::uint8_t>>(std::move(repaired));
  info_ = std::move(*info);
  known_ = true;
  selection_ = select_streams(info_, selection_kbps(), options_.audio_only);
  return v;
}

std::uint32_t HeaderGate::selection_kbps() const {
  return selection_bandwidth_kbps(options_.connection_speed_kbps, measured_bps_);
}

bool HeaderGate::all_selected() const {
  return std::all_of(selection_.begin(), selection_.end(),
                     [](const StreamChoice& c) { return c.selected; });
}

}  // namespace mms::asf

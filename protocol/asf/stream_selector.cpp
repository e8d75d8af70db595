// Stream selection for multi-bitrate content; see stream_selector.h.
#include "protocol/asf/stream_selector.h"

#include <algorithm>

namespace mms::asf {
namespace {

bool group_is_audio(const HeaderInfo& info, const MutualExclusion& ex) {
  for (std::uint16_t n : ex.streams) {
    const StreamInfo* s = info.find_stream(n);
    if (s != nullptr && s->type == StreamType::kAudio) {
      return true;
    }
  }
  return false;
}

StreamChoice* find_choice(std::vector<StreamChoice>* choices, std::uint16_t number) {
  for (StreamChoice& c : *choices) {
    if (c.number == number) {
      return &c;
    }
  }
  return nullptr;
}

}  // namespace

std::vector<StreamChoice> all_streams(const HeaderInfo& info) {
  std::vector<StreamChoice> choices;
  choices.reserve(info.streams.size());
  for (const StreamInfo& s : info.streams) {
    choices.push_back(StreamChoice{s.number, true});
  }
  return choices;
}

std::uint32_t selection_bandwidth_kbps(std::uint32_t configured_kbps, std::uint64_t measured_bps) {
  if (configured_kbps != 0) {
    return configured_kbps;
  }
  if (measured_bps == 0) {
    return 0;
  }
  // Rounded down, but a measured link is never "no limit".
  const std::uint64_t kbps = measured_bps / 1000u;
  return kbps == 0 ? 1u : kbps > UINT32_MAX ? UINT32_MAX : static_cast<std::uint32_t>(kbps);
}

bool same_selection(const std::vector<StreamChoice>& a, const std::vector<StreamChoice>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const StreamChoice& x, const StreamChoice& y) {
                      return x.number == y.number && x.selected == y.selected;
                    });
}

std::vector<StreamChoice> select_streams(const HeaderInfo& info, std::uint32_t bandwidth_kbps,
                                         bool audio_only) {
  std::vector<StreamChoice> choices = all_streams(info);
  const bool has_audio =
      std::any_of(info.streams.begin(), info.streams.end(),
                  [](const StreamInfo& s) { return s.type == StreamType::kAudio; });
  if (audio_only && has_audio) {
    for (StreamChoice& c : choices) {
      const StreamInfo* s = info.find_stream(c.number);
      c.selected = s == nullptr || s->type != StreamType::kVideo;
    }
  }
  // Streams in an exclusion group start deselected; each group then picks one.
  std::vector<const MutualExclusion*> groups;
  for (const MutualExclusion& ex : info.exclusions) {
    bool any = false;
    for (std::uint16_t n : ex.streams) {
      if (StreamChoice* c = find_choice(&choices, n)) {
        c->selected = false;
        any = true;
      }
    }
    if (any) {
      groups.push_back(&ex);
    }
  }
  // Budget left after the streams that are always sent.
  std::uint64_t budget =
      bandwidth_kbps == 0 ? UINT64_MAX : static_cast<std::uint64_t>(bandwidth_kbps) * 1000u;
  for (const StreamChoice& c : choices) {
    const StreamInfo* s = info.find_stream(c.number);
    if (c.selected && s != nullptr) {
      budget = budget > s->bitrate ? budget - s->bitrate : 0;
    }
  }
  // Audio groups first, then the others (video); stable among equals.
  std::stable_sort(groups.begin(), groups.end(),
                   [&info](const MutualExclusion* a, const MutualExclusion* b) {
                     return group_is_audio(info, *a) && !group_is_audio(info, *b);
                   });
  for (const MutualExclusion* ex : groups) {
    const StreamInfo* pick = nullptr;
    if (ex->type != ExclusionType::kBitrate) {
      for (std::uint16_t n : ex->streams) {
        if ((pick = info.find_stream(n)) != nullptr) {
          break;
        }
      }
    } else {
      const StreamInfo* best_fit = nullptr;
      const StreamInfo* lowest = nullptr;
      for (std::uint16_t n : ex->streams) {
        const StreamInfo* s = info.find_stream(n);
        if (s == nullptr) {
          continue;
        }
        if (s->bitrate <= budget && (best_fit == nullptr || s->bitrate > best_fit->bitrate)) {
          best_fit = s;
        }
        if (lowest == nullptr || s->bitrate < lowest->bitrate) {
          lowest = s;
        }
      }
      pick = best_fit != nullptr ? best_fit : lowest;
    }
    if (pick == nullptr || (audio_only && has_audio && pick->type == StreamType::kVideo)) {
      continue;
    }
    StreamChoice* c = find_choice(&choices, pick->number);
    if (c != nullptr && !c->selected) {
      c->selected = true;
      budget = budget > pick->bitrate ? budget - pick->bitrate : 0;
    }
  }
  return choices;
}

}  // namespace mms::asf

// HeaderGate: the ASF header intake the three clients share. A complete header
// from the server (MMSH $H, MMS header Data packets, the SDP's a=pgmpu) is
// repaired (repair_header, so asfdemux accepts it), parsed, checked (a usable
// packet size, at least one stream), compared with the header known already
// and, when it is new, kept with its HeaderInfo and the stream selection for
// the connection speed. The caller turns a new header into its Header event.
//
// Sans-I/O, no clock; one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "protocol/asf/header_parser.h"
#include "protocol/asf/stream_selector.h"
#include "protocol/core/bytes.h"
#include "protocol/core/status.h"

namespace mms::asf {

struct HeaderGateOptions {
  // Log component of the repair warning (the client's).
  const char* log_component = "asf";
  // For select_streams (0: the measured bandwidth, else no limit).
  std::uint32_t connection_speed_kbps = 0;
  bool audio_only = false;
  // Off: every header offered is taken as new (RTSP: each SDP is a header to use).
  bool dedupe = true;
  // A header whose raw bytes differ from the known one only in what
  // repair_header rewrites is the same header (MMSH: servers resend $H with
  // the object count fixed or not).
  bool same_when_repaired_equal = false;
  // Verdict::changed is true for a new playlist entry even when no header was
  // known before (MMS); otherwise only when one was (MMSH).
  bool new_entry_is_change = false;
};

class HeaderGate {
 public:
  enum class Kind : std::uint8_t {
    kSame,          // the raw bytes of the known header: nothing changed
    kSameRepaired,  // differs only in what repair rewrites (same_when_repaired_equal): raw() now
                    // holds these bytes, nothing else changed
    kFresh,         // a new header (or none was known, or a new playlist entry): header(),
                    // info() and selection() describe it now
  };
  struct Verdict {
    Kind kind = Kind::kSame;
    // A fresh header replaces one given downstream before (Event::changed).
    bool changed = false;
    bool fresh() const { return kind == Kind::kFresh; }
  };

  HeaderGate() = default;
  explicit HeaderGate(HeaderGateOptions options) : options_(options) {}

  // Takes a complete raw header. `new_entry`: it starts a new playlist entry,
  // so it is fresh even when its bytes equal the known header's. Errors (the
  // known header stays): repair_header's and parse_header's, kMalformed
  // "ASF header has an unusable packet size" (detail: the size) and
  // "ASF header declares no stream".
  Result<Verdict> offer(ByteView raw, bool new_entry);

  // Whether a header was taken (and not forgotten since).
  bool known() const { return known_; }
  // Forgets that a header is known (a redirect: the next one is fresh). The
  // last header's values stay readable until the next one is taken.
  void forget() { known_ = false; }

  const std::vector<std::uint8_t>& raw() const { return raw_; }
  // What downstream gets: the repaired header, shared and immutable.
  const std::shared_ptr<const std::vector<std::uint8_t>>& header() const { return repaired_; }
  const HeaderInfo& info() const { return info_; }
  // Every stream of the header, in header order (select_streams).
  const std::vector<StreamChoice>& selection() const { return selection_; }
  // Every stream is selected.
  bool all_selected() const;

  // The packet-pair estimate in bits/s (0: none): what the selection fits when
  // no connection speed is configured. Applies from the next header taken.
  void set_measured_bandwidth(std::uint64_t bps) { measured_bps_ = bps; }
  // The bandwidth (kbps) the selection fits; 0 = no limit.
  std::uint32_t selection_kbps() const;

 private:
  HeaderGateOptions options_;
  bool known_ = false;
  std::vector<std::uint8_t> raw_;  // as last received
  std::shared_ptr<const std::vector<std::uint8_t>> repaired_;
  HeaderInfo info_;
  std::vector<StreamChoice> selection_;
  std::uint64_t measured_bps_ = 0;
};

}  // namespace mms::asf

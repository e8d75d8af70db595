// Fuzzes the playlist splice (protocol/asf/splice.h). The first two bytes are
// the packet size (little-endian, 0 read as 1), the third the shift in
// seconds; the rest is both a header and a packet. Invariants: a continued
// packet parses again with the same payloads and data, each time moved on by
// the shift; a header continuing itself maps every declared stream; an
// open-ended header parses with no play duration.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "protocol/asf/header_parser.h"
#include "protocol/asf/packet.h"
#include "protocol/asf/splice.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mms::asf;  // NOLINT(google-build-using-namespace)
  if (size < 3) {
    return 0;
  }
  std::uint32_t packet_size = static_cast<std::uint32_t>(data[0] | (data[1] << 8));
  if (packet_size == 0) {
    packet_size = 1;
  }
  const std::uint32_t shift = static_cast<std::uint32_t>(data[2]) * 1000u;
  const mms::ByteView in(data + 3, size - 3);

  StreamMap identity;
  for (std::size_t n = 1; n < identity.stream.size(); ++n) {
    identity.stream[n] = static_cast<std::uint8_t>(n);
  }
  std::vector<std::uint8_t> pkt(in.data(), in.data() + in.size());
  auto before = parse_packet(in, packet_size);
  const mms::Status st = continue_packet(pkt.data(), pkt.size(), packet_size, identity, shift);
  if (st.ok()) {
    auto after = parse_packet(pkt, packet_size);
    if (!before.ok() || !after.ok() || after->payloads.size() != before->payloads.size() ||
        after->send_time_ms != before->send_time_ms + shift) {
      std::abort();
    }
    for (std::size_t i = 0; i < before->payloads.size(); ++i) {
      const PayloadInfo& x = before->payloads[i];
      const PayloadInfo& y = after->payloads[i];
      const bool timed = x.replicated_length >= 8 || x.replicated_length == 1;
      if (x.stream != y.stream || x.data_end - x.data_begin != y.data_end - y.data_begin ||
          std::memcmp(in.data() + x.data_begin, pkt.data() + y.data_begin,
                      x.data_end - x.data_begin) != 0 ||
          (timed && y.presentation_ms != x.presentation_ms + shift)) {
        std::abort();
      }
    }
  } else if (before.ok() && st.code() != mms::Code::kLimitExceeded) {
    // Streams 1..127 are mapped: only a time past its field or a stream 0 fails.
    bool stream_zero = false;
    for (const PayloadInfo& p : before->payloads) {
      stream_zero = stream_zero || p.stream == 0;
    }
    if (!stream_zero) {
      std::abort();
    }
  }

  auto info = parse_header(in);
  auto map = continuing_streams(in, in);
  if (map.ok()) {
    if (!info.ok()) {
      std::abort();
    }
    for (const StreamInfo& s : info->streams) {
      if (s.number < 128 && map->stream[s.number] == 0) {
        std::abort();
      }
    }
  }
  std::vector<std::uint8_t> header(in.data(), in.data() + in.size());
  if (mark_open_ended(&header, 1ull << 40).ok()) {
    auto open = parse_header(header);
    if (!open.ok() || open->play_duration_100ns != 0) {
      std::abort();
    }
  }
  return 0;
}

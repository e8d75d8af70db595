// Fuzzes ASF packet parsing and rewriting. The first two bytes are the packet
// size (little-endian, 0 read as 1); the rest is the packet. Invariants: payloads
// stay inside the input, padded output is exactly packet_size and parses to the
// same payload data when the input parsed, stripped output is never longer.
// Each payload is also decoded as a command-stream sample (type + command).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "protocol/asf/header_parser.h"
#include "protocol/asf/packet.h"

namespace {

void check_same_payloads(const mms::asf::PacketInfo& a, const std::uint8_t* pa,
                         const mms::asf::PacketInfo& b, const std::uint8_t* pb) {
  if (a.payloads.size() != b.payloads.size()) {
    std::abort();
  }
  for (std::size_t i = 0; i < a.payloads.size(); ++i) {
    const auto& x = a.payloads[i];
    const auto& y = b.payloads[i];
    const std::size_t lx = x.data_end - x.data_begin;
    if (x.stream != y.stream || lx != y.data_end - y.data_begin ||
        std::memcmp(pa + x.data_begin, pb + y.data_begin, lx) != 0) {
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mms::asf;  // NOLINT(google-build-using-namespace)
  if (size < 2) {
    return 0;
  }
  std::uint32_t packet_size = static_cast<std::uint32_t>(data[0] | (data[1] << 8));
  if (packet_size == 0) {
    packet_size = 1;
  }
  const mms::ByteView in(data + 2, size - 2);
  auto info = parse_packet(in, packet_size);
  if (info.ok()) {
    for (const PayloadInfo& p : info->payloads) {
      if (p.data_begin > p.data_end || p.data_end > in.size()) {
        std::abort();
      }
      // Every payload is also a candidate command-stream sample.
      auto cmd = parse_command_payload(in.subview(p.data_begin, p.data_end - p.data_begin),
                                       p.presentation_ms);
      if (cmd.ok() && (cmd->type.empty() || cmd->time_ms != p.presentation_ms)) {
        std::abort();
      }
    }
  }
  std::vector<std::uint8_t> out(packet_size);
  const auto st = pad_packet(in, packet_size, out.data());
  if (st.ok() != (in.size() <= packet_size)) {
    std::abort();
  }
  if (st.ok() && info.ok()) {
    auto padded = parse_packet(out, packet_size);
    if (!padded.ok()) {
      std::abort();
    }
    check_same_payloads(*info, in.data(), *padded, out.data());
  }
  std::vector<std::uint8_t> stripped;
  if (strip_padding(in, packet_size, &stripped).ok()) {
    if (stripped.size() > in.size()) {
      std::abort();
    }
    auto s = parse_packet(stripped, packet_size);
    if (info.ok() && s.ok()) {
      check_same_payloads(*info, in.data(), *s, stripped.data());
    }
  }
  std::vector<bool> keep(128, false);
  for (std::size_t i = 0; i < 128; i += 2) {
    keep[i + 1] = true;
  }
  std::vector<std::uint8_t> filtered;
  bool empty = false;
  if (filter_streams(in, packet_size, keep, &filtered, &empty).ok() && !empty) {
    const bool unchanged =
        filtered.size() == in.size() && std::memcmp(filtered.data(), in.data(), in.size()) == 0;
    if (!unchanged && filtered.size() != packet_size) {
      std::abort();
    }
    if (!unchanged) {
      auto f = parse_packet(filtered, packet_size);
      if (!f.ok()) {
        std::abort();
      }
      for (const PayloadInfo& p : f->payloads) {
        if (!keep[p.stream]) {
          std::abort();
        }
      }
    }
  }
  return 0;
}

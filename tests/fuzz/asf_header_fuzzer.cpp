// Fuzzes the ASF header parser and repair. Invariants: a parsed header never
// claims more bytes than it was given, declares each stream number (1..127) once,
// and a repaired header parses again with nothing left to repair.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "protocol/asf/header_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mms::asf;  // NOLINT(google-build-using-namespace)
  const mms::ByteView in(data, size);
  auto info = parse_header(in);
  if (info.ok()) {
    if (info->total_size > size || info->header_object_size > info->total_size ||
        info->packet_size == 0) {
      std::abort();
    }
    // Each stream declared once, numbered 1..127, sorted by number.
    if (info->streams.size() > 127) {
      std::abort();
    }
    unsigned previous = 0;
    for (const StreamInfo& s : info->streams) {
      if (info->find_stream(s.number) == nullptr || s.number <= previous || s.number > 127) {
        std::abort();
      }
      previous = s.number;
    }
    static_cast<void>(info->duration_ns());
  }
  std::vector<std::uint8_t> copy(data, data + size);
  auto repaired = repair_header(&copy);
  if (repaired.ok() != info.ok()) {
    std::abort();
  }
  if (repaired.ok()) {
    auto again = parse_header(copy);
    if (!again.ok() || again->declared_object_count != again->actual_object_count ||
        again->min_packet_size != again->max_packet_size || !again->has_data_prefix) {
      std::abort();
    }
    auto twice = repair_header(&copy);
    if (!twice.ok() || *twice != 0) {
      std::abort();
    }
    if (!mark_broadcast(&copy).ok()) {
      std::abort();
    }
    auto bcast = parse_header(copy);
    if (!bcast.ok() || !bcast->broadcast() || bcast->seekable()) {
      std::abort();
    }
  }
  auto layout = scan_file(in);
  if (layout.ok() &&
      layout->first_packet + layout->packet_count * layout->info.packet_size > size) {
    std::abort();
  }
  return 0;
}

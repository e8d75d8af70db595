// Fuzz target: UDP datagrams of MMS (MS-MMSP 2.2.2, 2.2.5): a Data packet as a
// client receives it, and a RequestPacketListResend as a server receives it.
// Invariants: an accepted datagram re-encodes to exactly the same bytes; the
// payload view lies inside the datagram; the 32-bit sequence extension stays
// within -128..+127 of the last value.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "protocol/core/byte_reader.h"
#include "protocol/mmst/messages.h"

namespace {

void check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mms::mmst;
  const mms::ByteView input(data, size);
  DataPacket p;
  if (decode_udp_data_packet(input, &p).ok()) {
    check(p.packet_size == size);
    check(p.payload.data() == data + kDataHeaderSize);
    std::vector<std::uint8_t> out;
    check(encode_data_packet(p.location_id, p.play_incarnation, p.af_flags, p.payload, &out).ok());
    check(out == std::vector<std::uint8_t>(data, data + size));
    HeaderAssembler a;
    mms::Result<bool> r = a.add(p);
    (void)r;
  }
  RequestPacketListResend rq;
  if (decode_resend(input, &rq).ok()) {
    std::vector<std::uint8_t> out;
    check(encode_resend(rq, &out).ok());
    check(out == std::vector<std::uint8_t>(data, data + size));
  }
  if (size >= 5) {
    const std::uint32_t last = mms::load_u32le(data);
    const std::uint32_t ext = extend_sequence(last, data[4]);
    check(static_cast<std::uint8_t>(ext & 0xFF) == data[4]);
    const std::uint32_t diff = ext - last;
    check(diff <= 127u || diff >= 0xFFFFFF80u);
  }
  return 0;
}

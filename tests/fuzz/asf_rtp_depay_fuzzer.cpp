// Fuzz target: the x-asf-pf depayloader fed a sequence of RTP packets.
// Input: a 4-byte prefix (maxps u16 BE, MTU u16 BE for the payloader), then
// records of [u16 BE length][bytes], each one RTP packet.
// Invariants: no output packet is empty or above maxps; counters stay
// consistent; whatever comes out, payloaded again and depayloaded by a fresh
// depayloader, comes back byte-identical.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "protocol/core/byte_reader.h"
#include "protocol/rtsp/asf_rtp.h"

namespace {

void check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  mms::ByteReader r(mms::ByteView(data, size));
  std::uint16_t maxps = 0;
  std::uint16_t mtu = 0;
  if (!r.read_u16be(&maxps) || !r.read_u16be(&mtu)) {
    return 0;
  }
  mms::rtsp::AsfDepayloader depay(maxps);
  const std::uint32_t limit = maxps == 0 ? 65527u : maxps;
  std::vector<mms::rtsp::DepayPacket> out;
  while (r.remaining() >= 2) {
    std::uint16_t len = 0;
    mms::ByteView pkt;
    r.read_u16be(&len);
    if (!r.read_view(len, &pkt)) {
      pkt = r.rest();
    }
    if (pkt.size() > 0 && (pkt[0] & 0x01) != 0) {
      depay.expect_seq(static_cast<std::uint16_t>(pkt.size()));
    }
    (void)depay.push(pkt, &out);
    if (!r.ok()) {
      break;
    }
  }
  for (const mms::rtsp::DepayPacket& p : out) {
    check(!p.data.empty() && p.data.size() <= limit);
  }
  check(depay.stats().asf_packets == out.size());

  mms::rtsp::PayloaderConfig cfg;
  cfg.mtu = mtu;
  cfg.group = (mtu & 1) != 0;
  mms::rtsp::AsfPayloader pay(cfg);
  std::vector<std::vector<std::uint8_t>> rtp;
  for (const mms::rtsp::DepayPacket& p : out) {
    check(pay.push(p.data, p.rtp_timestamp, p.keyframe, &rtp).ok());
  }
  pay.flush(&rtp);
  mms::rtsp::AsfDepayloader again(maxps);
  std::vector<mms::rtsp::DepayPacket> back;
  for (const std::vector<std::uint8_t>& x : rtp) {
    check(again.push(x, &back).ok());
  }
  check(back.size() == out.size());
  for (std::size_t i = 0; i < back.size(); ++i) {
    check(back[i].data == out[i].data && back[i].keyframe == out[i].keyframe);
  }
  return 0;
}

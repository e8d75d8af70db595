// Fuzz target: WMS SDP parsing, control resolution, and the writer on a
// parsed ASF header.
// Invariants: a parsed SDP stays under its caps and holds a header starting
// with the Header Object; when that header parses, the writer's SDP parses
// back to the same header bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "protocol/asf/header_parser.h"
#include "protocol/core/limits.h"
#include "protocol/rtsp/sdp_wms.h"

namespace {

void check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const mms::ByteView in(data, size);
  auto sdp = mms::rtsp::parse_wms_sdp(in.as_string_view());
  if (sdp.ok()) {
    check(sdp->media.size() <= mms::limits::kMaxSdpMedia);
    check(sdp->asf_header.size() >= 30 &&
          sdp->asf_header.size() <= mms::limits::kMaxAsfHeaderBytes);
    for (const mms::rtsp::SdpMedia& m : sdp->media) {
      (void)mms::rtsp::resolve_control("rtsp://h/f.asf", sdp->control, m.control);
      (void)sdp->find_stream(m.stream);
    }
    (void)sdp->rtx();
    auto info = mms::asf::parse_header(sdp->asf_header);
    if (info.ok() && !info->streams.empty()) {
      mms::rtsp::SdpWriteOptions opt;
      opt.control = "rtsp://h/f.asf/";
      auto text = mms::rtsp::write_wms_sdp(sdp->asf_header, opt);
      if (text.ok()) {
        auto back = mms::rtsp::parse_wms_sdp(*text);
        check(back.ok());
        if (info->has_data_prefix) {
          std::vector<std::uint8_t> expect = sdp->asf_header;
          expect.resize(info->total_size);
          check(back->asf_header == expect);
        }
      }
    }
  }
  // The raw bytes as an ASF header for the writer.
  mms::rtsp::SdpWriteOptions opt;
  auto text = mms::rtsp::write_wms_sdp(in, opt);
  if (text.ok()) {
    check(mms::rtsp::parse_wms_sdp(*text).ok());
  }
  return 0;
}

// WMS SDP: parser on the WMS layout and gst-rtsp-server's form, writer ->
// parser round trips over the test media, control URL resolution.
#include "protocol/rtsp/sdp_wms.h"

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/asf/header_parser.h"
#include "protocol/core/limits.h"
#include "protocol/core/text.h"

namespace mms::rtsp {
namespace {

std::vector<std::uint8_t> read_file(const std::string& rel) {
  std::ifstream f(std::string(MMS_SOURCE_ROOT) + "/tests/" + rel, std::ios::binary);
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(f), {});
}

std::vector<std::uint8_t> header_of(const std::string& media) {
  std::vector<std::uint8_t> file = read_file("media/" + media);
  auto info = asf::parse_header(file);
  EXPECT_TRUE(info.ok()) << media;
  if (!info.ok()) {
    return {};
  }
  file.resize(info->total_size);
  return file;
}

// The WMS 9 capture of docs/protocols/rtsp-wms-reference.md §4, with a real header in place
// of the elided base64.
std::string wms_capture_sdp(const std::vector<std::uint8_t>& header) {
  return "v=0\r\n"
         "o=- 200311171721060249 200311171721060249 IN IP4 127.0.0.1\r\n"
         "s=<No Title>\r\n"
         "c=IN IP4 0.0.0.0\r\n"
         "b=AS:1091\r\n"
         "a=maxps:13632\r\n"
         "t=0 0\r\n"
         "a=control:rtsp://wm.microsoft.com/ms/video/0001-hi.wmv/\r\n"
         "a=etag:{9D7121C3-1A1B-8ED6-6675-CB15D19D1FB7}\r\n"
         "a=range:npt=3.100-173.903\r\n"
         "a=recvonly\r\n"
         "a=pgmpu:data:application/x-wms-contentdesc,8,language,31,0,,5,title,31,0,,\r\n"
         "a=pgmpu:data:application/vnd.ms.wms-hdr.asfv1;base64," +
         base64_encode(header) +
         "\r\n"
         "m=audio 0 RTP/AVP 96\r\n"
         "b=AS:35\r\nb=RS:0\r\nb=RR:0\r\n"
         "a=rtpmap:96 x-asf-pf/1000\r\n"
         "a=control:audio\r\n"
         "a=stream:1\r\n"
         "m=application 0 RTP/AVP 96\r\n"
         "b=RS:0\r\nb=RR:0\r\n"
         "a=rtpmap:96 x-wms-rtx/1000\r\n"
         "a=control:rtx\r\n"
         "a=stream:65536\r\n"
         "m=video 0 RTP/AVP 96\r\n"
         "b=AS:471\r\nb=RS:0\r\nb=RR:0\r\n"
         "a=rtpmap:96 x-asf-pf/1000\r\n"
         "a=control:stream=2\r\n"
         "a=stream:2\r\n";
}

TEST(SdpWms, ParsesTheWmsCaptureLayout) {
  const std::vector<std::uint8_t> header = header_of("fixtures/small.asf");
  auto sdp = parse_wms_sdp(wms_capture_sdp(header));
  ASSERT_TRUE(sdp.ok()) << sdp.status().what();
  EXPECT_EQ(sdp->asf_header, header);
  EXPECT_FALSE(sdp->header_from_fmtp);
  EXPECT_EQ(sdp->max_packet_size, 13632u);
  EXPECT_EQ(sdp->control, "rtsp://wm.microsoft.com/ms/video/0001-hi.wmv/");
  ASSERT_TRUE(sdp->range.has_value());
  EXPECT_EQ(sdp->range->start_ms, 3100u);
  EXPECT_EQ(sdp->range->end_ms, 173903u);
  EXPECT_EQ(sdp->bitrate_kbps, 1091u);
  EXPECT_EQ(sdp->content_description, "8,language,31,0,,5,title,31,0,,");
  ASSERT_EQ(sdp->media.size(), 3u);
  EXPECT_EQ(sdp->media[0].media, "audio");
  EXPECT_TRUE(sdp->media[0].asf_pf());
  EXPECT_EQ(sdp->media[0].clock_rate, 1000u);
  EXPECT_EQ(sdp->media[0].stream, 1u);
  EXPECT_EQ(sdp->media[0].bitrate_kbps, 35u);
  EXPECT_FALSE(sdp->media[0].whole_mux);
  EXPECT_TRUE(sdp->media[1].rtx());
  EXPECT_EQ(sdp->media[1].stream, 65536u);
  EXPECT_EQ(sdp->media[2].control, "stream=2");
  EXPECT_EQ(sdp->find_stream(2), &sdp->media[2]);
  EXPECT_EQ(sdp->find_stream(3), nullptr);
  EXPECT_EQ(sdp->rtx(), &sdp->media[1]);
  EXPECT_EQ(resolve_control("rtsp://wm.microsoft.com/ms/video/0001-hi.wmv", sdp->control,
                            sdp->media[0].control),
            "rtsp://wm.microsoft.com/ms/video/0001-hi.wmv/audio");
}

TEST(SdpWms, ParsesGstRtspServerForm) {
  const std::vector<std::uint8_t> body = read_file("vectors/rtsp/gst-rtsp-server.sdp");
  ASSERT_FALSE(body.empty());
  auto sdp = parse_wms_sdp(std::string(body.begin(), body.end()));
  ASSERT_TRUE(sdp.ok()) << sdp.status().what();
  EXPECT_TRUE(sdp->header_from_fmtp);
  EXPECT_EQ(sdp->max_packet_size, 3200u);
  EXPECT_EQ(sdp->control, "*");
  ASSERT_TRUE(sdp->range.has_value());
  EXPECT_EQ(sdp->range->start_ms, 0u);
  EXPECT_FALSE(sdp->range->end_ms.has_value());
  ASSERT_EQ(sdp->media.size(), 1u);
  EXPECT_EQ(sdp->media[0].encoding, "x-asf-pf");  // sent as X-ASF-PF
  EXPECT_TRUE(sdp->media[0].whole_mux);
  EXPECT_EQ(sdp->find_stream(1), &sdp->media[0]);
  EXPECT_EQ(sdp->find_stream(2), &sdp->media[0]);
  auto info = asf::parse_header(sdp->asf_header);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->packet_size, 3200u);
  EXPECT_EQ(info->streams.size(), 2u);
  // Content-Base "rtsp://127.0.0.1:8554/asf/" + "*" + "stream=0": what rtspsrc SETUPs.
  EXPECT_EQ(resolve_control("rtsp://127.0.0.1:8554/asf/", sdp->control, sdp->media[0].control),
            "rtsp://127.0.0.1:8554/asf/stream=0");
  EXPECT_EQ(aggregate_url("rtsp://127.0.0.1:8554/asf/", sdp->control),
            "rtsp://127.0.0.1:8554/asf/");
}

TEST(SdpWms, WriterRoundTripsOverTestMedia) {
  for (const char* media : {"fixtures/small.asf", "fixtures/mbr.asf", "real/taglib-silence-1.wma",
                            "real/taglib-lossless.wma", "real/taglib-real_example.wma"}) {
    SCOPED_TRACE(media);
    const std::vector<std::uint8_t> header = header_of(media);
    auto info = asf::parse_header(header);
    ASSERT_TRUE(info.ok());
    SdpWriteOptions opt;
    opt.control = "rtsp://127.0.0.1:8554/media.asf/";
    opt.origin_id = "12345";
    opt.include_rtx = true;
    opt.content_description = "8,language,31,0,,5,title,31,12,A%2C title%0D%0A";
    auto text = write_wms_sdp(header, opt);
    ASSERT_TRUE(text.ok()) << text.status().what();
    EXPECT_NE(text->find("\r\na=pgmpu:data:application/x-wms-contentdesc,8,language,31,0,,5,"
                         "title,31,12,A%2C title%0D%0A\r\n"),
              std::string::npos);
    // FFmpeg's WMS hook matches this exact lower-case prefix.
    EXPECT_NE(text->find("\r\na=pgmpu:data:application/vnd.ms.wms-hdr.asfv1;base64,"),
              std::string::npos);
    auto sdp = parse_wms_sdp(*text);
    ASSERT_TRUE(sdp.ok()) << sdp.status().what();
    EXPECT_EQ(sdp->asf_header, header);
    EXPECT_EQ(sdp->content_description, opt.content_description);
    EXPECT_EQ(sdp->max_packet_size, info->packet_size);
    EXPECT_EQ(sdp->control, opt.control);
    ASSERT_TRUE(sdp->range.has_value());
    EXPECT_EQ(sdp->range->start_ms, info->preroll_ms);
    ASSERT_EQ(sdp->media.size(), info->streams.size() + 1);
    for (std::size_t i = 0; i < info->streams.size(); ++i) {
      const SdpMedia& m = sdp->media[i];
      EXPECT_EQ(m.stream, info->streams[i].number);
      EXPECT_TRUE(m.asf_pf());
      EXPECT_EQ(m.payload_type, 96);
      EXPECT_EQ(m.clock_rate, 1000u);
      EXPECT_EQ(m.media, info->streams[i].type == asf::StreamType::kAudio   ? "audio"
                         : info->streams[i].type == asf::StreamType::kVideo ? "video"
                                                                            : "application");
      EXPECT_EQ(resolve_control("rtsp://ignored/", sdp->control, m.control),
                opt.control + "stream=" + std::to_string(m.stream));
    }
    EXPECT_TRUE(sdp->media.back().rtx());
    EXPECT_EQ(sdp->media.back().stream, kFirstRtxStream);
  }
}

TEST(SdpWms, WriterAddsAMissingDataObjectPrefix) {
  std::vector<std::uint8_t> header = header_of("fixtures/small.asf");
  auto info = asf::parse_header(header);
  ASSERT_TRUE(info.ok());
  std::vector<std::uint8_t> bare(header.begin(),
                                 header.begin() + static_cast<long>(info->header_object_size));
  auto text = write_wms_sdp(bare, SdpWriteOptions{});
  ASSERT_TRUE(text.ok());
  auto sdp = parse_wms_sdp(*text);
  ASSERT_TRUE(sdp.ok());
  auto back = asf::parse_header(sdp->asf_header);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->has_data_prefix);
  EXPECT_EQ(sdp->control, "");
}

TEST(SdpWms, Errors) {
  EXPECT_EQ(parse_wms_sdp("v=0\r\nm=audio 0 RTP/AVP 96\r\n").status().code(), Code::kNotFound);
  EXPECT_EQ(parse_wms_sdp("v=0\r\nnot a line\r\n").status().code(), Code::kMalformed);
  EXPECT_EQ(parse_wms_sdp("a=pgmpu:data:application/vnd.ms.wms-hdr.asfv1;base64,!!!!\r\n")
                .status()
                .code(),
            Code::kMalformed);
  EXPECT_EQ(parse_wms_sdp("a=pgmpu:data:application/vnd.ms.wms-hdr.asfv1;base64,"
                          "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n")
                .status()
                .code(),
            Code::kMalformed);  // not a Header Object
  const std::string h = base64_encode(header_of("fixtures/small.asf"));
  const std::string prefix = "a=pgmpu:data:application/vnd.ms.wms-hdr.asfv1;base64," + h + "\r\n";
  EXPECT_FALSE(parse_wms_sdp(prefix + "m=audio 0 RTP/AVP 96\r\na=stream:65535\r\n").ok());
  EXPECT_FALSE(parse_wms_sdp(prefix + "m=audio 0 RTP/AVP 96\r\na=stream:0\r\n").ok());
  EXPECT_FALSE(parse_wms_sdp(prefix + "a=maxps:x\r\n").ok());
  EXPECT_FALSE(parse_wms_sdp(prefix + "m=audio 0 RTP/AVP\r\n").ok());
  std::string many = prefix;
  for (std::size_t i = 0; i <= limits::kMaxSdpMedia; ++i) {
    many += "m=audio 0 RTP/AVP 96\r\n";
  }
  EXPECT_EQ(parse_wms_sdp(many).status().code(), Code::kLimitExceeded);
  EXPECT_EQ(write_wms_sdp(ByteView(), SdpWriteOptions{}).status().code(), Code::kMalformed);
}

TEST(SdpWms, ControlResolution) {
  EXPECT_EQ(resolve_control("rtsp://h/f.wmv", "", "audio"), "rtsp://h/f.wmv/audio");
  EXPECT_EQ(resolve_control("rtsp://h/f.wmv/", "*", "rtsp://o/x"), "rtsp://o/x");
  EXPECT_EQ(resolve_control("rtsp://h/f.wmv", "rtsp://h/g.wmv", "rtx"), "rtsp://h/g.wmv/rtx");
  EXPECT_EQ(resolve_control("rtsp://h/f.wmv", "", ""), "rtsp://h/f.wmv");
  EXPECT_EQ(aggregate_url("rtsp://h/f.wmv", "rtsp://h/f.wmv/"), "rtsp://h/f.wmv/");
}

}  // namespace
}  // namespace mms::rtsp

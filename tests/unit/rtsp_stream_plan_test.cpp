// The RTSP client's stream plan (protocol/rtsp/stream_plan.h): which SDP media
// are set up, their SETUP transports, what SETUP replies and RTP-Info tell
// about each planned stream, the npt origin, the first packet number of a
// play and the caller's header with inflated packet counts. Table-driven,
// pure.
#include <cstdint>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/asf/header_parser.h"
#include "protocol/asf/packet.h"
#include "protocol/rtsp/message_codec.h"
#include "protocol/rtsp/stream_plan.h"

namespace mms::rtsp {
namespace {

constexpr const char* kBase = "rtsp://h/a.asf";

SdpMedia asf_media(std::uint32_t stream, std::string control) {
  SdpMedia m;
  m.media = "application";
  m.encoding = "x-asf-pf";
  m.stream = stream;
  m.control = std::move(control);
  m.whole_mux = stream == 0;
  return m;
}

asf::HeaderInfo two_streams(std::uint32_t packet_size = 1600) {
  asf::HeaderInfo info;
  info.packet_size = packet_size;
  asf::StreamInfo audio;
  audio.number = 1;
  audio.type = asf::StreamType::kAudio;
  audio.bitrate = 64000;
  asf::StreamInfo video;
  video.number = 2;
  video.type = asf::StreamType::kVideo;
  video.bitrate = 300000;
  info.streams = {audio, video};
  return info;
}

std::vector<std::uint16_t> numbers(const StreamPlan& p) {
  std::vector<std::uint16_t> n;
  for (const PlannedStream& s : p.streams) {
    n.push_back(s.number);
  }
  return n;
}

TEST(RtspStreamPlan, SetsUpTheMediaOfTheSelectedStreams) {
  struct Case {
    const char* name;
    std::vector<SdpMedia> media;
    std::string session_control;
    std::vector<std::uint16_t> numbers;  // empty: kUnsupported
    std::vector<std::string> urls;
  };
  const std::vector<Case> cases = {
      {"one m= line per stream",
       {asf_media(1, "stream=1"), asf_media(2, "stream=2")},
       "",
       {1, 2},
       {"rtsp://h/a.asf/stream=1", "rtsp://h/a.asf/stream=2"}},
      {"session control",
       {asf_media(1, "stream=1"), asf_media(2, "stream=2")},
       "rtsp://h/a.asf/",
       {1, 2},
       {"rtsp://h/a.asf/stream=1", "rtsp://h/a.asf/stream=2"}},
      {"absolute media control", {asf_media(1, "rtsp://x/s1")}, "", {1}, {"rtsp://x/s1"}},
      {"a stream without m= line",
       {asf_media(2, "stream=2")},
       "",
       {2},
       {"rtsp://h/a.asf/stream=2"}},
      {"whole mux (gst-rtsp-server)",
       {asf_media(0, "stream=0")},
       "",
       {0},
       {"rtsp://h/a.asf/stream=0"}},
      {"whole mux wins over per-stream media",
       {asf_media(1, "stream=1"), asf_media(0, "all")},
       "",
       {0},
       {"rtsp://h/a.asf/all"}},
      {"no ASF stream offered", {asf_media(7, "stream=7")}, "", {}, {}},
      {"no media", {}, "", {}, {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    WmsSdp sdp;
    sdp.media = c.media;
    sdp.control = c.session_control;
    Result<StreamPlan> plan = plan_streams(sdp, two_streams(), kBase, 0);
    if (c.numbers.empty()) {
      ASSERT_FALSE(plan.ok());
      EXPECT_EQ(plan.status().code(), Code::kUnsupported);
      continue;
    }
    ASSERT_TRUE(plan.ok());
    EXPECT_EQ(numbers(*plan), c.numbers);
    std::vector<std::string> urls;
    for (const PlannedStream& s : plan->streams) {
      urls.push_back(s.url);
    }
    EXPECT_EQ(urls, c.urls);
    EXPECT_EQ(plan->whole_mux(), c.numbers == std::vector<std::uint16_t>{0});
  }
}

TEST(RtspStreamPlan, FollowsTheConnectionSpeedInAnExclusionGroup) {
  asf::HeaderInfo info = two_streams();
  asf::StreamInfo video_low;
  video_low.number = 3;
  video_low.type = asf::StreamType::kVideo;
  video_low.bitrate = 100000;
  info.streams.push_back(video_low);
  asf::MutualExclusion group;
  group.type = asf::ExclusionType::kBitrate;
  group.streams = {2, 3};
  info.exclusions.push_back(group);
  WmsSdp sdp;
  sdp.media = {asf_media(1, "stream=1"), asf_media(2, "stream=2"), asf_media(3, "stream=3")};
  Result<StreamPlan> unlimited = plan_streams(sdp, info, kBase, 0);
  Result<StreamPlan> slow = plan_streams(sdp, info, kBase, 200);
  ASSERT_TRUE(unlimited.ok());
  ASSERT_TRUE(slow.ok());
  // One stream of the group either way: the best, or the one that fits.
  EXPECT_EQ(numbers(*unlimited), (std::vector<std::uint16_t>{1, 2}));
  EXPECT_EQ(numbers(*slow), (std::vector<std::uint16_t>{1, 3}));
}

TEST(RtspStreamPlan, LimitsDepayloadedPacketsToMaxpsWithinThePacketSize) {
  const std::vector<std::pair<std::uint32_t, std::uint32_t>> cases = {
      {0, 1600}, {1000, 1000}, {1600, 1600}, {2000, 1600}};
  for (const auto& [maxps, expected] : cases) {
    WmsSdp sdp;
    sdp.max_packet_size = maxps;
    EXPECT_EQ(rtp_max_packet_size(sdp, two_streams(1600)), expected) << "maxps " << maxps;
    sdp.media = {asf_media(1, "stream=1")};
    Result<StreamPlan> plan = plan_streams(sdp, two_streams(1600), kBase, 0);
    ASSERT_TRUE(plan.ok());
    EXPECT_EQ(plan->max_packet_size, expected);
  }
}

TEST(RtspStreamPlan, NptOriginIsThePrerollExceptForAWholeMux) {
  WmsSdp sdp;
  EXPECT_EQ(npt_origin_ms(sdp, false, 3100), 3100u);
  EXPECT_EQ(npt_origin_ms(sdp, true, 3100), 0u);
  NptRange range;
  range.start_ms = 500;
  sdp.range = range;
  EXPECT_EQ(npt_origin_ms(sdp, true, 3100), 500u);
  EXPECT_EQ(npt_origin_ms(sdp, false, 3100), 3100u);
}

TEST(RtspStreamPlan, SetupTransports) {
  struct Case {
    const char* name;
    Transport t;
    const char* wire;
  };
  const std::vector<Case> cases = {
      {"rtx", rtx_setup_transport(7000), "RTP/AVP/UDP;unicast;client_port=7000-7001;mode=PLAY"},
      {"rtx at the top port", rtx_setup_transport(65535),
       "RTP/AVP/UDP;unicast;client_port=65535;mode=PLAY"},
      {"udp: every stream on Q", stream_setup_transport(true, 7002, 3),
       "RTP/AVP/UDP;unicast;client_port=7002-7003;mode=PLAY"},
      {"tcp: stream 0", stream_setup_transport(false, 7002, 0),
       "RTP/AVP/TCP;unicast;interleaved=0-1;mode=PLAY"},
      {"tcp: stream 2", stream_setup_transport(false, 0, 2),
       "RTP/AVP/TCP;unicast;interleaved=4-5;mode=PLAY"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(format_transport(c.t), c.wire) << c.name;
  }
}

TEST(RtspStreamPlan, ReadsWhatTheSetupReplyGrants) {
  struct Case {
    const char* name;
    bool udp;
    const char* transport;  // nullptr: no Transport header
    Code code;
    bool has_transport;
    std::optional<std::uint32_t> ssrc;
    std::optional<std::uint16_t> rtcp_port;
    std::optional<std::uint8_t> channel;
  };
  const std::vector<Case> cases = {
      {"udp with a server port pair", true,
       "RTP/AVP/UDP;unicast;client_port=7002-7003;server_port=5004-5005;ssrc=0000ABCD", Code::kOk,
       true, 0xABCDu, 5005, std::nullopt},
      {"udp with one server port", true, "RTP/AVP/UDP;unicast;server_port=5004", Code::kOk, true,
       std::nullopt, 5005, std::nullopt},
      {"udp server port at the top", true, "RTP/AVP/UDP;unicast;server_port=65535", Code::kOk, true,
       std::nullopt, 0, std::nullopt},
      {"udp without server port", true, "RTP/AVP/UDP;unicast;ssrc=1", Code::kOk, true, 1u,
       std::nullopt, std::nullopt},
      {"udp answered with tcp", true, "RTP/AVP/TCP;unicast;interleaved=0-1", Code::kRefused, false,
       std::nullopt, std::nullopt, std::nullopt},
      {"tcp channels granted", false, "RTP/AVP/TCP;unicast;interleaved=6-7;ssrc=5", Code::kOk, true,
       std::nullopt, std::nullopt, 6},
      {"tcp channel out of range", false, "RTP/AVP/TCP;unicast;interleaved=300-301", Code::kOk,
       true, std::nullopt, std::nullopt, std::nullopt},
      {"no Transport", true, nullptr, Code::kOk, false, std::nullopt, std::nullopt, std::nullopt},
      {"unparsable Transport", false, "RTP/AVP;client_port=x", Code::kOk, false, std::nullopt,
       std::nullopt, std::nullopt},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Headers h;
    if (c.transport != nullptr) {
      h.add("Transport", c.transport);
    }
    Result<SetupAnswer> a = read_setup_transport(h, c.udp);
    if (c.code != Code::kOk) {
      ASSERT_FALSE(a.ok());
      EXPECT_EQ(a.status().code(), c.code);
      continue;
    }
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->has_transport, c.has_transport);
    EXPECT_EQ(a->ssrc, c.ssrc);
    EXPECT_EQ(a->server_rtcp_port, c.rtcp_port);
    EXPECT_EQ(a->channel, c.channel);
  }
}

std::vector<PlannedStream> planned(std::vector<std::string> urls) {
  std::vector<PlannedStream> p;
  for (std::string& u : urls) {
    PlannedStream s;
    s.url = std::move(u);
    p.push_back(std::move(s));
  }
  return p;
}

TEST(RtspStreamPlan, MatchesPlayRtpInfoByUrlElseByPosition) {
  using Matches = std::vector<std::pair<std::size_t, std::uint16_t>>;
  struct Case {
    const char* name;
    const char* rtp_info;
    Matches expected;
  };
  const std::vector<PlannedStream> streams =
      planned({"rtsp://h/a/stream=1", "rtsp://h/a/stream=2"});
  const std::vector<Case> cases = {
      {"by url, any order",
       "url=rtsp://h/a/stream=2;seq=20, url=rtsp://h/a/stream=1;seq=10",
       {{1, 20}, {0, 10}}},
      {"by position when the urls differ",
       "url=stream=1;seq=10, url=stream=2;seq=20",
       {{0, 10}, {1, 20}}},
      {"unknown url, counts differ", "url=stream=9;seq=90", {}},
      {"entry without seq",
       "url=rtsp://h/a/stream=1;rtptime=5, url=rtsp://h/a/stream=2;seq=20",
       {{1, 20}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Result<std::vector<RtpInfo>> entries = parse_rtp_info(c.rtp_info);
    ASSERT_TRUE(entries.ok());
    EXPECT_EQ(match_play_rtp_info(*entries, streams), c.expected);
  }
}

TEST(RtspStreamPlan, MatchesEndOfStreamRtpInfo) {
  using Seqs = std::vector<std::optional<std::uint16_t>>;
  struct Case {
    const char* name;
    const char* rtp_info;
    Seqs before;
    Seqs expected;
  };
  const std::vector<PlannedStream> streams =
      planned({"rtsp://h/a/stream=1", "rtsp://h/a/stream=2"});
  const std::vector<Case> cases = {
      {"by url",
       "url=rtsp://h/a/stream=2;seq=20",
       {std::nullopt, std::nullopt},
       {std::nullopt, 20}},
      {"by position", "url=x;seq=10, url=y;seq=20", {std::nullopt, std::nullopt}, {10, 20}},
      {"position does not overwrite", "url=x;seq=10, url=y;seq=20", {5, std::nullopt}, {5, 20}},
      {"url overwrites",
       "url=rtsp://h/a/stream=1;seq=11, url=y;seq=20",
       {5, std::nullopt},
       {11, 20}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Result<std::vector<RtpInfo>> entries = parse_rtp_info(c.rtp_info);
    ASSERT_TRUE(entries.ok());
    Seqs seqs = c.before;
    match_end_rtp_info(*entries, streams, &seqs);
    EXPECT_EQ(seqs, c.expected);
  }
}

TEST(RtspStreamPlan, FirstPacketNumberOfAPlay) {
  struct Case {
    std::uint64_t position_ms, duration_ms, count;
    std::uint32_t expected;
  };
  const std::vector<Case> cases = {
      {0, 10000, 200, 0},
      {5000, 10000, 200, 100},
      {9999, 10000, 200, 199},
      {20000, 10000, 200, 199},
      {5000, 0, 200, 0},
      {5000, 10000, 0, 0},
      {1, 1, UINT64_MAX, UINT32_MAX},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(first_packet_number(c.position_ms, c.duration_ms, c.count), c.expected)
        << c.position_ms << " of " << c.duration_ms << " ms, " << c.count << " packets";
  }
}

TEST(RtspStreamPlan, CallerHeaderCountsThePacketsOfEveryStream) {
  std::ifstream f(std::string(MMS_SOURCE_ROOT) + "/tests/media/fixtures/small.asf",
                  std::ios::binary);
  std::vector<std::uint8_t> file((std::istreambuf_iterator<char>(f)),
                                 std::istreambuf_iterator<char>());
  Result<asf::FileLayout> layout = asf::scan_file(ByteView(file.data(), file.size()));
  ASSERT_TRUE(layout.ok());
  std::vector<std::uint8_t> header(
      file.begin(), file.begin() + static_cast<std::ptrdiff_t>(layout->header_bytes));
  Result<asf::HeaderInfo> info = asf::parse_header(header);
  ASSERT_TRUE(info.ok());
  ASSERT_FALSE(info->broadcast());
  const std::uint64_t packets = info->data_packets_count;
  ASSERT_GT(packets, 0u);
  for (std::uint64_t streams : {1u, 2u, 3u}) {
    SCOPED_TRACE(streams);
    CallerHeader h = caller_header(header, *info, streams);
    EXPECT_EQ(h.packet_count, packets * streams);
    EXPECT_EQ(h.info->data_packets_count, packets * streams);
    EXPECT_EQ(h.bytes->size(), header.size());
    EXPECT_EQ(*h.bytes == header, streams == 1);
  }
  asf::HeaderInfo broadcast = *info;
  broadcast.flags |= 1u;
  CallerHeader b = caller_header(header, broadcast, 2);
  EXPECT_EQ(b.packet_count, 0u);
  EXPECT_EQ(*b.bytes, header);
}

}  // namespace
}  // namespace mms::rtsp

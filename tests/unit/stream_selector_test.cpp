#include "protocol/asf/stream_selector.h"

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/asf/header_parser.h"

namespace mms::asf {
namespace {

HeaderInfo mbr_info() {
  // 300k and 100k video are bitrate-exclusive alternatives; 64k audio is always sent.
  HeaderInfo h;
  h.streams = {{1, StreamType::kVideo, 300000, false},
               {2, StreamType::kVideo, 100000, false},
               {3, StreamType::kAudio, 64000, false}};
  h.exclusions = {{ExclusionType::kBitrate, {1, 2}}};
  return h;
}

std::vector<std::uint16_t> selected(const std::vector<StreamChoice>& c) {
  std::vector<std::uint16_t> out;
  for (const StreamChoice& s : c) {
    if (s.selected) {
      out.push_back(s.number);
    }
  }
  return out;
}

using Numbers = std::vector<std::uint16_t>;

TEST(StreamSelector, NoLimitPicksTheBestOfEachGroup) {
  auto c = select_streams(mbr_info(), 0);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(selected(c), (Numbers{1, 3}));
  EXPECT_EQ(c[0].number, 1);
  EXPECT_EQ(c[2].number, 3);
}

TEST(StreamSelector, AudioOnlyLeavesVideoOut) {
  EXPECT_EQ(selected(select_streams(mbr_info(), 0, true)), (Numbers{3}));
  EXPECT_EQ(selected(select_streams(mbr_info(), 200, true)), (Numbers{3}));
  // Without audio there is nothing to keep instead: the video stays.
  HeaderInfo video;
  video.streams = {{1, StreamType::kVideo, 300000, false}, {2, StreamType::kVideo, 100000, false}};
  video.exclusions = {{ExclusionType::kBitrate, {1, 2}}};
  EXPECT_EQ(selected(select_streams(video, 0, true)), (Numbers{1}));
}

TEST(StreamSelector, ConfiguredSpeedWinsOverTheEstimate) {
  EXPECT_EQ(selection_bandwidth_kbps(200, 5'000'000), 200u);
  EXPECT_EQ(selection_bandwidth_kbps(0, 5'000'000), 5000u);
  EXPECT_EQ(selection_bandwidth_kbps(0, 999), 1u);  // measured: never "no limit"
  EXPECT_EQ(selection_bandwidth_kbps(0, 0), 0u);
  EXPECT_TRUE(same_selection(select_streams(mbr_info(), 0), select_streams(mbr_info(), 1000)));
  EXPECT_FALSE(same_selection(select_streams(mbr_info(), 0), select_streams(mbr_info(), 200)));
}

TEST(StreamSelector, AllStreamsSelectsEverything) {
  EXPECT_EQ(selected(all_streams(mbr_info())), (Numbers{1, 2, 3}));
}

TEST(StreamSelector, PicksVideoThatFitsAfterAudio) {
  EXPECT_EQ(selected(select_streams(mbr_info(), 200)), (Numbers{2, 3}));
  EXPECT_EQ(selected(select_streams(mbr_info(), 1000)), (Numbers{1, 3}));
  EXPECT_EQ(selected(select_streams(mbr_info(), 364)), (Numbers{1, 3}));
  EXPECT_EQ(selected(select_streams(mbr_info(), 363)), (Numbers{2, 3}));
}

TEST(StreamSelector, BelowEverythingPicksLowest) {
  EXPECT_EQ(selected(select_streams(mbr_info(), 1)), (Numbers{2, 3}));
}

TEST(StreamSelector, AudioGroupsChooseFirst) {
  HeaderInfo h;
  h.streams = {{1, StreamType::kVideo, 300000, false},
               {2, StreamType::kVideo, 100000, false},
               {3, StreamType::kAudio, 128000, false},
               {4, StreamType::kAudio, 32000, false}};
  h.exclusions = {{ExclusionType::kBitrate, {1, 2}}, {ExclusionType::kBitrate, {3, 4}}};
  // 250 kbps: audio takes 128k first, leaving 122k: the 100k video fits.
  EXPECT_EQ(selected(select_streams(h, 250)), (Numbers{2, 3}));
  // 500 kbps: 128k audio + 300k video.
  EXPECT_EQ(selected(select_streams(h, 500)), (Numbers{1, 3}));
  // 50 kbps: 32k audio, and the lowest video.
  EXPECT_EQ(selected(select_streams(h, 50)), (Numbers{2, 4}));
}

TEST(StreamSelector, LanguageGroupTakesFirstStream) {
  HeaderInfo h;
  h.streams = {{1, StreamType::kAudio, 64000, false}, {2, StreamType::kAudio, 64000, false}};
  h.exclusions = {{ExclusionType::kLanguage, {2, 1}}};
  EXPECT_EQ(selected(select_streams(h, 1000)), (Numbers{2}));
}

TEST(StreamSelector, ParsedMbrFixture) {
  std::ifstream f(std::string(MMS_SOURCE_ROOT) + "/tests/media/fixtures/mbr.asf", std::ios::binary);
  std::vector<std::uint8_t> file((std::istreambuf_iterator<char>(f)),
                                 std::istreambuf_iterator<char>());
  auto info = parse_header(file);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(selected(select_streams(*info, 200)), (Numbers{2, 3}));
  EXPECT_EQ(selected(select_streams(*info, 1000)), (Numbers{1, 3}));
  EXPECT_EQ(selected(select_streams(*info, 10)), (Numbers{2, 3}));
}

}  // namespace
}  // namespace mms::asf

// mms-record: option parsing, progress formatting and the ASF finaliser.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/asf/guids.h"
#include "protocol/asf/header_parser.h"
#include "tools/record/asf_file.h"
#include "tools/record/options.h"
#include "tools/record/progress.h"

namespace mms::record {
namespace {

using Bytes = std::vector<std::uint8_t>;

// --- options -------------------------------------------------------------------

ParseResult parse(std::vector<std::string> args) {
  return parse_options(args);
}

TEST(RecordOptions, UrlAndOutput) {
  ParseResult r = parse({"mmsh://h/a.wmv", "out.asf"});
  ASSERT_TRUE(r.options) << r.error;
  EXPECT_EQ(r.options->url, "mmsh://h/a.wmv");
  EXPECT_EQ(r.options->output, "out.asf");
  EXPECT_EQ(r.options->kind, OutputKind::kAsf);
  EXPECT_FALSE(r.options->duration_s);
  EXPECT_FALSE(r.options->resume);
  EXPECT_FALSE(r.options->quiet);
}

TEST(RecordOptions, EveryOption) {
  ParseResult r =
      parse({"--duration", "1:30", "--resume", "--retries=-1", "--protocols", "mmst,mmsh",
             "--connection-speed", "300k", "--timeout", "5", "-q", "mms://h/x", "dir.d/x.WMV"});
  ASSERT_TRUE(r.options) << r.error;
  const Options& o = *r.options;
  EXPECT_DOUBLE_EQ(*o.duration_s, 90.0);
  EXPECT_TRUE(o.resume);
  EXPECT_EQ(*o.retries, -1);
  EXPECT_EQ(*o.protocols, "mmst,mmsh");
  EXPECT_EQ(*o.connection_speed_bps, 300000u);
  EXPECT_EQ(o.connection_speed_kbps(), 300u);
  EXPECT_EQ(*o.timeout_s, 5u);
  EXPECT_TRUE(o.quiet);
  EXPECT_EQ(o.kind, OutputKind::kAsf);
}

TEST(RecordOptions, Kinds) {
  EXPECT_EQ(output_kind_for("a.webm"), OutputKind::kWebm);
  EXPECT_EQ(output_kind_for("a.mkv"), OutputKind::kMkv);
  EXPECT_EQ(output_kind_for("a.MP4"), OutputKind::kMp4);
  EXPECT_EQ(output_kind_for("a.m4a"), OutputKind::kM4a);
  EXPECT_EQ(output_kind_for("a.ogg"), OutputKind::kOgg);
  EXPECT_EQ(output_kind_for("a.opus"), OutputKind::kOpus);
  EXPECT_EQ(output_kind_for("x/a.wma"), OutputKind::kAsf);
  EXPECT_FALSE(output_kind_for("a.txt"));
  EXPECT_FALSE(output_kind_for("dir.webm/file"));
  EXPECT_FALSE(output_kind_for("a."));
}

TEST(RecordOptions, Errors) {
  EXPECT_NE(parse({}).error, "");
  EXPECT_NE(parse({"mms://h/x"}).error, "");
  EXPECT_NE(parse({"mms://h/x", "a.asf", "b"}).error, "");
  EXPECT_NE(parse({"mms://h/x", "a.txt"}).error.find("OUTPUT"), std::string::npos);
  EXPECT_NE(parse({"--duration", "abc", "mms://h/x", "a.asf"}).error.find("--duration"),
            std::string::npos);
  EXPECT_NE(parse({"--duration", "0", "mms://h/x", "a.asf"}).error, "");
  EXPECT_NE(parse({"--duration"}).error.find("needs a value"), std::string::npos);
  EXPECT_NE(parse({"--retries", "-2", "mms://h/x", "a.asf"}).error.find("--retries"),
            std::string::npos);
  EXPECT_NE(parse({"--protocols", "ftp", "mms://h/x", "a.asf"}).error.find("--protocols"),
            std::string::npos);
  EXPECT_NE(parse({"--connection-speed", "fast", "mms://h/x", "a.asf"}).error, "");
  EXPECT_NE(parse({"--bogus", "mms://h/x", "a.asf"}).error.find("unknown option --bogus"),
            std::string::npos);
  EXPECT_NE(parse({"--quiet=1", "mms://h/x", "a.asf"}).error, "");
  EXPECT_NE(parse({"--resume", "mms://h/x", "a.webm"}).error.find("--resume"), std::string::npos);
}

TEST(RecordOptions, HelpAndVersionNeedNoArguments) {
  ParseResult h = parse({"--help"});
  ASSERT_TRUE(h.options);
  EXPECT_TRUE(h.options->help);
  ParseResult v = parse({"-V"});
  ASSERT_TRUE(v.options);
  EXPECT_TRUE(v.options->version);
  EXPECT_NE(usage_text("mms-record").find("--resume"), std::string::npos);
}

TEST(RecordOptions, DoubleDashEndsOptions) {
  ParseResult r = parse({"--", "-weird-url", "o.asf"});
  ASSERT_TRUE(r.options) << r.error;
  EXPECT_EQ(r.options->url, "-weird-url");
}

TEST(RecordOptions, Numbers) {
  EXPECT_EQ(parse_bitrate("2M"), 2000000u);
  EXPECT_EQ(parse_bitrate("128000"), 128000u);
  EXPECT_FALSE(parse_bitrate("1.5M"));
  EXPECT_FALSE(parse_bitrate("-1"));
  EXPECT_FALSE(parse_bitrate("99999999999999999999"));
  EXPECT_DOUBLE_EQ(*parse_seconds("2.5"), 2.5);
  EXPECT_DOUBLE_EQ(*parse_seconds("1:02:03"), 3723.0);
  EXPECT_FALSE(parse_seconds("1:2:3:4"));
  EXPECT_FALSE(parse_seconds("1.5:00"));
  EXPECT_FALSE(parse_seconds(""));
  EXPECT_FALSE(parse_seconds("-3"));
  Options o;
  o.connection_speed_bps = 1;
  EXPECT_EQ(o.connection_speed_kbps(), 1u);
  o.connection_speed_bps = 0;
  EXPECT_EQ(o.connection_speed_kbps(), 0u);
}

// --- progress ------------------------------------------------------------------

TEST(RecordProgress, Units) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(1023), "1023 B");
  EXPECT_EQ(format_bytes(1536), "1.50 KiB");
  EXPECT_EQ(format_bytes(12u * 1024 * 1024 + 400 * 1024), "12.3 MiB");
  EXPECT_EQ(format_bytes(300ull * 1024 * 1024 * 1024), "300 GiB");
  EXPECT_EQ(format_clock(7.9), "0:07");
  EXPECT_EQ(format_clock(754), "12:34");
  EXPECT_EQ(format_clock(3723), "1:02:03");
  EXPECT_EQ(format_clock(-1), "0:00");
  EXPECT_EQ(format_rate(850000), "850 kbit/s");
  EXPECT_EQ(format_rate(1234567), "1.2 Mbit/s");
  EXPECT_EQ(format_rate(0), "0 bit/s");
}

TEST(RecordProgress, OnDemandLine) {
  Progress p;
  p.bytes = 1024 * 1024;
  p.media_s = 30;
  p.elapsed_s = 10;
  p.duration_s = 120;
  EXPECT_DOUBLE_EQ(*percent_done(p), 25.0);
  EXPECT_DOUBLE_EQ(*eta_seconds(p), 30.0);  // 90 s of media left at 3x
  EXPECT_EQ(format_progress(p), "1.00 MiB  0:30 / 2:00  25.0%  839 kbit/s  ETA 0:30");
}

TEST(RecordProgress, ResumedRunCountsOnlyItsOwnMedia) {
  Progress p;
  p.media_start_s = 60;
  p.media_s = 70;
  p.elapsed_s = 10;
  p.duration_s = 100;
  EXPECT_DOUBLE_EQ(*eta_seconds(p), 30.0);
  p.media_s = 60;
  EXPECT_FALSE(eta_seconds(p));
  EXPECT_NE(format_progress(p).find("ETA --:--"), std::string::npos);
}

TEST(RecordProgress, LiveLineHasNoPercent) {
  Progress p;
  p.bytes = 2048;
  p.media_s = 5;
  p.elapsed_s = 5;
  EXPECT_FALSE(percent_done(p));
  EXPECT_FALSE(eta_seconds(p));
  EXPECT_EQ(format_progress(p), "2.00 KiB  0:05  3 kbit/s");
  p.duration_s = 0.0;
  EXPECT_FALSE(percent_done(p));
  p.duration_s = 4.0;
  EXPECT_DOUBLE_EQ(*percent_done(p), 100.0);
}

// --- finaliser -----------------------------------------------------------------

Bytes read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_all(const std::string& path, const Bytes& b) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

class Finaliser : public ::testing::Test {
 protected:
  void SetUp() override {
    original_ = read_all(std::string(MMS_SOURCE_ROOT) + "/tests/media/fixtures/small.asf");
    ASSERT_FALSE(original_.empty());
    Result<HeaderLayout> l = parse_layout(ByteView(original_));
    ASSERT_TRUE(l.ok()) << l.status().what();
    layout_ = *l;
    ASSERT_EQ(layout_.info.packet_size, 1000u);
    ASSERT_EQ(layout_.info.data_packets_count, 20u);
    dir_ = std::filesystem::temp_directory_path() /
           ("mms-record-test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "rec.asf").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // What mmssrc outputs for a live stream: the header with the broadcast flag
  // and no counts, then `packets` packets (and `extra` bytes of the next one).
  Bytes stream_like(std::size_t packets, std::size_t extra = 0, bool broadcast = true) const {
    const std::size_t header = layout_.info.total_size;
    Bytes b(original_.begin(),
            original_.begin() + static_cast<std::ptrdiff_t>(header + packets * 1000 + extra));
    std::uint8_t* fp = b.data() + layout_.file_properties;
    if (broadcast) {
      store_le(fp + 40, 0, 8);  // file size
      store_le(fp + 56, 0, 8);  // packets
      store_le(fp + 64, 0, 8);  // play duration
      store_le(fp + 72, 0, 8);  // send duration
      store_le(fp + 88, 1, 4);  // broadcast, not seekable
      store_le(b.data() + layout_.info.header_object_size + 16, 0, 8);
      store_le(b.data() + layout_.info.header_object_size + 40, 0, 8);
    }
    return b;
  }

  // Re-parses a finalised file and checks its structure.
  void expect_valid(std::uint64_t packets) {
    const Bytes f = read_all(path_);
    Result<asf::HeaderInfo> info = asf::parse_header(ByteView(f));
    ASSERT_TRUE(info.ok()) << info.status().what();
    EXPECT_FALSE(info->broadcast());
    EXPECT_TRUE(info->seekable());
    EXPECT_EQ(info->data_packets_count, packets);
    EXPECT_EQ(info->file_size, f.size());
    const std::uint8_t* data = f.data() + info->header_object_size;
    EXPECT_EQ(load_le(data + 16, 8), 50 + packets * 1000);
    EXPECT_EQ(load_le(data + 40, 8), packets);
    const std::size_t index_at = info->total_size + packets * 1000;
    ASSERT_GE(f.size(), index_at + 56);
    EXPECT_TRUE(asf::guid_equals(f.data() + index_at, asf::kSimpleIndexObject));
    EXPECT_EQ(load_le(f.data() + index_at + 16, 8), f.size() - index_at);
    const std::uint32_t entries = static_cast<std::uint32_t>(load_le(f.data() + index_at + 52, 4));
    EXPECT_EQ(f.size() - index_at, 56u + 6u * entries);
    for (std::uint32_t i = 0; i < entries; ++i) {
      EXPECT_LT(load_le(f.data() + index_at + 56 + 6 * i, 4), packets) << "entry " << i;
    }
    // The file scans back to the same packets.
    Result<asf::FileLayout> layout = asf::scan_file(ByteView(f));
    ASSERT_TRUE(layout.ok());
    EXPECT_EQ(layout->packet_count, packets);
  }

  Bytes original_;
  HeaderLayout layout_;
  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(Finaliser, WholeStreamGetsTheOriginalsDurationAndAnIndex) {
  write_all(path_, stream_like(20));
  Result<FinalizeReport> r = finalize_recording(path_);
  ASSERT_TRUE(r.ok()) << r.status().what();
  EXPECT_EQ(r->packets, 20u);
  EXPECT_EQ(r->dropped_bytes, 0u);
  EXPECT_EQ(r->indexed_stream, 1);  // the WMV2 stream
  // Presentation times 0 .. 2 s + 3.1 s preroll.
  EXPECT_EQ(r->index_entries, 6u);
  // FFmpeg wrote about the same play duration (2 s + preroll); ours is
  // computed from the packets alone.
  const double want = static_cast<double>(layout_.info.play_duration_100ns);
  EXPECT_NEAR(static_cast<double>(r->play_duration_100ns), want, 2e6);  // within 200 ms
  EXPECT_NEAR(static_cast<double>(r->duration_ms), 2000.0, 200.0);
  expect_valid(20);
  // FFmpeg's index entries (7 of them) point at the same key-frame packets.
  const Bytes f = read_all(path_);
  const std::size_t ours = layout_.info.total_size + 20 * 1000;
  const std::size_t theirs = ours;  // same packets, index right after them in both
  ASSERT_EQ(load_le(original_.data() + theirs + 52, 4), 7u);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(load_le(f.data() + ours + 56 + 6 * i, 4),
              load_le(original_.data() + theirs + 56 + 6 * i, 4))
        << "entry " << i;
  }
}

TEST_F(Finaliser, TruncatedInsideAPacketKeepsTheWholeOnes) {
  write_all(path_, stream_like(12, 500));
  Result<FinalizeReport> r = finalize_recording(path_);
  ASSERT_TRUE(r.ok()) << r.status().what();
  EXPECT_EQ(r->packets, 12u);
  EXPECT_EQ(r->dropped_bytes, 500u);
  EXPECT_LT(r->duration_ms, 1800u);
  EXPECT_GT(r->duration_ms, 800u);
  expect_valid(12);
}

TEST_F(Finaliser, TrailingGarbageIsCut) {
  Bytes b = stream_like(20);
  for (int i = 0; i < 2500; ++i)
    b.push_back(static_cast<std::uint8_t>(0xA5 ^ (i * 37)));
  write_all(path_, b);
  Result<FinalizeReport> r = finalize_recording(path_);
  ASSERT_TRUE(r.ok()) << r.status().what();
  EXPECT_EQ(r->packets, 20u);
  EXPECT_EQ(r->dropped_bytes, 2500u);
  expect_valid(20);
}

TEST_F(Finaliser, ASecondHeaderEndsTheFirstEntry) {
  Bytes b = stream_like(8);
  b.insert(b.end(), original_.begin(),
           original_.begin() + static_cast<std::ptrdiff_t>(layout_.info.total_size + 3000));
  write_all(path_, b);
  Result<FinalizeReport> r = finalize_recording(path_);
  ASSERT_TRUE(r.ok()) << r.status().what();
  EXPECT_EQ(r->packets, 8u);
  EXPECT_TRUE(r->stream_change);
  expect_valid(8);
}

TEST_F(Finaliser, AFinishedFileIsRefinalisedIdentically) {
  write_all(path_, original_);  // FFmpeg's file with its own index
  Result<FinalizeReport> r = finalize_recording(path_);
  ASSERT_TRUE(r.ok()) << r.status().what();
  EXPECT_EQ(r->packets, 20u);
  expect_valid(20);
  const Bytes once = read_all(path_);
  ASSERT_TRUE(finalize_recording(path_).ok());
  EXPECT_EQ(read_all(path_), once);
}

TEST_F(Finaliser, MaxPacketsBoundsWhatIsKept) {
  write_all(path_, stream_like(20));
  Result<FinalizeReport> r = finalize_recording(path_, 5);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->packets, 5u);
  expect_valid(5);
}

TEST_F(Finaliser, MaxPacketsOverridesTheDeclaredCount) {
  // A finished file of 5 packets that a resume appended 10 more to.
  write_all(path_, stream_like(5));
  ASSERT_TRUE(finalize_recording(path_).ok());
  Bytes b = read_all(path_);
  b.resize(layout_.info.total_size + 5 * 1000);
  b.insert(b.end(), original_.begin() + static_cast<std::ptrdiff_t>(layout_.info.total_size + 5000),
           original_.begin() + static_cast<std::ptrdiff_t>(layout_.info.total_size + 15000));
  write_all(path_, b);
  EXPECT_EQ(scan_recording(path_)->packets, 5u);  // what the header declares
  Result<FinalizeReport> r = finalize_recording(path_, 15);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->packets, 15u);
  expect_valid(15);
}

TEST_F(Finaliser, HeaderOnly) {
  write_all(path_, stream_like(0));
  Result<FinalizeReport> r = finalize_recording(path_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->packets, 0u);
  EXPECT_EQ(r->index_entries, 0u);
  EXPECT_EQ(r->file_size, layout_.info.total_size);
}

TEST_F(Finaliser, NotAnAsfFile) {
  write_all(path_, Bytes(100, 7));
  EXPECT_EQ(finalize_recording(path_).status().code(), Code::kMalformed);
  EXPECT_EQ(finalize_recording((dir_ / "missing.asf").string()).status().code(), Code::kNotFound);
}

TEST_F(Finaliser, ScanForResume) {
  write_all(path_, stream_like(15, 10, false));
  Result<Scan> s = scan_recording(path_);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->packets, 15u);
  EXPECT_EQ(s->data_end, layout_.info.total_size + 15000u);
  EXPECT_GE(s->last_send_ms, s->first_send_ms);
  ASSERT_FALSE(s->tail.empty());
  EXPECT_EQ(s->tail.size(), s->last_send_count);
  // The last tail packet is packet 14.
  EXPECT_EQ(0, std::memcmp(s->tail.back().data(),
                           original_.data() + layout_.info.total_size + 14000, 1000));
}

TEST(RecordIndex, EntriesPointAtTheLastKeyAtOrBefore) {
  asf::Guid id{};
  const std::vector<KeyPoint> keys = {{0, 0, 2}, {1500, 7, 1}, {2100, 9, 3}};
  const Bytes idx = build_simple_index(id, keys, 4200);
  ASSERT_EQ(idx.size(), 56u + 5 * 6);
  EXPECT_EQ(load_le(idx.data() + 40, 8), 10000000u);
  EXPECT_EQ(load_le(idx.data() + 48, 4), 3u);  // max packet count
  EXPECT_EQ(load_le(idx.data() + 52, 4), 5u);
  const std::uint32_t want[] = {0, 0, 7, 9, 9};
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(load_le(idx.data() + 56 + 6 * i, 4), want[i]) << i;
  EXPECT_TRUE(build_simple_index(id, {}, 1000).empty());
}

TEST_F(Finaliser, SplitterCutsAStreamInAnyChunks) {
  const Bytes s = stream_like(5);
  for (std::size_t chunk : {1u, 7u, 999u, 1000u, 4096u}) {
    StreamSplitter sp;
    int headers = 0, packets = 0;
    for (std::size_t off = 0; off < s.size(); off += chunk) {
      sp.push(ByteView(s.data() + off, std::min(chunk, s.size() - off)));
      for (;;) {
        StreamSplitter::Unit u = sp.next();
        if (u.kind == StreamSplitter::Kind::kNone)
          break;
        ASSERT_NE(u.kind, StreamSplitter::Kind::kError);
        if (u.kind == StreamSplitter::Kind::kHeader) {
          ++headers;
          EXPECT_EQ(u.bytes.size(), layout_.info.total_size);
        } else {
          EXPECT_EQ(u.bytes.size(), 1000u);
          EXPECT_EQ(0, std::memcmp(u.bytes.data(),
                                   s.data() + layout_.info.total_size + 1000 * packets, 1000));
          ++packets;
        }
      }
    }
    EXPECT_EQ(headers, 1) << chunk;
    EXPECT_EQ(packets, 5) << chunk;
  }
  StreamSplitter bad;
  const Bytes junk(64, 1);
  bad.push(ByteView(junk));
  EXPECT_EQ(bad.next().kind, StreamSplitter::Kind::kError);
}

}  // namespace
}  // namespace mms::record

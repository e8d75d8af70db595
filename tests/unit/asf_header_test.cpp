#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/asf/guids.h"
#include "protocol/asf/header_parser.h"
#include "protocol/core/byte_reader.h"
#include "protocol/core/byte_writer.h"
#include "protocol/core/limits.h"
#include "tests/support/asf_builder.h"

namespace mms::asf {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes read_media(const std::string& rel) {
  std::ifstream f(std::string(MMS_SOURCE_ROOT) + "/tests/media/" + rel, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

using test::asf_builder::data_prefix;
using test::asf_builder::header_extension;
using test::asf_builder::header_object;
using test::asf_builder::object;
using test::asf_builder::stream_properties;
using test::asf_builder::utf16;

Bytes file_properties(std::uint32_t min_ps, std::uint32_t max_ps, std::uint64_t packets = 10,
                      std::uint32_t flags = 2) {
  test::asf_builder::FileProperties p;
  p.min_packet_size = min_ps;
  p.max_packet_size = max_ps;
  p.packets = packets;
  p.flags = flags;
  return test::asf_builder::file_properties(p);
}

Bytes waveformatex(std::uint32_t avg_bytes_per_sec) {
  test::asf_builder::WaveFormat f;
  f.avg_bytes_per_sec = avg_bytes_per_sec;
  return test::asf_builder::waveformatex(f);
}

Bytes simple_header(std::uint32_t packet_size = 1000) {
  Bytes h = header_object({file_properties(packet_size, packet_size),
                           stream_properties(1, kAudioMedia, waveformatex(8000))});
  Bytes d = data_prefix(10, packet_size);
  h.insert(h.end(), d.begin(), d.end());
  return h;
}

// ---------------------------------------------------------------- real files

TEST(AsfHeaderReal, Silence1) {
  Bytes file = read_media("real/taglib-silence-1.wma");
  ASSERT_EQ(file.size(), 35416u);
  auto r = parse_header(file);
  ASSERT_TRUE(r.ok()) << r.status().what();
  const HeaderInfo& h = *r;
  EXPECT_EQ(h.header_object_size, 4984u);
  EXPECT_TRUE(h.has_data_prefix);
  EXPECT_EQ(h.total_size, 4984u + 50u);
  EXPECT_EQ(h.packet_size, 2762u);
  EXPECT_EQ(h.min_packet_size, 2762u);
  EXPECT_EQ(h.preroll_ms, 1451u);
  EXPECT_EQ(h.data_packets_count, 11u);
  EXPECT_EQ(h.duration_ns(), 3'712'000'000u);
  EXPECT_FALSE(h.broadcast());
  EXPECT_TRUE(h.seekable());
  EXPECT_EQ(h.declared_object_count, 7u);
  EXPECT_EQ(h.actual_object_count, 7u);
  ASSERT_EQ(h.streams.size(), 1u);
  EXPECT_EQ(h.streams[0].number, 1);
  EXPECT_EQ(h.streams[0].type, StreamType::kAudio);
  EXPECT_EQ(h.streams[0].bitrate, 64685u);  // Stream Bitrate Properties wins
  EXPECT_FALSE(h.streams[0].from_extension);
  EXPECT_TRUE(h.exclusions.empty());
  EXPECT_EQ(h.tags.title, "test");
  EXPECT_EQ(h.max_bitrate, 64685u);
}

TEST(AsfHeaderReal, Lossless) {
  Bytes file = read_media("real/taglib-lossless.wma");
  auto r = parse_header(file);
  ASSERT_TRUE(r.ok()) << r.status().what();
  EXPECT_EQ(r->packet_size, 13406u);
  EXPECT_EQ(r->preroll_ms, 3000u);
  EXPECT_EQ(r->duration_ns(), 3'549'000'000u);
  ASSERT_EQ(r->streams.size(), 1u);
  EXPECT_EQ(r->streams[0].bitrate, 192426u);
  EXPECT_EQ(r->actual_object_count, 6u);
  auto layout = scan_file(file);
  ASSERT_TRUE(layout.ok()) << layout.status().what();
  EXPECT_EQ(layout->first_packet, 4983u + 50u);
  EXPECT_EQ(layout->packet_count, 7u);  // Index objects after the data are not packets
}

TEST(AsfHeaderReal, RealExampleTagsAndTruncatedData) {
  Bytes file = read_media("real/taglib-real_example.wma");
  auto r = parse_header(file);
  ASSERT_TRUE(r.ok()) << r.status().what();
  EXPECT_EQ(r->packet_size, 5976u);
  EXPECT_EQ(r->preroll_ms, 1579u);
  EXPECT_EQ(r->data_packets_count, 260u);
  EXPECT_EQ(r->tags.title, "Wake Up, Get Up, Get Out There");
  EXPECT_EQ(r->tags.author, "Shoji Meguro");
  EXPECT_EQ(r->tags.album, "Persona 5: Sounds of Rebellion");
  EXPECT_EQ(r->tags.genre, "Alternative");
  ASSERT_EQ(r->streams.size(), 1u);
  EXPECT_EQ(r->streams[0].bitrate, 128574u);
  auto layout = scan_file(file);
  ASSERT_TRUE(layout.ok());
  EXPECT_EQ(layout->packet_count, 0u);  // the data was cut off
}

TEST(AsfHeaderFixture, SmallTwoStreamsAndTags) {
  Bytes file = read_media("fixtures/small.asf");
  auto r = parse_header(file);
  ASSERT_TRUE(r.ok()) << r.status().what();
  EXPECT_EQ(r->packet_size, 1000u);
  ASSERT_EQ(r->streams.size(), 2u);
  EXPECT_EQ(r->streams[0].type, StreamType::kVideo);
  EXPECT_EQ(r->streams[1].type, StreamType::kAudio);
  EXPECT_EQ(r->streams[1].bitrate, 32000u);  // WAVEFORMATEX nAvgBytesPerSec * 8
  EXPECT_EQ(r->find_stream(2), &r->streams[1]);
  EXPECT_EQ(r->find_stream(3), nullptr);
  EXPECT_EQ(r->tags.title, "Test Tone \xE2\x9C\x93");
  EXPECT_EQ(r->tags.author, "gst-mms");
  EXPECT_EQ(r->tags.copyright, "CC0");
  EXPECT_EQ(r->tags.album, "Fixtures");
  EXPECT_EQ(r->tags.genre, "Test");
  // FFmpeg stores the comment and the year only in the Extended Content Description,
  // under "Description" and "year", which are not the WM/ attributes we map.
  EXPECT_EQ(r->tags.description, "");
  EXPECT_EQ(r->tags.year, "");
  auto layout = scan_file(file);
  ASSERT_TRUE(layout.ok());
  EXPECT_EQ(layout->packet_count, 20u);
  EXPECT_EQ(layout->first_packet + 20u * 1000u + 98u, file.size());  // + Simple Index
}

TEST(AsfHeaderFixture, MbrBitratesAndExclusion) {
  Bytes file = read_media("fixtures/mbr.asf");
  auto r = parse_header(file);
  ASSERT_TRUE(r.ok()) << r.status().what();
  ASSERT_EQ(r->streams.size(), 3u);
  EXPECT_EQ(r->streams[0].bitrate, 300000u);
  EXPECT_EQ(r->streams[1].bitrate, 100000u);
  EXPECT_EQ(r->streams[2].bitrate, 64000u);
  EXPECT_EQ(r->streams[2].type, StreamType::kAudio);
  ASSERT_EQ(r->exclusions.size(), 1u);
  EXPECT_EQ(r->exclusions[0].type, ExclusionType::kBitrate);
  EXPECT_EQ(r->exclusions[0].streams, (std::vector<std::uint16_t>{1, 2}));
}

TEST(AsfHeaderReal, EveryTruncationFailsCleanly) {
  for (const char* name :
       {"real/taglib-silence-1.wma", "real/taglib-real_example.wma", "fixtures/small.asf"}) {
    Bytes file = read_media(name);
    auto full = parse_header(file);
    ASSERT_TRUE(full.ok());
    const std::size_t hs = full->header_object_size;
    for (std::size_t len = 0; len < hs; ++len) {
      Bytes cut(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(len));
      auto r = parse_header(cut);
      ASSERT_FALSE(r.ok()) << name << " len " << len;
      EXPECT_EQ(r.status().code(), Code::kMalformed);
    }
    // Header complete, Data Object prefix partial: parses without the prefix.
    for (std::size_t len = hs; len < hs + 50; ++len) {
      Bytes cut(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(len));
      auto r = parse_header(cut);
      ASSERT_TRUE(r.ok()) << len;
      EXPECT_FALSE(r->has_data_prefix);
      EXPECT_EQ(r->total_size, hs);
    }
  }
}

TEST(AsfHeader, TrailingDataIgnored) {
  Bytes h = simple_header();
  const std::size_t n = h.size();
  h.insert(h.end(), 500, 0xAB);
  auto r = parse_header(h);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->has_data_prefix);
  EXPECT_EQ(r->total_size, n);
}

TEST(AsfHeader, ToStringAndDuration) {
  EXPECT_STREQ(to_string(StreamType::kAudio), "audio");
  EXPECT_STREQ(to_string(StreamType::kVideo), "video");
  EXPECT_STREQ(to_string(StreamType::kCommand), "command");
  EXPECT_STREQ(to_string(StreamType::kOther), "other");
  HeaderInfo h;
  h.play_duration_100ns = 1000;
  h.preroll_ms = 1;  // 10000 x 100 ns > play duration
  EXPECT_EQ(h.duration_ns(), 0u);
  h.play_duration_100ns = ~0ULL;
  h.preroll_ms = 0;
  EXPECT_EQ(h.duration_ns(), ~0ULL);  // saturates
  h.flags = 1;
  EXPECT_EQ(h.duration_ns(), 0u);
}

// ---------------------------------------------------------------- repair

TEST(AsfHeaderRepair, ObjectCountOverByOne) {
  // VLC's muxer writes one more than the objects present.
  Bytes h = header_object({file_properties(1000, 1000), stream_properties(1, kAudioMedia)}, 1);
  Bytes d = data_prefix(10, 1000);
  h.insert(h.end(), d.begin(), d.end());
  auto r = parse_header(h);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->declared_object_count, 3u);
  EXPECT_EQ(r->actual_object_count, 2u);
  auto rep = repair_header(&h);
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(*rep, kRepairObjectCount);
  auto again = parse_header(h);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->declared_object_count, 2u);
  auto none = repair_header(&h);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0u);
}

TEST(AsfHeaderRepair, RealFileWithBumpedCount) {
  Bytes file = read_media("real/taglib-silence-1.wma");
  auto before = parse_header(file);
  ASSERT_TRUE(before.ok());
  Bytes h(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(before->total_size));
  store_u32le(h.data() + 24, 8);
  auto r = parse_header(h);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->declared_object_count, 8u);
  EXPECT_EQ(r->actual_object_count, 7u);
  auto rep = repair_header(&h);
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(*rep, kRepairObjectCount);
  EXPECT_EQ(h, Bytes(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(h.size())));
}

TEST(AsfHeaderRepair, MinPacketSize) {
  Bytes h = header_object({file_properties(0, 1500), stream_properties(1, kAudioMedia)});
  Bytes d = data_prefix(4, 1500);
  h.insert(h.end(), d.begin(), d.end());
  auto r = parse_header(h);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->min_packet_size, 0u);
  EXPECT_EQ(r->max_packet_size, 1500u);
  EXPECT_EQ(r->packet_size, 1500u);
  auto rep = repair_header(&h);
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(*rep, kRepairMinPacketSize);
  auto again = parse_header(h);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->min_packet_size, 1500u);
}

TEST(AsfHeaderRepair, MissingDataPrefixAppended) {
  Bytes h = header_object({file_properties(1000, 1000, 42), stream_properties(1, kAudioMedia)});
  const std::size_t hs = h.size();
  h.push_back(0x36);  // a stray partial byte is replaced
  auto r = parse_header(h);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_data_prefix);
  auto rep = repair_header(&h);
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(*rep, kRepairDataPrefix);
  ASSERT_EQ(h.size(), hs + 50);
  auto again = parse_header(h);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->has_data_prefix);
  EXPECT_EQ(again->total_size, hs + 50);
  EXPECT_EQ(load_u64le(h.data() + hs + 16), 50u + 42u * 1000u);
  EXPECT_EQ(load_u64le(h.data() + hs + 40), 42u);
  EXPECT_EQ(load_u16le(h.data() + hs + 48), 0x0101);
  EXPECT_EQ(h[hs + 24], 1);  // File ID copied from File Properties
}

TEST(AsfHeaderRepair, AllAtOnceAndBroadcast) {
  Bytes h = header_object({file_properties(0, 800, 9), stream_properties(1, kVideoMedia)}, 1);
  auto rep = repair_header(&h);
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(*rep, kRepairObjectCount | kRepairMinPacketSize | kRepairDataPrefix);
  ASSERT_TRUE(mark_broadcast(&h).ok());
  auto r = parse_header(h);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->broadcast());
  EXPECT_FALSE(r->seekable());
  EXPECT_EQ(r->flags, 1u);
  EXPECT_EQ(r->duration_ns(), 0u);
  Bytes junk = {1, 2, 3};
  EXPECT_FALSE(mark_broadcast(&junk).ok());
}

// ---------------------------------------------------------------- stream bitrates

// A video stream without a bitrate of its own (no Extended Stream Properties)
// and a 64 kbit/s audio stream, as FFmpeg's muxer writes them: File
// Properties' 128 kbit/s maximum leaves 64 kbit/s for the video.
TEST(AsfStreamBitrates, AddedWhenOneIsUnknown) {
  Bytes h = header_object({file_properties(1000, 1000), stream_properties(1, kVideoMedia),
                           stream_properties(2, kAudioMedia, waveformatex(8000))});
  const std::size_t header_size = h.size();
  Bytes prefix = data_prefix(10, 1000);
  h.insert(h.end(), prefix.begin(), prefix.end());
  const Bytes trailing = {0x82, 0, 0, 7, 7};  // the start of a packet follows
  h.insert(h.end(), trailing.begin(), trailing.end());
  auto before = parse_header(h);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->streams[0].bitrate, 0u);

  auto added = add_stream_bitrates(&h);
  ASSERT_TRUE(added.ok()) << added.status().what();
  EXPECT_TRUE(*added);
  const std::size_t object_size = 24 + 2 + 2 * 6;
  ASSERT_EQ(h.size(), header_size + object_size + prefix.size() + trailing.size());
  auto r = parse_header(h);
  ASSERT_TRUE(r.ok()) << r.status().what();
  EXPECT_EQ(r->header_object_size, header_size + object_size);
  EXPECT_EQ(r->declared_object_count, 4u);
  ASSERT_EQ(r->streams.size(), 2u);
  EXPECT_EQ(r->streams[0].bitrate, 64000u);
  EXPECT_EQ(r->streams[1].bitrate, 64000u);
  EXPECT_TRUE(r->has_data_prefix);
  EXPECT_EQ(r->data_packets_count, 10u);
  // The object sits right after the last Stream Properties Object, and what
  // followed the header (data prefix, packet bytes) is kept as it was.
  EXPECT_TRUE(std::equal(kStreamBitrateProperties.begin(), kStreamBitrateProperties.end(),
                         h.begin() + static_cast<std::ptrdiff_t>(header_size)));
  EXPECT_TRUE(std::equal(prefix.begin(), prefix.end(),
                         h.begin() + static_cast<std::ptrdiff_t>(header_size + object_size)));
  EXPECT_TRUE(std::equal(trailing.begin(), trailing.end(), h.end() - 5));

  // A second call finds the object and leaves the header alone.
  const Bytes once = h;
  auto again = add_stream_bitrates(&h);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  EXPECT_EQ(h, once);
}

TEST(AsfStreamBitrates, AddedWhenAllAreKnown) {
  Bytes h = simple_header();
  auto added = add_stream_bitrates(&h);
  ASSERT_TRUE(added.ok());
  EXPECT_TRUE(*added);
  auto r = parse_header(h);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->streams[0].bitrate, 64000u);
  EXPECT_EQ(load_u16le(h.data() + r->header_object_size - 6), 1u);  // stream number
  EXPECT_EQ(load_u32le(h.data() + r->header_object_size - 4), 64000u);
}

TEST(AsfStreamBitrates, LeftAloneWhenTheyCannotBeTold) {
  // Two streams without bitrates: File Properties' maximum cannot be split.
  Bytes two = header_object({file_properties(1000, 1000), stream_properties(1, kVideoMedia),
                             stream_properties(2, kVideoMedia)});
  // One unknown, but the known audio already takes the whole 128 kbit/s.
  Bytes full = header_object({file_properties(1000, 1000), stream_properties(1, kVideoMedia),
                              stream_properties(2, kAudioMedia, waveformatex(16000))});
  for (Bytes* h : {&two, &full}) {
    const Bytes copy = *h;
    auto added = add_stream_bitrates(h);
    ASSERT_TRUE(added.ok());
    EXPECT_FALSE(*added);
    EXPECT_EQ(*h, copy);
  }
}

TEST(AsfStreamBitrates, FilesThatHaveThemAreUnchanged) {
  Bytes file = read_media("fixtures/mbr.asf");
  ASSERT_FALSE(file.empty());
  const Bytes copy = file;
  auto added = add_stream_bitrates(&file);
  ASSERT_TRUE(added.ok()) << added.status().what();
  EXPECT_FALSE(*added);
  EXPECT_EQ(file, copy);
}

TEST(AsfStreamBitrates, MalformedHeaderIsAnError) {
  Bytes junk = {1, 2, 3};
  auto r = add_stream_bitrates(&junk);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kMalformed);
  EXPECT_EQ(junk, (Bytes{1, 2, 3}));
  Bytes cut = simple_header();
  cut.resize(40);
  const Bytes copy = cut;
  EXPECT_FALSE(add_stream_bitrates(&cut).ok());
  EXPECT_EQ(cut, copy);
}

// ---------------------------------------------------------------- script commands

Bytes utf16_counted(const std::string& ascii) {  // u16 length in WCHARs + text, NUL-less
  Bytes out;
  ByteWriter w(&out);
  w.u16le(static_cast<std::uint16_t>(ascii.size()));
  for (char c : ascii) {
    w.u16le(static_cast<std::uint8_t>(c));
  }
  return out;
}

Bytes script_commands(
    const std::vector<std::string>& types,
    const std::vector<std::tuple<std::uint32_t, std::uint16_t, std::string>>& cmds) {
  Bytes body;
  ByteWriter w(&body);
  w.zeros(16);
  w.u16le(static_cast<std::uint16_t>(cmds.size()));
  w.u16le(static_cast<std::uint16_t>(types.size()));
  for (const std::string& t : types) {
    w.bytes(utf16_counted(t));
  }
  for (const auto& [time, index, text] : cmds) {
    w.u32le(time);
    w.u16le(index);
    w.bytes(utf16_counted(text));
  }
  return object(kScriptCommand, body);
}

Bytes header_with_scripts(const Bytes& scripts) {
  Bytes h = header_object({file_properties(1000, 1000), scripts,
                           stream_properties(1, kAudioMedia, waveformatex(8000))});
  Bytes d = data_prefix(10, 1000);
  h.insert(h.end(), d.begin(), d.end());
  return h;
}

TEST(AsfScriptCommands, ParsedInOrderWithTypes) {
  Bytes h = header_with_scripts(script_commands(
      {"URL", "TEXT", "CAPTION"},
      {{0, 1, "Welcome"}, {1500, 0, "http://example.invalid/a"}, {4000, 2, "Second line"}}));
  auto r = parse_header(h);
  ASSERT_TRUE(r.ok()) << r.status().what();
  ASSERT_EQ(r->script_commands.size(), 3u);
  EXPECT_EQ(r->script_commands[0].time_ms, 0u);
  EXPECT_EQ(r->script_commands[0].type, "TEXT");
  EXPECT_EQ(r->script_commands[0].command, "Welcome");
  EXPECT_EQ(r->script_commands[1].time_ms, 1500u);
  EXPECT_EQ(r->script_commands[1].type, "URL");
  EXPECT_EQ(r->script_commands[1].command, "http://example.invalid/a");
  EXPECT_EQ(r->script_commands[2].type, "CAPTION");
  EXPECT_EQ(r->script_commands[2].command, "Second line");
  EXPECT_EQ(r->streams.size(), 1u);
  // Trailing bytes after the header change nothing.
  Bytes more = h;
  more.insert(more.end(), 300, 0x5A);
  auto t = parse_header(more);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->script_commands.size(), 3u);
  EXPECT_EQ(t->script_commands[2].command, "Second line");
}

TEST(AsfScriptCommands, EveryTruncationOfTheObjectFailsCleanly) {
  const Bytes scripts = script_commands({"TEXT"}, {{10, 0, "abc"}, {20, 0, "de"}});
  for (std::size_t len = 24; len < scripts.size(); ++len) {
    // A Script Command Object whose size field says `len`: its contents end early.
    Bytes cut(scripts.begin(), scripts.begin() + static_cast<std::ptrdiff_t>(len));
    store_u64le(cut.data() + 16, len);
    auto r = parse_header(header_with_scripts(cut));
    ASSERT_FALSE(r.ok()) << len;
    EXPECT_EQ(r.status().code(), Code::kMalformed) << len;
  }
}

TEST(AsfScriptCommands, BadIndexAndLimits) {
  auto bad = parse_header(header_with_scripts(script_commands({"TEXT"}, {{0, 1, "x"}})));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kMalformed);
  EXPECT_NE(std::string(bad.status().what()).find("type index"), std::string::npos);

  // Counts the object cannot hold: refused before reading the entries.
  Bytes body;
  ByteWriter w(&body);
  w.zeros(16);
  w.u16le(0xFFFF);
  w.u16le(1);
  w.bytes(utf16_counted("TEXT"));
  auto many = parse_header(header_with_scripts(object(kScriptCommand, body)));
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(many.status().code(), Code::kMalformed);
  EXPECT_NE(std::string(many.status().what()).find("counts overrun"), std::string::npos);

  // Many commands are fine: 2000 captions, one every 2 s.
  std::vector<std::tuple<std::uint32_t, std::uint16_t, std::string>> captions;
  for (std::uint32_t i = 0; i < 2000; ++i) {
    captions.emplace_back(i * 2000, 0, "line " + std::to_string(i));
  }
  auto lots = parse_header(header_with_scripts(script_commands({"CAPTION"}, captions)));
  ASSERT_TRUE(lots.ok()) << lots.status().what();
  ASSERT_EQ(lots->script_commands.size(), 2000u);
  EXPECT_EQ(lots->script_commands[1999].time_ms, 3'998'000u);
  EXPECT_EQ(lots->script_commands[1999].command, "line 1999");
}

Bytes command_sample(const std::string& type, const std::string& command) {
  Bytes out;
  for (const std::string* s : {&type, &command}) {
    for (char c : *s) {
      out.push_back(static_cast<std::uint8_t>(c));
      out.push_back(0);
    }
    out.push_back(0);
    out.push_back(0);
  }
  return out;
}

TEST(AsfCommandPayload, WholeSampleByteByByteAndTrailing) {
  const Bytes sample = command_sample("URL", "http://example.invalid/");
  auto r = parse_command_payload(sample, 2500);
  ASSERT_TRUE(r.ok()) << r.status().what();
  EXPECT_EQ(r->time_ms, 2500u);
  EXPECT_EQ(r->type, "URL");
  EXPECT_EQ(r->command, "http://example.invalid/");
  // Every proper prefix lacks the second terminator.
  for (std::size_t len = 0; len < sample.size(); ++len) {
    auto cut = parse_command_payload(ByteView(sample.data(), len), 0);
    ASSERT_FALSE(cut.ok()) << len;
    EXPECT_EQ(cut.status().code(), Code::kMalformed);
  }
  Bytes trailing = sample;
  trailing.insert(trailing.end(), {1, 2, 3});
  auto t = parse_command_payload(trailing, 7);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->command, "http://example.invalid/");
  // An empty command is a command; an empty type is not.
  auto empty_command = parse_command_payload(command_sample("EVENT", ""), 0);
  ASSERT_TRUE(empty_command.ok());
  EXPECT_EQ(empty_command->command, "");
  EXPECT_FALSE(parse_command_payload(command_sample("", "x"), 0).ok());
  // A NUL byte pair at an odd offset is not a UTF-16 terminator.
  const Bytes odd = {'A', 0, 0, 0x01, 0, 0, 'B', 0, 0, 0};
  auto o = parse_command_payload(odd, 0);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->type, "A\xC4\x80");  // 'A', U+0100
  EXPECT_EQ(o->command, "B");
}

// ---------------------------------------------------------------- limits and validation

TEST(AsfHeaderLimits, PacketSizeBounds) {
  EXPECT_TRUE(parse_header(simple_header(limits::kMaxAsfPacketSize)).ok());
  auto big = parse_header(simple_header(limits::kMaxAsfPacketSize + 1));
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), Code::kMalformed);
  auto zero = parse_header(simple_header(0));
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.status().code(), Code::kMalformed);
}

TEST(AsfHeaderLimits, ObjectSizes) {
  const Bytes good = simple_header();
  const std::size_t child = 30;  // File Properties object
  for (std::uint64_t bad : {0ULL, 23ULL, 200000ULL, ~0ULL, ~0ULL - 10, 1ULL << 63}) {
    Bytes h = good;
    store_u64le(h.data() + child + 16, bad);
    auto r = parse_header(h);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kMalformed) << bad;
  }
  // Header Object size: below 30, beyond input, beyond the header limit.
  for (std::uint64_t bad : {0ULL, 29ULL, 100000ULL, ~0ULL}) {
    Bytes h = good;
    store_u64le(h.data() + 16, bad);
    EXPECT_FALSE(parse_header(h).ok()) << bad;
  }
}

TEST(AsfHeaderLimits, ChildBeyondParentInsideHeaderExtension) {
  Bytes ext = header_extension({object(kPadding, Bytes(8, 0))});
  Bytes h = header_object({file_properties(1000, 1000), stream_properties(1, kAudioMedia), ext});
  ASSERT_TRUE(parse_header(h).ok());
  const std::size_t ext_at = h.size() - ext.size();
  Bytes bad = h;
  store_u64le(bad.data() + ext_at + 46 + 16, 33);  // padding object claims 1 byte too many
  EXPECT_FALSE(parse_header(bad).ok());
  bad = h;
  store_u32le(bad.data() + ext_at + 24 + 18, 40);  // extension data size beyond the object
  EXPECT_FALSE(parse_header(bad).ok());
}

TEST(AsfHeaderLimits, TooManyObjects) {
  std::vector<Bytes> children = {file_properties(1000, 1000), stream_properties(1, kAudioMedia)};
  for (std::size_t i = 0; i < limits::kMaxAsfHeaderObjects; ++i) {
    children.push_back(object(kPadding, {}));
  }
  auto r = parse_header(header_object(children));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kLimitExceeded);
  children.resize(limits::kMaxAsfHeaderObjects);
  EXPECT_TRUE(parse_header(header_object(children)).ok());
}

TEST(AsfHeader, Reserved2MustBe2) {
  Bytes h = simple_header();
  h[29] = 0x01;
  EXPECT_FALSE(parse_header(h).ok());
}

TEST(AsfHeader, NotAHeader) {
  Bytes h = simple_header();
  h[0] ^= 0xFF;
  EXPECT_FALSE(parse_header(h).ok());
  EXPECT_FALSE(parse_header(Bytes{}).ok());
}

TEST(AsfHeader, MissingFileProperties) {
  EXPECT_FALSE(parse_header(header_object({stream_properties(1, kAudioMedia)})).ok());
}

TEST(AsfHeader, ExtendedStreamPropertiesWithEmbeddedStream) {
  // ESP for stream 2 with a data bitrate, one stream name, one payload extension,
  // and an embedded Stream Properties Object declaring stream 2 as video.
  Bytes body;
  ByteWriter w(&body);
  w.u64le(0);
  w.u64le(0);
  w.u32le(250000);  // data bitrate
  w.zeros(24);
  w.u32le(0);  // flags
  w.u16le(2);  // stream number
  w.u16le(0);
  w.u64le(0);
  w.u16le(1);  // stream names
  w.u16le(1);  // payload extension systems
  w.u16le(0);
  w.u16le(4);
  w.u32le(0x00410041);
  w.zeros(16);
  w.u16le(2);
  w.u32le(0);
  w.bytes(stream_properties(2, kVideoMedia));
  Bytes esp = object(kExtendedStreamProperties, body);
  Bytes mutex_body;
  ByteWriter m(&mutex_body);
  m.bytes(ByteView(kMutexLanguage.data(), kMutexLanguage.size()));
  m.u16le(2);
  m.u16le(1);
  m.u16le(2);
  Bytes ame = object(kAdvancedMutualExclusion, mutex_body);
  Bytes h = header_object({file_properties(1000, 1000),
                           stream_properties(1, kAudioMedia, waveformatex(4000)),
                           header_extension({esp, ame})});
  auto r = parse_header(h);
  ASSERT_TRUE(r.ok()) << r.status().what();
  ASSERT_EQ(r->streams.size(), 2u);
  EXPECT_EQ(r->streams[0].bitrate, 32000u);
  EXPECT_FALSE(r->streams[0].from_extension);
  EXPECT_EQ(r->streams[1].number, 2);
  EXPECT_EQ(r->streams[1].type, StreamType::kVideo);
  EXPECT_TRUE(r->streams[1].from_extension);
  EXPECT_EQ(r->streams[1].bitrate, 250000u);
  ASSERT_EQ(r->exclusions.size(), 1u);
  EXPECT_EQ(r->exclusions[0].type, ExclusionType::kLanguage);
  // Every truncation of the ESP name/extension lists is rejected, never read past.
  for (std::size_t cut = 1; cut < esp.size(); ++cut) {
    Bytes e = esp;
    e.resize(esp.size() - cut);
    store_u64le(e.data() + 16, e.size());
    auto t = parse_header(header_object({file_properties(1000, 1000), header_extension({e})}));
    (void)t;  // must simply not crash; short ESPs are malformed
  }
}

Bytes descriptor(const std::string& name, std::uint16_t type, const Bytes& value) {
  Bytes out;
  ByteWriter w(&out);
  Bytes n = utf16(name);
  w.u16le(static_cast<std::uint16_t>(n.size()));
  w.bytes(n);
  w.u16le(type);
  w.u16le(static_cast<std::uint16_t>(value.size()));
  w.bytes(value);
  return out;
}

TEST(AsfHeader, ContentDescriptionTags) {
  Bytes cd;
  ByteWriter w(&cd);
  const Bytes title = utf16("Title");
  const Bytes author = utf16("Author");
  const Bytes copyright = utf16("(c) Someone");
  Bytes description = {0x3D, 0xD8, 0x00, 0xDE, 0x00, 0xD8, 0x41, 0x00, 0, 0};  // U+1F600, lone high
  w.u16le(static_cast<std::uint16_t>(title.size()));
  w.u16le(static_cast<std::uint16_t>(author.size()));
  w.u16le(static_cast<std::uint16_t>(copyright.size()));
  w.u16le(static_cast<std::uint16_t>(description.size()));
  w.u16le(0);
  w.bytes(title);
  w.bytes(author);
  w.bytes(copyright);
  w.bytes(description);
  Bytes ecd;
  ByteWriter e(&ecd);
  e.u16le(4);
  e.bytes(descriptor("WM/AlbumTitle", 0, utf16("Album")));
  e.bytes(descriptor("WM/Genre", 0, utf16("Jazz")));
  e.bytes(descriptor("IsVBR", 2, Bytes{1, 0, 0, 0}));
  e.bytes(descriptor("WM/Year", 0, utf16("1999")));
  Bytes h =
      header_object({file_properties(1000, 1000), stream_properties(1, kAudioMedia),
                     object(kContentDescription, cd), object(kExtendedContentDescription, ecd)});
  auto r = parse_header(h);
  ASSERT_TRUE(r.ok()) << r.status().what();
  EXPECT_EQ(r->tags.title, "Title");
  EXPECT_EQ(r->tags.author, "Author");
  EXPECT_EQ(r->tags.copyright, "(c) Someone");
  EXPECT_EQ(r->tags.description,
            "\xF0\x9F\x98\x80\xEF\xBF\xBD"
            "A");
  EXPECT_EQ(r->tags.rating, "");
  EXPECT_EQ(r->tags.album, "Album");
  EXPECT_EQ(r->tags.genre, "Jazz");
  EXPECT_EQ(r->tags.year, "1999");
  // WM/Year as a DWORD.
  Bytes ecd2;
  ByteWriter e2(&ecd2);
  e2.u16le(1);
  e2.bytes(descriptor("WM/Year", 3, Bytes{0xD0, 0x07, 0, 0}));
  auto r2 = parse_header(
      header_object({file_properties(1000, 1000), object(kExtendedContentDescription, ecd2)}));
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->tags.year, "2000");
  // A descriptor count beyond the object is rejected.
  store_u16le(ecd2.data(), 2);
  EXPECT_FALSE(parse_header(header_object({file_properties(1000, 1000),
                                           object(kExtendedContentDescription, ecd2)}))
                   .ok());
}

TEST(AsfHeader, ContentDescriptionOverrunRejected) {
  Bytes body;
  ByteWriter w(&body);
  w.u16le(100);  // title length beyond the object
  w.u16le(0);
  w.u16le(0);
  w.u16le(0);
  w.u16le(0);
  w.bytes(utf16("x"));
  Bytes h = header_object({file_properties(1000, 1000), stream_properties(1, kAudioMedia),
                           object(kContentDescription, body)});
  EXPECT_FALSE(parse_header(h).ok());
}

// ---------------------------------------------------------------- stream numbers

// An Extended Stream Properties Object for `number`, with no names or extension
// systems, optionally embedding a Stream Properties Object.
Bytes ext_stream_properties(std::uint16_t number, const Bytes& embedded = {}) {
  Bytes body;
  ByteWriter w(&body);
  w.u64le(0);   // start time
  w.u64le(0);   // end time
  w.u32le(0);   // data bitrate
  w.zeros(24);  // buffer size, fullness, alternates, maximum object size
  w.u32le(0);   // flags
  w.u16le(number);
  w.u16le(0);  // language index
  w.u64le(0);  // average time per frame
  w.u16le(0);  // stream names
  w.u16le(0);  // payload extension systems
  w.bytes(embedded);
  return object(kExtendedStreamProperties, body);
}

// Children of a header: File Properties, then `streams`.
Bytes header_with(std::vector<Bytes> streams) {
  streams.insert(streams.begin(), file_properties(1000, 1000));
  return header_object(streams);
}

// The stream rules hold however the header arrives: every proper prefix is a truncated
// header (never the stream error, never a parse), the whole header gets the error, and
// so does the header followed by its Data Object prefix and trailing bytes.
void expect_refused(const Bytes& h, Code code, const char* what) {
  for (std::size_t len = 0; len < h.size(); ++len) {
    auto r = parse_header(ByteView(h.data(), len));
    ASSERT_FALSE(r.ok()) << "prefix " << len;
    ASSERT_STREQ(r.status().what(), "ASF header truncated") << "prefix " << len;
  }
  auto whole = parse_header(h);
  ASSERT_FALSE(whole.ok());
  EXPECT_EQ(whole.status().code(), code);
  EXPECT_STREQ(whole.status().what(), what);
  Bytes trailing = h;
  const Bytes d = data_prefix(10, 1000);
  trailing.insert(trailing.end(), d.begin(), d.end());
  trailing.insert(trailing.end(), 300, 0x5A);
  auto t = parse_header(trailing);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), code);
  EXPECT_STREQ(t.status().what(), what);
  // Repair and the other rewriters parse first: they refuse it too.
  Bytes copy = trailing;
  EXPECT_FALSE(repair_header(&copy).ok());
  EXPECT_EQ(copy, trailing);
  EXPECT_FALSE(mark_broadcast(&copy).ok());
}

TEST(AsfStreamNumbers, StreamNumberZeroIsRefused) {
  expect_refused(header_with({stream_properties(0, kAudioMedia)}), Code::kMalformed,
                 "ASF stream number 0");
  // Bits 7..14 are reserved: 0x80 is stream 0 too.
  expect_refused(header_with({stream_properties(0x80, kAudioMedia)}), Code::kMalformed,
                 "ASF stream number 0");
  // Embedded in an Extended Stream Properties Object.
  expect_refused(header_with({header_extension(
                     {ext_stream_properties(1, stream_properties(0, kVideoMedia))})}),
                 Code::kMalformed, "ASF stream number 0");
  // The Extended Stream Properties Object's own stream number.
  expect_refused(header_with({stream_properties(1, kAudioMedia),
                              header_extension({ext_stream_properties(0)})}),
                 Code::kMalformed, "ASF Extended Stream Properties stream number 0");
}

TEST(AsfStreamNumbers, RepeatedStreamNumberIsRefused) {
  // Two top-level Stream Properties Objects for stream 1 (also apart, and with the
  // encrypted flag, bit 15, set on the second: the number is bits 0..6).
  expect_refused(
      header_with({stream_properties(1, kAudioMedia), stream_properties(1, kVideoMedia)}),
      Code::kMalformed, "ASF stream number declared twice");
  expect_refused(header_with({stream_properties(1, kAudioMedia), stream_properties(2, kVideoMedia),
                              stream_properties(0x8001, kVideoMedia)}),
                 Code::kMalformed, "ASF stream number declared twice");
  // Top level and embedded in an ESP, in either order.
  expect_refused(
      header_with({stream_properties(2, kAudioMedia), header_extension({ext_stream_properties(
                                                          2, stream_properties(2, kVideoMedia))})}),
      Code::kMalformed, "ASF stream number declared twice");
  expect_refused(
      header_with({header_extension({ext_stream_properties(2, stream_properties(2, kVideoMedia))}),
                   stream_properties(2, kAudioMedia)}),
      Code::kMalformed, "ASF stream number declared twice");
  // Embedded twice.
  expect_refused(header_with({header_extension(
                     {ext_stream_properties(3, stream_properties(3, kVideoMedia)),
                      ext_stream_properties(3, stream_properties(3, kVideoMedia))})}),
                 Code::kMalformed, "ASF stream number declared twice");
  // The error names the stream.
  auto r = parse_header(
      header_with({stream_properties(9, kAudioMedia), stream_properties(9, kAudioMedia)}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().detail(), 9u);
}

TEST(AsfStreamNumbers, DistinctNumbersFromBothPlacesAreKept) {
  // An ESP without an embedded object for a top-level stream is the normal case.
  auto r = parse_header(header_with(
      {stream_properties(1, kAudioMedia), stream_properties(2, kVideoMedia),
       header_extension({ext_stream_properties(1), ext_stream_properties(2),
                         ext_stream_properties(3, stream_properties(3, kVideoMedia))})}));
  ASSERT_TRUE(r.ok()) << r.status().what();
  ASSERT_EQ(r->streams.size(), 3u);
  EXPECT_FALSE(r->streams[0].from_extension);
  EXPECT_FALSE(r->streams[1].from_extension);
  EXPECT_EQ(r->streams[2].number, 3);
  EXPECT_TRUE(r->streams[2].from_extension);
}

TEST(AsfStreamNumbers, AtMost127StreamObjects) {
  // 127 streams (1..127), all at top level: the limit.
  std::vector<Bytes> streams;
  for (std::uint16_t n = 1; n <= limits::kMaxAsfStreams; ++n) {
    streams.push_back(stream_properties(n, kAudioMedia));
  }
  auto full = parse_header(header_with(streams));
  ASSERT_TRUE(full.ok()) << full.status().what();
  ASSERT_EQ(full->streams.size(), limits::kMaxAsfStreams);
  EXPECT_EQ(full->streams.back().number, 127);
  // 126 at top level and one embedded: also 127.
  std::vector<Bytes> mixed(streams.begin(), streams.end() - 1);
  mixed.push_back(
      header_extension({ext_stream_properties(127, stream_properties(127, kVideoMedia))}));
  auto m = parse_header(header_with(mixed));
  ASSERT_TRUE(m.ok()) << m.status().what();
  EXPECT_EQ(m->streams.size(), limits::kMaxAsfStreams);
  // A 128th Stream Properties Object, at top level or embedded, is one too many.
  std::vector<Bytes> over = streams;
  over.push_back(stream_properties(5, kAudioMedia));
  expect_refused(header_with(over), Code::kLimitExceeded,
                 "more than 127 ASF Stream Properties Objects");
  over = streams;
  over.push_back(header_extension({ext_stream_properties(1, stream_properties(1, kVideoMedia))}));
  expect_refused(header_with(over), Code::kLimitExceeded,
                 "more than 127 ASF Stream Properties Objects");
  auto r = parse_header(header_with(over));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().detail(), 128u);
}

}  // namespace
}  // namespace mms::asf

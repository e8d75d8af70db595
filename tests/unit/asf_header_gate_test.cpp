#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/asf/guids.h"
#include "protocol/asf/header_gate.h"
#include "protocol/core/byte_reader.h"
#include "protocol/core/byte_writer.h"
#include "tests/support/asf_builder.h"

namespace mms::asf {
namespace {

using Bytes = std::vector<std::uint8_t>;
using Numbers = std::vector<std::uint16_t>;
using Kind = HeaderGate::Kind;

// The ASF file header (Header Object + Data Object prefix) of a file under tests/media.
Bytes media_header(const std::string& rel) {
  std::ifstream f(std::string(MMS_SOURCE_ROOT) + "/tests/media/" + rel, std::ios::binary);
  Bytes file((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  Result<HeaderInfo> info = parse_header(file);
  if (!info.ok()) {
    return {};
  }
  return Bytes(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(info->total_size));
}

// The same header with "Number of Header Objects" one too high (VLC's muxer):
// repair_header puts it back.
Bytes bumped_count(Bytes h) {
  store_u32le(h.data() + 24, load_u32le(h.data() + 24) + 1);
  return h;
}

// A Header Object with File Properties (`packet_size`) and `streams` audio
// streams, then the Data Object prefix.
Bytes built_header(std::uint32_t packet_size, std::uint16_t streams) {
  namespace b = test::asf_builder;
  b::FileProperties fp;
  fp.file_id_first = 0;
  fp.min_packet_size = packet_size;
  fp.max_packet_size = packet_size;
  std::vector<Bytes> children = {b::file_properties(fp)};
  for (std::uint16_t n = 1; n <= streams; ++n) {
    children.push_back(b::stream_properties(n, kAudioMedia));
  }
  Bytes out = b::header_object(children);
  const Bytes data = b::data_prefix(10, packet_size);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

Numbers selected(const std::vector<StreamChoice>& choices) {
  Numbers out;
  for (const StreamChoice& c : choices) {
    if (c.selected) {
      out.push_back(c.number);
    }
  }
  return out;
}

HeaderGateOptions mmsh_like() {
  HeaderGateOptions o;
  o.same_when_repaired_equal = true;
  return o;
}

HeaderGateOptions mms_like() {
  HeaderGateOptions o;
  o.new_entry_is_change = true;
  return o;
}

HeaderGateOptions no_dedupe() {
  HeaderGateOptions o;
  o.dedupe = false;
  return o;
}

HeaderGateOptions speed(std::uint32_t kbps) {
  HeaderGateOptions o;
  o.connection_speed_kbps = kbps;
  return o;
}

// One offer and what it must give. The gate's state after it: `header`
// (repaired bytes) and `selected` describe the header known then.
struct Offer {
  Bytes raw;
  bool new_entry = false;
  Code code = Code::kOk;
  std::string what;  // the error's text (code != kOk)
  std::uint32_t detail = 0;
  Kind kind = Kind::kFresh;
  bool changed = false;
  Bytes header;      // gate.header() afterwards (empty: no header known)
  Numbers selected;  // gate.selection() afterwards
  std::uint32_t packet_size = 0;
};

struct Case {
  const char* name;
  HeaderGateOptions options;
  std::vector<Offer> offers;
};

std::vector<Case> cases() {
  const Bytes silence = media_header("real/taglib-silence-1.wma");
  const Bytes lossless = media_header("real/taglib-lossless.wma");
  const Bytes mbr = media_header("fixtures/mbr.asf");
  const Bytes bumped = bumped_count(silence);
  const Bytes truncated(silence.begin(), silence.begin() + 100);
  const Bytes huge_packets = built_header(70000, 1);
  const Bytes zero_packets = built_header(0, 1);
  const Bytes no_stream = built_header(1000, 0);
  const Numbers one{1};
  const std::uint32_t ps = 2762;  // taglib-silence-1.wma
  const std::uint32_t mbr_ps = 3200;
  return {
      {"GoodHeader",
       {},
       {{silence, false, Code::kOk, "", 0, Kind::kFresh, false, silence, one, ps}}},
      {"IdenticalRepeat",
       {},
       {{silence, false, Code::kOk, "", 0, Kind::kFresh, false, silence, one, ps},
        {silence, false, Code::kOk, "", 0, Kind::kSame, false, silence, one, ps}}},
      {"RepairedFirstHeader",
       {},
       {{bumped, false, Code::kOk, "", 0, Kind::kFresh, false, silence, one, ps}}},
      {"RepairedOnlyDifferenceIsTheSame",
       mmsh_like(),
       {{silence, false, Code::kOk, "", 0, Kind::kFresh, false, silence, one, ps},
        {bumped, false, Code::kOk, "", 0, Kind::kSameRepaired, false, silence, one, ps},
        {bumped, false, Code::kOk, "", 0, Kind::kSame, false, silence, one, ps}}},
      {"RepairedOnlyDifferenceIsNewWithoutTheOption",
       mms_like(),
       {{silence, false, Code::kOk, "", 0, Kind::kFresh, false, silence, one, ps},
        {bumped, false, Code::kOk, "", 0, Kind::kFresh, true, silence, one, ps}}},
      {"NewEntryWithTheSameBytesIsFresh",
       mmsh_like(),
       {{silence, false, Code::kOk, "", 0, Kind::kFresh, false, silence, one, ps},
        {silence, true, Code::kOk, "", 0, Kind::kFresh, true, silence, one, ps},
        {bumped, true, Code::kOk, "", 0, Kind::kFresh, true, silence, one, ps}}},
      {"FirstNewEntryChangesOnlyWhenAsked",
       mms_like(),
       {{silence, true, Code::kOk, "", 0, Kind::kFresh, true, silence, one, ps}}},
      {"FirstNewEntryWithoutTheOption",
       mmsh_like(),
       {{silence, true, Code::kOk, "", 0, Kind::kFresh, false, silence, one, ps}}},
      {"OtherHeaderIsAChange",
       {},
       {{silence, false, Code::kOk, "", 0, Kind::kFresh, false, silence, one, ps},
        {mbr, false, Code::kOk, "", 0, Kind::kFresh, true, mbr, Numbers{1, 3}, mbr_ps},
        {silence, false, Code::kOk, "", 0, Kind::kFresh, true, silence, one, ps}}},
      {"WithoutDedupeEveryOfferIsFresh",
       no_dedupe(),
       {{silence, false, Code::kOk, "", 0, Kind::kFresh, false, silence, one, ps},
        {silence, false, Code::kOk, "", 0, Kind::kFresh, true, silence, one, ps}}},
      // parse_header refuses these packet sizes itself; the gate's own check
      // (the same bounds) stands behind it.
      {"PacketSizeTooLarge",
       {},
       {{huge_packets,
         false,
         Code::kMalformed,
         "ASF packet size too large",
         70000,
         Kind::kFresh,
         false,
         {},
         {},
         0}}},
      {"PacketSizeZero",
       {},
       {{zero_packets,
         false,
         Code::kMalformed,
         "ASF packet size is 0",
         0,
         Kind::kFresh,
         false,
         {},
         {},
         0}}},
      {"NoStream",
       {},
       {{no_stream,
         false,
         Code::kMalformed,
         "ASF header declares no stream",
         0,
         Kind::kFresh,
         false,
         {},
         {},
         0}}},
      {"UnrepairableHeader",
       {},
       {{truncated, false, Code::kMalformed, "", 0, Kind::kFresh, false, {}, {}, 0}}},
      {"BadHeaderKeepsTheKnownOne",
       {},
       {{silence, false, Code::kOk, "", 0, Kind::kFresh, false, silence, one, ps},
        {no_stream, false, Code::kMalformed, "ASF header declares no stream", 0, Kind::kFresh,
         false, silence, one, ps},
        {silence, false, Code::kOk, "", 0, Kind::kSame, false, silence, one, ps},
        {lossless, false, Code::kOk, "", 0, Kind::kFresh, true, lossless, one, 0}}},
      // tests/media/fixtures/mbr.asf: 300 and 100 kbit/s video excluding each
      // other, 64 kbit/s audio (stream_selector.h).
      {"SpeedZeroSelectsTheBestOfEachGroup",
       speed(0),
       {{mbr, false, Code::kOk, "", 0, Kind::kFresh, false, mbr, Numbers{1, 3}, mbr_ps}}},
      {"SpeedSelectsTheVideoThatFits",
       speed(200),
       {{mbr, false, Code::kOk, "", 0, Kind::kFresh, false, mbr, Numbers{2, 3}, mbr_ps}}},
      {"HighSpeedSelectsTheBestVideo",
       speed(1000),
       {{mbr, false, Code::kOk, "", 0, Kind::kFresh, false, mbr, Numbers{1, 3}, mbr_ps}}},
  };
}

TEST(AsfHeaderGate, Table) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    HeaderGate gate(c.options);
    for (std::size_t i = 0; i < c.offers.size(); ++i) {
      SCOPED_TRACE(i);
      const Offer& o = c.offers[i];
      ASSERT_FALSE(o.raw.empty());
      Result<HeaderGate::Verdict> v = gate.offer(ByteView(o.raw), o.new_entry);
      if (o.code != Code::kOk) {
        ASSERT_FALSE(v.ok());
        EXPECT_EQ(v.status().code(), o.code);
        if (!o.what.empty()) {
          EXPECT_EQ(std::string(v.status().what()), o.what);
          EXPECT_EQ(v.status().detail(), o.detail);
        }
      } else {
        ASSERT_TRUE(v.ok()) << v.status().what();
        EXPECT_EQ(v->kind, o.kind);
        EXPECT_EQ(v->fresh(), o.kind == Kind::kFresh);
        EXPECT_EQ(v->changed, o.changed);
        if (o.kind != Kind::kSame) {
          EXPECT_EQ(gate.raw(), o.raw);
        }
      }
      EXPECT_EQ(gate.known(), !o.header.empty());
      if (o.header.empty()) {
        continue;
      }
      ASSERT_NE(gate.header(), nullptr);
      EXPECT_EQ(*gate.header(), o.header);
      EXPECT_EQ(selected(gate.selection()), o.selected);
      EXPECT_EQ(gate.selection().size(), gate.info().streams.size());
      EXPECT_EQ(gate.all_selected(), o.selected.size() == gate.info().streams.size());
      Result<HeaderInfo> expected = parse_header(o.header);
      ASSERT_TRUE(expected.ok());
      EXPECT_EQ(gate.info().total_size, expected->total_size);
      EXPECT_EQ(gate.info().packet_size, expected->packet_size);
      if (o.packet_size != 0) {
        EXPECT_EQ(gate.info().packet_size, o.packet_size);
      }
    }
  }
}

// A fresh header's bytes are shared, not copied: what an event kept stays
// valid (and unchanged) after the gate takes the next header.
TEST(AsfHeaderGate, HeaderOutlivesTheNextOne) {
  const Bytes silence = media_header("real/taglib-silence-1.wma");
  const Bytes mbr = media_header("fixtures/mbr.asf");
  HeaderGate gate;
  ASSERT_TRUE(gate.offer(ByteView(silence), false).ok());
  std::shared_ptr<const Bytes> kept = gate.header();
  Result<HeaderGate::Verdict> v = gate.offer(ByteView(mbr), false);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->changed);
  EXPECT_EQ(*kept, silence);
  EXPECT_EQ(*gate.header(), mbr);
}

// forget(): the next header is fresh and not a change; the old values stay
// readable until then.
TEST(AsfHeaderGate, ForgetMakesTheNextHeaderFirst) {
  const Bytes silence = media_header("real/taglib-silence-1.wma");
  HeaderGate gate(mmsh_like());
  ASSERT_TRUE(gate.offer(ByteView(silence), false).ok());
  gate.forget();
  EXPECT_FALSE(gate.known());
  EXPECT_EQ(gate.info().packet_size, 2762u);
  Result<HeaderGate::Verdict> v = gate.offer(ByteView(silence), false);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->fresh());
  EXPECT_FALSE(v->changed);
  EXPECT_TRUE(gate.known());
}

}  // namespace
}  // namespace mms::asf

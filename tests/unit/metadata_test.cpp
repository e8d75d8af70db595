// Content Description Lists and MMSH $M metadata (protocol/session/metadata.h):
// whole, every prefix, trailing data, bounds, round trips.
#include "protocol/session/metadata.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace mms::session {
namespace {

// The fields a Windows Media server sent in an RTSP SDP (capture in
// docs/protocols/rtsp-wms-reference.md §4.2), in the $M form: values as they
// are (the SDP escapes them and counts the escaped length) and the
// description ended by CRLF.
const std::string kServerList =
    "8,language,31,0,,5,title,31,0,,6,author,31,0,,9,copyright,31,0,,"
    "35,WMS_CONTENT_DESCRIPTION_DESCRIPTION,31,0,,30,WMS_CONTENT_DESCRIPTION_RATING,31,0,,"
    "44,WMS_CONTENT_DESCRIPTION_SERVER_BRANDING_INFO,31,12,WMServer/9.0,"
    "51,WMS_CONTENT_DESCRIPTION_PLAYLIST_ENTRY_START_OFFSET,3,4,3100,"
    "47,WMS_CONTENT_DESCRIPTION_PLAYLIST_ENTRY_DURATION,3,6,170803,"
    "58,WMS_CONTENT_DESCRIPTION_COPIED_METADATA_FROM_PLAYLIST_FILE,3,1,1,"
    "42,WMS_CONTENT_DESCRIPTION_PLAYLIST_ENTRY_URL,31,11,0001-hi.wmv\r\n";

// Two languages; values holding ',' and CRLF, which only their lengths delimit.
const std::string kTwoLanguages =
    "8,language,31,5,en-us,5,title,31,9,Hi, there,6,author,31,4,A\r\nB\r\n"
    "8,language,31,2,fr,5,title,31,5,Salut\r\n";

TEST(Cdl, ParsesAServersList) {
  Result<std::vector<ContentDescription>> r = parse_cdl(kServerList);
  ASSERT_TRUE(r.ok()) << r.status().what();
  ASSERT_EQ(r->size(), 1u);
  const ContentDescription& d = (*r)[0];
  EXPECT_EQ(d.language, "");
  ASSERT_EQ(d.fields.size(), 10u);
  EXPECT_EQ(d.fields[0].name, "title");
  EXPECT_EQ(d.fields[0].value, "");
  ASSERT_NE(d.find("wms_content_description_server_branding_info"), nullptr);
  EXPECT_EQ(d.find("WMS_CONTENT_DESCRIPTION_SERVER_BRANDING_INFO")->value, "WMServer/9.0");
  const CdlField* duration = d.find("WMS_CONTENT_DESCRIPTION_PLAYLIST_ENTRY_DURATION");
  ASSERT_NE(duration, nullptr);
  EXPECT_EQ(duration->type, kCdlTypeI4);
  EXPECT_EQ(duration->value, "170803");
  EXPECT_EQ(d.fields.back().value, "0001-hi.wmv");
  // What we encode is what the server sent.
  EXPECT_EQ(encode_cdl(*r), kServerList);
}

TEST(Cdl, LengthsDelimitValuesHoldingCommasAndLineEnds) {
  Result<std::vector<ContentDescription>> r = parse_cdl(kTwoLanguages);
  ASSERT_TRUE(r.ok()) << r.status().what();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].language, "en-us");
  EXPECT_EQ((*r)[0].find("title")->value, "Hi, there");
  EXPECT_EQ((*r)[0].find("author")->value, "A\r\nB");
  EXPECT_EQ((*r)[1].language, "fr");
  EXPECT_EQ((*r)[1].find("title")->value, "Salut");
  EXPECT_EQ((*r)[1].find("author"), nullptr);
  EXPECT_EQ(encode_cdl(*r), kTwoLanguages);
  EXPECT_TRUE(parse_cdl("").ok());
  EXPECT_TRUE(parse_cdl("")->empty());
}

// Byte by byte: every prefix is an error or a list of the whole descriptions
// it holds, never a shortened value.
TEST(Cdl, EveryPrefixIsAnErrorOrTheWholeDescriptionsBeforeIt) {
  for (const std::string* text : {&kServerList, &kTwoLanguages}) {
    const Result<std::vector<ContentDescription>> whole = parse_cdl(*text);
    ASSERT_TRUE(whole.ok());
    for (std::size_t n = 0; n < text->size(); ++n) {
      const Result<std::vector<ContentDescription>> r = parse_cdl(text->substr(0, n));
      if (!r.ok()) {
        EXPECT_EQ(r.status().code(), Code::kMalformed) << n;
        continue;
      }
      ASSERT_LT(r->size(), whole->size()) << n;
      EXPECT_EQ(encode_cdl(*r), text->substr(0, n)) << n;
    }
  }
}

TEST(Cdl, RefusesTrailingDataAndBadFields) {
  EXPECT_EQ(parse_cdl(kServerList + "x").status().code(), Code::kMalformed);
  EXPECT_EQ(parse_cdl(kServerList + "\r\n").status().code(), Code::kMalformed);
  EXPECT_EQ(parse_cdl(kServerList + std::string(1, '\0')).status().code(), Code::kMalformed);
  for (const char* bad : {
           "5,title,31,1,x\r\n",            // does not start with "language"
           "8,language,x,0,\r\n",           // type not a number
           "8,language,31,99,abc\r\n",      // value length past the end
           "8,language,31,0,,5,title\r\n",  // name without type
           "-1,language,31,0,\r\n",         // a negative length
           "8,language,70000,0,\r\n",       // type above 16 bits
           "8,language,31,0,;\r\n",         // neither ',' nor CRLF after a value
       }) {
    EXPECT_EQ(parse_cdl(bad).status().code(), Code::kMalformed) << bad;
  }
  // An empty language is the unspecified one, and a description may hold
  // nothing else.
  const Result<std::vector<ContentDescription>> r = parse_cdl("8,language,31,0,\r\n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE((*r)[0].fields.empty());
}

TEST(Cdl, Bounds) {
  std::string many;
  for (std::size_t i = 0; i <= kMaxCdlDescriptions; ++i) {
    many += "8,language,31,0,\r\n";
  }
  EXPECT_EQ(parse_cdl(many).status().code(), Code::kLimitExceeded);
  std::string fields = "8,language,31,0,";
  for (std::size_t i = 0; i <= kMaxCdlFields; ++i) {
    fields += ",1,a,31,0,";
  }
  fields += "\r\n";
  EXPECT_EQ(parse_cdl(fields).status().code(), Code::kLimitExceeded);
  const std::string big = "8,language,31," + std::to_string(kMaxMetadataBytes) + "," +
                          std::string(kMaxMetadataBytes, 'a') + "\r\n";
  EXPECT_EQ(parse_cdl(big).status().code(), Code::kLimitExceeded);
}

// The SDP form, as the capture has it: escaped values, lengths counted
// escaped, the description's end inside its last value.
const std::string kSdpCapture =
    "8,language,31,0,,5,title,31,0,,6,author,31,0,,9,copyright,31,0,,"
    "35,WMS_CONTENT_DESCRIPTION_DESCRIPTION,31,0,,30,WMS_CONTENT_DESCRIPTION_RATING,31,0,,"
    "44,WMS_CONTENT_DESCRIPTION_SERVER_BRANDING_INFO,31,12,WMServer/9.0,"
    "51,WMS_CONTENT_DESCRIPTION_PLAYLIST_ENTRY_START_OFFSET,3,4,3100,"
    "47,WMS_CONTENT_DESCRIPTION_PLAYLIST_ENTRY_DURATION,3,6,170803,"
    "58,WMS_CONTENT_DESCRIPTION_COPIED_METADATA_FROM_PLAYLIST_FILE,3,1,1,"
    "42,WMS_CONTENT_DESCRIPTION_PLAYLIST_ENTRY_URL,31,17,0001-hi.wmv%0D%0A";

TEST(SdpCdl, ParsesTheCaptureAsTheMmshFormOfTheSameList) {
  Result<std::vector<ContentDescription>> sdp = parse_sdp_cdl(kSdpCapture);
  ASSERT_TRUE(sdp.ok()) << sdp.status().what();
  Result<std::vector<ContentDescription>> plain = parse_cdl(kServerList);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(encode_cdl(*sdp), kServerList);
  EXPECT_EQ(encode_sdp_cdl(*plain), kSdpCapture);
  // Escapes: values with ',', '%', CR, LF and UTF-8 survive; two languages.
  std::vector<ContentDescription> list(2);
  list[0].language = "en-us";
  list[0].fields.push_back(CdlField{"title", kCdlTypeLpwstr, "50%, r\xc3\xa9sum\xc3\xa9\r\n"});
  list[1].language = "fr";
  const std::string wire = encode_sdp_cdl(list);
  EXPECT_EQ(wire.find_first_of("\r\n"), std::string::npos) << wire;
  Result<std::vector<ContentDescription>> back = parse_sdp_cdl(wire);
  ASSERT_TRUE(back.ok()) << back.status().what();
  EXPECT_EQ(encode_cdl(*back), encode_cdl(list));
  // Every prefix is an error or whole descriptions and fields; never a cut value.
  for (std::size_t n = 0; n < kSdpCapture.size(); ++n) {
    Result<std::vector<ContentDescription>> r = parse_sdp_cdl(kSdpCapture.substr(0, n));
    if (r.ok() && !r->empty()) {
      const std::vector<CdlField>& f = (*r)[0].fields;
      for (std::size_t i = 0; i < f.size(); ++i) {
        EXPECT_EQ(f[i].value, (*plain)[0].fields[i].value) << n;
      }
    } else if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kMalformed) << n;
    }
  }
  // Trailing data and bad escapes.
  EXPECT_FALSE(parse_sdp_cdl(kSdpCapture + ",").ok());
  EXPECT_FALSE(parse_sdp_cdl(kSdpCapture + "x").ok());
  EXPECT_FALSE(parse_sdp_cdl("8,language,31,3,%4G").ok());
  EXPECT_FALSE(parse_sdp_cdl("8,language,31,2,%4").ok());
}

std::vector<std::uint8_t> bytes(const std::string& s) {
  return std::vector<std::uint8_t>(s.begin(), s.end());
}

TEST(WmspMetadata, ParsesParametersAndList) {
  const std::string payload = std::string(
                                  "playlist-gen-id=3, broadcast-id=7, features=\"broadcast,"
                                  "playlist\"") +
                              '\0' + kTwoLanguages;
  const std::vector<std::uint8_t> raw = bytes(payload);
  Result<EntryMetadata> m = parse_wmsp_metadata(ByteView(raw));
  ASSERT_TRUE(m.ok()) << m.status().what();
  EXPECT_EQ(m->playlist_gen_id, 3u);
  EXPECT_EQ(m->broadcast_id, 7u);
  EXPECT_EQ(m->features, "broadcast,playlist");
  ASSERT_EQ(m->descriptions.size(), 2u);
  ASSERT_NE(m->find("title"), nullptr);
  EXPECT_EQ(*m->find("title"), "Hi, there");  // the first description that has it
  EXPECT_EQ(m->find("rating"), nullptr);
  // Round trip.
  const std::vector<std::uint8_t> again = encode_wmsp_metadata(*m);
  EXPECT_EQ(again, raw);
  // Any order, unknown parameters skipped, no list at all.
  const std::vector<std::uint8_t> other =
      bytes(std::string("features=\"seekable\",x=1,broadcast-id=0,playlist-gen-id=1") + '\0');
  Result<EntryMetadata> o = parse_wmsp_metadata(ByteView(other));
  ASSERT_TRUE(o.ok()) << o.status().what();
  EXPECT_EQ(o->playlist_gen_id, 1u);
  EXPECT_TRUE(o->descriptions.empty());
}

TEST(WmspMetadata, EveryPrefixAndTrailingDataAreErrorsOrWhole) {
  EntryMetadata m;
  m.playlist_gen_id = 12;
  m.broadcast_id = 0;
  m.features = "seekable";
  asf::ContentTags tags;
  tags.title = "A title, with a comma";
  tags.author = "Somebody";
  m.descriptions.push_back(describe_entry(tags, 4321));
  const std::vector<std::uint8_t> raw = encode_wmsp_metadata(m);
  Result<EntryMetadata> whole = parse_wmsp_metadata(ByteView(raw));
  ASSERT_TRUE(whole.ok()) << whole.status().what();
  EXPECT_EQ(*whole->find("title"), tags.title);
  EXPECT_EQ(*whole->find("author"), "Somebody");
  EXPECT_EQ(*whole->find("WMS_CONTENT_DESCRIPTION_PLAYLIST_ENTRY_DURATION"), "4321");
  for (std::size_t n = 0; n < raw.size(); ++n) {
    Result<EntryMetadata> r = parse_wmsp_metadata(ByteView(raw.data(), n));
    if (r.ok()) {
      // Only the prefix that ends right after the NUL (no list yet) parses.
      EXPECT_TRUE(r->descriptions.empty()) << n;
      EXPECT_EQ(raw[n - 1], 0u) << n;
    } else {
      EXPECT_EQ(r.status().code(), Code::kMalformed) << n;
    }
  }
  std::vector<std::uint8_t> trailing = raw;
  trailing.push_back('x');
  EXPECT_EQ(parse_wmsp_metadata(ByteView(trailing)).status().code(), Code::kMalformed);
  const std::string nul(1, '\0');
  for (const std::string& bad : {
           std::string("playlist-gen-id=1, broadcast-id=0, features=\"x\""),  // no NUL
           "playlist-gen-id=1, broadcast-id=0" + nul,                         // no features
           "playlist-gen-id=a, broadcast-id=0, features=\"\"" + nul,
           "playlist-gen-id=1, broadcast-id=0, features=\"x" + nul,  // unterminated quote
           "playlist-gen-id" + nul,
       }) {
    const std::vector<std::uint8_t> b = bytes(bad);
    EXPECT_EQ(parse_wmsp_metadata(ByteView(b)).status().code(), Code::kMalformed) << bad;
  }
  const std::vector<std::uint8_t> huge(kMaxMetadataBytes + 1, 'a');
  EXPECT_EQ(parse_wmsp_metadata(ByteView(huge)).status().code(), Code::kLimitExceeded);
}

}  // namespace
}  // namespace mms::session

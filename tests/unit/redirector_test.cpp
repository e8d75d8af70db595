// Redirector files: ASX playlists, [Reference] files and the MMSH describe
// answer, as Windows Media web pages and servers hand them out.
#include "protocol/mmsh/redirector.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/server_session_rig.h"

namespace mms::mmsh {
namespace {

ByteView bytes(const std::string& s) {
  return ByteView(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

constexpr const char* kBase = "http://radio.example/pages/listen.asx";

std::vector<std::string> locations_of(const std::string& body, const std::string& base = kBase) {
  Result<Redirector> r = parse_redirector(bytes(body), base);
  EXPECT_TRUE(r.ok()) << r.status().what();
  return r.ok() ? r->locations() : std::vector<std::string>();
}

TEST(Redirector, AsxEntriesAlternativesTitlesAndLooseSyntax) {
  const std::string asx =
      "\xEF\xBB\xBF<?xml version=\"1.0\"?>\r\n<!-- a station -->\r\n"
      "<ASX Version=\"3.0\">\r\n"
      "  <Title>Radio &amp; More</Title>\r\n"
      "  <Entry>\r\n"
      "    <title>Live</title>\r\n"
      "    <Ref href=\"mms://wm.example/live?a=1&b=2\" />\r\n"
      "    <REF HREF='mmsh://wm.example/live'/>\r\n"
      "  </Entry>\r\n"
      "  <entry><ref href=mms://wm.example/jingle.wma/></entry>\r\n"
      "  <ENTRYREF HREF=\"more.asx\" />\r\n"
      "</ASX>\r\n";
  EXPECT_EQ(sniff_redirector(bytes(asx)), RedirectorFormat::kAsx);
  Result<Redirector> r = parse_redirector(bytes(asx), kBase);
  ASSERT_TRUE(r.ok()) << r.status().what();
  EXPECT_EQ(r->format, RedirectorFormat::kAsx);
  EXPECT_EQ(r->title, "Radio & More");
  ASSERT_EQ(r->entries.size(), 3u);
  EXPECT_EQ(r->entries[0].title, "Live");
  EXPECT_EQ(r->entries[0].refs,
            (std::vector<std::string>{"mms://wm.example/live?a=1&b=2", "mmsh://wm.example/live"}));
  EXPECT_EQ(r->entries[1].refs, (std::vector<std::string>{"mms://wm.example/jingle.wma"}));
  EXPECT_EQ(r->entries[2].refs, (std::vector<std::string>{"http://radio.example/pages/more.asx"}));
  EXPECT_EQ(r->locations(), (std::vector<std::string>{"mms://wm.example/live?a=1&b=2",
                                                      "mms://wm.example/jingle.wma",
                                                      "http://radio.example/pages/more.asx"}));
}

TEST(Redirector, RelativeRefsResolveAgainstTheBase) {
  const std::string asx =
      "<asx><entry><ref href=\"/root.wmv\"/></entry><entry><ref href=\"clip.wmv?x=1\"/></entry>"
      "<entry><ref href=\"//other.example/a.asf\"/></entry></asx>";
  EXPECT_EQ(locations_of(asx, "http://h.example:8080/dir/sub/p.asx?q=1"),
            (std::vector<std::string>{"http://h.example:8080/root.wmv",
                                      "http://h.example:8080/dir/sub/clip.wmv?x=1",
                                      "http://other.example/a.asf"}));
  EXPECT_EQ(locations_of(asx, "http://h.example"),
            (std::vector<std::string>{"http://h.example/root.wmv", "http://h.example/clip.wmv?x=1",
                                      "http://other.example/a.asf"}));
}

TEST(Redirector, UnsafeOrForeignSchemesAreDropped) {
  const std::string asx =
      "<ASX><ENTRY><REF HREF=\"file:///etc/passwd\"/><REF HREF=\"javascript:alert(1)\"/>"
      "<REF HREF=\"MMS://ok.example/a\"/></ENTRY></ASX>";
  EXPECT_EQ(locations_of(asx), (std::vector<std::string>{"mms://ok.example/a"}));
  Result<Redirector> none =
      parse_redirector(bytes("<asx><entry><ref href=\"file:///x\"/></entry></asx>"), kBase);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Code::kMalformed);
  Result<Redirector> empty =
      parse_redirector(bytes("<asx version=3><title>x</title></asx>"), kBase);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), Code::kMalformed);
}

TEST(Redirector, ReferenceFilesTurnHttpIntoMmsh) {
  const std::string ref =
      "[Reference]\r\nRef1=http://wm.example/clip.wmv?MSWMExt=.asf\r\nRef2=mms://wm.example/"
      "clip.wmv\r\n";
  EXPECT_EQ(sniff_redirector(bytes(ref)), RedirectorFormat::kReference);
  Result<Redirector> r = parse_redirector(bytes(ref), kBase);
  ASSERT_TRUE(r.ok()) << r.status().what();
  ASSERT_EQ(r->entries.size(), 1u);
  EXPECT_EQ(r->entries[0].refs, (std::vector<std::string>{"mmsh://wm.example/clip.wmv?MSWMExt=.asf",
                                                          "mms://wm.example/clip.wmv"}));
  // Order by N, other sections ignored, bad lines skipped.
  Result<Redirector> ordered = parse_redirector(
      bytes("[reference]\nRef2=mms://b/\nRefX=mms://c/\nRef1=mms://a/\n[Other]\nRef3=mms://no/\n"),
      kBase);
  ASSERT_TRUE(ordered.ok()) << ordered.status().what();
  ASSERT_EQ(ordered->entries.size(), 1u);
  EXPECT_EQ(ordered->entries[0].refs, (std::vector<std::string>{"mms://a/", "mms://b/"}));
  EXPECT_FALSE(parse_redirector(bytes("[Reference]\nnothing here\n"), kBase).ok());
}

TEST(Redirector, DescribeAnswerRedirectsToTheSameUrlOverMmsh) {
  // A describe answer as mms-server sends it: $H framing around the ASF header.
  const std::vector<std::uint8_t> asf = test::tiny_asf(2);
  std::vector<std::uint8_t> body = {'$', 'H', 0, 0, 0, 0, 0, 0, 0, 0x0c, 0, 0};
  const std::size_t header_len = asf[16] | std::size_t{asf[17]} << 8;  // small file: < 64 KiB
  body[2] = static_cast<std::uint8_t>((header_len + 8) & 0xff);
  body[3] = static_cast<std::uint8_t>((header_len + 8) >> 8);
  body.insert(body.end(), asf.begin(), asf.begin() + static_cast<std::ptrdiff_t>(header_len));
  EXPECT_EQ(sniff_redirector(ByteView(body)), RedirectorFormat::kDescribe);
  Result<Redirector> r = parse_redirector(ByteView(body), "http://wms.example:8080/clip.wmv?x=1");
  ASSERT_TRUE(r.ok()) << r.status().what();
  EXPECT_EQ(r->locations(), (std::vector<std::string>{"mmsh://wms.example:8080/clip.wmv?x=1"}));
  EXPECT_FALSE(parse_redirector(ByteView(body), "").ok());
  // An ASF file is not a describe answer (no $H framing).
  EXPECT_EQ(sniff_redirector(ByteView(asf)), RedirectorFormat::kUnknown);
}

TEST(Redirector, NotARedirectorAndBounds) {
  EXPECT_EQ(sniff_redirector(bytes("<html><body>")), RedirectorFormat::kUnknown);
  EXPECT_EQ(sniff_redirector(bytes("<asxfoo>")), RedirectorFormat::kUnknown);
  EXPECT_EQ(sniff_redirector(bytes("")), RedirectorFormat::kUnknown);
  EXPECT_EQ(parse_redirector(bytes("hello"), kBase).status().code(), Code::kUnsupported);
  std::string big = "<asx>";
  big.append(kMaxRedirectorBytes, ' ');
  EXPECT_EQ(parse_redirector(bytes(big), kBase).status().code(), Code::kLimitExceeded);
  std::string many = "<asx>";
  for (std::size_t i = 0; i <= kMaxRedirectorEntries; ++i) {
    many += "<entry><ref href=\"mms://h/" + std::to_string(i) + "\"/></entry>";
  }
  many += "</asx>";
  EXPECT_EQ(parse_redirector(bytes(many), kBase).status().code(), Code::kLimitExceeded);
  std::string long_url = "<asx><entry><ref href=\"mms://h/" + std::string(kMaxRedirectorUrl, 'a') +
                         "\"/><ref href=\"mms://h/short\"/></entry></asx>";
  EXPECT_EQ(locations_of(long_url), (std::vector<std::string>{"mms://h/short"}));
}

// Whole, every prefix (a truncated download) and with trailing bytes: no
// crash, and a prefix never yields a ref the whole file does not have.
TEST(Redirector, PrefixesAndTrailingBytes) {
  const std::string asx =
      "<ASX version=\"3\"><ENTRY><REF HREF=\"mms://a.example/one\"/></ENTRY>"
      "<ENTRY><REF HREF=\"mms://a.example/two\"/></ENTRY></ASX>";
  const std::vector<std::string> whole = locations_of(asx);
  ASSERT_EQ(whole.size(), 2u);
  for (std::size_t n = 0; n <= asx.size(); ++n) {
    Result<Redirector> r = parse_redirector(bytes(asx.substr(0, n)), kBase);
    if (r.ok()) {
      for (const std::string& l : r->locations()) {
        EXPECT_TRUE(l == whole[0] || l == whole[1]) << "prefix " << n << " gave " << l;
      }
    }
  }
  EXPECT_EQ(locations_of(asx + std::string("\r\n\0garbage<ENTRY", 16)), whole);
}

}  // namespace
}  // namespace mms::mmsh

// server::classify: the protocol of a one-port connection from its first
// bytes. Each protocol whole and byte by byte (kNeedMore until the decisive
// byte, the same answer from then on), with data after the decisive bytes,
// junk, an over-long first line, and the spellings the rules accept or not.
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/server/demux.h"

namespace mms::server {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes text(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

Bytes mms_header() {
  // An MMS TCP message header: bytes 4-7 are the session id signature CE FA 0B B0.
  return Bytes{0x01, 0x00, 0x00, 0x00, 0xCE, 0xFA, 0x0B, 0xB0, 0x20, 0x00, 0x00, 0x00};
}

FirstBytes classify_bytes(const Bytes& b) {
  return classify(ByteView(b));
}

FirstBytes classify_prefix(const Bytes& b, std::size_t n) {
  return classify(ByteView(b).subview(0, n));
}

struct Case {
  const char* name;
  Bytes first;
  FirstBytes kind;
  std::size_t decisive;  // bytes needed for the decision
};

std::vector<Case> recognised() {
  const std::string options = "OPTIONS rtsp://127.0.0.1/a.wmv RTSP/1.0\r\n";
  const std::string get = "GET /a.wmv HTTP/1.0\r\n";
  const std::string describe = "DESCRIBE rtsp://h/x RTSP/1.0\n";
  const std::string after_empty = "\r\n\r\nGET /a.wmv HTTP/1.1\r\n";
  return {
      {"mms", mms_header(), FirstBytes::kMms, 8},
      {"rtsp request", text(options + "CSeq: 1\r\n\r\n"), FirstBytes::kRtsp, options.size()},
      {"rtsp interleaved", Bytes{'$', 0, 0, 4, 1, 2, 3, 4}, FirstBytes::kRtsp, 1},
      {"http", text(get + "Accept: */*\r\n\r\n"), FirstBytes::kMmsh, get.size()},
      {"http after empty lines", text(after_empty + "\r\n"), FirstBytes::kMmsh, after_empty.size()},
      {"bare newline", text(describe + "CSeq: 2\n\n"), FirstBytes::kRtsp, describe.size()},
  };
}

TEST(ServerDemux, WholeFirstBytes) {
  for (const Case& c : recognised()) {
    EXPECT_EQ(classify_bytes(c.first), c.kind) << c.name;
  }
}

TEST(ServerDemux, ByteByByteNeedMoreUntilDecisive) {
  for (const Case& c : recognised()) {
    for (std::size_t n = 0; n <= c.first.size(); ++n) {
      const FirstBytes want = n < c.decisive ? FirstBytes::kNeedMore : c.kind;
      EXPECT_EQ(classify_prefix(c.first, n), want) << c.name << " after " << n << " bytes";
    }
  }
}

TEST(ServerDemux, TrailingDataAfterTheDecisiveBytes) {
  const Bytes more = text("trailing bytes of the next request\r\nGET / HTTP/1.0\r\n");
  const Bytes junk = {0x00, 0xFF, '\n', 0xCE, 0xFA, 0x0B, 0xB0};
  for (const Case& c : recognised()) {
    for (const Bytes& tail : {more, junk, mms_header()}) {
      Bytes prefix(c.first.begin(), c.first.begin() + static_cast<std::ptrdiff_t>(c.decisive));
      prefix.insert(prefix.end(), tail.begin(), tail.end());
      EXPECT_EQ(classify_bytes(prefix), c.kind) << c.name;
    }
  }
}

TEST(ServerDemux, Junk) {
  const std::vector<Bytes> junk = {
      text("HELLO world\r\n"),   // no version
      text("GET / SPDY/3\r\n"),  // another protocol
      Bytes{0, 1, 2, '\n'},      // decided at its line feed, before any MMS signature could come
      text("\n\x01\x02\n"),      // binary after an empty line
      text("GET /a.wmv\r\n"),    // HTTP/0.9
      text("HTTP/1.0\r\n"),      // no space before the version
      text("GET / HTTP/1.0\r\r\n"),  // CR CR LF: one CR is removed
  };
  for (const Bytes& j : junk) {
    EXPECT_EQ(classify_bytes(j), FirstBytes::kUnknown);
    EXPECT_EQ(classify_prefix(j, j.size() - 1), FirstBytes::kNeedMore);
  }
  // No line end yet, no MMS signature: undecided.
  EXPECT_EQ(classify_bytes(text("GET /a.wmv HTTP/1.0")), FirstBytes::kNeedMore);
  EXPECT_EQ(classify_bytes(Bytes{0x01, 0x00, 0x00, 0x00, 0xCE, 0xFA, 0x0B, 0x00}),
            FirstBytes::kNeedMore);
  EXPECT_EQ(classify_bytes(text("\r\n\r\n\r\n")), FirstBytes::kNeedMore);
  EXPECT_EQ(classify_bytes(Bytes{}), FirstBytes::kNeedMore);
}

TEST(ServerDemux, MmsSignatureOnly) {
  // Only bytes 4-7 count; a '$' first byte or a line feed before them wins.
  EXPECT_EQ(classify_bytes(Bytes{0xFF, 0xFF, 0xFF, 0xFF, 0xCE, 0xFA, 0x0B, 0xB0}),
            FirstBytes::kMms);
  EXPECT_EQ(classify_bytes(Bytes{'$', 0x00, 0x00, 0x00, 0xCE, 0xFA, 0x0B, 0xB0}),
            FirstBytes::kRtsp);
  EXPECT_EQ(classify_bytes(Bytes{'X', '\n', 0x00, 0x00, 0xCE, 0xFA, 0x0B, 0xB0}),
            FirstBytes::kUnknown);
  EXPECT_EQ(classify_bytes(Bytes{'\r', '\n', 0x00, 0x00, 0xCE, 0xFA, 0x0B, 0xB0}),
            FirstBytes::kNeedMore);  // an empty line, then no line end yet
  // Decided at byte 2 already: what follows cannot make it MMS.
  EXPECT_EQ(classify_prefix(Bytes{'X', '\n'}, 2), FirstBytes::kUnknown);
}

TEST(ServerDemux, OverLongFirstLine) {
  Bytes blob(kMaxSniffBytes - 1, 'A');
  EXPECT_EQ(classify_bytes(blob), FirstBytes::kNeedMore);
  blob.push_back('A');
  EXPECT_EQ(classify_bytes(blob), FirstBytes::kUnknown);
  blob.push_back('\n');
  EXPECT_EQ(classify_bytes(blob), FirstBytes::kUnknown);
  // Empty lines count towards the bound.
  Bytes crlf;
  while (crlf.size() < kMaxSniffBytes) {
    crlf.push_back('\r');
    crlf.push_back('\n');
  }
  EXPECT_EQ(classify_prefix(crlf, kMaxSniffBytes - 1), FirstBytes::kNeedMore);
  EXPECT_EQ(classify_bytes(crlf), FirstBytes::kUnknown);
  // A request line that ends at the last byte looked at is read; one that ends
  // after it is not, even when it arrives in one piece.
  const std::string tail = " HTTP/1.0\r\n";
  std::string fits = "GET /" + std::string(kMaxSniffBytes - 5 - tail.size(), 'a') + tail;
  ASSERT_EQ(fits.size(), kMaxSniffBytes);
  EXPECT_EQ(classify_prefix(text(fits), kMaxSniffBytes - 1), FirstBytes::kNeedMore);
  EXPECT_EQ(classify_bytes(text(fits)), FirstBytes::kMmsh);
  const std::string too_long = "GET /" + std::string(kMaxSniffBytes, 'a') + tail;
  EXPECT_EQ(classify_bytes(text(too_long)), FirstBytes::kUnknown);
}

TEST(ServerDemux, VersionSpellings) {
  struct Spelling {
    const char* line;
    FirstBytes kind;
  };
  const Spelling spellings[] = {
      {"GET / HTTP/1.1", FirstBytes::kMmsh},
      {"GET / HTTP/1.9", FirstBytes::kMmsh},
      {"POST /x HTTP/1.0", FirstBytes::kMmsh},
      {"BREW /pot HTTP/1.0", FirstBytes::kMmsh},  // the method is not looked at
      {" HTTP/1.0", FirstBytes::kMmsh},           // nor is there one needed
      {"GET rtsp://h/a HTTP/1.0", FirstBytes::kMmsh},
      {"PLAY rtsp://h/a RTSP/1.0", FirstBytes::kRtsp},
      {"SETUP rtsp://h/a/stream=1 RTSP/1.1", FirstBytes::kRtsp},
      {"GET / http/1.0", FirstBytes::kUnknown},  // lowercase
      {"PLAY rtsp://h/a rtsp/1.0", FirstBytes::kUnknown},
      {"GET / Http/1.1", FirstBytes::kUnknown},
      {"GET / HTTP/2.0", FirstBytes::kUnknown},
      {"GET / HTTP/0.9", FirstBytes::kUnknown},
      {"GET / HTTP/1.x", FirstBytes::kUnknown},
      {"GET / HTTP/1.10", FirstBytes::kUnknown},
      {"GET / HTTP/1.", FirstBytes::kUnknown},
      {"GET / HTTP/1.0 ", FirstBytes::kUnknown},  // trailing space
      {"GET /\tHTTP/1.0", FirstBytes::kUnknown},
      {"GET /HTTP/1.0", FirstBytes::kUnknown},
      {"GET / RTSP/1.0 HTTP", FirstBytes::kUnknown},
      {"", FirstBytes::kNeedMore},  // an empty line is skipped
  };
  for (const Spelling& s : spellings) {
    for (const char* eol : {"\r\n", "\n"}) {
      const Bytes b = text(std::string(s.line) + eol);
      EXPECT_EQ(classify_bytes(b), s.kind) << '"' << s.line << '"';
    }
  }
}

TEST(ServerDemux, Names) {
  EXPECT_STREQ(to_string(FirstBytes::kNeedMore), "need-more");
  EXPECT_STREQ(to_string(FirstBytes::kMmsh), "mmsh");
  EXPECT_STREQ(to_string(FirstBytes::kMms), "mms");
  EXPECT_STREQ(to_string(FirstBytes::kRtsp), "rtsp");
  EXPECT_STREQ(to_string(FirstBytes::kUnknown), "unknown");
}

}  // namespace
}  // namespace mms::server

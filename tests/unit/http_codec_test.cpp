// MMSH HTTP codec: heads of real peers (captures in tests, see docs/peers.md §4),
// split feeding, limits, Pragma tokens, stream switch entries, base64.
#include "protocol/mmsh/http_codec.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/core/limits.h"
#include "protocol/core/text.h"

namespace mms::mmsh {
namespace {

// FFmpeg 5.1 play request (mmsh-client-requests.pcap): the last Pragma line has
// its CRLF missing, so "Connection: Close" is glued to stream-time=0.
constexpr char kFfmpegPlay[] =
    "GET / HTTP/1.1\r\n"
    "Range: bytes=0-\r\n"
    "Connection: close\r\n"
    "Icy-MetaData: 1\r\n"
    "Accept: */*\r\n"
    "User-Agent: NSPlayer/4.1.0.3856\r\n"
    "Host: 127.0.0.1:8080\r\n"
    "Pragma: no-cache,rate=1.000000,request-context=2\r\n"
    "Pragma: xPlayStrm=1\r\n"
    "Pragma: xClientGUID={c77e7400-738a-11d2-9add-0020af0a3278}\r\n"
    "Pragma: stream-switch-count=2\r\n"
    "Pragma: stream-switch-entry=ffff:1:0 ffff:2:0 \r\n"
    "Pragma: no-cache,rate=1.000000,stream-time=0Connection: Close\r\n"
    "\r\n";

// libmms 0.6.4 play request (same capture).
constexpr char kLibmmsPlay[] =
    "GET / HTTP/1.0\r\n"
    "Accept: */*\r\n"
    "User-Agent: NSPlayer/4.1.0.3856\r\n"
    "Host: 127.0.0.1:8080\r\n"
    "Pragma: no-cache,rate=1.000000,request-context=2\r\n"
    "Pragma: xPlayStrm=1\r\n"
    "Pragma: xClientGUID={c77e7400-738a-11d2-9add-0020af0a3278}\r\n"
    "Pragma: stream-switch-count=2\r\n"
    "Pragma: stream-switch-entry=ffff:1:0 ffff:2:0 \r\n"
    "Connection: Close\r\n"
    "\r\n";

// The fourth client of the capture: positions on, entry before count.
constexpr char kOtherPlay[] =
    "GET / HTTP/1.0\r\n"
    "Accept: */*\r\n"
    "User-Agent: NSPlayer/4.1.0.3856\r\n"
    "Host: 127.0.0.1:8080\r\n"
    "Pragma: xClientGUID={c77e7400-738a-11d2-9add-0020af0a3278}\r\n"
    "Pragma: no-cache,rate=1.000000,stream-time=0,stream-offset=0:0,request-context=2,"
    "max-duration=0\r\n"
    "Pragma: xPlayStrm=1\r\n"
    "Pragma: stream-switch-entry=ffff:1:0 ffff:2:0 \r\n"
    "Pragma: stream-switch-count=2\r\n"
    "Connection: Close\r\n"
    "\r\n";

// VLC 3.0.24 play request: malformed GUID, HTTP/1.0.
constexpr char kVlcPlay[] =
    "GET / HTTP/1.0\r\n"
    "Host: 127.0.0.1:8080\r\n"
    "Accept: */*\r\n"
    "User-Agent: NSPlayer/7.10.0.3059\r\n"
    "Pragma: no-cache,rate=1.000000,request-context=2\r\n"
    "Pragma: xPlayStrm=1\r\n"
    "Pragma: xClientGUID={0xbabac001-0xb05b-0x60ab-0x68e668abc64586db}\r\n"
    "Pragma: stream-switch-count=2\r\n"
    "Pragma: stream-switch-entry=ffff:1:0 ffff:2:0 \r\n"
    "Connection: Close\r\n"
    "\r\n";

// docs/protocols/wmsp-reference.md §14.1 describe request (spec form, VLC's User-Agent).
constexpr char kSpecDescribe[] =
    "GET /vod/sample.wmv HTTP/1.0\r\n"
    "Accept: */*\r\n"
    "User-Agent: NSPlayer/7.10.0.3059\r\n"
    "Host: media.example.net:8080\r\n"
    "Pragma: no-cache,rate=1.000,stream-time=0,stream-offset=0:0,request-context=1,"
    "max-duration=0\r\n"
    "Pragma: xClientGUID={3A5F1C2E-9B47-4D10-8E2A-61C0F3B7D945}\r\n"
    "X-Accept-Authentication: Digest, Basic\r\n"
    "Connection: Close\r\n"
    "\r\n";

// VLC's MMSH server (vlc-mmsh-session.pcap): "Cougar 4.1.0.3921" with a space.
constexpr char kVlcResponse[] =
    "HTTP/1.0 200 OK\r\n"
    "Content-type: application/octet-stream\r\n"
    "Server: Cougar 4.1.0.3921\r\n"
    "Pragma: no-cache\r\n"
    "Pragma: client-id=3098\r\n"
    "Pragma: features=\"broadcast\"\r\n"
    "Cache-Control: no-cache\r\n"
    "Connection: close\r\n"
    "\r\n";

// A WMS 9 play response with many Pragma tokens (docs/protocols/wmsp-reference.md §3.3, §14.1).
constexpr char kCougar9Response[] =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: application/x-mms-framed\r\n"
    "Server: Cougar/9.01.01.3814\r\n"
    "Date: Tue, 02 Jan 2024 10:00:00 GMT\r\n"
    "Pragma: no-cache, client-id=3417892733, features=\"seekable,stridable\", timeout=60000\r\n"
    "Pragma: playlist-gen-id=7, AccelBW=3500000, AccelDuration=18000, Speed=5.000\r\n"
    "Pragma: expect-new-header=0, xResetStrm=1\r\n"
    "Cache-Control: no-cache, x-wms-content-size=420155, max-age=86399, must-revalidate, "
    "proxy-revalidate\r\n"
    "Supported: com.microsoft.wm.srvppair, com.microsoft.wm.sswitch, "
    "com.microsoft.wm.predstrm, com.microsoft.wm.startupprofile\r\n"
    "Last-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
    "Connection: Keep-Alive\r\n"
    "\r\n";

constexpr char kUnauthorized[] =
    "HTTP/1.0 401 Unauthorized\r\n"
    "Server: Cougar/9.01.01.3814\r\n"
    "Content-Length: 0\r\n"
    "WWW-Authenticate: Digest realm=\"WMServer\", nonce=\"abc\", qop=\"auth\"\r\n"
    "WWW-Authenticate: Basic realm=\"WMServer\"\r\n"
    "Pragma: no-cache, client-id=1\r\n"
    "Cache-Control: no-cache\r\n"
    "\r\n";

constexpr char kRedirect[] =
    "HTTP/1.0 302 Found\r\n"
    "Location: http://mirror.example.net/vod/sample.wmv\r\n"
    "Server: Cougar/9.01.01.3814\r\n"
    "Cache-Control: no-cache\r\n"
    "\r\n";

// Parses the head whole, byte by byte (NeedMore until the last byte) and with
// body bytes after it; all three must agree.
HttpRequest parse_request_all_ways(const std::string& head) {
  HttpRequest whole;
  std::size_t consumed = 0;
  Status err;
  EXPECT_EQ(parse_request_head(ByteView::of(head), &whole, &consumed, &err), Decode::kDone)
      << err.what();
  EXPECT_EQ(consumed, head.size());
  for (std::size_t n = 0; n < head.size(); ++n) {
    HttpRequest r;
    std::size_t c = 0;
    Status e;
    EXPECT_EQ(parse_request_head(ByteView::of(head).subview(0, n), &r, &c, &e), Decode::kNeedMore)
        << "prefix " << n << ": " << e.what();
  }
  std::string with_body = head + "\x24\x48\x0c\x00 POST / HTTP/1.0\r\n\r\n";
  HttpRequest trailing;
  std::size_t c2 = 0;
  EXPECT_EQ(parse_request_head(ByteView::of(with_body), &trailing, &c2, &err), Decode::kDone);
  EXPECT_EQ(c2, head.size());
  EXPECT_EQ(write_request(trailing), write_request(whole));
  return whole;
}

HttpResponse parse_response_all_ways(const std::string& head) {
  HttpResponse whole;
  std::size_t consumed = 0;
  Status err;
  EXPECT_EQ(parse_response_head(ByteView::of(head), &whole, &consumed, &err), Decode::kDone)
      << err.what();
  EXPECT_EQ(consumed, head.size());
  for (std::size_t n = 0; n < head.size(); ++n) {
    HttpResponse r;
    std::size_t c = 0;
    Status e;
    EXPECT_EQ(parse_response_head(ByteView::of(head).subview(0, n), &r, &c, &e), Decode::kNeedMore)
        << "prefix " << n << ": " << e.what();
  }
  std::string with_body = head + std::string("\x24\x48\x17\x03\r\n\r\n", 8);
  HttpResponse trailing;
  std::size_t c2 = 0;
  EXPECT_EQ(parse_response_head(ByteView::of(with_body), &trailing, &c2, &err), Decode::kDone);
  EXPECT_EQ(c2, head.size());
  EXPECT_EQ(write_response(trailing), write_response(whole));
  return whole;
}

std::string tokens_text(const std::vector<PragmaToken>& t) {
  std::string s;
  for (const PragmaToken& p : t) {
    s += "[" + p.name;
    if (!p.value.empty()) {
      s += "=" + p.value;
    }
    s += "]";
  }
  return s;
}

TEST(HttpRequestHead, FfmpegPlayWithGluedConnectionLine) {
  HttpRequest r = parse_request_all_ways(kFfmpegPlay);
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target, "/");
  EXPECT_EQ(r.version_minor, 1);
  ASSERT_EQ(r.headers.list.size(), 12u);  // the glued line is one header
  EXPECT_EQ(r.headers.list.back().value, "no-cache,rate=1.000000,stream-time=0Connection: Close");
  EXPECT_EQ(*r.headers.find("connection"), "close");
  std::vector<PragmaToken> t = parse_pragmas(r.headers);
  EXPECT_EQ(tokens_text(t),
            "[no-cache][rate=1.000000][request-context=2][xplaystrm=1]"
            "[xclientguid={c77e7400-738a-11d2-9add-0020af0a3278}][stream-switch-count=2]"
            "[stream-switch-entry=ffff:1:0 ffff:2:0][no-cache][rate=1.000000][stream-time=0]");
  const std::string* st = find_pragma(t, "stream-time");
  ASSERT_NE(st, nullptr);
  std::uint32_t ms = 1;
  EXPECT_TRUE(parse_u32(*st, &ms));
  EXPECT_EQ(ms, 0u);
}

TEST(HttpRequestHead, LibmmsPlay) {
  HttpRequest r = parse_request_all_ways(kLibmmsPlay);
  EXPECT_EQ(r.version_minor, 0);
  EXPECT_EQ(*r.headers.find("User-Agent"), "NSPlayer/4.1.0.3856");
  std::vector<PragmaToken> t = parse_pragmas(r.headers);
  ASSERT_NE(find_pragma(t, "xplaystrm"), nullptr);
  const std::string* entry = find_pragma(t, "stream-switch-entry");
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(*entry, "ffff:1:0 ffff:2:0");  // trailing space trimmed, inner kept
  Result<std::vector<StreamSwitchEntry>> e = parse_stream_switch(*entry);
  ASSERT_TRUE(e.ok());
  ASSERT_EQ(e->size(), 2u);
  EXPECT_EQ((*e)[1].stream, 2);
  EXPECT_EQ(find_pragma(t, "client-id"), nullptr);
}

TEST(HttpRequestHead, OtherClientPlayWithPositions) {
  HttpRequest r = parse_request_all_ways(kOtherPlay);
  std::vector<PragmaToken> t = parse_pragmas(r.headers);
  EXPECT_EQ(*find_pragma(t, "stream-offset"), "0:0");
  EXPECT_EQ(*find_pragma(t, "max-duration"), "0");
  EXPECT_EQ(*find_pragma(t, "stream-switch-count"), "2");
}

TEST(HttpRequestHead, VlcPlayWithMalformedGuid) {
  HttpRequest r = parse_request_all_ways(kVlcPlay);
  std::vector<PragmaToken> t = parse_pragmas(r.headers);
  EXPECT_EQ(*find_pragma(t, "xClientGUID"), "{0xbabac001-0xb05b-0x60ab-0x68e668abc64586db}");
  EXPECT_EQ(*r.headers.find("host"), "127.0.0.1:8080");
}

TEST(HttpRequestHead, SpecDescribe) {
  HttpRequest r = parse_request_all_ways(kSpecDescribe);
  EXPECT_EQ(r.target, "/vod/sample.wmv");
  std::vector<PragmaToken> t = parse_pragmas(r.headers);
  EXPECT_EQ(*find_pragma(t, "rate"), "1.000");
  EXPECT_EQ(*find_pragma(t, "request-context"), "1");
  EXPECT_EQ(*r.headers.find("x-accept-authentication"), "Digest, Basic");
}

TEST(HttpRequestHead, ProxyFormTargetAndBareLf) {
  HttpRequest r = parse_request_all_ways("GET http://host:8080/path HTTP/1.0\nHost: host:8080\n\n");
  EXPECT_EQ(r.target, "http://host:8080/path");
  ASSERT_EQ(r.headers.list.size(), 1u);
}

TEST(HttpRequestHead, RejectsBadRequestLines) {
  for (const char* bad :
       {"GET /\r\n\r\n", "GET / HTTP/2.0\r\n\r\n", "GET  / HTTP/1.0\r\n\r\n",
        "G(T / HTTP/1.0\r\n\r\n", "GET / HTTP/1.0\r\nNo colon here\r\n\r\n",
        "GET / HTTP/1.0\r\nBad Name: x\r\n\r\n", "GET / HTTP/1.0\r\nA: b\r\n folded\r\n\r\n"}) {
    HttpRequest r;
    std::size_t c = 0;
    Status err;
    EXPECT_EQ(parse_request_head(ByteView::of(bad), &r, &c, &err), Decode::kError) << bad;
    EXPECT_EQ(err.code(), Code::kMalformed) << bad;
  }
}

TEST(HttpResponseHead, VlcServerWithCougarSpace) {
  HttpResponse r = parse_response_all_ways(kVlcResponse);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.reason, "OK");
  EXPECT_EQ(*r.headers.find("server"), "Cougar 4.1.0.3921");
  EXPECT_EQ(*r.headers.find("content-type"), "application/octet-stream");
  EXPECT_EQ(r.headers.all("Pragma").size(), 3u);
  std::vector<PragmaToken> t = parse_pragmas(r.headers);
  EXPECT_EQ(tokens_text(t), "[no-cache][client-id=3098][features=broadcast]");
  std::uint32_t id = 0;
  EXPECT_TRUE(parse_u32(*find_pragma(t, "client-id"), &id));
  EXPECT_EQ(id, 3098u);
}

TEST(HttpResponseHead, Cougar9WithManyPragmas) {
  HttpResponse r = parse_response_all_ways(kCougar9Response);
  EXPECT_EQ(r.version_minor, 1);
  std::vector<PragmaToken> t = parse_pragmas(r.headers);
  EXPECT_EQ(tokens_text(t),
            "[no-cache][client-id=3417892733][features=seekable,stridable][timeout=60000]"
            "[playlist-gen-id=7][accelbw=3500000][accelduration=18000]"
            "[speed=5.000][expect-new-header=0][xresetstrm=1]");
  std::uint32_t id = 0;
  EXPECT_TRUE(parse_u32(*find_pragma(t, "client-id"), &id));
  EXPECT_EQ(id, 3417892733u);
  EXPECT_EQ(*find_pragma(t, "features"), "seekable,stridable");
  EXPECT_NE(r.headers.find("supported")->find("com.microsoft.wm.sswitch"), std::string::npos);
}

TEST(HttpResponseHead, UnauthorizedWithTwoChallenges) {
  HttpResponse r = parse_response_all_ways(kUnauthorized);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.reason, "Unauthorized");
  std::vector<std::string_view> ch = r.headers.all("www-authenticate");
  ASSERT_EQ(ch.size(), 2u);
  EXPECT_EQ(ch[1], "Basic realm=\"WMServer\"");
}

TEST(HttpResponseHead, RedirectWithLocation) {
  HttpResponse r = parse_response_all_ways(kRedirect);
  EXPECT_EQ(r.status, 302);
  EXPECT_EQ(*r.headers.find("LOCATION"), "http://mirror.example.net/vod/sample.wmv");
}

TEST(HttpResponseHead, EmptyReasonAndLeadingBlankLine) {
  HttpResponse a = parse_response_all_ways("HTTP/1.0 204\r\n\r\n");
  EXPECT_EQ(a.status, 204);
  EXPECT_EQ(a.reason, "");
  HttpResponse b = parse_response_all_ways("\r\nHTTP/1.1 200 \r\nServer: Rex/9.0.2980\r\n\r\n");
  EXPECT_EQ(b.reason, "");
  EXPECT_EQ(*b.headers.find("server"), "Rex/9.0.2980");
}

TEST(HttpResponseHead, RejectsBadStatusLines) {
  for (const char* bad :
       {"HTTP 1.1 200 OK\r\n\r\n", "HTTP/1.0 20 OK\r\n\r\n", "HTTP/1.0 2000 OK\r\n\r\n",
        "ICY 200 OK\r\n\r\n", "HTTP/1.0 099 x\r\n\r\n", "HTTP/1.0200 OK\r\n\r\n"}) {
    HttpResponse r;
    std::size_t c = 0;
    Status err;
    EXPECT_EQ(parse_response_head(ByteView::of(bad), &r, &c, &err), Decode::kError) << bad;
  }
}

TEST(HttpWriters, RoundTrip) {
  HttpRequest req;
  req.method = "POST";
  req.target = "/vod/sample.wmv";
  req.version_minor = 0;
  req.headers.add("Pragma", "client-id=3417892733");
  req.headers.add("Content-Length", "0");
  const std::string text = write_request(req);
  EXPECT_EQ(text,
            "POST /vod/sample.wmv HTTP/1.0\r\nPragma: client-id=3417892733\r\n"
            "Content-Length: 0\r\n\r\n");
  HttpRequest back = parse_request_all_ways(text);
  EXPECT_EQ(back.method, "POST");
  EXPECT_EQ(back.headers.list.size(), 2u);

  HttpResponse resp;
  resp.version_minor = 0;
  resp.status = 204;
  resp.reason = "No Content";
  resp.headers.add("Server", "Cougar/9.01.01.3814");
  EXPECT_EQ(write_response(resp), "HTTP/1.0 204 No Content\r\nServer: Cougar/9.01.01.3814\r\n\r\n");
  HttpResponse rb = parse_response_all_ways(write_response(resp));
  EXPECT_EQ(rb.status, 204);
  EXPECT_EQ(rb.reason, "No Content");
}

std::string head_with_line(std::size_t line_len) {
  std::string value(line_len - std::string("X-Long: ").size(), 'a');
  return "HTTP/1.0 200 OK\r\nX-Long: " + value + "\r\n\r\n";
}

TEST(HttpLimits, LineLengthAtLimitAndAbove) {
  HttpResponse r;
  std::size_t c = 0;
  Status err;
  const std::string at = head_with_line(limits::kMaxHttpLine);
  EXPECT_EQ(parse_response_head(ByteView::of(at), &r, &c, &err), Decode::kDone) << err.what();
  const std::string above = head_with_line(limits::kMaxHttpLine + 1);
  EXPECT_EQ(parse_response_head(ByteView::of(above), &r, &c, &err), Decode::kError);
  EXPECT_EQ(err.code(), Code::kLimitExceeded);
  // Without its line end, the overlong line is refused as soon as it is too long.
  Status err2;
  const std::string partial = "HTTP/1.0 200 OK\r\nX: " + std::string(limits::kMaxHttpLine, 'b');
  EXPECT_EQ(parse_response_head(ByteView::of(partial), &r, &c, &err2), Decode::kError);
  EXPECT_EQ(err2.code(), Code::kLimitExceeded);
}

std::string head_with_headers(std::size_t n) {
  std::string s = "GET / HTTP/1.0\r\n";
  for (std::size_t i = 0; i < n; ++i) {
    s += "Pragma: no-cache\r\n";
  }
  return s + "\r\n";
}

TEST(HttpLimits, HeaderCountAtLimitAndAbove) {
  HttpRequest r;
  std::size_t c = 0;
  Status err;
  const std::string at = head_with_headers(limits::kMaxHttpHeaders);
  EXPECT_EQ(parse_request_head(ByteView::of(at), &r, &c, &err), Decode::kDone);
  EXPECT_EQ(r.headers.list.size(), limits::kMaxHttpHeaders);
  const std::string above = head_with_headers(limits::kMaxHttpHeaders + 1);
  EXPECT_EQ(parse_request_head(ByteView::of(above), &r, &c, &err), Decode::kError);
  EXPECT_EQ(err.code(), Code::kLimitExceeded);
}

TEST(HttpLimits, HeadSizeWithoutBlankLine) {
  // Lines that each fit, but a head that never ends.
  std::string s = "HTTP/1.0 200 OK\r\n";
  while (s.size() < limits::kMaxHttpHead) {
    s += "X: " + std::string(1000, 'c') + "\r\n";
  }
  HttpResponse r;
  std::size_t c = 0;
  Status err;
  EXPECT_EQ(parse_response_head(ByteView::of(s), &r, &c, &err), Decode::kError);
  EXPECT_EQ(err.code(), Code::kLimitExceeded);
}

TEST(PragmaTokens, QuotesCaseSpacesAndSpellings) {
  HttpHeaders h;
  h.add("PRAGMA", "No-Cache ,  Features=\"seekable,broadcast\" , ,rate=1.000000");
  h.add("pragma", "switch-stream-count=2");
  h.add("Pragma", "switch-stream-entry=ffff:1:0 ffff:2:2  ");
  h.add("Pragma", "log-line=2024-01-02 10:00:00 c-ip, weird");
  h.add("Pragme", "client-id=5");  // PeerCast's misspelling is not a Pragma
  std::vector<PragmaToken> t = parse_pragmas(h);
  EXPECT_EQ(tokens_text(t),
            "[no-cache][features=seekable,broadcast][rate=1.000000][stream-switch-count=2]"
            "[stream-switch-entry=ffff:1:0 ffff:2:2][log-line=2024-01-02 10:00:00 c-ip, weird]");
  EXPECT_EQ(find_pragma(t, "client-id"), nullptr);
  EXPECT_NE(find_pragma(t, "Features"), nullptr);
}

TEST(PragmaTokens, GluedHeaderIsCutButColonValuesStay) {
  HttpHeaders h;
  h.add("Pragma", "stream-offset=4294967295:4294967295,stream-time=60000X-Other: v");
  h.add("Pragma", "version-url=\"http://example.net/a: b\"");
  std::vector<PragmaToken> t = parse_pragmas(h);
  EXPECT_EQ(tokens_text(t),
            "[stream-offset=4294967295:4294967295][stream-time=60000]"
            "[version-url=http://example.net/a: b]");
}

TEST(StreamSwitch, ParsesHexAndFormatsBack) {
  Result<std::vector<StreamSwitchEntry>> e = parse_stream_switch("ffff:1:0 ffff:2:2 FFFF:7f:1");
  ASSERT_TRUE(e.ok());
  ASSERT_EQ(e->size(), 3u);
  EXPECT_EQ((*e)[0].source, 0xffff);
  EXPECT_EQ((*e)[1].thinning, 2);
  EXPECT_EQ((*e)[2].stream, 0x7f);
  EXPECT_EQ(format_stream_switch(*e), "ffff:1:0 ffff:2:2 ffff:7f:1");
  EXPECT_EQ(format_stream_switch({StreamSwitchEntry{0, 0x10, 0}}), "0:10:0");
  Result<std::vector<StreamSwitchEntry>> empty = parse_stream_switch("  ");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(StreamSwitch, RejectsMalformedEntries) {
  for (const char* bad : {"ffff:1", "ffff:1:3", "fffff:1:0", "ffff::0", "ffff:1:0:0", "xx:1:0",
                          "ffff:1:00", "ffff,1,0"}) {
    Result<std::vector<StreamSwitchEntry>> e = parse_stream_switch(bad);
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_EQ(e.status().code(), Code::kMalformed) << bad;
  }
}

TEST(StreamSwitch, EntryCap) {
  std::string at;
  for (std::size_t i = 0; i < limits::kMaxStreamSwitchEntries; ++i) {
    at += "ffff:" + std::to_string(i % 100) + ":0 ";
  }
  Result<std::vector<StreamSwitchEntry>> ok = parse_stream_switch(at);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->size(), limits::kMaxStreamSwitchEntries);
  Result<std::vector<StreamSwitchEntry>> above = parse_stream_switch(at + "ffff:1:0");
  ASSERT_FALSE(above.ok());
  EXPECT_EQ(above.status().code(), Code::kLimitExceeded);
}

}  // namespace
}  // namespace mms::mmsh

// protocol/core/text: ASCII case, parse_u32, base64 (strict and lenient) and
// UTF-16LE to UTF-8.
#include "protocol/core/text.h"

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace mms {
namespace {

using Bytes = std::vector<std::uint8_t>;

// ---- ASCII case ----------------------------------------------------------------

TEST(AsciiLower, FoldsOnlyAsciiLetters) {
  EXPECT_EQ(ascii_lower('A'), 'a');
  EXPECT_EQ(ascii_lower('Z'), 'z');
  EXPECT_EQ(ascii_lower('a'), 'a');
  EXPECT_EQ(ascii_lower('@'), '@');  // 'A' - 1
  EXPECT_EQ(ascii_lower('['), '[');  // 'Z' + 1
  EXPECT_EQ(ascii_lower('\xC4'), '\xC4');
  EXPECT_EQ(ascii_lower("MiXeD-123 \xC4\xD6"), "mixed-123 \xC4\xD6");
  EXPECT_EQ(ascii_lower(""), "");
  EXPECT_EQ(ascii_lower(std::string_view("A\0B", 3)), std::string("a\0b", 3));
}

TEST(Iequals, AsciiCaseInsensitive) {
  EXPECT_TRUE(iequals("Content-Length", "content-LENGTH"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_TRUE(iequals("x-1", "X-1"));
  EXPECT_FALSE(iequals("a", "ab"));
  EXPECT_FALSE(iequals("ab", "a"));
  EXPECT_FALSE(iequals("", "a"));
  EXPECT_FALSE(iequals("abc", "abd"));
  // Bytes 0x20 apart that are not letters stay different.
  EXPECT_FALSE(iequals("@", "`"));
  EXPECT_FALSE(iequals("[", "{"));
  EXPECT_FALSE(iequals("\xC4", "\xE4"));  // Latin-1 'Ä' / 'ä': not ASCII
  EXPECT_TRUE(iequals(std::string_view("A\0", 2), std::string_view("a\0", 2)));
}

TEST(IstartsWith, PrefixCaseInsensitive) {
  EXPECT_TRUE(istarts_with("Basic QWxh", "basic "));
  EXPECT_TRUE(istarts_with("BASIC", "basic"));
  EXPECT_TRUE(istarts_with("abc", ""));
  EXPECT_TRUE(istarts_with("", ""));
  EXPECT_FALSE(istarts_with("Bas", "Basic"));
  EXPECT_FALSE(istarts_with("", "a"));
  EXPECT_FALSE(istarts_with("xbasic", "basic"));
}

// ---- parse_u32 -------------------------------------------------------------------

TEST(ParseU32, RangeAndOverflow) {
  std::uint32_t v = 7;
  EXPECT_TRUE(parse_u32("0", &v));
  EXPECT_EQ(v, 0u);
  EXPECT_TRUE(parse_u32("42", &v));
  EXPECT_EQ(v, 42u);
  EXPECT_TRUE(parse_u32("4294967295", &v));
  EXPECT_EQ(v, 4294967295u);
  EXPECT_TRUE(parse_u32("0000000001", &v));  // 10 digits, leading zeros allowed
  EXPECT_EQ(v, 1u);
  EXPECT_TRUE(parse_u32("0000000000", &v));
  EXPECT_EQ(v, 0u);
  v = 7;
  EXPECT_FALSE(parse_u32("4294967296", &v));   // UINT32_MAX + 1
  EXPECT_FALSE(parse_u32("9999999999", &v));   // 10 digits, too large
  EXPECT_FALSE(parse_u32("00000000001", &v));  // 11 digits, even if small
  EXPECT_FALSE(parse_u32("18446744073709551617", &v));
  EXPECT_EQ(v, 7u);  // untouched on failure
}

TEST(ParseU32, DigitsOnly) {
  std::uint32_t v = 7;
  for (const char* bad : {"", "-1", "+1", "-0", " 1", "1 ", "\t1", "1\r", "12a", "a12", "0x10",
                          "1.0", "1,000", "１"}) {
    EXPECT_FALSE(parse_u32(bad, &v)) << bad;
  }
  EXPECT_FALSE(parse_u32(std::string_view("1\0", 2), &v));
  EXPECT_EQ(v, 7u);
}

// ---- base64 ----------------------------------------------------------------------

const std::pair<const char*, const char*> kRfc4648[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

TEST(Base64, EncodeRfc4648Vectors) {
  for (const auto& [plain, encoded] : kRfc4648) {
    EXPECT_EQ(base64_encode(plain), encoded);
    EXPECT_EQ(base64_encode(ByteView::of(plain)), encoded);
  }
  EXPECT_EQ(base64_encode("Aladdin:open sesame"), "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  EXPECT_EQ(base64_encode(Bytes{0xfb, 0xff, 0xbf}), "+/+/");
  EXPECT_EQ(base64_encode(Bytes{0x00}), "AA==");
  EXPECT_EQ(base64_encode(ByteView()), "");
}

TEST(Base64, StrictDecodesRfc4648Vectors) {
  for (const auto& [plain, encoded] : kRfc4648) {
    std::string s = "old";
    ASSERT_TRUE(base64_decode(encoded, &s)) << encoded;
    EXPECT_EQ(s, plain);
    Bytes b = {1};
    ASSERT_TRUE(base64_decode(encoded, &b)) << encoded;
    EXPECT_EQ(std::string(b.begin(), b.end()), plain);
  }
}

TEST(Base64, RoundTripsEveryLengthAndByte) {
  Bytes all;
  for (int i = 0; i < 256; ++i) {
    all.push_back(static_cast<std::uint8_t>(255 - i));
  }
  for (std::size_t n = 0; n <= all.size(); ++n) {
    const ByteView in = ByteView(all).subview(0, n);
    const std::string enc = base64_encode(in);
    EXPECT_EQ(enc.size(), (n + 2) / 3 * 4);
    Bytes strict;
    Bytes lenient;
    std::string as_string;
    ASSERT_TRUE(base64_decode(enc, &strict)) << enc;
    ASSERT_TRUE(base64_decode(enc, &lenient, Base64Mode::kLenient)) << enc;
    ASSERT_TRUE(base64_decode(enc, &as_string)) << enc;
    EXPECT_EQ(strict, in.to_vector());
    EXPECT_EQ(lenient, strict);
    EXPECT_EQ(as_string, std::string(in.as_string_view()));
  }
}

TEST(Base64, StrictRejectsBadCharactersAndPadding) {
  std::string out = "keep";
  Bytes bytes = {9};
  for (const char* bad : {
           "Zg=",        // length not a multiple of 4
           "Zg",         // padding missing
           "Zm8",        // padding missing
           "Z",          // one character
           "Z===",       // three '='
           "====",       // padding only
           "Zg=A",       // data after '='
           "=Zg=",       // '=' first
           "Zg==Zg==",   // padding before the last quad
           "Zm9v!A==",   // not in the alphabet
           "Zm 9",       // whitespace
           "Zm9v\r\n",   // trailing line break
           "Zg==\n",     // whitespace after the padding
           "-_8=",       // URL-safe alphabet
           "Zm9v Zm9v",  // embedded space
       }) {
    EXPECT_FALSE(base64_decode(bad, &out)) << bad;
    EXPECT_FALSE(base64_decode(bad, &bytes)) << bad;
  }
  EXPECT_FALSE(base64_decode(std::string_view("Zm9\0", 4), &out));  // NUL
  EXPECT_FALSE(base64_decode(std::string_view("Zm9v\0\0\0\0", 8), &out));
  EXPECT_EQ(out, "keep");  // untouched on failure
  EXPECT_EQ(bytes, Bytes{9});
}

TEST(Base64, StrictEmptyIsEmpty) {
  std::string out = "old";
  ASSERT_TRUE(base64_decode("", &out));
  EXPECT_EQ(out, "");
}

TEST(Base64, LeftoverBitsAreNotChecked) {
  // "Zh==": the second character carries bits past 'f' that a canonical encoder
  // leaves zero; both modes drop them.
  std::string s;
  ASSERT_TRUE(base64_decode("Zh==", &s));
  EXPECT_EQ(s, "f");
  ASSERT_TRUE(base64_decode("Zh", &s, Base64Mode::kLenient));
  EXPECT_EQ(s, "f");
}

TEST(Base64, LenientSkipsWhitespaceAndPadding) {
  Bytes out;
  const auto text = [&out] { return std::string(out.begin(), out.end()); };
  ASSERT_TRUE(base64_decode("QWxh\r\nZGRp bg", &out, Base64Mode::kLenient));
  EXPECT_EQ(text(), "Aladdin");
  ASSERT_TRUE(base64_decode("\tZm9v\n YmFy \r\n", &out, Base64Mode::kLenient));
  EXPECT_EQ(text(), "foobar");
  ASSERT_TRUE(base64_decode("Zg", &out, Base64Mode::kLenient));  // padding optional
  EXPECT_EQ(text(), "f");
  ASSERT_TRUE(base64_decode("Zm8", &out, Base64Mode::kLenient));
  EXPECT_EQ(text(), "fo");
  ASSERT_TRUE(base64_decode("Zg=", &out, Base64Mode::kLenient));  // short padding
  EXPECT_EQ(text(), "f");
  ASSERT_TRUE(base64_decode("Zg=====", &out, Base64Mode::kLenient));  // long padding
  EXPECT_EQ(text(), "f");
  ASSERT_TRUE(base64_decode("Zg= =\r\n", &out, Base64Mode::kLenient));
  EXPECT_EQ(text(), "f");
  ASSERT_TRUE(base64_decode("Zm9v=", &out, Base64Mode::kLenient));
  EXPECT_EQ(text(), "foo");
  ASSERT_TRUE(base64_decode("====", &out, Base64Mode::kLenient));  // padding only
  EXPECT_TRUE(out.empty());
  out = {1};
  ASSERT_TRUE(base64_decode(" \r\n", &out, Base64Mode::kLenient));
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(base64_decode("", &out, Base64Mode::kLenient));
  EXPECT_TRUE(out.empty());
}

TEST(Base64, LenientTakesUrlSafeAlphabet) {
  Bytes out;
  ASSERT_TRUE(base64_decode("-_-_", &out, Base64Mode::kLenient));
  EXPECT_EQ(out, (Bytes{0xfb, 0xff, 0xbf}));
  ASSERT_TRUE(base64_decode("+/+/", &out, Base64Mode::kLenient));
  EXPECT_EQ(out, (Bytes{0xfb, 0xff, 0xbf}));
  std::string s;
  ASSERT_TRUE(base64_decode("-_8", &s, Base64Mode::kLenient));
  EXPECT_EQ(s, "\xfb\xff");
}

TEST(Base64, LenientRejects) {
  Bytes out = {9};
  for (const char* bad : {
           "QW=x",      // data after '='
           "Zg==Zg==",  // data after '='
           "=Zg",       // '=' first
           "Q",         // one character: no whole byte
           "QUFBQ",     // five characters: one left over
           "Q\r\n==",   // one character, whitespace and padding
           "Q!==",      // not in the alphabet
           "Zm9v.",     // not in the alphabet
           "Zm\v9v",    // vertical tab is not skipped
       }) {
    EXPECT_FALSE(base64_decode(bad, &out, Base64Mode::kLenient)) << bad;
  }
  EXPECT_FALSE(base64_decode(std::string_view("Zm\0v", 4), &out, Base64Mode::kLenient));
  EXPECT_EQ(out, Bytes{9});  // untouched on failure
}

// ---- UTF-16LE to UTF-8 -------------------------------------------------------------

Bytes units(std::initializer_list<std::uint16_t> u) {
  Bytes b;
  for (std::uint16_t c : u) {
    b.push_back(static_cast<std::uint8_t>(c & 0xff));
    b.push_back(static_cast<std::uint8_t>(c >> 8));
  }
  return b;
}

TEST(Utf16le, EncodesEachUtf8Length) {
  EXPECT_EQ(utf16le_to_utf8(units({'A', 'b', '~'})), "Ab~");
  EXPECT_EQ(utf16le_to_utf8(units({0x7F})), "\x7f");
  EXPECT_EQ(utf16le_to_utf8(units({0x80})), "\xc2\x80");
  EXPECT_EQ(utf16le_to_utf8(units({0xE9})), "\xc3\xa9");
  EXPECT_EQ(utf16le_to_utf8(units({0x7FF})), "\xdf\xbf");
  EXPECT_EQ(utf16le_to_utf8(units({0x800})), "\xe0\xa0\x80");
  EXPECT_EQ(utf16le_to_utf8(units({0x20AC})), "\xe2\x82\xac");
  EXPECT_EQ(utf16le_to_utf8(units({0xD7FF})), "\xed\x9f\xbf");
  EXPECT_EQ(utf16le_to_utf8(units({0xE000})), "\xee\x80\x80");
  EXPECT_EQ(utf16le_to_utf8(units({0xFFFF})), "\xef\xbf\xbf");
  EXPECT_EQ(utf16le_to_utf8(units({0xFEFF, 'x'})), "\xef\xbb\xbfx");  // a BOM is kept
}

TEST(Utf16le, SurrogatePairs) {
  EXPECT_EQ(utf16le_to_utf8(units({0xD800, 0xDC00})), "\xf0\x90\x80\x80");  // U+10000
  EXPECT_EQ(utf16le_to_utf8(units({0xD83C, 0xDFB5})), "\xf0\x9f\x8e\xb5");  // U+1F3B5
  EXPECT_EQ(utf16le_to_utf8(units({0xDBFF, 0xDFFF})), "\xf4\x8f\xbf\xbf");  // U+10FFFF
  EXPECT_EQ(utf16le_to_utf8(units({'a', 0xD83C, 0xDFB5, 'b'})),
            "a\xf0\x9f\x8e\xb5"
            "b");
}

TEST(Utf16le, UnpairedSurrogatesBecomeReplacementChars) {
  const std::string r = "\xef\xbf\xbd";                       // U+FFFD
  EXPECT_EQ(utf16le_to_utf8(units({0xD800})), r);             // high at the end
  EXPECT_EQ(utf16le_to_utf8(units({0xDBFF, 'A'})), r + "A");  // high, then no low
  EXPECT_EQ(utf16le_to_utf8(units({0xDC00})), r);             // lone low
  EXPECT_EQ(utf16le_to_utf8(units({0xDFFF, 'A'})), r + "A");
  EXPECT_EQ(utf16le_to_utf8(units({0xDC00, 0xD800})), r + r);  // low before high
  // High, high, low: the first high is lone, the second pairs.
  EXPECT_EQ(utf16le_to_utf8(units({0xD800, 0xD800, 0xDC00})), r + "\xf0\x90\x80\x80");
  EXPECT_EQ(utf16le_to_utf8(units({0xD800, 0, 0xDC00})), r);  // high, then the NUL
}

TEST(Utf16le, OddByteCountIgnoresTheLastByte) {
  EXPECT_EQ(utf16le_to_utf8(Bytes{0x41}), "");
  EXPECT_EQ(utf16le_to_utf8(Bytes{0x41, 0x00, 0x42}), "A");
  // A high surrogate whose low half would need the odd byte stays lone.
  EXPECT_EQ(utf16le_to_utf8(Bytes{0x00, 0xD8, 0x00}), "\xef\xbf\xbd");
}

TEST(Utf16le, StopsAtTheFirstNul) {
  EXPECT_EQ(utf16le_to_utf8(ByteView()), "");
  EXPECT_EQ(utf16le_to_utf8(units({0})), "");
  EXPECT_EQ(utf16le_to_utf8(units({'A', 'B', 0, 0})), "AB");  // trailing NULs
  EXPECT_EQ(utf16le_to_utf8(units({'A', 0, 'B'})), "A");      // text after a NUL is dropped
  EXPECT_EQ(utf16le_to_utf8(units({0, 'A'})), "");
  // 0x0100 and 0x00xx carry zero bytes but are not NUL units.
  EXPECT_EQ(utf16le_to_utf8(units({0x0100, 'A'})),
            "\xc4\x80"
            "A");
}

TEST(HeaderText, TrimTokensAndSplitOutsideQuotes) {
  EXPECT_EQ(trim_lws(" \t a b \t"), "a b");
  EXPECT_EQ(trim_lws(" \t "), "");
  EXPECT_EQ(trim_lws("\r\nx"), "\r\nx");  // only spaces and tabs
  EXPECT_TRUE(is_token("x-Playlist-Gen-Id"));
  EXPECT_TRUE(is_token("!#$%&'*+-.^_`|~09azAZ"));
  EXPECT_FALSE(is_token(""));
  EXPECT_FALSE(is_token("a b"));
  EXPECT_FALSE(is_token("a:b"));
  EXPECT_FALSE(is_token_char('\0'));
  const std::vector<std::string_view> parts = split_unquoted("a=1, f=\"x,y\",", ',');
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0], "a=1");
  EXPECT_EQ(parts[1], " f=\"x,y\"");
  EXPECT_EQ(parts[2], "");
  EXPECT_EQ(split_unquoted("", ',').size(), 1u);
}

}  // namespace
}  // namespace mms

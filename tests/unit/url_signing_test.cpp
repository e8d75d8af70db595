// Signed URLs of mms-server (tools/server/url_signing.h): the signature is
// HMAC-SHA256(key, PATH "\n" EXPIRY) (values cross-checked with
// `printf '/clip.wmv\n1700000000' | openssl dgst -sha256 -hmac secret`), and
// the check accepts exactly the URLs signed with the key before they expire.
#include "tools/server/url_signing.h"

#include <string>

#include <gtest/gtest.h>

#include "protocol/core/access.h"

namespace mms::server {
namespace {

constexpr const char* kSig = "ba694d27ce5d9c405065bf75b3a63aef3b6bd481356dd1ea15fb3feafc3b9ab7";

TEST(UrlSigning, SignatureIsHmacSha256OfPathNewlineExpiry) {
  EXPECT_EQ(url_signature("secret", "/clip.wmv", 1700000000), kSig);
  EXPECT_EQ(url_signature("k", "/dir/a b.wmv", 42),
            "2952e44d34cf47ca7d6314fb0edd55b730f5b176df305fc13c8cf302d49dbbc0");
}

TEST(UrlSigning, SignUrlAppendsExpiryAndSignature) {
  std::string out;
  ASSERT_TRUE(sign_url("mms://127.0.0.1:8080/clip.wmv", "secret", 1700000000, &out));
  EXPECT_EQ(out, std::string("mms://127.0.0.1:8080/clip.wmv?e=1700000000&s=") + kSig);
  ASSERT_TRUE(sign_url("/clip.wmv?x=1", "secret", 1700000000, &out));
  EXPECT_EQ(out, std::string("/clip.wmv?x=1&e=1700000000&s=") + kSig);
  // The path is signed percent-decoded.
  ASSERT_TRUE(sign_url("http://h/dir/a%20b.wmv", "k", 42, &out));
  EXPECT_EQ(out,
            "http://h/dir/a%20b.wmv?e=42&s="
            "2952e44d34cf47ca7d6314fb0edd55b730f5b176df305fc13c8cf302d49dbbc0");
  EXPECT_FALSE(sign_url("http://h/bad%zz", "k", 42, &out));
}

TEST(UrlSigning, CheckAcceptsSignedUntilExpiry) {
  std::string url;
  ASSERT_TRUE(sign_url("rtsp://h:554/dir/clip.wmv", "key", 1000, &url));
  const std::string pq(path_and_query(url));
  EXPECT_EQ(check_signed_url(pq, "key", 999), UrlCheck::kOk);
  EXPECT_EQ(check_signed_url(pq, "key", 1000), UrlCheck::kOk);
  EXPECT_EQ(check_signed_url(pq, "key", 1001), UrlCheck::kExpired);
  // Upper-case hex is the same signature.
  std::string upper = pq;
  for (std::size_t i = upper.find("s=") + 2; i < upper.size(); ++i) {
    upper[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(upper[i])));
  }
  EXPECT_EQ(check_signed_url(upper, "key", 999), UrlCheck::kOk);
  // Other parameters, before or after, are not signed and do not matter.
  EXPECT_EQ(
      check_signed_url("/dir/clip.wmv?a=1&" + pq.substr(pq.find('?') + 1) + "&b=2", "key", 999),
      UrlCheck::kOk);
}

TEST(UrlSigning, CheckRefusesTamperedWrongKeyUnsignedMalformed) {
  std::string url;
  ASSERT_TRUE(sign_url("/dir/clip.wmv", "key", 1000, &url));
  const std::string query = url.substr(url.find('?'));
  EXPECT_EQ(check_signed_url("/dir/other.wmv" + query, "key", 0), UrlCheck::kBadSignature);
  EXPECT_EQ(check_signed_url(url, "other key", 0), UrlCheck::kBadSignature);
  // A later expiry with the old signature.
  std::string later = url;
  later.replace(later.find("e=1000"), 6, "e=9000");
  EXPECT_EQ(check_signed_url(later, "key", 0), UrlCheck::kBadSignature);
  // An expired URL of another key is a bad signature, not "expired".
  EXPECT_EQ(check_signed_url(url, "other key", 5000), UrlCheck::kBadSignature);
  EXPECT_EQ(check_signed_url("/dir/clip.wmv", "key", 0), UrlCheck::kUnsigned);
  EXPECT_EQ(check_signed_url("/dir/clip.wmv?e=1000", "key", 0), UrlCheck::kUnsigned);
  EXPECT_EQ(check_signed_url("/dir/clip.wmv?s=" + std::string(64, 'a'), "key", 0),
            UrlCheck::kUnsigned);
  EXPECT_EQ(check_signed_url("/dir/clip.wmv?e=x&s=" + std::string(64, 'a'), "key", 0),
            UrlCheck::kMalformed);
  EXPECT_EQ(check_signed_url("/dir/clip.wmv?e=01000&s=" + std::string(64, 'a'), "key", 0),
            UrlCheck::kMalformed);
  EXPECT_EQ(check_signed_url("/dir/clip.wmv?e=1000&s=abc", "key", 0), UrlCheck::kMalformed);
  EXPECT_EQ(check_signed_url("/dir/clip.wmv?e=1000&s=" + std::string(64, 'g'), "key", 0),
            UrlCheck::kMalformed);
  EXPECT_EQ(check_signed_url(url + "&e=1000", "key", 0), UrlCheck::kMalformed);
}

TEST(UrlSigning, PathAndQueryOfUrls) {
  EXPECT_EQ(path_and_query("rtsp://h:554/a/b?q=1#frag"), "/a/b?q=1");
  EXPECT_EQ(path_and_query("/a?b"), "/a?b");
  EXPECT_EQ(path_and_query("mms://h"), "/");
  EXPECT_EQ(path_and_query("mms://h?x"), "/");
  EXPECT_EQ(path_and_query(""), "/");
}

}  // namespace
}  // namespace mms::server

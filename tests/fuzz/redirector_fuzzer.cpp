// Fuzzes the redirector parser (ASX, [Reference], MMSH describe). Input: the
// body. Invariants: a parsed file has at least one entry, no more than the
// limits allow, every ref is an absolute URL of an allowed scheme within the
// URL bound, and the sniffed format is the parsed one.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "protocol/mmsh/redirector.h"
#include "tests/support/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mms::mmsh;  // NOLINT(google-build-using-namespace)
  const mms::ByteView in(data, size);
  const RedirectorFormat sniffed = sniff_redirector(in);
  auto r = parse_redirector(in, "http://base.example/dir/page.asx");
  MMS_FUZZ_CHECK(r.ok() == false || r->format == sniffed);
  if (!r.ok()) {
    return 0;
  }
  MMS_FUZZ_CHECK(!r->entries.empty() && r->entries.size() <= kMaxRedirectorEntries);
  for (const RedirectorEntry& e : r->entries) {
    MMS_FUZZ_CHECK(!e.refs.empty() && e.refs.size() <= kMaxRefsPerEntry);
    for (const std::string& url : e.refs) {
      MMS_FUZZ_CHECK(url.size() <= kMaxRedirectorUrl + 16);
      MMS_FUZZ_CHECK(url.find("://") != std::string::npos);
      for (char c : url) {
        MMS_FUZZ_CHECK(static_cast<unsigned char>(c) > ' ' && c != 0x7f);
      }
    }
  }
  MMS_FUZZ_CHECK(r->locations().size() == r->entries.size());
  return 0;
}

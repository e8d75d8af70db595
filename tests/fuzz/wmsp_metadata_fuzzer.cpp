// Fuzzes the MMSH $M payload and Content Description List parsers
// (protocol/session/metadata.h). Input: a $M payload. Invariants: a parsed
// payload stays within the bounds, and encoding what was parsed and parsing
// that again gives the same metadata.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "protocol/session/metadata.h"
#include "tests/support/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

bool same(const mms::session::EntryMetadata& a, const mms::session::EntryMetadata& b) {
  if (a.playlist_gen_id != b.playlist_gen_id || a.broadcast_id != b.broadcast_id ||
      a.features != b.features || a.descriptions.size() != b.descriptions.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.descriptions.size(); ++i) {
    const auto& x = a.descriptions[i];
    const auto& y = b.descriptions[i];
    if (x.language != y.language || x.fields.size() != y.fields.size()) {
      return false;
    }
    for (std::size_t j = 0; j < x.fields.size(); ++j) {
      if (x.fields[j].name != y.fields[j].name || x.fields[j].type != y.fields[j].type ||
          x.fields[j].value != y.fields[j].value) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mms::session;  // NOLINT(google-build-using-namespace)
  auto m = parse_wmsp_metadata(mms::ByteView(data, size));
  if (!m.ok()) {
    return 0;
  }
  MMS_FUZZ_CHECK(m->descriptions.size() <= kMaxCdlDescriptions);
  std::size_t fields = 0;
  for (const ContentDescription& d : m->descriptions) {
    fields += d.fields.size();
  }
  MMS_FUZZ_CHECK(fields <= kMaxCdlFields);
  // Features with a '"' do not survive the quoting; everything else does.
  if (m->features.find('"') == std::string::npos) {
    const std::vector<std::uint8_t> again = encode_wmsp_metadata(*m);
    auto m2 = parse_wmsp_metadata(mms::ByteView(again));
    MMS_FUZZ_CHECK(m2.ok() && same(*m, *m2));
  }
  return 0;
}

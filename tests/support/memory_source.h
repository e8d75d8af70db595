// What the server-session unit tests (MMSH, MMS, RTSP, the live feed) share:
// the fixture files of tests/media/fixtures and a content source serving
// Content objects from memory by request path.
#pragma once

#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/server/content.h"

namespace mms_test {

// The bytes of tests/media/fixtures/<name> (empty when it cannot be read: the
// Content built from it then fails, and the test with it).
inline std::vector<std::uint8_t> read_fixture(const char* name) {
  std::ifstream in(std::string(MMS_SOURCE_ROOT) + "/tests/media/fixtures/" + name,
                   std::ios::binary);
  return std::vector<std::uint8_t>((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
}

// Serves `items` by path ("/name"); anything else is kNotFound.
class MemorySource : public mms::server::ContentSource {
 public:
  mms::Result<std::shared_ptr<const mms::server::Content>> open(std::string_view path) override {
    auto it = items.find(std::string(path));
    if (it == items.end()) {
      return mms::Status(mms::Code::kNotFound, "not found");
    }
    return it->second;
  }

  // Adds "/small.asf" and "/mbr.asf" on demand, and "/live.asf" (small.asf
  // as a looped broadcast). Returns false when one of them could not be made.
  bool add_fixtures() {
    bool ok = true;
    for (const char* name : {"small.asf", "mbr.asf"}) {
      ok = add(std::string("/") + name, name, read_fixture(name), false) && ok;
    }
    return add("/live.asf", "live.asf", read_fixture("small.asf"), true) && ok;
  }

  bool add(const std::string& path, const char* name, std::vector<std::uint8_t> file, bool live) {
    auto c = mms::server::Content::create(name, std::move(file), live);
    if (!c.ok()) {
      return false;
    }
    items[path] = *c;
    return true;
  }

  std::map<std::string, std::shared_ptr<const mms::server::Content>> items;
};

}  // namespace mms_test

// Fuzz target: MMSH HTTP heads (response and request), Pragma tokens, stream
// switch entries, u32 and base64 parsing.
// Invariants: consumed <= size and covers a blank line, a written head parses
// back to the same text, stream switch entries stay under their cap and format
// to something that parses back, base64 round trips.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/core/limits.h"
#include "protocol/core/text.h"
#include "protocol/mmsh/http_codec.h"

namespace {

void check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

void exercise_pragmas(const mms::mmsh::HttpHeaders& headers) {
  const std::vector<mms::mmsh::PragmaToken> tokens = mms::mmsh::parse_pragmas(headers);
  for (const mms::mmsh::PragmaToken& t : tokens) {
    std::uint32_t v = 0;
    (void)mms::parse_u32(t.value, &v);
  }
  const std::string* entry = mms::mmsh::find_pragma(tokens, "stream-switch-entry");
  if (entry != nullptr) {
    mms::Result<std::vector<mms::mmsh::StreamSwitchEntry>> e =
        mms::mmsh::parse_stream_switch(*entry);
    if (e.ok()) {
      check(e->size() <= mms::limits::kMaxStreamSwitchEntries);
      mms::Result<std::vector<mms::mmsh::StreamSwitchEntry>> again =
          mms::mmsh::parse_stream_switch(mms::mmsh::format_stream_switch(*e));
      check(again.ok() && again->size() == e->size());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const mms::ByteView in(data, size);
  {
    mms::mmsh::HttpResponse resp;
    std::size_t consumed = 0;
    mms::Status err;
    if (mms::mmsh::parse_response_head(in, &resp, &consumed, &err) == mms::mmsh::Decode::kDone) {
      check(consumed <= size && consumed >= 2);
      check(resp.headers.list.size() <= mms::limits::kMaxHttpHeaders);
      exercise_pragmas(resp.headers);
      const std::string text = mms::mmsh::write_response(resp);
      mms::mmsh::HttpResponse back;
      std::size_t c2 = 0;
      check(mms::mmsh::parse_response_head(mms::ByteView::of(text), &back, &c2, &err) ==
            mms::mmsh::Decode::kDone);
      check(c2 == text.size() && mms::mmsh::write_response(back) == text);
    }
  }
  {
    mms::mmsh::HttpRequest req;
    std::size_t consumed = 0;
    mms::Status err;
    if (mms::mmsh::parse_request_head(in, &req, &consumed, &err) == mms::mmsh::Decode::kDone) {
      check(consumed <= size && consumed >= 2);
      exercise_pragmas(req.headers);
      const std::string text = mms::mmsh::write_request(req);
      mms::mmsh::HttpRequest back;
      std::size_t c2 = 0;
      check(mms::mmsh::parse_request_head(mms::ByteView::of(text), &back, &c2, &err) ==
            mms::mmsh::Decode::kDone);
      check(c2 == text.size() && mms::mmsh::write_request(back) == text);
    }
  }
  const std::string_view text = in.as_string_view();
  mms::Result<std::vector<mms::mmsh::StreamSwitchEntry>> e = mms::mmsh::parse_stream_switch(text);
  if (e.ok()) {
    check(e->size() <= mms::limits::kMaxStreamSwitchEntries);
  }
  std::uint32_t v = 0;
  (void)mms::parse_u32(text, &v);
  std::string decoded;
  if (mms::base64_decode(text, &decoded)) {
    check(text.size() % 4 == 0 && decoded.size() <= text.size() / 4 * 3);
    // Whatever the strict decoder takes, the lenient one takes the same way.
    std::string lenient;
    check(mms::base64_decode(text, &lenient, mms::Base64Mode::kLenient) && lenient == decoded);
  }
  std::string round;
  check(mms::base64_decode(mms::base64_encode(text), &round) && round == text);
  return 0;
}

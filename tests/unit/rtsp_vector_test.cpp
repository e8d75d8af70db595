// Runs the readable RTSP vectors in tests/vectors/rtsp/*.vec: RTSP messages,
// interleaved frames and the x-asf-pf RTP packets they carry, as one TCP
// byte stream.
//
// Vector grammar (one file holds several cases; '#' at the start of a line
// outside a case, and after hex on input lines, is a comment):
//
//   ## <title>                      starts a case
//   why: <text>                     optional: what the case protects
//   maxps: <n>                      optional: a=maxps for the depayloaders (default 0 = unknown)
//   input:                          indented lines until "expect:", each one of
//     <hex bytes> [# comment]         whitespace-separated hex
//     fill <count> <hex byte>         <count> copies of one byte
//     text: <text>                    the text after "text: " then CR LF (no '#' comments)
//     raw: <text>                     the text after "raw: " with \\r \\n \\t \\\\ escapes, no line
//     end
//   expect:                         indented event lines until the next "##", one of
//     request method=<m> uri=<u> cseq=<n|-> headers=<n> body=<n>
//     response status=<n> cseq=<n|-> headers=<n> body=<n>
//     session id=<id> timeout=<n|->          after a message with Session
//     transport <format_transport()>         per spec of a Transport header
//     range <format_range()>                 a Range header (or range-error code=<c>)
//     rtp-info url=<u> seq=<n|-> rtptime=<n|->  per RTP-Info entry
//     sdp media=<n> maxps=<n> header=<bytes> streams=<a=stream list|->  an application/sdp body
//     sdp-error code=<c>
//     interleaved channel=<n> len=<n>
//     asf channel=<n> len=<n> key=<0|1> discont=<0|1> seq=<n>   an ASF packet out of the
//         depayloader of an even channel (RTCP frames are not fed)
//     rtp-error channel=<n> code=<c>         the depayloader refused a frame (not RTP)
//     error code=<c>                          decode_unit failed; decoding stops
//     need-more                               bytes remain that do not form a unit
//
// Every case is fed four ways and must give the expected log each time:
//  (a) whole, (b) one byte at a time, (c) with bytes appended after the input
//  (events past the input's end ignored), (d) split at random points (fixed seeds).
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <ostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/core/bytes.h"
#include "protocol/core/text.h"
#include "protocol/rtsp/asf_rtp.h"
#include "protocol/rtsp/message_codec.h"
#include "protocol/rtsp/sdp_wms.h"
#include "tests/support/vectors.h"

namespace mms::rtsp {
namespace {

using test::VectorCase;

std::vector<VectorCase> load_all() {
  return test::load_vectors("rtsp");
}

std::string opt(const std::optional<std::uint32_t>& v) {
  return v ? std::to_string(*v) : "-";
}

class Runner {
 public:
  explicit Runner(std::uint32_t maxps) : maxps_(maxps) {}

  bool pump() {
    while (!stopped_) {
      Unit u;
      Status err;
      Decode d = decode_unit(ByteView(buf_).subview(off_), &u, &err);
      if (d == Decode::kNeedMore) {
        return true;
      }
      if (d == Decode::kError) {
        log_.push_back(std::string("error code=") + to_string(err.code()));
        stopped_ = true;
        return false;
      }
      EXPECT_GE(u.wire_size, 1u);
      EXPECT_LE(u.wire_size, buf_.size() - off_);
      on_unit(u);
      off_ += u.wire_size;
    }
    return false;
  }
  void feed(const std::uint8_t* p, std::size_t n) {
    buf_.insert(buf_.end(), p, p + n);
    pump();
  }
  void finish() {
    if (!stopped_ && off_ < buf_.size()) {
      log_.push_back("need-more");
    }
  }
  const std::vector<std::string>& log() const { return log_; }

  void run_with_trailer(const std::vector<std::uint8_t>& input,
                        const std::vector<std::uint8_t>& trailer) {
    buf_ = input;
    buf_.insert(buf_.end(), trailer.begin(), trailer.end());
    const std::size_t len = input.size();
    while (off_ < len) {
      Unit u;
      Status err;
      Decode d = decode_unit(ByteView(buf_).subview(off_), &u, &err);
      if (d == Decode::kDone && off_ + u.wire_size <= len) {
        on_unit(u);
        off_ += u.wire_size;
        continue;
      }
      if (d == Decode::kError) {
        Unit g;
        Status e2;
        if (decode_unit(ByteView(input).subview(off_), &g, &e2) == Decode::kError) {
          log_.push_back(std::string("error code=") + to_string(err.code()));
          return;
        }
      }
      log_.push_back("need-more");
      return;
    }
  }

 private:
  void on_headers(const Headers& h, const std::string& body) {
    if (const std::string* s = h.find("Session")) {
      auto r = parse_session(*s);
      log_.push_back(r.ok() ? "session id=" + r->id + " timeout=" + opt(r->timeout_s)
                            : std::string("session-error code=") + to_string(r.status().code()));
    }
    if (const std::string* t = h.find("Transport")) {
      auto r = parse_transports(*t);
      if (r.ok()) {
        for (const Transport& x : *r) {
          log_.push_back("transport " + format_transport(x));
        }
      } else {
        log_.push_back(std::string("transport-error code=") + to_string(r.status().code()));
      }
    }
    if (const std::string* t = h.find("Range")) {
      auto r = parse_range(*t);
      log_.push_back(r.ok() ? "range " + format_range(*r)
                            : std::string("range-error code=") + to_string(r.status().code()));
    }
    if (const std::string* t = h.find("RTP-Info")) {
      auto r = parse_rtp_info(*t);
      if (r.ok()) {
        for (const RtpInfo& e : *r) {
          log_.push_back("rtp-info url=" + e.url + " seq=" +
                         (e.seq ? std::to_string(*e.seq) : "-") + " rtptime=" + opt(e.rtptime));
        }
      } else {
        log_.push_back(std::string("rtp-info-error code=") + to_string(r.status().code()));
      }
    }
    const std::string* ct = h.find("Content-Type");
    if (ct != nullptr && iequals(*ct, "application/sdp") && !body.empty()) {
      auto sdp = parse_wms_sdp(body);
      if (!sdp.ok()) {
        log_.push_back(std::string("sdp-error code=") + to_string(sdp.status().code()));
        return;
      }
      std::string streams;
      for (const SdpMedia& m : sdp->media) {
        if (m.stream != 0) {
          streams += (streams.empty() ? "" : ",") + std::to_string(m.stream);
        }
      }
      log_.push_back("sdp media=" + std::to_string(sdp->media.size()) +
                     " maxps=" + std::to_string(sdp->max_packet_size) +
                     " header=" + std::to_string(sdp->asf_header.size()) +
                     " streams=" + (streams.empty() ? "-" : streams));
    }
  }

  void on_unit(const Unit& u) {
    if (u.kind == UnitKind::kInterleaved) {
      const std::uint8_t ch = u.frame.channel;
      log_.push_back("interleaved channel=" + std::to_string(ch) +
                     " len=" + std::to_string(u.frame.payload.size()));
      if (ch % 2 != 0 || is_rtcp(u.frame.payload)) {
        return;
      }
      std::unique_ptr<AsfDepayloader>& d = depay_[ch];
      if (!d) {
        d = std::make_unique<AsfDepayloader>(maxps_);
      }
      std::vector<DepayPacket> out;
      Status st = d->push(u.frame.payload, &out);
      if (!st.ok()) {
        log_.push_back("rtp-error channel=" + std::to_string(ch) + " code=" + to_string(st.code()));
      }
      for (const DepayPacket& p : out) {
        log_.push_back("asf channel=" + std::to_string(ch) + " len=" +
                       std::to_string(p.data.size()) + " key=" + (p.keyframe ? "1" : "0") +
                       " discont=" + (p.discont ? "1" : "0") + " seq=" + std::to_string(p.seq));
      }
      return;
    }
    const Headers& h = u.kind == UnitKind::kRequest ? u.request.headers : u.response.headers;
    const std::string& body = u.kind == UnitKind::kRequest ? u.request.body : u.response.body;
    auto cseq = cseq_of(h);
    const std::string tail = " cseq=" + (cseq.ok() ? std::to_string(*cseq) : std::string("-")) +
                             " headers=" + std::to_string(h.list.size()) +
                             " body=" + std::to_string(body.size());
    if (u.kind == UnitKind::kRequest) {
      log_.push_back("request method=" + u.request.method + " uri=" + u.request.uri + tail);
    } else {
      log_.push_back("response status=" + std::to_string(u.response.status) + tail);
    }
    on_headers(h, body);
  }

  std::uint32_t maxps_;
  std::vector<std::uint8_t> buf_;
  std::size_t off_ = 0;
  bool stopped_ = false;
  std::map<std::uint8_t, std::unique_ptr<AsfDepayloader>> depay_;
  std::vector<std::string> log_;
};

test::VectorRunner runner_for(const VectorCase& c) {
  return test::runner_of(c, [&c] { return Runner(c.setting_u32("maxps")); });
}

class RtspVectors : public ::testing::TestWithParam<VectorCase> {};

TEST_P(RtspVectors, SameEventsWholeByteByByteTrailingAndSplit) {
  const std::vector<std::vector<std::uint8_t>> trailers = {
      {0x24, 0x00, 0xff, 0xff}, {0xee, 0xee, 0xee}, {'R', 'T', 'S', 'P', '/', '1', '.', '0', ' '}};
  test::expect_same_events_four_ways(GetParam(), runner_for(GetParam()), trailers);
}

INSTANTIATE_TEST_SUITE_P(Vectors, RtspVectors, ::testing::ValuesIn(load_all()),
                         test::vector_case_name);

TEST(RtspVectorFiles, EveryFileHasCasesWithExpectations) {
  const std::vector<VectorCase> all = load_all();
  EXPECT_GE(all.size(), 25u);
  for (const VectorCase& c : all) {
    EXPECT_TRUE(!c.expect.empty() || c.input.empty()) << c.file << ": " << c.title << ": no events";
  }
}

}  // namespace
}  // namespace mms::rtsp

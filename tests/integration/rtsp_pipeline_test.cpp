// End-to-end over Windows Media RTSP and the full protocol rollover: the real
// mmssrc against the in-process mms-server on 127.0.0.1. Each transport is
// forced and checked by decoded content (per-pad frame checksums equal those of
// the file); the rollover scenarios run against one server port serving RTSP,
// MMS and MMSH (UDP data on the same number) with transports refused or
// blackholed, and check the winner, the `transport` property and the order of
// the progress messages. (The pipeline helpers are in harness.h.)
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gst/gst.h>
#include <gtest/gtest.h>

#include "tests/integration/harness.h"
#include "tools/server/server.h"

namespace mms_test {
namespace {

using Strings = std::vector<std::string>;

class RtspPipeline : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string cmd = "bash '" + std::string(MMS_SOURCE_ROOT) +
                      "/tests/media/make-test-media.sh' '" + media_dir() + "' default >/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "could not generate test media";
  }

  // Separate ports per protocol (single_port false) or one port for all.
  void start_server(mms::server::ServerOptions opts = {}) {
    if (opts.root == ".") {
      opts.root = media_dir();
    }
    opts.bind_address = "127.0.0.1";
    opts.fast = true;
    server_ = std::make_unique<mms::server::Server>();
    mms::Status st = server_->start(opts);
    ASSERT_TRUE(st.ok()) << st.what();
  }
  void start_single_port(std::vector<std::string> refuse = {}) {
    mms::server::ServerOptions o;
    o.single_port = true;
    o.port = 0;
    o.refuse = std::set<std::string>(refuse.begin(), refuse.end());
    start_server(o);
  }
  std::uint16_t port() const {
    const std::uint16_t p = server_->rtsp_port();
    return p != 0 ? p : (server_->mms_port() != 0 ? server_->mms_port() : server_->mmsh_port());
  }
  std::string url(const std::string& name, const char* scheme) const {
    return std::string(scheme) + "://127.0.0.1:" + std::to_string(port()) + "/" + name;
  }
  static std::string mmssrc(const std::string& u, const std::string& props = "") {
    return "mmssrc location=" + u + " timeout=10 " + props;
  }
  static std::string filesrc(const std::string& name) {
    return "filesrc location=" + media_dir() + "/" + name + " ! queue";
  }
  void expect_same_content(const std::string& net_src, const std::string& name,
                           RunResult* net_out = nullptr) {
    RunResult own;
    RunResult* net = net_out != nullptr ? net_out : &own;
    RunResult local;
    run_pipeline(net_src, net);
    run_pipeline(filesrc(name), &local);
    ASSERT_EQ(net->error, nullptr) << net->error->message;
    EXPECT_TRUE(net->eos);
    ASSERT_FALSE(local.pads.empty());
    ASSERT_EQ(net->pads.size(), local.pads.size());
    for (const auto& [pad, log] : local.pads) {
      ASSERT_TRUE(net->pads.count(pad)) << pad;
      EXPECT_FALSE(log.frames.empty()) << pad;
      EXPECT_EQ(net->pads[pad].frames.size(), log.frames.size()) << pad;
      EXPECT_TRUE(net->pads[pad].frames == log.frames) << pad << ": decoded frames differ";
    }
  }

  std::unique_ptr<mms::server::Server> server_;
};

Strings attempts_of(const GstStructure* details) {
  Strings out;
  const GValue* v = gst_structure_get_value(details, "mms-attempts");
  if (v == nullptr || !GST_VALUE_HOLDS_ARRAY(v)) {
    return out;
  }
  for (guint i = 0; i < gst_value_array_get_size(v); ++i) {
    out.emplace_back(g_value_get_string(gst_value_array_get_value(v, i)));
  }
  return out;
}

constexpr const char* kAv = "av-wmv2-wma2-10s.asf";
constexpr const char* kAudio = "audio-wma2-10s.wma";

// --- each RTSP transport forced ---------------------------------------------

TEST_F(RtspPipeline, RtsptFramesMatchTheFile) {
  start_server();
  RunResult net;
  expect_same_content(mmssrc(url(kAv, "rtspt")), kAv, &net);
  EXPECT_EQ(net.transports, (Strings{"rtspt"}));
  EXPECT_EQ(net.transport_property, "rtspt");
}

TEST_F(RtspPipeline, RtspuFramesMatchTheFile) {
  start_server();
  RunResult net;
  expect_same_content(mmssrc(url(kAv, "rtspu")), kAv, &net);
  EXPECT_EQ(net.transports, (Strings{"rtspu"}));
  EXPECT_EQ(net.transport_property, "rtspu");
}

TEST_F(RtspPipeline, RtspSchemeTriesUdpFirst) {
  start_server();
  RunResult net;
  expect_same_content(mmssrc(url(kAudio, "rtsp")), kAudio, &net);
  EXPECT_EQ(net.transports, (Strings{"rtspu"}));
}

TEST_F(RtspPipeline, RtspAudioOnlyOverTcp) {
  start_server();
  expect_same_content(mmssrc(url(kAudio, "rtspt")), kAudio);
}

TEST_F(RtspPipeline, SeekOverRtspPlaysTheFileFromTheTarget) {
  start_server();
  expect_seek_lands(mmssrc(url(kAv, "rtspt")), filesrc(kAv), 5 * GST_SECOND);
}

TEST_F(RtspPipeline, DigestAuthenticationOverRtsp) {
  mms::server::ServerOptions o;
  o.auth_user = "alice";
  o.auth_password = "s3cret";
  start_server(o);
  RunResult r;
  run_pipeline(mmssrc(url(kAudio, "rtspt")), &r, -1, 30);
  ASSERT_NE(r.error, nullptr);
  EXPECT_EQ(r.error->code, GST_RESOURCE_ERROR_NOT_AUTHORIZED) << r.error->message;
  RunResult wrong;
  run_pipeline(mmssrc(url(kAudio, "rtspt"), "user-id=alice user-pw=wrong"), &wrong, -1, 30);
  ASSERT_NE(wrong.error, nullptr);
  EXPECT_EQ(wrong.error->code, GST_RESOURCE_ERROR_NOT_AUTHORIZED) << wrong.error->message;
  expect_same_content(mmssrc(url(kAudio, "rtspt"), "user-id=alice user-pw=s3cret"), kAudio);
}

TEST_F(RtspPipeline, MissingFileStopsTheWalkAtTheFirstTransport) {
  start_single_port();
  RunResult r;
  run_pipeline(mmssrc(url("nope.asf", "mms")), &r, -1, 30);
  ASSERT_NE(r.error, nullptr);
  EXPECT_EQ(r.error->code, GST_RESOURCE_ERROR_NOT_FOUND) << r.error->message;
  ASSERT_NE(r.error_details, nullptr);
  EXPECT_EQ(attempts_of(r.error_details), (Strings{"rtspu"}));
  EXPECT_EQ(r.progress, (Strings{"start:rtspu", "error:rtspu"}));
}

// --- rollover against one port -----------------------------------------------

TEST_F(RtspPipeline, AllOpenPlaysOverRtspUdp) {
  start_single_port();
  RunResult net;
  expect_same_content(mmssrc(url(kAv, "mms")), kAv, &net);
  EXPECT_EQ(net.transports, (Strings{"rtspu"}));
  EXPECT_EQ(net.transport_property, "rtspu");
  EXPECT_EQ(net.progress, (Strings{"start:rtspu", "complete:rtspu"}));
}

TEST_F(RtspPipeline, RtspClosedRollsOverToMmsUdp) {
  start_single_port({"rtsp"});
  RunResult net;
  expect_same_content(mmssrc(url(kAv, "mms")), kAv, &net);
  EXPECT_EQ(net.transports, (Strings{"mmsu"}));
  EXPECT_EQ(net.transport_property, "mmsu");
  EXPECT_EQ(net.progress, (Strings{"start:rtspu", "error:rtspu", "start:rtspt", "error:rtspt",
                                   "start:mmsu", "complete:mmsu"}));
}

TEST_F(RtspPipeline, UdpBlackholedRollsOverToRtspTcp) {
  start_single_port({"rtspu", "mmsu"});
  RunResult net;
  expect_same_content(mmssrc(url(kAv, "mms"), "udp-timeout=1000000"), kAv, &net);
  EXPECT_EQ(net.transports, (Strings{"rtspt"}));
  EXPECT_EQ(net.transport_property, "rtspt");
  EXPECT_EQ(net.progress, (Strings{"start:rtspu", "error:rtspu", "start:rtspt", "complete:rtspt"}));
}

TEST_F(RtspPipeline, OnlyMmshLeftRollsOverToMmsh) {
  start_single_port({"rtsp", "mms"});
  RunResult net;
  expect_same_content(mmssrc(url(kAudio, "mms")), kAudio, &net);
  EXPECT_EQ(net.transports, (Strings{"mmsh"}));
  EXPECT_EQ(net.transport_property, "mmsh");
  EXPECT_EQ(net.progress,
            (Strings{"start:rtspu", "error:rtspu", "start:rtspt", "error:rtspt", "start:mmsu",
                     "error:mmsu", "start:mmst", "error:mmst", "start:mmsh", "complete:mmsh"}));
}

TEST_F(RtspPipeline, ProtocolsPropertyReordersTheWalk) {
  start_single_port();
  RunResult net;
  expect_same_content(mmssrc(url(kAudio, "mms"), "protocols=mmst,rtspt"), kAudio, &net);
  EXPECT_EQ(net.transports, (Strings{"mmst"}));
  EXPECT_EQ(net.progress, (Strings{"start:mmst", "complete:mmst"}));
}

TEST_F(RtspPipeline, NothingListeningSkipsRtspTcpAndListsEveryAttempt) {
  start_single_port();
  const std::uint16_t p = port();
  server_->stop();
  RunResult r;
  run_pipeline("mmssrc timeout=3 udp-timeout=500000 location=mms://127.0.0.1:" + std::to_string(p) +
                   "/x.asf",
               &r, -1, 30);
  ASSERT_NE(r.error, nullptr);
  EXPECT_EQ(r.error->code, GST_RESOURCE_ERROR_OPEN_READ) << r.error->message;
  ASSERT_NE(r.error_details, nullptr);
  // rtspt is skipped: the RTSP control connection could not be opened at all.
  EXPECT_EQ(attempts_of(r.error_details), (Strings{"rtspu", "rtspt", "mmsu", "mmst", "mmsh"}));
  EXPECT_EQ(r.progress, (Strings{"start:rtspu", "error:rtspu", "start:mmsu", "error:mmsu",
                                 "start:mmst", "error:mmst", "start:mmsh", "error:mmsh"}));
  const GValue* errors = gst_structure_get_value(r.error_details, "mms-attempt-errors");
  ASSERT_NE(errors, nullptr);
  EXPECT_EQ(gst_value_array_get_size(errors), 4u);
}

TEST_F(RtspPipeline, PlaybinPlaysAnMmsUrlOverTheFirstTransport) {
  start_single_port();
  RunResult r;
  GError* err = nullptr;
  const std::string desc =
      "playbin uri=" + url(kAv, "mms") + " video-sink=fakesink audio-sink=fakesink";
  GstElement* pipeline = gst_parse_launch(desc.c_str(), &err);
  ASSERT_NE(pipeline, nullptr) << (err ? err->message : "");
  GstBus* bus = gst_element_get_bus(pipeline);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstMessage* msg = gst_bus_timed_pop_filtered(
      bus, 60 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  ASSERT_NE(msg, nullptr) << "no EOS within 60 s";
  EXPECT_EQ(GST_MESSAGE_TYPE(msg), GST_MESSAGE_EOS);
  gst_message_unref(msg);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(pipeline);
}

}  // namespace
}  // namespace mms_test

// End-to-end: the real mmssrc against the in-process mms-server on 127.0.0.1,
// through GStreamer's own asfdemux and decoders. Correctness is decoded
// content: per-pad frame checksums over the network equal those of the file.
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <gst/gst.h>
#include <gtest/gtest.h>

#include "protocol/asf/header_parser.h"
#include "tests/integration/harness.h"
#include "tools/server/server.h"

namespace mms_test {
namespace {

std::string real_dir() {
  return std::string(MMS_SOURCE_ROOT) + "/tests/media/real";
}

class Pipeline : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string cmd = "bash '" + std::string(MMS_SOURCE_ROOT) +
                      "/tests/media/make-test-media.sh' '" + media_dir() + "' default >/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "could not generate test media";
  }

  void start_server(mms::server::ServerOptions opts = {}) {
    if (opts.root == ".") {
      opts.root = media_dir();
    }
    opts.bind_address = "127.0.0.1";
    // On-demand content as fast as the client reads; live content is always paced.
    opts.fast = fast_;
    opts.mmsh_port = 0;
    server_ = std::make_unique<mms::server::Server>();
    mms::Status st = server_->start(opts);
    ASSERT_TRUE(st.ok()) << st.what();
  }
  std::string url(const std::string& name, const char* scheme = "mmsh") const {
    return std::string(scheme) + "://127.0.0.1:" + std::to_string(server_->mmsh_port()) + "/" +
           name;
  }
  static std::string mmssrc(const std::string& u, const std::string& props = "") {
    return "mmssrc location=" + u + " timeout=10 " + props;
  }
  static std::string filesrc(const std::string& path) {
    return "filesrc location=" + path + " ! queue";
  }
  void expect_same_content(const std::string& net_src, const std::string& local_src) {
    RunResult net;
    RunResult local;
    run_pipeline(net_src, &net);
    run_pipeline(local_src, &local);
    ASSERT_EQ(net.error, nullptr) << net.error->message;
    ASSERT_EQ(local.error, nullptr) << local.error->message;
    EXPECT_TRUE(net.eos);
    ASSERT_FALSE(local.pads.empty());
    ASSERT_EQ(net.pads.size(), local.pads.size());
    for (const auto& [name, log] : local.pads) {
      ASSERT_TRUE(net.pads.count(name)) << name;
      EXPECT_FALSE(log.frames.empty()) << name;
      EXPECT_EQ(net.pads[name].frames.size(), log.frames.size()) << name;
      EXPECT_TRUE(net.pads[name].frames == log.frames) << name << ": decoded frames differ";
    }
  }

  std::unique_ptr<mms::server::Server> server_;
  bool fast_ = true;
};

TEST_F(Pipeline, VideoAndAudioOverMmshMatchTheFile) {
  start_server();
  expect_same_content(mmssrc(url("av-wmv2-wma2-10s.asf")),
                      filesrc(media_dir() + "/av-wmv2-wma2-10s.asf"));
}

TEST_F(Pipeline, MmsSchemeGoesOverMmsh) {
  start_server();
  expect_same_content(mmssrc(url("audio-wma2-10s.wma", "mms")),
                      filesrc(media_dir() + "/audio-wma2-10s.wma"));
}

TEST_F(Pipeline, PaddingKeptByTheServerGivesTheSameFrames) {
  mms::server::ServerOptions o;
  o.keep_padding = true;
  start_server(o);
  expect_same_content(mmssrc(url("av-noindex.asf")), filesrc(media_dir() + "/av-noindex.asf"));
}

TEST_F(Pipeline, RealWindowsMediaFilesMatch) {
  mms::server::ServerOptions o;
  o.root = real_dir();
  start_server(o);
  for (const char* f : {"taglib-silence-1.wma", "taglib-lossless.wma"}) {
    SCOPED_TRACE(f);
    expect_same_content(mmssrc(url(f)), filesrc(real_dir() + "/" + f));
  }
}

TEST_F(Pipeline, ConnectionSpeedSelectsTheLowBitrateVideo) {
  start_server();
  RunResult net;
  RunResult local;
  run_pipeline(mmssrc(url("mbr-sbp-mutex-10s.asf"), "connection-speed=200"), &net);
  run_pipeline(filesrc(media_dir() + "/mbr-sbp-mutex-10s.asf"), &local);
  ASSERT_EQ(net.error, nullptr) << net.error->message;
  ASSERT_EQ(local.error, nullptr) << local.error->message;
  // The file has two video streams (300 and 100 kbps) and one audio stream.
  ASSERT_EQ(local.pads.count("video_0") + local.pads.count("video_1"), 2u);
  std::vector<const PadLog*> net_video;
  for (const auto& [name, log] : net.pads) {
    if (name.rfind("video", 0) == 0 && !log.frames.empty()) {
      net_video.push_back(&log);
    }
  }
  ASSERT_EQ(net_video.size(), 1u) << "only one video stream must arrive";
  EXPECT_TRUE(net_video[0]->frames == local.pads["video_1"].frames)
      << "the 100 kbps stream (number 2) must be the one received";
  EXPECT_FALSE(net_video[0]->frames == local.pads["video_0"].frames);
  EXPECT_TRUE(net.pads["audio_0"].frames == local.pads["audio_0"].frames);
}

// The frames of every pad whose name starts with `kind`, pads in name order.
std::vector<Frame> frames_of_kind(const RunResult& r, const std::string& kind) {
  std::vector<Frame> out;
  for (const auto& [name, log] : r.pads) {
    if (name.rfind(kind, 0) == 0) {
      out.insert(out.end(), log.frames.begin(), log.frames.end());
    }
  }
  return out;
}

// connection-speed changed while playing: the stream goes on with other
// streams, without a new connection to tell of. Decoded, the video is the
// 100k stream (number 2) from the start, then the 300k stream (number 1) from
// one of its key frames to the end, each frame equal to the file's, with the
// running time going on (the first new frame at its time in the file).
TEST_F(Pipeline, ConnectionSpeedChangedWhilePlayingSwitchesStreams) {
  fast_ = false;  // real time: the change lands mid-clip
  mms::server::ServerOptions so;
  so.single_port = true;  // MMSH, MMS and RTSP on the port url() names
  start_server(so);
  const std::string f = "mbr-sbp-mutex-10s.asf";
  RunResult local;
  run_pipeline(filesrc(media_dir() + "/" + f), &local);
  ASSERT_EQ(local.error, nullptr) << local.error->message;
  const std::vector<Frame>& high = local.pads["video_0"].frames;  // stream 1, 300k
  const std::vector<Frame>& low = local.pads["video_1"].frames;   // stream 2, 100k
  ASSERT_FALSE(high.empty());
  ASSERT_FALSE(low.empty());
  const std::vector<Frame> audio = frames_of_kind(local, "audio");
  for (const char* scheme : {"mmsh", "mmst", "rtspt"}) {
    SCOPED_TRACE(scheme);
    RunResult net;
    RunOptions o;
    o.act_after_frames = 60;  // some 2 s of audio and video
    o.act = [](GstElement* pipeline) {
      GstElement* src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
      g_object_set(src, "connection-speed", G_GUINT64_CONSTANT(1000), nullptr);
      gst_object_unref(src);
    };
    run_pipeline("mmssrc name=src location=" + url(f, scheme) +
                     " timeout=10 fast-start=false connection-speed=200",
                 &net, o);
    ASSERT_EQ(net.error, nullptr) << net.error->message;
    EXPECT_TRUE(net.eos) << net.stuck;
    EXPECT_EQ(net.reconnects, 0);
    std::string pads;
    for (const auto& [name, log] : net.pads) {
      pads += " " + name + "=" + std::to_string(log.frames.size());
    }
    const std::vector<Frame> got = frames_of_kind(net, "video");
    // got = low[0, n) followed by high[k, end).
    std::size_t n = 0;
    while (n < got.size() && n < low.size() && got[n].md5 == low[n].md5) {
      ++n;
    }
    const std::size_t rest = got.size() - n;
    std::printf(
        "switch over %s: %zu frames of stream 2, then %zu of stream 1 (of %zu); audio %zu "
        "of %zu; pads:%s\n",
        scheme, n, rest, high.size(), frames_of_kind(net, "audio").size(), audio.size(),
        pads.c_str());
    ASSERT_GT(n, 0u) << "no frame of the 100k stream before the change; pads:" << pads;
    ASSERT_GT(rest, 0u) << "no frame of the 300k stream after the change; pads:" << pads;
    ASSERT_LT(rest, high.size()) << "the 300k stream from its start: not a switch mid-clip";
    const std::vector<Frame> tail(high.end() - static_cast<std::ptrdiff_t>(rest), high.end());
    bool same_tail = true;
    for (std::size_t i = 0; i < rest; ++i) {
      same_tail = same_tail && got[n + i].md5 == tail[i].md5;
    }
    EXPECT_TRUE(same_tail) << "after the change: not the 300k stream's frames to the end; pads:"
                           << pads;
    // The running time goes on: the first new frame at its time in the file.
    const GstClockTimeDiff off = GST_CLOCK_DIFF(tail[0].pts, got[n].pts);
    EXPECT_LT(std::abs(off), 200 * GST_MSECOND)
        << "first frame after the change at " << got[n].pts / GST_MSECOND << " ms, in the file at "
        << tail[0].pts / GST_MSECOND << " ms";
    // The audio goes on to the end.
    const std::vector<Frame> net_audio = frames_of_kind(net, "audio");
    ASSERT_FALSE(net_audio.empty());
    EXPECT_EQ(net_audio.back().md5, audio.back().md5);
    EXPECT_GE(net_audio.size() + 10, audio.size());
  }
}

TEST_F(Pipeline, FlushingSeekLandsWithinOneKeyFrameIntervalAndPlaysToEos) {
  start_server();
  expect_seek_lands(mmssrc(url("av-wmv2-wma2-10s.asf")),
                    filesrc(media_dir() + "/av-wmv2-wma2-10s.asf"), 5 * GST_SECOND);
}

TEST_F(Pipeline, PlaybinPlaysMmshToEos) {
  start_server();
  std::string desc = "playbin uri=" + url("av-wmv2-wma2-10s.asf") +
                     " video-sink=\"fakesink sync=false\" audio-sink=\"fakesink sync=false\"";
  GstElement* pipeline = gst_parse_launch(desc.c_str(), nullptr);
  ASSERT_NE(pipeline, nullptr);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* msg = gst_bus_timed_pop_filtered(
      bus, 60 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  ASSERT_NE(msg, nullptr) << "no EOS in time";
  EXPECT_EQ(GST_MESSAGE_TYPE(msg), GST_MESSAGE_EOS);
  gst_message_unref(msg);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(pipeline);
}

TEST_F(Pipeline, LiveBroadcastIsNotSeekableAndStreams) {
  mms::server::ServerOptions o;
  o.live["live"] = media_dir() + "/av-noindex.asf";
  start_server(o);
  std::string desc = "mmssrc name=src location=" + url("live") +
                     " timeout=10 ! asfdemux name=d d.video_0 ! "
                     "queue ! fakesink name=v sync=false";
  GstElement* pipeline = gst_parse_launch(desc.c_str(), nullptr);
  ASSERT_NE(pipeline, nullptr);
  gst_element_set_state(pipeline, GST_STATE_PAUSED);
  ASSERT_EQ(gst_element_get_state(pipeline, nullptr, nullptr, 20 * GST_SECOND),
            GST_STATE_CHANGE_SUCCESS);
  GstQuery* q = gst_query_new_seeking(GST_FORMAT_TIME);
  gboolean seekable = TRUE;
  if (gst_element_query(pipeline, q)) {
    gst_query_parse_seeking(q, nullptr, &seekable, nullptr, nullptr);
  }
  gst_query_unref(q);
  EXPECT_FALSE(seekable);
  GstElement* src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
  ASSERT_NE(src, nullptr);
  EXPECT_FALSE(gst_element_seek_simple(src, GST_FORMAT_TIME, GST_SEEK_FLAG_FLUSH, GST_SECOND));
  // Not a live source (is-live unset): no latency.
  GstQuery* lq = gst_query_new_latency();
  ASSERT_TRUE(gst_element_query(src, lq));
  gboolean live = TRUE;
  GstClockTime min = GST_CLOCK_TIME_NONE;
  gst_query_parse_latency(lq, &live, &min, nullptr);
  gst_query_unref(lq);
  EXPECT_FALSE(live);
  EXPECT_EQ(min, 0u);
  gst_object_unref(src);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
}

// With is-live the element answers LATENCY with the content's preroll plus
// the network allowance, tells the pipeline when the header brings it, and the
// pipeline's sinks are configured with at least that.
TEST_F(Pipeline, LiveSourceAnswersThePrerollAsLatency) {
  const std::string file = media_dir() + "/av-noindex.asf";
  std::ifstream in(file, std::ios::binary);
  const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                        std::istreambuf_iterator<char>());
  mms::Result<mms::asf::HeaderInfo> info = mms::asf::parse_header(mms::ByteView(bytes));
  ASSERT_TRUE(info.ok()) << info.status().what();
  ASSERT_GT(info->preroll_ms, 0u);
  const GstClockTime expected = info->preroll_ms * GST_MSECOND + 500 * GST_MSECOND;

  mms::server::ServerOptions o;
  o.live["live"] = file;
  start_server(o);
  std::string desc = "mmssrc name=src is-live=true location=" + url("live") +
                     " timeout=10 ! asfdemux name=d d.video_0 ! queue ! fakesink name=v sync=true";
  GstElement* pipeline = gst_parse_launch(desc.c_str(), nullptr);
  ASSERT_NE(pipeline, nullptr);
  GstElement* src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
  ASSERT_NE(src, nullptr);
  GstBus* bus = gst_element_get_bus(pipeline);
  EXPECT_EQ(gst_element_set_state(pipeline, GST_STATE_PAUSED), GST_STATE_CHANGE_NO_PREROLL);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  bool got_latency_message = false;
  for (;;) {
    GstMessage* msg = gst_bus_timed_pop_filtered(
        bus, 20 * GST_SECOND,
        static_cast<GstMessageType>(GST_MESSAGE_LATENCY | GST_MESSAGE_ERROR | GST_MESSAGE_EOS));
    if (msg == nullptr) {
      break;
    }
    const bool from_src = GST_MESSAGE_SRC(msg) == GST_OBJECT(src);
    const GstMessageType type = GST_MESSAGE_TYPE(msg);
    gst_message_unref(msg);
    ASSERT_EQ(type, GST_MESSAGE_LATENCY) << "error or EOS before the latency message";
    if (from_src) {
      got_latency_message = true;
      break;
    }
  }
  EXPECT_TRUE(got_latency_message);
  GstQuery* q = gst_query_new_latency();
  ASSERT_TRUE(gst_element_query(src, q));
  gboolean live = FALSE;
  GstClockTime min = 0;
  GstClockTime max = 0;
  gst_query_parse_latency(q, &live, &min, &max);
  gst_query_unref(q);
  EXPECT_TRUE(live);
  EXPECT_EQ(min, expected);
  EXPECT_EQ(max, GST_CLOCK_TIME_NONE);
  // The whole pipeline's answer (the sinks', once PLAYING) includes it.
  EXPECT_EQ(gst_element_get_state(pipeline, nullptr, nullptr, 20 * GST_SECOND),
            GST_STATE_CHANGE_SUCCESS);
  q = gst_query_new_latency();
  ASSERT_TRUE(gst_element_query(pipeline, q));
  gst_query_parse_latency(q, &live, &min, nullptr);
  gst_query_unref(q);
  EXPECT_TRUE(live);
  EXPECT_GE(min, expected);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(src);
  gst_object_unref(pipeline);
}

// The header's Script Command Object reaches the application as
// mms-script-command messages (asfdemux drops it), and the content is intact.
TEST_F(Pipeline, ScriptCommandsInTheHeaderArePosted) {
  const std::string in = media_dir() + "/av-wmv2-wma2-10s.asf";
  const std::string out = media_dir() + "/av-script.asf";
  const std::string cmd = "python3 '" + std::string(MMS_SOURCE_ROOT) +
                          "/tests/tools/asfedit.py' script '" + in + "' '" + out +
                          "' '0:TEXT:Hello|1500:URL:http://example.invalid/page|4000:CAPTION:"
                          "Second caption'";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  start_server();
  RunResult r;
  run_pipeline(mmssrc(url("av-script.asf")), &r);
  ASSERT_EQ(r.error, nullptr) << r.error->message;
  EXPECT_TRUE(r.eos);
  EXPECT_EQ(r.script_commands,
            (std::vector<std::string>{"header/0/0/TEXT/Hello",
                                      "header/0/1500/URL/http://example.invalid/page",
                                      "header/0/4000/CAPTION/Second caption"}));
  expect_same_content(mmssrc(url("av-script.asf")), filesrc(out));
}

// A command (script) stream's samples become mms-script-command messages as
// their packets are pushed, in order, with their presentation times.
TEST_F(Pipeline, ScriptCommandStreamSamplesArePosted) {
  const std::string out = media_dir() + "/commands.asf";
  const std::string cmd = "python3 '" + std::string(MMS_SOURCE_ROOT) +
                          "/tests/tools/asfcommands.py' '" + out +
                          "' '0:TEXT:Hello there|1500:URL:http://example.invalid/x|3000:CAPTION:"
                          "Third'";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  mms::server::ServerOptions o;
  o.single_port = true;  // MMSH, MMS and RTSP on the port url() names
  start_server(o);
  for (const char* scheme : {"mmsh", "mmst", "rtspt"}) {
    const std::string desc = mmssrc(url("commands.asf", scheme)) + " ! fakesink";
    GstElement* pipeline = gst_parse_launch(desc.c_str(), nullptr);
    ASSERT_NE(pipeline, nullptr);
    GstBus* bus = gst_element_get_bus(pipeline);
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
    std::vector<std::string> seen;
    bool eos = false;
    for (;;) {
      GstMessage* msg = gst_bus_timed_pop_filtered(
          bus, 30 * GST_SECOND,
          static_cast<GstMessageType>(GST_MESSAGE_ELEMENT | GST_MESSAGE_ERROR | GST_MESSAGE_EOS));
      if (msg == nullptr) {
        break;
      }
      const GstMessageType type = GST_MESSAGE_TYPE(msg);
      const GstStructure* st = gst_message_get_structure(msg);
      if (type == GST_MESSAGE_ELEMENT && gst_structure_has_name(st, "mms-script-command")) {
        guint64 ts = 0;
        gst_structure_get_uint64(st, "timestamp", &ts);
        seen.push_back(std::string(gst_structure_get_string(st, "origin")) + "/" +
                       std::to_string(ts / GST_MSECOND) + "/" +
                       gst_structure_get_string(st, "type") + "/" +
                       gst_structure_get_string(st, "command"));
      }
      gst_message_unref(msg);
      if (type == GST_MESSAGE_ERROR) {
        ADD_FAILURE() << scheme << ": error";
        break;
      }
      if (type == GST_MESSAGE_EOS) {
        eos = true;
        break;
      }
    }
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(bus);
    gst_object_unref(pipeline);
    EXPECT_TRUE(eos) << scheme;
    EXPECT_EQ(seen, (std::vector<std::string>{"stream/0/TEXT/Hello there",
                                              "stream/1500/URL/http://example.invalid/x",
                                              "stream/3000/CAPTION/Third"}))
        << scheme;
  }
}

// --- errors ---------------------------------------------------------------

void expect_error(const std::string& src, GQuark domain, gint code, const char* mms_code) {
  RunResult r;
  run_pipeline(src, &r, -1, 30);
  ASSERT_NE(r.error, nullptr) << "expected an error, got " << (r.eos ? "EOS" : "nothing");
  EXPECT_EQ(r.error->domain, domain) << r.error->message;
  EXPECT_EQ(r.error->code, code) << r.error->message;
  EXPECT_FALSE(r.eos);
  ASSERT_NE(r.error_details, nullptr);
  EXPECT_STREQ(gst_structure_get_string(r.error_details, "mms-code"), mms_code);
  EXPECT_NE(gst_structure_get_string(r.error_details, "uri"), nullptr);
}

TEST_F(Pipeline, MissingFileIsNotFound) {
  start_server();
  expect_error(mmssrc(url("nope.asf")), GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND,
               "not-found");
}

TEST_F(Pipeline, AuthenticationRequiredAndAccepted) {
  mms::server::ServerOptions o;
  o.auth_user = "alice";
  o.auth_password = "s3cret";
  start_server(o);
  expect_error(mmssrc(url("audio-wma2-10s.wma")), GST_RESOURCE_ERROR,
               GST_RESOURCE_ERROR_NOT_AUTHORIZED, "not-authorized");
  expect_error(mmssrc(url("audio-wma2-10s.wma"), "user-id=alice user-pw=wrong"), GST_RESOURCE_ERROR,
               GST_RESOURCE_ERROR_NOT_AUTHORIZED, "not-authorized");
  std::string with_url_creds =
      "mmsh://alice:s3cret@127.0.0.1:" + std::to_string(server_->mmsh_port()) +
      "/audio-wma2-10s.wma";
  expect_same_content(mmssrc(with_url_creds), filesrc(media_dir() + "/audio-wma2-10s.wma"));
  expect_same_content(mmssrc(url("audio-wma2-10s.wma"), "user-id=alice user-pw=s3cret"),
                      filesrc(media_dir() + "/audio-wma2-10s.wma"));
}

// Each HTTP scheme alone: mmssrc answers what the server offers (Digest and
// NTLM with a connection per MMSH request), a wrong password is refused.
TEST_F(Pipeline, AuthenticationWithEachHttpScheme) {
  for (mms::auth::Scheme scheme :
       {mms::auth::kSchemeBasic, mms::auth::kSchemeDigest, mms::auth::kSchemeNtlm}) {
    SCOPED_TRACE(static_cast<unsigned>(scheme));
    mms::server::ServerOptions o;
    o.auth_user = "alice";
    o.auth_password = "s3cret";
    o.auth_schemes = scheme;
    start_server(o);
    expect_same_content(mmssrc(url("audio-wma2-10s.wma"), "user-id=alice user-pw=s3cret"),
                        filesrc(media_dir() + "/audio-wma2-10s.wma"));
    expect_error(mmssrc(url("audio-wma2-10s.wma"), "user-id=alice user-pw=wrong"),
                 GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_AUTHORIZED, "not-authorized");
  }
}

TEST_F(Pipeline, RedirectIsFollowed) {
  mms::server::ServerOptions o;
  start_server(o);
  // A second server that redirects to the first one.
  mms::server::ServerOptions r;
  r.root = media_dir();
  r.redirects["old.asf"] = url("audio-wma2-10s.wma", "http");
  mms::server::Server redirector;
  ASSERT_TRUE(redirector.start(r).ok());
  std::string src =
      "mmssrc timeout=10 location=mmsh://127.0.0.1:" + std::to_string(redirector.mmsh_port()) +
      "/old.asf";
  RunResult net;
  run_pipeline(src, &net);
  ASSERT_EQ(net.error, nullptr) << net.error->message;
  EXPECT_TRUE(net.eos);
  bool redirected = false;
  for (const std::string& m : net.element_messages) {
    redirected = redirected || m == "mms-redirect";
  }
  EXPECT_TRUE(redirected);
  EXPECT_FALSE(net.pads["audio_0"].frames.empty());
}

struct FaultCase {
  mms::mmsh::Fault fault;
  const char* mms_code;
};

class Faults : public Pipeline, public ::testing::WithParamInterface<FaultCase> {};

TEST_P(Faults, BadServerGivesAClearErrorNeverEosOrHang) {
  mms::server::ServerOptions o;
  o.fault = GetParam().fault;
  start_server(o);
  expect_error(mmssrc(url("av-wmv2-wma2-10s.asf"), "timeout=2"), GST_RESOURCE_ERROR,
               GST_RESOURCE_ERROR_READ, GetParam().mms_code);
}

INSTANTIATE_TEST_SUITE_P(
    Server, Faults,
    ::testing::Values(FaultCase{mms::mmsh::Fault::kGarbage, "malformed"},
                      FaultCase{mms::mmsh::Fault::kTruncate, "connection-lost"},
                      FaultCase{mms::mmsh::Fault::kHugeLength, "limit-exceeded"},
                      FaultCase{mms::mmsh::Fault::kStallHeader, "timed-out"},
                      FaultCase{mms::mmsh::Fault::kBadFrame, "malformed"}),
    [](const ::testing::TestParamInfo<FaultCase>& case_info) {
      return std::string(mms::mmsh::to_string(case_info.param.fault)) == "stall-header"
                 ? std::string("StallHeader")
                 : std::to_string(case_info.index);
    });

TEST_F(Pipeline, RefusedConnectionIsOpenRead) {
  start_server();
  std::uint16_t port = server_->mmsh_port();
  server_->stop();
  expect_error("mmssrc timeout=5 location=mmsh://127.0.0.1:" + std::to_string(port) + "/x.asf",
               GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ, "refused");
}

}  // namespace
}  // namespace mms_test

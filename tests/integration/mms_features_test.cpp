// End-to-end MMS (MS-MMSP) features: the real mmssrc against the in-process
// mms-server on 127.0.0.1.
//  - server-side playlists: every entry plays to EOS through one asfdemux
//    (chained headers), over MMS/TCP and MMS/UDP;
//  - keep-alive: a pipeline PAUSED for several server Idle-Timeouts (the
//    server pings, the client answers and pauses the server) resumes and
//    plays to EOS with the file's decoded frames;
//  - every HRESULT the server can answer maps to the documented GStreamer
//    error, with `mms-detail` = the HRESULT.
// Correctness is decoded content: per-pad frame checksums compared with the
// local files'. No timing assertions: waits are bounded and only end a
// scenario.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gst/gst.h>
#include <gtest/gtest.h>

#include "tools/server/server.h"

namespace {

std::string media_dir() {
  return std::string(MMS_BUILD_ROOT) + "/test-media";
}

// HRESULTs of MS-MMSP (docs/protocols/mmsp-reference.md §4.11).
constexpr guint kHrFileNotFound = 0x80070002u;
constexpr guint kHrAccessDenied = 0x80070005u;
constexpr guint kNsEFileOpenFailed = 0xC00D001Du;

struct Frame {
  GstClockTime pts;
  std::string md5;
  bool operator==(const Frame& o) const { return pts == o.pts && md5 == o.md5; }
};

struct RunResult {
  std::map<std::string, std::vector<Frame>> pads;  // asfdemux pad name -> decoded frames
  bool eos = false;
  GError* error = nullptr;
  GstStructure* error_details = nullptr;
  std::vector<std::string> redirects;   // new-location of each mms-redirect message
  std::vector<std::string> transports;  // transport of each mms-transport message
  bool paused = false;                  // the pause scenario ran
  int reconnects = 0;                   // progress START messages of code "reconnect"
  std::string stuck;                    // why the run hit its bound (states), if it did
  ~RunResult() {
    g_clear_error(&error);
    if (error_details != nullptr) {
      gst_structure_free(error_details);
    }
  }
  std::size_t frames() const {
    std::size_t n = 0;
    for (const auto& [name, f] : pads) {
      n += f.size();
    }
    return n;
  }
};

struct RunOptions {
  int timeout_s = 60;
  // Pause scenario: the sinks sync to the clock (real time) and the branch
  // queues keep their default bounds, so PAUSED stalls the whole pipeline
  // back to the server. After `pause_after_frames` decoded frames the
  // pipeline goes PAUSED for `pause_ms`, then PLAYING again.
  // The sinks are async=false: they still block in PAUSED, but the state
  // change does not wait for their preroll. With async sinks, a pause landing
  // while one branch is starved (its next data sits behind a full 1 s queue
  // of the other branch, whose sink is prerolled) never completes, and the
  // PLAYING asked for later waits for it: the plain per-branch queues after
  // asfdemux deadlock (playbin's multiqueue would grow instead).
  int pause_after_frames = -1;
  int pause_ms = 0;
};

struct Ctx {
  std::mutex mu;
  RunResult* result;
  GstElement* pipeline;
  bool sync;
};

GstPadProbeReturn on_buffer(GstPad* pad, GstPadProbeInfo* info, gpointer data) {
  auto* ctx = static_cast<Ctx*>(data);
  GstBuffer* buf = GST_PAD_PROBE_INFO_BUFFER(info);
  GstMapInfo map;
  if (!gst_buffer_map(buf, &map, GST_MAP_READ)) {
    return GST_PAD_PROBE_OK;
  }
  gchar* sum = g_compute_checksum_for_data(G_CHECKSUM_MD5, map.data, map.size);
  gst_buffer_unmap(buf, &map);
  const char* name = static_cast<const char*>(g_object_get_data(G_OBJECT(pad), "demux-pad"));
  std::lock_guard<std::mutex> lock(ctx->mu);
  ctx->result->pads[name].push_back(Frame{GST_BUFFER_PTS(buf), sum});
  g_free(sum);
  return GST_PAD_PROBE_OK;
}

void on_decoded_pad(GstElement* dec, GstPad* pad, gpointer data) {
  auto* ctx = static_cast<Ctx*>(data);
  const char* demux_pad = static_cast<const char*>(g_object_get_data(G_OBJECT(dec), "demux-pad"));
  GstElement* sink = gst_element_factory_make("fakesink", nullptr);
  g_object_set(sink, "sync", ctx->sync ? TRUE : FALSE, nullptr);
  if (ctx->sync) {
    g_object_set(sink, "async", FALSE, nullptr);  // see RunOptions
  }
  gst_bin_add(GST_BIN(ctx->pipeline), sink);
  gst_element_sync_state_with_parent(sink);
  GstPad* sinkpad = gst_element_get_static_pad(sink, "sink");
  g_object_set_data_full(G_OBJECT(sinkpad), "demux-pad", g_strdup(demux_pad), g_free);
  gst_pad_link(pad, sinkpad);
  gst_pad_add_probe(sinkpad, GST_PAD_PROBE_TYPE_BUFFER, on_buffer, ctx, nullptr);
  gst_object_unref(sinkpad);
}

void on_demux_pad(GstElement*, GstPad* pad, gpointer data) {
  auto* ctx = static_cast<Ctx*>(data);
  gchar* name = gst_pad_get_name(pad);
  {
    std::lock_guard<std::mutex> lock(ctx->mu);
    ctx->result->pads[name];
  }
  GstElement* queue = gst_element_factory_make("queue", nullptr);
  if (!ctx->sync) {
    g_object_set(queue, "max-size-buffers", 0, "max-size-time", G_GUINT64_CONSTANT(0),
                 "max-size-bytes", 0, nullptr);
  }
  GstElement* dec = gst_element_factory_make("decodebin", nullptr);
  gst_bin_add_many(GST_BIN(ctx->pipeline), queue, dec, nullptr);
  g_object_set_data_full(G_OBJECT(dec), "demux-pad", g_strdup(name), g_free);
  g_signal_connect(dec, "pad-added", G_CALLBACK(on_decoded_pad), ctx);
  gst_element_sync_state_with_parent(queue);
  gst_element_sync_state_with_parent(dec);
  GstPad* qsink = gst_element_get_static_pad(queue, "sink");
  gst_pad_link(pad, qsink);
  gst_object_unref(qsink);
  gst_element_link(queue, dec);
  g_free(name);
}

// "name=STATE[->PENDING]" for the pipeline and every element in it: a run
// that reaches its bound says which element did not get to its state.
std::string describe_states(GstElement* pipeline) {
  auto one = [](GstElement* e) {
    GstState cur = GST_STATE_VOID_PENDING;
    GstState pending = GST_STATE_VOID_PENDING;
    gst_element_get_state(e, &cur, &pending, 0);
    gchar* name = gst_element_get_name(e);
    std::string out = std::string(name) + "=" + gst_element_state_get_name(cur);
    if (pending != GST_STATE_VOID_PENDING) {
      out += std::string("->") + gst_element_state_get_name(pending);
    }
    g_free(name);
    return out;
  };
  std::string out = one(pipeline);
  GstIterator* it = gst_bin_iterate_recurse(GST_BIN(pipeline));
  GValue v = G_VALUE_INIT;
  while (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
    out += " " + one(GST_ELEMENT(g_value_get_object(&v)));
    g_value_reset(&v);
  }
  g_value_unset(&v);
  gst_iterator_free(it);
  return out;
}

// Runs `SRC ! asfdemux` and decodes every pad (see RunOptions).
void run_pipeline(const std::string& src_desc, RunResult* result, const RunOptions& o = {}) {
  GError* perr = nullptr;
  std::string desc = src_desc + " ! asfdemux name=d";
  GstElement* pipeline = gst_parse_launch(desc.c_str(), &perr);
  ASSERT_NE(pipeline, nullptr) << (perr ? perr->message : "");
  const bool pause = o.pause_after_frames >= 0;
  Ctx ctx{{}, result, pipeline, pause};
  GstElement* demux = gst_bin_get_by_name(GST_BIN(pipeline), "d");
  g_signal_connect(demux, "pad-added", G_CALLBACK(on_demux_pad), &ctx);
  GstBus* bus = gst_element_get_bus(pipeline);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  enum class Phase { kPlaying, kPaused, kResumed } phase = Phase::kPlaying;
  gint64 resume_at = 0;
  const gint64 deadline =
      g_get_monotonic_time() + gint64{o.timeout_s} * G_USEC_PER_SEC + gint64{o.pause_ms} * 1000;
  while (g_get_monotonic_time() < deadline) {
    if (pause && phase == Phase::kPlaying) {
      std::size_t n = 0;
      {
        std::lock_guard<std::mutex> lock(ctx.mu);
        n = result->frames();
      }
      if (n >= static_cast<std::size_t>(o.pause_after_frames)) {
        gst_element_set_state(pipeline, GST_STATE_PAUSED);
        phase = Phase::kPaused;
        resume_at = g_get_monotonic_time() + gint64{o.pause_ms} * 1000;
      }
    } else if (phase == Phase::kPaused && g_get_monotonic_time() >= resume_at) {
      gst_element_set_state(pipeline, GST_STATE_PLAYING);
      phase = Phase::kResumed;
      result->paused = true;
    }
    GstMessage* msg = gst_bus_timed_pop(bus, 50 * GST_MSECOND);
    if (msg == nullptr) {
      continue;
    }
    bool done = false;
    switch (GST_MESSAGE_TYPE(msg)) {
      case GST_MESSAGE_ERROR: {
        gchar* dbg = nullptr;
        gst_message_parse_error(msg, &result->error, &dbg);
        const GstStructure* details = nullptr;
        gst_message_parse_error_details(msg, &details);
        if (details != nullptr && result->error_details == nullptr) {
          result->error_details = gst_structure_copy(details);
        }
        g_free(dbg);
        done = true;
        break;
      }
      case GST_MESSAGE_EOS:
        result->eos = true;
        done = true;
        break;
      case GST_MESSAGE_PROGRESS: {
        GstProgressType type;
        gchar* code = nullptr;
        gchar* text = nullptr;
        gst_message_parse_progress(msg, &type, &code, &text);
        if (type == GST_PROGRESS_TYPE_START && g_strcmp0(code, "reconnect") == 0) {
          ++result->reconnects;
        }
        g_free(code);
        g_free(text);
        break;
      }
      case GST_MESSAGE_ELEMENT: {
        const GstStructure* s = gst_message_get_structure(msg);
        if (s != nullptr && gst_structure_has_name(s, "mms-redirect")) {
          const char* l = gst_structure_get_string(s, "new-location");
          result->redirects.push_back(l != nullptr ? l : "");
        } else if (s != nullptr && gst_structure_has_name(s, "mms-transport")) {
          const char* t = gst_structure_get_string(s, "transport");
          result->transports.push_back(t != nullptr ? t : "");
        }
        break;
      }
      default:
        break;
    }
    gst_message_unref(msg);
    if (done) {
      break;
    }
  }
  if (!result->eos && result->error == nullptr) {
    result->stuck = describe_states(pipeline);  // bound reached: where it stopped
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(demux);
  gst_object_unref(pipeline);
}

// Decoded frames per stream kind ("audio", "video"), pads in creation order
// (asfdemux names chained pads audio_0, audio_1, ...).
std::map<std::string, std::vector<std::string>> by_kind(const RunResult& r) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& [name, frames] : r.pads) {
    const std::string kind = name.substr(0, name.find('_'));
    for (const Frame& f : frames) {
      out[kind].push_back(f.md5);
    }
  }
  return out;
}

class MmsFeatures : public ::testing::Test {
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
    opts.mmsh_port = 0;
    opts.mms_port = 0;
    server_ = std::make_unique<mms::server::Server>();
    mms::Status st = server_->start(opts);
    ASSERT_TRUE(st.ok()) << st.what();
  }
  static mms::server::ServerOptions fast() {
    mms::server::ServerOptions o;
    o.fast = true;
    return o;
  }
  std::string url(const std::string& name, const char* scheme = "mmst") const {
    const std::string sch(scheme);
    const std::uint16_t port = sch == "mmsh"                    ? server_->mmsh_port()
                               : sch.compare(0, 4, "rtsp") == 0 ? server_->rtsp_port()
                                                                : server_->mms_port();
    return sch + "://127.0.0.1:" + std::to_string(port) + "/" + name;
  }
  static std::string mmssrc(const std::string& u, const std::string& props = "") {
    return "mmssrc location=" + u + " timeout=10 " + props;
  }
  static std::string filesrc(const std::string& path) {
    return "filesrc location=" + path + " ! queue";
  }

  // The playlist {first, second} over `scheme`: every decoded frame of both
  // files, in order, per stream kind.
  void expect_playlist_plays_both(const char* scheme, const std::string& first,
                                  const std::string& second) {
    mms::server::ServerOptions o = fast();
    o.playlists["list"] = {first, second};
    start_server(o);
    RunResult net;
    RunResult a;
    RunResult b;
    run_pipeline(mmssrc(url("list", scheme)), &net);
    run_pipeline(filesrc(media_dir() + "/" + first), &a);
    run_pipeline(filesrc(media_dir() + "/" + second), &b);
    ASSERT_EQ(a.error, nullptr) << a.error->message;
    ASSERT_EQ(b.error, nullptr) << b.error->message;
    ASSERT_EQ(net.error, nullptr) << net.error->message;
    EXPECT_TRUE(net.eos);
    auto want = by_kind(a);
    for (auto& [kind, sums] : by_kind(b)) {
      want[kind].insert(want[kind].end(), sums.begin(), sums.end());
    }
    auto got = by_kind(net);
    std::string pads;
    for (const auto& [name, frames] : net.pads) {
      pads += " " + name + "=" + std::to_string(frames.size());
    }
    std::printf("playlist over %s: %s then %s -> pads:%s\n", scheme, first.c_str(), second.c_str(),
                pads.c_str());
    ASSERT_FALSE(want.empty());
    for (const auto& [kind, sums] : want) {
      EXPECT_EQ(got[kind].size(), sums.size()) << kind << " frames; pads:" << pads;
      EXPECT_TRUE(got[kind] == sums) << kind << ": decoded frames differ from " << first << " then "
                                     << second << "; pads:" << pads;
    }
  }

  std::unique_ptr<mms::server::Server> server_;
};

// Expects an error RESOURCE/`code` with mms-code `mms_code` and mms-detail `hr`.
void expect_hresult_error(const std::string& src, gint code, const char* mms_code, guint hr,
                          RunResult* out = nullptr) {
  RunResult own;
  RunResult& r = out != nullptr ? *out : own;
  RunOptions o;
  o.timeout_s = 30;
  run_pipeline(src, &r, o);
  ASSERT_NE(r.error, nullptr) << src << ": expected an error, got " << (r.eos ? "EOS" : "nothing");
  EXPECT_EQ(r.error->domain, GST_RESOURCE_ERROR) << r.error->message;
  EXPECT_EQ(r.error->code, code) << src << ": " << r.error->message;
  EXPECT_FALSE(r.eos);
  ASSERT_NE(r.error_details, nullptr);
  EXPECT_STREQ(gst_structure_get_string(r.error_details, "mms-code"), mms_code) << src;
  guint detail = 0;
  EXPECT_TRUE(gst_structure_get_uint(r.error_details, "mms-detail", &detail)) << src;
  EXPECT_EQ(detail, hr) << src << std::hex << ": mms-detail 0x" << detail << ", want 0x" << hr;
}

// --- playlists ---------------------------------------------------------------

TEST_F(MmsFeatures, MmstPlaylistPlaysEveryEntry) {
  // An audio-only entry then an audio+video one: video frames exist only if
  // the second entry played.
  expect_playlist_plays_both("mmst", "audio-wma2-10s.wma", "av-wmv2-wma2-10s.asf");
}

TEST_F(MmsFeatures, MmsuPlaylistPlaysEveryEntry) {
  expect_playlist_plays_both("mmsu", "audio-wma2-10s.wma", "av-wmv2-wma2-10s.asf");
}

TEST_F(MmsFeatures, RtsptPlaylistPlaysEveryEntry) {
  // RTSP: End-Of-Playlist-Entry, ANNOUNCE with the next entry's SDP, PLAY.
  expect_playlist_plays_both("rtspt", "audio-wma2-10s.wma", "av-wmv2-wma2-10s.asf");
}

TEST_F(MmsFeatures, RtspuPlaylistPlaysEveryEntry) {
  expect_playlist_plays_both("rtspu", "audio-wma2-10s.wma", "av-wmv2-wma2-10s.asf");
}

TEST_F(MmsFeatures, MmstPlaylistOfTheSameFileTwice) {
  expect_playlist_plays_both("mmst", "av-wmv2-wma2-10s.asf", "av-wmv2-wma2-10s.asf");
}

// --- keep-alive --------------------------------------------------------------

// The server pings after 500 ms of client silence and closes a session that
// is not streaming after 2 s without a client packet; the pipeline stays
// PAUSED three times that long.
// `want_reconnects` < 0: not checked.
void expect_pause_survives(MmsFeatures* t, const std::string& net_src, const std::string& file,
                           int pause_ms = 6000, int want_reconnects = -1) {
  RunResult net;
  RunResult local;
  RunOptions o;
  o.pause_after_frames = 40;
  o.pause_ms = pause_ms;
  o.timeout_s = 90;
  run_pipeline(net_src, &net, o);
  run_pipeline("filesrc location=" + file + " ! queue", &local);
  ASSERT_EQ(local.error, nullptr) << local.error->message;
  ASSERT_EQ(net.error, nullptr) << net.error->message;
  EXPECT_TRUE(net.paused);
  EXPECT_TRUE(net.eos) << net.stuck;
  ASSERT_FALSE(local.pads.empty());
  ASSERT_EQ(net.pads.size(), local.pads.size());
  for (const auto& [name, frames] : local.pads) {
    EXPECT_EQ(net.pads[name].size(), frames.size()) << name;
    EXPECT_TRUE(net.pads[name] == frames) << name << ": decoded frames differ";
  }
  if (want_reconnects >= 0) {
    EXPECT_EQ(net.reconnects, want_reconnects);
  } else if (want_reconnects < -1) {
    EXPECT_GE(net.reconnects, -want_reconnects - 1);  // -2: at least one
  }
  (void)t;
}

TEST_F(MmsFeatures, MmstPausedLongerThanTheIdleTimeoutPlaysOn) {
  mms::server::ServerOptions o = fast();
  o.mms_keepalive_ms = 500;
  o.idle_timeout_ms = 2000;
  start_server(o);
  expect_pause_survives(this, mmssrc(url("av-wmv2-wma2-10s.asf", "mmst")),
                        media_dir() + "/av-wmv2-wma2-10s.asf");
}

TEST_F(MmsFeatures, MmsuPausedLongerThanTheIdleTimeoutPlaysOn) {
  mms::server::ServerOptions o = fast();
  o.mms_keepalive_ms = 500;
  o.idle_timeout_ms = 2000;
  start_server(o);
  expect_pause_survives(this, mmssrc(url("av-wmv2-wma2-10s.asf", "mmsu")),
                        media_dir() + "/av-wmv2-wma2-10s.asf");
}

// Long pauses on every transport: a real-time server, a file of ~30 MB in 6 s
// (more than the element's 4 MB queue and the socket buffers hold), an idle
// timeout of 2 s on every protocol, PAUSED for 5 s. Every decoded frame
// equals the file's. How each transport survives is checked too, so a
// server that never timed out cannot pass for one that did: MMSH has no
// pause request, the server abandons the unread response and the element
// reconnects and resumes by seek; RTSP/TCP stays up by keepalive requests;
// RTSP/UDP PAUSEs the server and keeps it alive the same way; MMS stops the
// server (StopPlaying), whose Idle-Timeout then runs in READY (MS-MMSP: a Pong
// stops only the KeepAlive timer), so MMS too comes back by a reconnect that
// resumes at the next packet. With Fast Start the file is mostly sent by the
// time of the pause, the element's queue stays full, and the reconnect made
// during the pause pauses the server again: a second idle close and reconnect
// (so "at least one" for MMS).
void expect_long_pause_survives(MmsFeatures* t, const std::string& net_src, int want_reconnects) {
  expect_pause_survives(t, net_src, media_dir() + "/av-640x480-6s.asf", 5000, want_reconnects);
}

mms::server::ServerOptions real_time_with_idle_timeout() {
  mms::server::ServerOptions o;  // paced, as a real server
  o.mms_keepalive_ms = 500;
  o.idle_timeout_ms = 2000;
  return o;
}

TEST_F(MmsFeatures, MmshLongPauseReconnectsAfterTheServerDroppedIt) {
  start_server(real_time_with_idle_timeout());
  expect_long_pause_survives(this, mmssrc(url("av-640x480-6s.asf", "mmsh")), 1);
}

TEST_F(MmsFeatures, RtsptLongPauseKeptAliveByKeepalives) {
  start_server(real_time_with_idle_timeout());
  expect_long_pause_survives(this, mmssrc(url("av-640x480-6s.asf", "rtspt")), 0);
}

TEST_F(MmsFeatures, RtspuLongPausePausesTheServer) {
  start_server(real_time_with_idle_timeout());
  expect_long_pause_survives(this, mmssrc(url("av-640x480-6s.asf", "rtspu")), 0);
}

TEST_F(MmsFeatures, MmstLongPauseReconnectsAfterTheIdleTimeout) {
  start_server(real_time_with_idle_timeout());
  expect_long_pause_survives(this, mmssrc(url("av-640x480-6s.asf", "mmst")), -2);
}

TEST_F(MmsFeatures, MmsuLongPauseReconnectsAfterTheIdleTimeout) {
  start_server(real_time_with_idle_timeout());
  expect_long_pause_survives(this, mmssrc(url("av-640x480-6s.asf", "mmsu")), -2);
}

TEST_F(MmsFeatures, PacedServerPausedLongerThanTheIdleTimeoutPlaysOn) {
  mms::server::ServerOptions o;  // real-time pacing, as a real server
  o.mms_keepalive_ms = 500;
  o.idle_timeout_ms = 2000;
  start_server(o);
  expect_pause_survives(this, mmssrc(url("av-wmv2-wma2-10s.asf", "mmst")),
                        media_dir() + "/av-wmv2-wma2-10s.asf");
}

// --- HRESULTs ----------------------------------------------------------------

TEST_F(MmsFeatures, FileNotFoundHresult) {
  start_server(fast());
  for (const char* scheme : {"mmst", "mmsu"}) {
    RunResult r;
    expect_hresult_error(mmssrc(url("nope.asf", scheme)), GST_RESOURCE_ERROR_NOT_FOUND, "not-found",
                         kHrFileNotFound, &r);
    if (r.error_details != nullptr) {
      EXPECT_STREQ(gst_structure_get_string(r.error_details, "mms-transport"), scheme);
    }
  }
}

TEST_F(MmsFeatures, PlaylistWithAMissingEntryIsNotFound) {
  mms::server::ServerOptions o = fast();
  o.playlists["list"] = {"audio-wma2-10s.wma", "missing.asf"};
  start_server(o);
  expect_hresult_error(mmssrc(url("list", "mmst")), GST_RESOURCE_ERROR_NOT_FOUND, "not-found",
                       kHrFileNotFound);
}

TEST_F(MmsFeatures, AccessDeniedHresult) {
  mms::server::ServerOptions o = fast();
  o.auth_user = "alice";
  o.auth_password = "s3cret";
  start_server(o);
  for (const char* scheme : {"mmst", "mmsu"}) {
    expect_hresult_error(mmssrc(url("audio-wma2-10s.wma", scheme), "user-id=alice user-pw=wrong"),
                         GST_RESOURCE_ERROR_NOT_AUTHORIZED, "not-authorized", kHrAccessDenied);
  }
}

TEST_F(MmsFeatures, UnopenableFileHresult) {
  // A file that exists but is no ASF: NS_E_FILE_OPEN_FAILED, "other HRESULT
  // errors" -> OPEN_READ.
  const std::string root = std::string(MMS_BUILD_ROOT) + "/mms-features-root";
  g_mkdir_with_parents(root.c_str(), 0755);
  const std::string junk(4096, 'x');
  ASSERT_TRUE(g_file_set_contents((root + "/junk.asf").c_str(), junk.data(),
                                  static_cast<gssize>(junk.size()), nullptr));
  mms::server::ServerOptions o = fast();
  o.root = root;
  start_server(o);
  expect_hresult_error(mmssrc(url("junk.asf", "mmst")), GST_RESOURCE_ERROR_OPEN_READ, "refused",
                       kNsEFileOpenFailed);
}

TEST_F(MmsFeatures, RedirectIsFollowed) {
  // ReportRedirect (hr S_OK, type URL) to content on a second server.
  mms::server::Server second;
  mms::server::ServerOptions o2 = fast();
  o2.root = media_dir();
  ASSERT_TRUE(second.start(o2).ok());
  const std::string there =
      "mmst://127.0.0.1:" + std::to_string(second.mms_port()) + "/audio-wma2-10s.wma";
  const std::string missing = "mmst://127.0.0.1:" + std::to_string(second.mms_port()) + "/nope.asf";
  mms::server::ServerOptions o = fast();
  o.redirects["moved.wma"] = there;
  o.redirects["gone.asf"] = missing;
  start_server(o);

  RunResult net;
  RunResult local;
  run_pipeline(mmssrc(url("moved.wma", "mmst")), &net);
  run_pipeline(filesrc(media_dir() + "/audio-wma2-10s.wma"), &local);
  ASSERT_EQ(net.error, nullptr) << net.error->message;
  EXPECT_TRUE(net.eos);
  EXPECT_EQ(net.redirects, (std::vector<std::string>{there}));
  ASSERT_EQ(net.pads.size(), local.pads.size());
  for (const auto& [name, frames] : local.pads) {
    EXPECT_TRUE(net.pads[name] == frames) << name << ": decoded frames differ";
  }
  // A redirect to missing content: the target's HRESULT is reported.
  RunResult r;
  expect_hresult_error(mmssrc(url("gone.asf", "mmsu")), GST_RESOURCE_ERROR_NOT_FOUND, "not-found",
                       kHrFileNotFound, &r);
  EXPECT_EQ(r.redirects, (std::vector<std::string>{missing}));
}

TEST_F(MmsFeatures, RedirectToAnotherTransportIsFollowedByTheRollover) {
  // An MMS ReportRedirect to an mmsh:// URL and an MMSH 302 to an mmst:// URL:
  // the session cannot follow another transport family, so the rollover starts
  // over at the new URL with its scheme's transports.
  mms::server::Server second;
  mms::server::ServerOptions o2 = fast();
  o2.root = media_dir();
  ASSERT_TRUE(second.start(o2).ok());
  const std::string over_http =
      "mmsh://127.0.0.1:" + std::to_string(second.mmsh_port()) + "/audio-wma2-10s.wma";
  const std::string over_tcp =
      "mmst://127.0.0.1:" + std::to_string(second.mms_port()) + "/audio-wma2-10s.wma";
  mms::server::ServerOptions o = fast();
  o.redirects["to-http.wma"] = over_http;
  o.redirects["to-tcp.wma"] = over_tcp;
  start_server(o);
  RunResult local;
  run_pipeline(filesrc(media_dir() + "/audio-wma2-10s.wma"), &local);
  struct Case {
    std::string src;
    std::string target;
    const char* transport;
  };
  const Case cases[] = {{mmssrc(url("to-http.wma", "mmst")), over_http, "mmsh"},
                        {mmssrc(url("to-tcp.wma", "mmsh")), over_tcp, "mmst"}};
  for (const Case& c : cases) {
    RunResult net;
    run_pipeline(c.src, &net);
    ASSERT_EQ(net.error, nullptr) << c.src << ": " << net.error->message;
    EXPECT_TRUE(net.eos) << c.src;
    EXPECT_EQ(net.redirects, (std::vector<std::string>{c.target})) << c.src;
    EXPECT_EQ(net.transports, (std::vector<std::string>{c.transport})) << c.src;
    ASSERT_EQ(net.pads.size(), local.pads.size()) << c.src;
    for (const auto& [name, frames] : local.pads) {
      EXPECT_TRUE(net.pads[name] == frames) << c.src << " " << name << ": decoded frames differ";
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  std::string plugin = std::string(MMS_BUILD_ROOT) + "/gst/libgstmms.so";
  GError* err = nullptr;
  GstPlugin* p = gst_plugin_load_file(plugin.c_str(), &err);
  if (p == nullptr) {
    g_printerr("cannot load %s: %s\n", plugin.c_str(), err ? err->message : "?");
    return 1;
  }
  gst_object_unref(p);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}

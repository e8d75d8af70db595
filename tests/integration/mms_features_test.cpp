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

#include "tests/integration/harness.h"
#include "tools/server/server.h"

namespace {

using mms_test::by_kind;
using mms_test::media_dir;
using mms_test::run_pipeline;
using mms_test::RunOptions;
using mms_test::RunResult;

// HRESULTs of MS-MMSP (docs/protocols/mmsp-reference.md §4.11).
constexpr guint kHrFileNotFound = 0x80070002u;
constexpr guint kHrAccessDenied = 0x80070005u;
constexpr guint kNsEFileOpenFailed = 0xC00D001Du;

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
    for (const auto& [name, log] : net.pads) {
      pads += " " + name + "=" + std::to_string(log.frames.size());
    }
    std::printf("playlist over %s: %s then %s -> pads:%s\n", scheme, first.c_str(), second.c_str(),
                pads.c_str());
    ASSERT_FALSE(want.empty());
    // Spliced: one pad per kind for both entries (see frames_that_differ).
    const bool spliced = net.pads.size() == want.size();
    for (const auto& [kind, sums] : want) {
      EXPECT_EQ(got[kind].size(), sums.size()) << kind << " frames; pads:" << pads;
      const std::string differ =
          mms_test::frames_that_differ(got[kind], sums, kind, by_kind(a)[kind].size(), spliced);
      EXPECT_TRUE(differ.empty()) << kind << ": decoded frames differ from " << first << " then "
                                  << second << " (frames" << differ << "); pads:" << pads;
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
  for (const auto& [name, log] : local.pads) {
    EXPECT_EQ(net.pads[name].frames.size(), log.frames.size()) << name;
    EXPECT_TRUE(net.pads[name].frames == log.frames) << name << ": decoded frames differ";
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
  // Without Fast Start: a server seconds ahead of the pause may have handed
  // the socket buffers all that is left of this 6 s clip, and then never
  // drops the paused client (seen on a loaded machine).
  mms::server::ServerOptions o = real_time_with_idle_timeout();
  o.fast_start_factor = 1;
  start_server(o);
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
  for (const auto& [name, log] : local.pads) {
    EXPECT_TRUE(net.pads[name].frames == log.frames) << name << ": decoded frames differ";
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
    for (const auto& [name, log] : local.pads) {
      EXPECT_TRUE(net.pads[name].frames == log.frames)
          << c.src << " " << name << ": decoded frames differ";
    }
  }
}

}  // namespace

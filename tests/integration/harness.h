// The one harness of the end-to-end tests: runs `SRC ! asfdemux`, decodes every
// pad and records per-pad frame checksums, errors with their details and the
// element and progress messages (mms-transport, mms-redirect, connect,
// reconnect) of the run; optionally seeks once or pauses once (RunOptions).
// describe_states() names the element that did not reach its state when a run
// hits its bound (playlist_apps uses it for its application pipelines).
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <gst/gst.h>
#include <gtest/gtest.h>

namespace mms_test {

inline std::string media_dir() {
  return std::string(MMS_BUILD_ROOT) + "/test-media";
}

struct Frame {
  GstClockTime pts;
  std::string md5;
  bool operator==(const Frame& o) const { return pts == o.pts && md5 == o.md5; }
};

struct PadLog {
  std::string caps;
  std::vector<Frame> frames;
};

struct RunResult {
  std::map<std::string, PadLog> pads;  // asfdemux pad name -> decoded frames
  bool eos = false;
  std::vector<std::string> redirects;  // new-location of each mms-redirect message
  bool paused = false;                 // the pause scenario ran
  int reconnects = 0;                  // progress START messages of code "reconnect"
  std::string stuck;                   // why the run hit its bound (states), if it did
  GError* error = nullptr;
  GstStructure* error_details = nullptr;
  bool seek_ok = false;
  bool seekable = false;
  gint64 duration = -1;
  std::vector<std::string> element_messages;
  // mms-script-command messages: "<origin>/<entry>/<timestamp ms>/<type>/<command>".
  std::vector<std::string> script_commands;
  std::vector<std::string> transports;  // `transport` of each mms-transport message
  // mmssrc's `transport` property, read when the mms-transport message arrives.
  std::string transport_property;
  // Progress messages of code "connect": "<type>:<transport>", e.g.
  // "start:rtspu", "error:rtspu", "complete:rtspt".
  std::vector<std::string> progress;
  ~RunResult() {
    g_clear_error(&error);
    if (error_details != nullptr) {
      gst_structure_free(error_details);
    }
  }
  std::size_t frames() const {
    std::size_t n = 0;
    for (const auto& [name, log] : pads) {
      n += log.frames.size();
    }
    return n;
  }
};

struct RunOptions {
  // >= 0: the pipeline prerolls, then a flushing key-unit TIME seek to
  // `seek_ns` is sent; frames collected before the seek are dropped.
  gint64 seek_ns = -1;
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
  // After `act_after_frames` decoded frames, `act` runs once on the pipeline
  // (on the test's thread), e.g. to change a property while playing.
  int act_after_frames = -1;
  std::function<void(GstElement*)> act;
};

struct Ctx {
  std::mutex mu;
  RunResult* result;
  GstElement* pipeline;
  bool sync;  // the pause scenario: sinks on the clock, bounded queues
};

inline GstPadProbeReturn on_buffer(GstPad* pad, GstPadProbeInfo* info, gpointer data) {
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
  ctx->result->pads[name].frames.push_back(Frame{GST_BUFFER_PTS(buf), sum});
  g_free(sum);
  return GST_PAD_PROBE_OK;
}

inline void on_decoded_pad(GstElement*, GstPad* pad, gpointer data) {
  auto* ctx = static_cast<Ctx*>(data);
  GstElement* sink = gst_element_factory_make("fakesink", nullptr);
  g_object_set(sink, "sync", ctx->sync ? TRUE : FALSE, nullptr);
  if (ctx->sync) {
    g_object_set(sink, "async", FALSE, nullptr);  // see RunOptions
  }
  gst_bin_add(GST_BIN(ctx->pipeline), sink);
  gst_element_sync_state_with_parent(sink);
  GstPad* sinkpad = gst_element_get_static_pad(sink, "sink");
  g_object_set_data_full(
      G_OBJECT(sinkpad), "demux-pad",
      g_strdup(static_cast<const char*>(g_object_get_data(G_OBJECT(pad), "demux-pad"))), g_free);
  gst_pad_link(pad, sinkpad);
  gst_pad_add_probe(sinkpad, GST_PAD_PROBE_TYPE_BUFFER, on_buffer, ctx, nullptr);
  gst_object_unref(sinkpad);
}

inline void on_demux_pad(GstElement*, GstPad* pad, gpointer data) {
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
  g_signal_connect(
      dec, "pad-added", G_CALLBACK(+[](GstElement* d, GstPad* p, gpointer c) {
        g_object_set_data_full(
            G_OBJECT(p), "demux-pad",
            g_strdup(static_cast<const char*>(g_object_get_data(G_OBJECT(d), "demux-pad"))),
            g_free);
        on_decoded_pad(d, p, c);
      }),
      ctx);
  g_object_set_data_full(G_OBJECT(dec), "demux-pad", g_strdup(name), g_free);
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
inline std::string describe_states(GstElement* pipeline) {
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

inline void record_element_message(GstMessage* msg, RunResult* result) {
  const GstStructure* s = gst_message_get_structure(msg);
  if (s == nullptr) {
    return;
  }
  result->element_messages.push_back(gst_structure_get_name(s));
  if (gst_structure_has_name(s, "mms-script-command")) {
    guint64 ts = 0;
    guint entry = 0;
    gst_structure_get_uint64(s, "timestamp", &ts);
    gst_structure_get_uint(s, "entry", &entry);
    const char* origin = gst_structure_get_string(s, "origin");
    const char* type = gst_structure_get_string(s, "type");
    const char* command = gst_structure_get_string(s, "command");
    result->script_commands.push_back(
        std::string(origin != nullptr ? origin : "?") + "/" + std::to_string(entry) + "/" +
        std::to_string(ts / GST_MSECOND) + "/" + (type != nullptr ? type : "?") + "/" +
        (command != nullptr ? command : "?"));
  } else if (gst_structure_has_name(s, "mms-transport")) {
    const char* t = gst_structure_get_string(s, "transport");
    result->transports.push_back(t != nullptr ? t : "");
    gchar* prop = nullptr;
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(GST_MESSAGE_SRC(msg)), "transport") !=
        nullptr) {
      g_object_get(GST_MESSAGE_SRC(msg), "transport", &prop, nullptr);
    }
    result->transport_property = prop != nullptr ? prop : "";
    g_free(prop);
  } else if (gst_structure_has_name(s, "mms-redirect")) {
    const char* l = gst_structure_get_string(s, "new-location");
    result->redirects.push_back(l != nullptr ? l : "");
  }
}

inline void record_progress(GstMessage* msg, RunResult* result) {
  GstProgressType type = GST_PROGRESS_TYPE_START;
  gchar* code = nullptr;
  gchar* text = nullptr;
  gst_message_parse_progress(msg, &type, &code, &text);
  if (code != nullptr && text != nullptr && std::string(code) == "connect") {
    const char* kind = type == GST_PROGRESS_TYPE_START      ? "start"
                       : type == GST_PROGRESS_TYPE_COMPLETE ? "complete"
                       : type == GST_PROGRESS_TYPE_ERROR    ? "error"
                                                            : "other";
    const std::string t(text);
    result->progress.push_back(std::string(kind) + ":" + t.substr(0, t.find(':')));
  }
  if (type == GST_PROGRESS_TYPE_START && g_strcmp0(code, "reconnect") == 0) {
    ++result->reconnects;
  }
  g_free(code);
  g_free(text);
}

// After the preroll of a seek run: the seeking and duration queries, then the
// seek; frames collected before it are dropped.
inline void seek_after_preroll(GstElement* pipeline, Ctx* ctx, gint64 seek_ns) {
  RunResult* result = ctx->result;
  GstQuery* q = gst_query_new_seeking(GST_FORMAT_TIME);
  if (gst_element_query(pipeline, q)) {
    gboolean seekable = FALSE;
    gst_query_parse_seeking(q, nullptr, &seekable, nullptr, nullptr);
    result->seekable = seekable != FALSE;
  }
  gst_query_unref(q);
  gst_element_query_duration(pipeline, GST_FORMAT_TIME, &result->duration);
  result->seek_ok = gst_element_seek_simple(
                        pipeline, GST_FORMAT_TIME,
                        static_cast<GstSeekFlags>(GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_KEY_UNIT),
                        seek_ns) != FALSE;
  {
    std::lock_guard<std::mutex> lock(ctx->mu);
    for (auto& [name, log] : result->pads) {
      log.frames.clear();
    }
  }
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
}

// Runs `SRC ! asfdemux` and decodes every pad (see RunOptions).
inline void run_pipeline(const std::string& src_desc, RunResult* result, const RunOptions& o = {}) {
  GError* perr = nullptr;
  std::string desc = src_desc + " ! asfdemux name=d";
  GstElement* pipeline = gst_parse_launch(desc.c_str(), &perr);
  ASSERT_NE(pipeline, nullptr) << (perr ? perr->message : "");
  const bool pause = o.pause_after_frames >= 0;
  Ctx ctx{{}, result, pipeline, pause};
  GstElement* demux = gst_bin_get_by_name(GST_BIN(pipeline), "d");
  g_signal_connect(demux, "pad-added", G_CALLBACK(on_demux_pad), &ctx);
  GstBus* bus = gst_element_get_bus(pipeline);
  gst_element_set_state(pipeline, o.seek_ns >= 0 ? GST_STATE_PAUSED : GST_STATE_PLAYING);
  bool seek_pending = o.seek_ns >= 0;
  enum class Phase { kPlaying, kPaused, kResumed } phase = Phase::kPlaying;
  gint64 resume_at = 0;
  const gint64 deadline =
      g_get_monotonic_time() + gint64{o.timeout_s} * G_USEC_PER_SEC + gint64{o.pause_ms} * 1000;
  bool acted = false;
  while (g_get_monotonic_time() < deadline) {
    if (!acted && o.act && o.act_after_frames >= 0) {
      std::size_t n = 0;
      {
        std::lock_guard<std::mutex> lock(ctx.mu);
        n = result->frames();
      }
      if (n >= static_cast<std::size_t>(o.act_after_frames)) {
        acted = true;
        o.act(pipeline);
      }
    }
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
      case GST_MESSAGE_ELEMENT:
        record_element_message(msg, result);
        break;
      case GST_MESSAGE_PROGRESS:
        record_progress(msg, result);
        break;
      case GST_MESSAGE_ASYNC_DONE:
        if (seek_pending) {
          seek_pending = false;
          seek_after_preroll(pipeline, &ctx, o.seek_ns);
        }
        break;
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

inline void run_pipeline(const std::string& src_desc, RunResult* result, gint64 seek_ns,
                         int timeout_s = 60) {
  RunOptions o;
  o.seek_ns = seek_ns;
  o.timeout_s = timeout_s;
  run_pipeline(src_desc, result, o);
}

// Decoded frames per stream kind ("audio", "video"), pads in creation order
// (asfdemux names chained pads audio_0, audio_1, ...).
inline std::map<std::string, std::vector<std::string>> by_kind(const RunResult& r) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& [name, log] : r.pads) {
    const std::string kind = name.substr(0, name.find('_'));
    for (const Frame& f : log.frames) {
      out[kind].push_back(f.md5);
    }
  }
  return out;
}

// The indexes of the frames of `got` that differ from `want` (" 3 4"), the
// frames of two playlist entries whose first entry has `boundary` frames of
// this kind. When the element spliced the second entry into the stream (one
// decoder for both), its first audio frame overlaps that decoder's last
// window (WMA's MDCT overlap survives a decoder flush): that one frame may
// differ from the file's; all others must not.
inline std::string frames_that_differ(const std::vector<std::string>& got,
                                      const std::vector<std::string>& want, const std::string& kind,
                                      std::size_t boundary, bool spliced) {
  std::string out;
  for (std::size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
    if (got[i] != want[i] && !(spliced && kind == "audio" && i == boundary)) {
      out += " " + std::to_string(i);
    }
  }
  return out.substr(0, 200);
}

// Runs `net_src` with a flushing key-unit seek to `target` ns and `local_src`
// unseeked, and checks the seek: the AV test file (GOP 1 s, 10 s long) is
// seekable, plays to EOS, its first video frame after the seek is at most one
// key-frame interval before the target and never after it, and every decoded
// video frame from the target on equals the file's frame at the same time.
inline void expect_seek_lands(const std::string& net_src, const std::string& local_src,
                              gint64 target) {
  RunResult net;
  RunResult local;
  run_pipeline(net_src, &net, target);
  run_pipeline(local_src, &local);
  ASSERT_EQ(net.error, nullptr) << net.error->message;
  EXPECT_TRUE(net.seekable);
  EXPECT_TRUE(net.seek_ok);
  EXPECT_TRUE(net.eos);
  EXPECT_GT(net.duration, 9 * GST_SECOND);
  const auto& video = net.pads["video_0"].frames;
  ASSERT_FALSE(video.empty());
  GstClockTime first = GST_CLOCK_TIME_NONE;
  for (const Frame& f : video) {
    if (GST_CLOCK_TIME_IS_VALID(f.pts)) {
      first = f.pts;
      break;
    }
  }
  ASSERT_TRUE(GST_CLOCK_TIME_IS_VALID(first));
  EXPECT_LE(first, static_cast<GstClockTime>(target) + 100 * GST_MSECOND);
  EXPECT_GE(first + GST_SECOND + 100 * GST_MSECOND, static_cast<GstClockTime>(target));
  std::map<GstClockTime, std::string> ref;
  for (const Frame& f : local.pads["video_0"].frames) {
    ref[f.pts] = f.md5;
  }
  // Frames before the key frame that starts the new position may arrive as
  // tails only; from the target on everything must decode identically.
  int compared = 0;
  for (const Frame& f : video) {
    if (f.pts >= static_cast<GstClockTime>(target) && ref.count(f.pts)) {
      EXPECT_EQ(ref[f.pts], f.md5) << "frame at " << f.pts;
      ++compared;
    }
  }
  EXPECT_GE(compared, 100);  // 5 s at 25 fps = 125 frames
}

}  // namespace mms_test

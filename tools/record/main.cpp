// mms-record: record an MMS stream to a file.
//
// .asf output: mmssrc ! appsink; the stream is written as received to
// OUTPUT.part, then finalised (tools/record/asf_file.h) and renamed.
// Other outputs: mmssrc ! decodebin ! queue ! encodebin ! filesink, with the
// encoding profile chosen from the extension and the streams decodebin finds.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <gio/gio.h>
#include <glib-unix.h>
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/pbutils/encoding-profile.h>

#include "protocol/asf/packet.h"
#include "tools/record/asf_file.h"
#include "tools/record/options.h"
#include "tools/record/progress.h"

namespace {

using mms::ByteView;
using mms::record::Options;
using mms::record::OutputKind;

constexpr const char* kProgram = "mms-record";
constexpr const char* kVersion = MMS_RECORD_VERSION;
constexpr guint kStopGraceMs = 20000;  // EOS must reach the sink within this after a stop

struct App {
  Options opt;
  GMainLoop* loop = nullptr;
  GstElement* pipeline = nullptr;
  GstElement* src = nullptr;
  std::string part;  // OUTPUT.part
  bool tty = false;
  gint64 started_us = 0;

  // Outcome (main thread).
  std::string error;  // non-empty: failed
  bool stopping = false;
  bool interrupted = false;
  guint stop_timer = 0;
  std::optional<double> duration_s;

  // Shared with the streaming thread.
  std::mutex mu;
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::int64_t> media_ms{0};
  std::atomic<bool> got_header{false};
  std::atomic<bool> limit_reached{false};
  std::atomic<bool> stream_changed{false};
  bool write_failed = false;
  bool have_first_media = false;
  std::uint32_t first_media_ms = 0;  // media time of the first packet of the entry
  std::int64_t entry_start_ms = 0;   // media time at which the entry starts (transcodes)
  mms::record::StreamSplitter splitter;
  std::vector<std::uint8_t> first_header;

  // .asf writer (streaming thread, under mu).
  std::FILE* out = nullptr;
  std::uint64_t packets_written = 0;
  bool writing = true;

  // --resume.
  bool resuming = false;
  bool awaiting_seek = false;
  bool filtering = false;
  bool resume_checked = false;  // the first packet after the seek was looked at
  // The resume seek's seqnum (main thread): the EOS of the play after it carries it.
  guint32 resume_seek_seqnum = GST_SEQNUM_INVALID;
  std::uint32_t resume_send_ms = 0;
  std::uint64_t resume_packets = 0;
  std::vector<std::vector<std::uint8_t>> resume_tail;
  std::vector<bool> tail_used;
  mms::record::HeaderLayout resume_layout;
  double media_start_s = 0;

  // Transcoding.
  std::vector<GstPad*> pads;  // decodebin source pads, until no-more-pads
  bool linked = false;
  // What each pad of an entry was linked to, in pad order: the sink pad of
  // the first element of its chain into encodebin, or of its fakesink. A
  // later entry's n-th pad of a kind takes over the n-th chain of that kind;
  // a chain no pad of a later entry takes gets EOS (the muxer, and the
  // pipeline's EOS, would wait for it otherwise).
  enum class Kind { kOther, kAudio, kVideo };
  struct Chain {
    Kind kind = Kind::kOther;
    GstPad* sink = nullptr;
    bool used = false;  // by a pad of the current entry
    bool ended = false;
  };
  std::vector<Chain> chains;
};

void post_app(App* app, const char* name, const char* text = nullptr) {
  GstStructure* s =
      gst_structure_new(name, "text", G_TYPE_STRING, text != nullptr ? text : "", nullptr);
  gst_element_post_message(app->pipeline,
                           gst_message_new_application(GST_OBJECT(app->pipeline), s));
}

double now_s(const App* app) {
  return static_cast<double>(g_get_monotonic_time() - app->started_us) / 1e6;
}

// --- progress ---------------------------------------------------------------

mms::record::Progress progress_of(App* app) {
  mms::record::Progress p;
  p.bytes = app->bytes.load();
  p.media_s = static_cast<double>(app->media_ms.load()) / 1000.0;
  p.elapsed_s = now_s(app);
  p.media_start_s = app->media_start_s;
  if (!app->duration_s && app->src != nullptr) {
    gint64 d = -1;
    if (gst_element_query_duration(app->src, GST_FORMAT_TIME, &d) && d > 0) {
      app->duration_s = static_cast<double>(d) / GST_SECOND;
    }
  }
  p.duration_s = app->duration_s;
  return p;
}

gboolean on_progress_tick(gpointer data) {
  App* app = static_cast<App*>(data);
  if (!app->got_header.load()) {
    return G_SOURCE_CONTINUE;
  }
  const std::string line = mms::record::format_progress(progress_of(app));
  std::fprintf(stderr, "\r%s\033[K", line.c_str());
  std::fflush(stderr);
  return G_SOURCE_CONTINUE;
}

// --- stream accounting (both modes) ------------------------------------------

// Media time of a packet: the latest presentation time of its payloads minus
// the preroll (its send time when no payload has one), relative to the first
// packet of the file. Returns whether the --duration limit is reached at
// this packet.
bool account_packet(App* app, ByteView packet) {
  const mms::record::HeaderLayout* layout = app->splitter.header();
  if (layout == nullptr) {
    return false;
  }
  mms::Result<mms::asf::PacketInfo> info = mms::asf::parse_packet(packet, layout->info.packet_size);
  if (!info.ok()) {
    return false;
  }
  std::uint64_t t = info->send_time_ms;
  std::uint64_t latest = 0;
  for (const mms::asf::PayloadInfo& pl : info->payloads) {
    latest = std::max<std::uint64_t>(latest, pl.presentation_ms);
  }
  if (latest > 0) {
    t = latest > layout->info.preroll_ms ? latest - layout->info.preroll_ms : 0;
  }
  if (!app->have_first_media) {
    app->have_first_media = true;
    app->first_media_ms = static_cast<std::uint32_t>(t);
  }
  const std::int64_t media =
      app->entry_start_ms +
      (t >= app->first_media_ms ? static_cast<std::int64_t>(t - app->first_media_ms) : 0);
  if (app->opt.duration_s && static_cast<double>(media) >= *app->opt.duration_s * 1000.0) {
    return true;
  }
  if (media > app->media_ms.load()) {
    app->media_ms.store(media);
  }
  return false;
}

void stop_from_stream(App* app, const char* why) {
  app->writing = false;
  post_app(app, "mms-record-stop", why);
}

// --- .asf writer -------------------------------------------------------------

bool write_bytes(App* app, ByteView b) {
  if (std::fwrite(b.data(), 1, b.size(), app->out) != b.size()) {
    if (!app->write_failed) {
      app->write_failed = true;
      app->writing = false;
      post_app(app, "mms-record-error", std::strerror(errno));
    }
    return false;
  }
  return true;
}

// Resume: whether this packet is already in the file.
bool already_written(App* app, ByteView packet, std::uint32_t send) {
  if (!app->filtering) {
    return false;
  }
  if (!app->resume_checked) {
    app->resume_checked = true;
    if (send > app->resume_send_ms && !app->opt.quiet) {
      std::fprintf(stderr,
                   "%s: warning: the server resumed at %u ms, after the last packet of the "
                   "partial file (%u ms): media between them is missing\n",
                   kProgram, send, app->resume_send_ms);
    }
  }
  if (send < app->resume_send_ms) {
    return true;
  }
  if (send == app->resume_send_ms) {
    for (std::size_t i = 0; i < app->resume_tail.size(); ++i) {
      const std::vector<std::uint8_t>& t = app->resume_tail[i];
      if (!app->tail_used[i] && t.size() == packet.size() &&
          std::memcmp(t.data(), packet.data(), t.size()) == 0) {
        app->tail_used[i] = true;
        return true;
      }
    }
  }
  app->filtering = false;
  return false;
}

void handle_header(App* app, ByteView header) {
  if (app->first_header.empty()) {
    app->first_header.assign(header.data(), header.data() + header.size());
    app->got_header.store(true);
    if (app->resuming) {
      const mms::record::HeaderLayout* now = app->splitter.header();
      const mms::asf::HeaderInfo& was = app->resume_layout.info;
      if (now->info.broadcast()) {
        app->writing = false;
        post_app(
            app, "mms-record-error",
            "cannot resume: the stream is live (a broadcast); --resume needs on-demand content");
        return;
      }
      if (now->info.packet_size != was.packet_size || now->info.file_id != was.file_id) {
        app->writing = false;
        post_app(app, "mms-record-error",
                 "cannot resume: the server sends different content than the partial file holds");
        return;
      }
      app->awaiting_seek = true;
      post_app(app, "mms-record-seek");
      return;
    }
    write_bytes(app, header);
    return;
  }
  if (app->resuming && header.size() == app->first_header.size() &&
      std::memcmp(header.data(), app->first_header.data(), header.size()) == 0) {
    return;  // the same header again after the resume seek
  }
  app->stream_changed.store(true);
  stop_from_stream(app,
                   "the stream changed (a new header); the recording ends with the first entry");
}

void handle_packet(App* app, ByteView packet) {
  if (app->awaiting_seek) {
    return;  // resume: the data before the seek is not wanted
  }
  mms::Result<std::uint32_t> send = mms::asf::packet_send_time(packet);
  if (!send.ok()) {
    return;
  }
  if (already_written(app, packet, *send)) {
    return;
  }
  if (account_packet(app, packet)) {
    app->limit_reached.store(true);
    stop_from_stream(app, "duration reached");
    return;
  }
  if (write_bytes(app, packet)) {
    ++app->packets_written;
  }
}

GstFlowReturn on_new_sample(GstAppSink* sink, gpointer data) {
  App* app = static_cast<App*>(data);
  GstSample* sample = gst_app_sink_pull_sample(sink);
  if (sample == nullptr) {
    return GST_FLOW_FLUSHING;
  }
  GstBuffer* buf = gst_sample_get_buffer(sample);
  GstMapInfo map;
  if (buf != nullptr && gst_buffer_map(buf, &map, GST_MAP_READ)) {
    std::lock_guard<std::mutex> lock(app->mu);
    app->bytes.fetch_add(map.size);
    if (app->writing) {
      app->splitter.push(ByteView(map.data, map.size));
      for (;;) {
        mms::record::StreamSplitter::Unit u = app->splitter.next();
        if (u.kind == mms::record::StreamSplitter::Kind::kNone) {
          break;
        }
        if (u.kind == mms::record::StreamSplitter::Kind::kError) {
          app->writing = false;
          post_app(app, "mms-record-error", app->splitter.error());
          break;
        }
        if (u.kind == mms::record::StreamSplitter::Kind::kHeader) {
          handle_header(app, u.bytes);
        } else {
          handle_packet(app, u.bytes);
        }
        if (!app->writing) {
          break;
        }
      }
    }
    gst_buffer_unmap(buf, &map);
  }
  gst_sample_unref(sample);
  return GST_FLOW_OK;
}

// After the resume seek the server sends data packets only: a flush marks the
// point from which packets are the new play's.
GstPadProbeReturn on_sink_event(GstPad*, GstPadProbeInfo* info, gpointer data) {
  App* app = static_cast<App*>(data);
  GstEvent* ev = GST_PAD_PROBE_INFO_EVENT(info);
  if (GST_EVENT_TYPE(ev) == GST_EVENT_FLUSH_STOP) {
    std::lock_guard<std::mutex> lock(app->mu);
    if (app->awaiting_seek) {
      app->splitter = mms::record::StreamSplitter();
      app->splitter.set_header(app->resume_layout);
      app->awaiting_seek = false;
      app->filtering = true;
    }
  }
  return GST_PAD_PROBE_OK;
}

// --- transcoding ---------------------------------------------------------------

// Counts bytes and media time of what mmssrc outputs (over every entry); cuts
// the stream at the first packet beyond --duration (the rest of that buffer
// and every later one are dropped).
GstPadProbeReturn on_src_buffer(GstPad*, GstPadProbeInfo* info, gpointer data) {
  App* app = static_cast<App*>(data);
  GstBuffer* buf = GST_PAD_PROBE_INFO_BUFFER(info);
  std::lock_guard<std::mutex> lock(app->mu);
  if (!app->writing) {
    return GST_PAD_PROBE_DROP;
  }
  GstMapInfo map;
  if (!gst_buffer_map(buf, &map, GST_MAP_READ)) {
    return GST_PAD_PROBE_OK;
  }
  app->bytes.fetch_add(map.size);
  // Offsets in this buffer: units start `pending` bytes before it.
  const std::size_t pending = app->splitter.pending();
  std::size_t consumed = 0;  // bytes of units returned so far, from the first pending byte
  app->splitter.push(ByteView(map.data, map.size));
  std::optional<std::size_t> cut;  // keep only this many bytes of the buffer
  for (;;) {
    mms::record::StreamSplitter::Unit u = app->splitter.next();
    if (u.kind == mms::record::StreamSplitter::Kind::kNone ||
        u.kind == mms::record::StreamSplitter::Kind::kError) {
      break;
    }
    const std::size_t start = consumed;
    consumed += u.bytes.size();
    if (u.kind == mms::record::StreamSplitter::Kind::kHeader) {
      if (app->first_header.empty()) {
        app->first_header.assign(u.bytes.data(), u.bytes.data() + u.bytes.size());
        app->got_header.store(true);
      } else {
        // The next entry (a playlist, a live loop): decodebin gives it new
        // pads, which on_pad_added links to the same encoders; its media
        // time goes on from where the last entry's ended.
        app->entry_start_ms = app->media_ms.load();
        app->have_first_media = false;
      }
      continue;
    }
    if (account_packet(app, u.bytes)) {
      app->limit_reached.store(true);
      stop_from_stream(app, "duration reached");
      cut = start > pending ? start - pending : 0;
      break;
    }
  }
  gst_buffer_unmap(buf, &map);
  if (!cut) {
    return GST_PAD_PROBE_OK;
  }
  if (*cut == 0) {
    return GST_PAD_PROBE_DROP;
  }
  GstBuffer* head = gst_buffer_copy_region(buf, GST_BUFFER_COPY_ALL, 0, *cut);
  gst_buffer_unref(buf);
  GST_PAD_PROBE_INFO_DATA(info) = head;
  return GST_PAD_PROBE_OK;
}

GstCaps* caps(const char* s) {
  return gst_caps_from_string(s);
}

void add_stream(GstEncodingContainerProfile* c, bool video, const char* format) {
  GstCaps* f = caps(format);
  GstEncodingProfile* p = nullptr;
  if (video) {
    GstEncodingVideoProfile* v = gst_encoding_video_profile_new(f, nullptr, nullptr, 0);
    // The frames as they come: no videorate (it would repeat the last frame
    // of a stream that ends early).
    gst_encoding_video_profile_set_variableframerate(v, TRUE);
    p = GST_ENCODING_PROFILE(v);
  } else {
    p = GST_ENCODING_PROFILE(gst_encoding_audio_profile_new(f, nullptr, nullptr, 0));
  }
  gst_caps_unref(f);
  gst_encoding_container_profile_add_profile(c, p);
}

// The encoding profile for the output kind and the streams found. Sets
// *take_video / *take_audio to what the profile can hold.
GstEncodingProfile* make_profile(OutputKind kind, bool has_video, bool* take_video,
                                 bool* take_audio) {
  const char* container = nullptr;
  const char* vfmt = nullptr;
  const char* afmt = nullptr;
  switch (kind) {
    case OutputKind::kWebm:
      container = "video/webm";
      vfmt = "video/x-vp8";
      afmt = "audio/x-vorbis";
      break;
    case OutputKind::kMkv:
      container = "video/x-matroska";
      vfmt = "video/x-vp8";
      afmt = "audio/x-vorbis";
      break;
    case OutputKind::kMp4:
      container = "video/quicktime,variant=iso";
      vfmt = "video/x-h264";
      afmt = "audio/mpeg,mpegversion=4";
      break;
    case OutputKind::kM4a:
      container = "video/quicktime,variant=iso";
      afmt = "audio/mpeg,mpegversion=4";
      break;
    case OutputKind::kOgg:
      container = "application/ogg";
      if (has_video) {
        vfmt = "video/x-theora";
        afmt = "audio/x-vorbis";
      } else {
        afmt = "audio/x-opus";
      }
      break;
    case OutputKind::kOpus:
      container = "application/ogg";
      afmt = "audio/x-opus";
      break;
    case OutputKind::kAsf:
      return nullptr;
  }
  GstCaps* cc = caps(container);
  GstEncodingContainerProfile* c =
      gst_encoding_container_profile_new("mms-record", nullptr, cc, nullptr);
  gst_caps_unref(cc);
  *take_video = vfmt != nullptr;
  *take_audio = afmt != nullptr;
  if (vfmt != nullptr) {
    add_stream(c, true, vfmt);
  }
  if (afmt != nullptr) {
    add_stream(c, false, afmt);
  }
  return GST_ENCODING_PROFILE(c);
}

bool pad_is(GstPad* pad, const char* prefix) {
  GstCaps* c = gst_pad_get_current_caps(pad);
  if (c == nullptr) {
    c = gst_pad_query_caps(pad, nullptr);
  }
  bool yes = false;
  if (c != nullptr && gst_caps_get_size(c) > 0) {
    yes = g_str_has_prefix(gst_structure_get_name(gst_caps_get_structure(c, 0)), prefix);
  }
  if (c != nullptr) {
    gst_caps_unref(c);
  }
  return yes;
}

bool link_chain(GstElement* bin, GstPad* from, std::vector<GstElement*> chain, GstPad* to) {
  for (GstElement* e : chain) {
    gst_bin_add(GST_BIN(bin), e);
  }
  for (std::size_t i = 0; i + 1 < chain.size(); ++i) {
    if (!gst_element_link(chain[i], chain[i + 1])) {
      return false;
    }
  }
  GstPad* first = gst_element_get_static_pad(chain.front(), "sink");
  const bool ok = gst_pad_link(from, first) == GST_PAD_LINK_OK;
  gst_object_unref(first);
  if (!ok) {
    return false;
  }
  if (to != nullptr) {
    GstPad* last = gst_element_get_static_pad(chain.back(), "src");
    const bool ok2 = gst_pad_link(last, to) == GST_PAD_LINK_OK;
    gst_object_unref(last);
    if (!ok2) {
      return false;
    }
  }
  for (GstElement* e : chain) {
    gst_element_sync_state_with_parent(e);
  }
  return true;
}

App::Kind kind_of(GstPad* pad) {
  return pad_is(pad, "video/")   ? App::Kind::kVideo
         : pad_is(pad, "audio/") ? App::Kind::kAudio
                                 : App::Kind::kOther;
}

// Where a stream the recording does not hold goes.
GstElement* discard_sink() {
  GstElement* fs = gst_element_factory_make("fakesink", nullptr);
  g_object_set(fs, "sync", FALSE, "async", FALSE, nullptr);
  return fs;
}

// A pad of a later entry: it takes over the next unused chain of its kind
// from the pad of the entry before (drained by now; decodebin may add the new
// pads before it removes the old). A kind the recording does not hold goes to
// a fakesink.
void link_later_pad(App* app, GstPad* pad) {
  const App::Kind kind = kind_of(pad);
  App::Chain* chain = nullptr;
  for (App::Chain& c : app->chains) {
    if (c.kind == kind && !c.used && !c.ended) {
      chain = &c;
      break;
    }
  }
  if (chain == nullptr) {
    GstElement* fs = discard_sink();
    if (!link_chain(app->pipeline, pad, {fs}, nullptr)) {
      post_app(app, "mms-record-error", "cannot link the next entry's streams");
      return;
    }
    app->chains.push_back({kind, gst_element_get_static_pad(fs, "sink"), true, false});
    return;
  }
  chain->used = true;
  GstPad* old = gst_pad_get_peer(chain->sink);
  if (old != nullptr) {
    gst_pad_unlink(old, chain->sink);
    gst_object_unref(old);
  }
  if (gst_pad_link(pad, chain->sink) != GST_PAD_LINK_OK) {
    post_app(app, "mms-record-error", "cannot link the next entry's streams to the encoders");
  }
}

void on_pad_added(GstElement*, GstPad* pad, gpointer data) {
  App* app = static_cast<App*>(data);
  std::lock_guard<std::mutex> lock(app->mu);
  if (app->linked) {
    link_later_pad(app, pad);
    return;
  }
  app->pads.push_back(GST_PAD(gst_object_ref(pad)));
}

// The end of a later entry's pads: the chains it did not take end.
void end_unused_chains(App* app) {
  for (App::Chain& c : app->chains) {
    if (!c.used && !c.ended) {
      c.ended = true;
      GstPad* old = gst_pad_get_peer(c.sink);
      if (old != nullptr) {
        gst_pad_unlink(old, c.sink);
        gst_object_unref(old);
      }
      gst_pad_send_event(c.sink, gst_event_new_eos());
    }
    c.used = false;
  }
}

void on_no_more_pads(GstElement*, gpointer data) {
  App* app = static_cast<App*>(data);
  std::vector<GstPad*> pads;
  {
    std::lock_guard<std::mutex> lock(app->mu);
    if (app->linked) {
      end_unused_chains(app);
      return;
    }
    app->linked = true;
    pads.swap(app->pads);
  }
  bool has_video = false, has_audio = false;
  for (GstPad* p : pads) {
    has_video = has_video || pad_is(p, "video/");
    has_audio = has_audio || pad_is(p, "audio/");
  }
  bool take_video = false, take_audio = false;
  GstEncodingProfile* profile = make_profile(app->opt.kind, has_video, &take_video, &take_audio);
  const bool usable = (has_video && take_video) || (has_audio && take_audio);
  if (!usable) {
    post_app(app, "mms-record-error",
             has_video || has_audio ? "the stream has no audio, which this output format needs"
                                    : "the stream has no audio or video that could be decoded");
    for (GstPad* p : pads) {
      gst_object_unref(p);
    }
    if (profile != nullptr) {
      gst_encoding_profile_unref(profile);
    }
    return;
  }
  GstElement* enc = gst_element_factory_make("encodebin", nullptr);
  GstElement* sink = gst_element_factory_make("filesink", nullptr);
  g_object_set(enc, "profile", profile, nullptr);
  gst_util_set_object_arg(G_OBJECT(enc), "flags", "no-audio-conversion");
  gst_encoding_profile_unref(profile);
  g_object_set(sink, "location", app->part.c_str(), nullptr);
  gst_bin_add_many(GST_BIN(app->pipeline), enc, sink, nullptr);
  bool ok = gst_element_link(enc, sink) != FALSE;
  for (GstPad* p : pads) {
    if (!ok) {
      break;
    }
    const bool video = pad_is(p, "video/");
    const bool audio = pad_is(p, "audio/");
    if ((video && take_video) || (audio && take_audio)) {
      GstPad* target = gst_element_request_pad_simple(enc, video ? "video_%u" : "audio_%u");
      if (target == nullptr) {
        ok = false;
        break;
      }
      std::vector<GstElement*> chain = {gst_element_factory_make("queue", nullptr)};
      // Our own audio conversion: encodebin's (with audiorate) would pad a
      // stream that ends early with silence up to the header's duration.
      if (audio) {
        chain.push_back(gst_element_factory_make("audioconvert", nullptr));
        chain.push_back(gst_element_factory_make("audioresample", nullptr));
      }
      GstPad* first = gst_element_get_static_pad(chain.front(), "sink");
      ok = link_chain(app->pipeline, p, chain, target);
      gst_object_unref(target);
      std::lock_guard<std::mutex> lock(app->mu);
      app->chains.push_back({kind_of(p), first, false, false});
    } else {
      GstElement* fs = discard_sink();
      ok = link_chain(app->pipeline, p, {fs}, nullptr);
      std::lock_guard<std::mutex> lock(app->mu);
      app->chains.push_back({kind_of(p), gst_element_get_static_pad(fs, "sink"), false, false});
    }
  }
  for (GstPad* p : pads) {
    gst_object_unref(p);
  }
  if (!ok) {
    post_app(app, "mms-record-error", "cannot link the streams to the encoders");
    return;
  }
  gst_element_sync_state_with_parent(sink);
  gst_element_sync_state_with_parent(enc);
}

// --- main loop -------------------------------------------------------------------

gboolean on_stop_timeout(gpointer data) {
  App* app = static_cast<App*>(data);
  app->stop_timer = 0;
  if (app->error.empty() && app->opt.kind != OutputKind::kAsf) {
    app->error = "the pipeline did not finish the file in time after the stop";
  }
  g_main_loop_quit(app->loop);
  return G_SOURCE_REMOVE;
}

void request_stop(App* app) {
  if (app->stopping) {
    return;
  }
  app->stopping = true;
  if (app->opt.kind == OutputKind::kAsf) {
    // The file is ours: nothing downstream needs to drain.
    g_main_loop_quit(app->loop);
    return;
  }
  if (!app->got_header.load()) {
    // Nothing received yet: nothing to finish.
    g_main_loop_quit(app->loop);
    return;
  }
  gst_element_send_event(app->pipeline, gst_event_new_eos());
  app->stop_timer = g_timeout_add(kStopGraceMs, on_stop_timeout, app);
}

gboolean on_signal(gpointer data) {
  App* app = static_cast<App*>(data);
  if (app->stopping) {
    // A second signal: stop waiting for the pipeline.
    g_main_loop_quit(app->loop);
    return G_SOURCE_CONTINUE;
  }
  app->interrupted = true;
  request_stop(app);
  return G_SOURCE_CONTINUE;
}

// The last string of a details field that is a list or an array of strings.
std::string last_string(const GValue* v) {
  if (v == nullptr) {
    return "";
  }
  const GValue* last = nullptr;
  if (GST_VALUE_HOLDS_LIST(v) && gst_value_list_get_size(v) > 0) {
    last = gst_value_list_get_value(v, gst_value_list_get_size(v) - 1);
  } else if (GST_VALUE_HOLDS_ARRAY(v) && gst_value_array_get_size(v) > 0) {
    last = gst_value_array_get_value(v, gst_value_array_get_size(v) - 1);
  } else if (G_VALUE_HOLDS_STRING(v)) {
    last = v;
  }
  if (last == nullptr || !G_VALUE_HOLDS_STRING(last) || g_value_get_string(last) == nullptr) {
    return "";
  }
  return g_value_get_string(last);
}

// One line from the element's GError and its details: the message, then why
// (the server's status text, or the last failed attempt).
std::string error_line(GstMessage* msg, const std::string& url) {
  GError* err = nullptr;
  gchar* debug = nullptr;
  gst_message_parse_error(msg, &err, &debug);
  std::string line = err != nullptr ? err->message : "unknown error";
  while (!line.empty() && (line.back() == '.' || line.back() == '\n')) {
    line.pop_back();
  }
  const GstStructure* details = nullptr;
  gst_message_parse_error_details(msg, &details);
  std::string why;
  if (details != nullptr) {
    const gchar* text = gst_structure_get_string(details, "mms-status-text");
    if (text != nullptr && *text != '\0') {
      why = text;
    } else {
      why = last_string(gst_structure_get_value(details, "mms-attempt-errors"));
      if (why.empty()) {
        const gchar* code = gst_structure_get_string(details, "mms-code");
        if (code != nullptr) {
          why = code;
        }
      }
    }
  }
  if (!why.empty()) {
    line += " (" + why + ")";
  }
  if (err != nullptr) {
    g_error_free(err);
  }
  g_free(debug);
  return url + ": " + line;
}

gboolean on_bus(GstBus*, GstMessage* msg, gpointer data) {
  App* app = static_cast<App*>(data);
  switch (GST_MESSAGE_TYPE(msg)) {
    case GST_MESSAGE_ERROR:
      if (app->error.empty()) {
        app->error = error_line(msg, app->opt.url);
      }
      g_main_loop_quit(app->loop);
      break;
    case GST_MESSAGE_EOS:
      // After the resume seek, the EOS of the play before it (the whole file
      // can arrive from a fast server before the seek is made; its message is
      // then still queued behind the seek) is not the end of the recording.
      if (app->resume_seek_seqnum != GST_SEQNUM_INVALID && !app->stopping &&
          gst_message_get_seqnum(msg) != app->resume_seek_seqnum) {
        break;
      }
      g_main_loop_quit(app->loop);
      break;
    case GST_MESSAGE_APPLICATION: {
      const GstStructure* s = gst_message_get_structure(msg);
      const gchar* text = gst_structure_get_string(s, "text");
      if (gst_structure_has_name(s, "mms-record-error")) {
        if (app->error.empty()) {
          app->error = text != nullptr ? text : "error";
        }
        g_main_loop_quit(app->loop);
      } else if (gst_structure_has_name(s, "mms-record-stop")) {
        if (app->stream_changed.load() && !app->opt.quiet) {
          if (app->tty) {
            std::fprintf(stderr, "\n");
          }
          std::fprintf(stderr, "%s: %s\n", kProgram, text);
        }
        request_stop(app);
      } else if (gst_structure_has_name(s, "mms-record-seek")) {
        const std::uint64_t send = app->resume_send_ms;
        const std::uint64_t preroll = app->resume_layout.info.preroll_ms;
        const gint64 pos = send > preroll ? static_cast<gint64>(send - preroll) * GST_MSECOND : 0;
        GstEvent* seek =
            gst_event_new_seek(1.0, GST_FORMAT_TIME, GST_SEEK_FLAG_FLUSH, GST_SEEK_TYPE_SET, pos,
                               GST_SEEK_TYPE_NONE, GST_CLOCK_TIME_NONE);
        app->resume_seek_seqnum = gst_event_get_seqnum(seek);
        if (!gst_element_send_event(app->pipeline, seek)) {
          if (app->error.empty()) {
            app->error = "cannot resume: the server does not seek in this stream";
          }
          g_main_loop_quit(app->loop);
        }
      }
      break;
    }
    default:
      break;
  }
  return TRUE;
}

bool uri_handler_scheme(const std::string& url) {
  for (const char* s : {"mms://", "mmsh://", "mmst://", "mmsu://"}) {
    if (g_ascii_strncasecmp(url.c_str(), s, std::strlen(s)) == 0) {
      return true;
    }
  }
  return false;
}

void remove_file(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
}

// Prepares --resume: finds the partial recording, cuts it after its last whole
// packet and opens it for appending. Returns false with app->error set.
bool prepare_resume(App* app, bool* fresh) {
  *fresh = false;
  std::error_code ec;
  const bool have_part = std::filesystem::exists(app->part, ec);
  if (!have_part && !std::filesystem::exists(app->opt.output, ec)) {
    *fresh = true;  // nothing to resume: record from the start
    return true;
  }
  const std::string& from = have_part ? app->part : app->opt.output;
  mms::Result<mms::record::Scan> scan = mms::record::scan_recording(from);
  if (!scan.ok()) {
    app->error = "cannot resume from " + from + ": " + scan.status().what();
    return false;
  }
  if (!have_part) {
    std::filesystem::rename(app->opt.output, app->part, ec);
    if (ec) {
      app->error = "cannot rename " + app->opt.output + " to " + app->part + ": " + ec.message();
      return false;
    }
  }
  if (scan->packets == 0) {
    *fresh = true;
    return true;
  }
  std::filesystem::resize_file(app->part, scan->data_end, ec);
  if (ec) {
    app->error = "cannot truncate " + app->part + ": " + ec.message();
    return false;
  }
  app->out = std::fopen(app->part.c_str(), "ab");
  if (app->out == nullptr) {
    app->error = "cannot open " + app->part + ": " + std::strerror(errno);
    return false;
  }
  app->resuming = true;
  app->resume_layout = scan->layout;
  app->resume_send_ms = scan->last_send_ms;
  app->resume_packets = scan->packets;
  app->resume_tail = scan->tail;
  app->tail_used.assign(app->resume_tail.size(), false);
  app->have_first_media = true;
  app->first_media_ms = scan->first_send_ms;
  app->media_ms.store(std::int64_t{scan->last_send_ms} - scan->first_send_ms);
  app->media_start_s = static_cast<double>(app->media_ms.load()) / 1000.0;
  if (!app->opt.quiet) {
    std::fprintf(stderr, "%s: resuming %s after %llu packets (%s of media)\n", kProgram,
                 app->part.c_str(), static_cast<unsigned long long>(scan->packets),
                 mms::record::format_clock(app->media_start_s).c_str());
  }
  return true;
}

int run(App* app) {
  const Options& o = app->opt;
  app->part = o.output + ".part";
  app->tty = !o.quiet && isatty(STDERR_FILENO) != 0;

  GError* err = nullptr;
  app->src = gst_element_factory_make("mmssrc", "src");
  if (app->src == nullptr) {
    std::fprintf(stderr,
                 "%s: the mmssrc element is not available (is GST_PLUGIN_PATH set to the "
                 "directory of libgstmms.so?)\n",
                 kProgram);
    return 1;
  }
  if (uri_handler_scheme(o.url)) {
    if (!gst_uri_handler_set_uri(GST_URI_HANDLER(app->src), o.url.c_str(), &err)) {
      std::fprintf(stderr, "%s: %s: %s\n", kProgram, o.url.c_str(), err->message);
      g_clear_error(&err);
      gst_object_unref(app->src);
      return 1;
    }
  } else {
    g_object_set(app->src, "location", o.url.c_str(), nullptr);
    gchar* loc = nullptr;
    g_object_get(app->src, "location", &loc, nullptr);
    const bool ok = loc != nullptr && *loc != '\0';
    g_free(loc);
    if (!ok) {
      std::fprintf(stderr,
                   "%s: %s: not an mms://, mmsh://, mmst://, mmsu://, rtspu:// or rtspt:// URL\n",
                   kProgram, o.url.c_str());
      gst_object_unref(app->src);
      return 1;
    }
  }
  if (o.retries) {
    g_object_set(app->src, "retries", *o.retries, nullptr);
  }
  if (o.protocols) {
    g_object_set(app->src, "protocols", o.protocols->c_str(), nullptr);
  }
  if (o.connection_speed_bps) {
    g_object_set(app->src, "connection-speed", static_cast<guint64>(o.connection_speed_kbps()),
                 nullptr);
  }
  if (o.timeout_s) {
    g_object_set(app->src, "timeout", static_cast<guint>(*o.timeout_s), nullptr);
  }

  app->pipeline = gst_pipeline_new("mms-record");
  gst_bin_add(GST_BIN(app->pipeline), app->src);

  bool keep_part_on_error = false;
  if (o.kind == OutputKind::kAsf) {
    bool fresh = true;
    if (o.resume) {
      if (!prepare_resume(app, &fresh)) {
        std::fprintf(stderr, "%s: %s\n", kProgram, app->error.c_str());
        gst_object_unref(app->pipeline);
        return 1;
      }
      keep_part_on_error = !fresh;
    }
    if (fresh) {
      app->out = std::fopen(app->part.c_str(), "wb");
      if (app->out == nullptr) {
        std::fprintf(stderr, "%s: cannot create %s: %s\n", kProgram, app->part.c_str(),
                     std::strerror(errno));
        gst_object_unref(app->pipeline);
        return 1;
      }
    }
    GstElement* sink = gst_element_factory_make("appsink", "sink");
    g_object_set(sink, "sync", FALSE, "async", FALSE, nullptr);
    GstAppSinkCallbacks cb{};
    cb.new_sample = on_new_sample;
    gst_app_sink_set_callbacks(GST_APP_SINK(sink), &cb, app, nullptr);
    GstPad* sinkpad = gst_element_get_static_pad(sink, "sink");
    gst_pad_add_probe(sinkpad, GST_PAD_PROBE_TYPE_EVENT_FLUSH, on_sink_event, app, nullptr);
    gst_object_unref(sinkpad);
    gst_bin_add(GST_BIN(app->pipeline), sink);
    gst_element_link(app->src, sink);
  } else {
    GstElement* dec = gst_element_factory_make("decodebin", "dec");
    gst_bin_add(GST_BIN(app->pipeline), dec);
    gst_element_link(app->src, dec);
    g_signal_connect(dec, "pad-added", G_CALLBACK(on_pad_added), app);
    g_signal_connect(dec, "no-more-pads", G_CALLBACK(on_no_more_pads), app);
    GstPad* srcpad = gst_element_get_static_pad(app->src, "src");
    gst_pad_add_probe(srcpad, GST_PAD_PROBE_TYPE_BUFFER, on_src_buffer, app, nullptr);
    gst_object_unref(srcpad);
    remove_file(app->part);
  }

  app->loop = g_main_loop_new(nullptr, FALSE);
  GstBus* bus = gst_pipeline_get_bus(GST_PIPELINE(app->pipeline));
  const guint bus_watch = gst_bus_add_watch(bus, on_bus, app);
  gst_object_unref(bus);
  const guint sig_int = g_unix_signal_add(SIGINT, on_signal, app);
  const guint sig_term = g_unix_signal_add(SIGTERM, on_signal, app);
  guint tick = 0;
  if (app->tty) {
    tick = g_timeout_add(500, on_progress_tick, app);
  }
  app->started_us = g_get_monotonic_time();

  if (gst_element_set_state(app->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    if (app->error.empty()) {
      // The error message on the bus says why.
      g_main_loop_run(app->loop);
      if (app->error.empty()) {
        app->error = "cannot start the pipeline";
      }
    }
  } else {
    g_main_loop_run(app->loop);
  }
  if (app->tty) {
    on_progress_tick(app);
    std::fprintf(stderr, "\n");
  }
  (void)progress_of(app);  // the duration, for the summary
  gst_element_set_state(app->pipeline, GST_STATE_NULL);
  if (tick != 0) {
    g_source_remove(tick);
  }
  if (app->stop_timer != 0) {
    g_source_remove(app->stop_timer);
  }
  g_source_remove(sig_int);
  g_source_remove(sig_term);
  g_source_remove(bus_watch);

  int rc = 0;
  std::string summary;
  if (o.kind == OutputKind::kAsf) {
    bool closed_ok = true;
    if (app->out != nullptr) {
      closed_ok = std::fclose(app->out) == 0;
      app->out = nullptr;
    }
    if (!closed_ok && app->error.empty()) {
      app->error = "cannot write " + app->part;
    }
    const std::uint64_t total = app->resume_packets + app->packets_written;
    if (!app->error.empty()) {
      std::fprintf(stderr, "%s: %s\n", kProgram, app->error.c_str());
      if (keep_part_on_error || app->packets_written > 0) {
        std::fprintf(stderr,
                     "%s: the partial recording is kept in %s (continue it with --resume)\n",
                     kProgram, app->part.c_str());
      } else {
        remove_file(app->part);
      }
      rc = 1;
    } else if (app->first_header.empty() && !app->resuming) {
      std::fprintf(stderr, "%s: no data was received\n", kProgram);
      remove_file(app->part);
      rc = 1;
    } else {
      mms::Result<mms::record::FinalizeReport> rep =
          mms::record::finalize_recording(app->part, total);
      if (!rep.ok()) {
        std::fprintf(stderr, "%s: cannot finalise %s: %s\n", kProgram, app->part.c_str(),
                     rep.status().what());
        return 1;
      }
      std::error_code ec;
      std::filesystem::rename(app->part, o.output, ec);
      if (ec) {
        std::fprintf(stderr, "%s: cannot rename %s to %s: %s\n", kProgram, app->part.c_str(),
                     o.output.c_str(), ec.message().c_str());
        return 1;
      }
      char buf[256];
      std::snprintf(buf, sizeof buf, "%llu packets, %s, %.1f s, %u index entries",
                    static_cast<unsigned long long>(rep->packets),
                    mms::record::format_bytes(rep->file_size).c_str(),
                    static_cast<double>(rep->duration_ms) / 1e3, rep->index_entries);
      summary = buf;
    }
  } else {
    if (!app->error.empty()) {
      std::fprintf(stderr, "%s: %s\n", kProgram, app->error.c_str());
      remove_file(app->part);
      rc = 1;
    } else {
      std::error_code ec;
      const auto size = std::filesystem::file_size(app->part, ec);
      if (ec || size == 0) {
        std::fprintf(stderr, "%s: nothing was written\n", kProgram);
        remove_file(app->part);
        rc = 1;
      } else {
        std::filesystem::rename(app->part, o.output, ec);
        if (ec) {
          std::fprintf(stderr, "%s: cannot rename %s to %s: %s\n", kProgram, app->part.c_str(),
                       o.output.c_str(), ec.message().c_str());
          return 1;
        }
        char secs[32];
        std::snprintf(secs, sizeof secs, "%.1f s",
                      static_cast<double>(app->media_ms.load()) / 1000.0);
        summary = mms::record::format_bytes(size) + ", " + secs + " of media, " +
                  mms::record::to_string(o.kind);
      }
    }
  }
  if (rc == 0 && !o.quiet) {
    std::fprintf(stderr, "%s: wrote %s (%s)%s\n", kProgram, o.output.c_str(), summary.c_str(),
                 app->interrupted            ? ", interrupted"
                 : app->limit_reached.load() ? ", duration reached"
                                             : "");
  }
  g_main_loop_unref(app->loop);
  gst_object_unref(app->pipeline);
  for (App::Chain& c : app->chains) {
    gst_object_unref(c.sink);
  }
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  mms::record::ParseResult parsed = mms::record::parse_options(args);
  if (!parsed.options) {
    std::fprintf(stderr, "%s: %s\n%s", kProgram, parsed.error.c_str(),
                 ("try '" + std::string(kProgram) + " --help'\n").c_str());
    return 2;
  }
  if (parsed.options->help) {
    std::fputs(mms::record::usage_text(kProgram).c_str(), stdout);
    return 0;
  }
  if (parsed.options->version) {
    std::printf("%s %s (gst-mms)\n", kProgram, kVersion);
    return 0;
  }
  gst_init(nullptr, nullptr);
  App app;
  app.opt = *parsed.options;
  const int rc = run(&app);
  gst_deinit();
  return rc;
}

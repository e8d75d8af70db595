/**
 * SECTION:element-mmssrc
 * @title: mmssrc
 *
 * Reads a Windows Media stream from a Microsoft Media Server and outputs the
 * ASF stream (`video/x-ms-asf`) for `asfdemux`.
 *
 * URL forms: `mms://host[:port]/path` rolls over like Windows Media Player
 * 9/10: RTSP with RTP over UDP, RTSP with interleaved RTP, MMS control over
 * TCP with data over UDP, MMS over TCP, then MMS over HTTP. `mmsh://` (MS-WMSP,
 * default port 80), `mmst://` and `mmsu://` (MS-MMSP, default port 1755) pin one
 * transport; so do `rtspu://` and `rtspt://` (MS-RTSP, default port 554), and
 * `rtsp://` tries RTSP over UDP then TCP — those three only through the
 * location property: the URI handler leaves rtsp:// to rtspsrc.
 * #GstMmsSrc:protocols narrows and reorders the list. An explicit port in an
 * mms:// URL is used for every transport (a step that meets another protocol
 * there fails fast); without one each transport uses its default port.
 * Rollover happens only before the first media packet; "not found" and "not
 * authorized" stop it at once. UDP transports are given up when no datagram
 * arrives within #GstMmsSrc:udp-timeout after the play request.
 * Credentials may be given in the URL or with #GstMmsSrc:user-id and
 * #GstMmsSrc:user-pw (HTTP Basic, MMS BASIC or NTLM, RTSP Digest or Basic; a
 * user "DOMAIN\user" names the NTLM domain).
 *
 * Seeking: on-demand content answers the SEEKING query in TIME and accepts
 * flushing TIME seeks (as sent by asfdemux, playbin and gst-play-1.0); the
 * stream restarts at the new position, with BYTES segments that keep
 * asfdemux's packet accounting right. Broadcasts are not seekable.
 *
 * Messages: `progress` messages with code "connect" per attempt: START when it
 * begins, ERROR when it fails, COMPLETE when media flows (texts start with the
 * transport name); an element message `mms-transport` (fields `transport`,
 * `uri`) naming the winner, also readable from #GstMmsSrc:transport; and
 * `mms-redirect` (field `new-location`) when the server redirects.
 * A `tag` message per header pushed: the first and every server-side
 * playlist entry's.
 *
 * Server-side playlists: an entry with the streams in force is spliced into
 * the stream (no header; its packets renumbered and moved on in time, so
 * asfdemux keeps its pads, as uritranscodebin needs); any other entry's header
 * is pushed as a chained ASF for asfdemux (which then adds new pads and ends
 * the old ones), after a segment at the end of the previous entry's data. The
 * running time continues across entries (see docs/element.md).
 *
 * Errors carry a details structure with `uri`, `mms-transport`, `mms-code`,
 * `mms-detail` (HTTP/RTSP status or HRESULT), `mms-attempts` and
 * `mms-attempt-errors`.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 mmssrc location=mmsh://127.0.0.1:8080/clip.wmv ! asfdemux ! fakesink
 * gst-play-1.0 mmsh://127.0.0.1:8080/clip.wmv
 * gst-launch-1.0 mmssrc location=mms://server/live ! filesink location=dump.asf
 * gst-launch-1.0 mmssrc location=mms://server/clip.wmv protocols=mmst,mmsh ! asfdemux ! fakesink
 * gst-launch-1.0 mmssrc location=rtspt://server/clip.wmv ! asfdemux ! fakesink
 * gst-launch-1.0 mmssrc location=mmsu://server/clip.wmv port-range=5000-5010 ! asfdemux ! fakesink
 * ]|
 */
#include "gst/gstmmssrc.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

#include "gst/error_map.h"
#include "protocol/asf/header_parser.h"
#include "protocol/asf/packet.h"
#include "protocol/asf/splice.h"
#include "protocol/core/fast_start.h"
#include "protocol/core/url.h"
#include "protocol/io/driver.h"
#include "protocol/session/rollover.h"

GST_DEBUG_CATEGORY(gst_mms_src_debug);
#define GST_CAT_DEFAULT gst_mms_src_debug

namespace {

constexpr guint kDefaultTimeout = 15;
constexpr const char* kDefaultUserAgent = "NSPlayer/7.10.0.3059";
constexpr const char* kDefaultProtocols = "rtspu,rtspt,mmsu,mmst,mmsh";
constexpr guint64 kDefaultUdpTimeoutUs = 5000000;  // rtspsrc's `timeout` default
constexpr gint kDefaultRetries = 3;                // souphttpsrc's `retries` default
constexpr guint kDefaultRetryDelayMax = 10;        // seconds
// What a live source adds to the content's preroll in its LATENCY answer: the
// network's jitter and the connection's start (rtspsrc's jitterbuffer waits
// 2 s by default; a paced MMS server sends on time, so less is enough).
constexpr GstClockTime kLiveJitter = 500 * GST_MSECOND;

enum {
  PROP_0,
  PROP_LOCATION,
  PROP_CONNECTION_SPEED,
  PROP_TIMEOUT,
  PROP_USER_AGENT,
  PROP_USER_ID,
  PROP_USER_PW,
  PROP_PROXY,
  PROP_PROXY_ID,
  PROP_PROXY_PW,
  PROP_IS_LIVE,
  PROP_PROTOCOLS,
  PROP_UDP_TIMEOUT,
  PROP_FAST_START,
  PROP_PORT_RANGE,
  PROP_TRANSPORT,
  PROP_RETRIES,
  PROP_RETRY_DELAY_MAX,
  PROP_BANDWIDTH,
  PROP_AUDIO_ONLY,
};

struct Settings {
  std::string location;
  guint64 connection_speed = 0;  // kbps, 0 = the packet-pair estimate, else no limit
  guint timeout = kDefaultTimeout;
  std::string user_agent = kDefaultUserAgent;
  std::string user_id;
  std::string user_pw;
  std::string proxy;
  std::string proxy_id;
  std::string proxy_pw;
  bool is_live = false;
  std::string protocols = kDefaultProtocols;
  guint64 udp_timeout_us = kDefaultUdpTimeoutUs;
  bool fast_start = true;
  std::string port_range;  // "min-max", empty = any port
  gint retries = kDefaultRetries;
  guint retry_delay_max = kDefaultRetryDelayMax;
  bool audio_only = false;
};

// Parses "5000-5010" or "5000"; empty = any port (0-0).
bool parse_port_range(const std::string& text, std::uint16_t* lo, std::uint16_t* hi) {
  *lo = *hi = 0;
  if (text.empty()) {
    return true;
  }
  unsigned a = 0;
  unsigned b = 0;
  char extra = 0;
  int n = std::sscanf(text.c_str(), "%u-%u%c", &a, &b, &extra);
  if (n == 1) {
    b = a;
  } else if (n != 2) {
    return false;
  }
  if (a > 65535 || b > 65535 || b < a) {
    return false;
  }
  *lo = static_cast<std::uint16_t>(a);
  *hi = static_cast<std::uint16_t>(b);
  return true;
}

}  // namespace

struct GstMmsSrcPrivate {
  std::mutex mu;  // guards settings, driver pointer, info
  Settings settings;
  // Shared: a query on another thread may hold it while stop() closes it.
  std::shared_ptr<mms::io::Driver> driver;
  std::shared_ptr<const mms::asf::HeaderInfo> info;
  // Streaming-thread state.
  bool header_pushed = false;
  unsigned entry = 0;  // headers pushed as a new entry after the first
  // Running time at which the current entry starts (see docs/element.md,
  // server-side playlists); negative after a seek into an entry.
  gint64 timeline_ns = 0;
  bool timeline_next = false;   // the next data buffer starts a new entry's timeline
  gint64 chain_pts_ns = 0;      // that buffer's PTS: where asfdemux's new timestamps start
  bool command_stream = false;  // the entry's header declares a command (script) stream
  // The next data buffer is flagged DISCONT (a spliced entry's first).
  bool discont_next = false;
  // What asfdemux parsed: the header pushed last, as pushed (open-ended for a
  // server-side playlist, see mark_pushed_header).
  std::shared_ptr<const std::vector<std::uint8_t>> pushed_header;
  std::shared_ptr<const mms::asf::HeaderInfo> pushed_info;
  // Splicing the current entry into the stream of the pushed header (see
  // splice_entry): its packets' stream numbers are mapped and their times
  // moved on by splice_shift_ms.
  bool splicing = false;
  mms::asf::StreamMap splice_map;
  std::uint32_t splice_shift_ms = 0;
  std::uint32_t last_send_ms = 0;  // of the last packet pushed: a spliced one is not before it
  // Where the current entry starts in the pushed header's timeline (0 but
  // for a spliced entry; guarded by mu): seeks and the duration are the
  // entry's plus this.
  gint64 splice_start_ns = 0;
  mms::gst::ErrorContext error_ctx;
  guint timeout = kDefaultTimeout;
  // Minimum latency answered for a live source (guarded by mu): the
  // content's preroll once a header is in, plus kLiveJitter.
  GstClockTime live_latency = kLiveJitter;
  // The packet-pair estimate in bits/s (0: none yet); written on the I/O thread.
  std::atomic<guint64> bandwidth{0};
};

struct _GstMmsSrc {
  GstPushSrc parent;
  GstMmsSrcPrivate* priv;
};

static void gst_mms_src_uri_handler_init(gpointer g_iface, gpointer iface_data);

#define gst_mms_src_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE(GstMmsSrc, gst_mms_src, GST_TYPE_PUSH_SRC,
                        G_IMPLEMENT_INTERFACE(GST_TYPE_URI_HANDLER, gst_mms_src_uri_handler_init));
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE(mmssrc, "mmssrc", GST_RANK_PRIMARY, GST_TYPE_MMS_SRC,
                                      GST_DEBUG_CATEGORY_INIT(gst_mms_src_debug, "mmssrc", 0,
                                                              "MMS source"));

static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS("video/x-ms-asf"));

namespace {

// Validates a location for the URI handler and the location property.
bool check_location(const char* uri, GError** error) {
  mms::Result<mms::Url> url = mms::parse_url(uri != nullptr ? uri : "");
  if (!url.ok()) {
    g_set_error(error, GST_URI_ERROR,
                url.status().code() == mms::Code::kUnsupported ? GST_URI_ERROR_UNSUPPORTED_PROTOCOL
                                                               : GST_URI_ERROR_BAD_URI,
                "Invalid MMS URI '%s': %s", uri != nullptr ? uri : "", url.status().what());
    return false;
  }
  // rtsp://, rtspu:// and rtspt:// are accepted by the location property only:
  // the URI handler does not claim them, so playbin keeps rtspsrc for rtsp://.
  // http:// too (a Windows Media server's URL, spoken as MMSH), for the same reason.
  if (url->scheme != "mms" && url->scheme != "mmsh" && url->scheme != "mmst" &&
      url->scheme != "mmsu" && url->scheme != "rtsp" && url->scheme != "rtspu" &&
      url->scheme != "rtspt" && url->scheme != "http") {
    g_set_error(error, GST_URI_ERROR, GST_URI_ERROR_UNSUPPORTED_PROTOCOL,
                "Unsupported protocol in '%s' (mmssrc handles mms://, mmsh://, mmst://, "
                "mmsu://, and rtsp://, rtspu://, rtspt://, http:// in its location property)",
                url->redacted().c_str());
    return false;
  }
  return true;
}

bool set_location(GstMmsSrc* self, const char* uri, GError** error) {
  GstState state = GST_STATE(self);
  if (state != GST_STATE_READY && state != GST_STATE_NULL) {
    g_set_error(error, GST_URI_ERROR, GST_URI_ERROR_BAD_STATE,
                "Changing the location of mmssrc is only allowed in NULL or READY state");
    return false;
  }
  if (uri == nullptr) {
    std::lock_guard<std::mutex> lock(self->priv->mu);
    self->priv->settings.location.clear();
    return true;
  }
  if (!check_location(uri, error)) {
    return false;
  }
  std::lock_guard<std::mutex> lock(self->priv->mu);
  self->priv->settings.location = uri;
  return true;
}

// Posts a `progress` message with `text` (taken over) and logs it.
void post_progress(GstMmsSrc* self, GstProgressType type, const char* code, gchar* text) {
  GST_INFO_OBJECT(self, "%s: %s", code, text);
  gst_element_post_message(GST_ELEMENT(self),
                           gst_message_new_progress(GST_OBJECT(self), type, code, text));
  g_free(text);
}

void post_notice(GstMmsSrc* self, const mms::io::Notice& n) {
  using Kind = mms::io::Notice::Kind;
  const char* t = n.transport.c_str();
  switch (n.kind) {
    case Kind::kConnecting:
      post_progress(self, GST_PROGRESS_TYPE_START, "connect",
                    g_strdup_printf("%s: connecting to %s", t, n.url.c_str()));
      break;
    case Kind::kAttemptFailed:
      post_progress(self, GST_PROGRESS_TYPE_ERROR, "connect",
                    g_strdup_printf("%s: failed: %s", t, n.text.c_str()));
      break;
    case Kind::kConnected:
      post_progress(self, GST_PROGRESS_TYPE_COMPLETE, "connect",
                    g_strdup_printf("%s: connected", t));
      gst_element_post_message(
          GST_ELEMENT(self),
          gst_message_new_element(GST_OBJECT(self),
                                  gst_structure_new("mms-transport", "transport", G_TYPE_STRING, t,
                                                    "uri", G_TYPE_STRING, n.url.c_str(), nullptr)));
      break;
    case Kind::kReconnecting:
      GST_WARNING_OBJECT(self, "%s: reconnecting after: %s", t, n.text.c_str());
      post_progress(
          self, GST_PROGRESS_TYPE_START, "reconnect",
          n.max_attempts < 0
              ? g_strdup_printf("%s: reconnecting to %s (attempt %d) after: %s", t, n.url.c_str(),
                                n.attempt, n.text.c_str())
              : g_strdup_printf("%s: reconnecting to %s (attempt %d of %d) after: %s", t,
                                n.url.c_str(), n.attempt, n.max_attempts, n.text.c_str()));
      break;
    case Kind::kReconnectFailed:
      post_progress(self, GST_PROGRESS_TYPE_ERROR, "reconnect",
                    g_strdup_printf("%s: reconnect failed: %s", t, n.text.c_str()));
      break;
    case Kind::kReconnected:
      // bench/reconnect.sh reads this line's monotonic time.
      GST_INFO_OBJECT(self, "%s: reconnected at monotonic %.6f", t,
                      static_cast<double>(g_get_monotonic_time()) / G_USEC_PER_SEC);
      post_progress(self, GST_PROGRESS_TYPE_COMPLETE, "reconnect",
                    g_strdup_printf("%s: reconnected", t));
      break;
    case Kind::kBandwidth:
      self->priv->bandwidth.store(n.bandwidth_bps);
      GST_INFO_OBJECT(self, "%s: packet pair: %" G_GUINT64_FORMAT " bit/s", t,
                      static_cast<guint64>(n.bandwidth_bps));
      gst_element_post_message(
          GST_ELEMENT(self),
          gst_message_new_element(GST_OBJECT(self),
                                  gst_structure_new("mms-bandwidth", "bandwidth", G_TYPE_UINT64,
                                                    static_cast<guint64>(n.bandwidth_bps),
                                                    "transport", G_TYPE_STRING, t, nullptr)));
      break;
    case Kind::kRedirect:
      gst_element_post_message(
          GST_ELEMENT(self),
          gst_message_new_element(GST_OBJECT(self),
                                  gst_structure_new("mms-redirect", "new-location", G_TYPE_STRING,
                                                    n.url.c_str(), nullptr)));
      break;
  }
}

// Gives a header without Stream Bitrate Properties (FFmpeg's muxer writes
// none) one when the streams' bitrates can be told (asf::add_stream_bitrates):
// asfdemux tags stream bitrates only from that object, and a buffering player
// (playbin, gst-play, Totem) otherwise waits several seconds for a rate
// estimate before its first picture.
void add_stream_bitrates(GstMmsSrc* self, mms::io::Item* item) {
  auto header = std::make_shared<std::vector<std::uint8_t>>(*item->header);
  const mms::Result<bool> added = mms::asf::add_stream_bitrates(header.get());
  if (!added.ok() || !added.value()) {
    return;
  }
  mms::Result<mms::asf::HeaderInfo> info = mms::asf::parse_header(mms::ByteView(*header));
  if (!info.ok()) {
    return;
  }
  GST_DEBUG_OBJECT(self, "added Stream Bitrate Properties to the header (%zu -> %zu bytes)",
                   item->header->size(), header->size());
  item->header = std::move(header);
  item->info = std::make_shared<const mms::asf::HeaderInfo>(std::move(info.value()));
}

// Posts a script command as the element message `mms-script-command`:
// fields `type` and `command` (strings, e.g. "URL" / "TEXT" / "CAPTION"),
// `timestamp` (stream time of the entry, GstClockTime), `origin` ("header":
// the header's Script Command Object, all at once; "stream": a command
// media stream's sample, as its packet is pushed) and `entry` (playlist
// entry index, 0 for the first).
void post_script_command(GstMmsSrc* self, const mms::asf::ScriptCommand& c, const char* origin,
                         unsigned entry) {
  GstStructure* s = gst_structure_new(
      "mms-script-command", "type", G_TYPE_STRING, c.type.c_str(), "command", G_TYPE_STRING,
      c.command.c_str(), "timestamp", G_TYPE_UINT64, static_cast<guint64>(c.time_ms) * GST_MSECOND,
      "origin", G_TYPE_STRING, origin, "entry", G_TYPE_UINT, entry, nullptr);
  GST_DEBUG_OBJECT(self, "script command %s at %u ms: %s", c.type.c_str(), c.time_ms,
                   c.command.c_str());
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

bool has_command_stream(const mms::asf::HeaderInfo& info) {
  for (const mms::asf::StreamInfo& s : info.streams) {
    if (s.type == mms::asf::StreamType::kCommand) {
      return true;
    }
  }
  return false;
}

// Posts the samples of command media streams found in a block of padded
// packets. Only whole samples in one payload are taken (script samples are a
// few dozen bytes); a fragment, a compressed payload or a packet that does
// not parse is skipped (asfdemux reports bad packets itself).
void post_stream_commands(GstMmsSrc* self, const mms::asf::HeaderInfo& info,
                          const std::uint8_t* data, std::size_t size, unsigned entry) {
  const std::size_t ps = info.packet_size;
  for (std::size_t off = 0; ps != 0 && off + ps <= size; off += ps) {
    const mms::ByteView packet(data + off, ps);
    mms::Result<mms::asf::PacketInfo> pkt = mms::asf::parse_packet(packet, info.packet_size);
    if (!pkt.ok()) {
      continue;
    }
    for (const mms::asf::PayloadInfo& pl : pkt->payloads) {
      const mms::asf::StreamInfo* st = info.find_stream(pl.stream);
      if (st == nullptr || st->type != mms::asf::StreamType::kCommand || pl.object_offset != 0) {
        continue;
      }
      const std::uint64_t preroll = info.preroll_ms;
      const std::uint32_t time_ms = pl.presentation_ms > preroll
                                        ? static_cast<std::uint32_t>(pl.presentation_ms - preroll)
                                        : 0;
      mms::Result<mms::asf::ScriptCommand> c = mms::asf::parse_command_payload(
          packet.subview(pl.data_begin, pl.data_end - pl.data_begin), time_ms);
      if (c.ok()) {
        post_script_command(self, c.value(), "stream", entry);
      } else {
        GST_DEBUG_OBJECT(self, "command stream %u payload skipped: %s", pl.stream,
                         c.status().what());
      }
    }
  }
}

// Posts the entry's tags (Content Description, the common WM/ fields of the
// Extended Content Description, bitrates) as a `tag` message: once per header
// pushed, so every entry of a server-side playlist has its own.
// A GstStructure field name for a content description name: GStreamer takes
// letters, digits and "-_+/:." only, starting with a letter.
std::string structure_field_name(const std::string& name) {
  std::string out = g_ascii_isalpha(name.empty() ? '\0' : name[0]) ? "" : "x-";
  for (const char c : name) {
    const bool ok =
        g_ascii_isalnum(c) || c == '-' || c == '_' || c == '+' || c == '/' || c == ':' || c == '.';
    out.push_back(ok ? c : '-');
  }
  return out;
}

// Posts the element message `mms-metadata` for what the server said of the
// entry besides its header (MMSH $M): playlist-gen-id, broadcast-id,
// features, and "descriptions", one structure per language ("language" and
// every name-value pair as a string).
void post_metadata(GstMmsSrc* self, const mms::session::EntryMetadata& m, guint entry) {
  GValue list = G_VALUE_INIT;
  g_value_init(&list, GST_TYPE_ARRAY);
  for (const mms::session::ContentDescription& d : m.descriptions) {
    GstStructure* cd = gst_structure_new("content-description", "language", G_TYPE_STRING,
                                         d.language.c_str(), nullptr);
    for (const mms::session::CdlField& f : d.fields) {
      const std::string key = structure_field_name(f.name);
      if (key != "language") {
        gst_structure_set(cd, key.c_str(), G_TYPE_STRING, f.value.c_str(), nullptr);
      }
    }
    GValue v = G_VALUE_INIT;
    g_value_init(&v, GST_TYPE_STRUCTURE);
    g_value_take_boxed(&v, cd);
    gst_value_array_append_and_take_value(&list, &v);
  }
  GstStructure* s =
      gst_structure_new("mms-metadata", "entry", G_TYPE_UINT, entry, "playlist-gen-id", G_TYPE_UINT,
                        m.playlist_gen_id, "broadcast-id", G_TYPE_UINT, m.broadcast_id, "features",
                        G_TYPE_STRING, m.features.c_str(), nullptr);
  gst_structure_take_value(s, "descriptions", &list);
  GST_INFO_OBJECT(self, "metadata: %" GST_PTR_FORMAT, static_cast<void*>(s));
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

void post_tags(GstMmsSrc* self, const mms::asf::HeaderInfo& info,
               const mms::session::EntryMetadata* metadata) {
  GstTagList* tags = gst_tag_list_new_empty();
  gst_tag_list_set_scope(tags, GST_TAG_SCOPE_GLOBAL);
  auto add = [tags](const char* tag, const std::string& v) {
    if (!v.empty()) {
      gst_tag_list_add(tags, GST_TAG_MERGE_REPLACE, tag, v.c_str(), nullptr);
    }
  };
  add(GST_TAG_TITLE, info.tags.title);
  add(GST_TAG_ARTIST, info.tags.author);
  add(GST_TAG_COPYRIGHT, info.tags.copyright);
  add(GST_TAG_DESCRIPTION, info.tags.description);
  add(GST_TAG_ALBUM, info.tags.album);
  add(GST_TAG_GENRE, info.tags.genre);
  if (metadata != nullptr) {
    // The server's content description fills what the header leaves empty.
    auto fill = [&](const char* tag, const std::string& from_header, const char* name) {
      const std::string* v = metadata->find(name);
      if (from_header.empty() && v != nullptr) {
        add(tag, *v);
      }
    };
    fill(GST_TAG_TITLE, info.tags.title, "title");
    fill(GST_TAG_ARTIST, info.tags.author, "author");
    fill(GST_TAG_COPYRIGHT, info.tags.copyright, "copyright");
    fill(GST_TAG_DESCRIPTION, info.tags.description, "WMS_CONTENT_DESCRIPTION_DESCRIPTION");
  }
  if (!info.tags.year.empty()) {
    const int year = std::atoi(info.tags.year.c_str());
    if (year > 0 && year <= 9999) {
      GstDateTime* date = gst_date_time_new_y(year);
      gst_tag_list_add(tags, GST_TAG_MERGE_REPLACE, GST_TAG_DATE_TIME, date, nullptr);
      gst_date_time_unref(date);
    }
  }
  guint64 bitrate = 0;
  for (const mms::asf::StreamInfo& s : info.streams) {
    bitrate += s.bitrate;
  }
  if (bitrate > 0 && bitrate <= G_MAXUINT) {
    gst_tag_list_add(tags, GST_TAG_MERGE_REPLACE, GST_TAG_BITRATE, static_cast<guint>(bitrate),
                     nullptr);
  }
  if (info.max_bitrate > 0) {
    gst_tag_list_add(tags, GST_TAG_MERGE_REPLACE, GST_TAG_MAXIMUM_BITRATE,
                     static_cast<guint>(info.max_bitrate), nullptr);
  }
  if (gst_tag_list_is_empty(tags)) {
    gst_tag_list_unref(tags);
    return;
  }
  GST_INFO_OBJECT(self, "tags: %" GST_PTR_FORMAT, static_cast<void*>(tags));
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_tag(GST_OBJECT(self), tags));
}

// What is told of every entry: its tags, the server's metadata, the header's
// script commands.
void post_entry(GstMmsSrc* self, const mms::io::Item& item) {
  GstMmsSrcPrivate* p = self->priv;
  post_tags(self, *item.info, item.metadata.get());
  if (item.metadata) {
    post_metadata(self, *item.metadata, p->entry);
  }
  for (const mms::asf::ScriptCommand& c : item.info->script_commands) {
    post_script_command(self, c, "header", p->entry);
  }
}

// Server-side playlists (docs/element.md): asfdemux handles the next entry's
// header as a chained ASF (new pads, then EOS on the old ones and
// no-more-pads) and timestamps every entry from 0. So that the running time
// goes on across entries, as it does for chained Ogg, the first data buffer
// of an entry follows a new BYTES segment and carries the running time at
// which the entry starts as its PTS: asfdemux offsets the entry's timestamps
// by it (its interpolation of upstream timestamps).

// How long the entry described by `info` lasted: its play duration (0 for
// broadcasts).
gint64 entry_duration_ns(const mms::asf::HeaderInfo* info) {
  if (info != nullptr && !info->broadcast()) {
    return static_cast<gint64>(info->duration_ns());
  }
  return 0;
}

// Bytes of an ASF object's GUID and size.
constexpr std::size_t kAsfObjectHeaderBytes = 24;

// The packet count of an open-ended header: more than any stream sends, small
// enough that asfdemux's byte offsets (count * packet size) do not overflow.
constexpr std::uint64_t kOpenEndedPackets = std::uint64_t{1} << 40;

GstClockTime live_latency_for(const mms::asf::HeaderInfo* info) {
  const std::uint64_t preroll_ms = info != nullptr ? info->preroll_ms : 0;
  // A header's preroll is bounded only by its 64-bit field: cap it at a minute.
  return std::min<std::uint64_t>(preroll_ms, 60'000) * GST_MSECOND + kLiveJitter;
}

// Before the next entry's header, when the previous header announced its
// packet count: a segment at the end of the previous entry's data. asfdemux's
// packet counter then reaches the announced count and it looks for a chained
// header in what follows, even when fewer packets came than announced (RTSP
// announces them multiplied by the number of streams; packets without a
// selected stream are skipped). The caller then pushes the header in two
// buffers, its first 24 bytes and the rest: the first ends asfdemux's data
// state, with the second it parses the whole header at once, so nothing of it
// is left in its adapter for the entry's segment to discard. Returns whether
// that was done (false for broadcasts: asfdemux checks every packet for a
// header).
bool end_entry(GstMmsSrc* self, const mms::asf::HeaderInfo* prev) {
  if (prev == nullptr || prev->broadcast() || prev->data_packets_count == 0 ||
      prev->data_packets_count > kOpenEndedPackets) {
    return false;
  }
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_BYTES);
  segment.start = prev->total_size + prev->data_packets_count * prev->packet_size;
  segment.position = segment.start;
  segment.time = segment.start;
  gst_pad_push_event(GST_BASE_SRC_PAD(self), gst_event_new_segment(&segment));
  return true;
}

// Server-side playlists, continued (docs/element.md): when the server says
// the content is a playlist, the first header is pushed open-ended (no play
// duration, a packet count asfdemux does not reach), and an entry whose
// streams are the streams in force (asf::continuing_streams) is spliced into
// the stream: no header, its packets renumbered and their times moved on to
// where the entry before ended. asfdemux then sees one stream: no new pads,
// which decodebin3 (uritranscodebin) cannot take at an entry change in 1.22.
// An entry with other streams is chained as above.

// Pushes the header as is, or open-ended for a playlist's first; records what
// asfdemux will parse.
std::shared_ptr<const std::vector<std::uint8_t>> mark_pushed_header(GstMmsSrc* self,
                                                                    const mms::io::Item& item) {
  GstMmsSrcPrivate* p = self->priv;
  std::shared_ptr<const std::vector<std::uint8_t>> out = item.header;
  // Only the first header: entries after a chained one are chained too (a
  // chained header starts a new asfdemux timeline; splicing onto it is not
  // done).
  if (!p->header_pushed && item.playlist && !item.info->broadcast() && item.info->has_data_prefix) {
    auto marked = std::make_shared<std::vector<std::uint8_t>>(*item.header);
    const mms::Status st = mms::asf::mark_open_ended(marked.get(), kOpenEndedPackets);
    if (st.ok()) {
      out = std::move(marked);
    } else {
      GST_WARNING_OBJECT(self, "header not marked open-ended: %s", st.what());
    }
  }
  p->pushed_header = out;
  if (out == item.header) {
    p->pushed_info = item.info;  // pushed as it came
    return out;
  }
  // mark_open_ended changes durations and the Data Object's count only; the
  // count is what asfdemux goes by (File Properties' is not read).
  auto info = std::make_shared<mms::asf::HeaderInfo>(*item.info);
  info->play_duration_100ns = 0;
  info->send_duration_100ns = 0;
  info->data_packets_count = kOpenEndedPackets;
  p->pushed_info = std::move(info);
  return out;
}

// At a new entry's header: whether it continues the stream in force (then
// its packets are rewritten from now on, and nothing is pushed).
bool splice_entry(GstMmsSrc* self, const mms::io::Item& item, const mms::asf::HeaderInfo* prev) {
  GstMmsSrcPrivate* p = self->priv;
  if (!p->pushed_header || !p->pushed_info || prev == nullptr ||
      p->pushed_info->data_packets_count != kOpenEndedPackets) {
    return false;
  }
  mms::Result<mms::asf::StreamMap> map =
      mms::asf::continuing_streams(mms::ByteView(*p->pushed_header), mms::ByteView(*item.header));
  if (!map.ok()) {
    GST_INFO_OBJECT(self, "next entry chained, not spliced: %s", map.status().what());
    return false;
  }
  gint64 start_ns = 0;
  {
    std::lock_guard<std::mutex> lock(p->mu);
    start_ns = p->splice_start_ns + entry_duration_ns(prev);
  }
  // The entry's time t (with its preroll) goes to t - its preroll + the
  // pushed header's preroll + where it starts.
  const std::int64_t shift = start_ns / GST_MSECOND +
                             static_cast<std::int64_t>(p->pushed_info->preroll_ms) -
                             static_cast<std::int64_t>(item.info->preroll_ms);
  if (shift < 0 || shift > G_MAXUINT32) {
    GST_INFO_OBJECT(self, "next entry chained, not spliced: its preroll");
    return false;
  }
  p->splicing = true;
  // Decoders start the entry afresh (their state is the last entry's): as
  // decoded from its own file.
  p->discont_next = true;
  p->splice_map = *map;
  p->splice_shift_ms = static_cast<std::uint32_t>(shift);
  {
    std::lock_guard<std::mutex> lock(p->mu);
    p->splice_start_ns = start_ns;
  }
  GST_INFO_OBJECT(self, "entry %u spliced at %" GST_TIME_FORMAT " (times + %u ms)", p->entry + 1,
                  GST_TIME_ARGS(static_cast<GstClockTime>(start_ns)), p->splice_shift_ms);
  return true;
}

// A spliced entry's packets, in place: each rewritten onto the stream in
// force; one that cannot be (a time past its field) is dropped with a
// warning. Returns the bytes left.
std::size_t continue_packets(GstMmsSrc* self, std::uint8_t* data, std::size_t size,
                             std::uint32_t packet_size) {
  GstMmsSrcPrivate* p = self->priv;
  if (packet_size == 0) {
    return size;
  }
  std::size_t out = 0;
  for (std::size_t at = 0; at + packet_size <= size; at += packet_size) {
    std::uint8_t* pkt = data + at;
    const mms::Status st =
        mms::asf::continue_packet(pkt, packet_size, packet_size, p->splice_map, p->splice_shift_ms,
                                  p->last_send_ms, &p->last_send_ms);
    if (!st.ok()) {
      GST_ELEMENT_WARNING(self, STREAM, DEMUX, (nullptr),
                          ("a packet of playlist entry %u dropped: %s", p->entry, st.what()));
      continue;
    }
    if (out != at) {
      std::memmove(data + out, pkt, packet_size);
    }
    out += packet_size;
  }
  return out;
}

// Before the first data buffer of a new entry: a new segment, and the entry's
// start in the running time as the buffer's PTS.
void continue_timeline(GstMmsSrc* self, GstBuffer* first) {
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_BYTES);
  gst_pad_push_event(GST_BASE_SRC_PAD(self), gst_event_new_segment(&segment));
  GST_BUFFER_PTS(first) = static_cast<GstClockTime>(self->priv->chain_pts_ns);
}

// The current driver, kept alive for the caller even if stop() runs meanwhile
// (it is then closed: its queue flushes, seek() does nothing).
std::shared_ptr<mms::io::Driver> driver_of(GstMmsSrc* self) {
  std::lock_guard<std::mutex> lock(self->priv->mu);
  return self->priv->driver;
}

}  // namespace

static void gst_mms_src_set_property(GObject* object, guint prop_id, const GValue* value,
                                     GParamSpec* pspec) noexcept {
  GstMmsSrc* self = GST_MMS_SRC(object);
  if (prop_id == PROP_LOCATION) {
    GError* error = nullptr;
    if (!set_location(self, g_value_get_string(value), &error)) {
      GST_WARNING_OBJECT(self, "%s", error->message);
      g_clear_error(&error);
    }
    return;
  }
  if (prop_id == PROP_CONNECTION_SPEED || prop_id == PROP_AUDIO_ONLY) {
    // Also while playing: the streams change without a new connection
    // (docs/element.md, "Stream selection").
    std::shared_ptr<mms::io::Driver> driver;
    std::uint32_t kbps = 0;
    bool audio_only = false;
    {
      std::lock_guard<std::mutex> lock(self->priv->mu);
      Settings& s = self->priv->settings;
      if (prop_id == PROP_CONNECTION_SPEED) {
        s.connection_speed = g_value_get_uint64(value);
      } else {
        s.audio_only = g_value_get_boolean(value) != FALSE;
      }
      kbps = s.connection_speed > G_MAXUINT32 ? G_MAXUINT32
                                              : static_cast<std::uint32_t>(s.connection_speed);
      audio_only = s.audio_only;
      driver = self->priv->driver;
    }
    if (driver) {
      GST_INFO_OBJECT(self, "choosing streams again: %u kbps%s", kbps,
                      audio_only ? ", audio only" : "");
      driver->select_streams(kbps, audio_only);
    }
    return;
  }
  std::lock_guard<std::mutex> lock(self->priv->mu);
  Settings& s = self->priv->settings;
  auto str = [value]() {
    const char* v = g_value_get_string(value);
    return std::string(v != nullptr ? v : "");
  };
  switch (prop_id) {
    case PROP_TIMEOUT:
      s.timeout = g_value_get_uint(value);
      break;
    case PROP_USER_AGENT:
      s.user_agent = str();
      break;
    case PROP_USER_ID:
      s.user_id = str();
      break;
    case PROP_USER_PW:
      s.user_pw = str();
      break;
    case PROP_PROXY:
      s.proxy = str();
      break;
    case PROP_PROXY_ID:
      s.proxy_id = str();
      break;
    case PROP_PROXY_PW:
      s.proxy_pw = str();
      break;
    case PROP_IS_LIVE:
      s.is_live = g_value_get_boolean(value) != FALSE;
      gst_base_src_set_live(GST_BASE_SRC(self), s.is_live);
      break;
    case PROP_PROTOCOLS: {
      std::string v = str();
      if (v.empty()) {
        v = kDefaultProtocols;
      }
      if (!mms::session::parse_protocols(v).ok()) {
        GST_WARNING_OBJECT(self, "invalid protocols list '%s' (use e.g. \"mmsu,mmst,mmsh\")",
                           v.c_str());
        break;
      }
      s.protocols = v;
      break;
    }
    case PROP_UDP_TIMEOUT:
      s.udp_timeout_us = g_value_get_uint64(value);
      break;
    case PROP_FAST_START:
      s.fast_start = g_value_get_boolean(value) != FALSE;
      break;
    case PROP_RETRIES:
      s.retries = g_value_get_int(value);
      break;
    case PROP_RETRY_DELAY_MAX:
      s.retry_delay_max = g_value_get_uint(value);
      break;
    case PROP_PORT_RANGE: {
      std::uint16_t lo = 0;
      std::uint16_t hi = 0;
      if (!parse_port_range(str(), &lo, &hi)) {
        GST_WARNING_OBJECT(self, "invalid port range '%s' (use e.g. \"5000-5010\")", str().c_str());
        break;
      }
      s.port_range = str();
      break;
    }
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
}

static void gst_mms_src_get_property(GObject* object, guint prop_id, GValue* value,
                                     GParamSpec* pspec) noexcept {
  GstMmsSrc* self = GST_MMS_SRC(object);
  std::lock_guard<std::mutex> lock(self->priv->mu);
  const Settings& s = self->priv->settings;
  auto str = [value](const std::string& v) {
    g_value_set_string(value, v.empty() ? nullptr : v.c_str());
  };
  switch (prop_id) {
    case PROP_LOCATION:
      str(s.location);
      break;
    case PROP_CONNECTION_SPEED:
      g_value_set_uint64(value, s.connection_speed);
      break;
    case PROP_TIMEOUT:
      g_value_set_uint(value, s.timeout);
      break;
    case PROP_USER_AGENT:
      str(s.user_agent);
      break;
    case PROP_USER_ID:
      str(s.user_id);
      break;
    case PROP_USER_PW:
      str(s.user_pw);
      break;
    case PROP_PROXY:
      str(s.proxy);
      break;
    case PROP_PROXY_ID:
      str(s.proxy_id);
      break;
    case PROP_PROXY_PW:
      str(s.proxy_pw);
      break;
    case PROP_IS_LIVE:
      g_value_set_boolean(value, s.is_live);
      break;
    case PROP_PROTOCOLS:
      str(s.protocols);
      break;
    case PROP_UDP_TIMEOUT:
      g_value_set_uint64(value, s.udp_timeout_us);
      break;
    case PROP_FAST_START:
      g_value_set_boolean(value, s.fast_start ? TRUE : FALSE);
      break;
    case PROP_RETRIES:
      g_value_set_int(value, s.retries);
      break;
    case PROP_RETRY_DELAY_MAX:
      g_value_set_uint(value, s.retry_delay_max);
      break;
    case PROP_PORT_RANGE:
      str(s.port_range);
      break;
    case PROP_TRANSPORT: {
      const mms::io::Driver* d = self->priv->driver.get();  // under priv->mu, like stop()
      str(d != nullptr ? d->established_transport() : std::string());
      break;
    }
    case PROP_BANDWIDTH:
      g_value_set_uint64(value, self->priv->bandwidth.load());
      break;
    case PROP_AUDIO_ONLY:
      g_value_set_boolean(value, s.audio_only ? TRUE : FALSE);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
}

namespace {

// The first of two environment variables that is set and not empty.
std::string env_value(const char* name, const char* other) {
  const char* v = g_getenv(name);
  if (v == nullptr || *v == '\0') {
    v = g_getenv(other);
  }
  return v != nullptr ? std::string(v) : std::string();
}

}  // namespace

static gboolean gst_mms_src_start(GstBaseSrc* src) noexcept {
  GstMmsSrc* self = GST_MMS_SRC(src);
  GstMmsSrcPrivate* p = self->priv;
  Settings s;
  {
    std::lock_guard<std::mutex> lock(p->mu);
    s = p->settings;
  }
  if (s.location.empty()) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("No URL set."), ("Missing location property"));
    return FALSE;
  }
  mms::Result<mms::Url> url = mms::parse_url(s.location);
  if (!url.ok()) {
    GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ, ("Invalid MMS URL."), ("%s", url.status().what()));
    return FALSE;
  }
  mms::io::DriverSettings ds;
  ds.client.url = *url;
  ds.client.user_agent = s.user_agent;
  ds.client.user = s.user_id;
  ds.client.password = s.user_pw;
  ds.client.audio_only = s.audio_only;
  ds.client.connection_speed_kbps = s.connection_speed > G_MAXUINT32
                                        ? G_MAXUINT32
                                        : static_cast<std::uint32_t>(s.connection_speed);
  ds.client.timeout = static_cast<mms::Duration>(s.timeout) * mms::kSecond;
  ds.client.client_guid = mms::io::make_client_guid();
  ds.client.udp_timeout = static_cast<mms::Duration>(s.udp_timeout_us) * 1000;
  ds.client.fast_start_ms = s.fast_start ? mms::kFastStartRequestMs : 0;
  ds.rollover.retries = s.retries;
  ds.rollover.retry_delay_max = static_cast<mms::Duration>(s.retry_delay_max) * mms::kSecond;
  (void)parse_port_range(s.port_range, &ds.client.udp_port_min, &ds.client.udp_port_max);
  if (mms::Result<std::vector<mms::session::Transport>> protocols =
          mms::session::parse_protocols(s.protocols);
      protocols.ok()) {
    ds.rollover.protocols = *protocols;
  }
  if (mms::Result<std::vector<mms::session::Transport>> candidates =
          mms::session::candidates_for(*url, ds.rollover.protocols);
      !candidates.ok()) {
    GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ, ("No transport allowed for this URL."),
                      ("%s: %s (protocols=%s)", url->redacted().c_str(), candidates.status().what(),
                       s.protocols.c_str()));
    return FALSE;
  }
  // The proxy: the property, else http_proxy / HTTP_PROXY unless no_proxy /
  // NO_PROXY names the host (as souphttpsrc and curl do).
  std::string proxy_setting = s.proxy;
  if (proxy_setting.empty()) {
    std::string env = env_value("http_proxy", "HTTP_PROXY");
    std::string no_proxy = env_value("no_proxy", "NO_PROXY");
    if (!env.empty() && mms::no_proxy_matches(no_proxy, url->host)) {
      GST_INFO_OBJECT(self, "no proxy for %s (no_proxy=%s)", url->host.c_str(), no_proxy.c_str());
    } else if (!env.empty()) {
      GST_INFO_OBJECT(self, "proxy from the environment (http_proxy)");
      proxy_setting = env;
    }
  }
  if (!proxy_setting.empty()) {
    std::string proxy =
        proxy_setting.find("://") == std::string::npos ? "http://" + proxy_setting : proxy_setting;
    mms::Result<mms::Url> purl = mms::parse_url(proxy);
    if (!purl.ok() || purl->scheme != "http") {
      GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ, ("Invalid proxy."),
                        ("%s", s.proxy.empty() ? "from http_proxy" : s.proxy.c_str()));
      return FALSE;
    }
    if (!s.proxy_id.empty()) {
      purl->user = s.proxy_id;
      purl->password = s.proxy_pw;
    }
    ds.client.proxy = *purl;
  }
  p->error_ctx = mms::gst::ErrorContext();
  p->error_ctx.uri = url->redacted();
  p->error_ctx.transport.clear();
  p->error_ctx.attempts.clear();
  p->header_pushed = false;
  p->entry = 0;
  p->timeline_ns = 0;
  p->chain_pts_ns = 0;
  p->timeline_next = false;
  p->discont_next = false;
  p->command_stream = false;
  p->pushed_header.reset();
  p->pushed_info.reset();
  p->splicing = false;
  p->splice_shift_ms = 0;
  p->last_send_ms = 0;
  p->timeout = s.timeout;
  p->bandwidth.store(0);
  auto driver =
      std::make_unique<mms::io::Driver>([self](const mms::io::Notice& n) { post_notice(self, n); });
  driver->open(std::move(ds));
  std::lock_guard<std::mutex> lock(p->mu);
  p->info.reset();
  p->splice_start_ns = 0;
  p->live_latency = kLiveJitter;
  p->driver = std::move(driver);
  return TRUE;
}

static gboolean gst_mms_src_stop(GstBaseSrc* src) noexcept {
  GstMmsSrc* self = GST_MMS_SRC(src);
  std::shared_ptr<mms::io::Driver> driver;
  {
    std::lock_guard<std::mutex> lock(self->priv->mu);
    driver = std::move(self->priv->driver);
    self->priv->info.reset();
  }
  if (driver) {
    driver->close();  // cancels connects, closes sockets, joins the I/O thread
  }
  return TRUE;
}

static gboolean gst_mms_src_unlock(GstBaseSrc* src) noexcept {
  GstMmsSrc* self = GST_MMS_SRC(src);
  std::lock_guard<std::mutex> lock(self->priv->mu);
  if (self->priv->driver) {
    self->priv->driver->queue().set_flushing(true);
  }
  return TRUE;
}

static gboolean gst_mms_src_unlock_stop(GstBaseSrc* src) noexcept {
  GstMmsSrc* self = GST_MMS_SRC(src);
  std::lock_guard<std::mutex> lock(self->priv->mu);
  if (self->priv->driver) {
    self->priv->driver->queue().set_flushing(false);
  }
  return TRUE;
}

static GstFlowReturn gst_mms_src_create(GstPushSrc* psrc, GstBuffer** outbuf) noexcept {
  GstMmsSrc* self = GST_MMS_SRC(psrc);
  GstMmsSrcPrivate* p = self->priv;
  const std::shared_ptr<mms::io::Driver> driver = driver_of(self);
  if (driver == nullptr) {
    return GST_FLOW_FLUSHING;
  }
  for (;;) {
    mms::io::Item item;
    if (driver->queue().pop(&item) == mms::io::OutputQueue::Wait::kFlushing) {
      return GST_FLOW_FLUSHING;
    }
    switch (item.kind) {
      case mms::io::Item::Kind::kHeader: {
        add_stream_bitrates(self, &item);
        bool split_header = false;
        if (p->header_pushed && !item.changed) {
          std::lock_guard<std::mutex> lock(p->mu);
          p->info = item.info;
          continue;  // the same header again (after a seek or a reconnect)
        }
        const bool stream_switch = p->header_pushed && item.continues_at_ms.has_value();
        if (p->header_pushed) {
          std::shared_ptr<const mms::asf::HeaderInfo> prev;
          {
            std::lock_guard<std::mutex> lock(p->mu);
            prev = p->info;
          }
          if (!stream_switch && splice_entry(self, item, prev.get())) {
            ++p->entry;
            {
              std::lock_guard<std::mutex> lock(p->mu);
              p->info = item.info;
            }
            post_entry(self, item);
            p->command_stream = has_command_stream(*item.info);
            continue;  // asfdemux goes on with the same header
          }
          p->splicing = false;
          gint64 spliced_ns = 0;  // where the entry before started in the pushed header's timeline
          {
            std::lock_guard<std::mutex> lock(p->mu);
            spliced_ns = p->splice_start_ns;
            p->splice_start_ns = 0;
          }
          split_header = end_entry(self, p->pushed_info.get());
          if (stream_switch) {
            // Other streams of the same content, given as a new entry (see
            // continue_timeline): its timestamps start where those streams
            // do; the content's origin in the running time stays.
            const gint64 at = static_cast<gint64>(*item.continues_at_ms) * GST_MSECOND;
            p->chain_pts_ns =
                split_header ? std::max<gint64>(0, p->timeline_ns + spliced_ns + at) : 0;
            GST_INFO_OBJECT(
                self, "new streams from %" GST_TIME_FORMAT " at running time %" GST_TIME_FORMAT,
                GST_TIME_ARGS(static_cast<GstClockTime>(at)),
                GST_TIME_ARGS(static_cast<GstClockTime>(p->chain_pts_ns)));
          } else {
            ++p->entry;
            // Only a header that asfdemux takes at once (see end_entry) can be
            // followed by the segment that carries the entry's start; after a
            // broadcast header the running time starts at 0 again.
            p->timeline_ns =
                split_header ? p->timeline_ns + spliced_ns + entry_duration_ns(prev.get()) : 0;
            if (p->timeline_ns < 0) {
              p->timeline_ns = 0;
            }
            p->chain_pts_ns = p->timeline_ns;
            GST_INFO_OBJECT(self, "entry %u starts at running time %" GST_TIME_FORMAT, p->entry,
                            GST_TIME_ARGS(p->timeline_ns));
          }
          p->timeline_next = split_header;
        }
        bool latency_changed = false;
        {
          std::lock_guard<std::mutex> lock(p->mu);
          p->info = item.info;
          const GstClockTime latency = live_latency_for(item.info.get());
          latency_changed = p->settings.is_live && latency != p->live_latency;
          p->live_latency = latency;
        }
        if (latency_changed) {
          // The bin asked before the header was in; it asks again on this.
          gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
        }
        if (!stream_switch) {  // the same entry goes on: told already
          post_entry(self, item);
        }
        p->command_stream = has_command_stream(*item.info);
        GST_INFO_OBJECT(self, "ASF header: %zu bytes, packet size %u, %zu streams%s%s",
                        item.header->size(), item.info->packet_size, item.info->streams.size(),
                        item.info->broadcast() ? ", broadcast" : "",
                        item.changed ? ", new entry" : "");
        const std::shared_ptr<const std::vector<std::uint8_t>> pushed =
            mark_pushed_header(self, item);
        const std::uint8_t* hdr = pushed->data();
        std::size_t hdr_size = pushed->size();
        if (split_header && hdr_size > kAsfObjectHeaderBytes) {
          GstBuffer* start = gst_buffer_new_memdup(hdr, kAsfObjectHeaderBytes);
          GST_BUFFER_FLAG_SET(start, GST_BUFFER_FLAG_DISCONT);
          GST_BUFFER_OFFSET(start) = 0;
          const GstFlowReturn ret = gst_pad_push(GST_BASE_SRC_PAD(self), start);
          if (ret != GST_FLOW_OK) {
            return ret;
          }
          hdr += kAsfObjectHeaderBytes;
          hdr_size -= kAsfObjectHeaderBytes;
        }
        GstBuffer* buf = gst_buffer_new_memdup(hdr, hdr_size);
        if (p->header_pushed && !split_header) {
          GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DISCONT);
        }
        p->header_pushed = true;
        GST_BUFFER_OFFSET(buf) = pushed->size() - hdr_size;
        *outbuf = buf;
        return GST_FLOW_OK;
      }
      case mms::io::Item::Kind::kData: {
        if (!p->header_pushed) {
          continue;  // cannot happen: the session emits the header first
        }
        std::size_t size = item.block.size();
        const std::size_t cap = item.block.capacity();
        std::uint8_t* data = item.block.release();
        GstBuffer* buf = gst_buffer_new_wrapped_full(static_cast<GstMemoryFlags>(0), data, cap, 0,
                                                     size, data, free);
        if (item.discont || p->discont_next) {
          GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DISCONT);
          p->discont_next = false;
        }
        std::shared_ptr<const mms::asf::HeaderInfo> info;
        {
          std::lock_guard<std::mutex> lock(p->mu);
          info = p->info;
        }
        if (info) {
          GST_BUFFER_OFFSET(buf) =
              info->total_size + static_cast<guint64>(item.first_packet) * info->packet_size;
          if (p->command_stream) {
            post_stream_commands(self, *info, data, size, p->entry);
          }
          if (p->splicing) {
            size = continue_packets(self, data, size, info->packet_size);
            gst_buffer_set_size(buf, static_cast<gssize>(size));
          } else if (p->pushed_info && p->pushed_info->data_packets_count == kOpenEndedPackets &&
                     size >= info->packet_size) {
            // Where the next entry's send times may start, if it is spliced.
            mms::Result<std::uint32_t> send = mms::asf::packet_send_time(
                mms::ByteView(data + size - info->packet_size, info->packet_size));
            if (send.ok()) {
              p->last_send_ms = *send;
            }
          }
        }
        if (p->timeline_next) {
          p->timeline_next = false;
          continue_timeline(self, buf);
        }
        *outbuf = buf;
        return GST_FLOW_OK;
      }
      case mms::io::Item::Kind::kEos:
        GST_INFO_OBJECT(self, "end of stream");
        return GST_FLOW_EOS;
      case mms::io::Item::Kind::kError:
        p->error_ctx.detail = item.detail;
        p->error_ctx.attempts = driver->attempts();
        p->error_ctx.transport = driver->transport();
        p->error_ctx.attempt_errors = driver->attempt_errors();
        return mms::gst::post_error(GST_ELEMENT(self), item.status, p->error_ctx);
    }
  }
}

static gboolean gst_mms_src_is_seekable(GstBaseSrc* src) noexcept {
  const std::shared_ptr<mms::io::Driver> driver = driver_of(GST_MMS_SRC(src));
  return driver != nullptr && driver->seekable();
}

static gboolean gst_mms_src_prepare_seek_segment(GstBaseSrc* src, GstEvent* event,
                                                 GstSegment* segment) noexcept {
  gdouble rate = 1.0;
  GstFormat format = GST_FORMAT_UNDEFINED;
  GstSeekFlags flags = GST_SEEK_FLAG_NONE;
  GstSeekType start_type = GST_SEEK_TYPE_NONE;
  GstSeekType stop_type = GST_SEEK_TYPE_NONE;
  gint64 start = 0;
  gint64 stop = 0;
  gst_event_parse_seek(event, &rate, &format, &flags, &start_type, &start, &stop_type, &stop);
  if (rate <= 0.0) {
    GST_WARNING_OBJECT(src, "only forward playback is supported");
    return FALSE;
  }
  if (format == GST_FORMAT_BYTES && start_type == GST_SEEK_TYPE_SET && start == 0) {
    gst_segment_init(segment, GST_FORMAT_BYTES);
    return TRUE;
  }
  if (format != GST_FORMAT_TIME || start_type != GST_SEEK_TYPE_SET || start < 0) {
    GST_WARNING_OBJECT(src, "only absolute TIME seeks are supported (got %s)",
                       gst_format_get_name(format));
    return FALSE;
  }
  gst_segment_init(segment, GST_FORMAT_TIME);
  gboolean update = FALSE;
  return gst_segment_do_seek(segment, rate, format, flags, start_type, start, stop_type, stop,
                             &update);
}

static gboolean gst_mms_src_do_seek(GstBaseSrc* src, GstSegment* segment) noexcept {
  GstMmsSrc* self = GST_MMS_SRC(src);
  GstMmsSrcPrivate* p = self->priv;
  const std::shared_ptr<mms::io::Driver> driver = driver_of(self);
  if (segment->format == GST_FORMAT_BYTES) {
    // The initial segment, or a seek back to the very start in BYTES.
    if (segment->start == 0 || driver == nullptr || !p->header_pushed) {
      return segment->start == 0;
    }
    return FALSE;
  }
  if (segment->format != GST_FORMAT_TIME || driver == nullptr) {
    return FALSE;
  }
  std::shared_ptr<const mms::asf::HeaderInfo> info;
  {
    std::lock_guard<std::mutex> lock(p->mu);
    info = p->info;
  }
  if (!info || !driver->seekable()) {
    return FALSE;
  }
  gint64 spliced_ns = 0;
  {
    std::lock_guard<std::mutex> lock(p->mu);
    spliced_ns = p->splice_start_ns;
  }
  // In a spliced entry, positions are the entry's plus where it starts; one
  // before it is the entry's start (the server seeks in the current entry).
  const guint64 target_ms =
      static_cast<guint64>(std::max<gint64>(0, segment->start - spliced_ns)) / GST_MSECOND;
  GST_INFO_OBJECT(self, "seeking to %" GST_TIME_FORMAT, GST_TIME_ARGS(segment->start));
  std::uint64_t epoch = driver->seek(target_ms);
  mms::io::Item::Kind kind = mms::io::Item::Kind::kData;
  std::uint32_t first_packet = 0;
  bool timed_out = false;
  const int wait_ms = static_cast<int>(p->timeout == 0 ? 60000 : p->timeout * 1000);
  if (driver->queue().peek_first(epoch, &kind, &first_packet, wait_ms, &timed_out) ==
      mms::io::OutputQueue::Wait::kFlushing) {
    return FALSE;
  }
  if (timed_out) {
    mms::gst::post_seek_error(GST_ELEMENT(self),
                              mms::Status(mms::Code::kTimedOut, "no answer to the seek"),
                              p->error_ctx);
    return FALSE;
  }
  guint64 start = info->total_size;
  if (kind == mms::io::Item::Kind::kData) {
    start += static_cast<guint64>(first_packet) * info->packet_size;
  } else if (kind == mms::io::Item::Kind::kEos) {
    start += info->data_packets_count * info->packet_size;
  }
  GST_INFO_OBJECT(self, "server restarted at packet %u (byte %" G_GUINT64_FORMAT ")", first_packet,
                  start);
  // Running time restarts at the seek position; the next entry starts where
  // the rest of this one ends.
  p->timeline_ns = -spliced_ns - static_cast<gint64>(target_ms * GST_MSECOND);
  p->last_send_ms = 0;  // the entry's send times start again
  p->timeline_next = false;
  gst_segment_init(segment, GST_FORMAT_BYTES);
  segment->start = start;
  segment->position = start;
  segment->time = start;
  return TRUE;
}

static gboolean gst_mms_src_query(GstBaseSrc* src, GstQuery* query) noexcept {
  GstMmsSrc* self = GST_MMS_SRC(src);
  std::shared_ptr<const mms::asf::HeaderInfo> info;
  std::string location;
  gint64 spliced_ns = 0;
  {
    std::lock_guard<std::mutex> lock(self->priv->mu);
    info = self->priv->info;
    location = self->priv->settings.location;
    spliced_ns = self->priv->splice_start_ns;
  }
  const bool seekable = gst_mms_src_is_seekable(src) != FALSE;
  switch (GST_QUERY_TYPE(query)) {
    case GST_QUERY_DURATION: {
      GstFormat format = GST_FORMAT_UNDEFINED;
      gst_query_parse_duration(query, &format, nullptr);
      if (!info || info->broadcast()) {
        return FALSE;
      }
      if (format == GST_FORMAT_TIME && info->duration_ns() > 0) {
        // A spliced entry ends where it started plus its own duration.
        gst_query_set_duration(query, format,
                               spliced_ns + static_cast<gint64>(info->duration_ns()));
        return TRUE;
      }
      if (format == GST_FORMAT_BYTES && info->data_packets_count > 0) {
        gst_query_set_duration(
            query, format,
            static_cast<gint64>(info->total_size + info->data_packets_count * info->packet_size));
        return TRUE;
      }
      return FALSE;
    }
    case GST_QUERY_SEEKING: {
      GstFormat format = GST_FORMAT_UNDEFINED;
      gst_query_parse_seeking(query, &format, nullptr, nullptr, nullptr);
      if (format == GST_FORMAT_TIME) {
        gint64 dur =
            info && !info->broadcast() ? spliced_ns + static_cast<gint64>(info->duration_ns()) : -1;
        gst_query_set_seeking(query, format, seekable, 0, dur);
        return TRUE;
      }
      if (format == GST_FORMAT_BYTES) {
        gst_query_set_seeking(query, format, FALSE, 0, -1);
        return TRUE;
      }
      return FALSE;
    }
    case GST_QUERY_SCHEDULING:
      // Push mode only: the network cannot serve random byte ranges.
      gst_query_set_scheduling(query, GST_SCHEDULING_FLAG_BANDWIDTH_LIMITED, 1, -1, 0);
      gst_query_add_scheduling_mode(query, GST_PAD_MODE_PUSH);
      return TRUE;
    case GST_QUERY_LATENCY: {
      bool live = false;
      GstClockTime min = 0;
      {
        std::lock_guard<std::mutex> lock(self->priv->mu);
        live = self->priv->settings.is_live;
        min = self->priv->live_latency;
      }
      // Not live: no latency. Live: packets arrive when the server sends
      // them, up to the preroll ahead of their presentation time, so a sink
      // must wait that long (plus the network's jitter); the element's queue
      // holds whatever a downstream latency adds.
      gst_query_set_latency(query, live ? TRUE : FALSE, live ? min : 0, GST_CLOCK_TIME_NONE);
      return TRUE;
    }
    case GST_QUERY_URI:
      if (location.empty()) {
        return FALSE;
      }
      gst_query_set_uri(query, location.c_str());
      return TRUE;
    default:
      return GST_BASE_SRC_CLASS(parent_class)->query(src, query);
  }
}

static void gst_mms_src_finalize(GObject* object) noexcept {
  GstMmsSrc* self = GST_MMS_SRC(object);
  delete self->priv;
  self->priv = nullptr;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_mms_src_class_init(GstMmsSrcClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  GstBaseSrcClass* basesrc_class = GST_BASE_SRC_CLASS(klass);
  GstPushSrcClass* pushsrc_class = GST_PUSH_SRC_CLASS(klass);

  gobject_class->set_property = gst_mms_src_set_property;
  gobject_class->get_property = gst_mms_src_get_property;
  gobject_class->finalize = gst_mms_src_finalize;

  const auto rw = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                           GST_PARAM_MUTABLE_READY);
  /**
   * GstMmsSrc:location:
   * The URL to play: mms://, mmst://, mmsu:// or mmsh://host[:port]/path.
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_LOCATION,
      g_param_spec_string("location", "Location",
                          "URL of the MMS stream (mms://, mmst://, mmsu://, mmsh://)", nullptr,
                          rw));
  /**
   * GstMmsSrc:connection-speed:
   * Network bandwidth in kbps used to pick one stream of each mutual exclusion
   * group of multi-bitrate content: the best that fits. 0 = the bandwidth the
   * packet-pair probe measured (#GstMmsSrc:bandwidth), or, without one, the
   * best stream of each group.
   * Changed while playing, the element changes streams without a new
   * connection: the stream goes on from the current position with the new
   * streams, which reach asfdemux as a new entry at their first key frame.
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_CONNECTION_SPEED,
      g_param_spec_uint64("connection-speed", "Connection speed",
                          "Network connection speed in kbps for multi-bitrate stream selection "
                          "(0 = the measured bandwidth, else the best streams)",
                          0, G_MAXUINT32, 0,
                          static_cast<GParamFlags>(rw | GST_PARAM_MUTABLE_PLAYING)));
  /**
   * GstMmsSrc:audio-only:
   * Receive no video stream (when the content has audio): for listening to
   * a video broadcast on a slow link. Changeable while playing, like
   * #GstMmsSrc:connection-speed.
   * Since: 0.4
   */
  g_object_class_install_property(
      gobject_class, PROP_AUDIO_ONLY,
      g_param_spec_boolean("audio-only", "Audio only",
                           "Receive only the audio streams (changeable while playing)", FALSE,
                           static_cast<GParamFlags>(rw | GST_PARAM_MUTABLE_PLAYING)));
  /**
   * GstMmsSrc:timeout:
   * Seconds to wait for a connection or for data before failing (0 = wait forever).
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_TIMEOUT,
      g_param_spec_uint("timeout", "Timeout",
                        "Seconds to wait for a connection or data (0 = no timeout)", 0, 3600,
                        kDefaultTimeout, rw));
  /**
   * GstMmsSrc:user-agent:
   * User-Agent sent to the server; the NSPlayer version selects server behaviour.
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_USER_AGENT,
      g_param_spec_string("user-agent", "User-Agent", "User-Agent string sent to the server",
                          kDefaultUserAgent, rw));
  /**
   * GstMmsSrc:user-id:
   * User name for authentication (overrides credentials in the URL).
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_USER_ID,
      g_param_spec_string("user-id", "User ID", "User name for authentication", nullptr, rw));
  /**
   * GstMmsSrc:user-pw:
   * Password for authentication.
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_USER_PW,
      g_param_spec_string("user-pw", "User password", "Password for authentication", nullptr, rw));
  /**
   * GstMmsSrc:proxy:
   * HTTP proxy, as host:port or http://[user:password@]host:port. Every TCP
   * transport goes through it: MMSH with absolute-URI requests, RTSP/TCP and
   * MMS/TCP through a CONNECT tunnel; the UDP transports are not tried. When
   * unset, the `http_proxy` (or `HTTP_PROXY`) environment variable is used
   * unless `no_proxy` (or `NO_PROXY`) names the server's host.
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_PROXY,
      g_param_spec_string("proxy", "Proxy",
                          "HTTP proxy server URI for every TCP transport (MMSH requests, "
                          "CONNECT for RTSP and MMS; UDP is not used); unset: $http_proxy "
                          "unless $no_proxy names the host",
                          nullptr, rw));
  /**
   * GstMmsSrc:proxy-id:
   * User name for proxy authentication.
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_PROXY_ID,
      g_param_spec_string("proxy-id", "Proxy user ID", "User name for proxy authentication",
                          nullptr, rw));
  /**
   * GstMmsSrc:proxy-pw:
   * Password for proxy authentication.
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_PROXY_PW,
      g_param_spec_string("proxy-pw", "Proxy password", "Password for proxy authentication",
                          nullptr, rw));
  /**
   * GstMmsSrc:is-live:
   * Act as a live source (useful for broadcasts in a live pipeline): the
   * LATENCY query answers live with the content's preroll plus 500 ms as
   * the minimum, and a `latency` message follows the first header (and any
   * header with another preroll) so the pipeline asks again.
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_IS_LIVE,
      g_param_spec_boolean("is-live", "Is live", "Act as a live source", FALSE, rw));

  /**
   * GstMmsSrc:protocols:
   * Transports to try for mms:// URLs, in order: a comma-separated list of
   * "rtspu" (RTSP, RTP over UDP), "rtspt" (RTSP, interleaved RTP), "mmsu"
   * (MMS, data over UDP), "mmst" (MMS over TCP) and "mmsh" (MMS over HTTP).
   * For the pinned schemes it only has to include the URL's transport.
   * Since: 0.2
   */
  g_object_class_install_property(
      gobject_class, PROP_PROTOCOLS,
      g_param_spec_string("protocols", "Protocols",
                          "Allowed transports in rollover order (rtspu,rtspt,mmsu,mmst,mmsh)",
                          kDefaultProtocols, rw));
  /**
   * GstMmsSrc:fast-start:
   * Ask the server to send the first 10 s of each on-demand play (and of a
   * seek) faster than real time, as Windows Media Player's Fast Start does:
   * a player's buffer then fills in a fraction of a second. The server
   * decides how much faster (mms-server: up to 10x).
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_FAST_START,
      g_param_spec_boolean("fast-start", "Fast Start",
                           "Ask the server to send the first seconds of a play faster than "
                           "real time (Windows Media Fast Start)",
                           TRUE, rw));
  /**
   * GstMmsSrc:udp-timeout:
   * Microseconds to wait for the first UDP datagram before giving up on RTSP/UDP or MMS/UDP
   * and rolling over to the next transport (0 = wait forever).
   * Since: 0.2
   */
  g_object_class_install_property(
      gobject_class, PROP_UDP_TIMEOUT,
      g_param_spec_uint64("udp-timeout", "UDP timeout",
                          "Fail over to the next transport after this many microseconds "
                          "without UDP data (0 = disabled)",
                          0, G_MAXUINT64, kDefaultUdpTimeoutUs, rw));
  /**
   * GstMmsSrc:retries:
   * Reconnect attempts after the stream has started, when the connection
   * drops, ends without end-of-stream or brings no data for `timeout` seconds
   * (-1 = forever, 0 = never). On-demand content resumes at the next packet not
   * yet delivered; broadcasts rejoin (DISCONT). A reconnect that delivers data
   * resets the count. Each attempt posts a `progress` message with code
   * "reconnect".
   * Since: 0.3
   */
  g_object_class_install_property(
      gobject_class, PROP_RETRIES,
      g_param_spec_int("retries", "Retries",
                       "Reconnect attempts after a failure mid-stream (-1 = forever, 0 = never)",
                       -1, G_MAXINT, kDefaultRetries, rw));
  /**
   * GstMmsSrc:retry-delay-max:
   * Upper bound in seconds of the reconnect backoff (0.25 s, doubling per attempt).
   * Since: 0.3
   */
  g_object_class_install_property(
      gobject_class, PROP_RETRY_DELAY_MAX,
      g_param_spec_uint("retry-delay-max", "Retry delay max",
                        "Longest wait in seconds between two reconnect attempts", 0, 3600,
                        kDefaultRetryDelayMax, rw));
  /**
   * GstMmsSrc:port-range:
   * Local UDP ports for MMS/UDP data, as "min-max" (e.g. "5000-5010"); unset = any port.
   * Since: 0.2
   */
  g_object_class_install_property(
      gobject_class, PROP_PORT_RANGE,
      g_param_spec_string("port-range", "Port range",
                          "Client UDP port range for MMS/UDP data (e.g. 5000-5010; unset = any)",
                          nullptr, rw));

  /**
   * GstMmsSrc:transport:
   * The transport the stream is established on ("rtspu", "rtspt", "mmsu",
   * "mmst" or "mmsh", the names of #GstMmsSrc:protocols); NULL before that.
   * Since: 0.3
   */
  g_object_class_install_property(
      gobject_class, PROP_TRANSPORT,
      g_param_spec_string("transport", "Transport",
                          "Transport the stream is established on (rtspu, rtspt, mmsu, mmst, mmsh)",
                          nullptr,
                          static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  /**
   * GstMmsSrc:bandwidth:
   * The link bandwidth in bits per second that the packet-pair probe of the
   * MMS (TCP and UDP) and MMSH transports measured; 0 before a measurement,
   * over RTSP, and when the link is too fast to tell (loopback). Also posted
   * as the element message `mms-bandwidth` (fields `bandwidth`, `transport`).
   * Since: 0.4
   */
  g_object_class_install_property(
      gobject_class, PROP_BANDWIDTH,
      g_param_spec_uint64("bandwidth", "Bandwidth",
                          "Link bandwidth measured by the packet-pair probe, in bits per second "
                          "(0 = not measured)",
                          0, G_MAXUINT64, 0,
                          static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(
      element_class, "MMS stream source", "Source/Network",
      "Receive Windows Media streams from Microsoft Media Servers (RTSP, MMS over UDP/TCP, MMSH)",
      "gst-mms developers");

  basesrc_class->start = gst_mms_src_start;
  basesrc_class->stop = gst_mms_src_stop;
  basesrc_class->unlock = gst_mms_src_unlock;
  basesrc_class->unlock_stop = gst_mms_src_unlock_stop;
  basesrc_class->is_seekable = gst_mms_src_is_seekable;
  basesrc_class->prepare_seek_segment = gst_mms_src_prepare_seek_segment;
  basesrc_class->do_seek = gst_mms_src_do_seek;
  basesrc_class->query = gst_mms_src_query;
  pushsrc_class->create = gst_mms_src_create;
}

static void gst_mms_src_init(GstMmsSrc* self) {
  self->priv = new GstMmsSrcPrivate();
  gst_base_src_set_format(GST_BASE_SRC(self), GST_FORMAT_BYTES);
  gst_base_src_set_automatic_eos(GST_BASE_SRC(self), FALSE);
}

// --- URI handler -----------------------------------------------------------

static GstURIType gst_mms_src_uri_get_type(GType) noexcept {
  return GST_URI_SRC;
}

static const gchar* const* gst_mms_src_uri_get_protocols(GType) noexcept {
  static const gchar* protocols[] = {"mms", "mmsh", "mmst", "mmsu", nullptr};
  return protocols;
}

static gchar* gst_mms_src_uri_get_uri(GstURIHandler* handler) noexcept {
  GstMmsSrc* self = GST_MMS_SRC(handler);
  std::lock_guard<std::mutex> lock(self->priv->mu);
  return self->priv->settings.location.empty() ? nullptr
                                               : g_strdup(self->priv->settings.location.c_str());
}

static gboolean gst_mms_src_uri_set_uri(GstURIHandler* handler, const gchar* uri,
                                        GError** error) noexcept {
  return set_location(GST_MMS_SRC(handler), uri, error) ? TRUE : FALSE;
}

static void gst_mms_src_uri_handler_init(gpointer g_iface, gpointer) {
  auto* iface = static_cast<GstURIHandlerInterface*>(g_iface);
  iface->get_type = gst_mms_src_uri_get_type;
  iface->get_protocols = gst_mms_src_uri_get_protocols;
  iface->get_uri = gst_mms_src_uri_get_uri;
  iface->set_uri = gst_mms_src_uri_set_uri;
}

/**
 * SECTION:element-mmssink
 *
 * Publishes the ASF stream it receives as a live broadcast (a Windows Media
 * "publishing point") to Windows Media clients: RTSP (RTP over UDP or
 * interleaved), MMS (TCP, and UDP data) and MMSH (HTTP) on one TCP port
 * (each connection is recognised by its first bytes; UDP data leaves from
 * the same port number). Clients ask for `/` + #GstMmsSink:path (for example
 * `mms://host:1755/live`, `mmsh://host:1755/live`, `rtsp://host:1755/live`);
 * Windows Media Player, VLC, FFmpeg, libmms and mmssrc can all play it.
 *
 * Input is `video/x-ms-asf` as a stream: `asfmux streamable=true` output, or
 * an `.asf` file read by filesrc (index objects after the data are skipped).
 * Each data packet is sent at its ASF send time (#GstMmsSink:pace), so a file
 * plays in real time; a live encoder's packets go out as they come. A client
 * that joins late gets the header and starts at the latest key frame; a new
 * ASF header from upstream (a new asfmux, the next file) is a stream change
 * for the clients connected; EOS ends the broadcast for them, and goes on
 * downstream (the pipeline's EOS message) once they have received the end and
 * left, or after #GstMmsSink:drain-timeout.
 *
 * The element posts `mms-client-connected` (field `client`, the address) and
 * `mms-client-disconnected` (`client`, `path`, `transport`, `status`,
 * `bytes-sent`, `duration`) element messages; #GstMmsSink:stats has the
 * counters. Access control is the server's: #GstMmsSink:user-id /
 * #GstMmsSink:user-pw (Basic / MMS BASIC), #GstMmsSink:url-key (signed URLs,
 * see mms-server's documentation), #GstMmsSink:max-clients.
 *
 * ## Example
 * |[
 * gst-launch-1.0 videotestsrc is-live=true ! avenc_wmv2 ! asfmux streamable=true ! \
 *     mmssink bind-address=127.0.0.1 port=8554 path=live
 * gst-launch-1.0 playbin uri=mms://127.0.0.1:8554/live
 * ]|
 */
#include "gst/gstmmssink.h"

#include <algorithm>
#include <memory>
#include <string>

#include "protocol/io/listener.h"
#include "tools/server/feeder.h"
#include "tools/server/server.h"

GST_DEBUG_CATEGORY_STATIC(mms_sink_debug);
#define GST_CAT_DEFAULT mms_sink_debug

namespace {

constexpr const char* kDefaultBindAddress = "0.0.0.0";
constexpr guint kDefaultPort = 1755;
constexpr const char* kDefaultPath = "live";
constexpr guint kDefaultDrainTimeoutMs = 5000;
// How often the EOS drain looks at the client count.
constexpr gint64 kDrainPollUs = 20 * 1000;

enum {
  PROP_0,
  PROP_BIND_ADDRESS,
  PROP_PORT,
  PROP_CURRENT_PORT,
  PROP_PATH,
  PROP_MAX_CLIENTS,
  PROP_USER_ID,
  PROP_USER_PW,
  PROP_URL_KEY,
  PROP_PACE,
  PROP_DRAIN_TIMEOUT,
  PROP_STATS,
};

GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
                                                             GST_STATIC_CAPS("video/x-ms-asf"));

// What lives between start() and stop(), and the settings.
struct SinkState {
  std::string bind_address = kDefaultBindAddress;
  guint port = kDefaultPort;
  guint current_port = 0;
  std::string path = kDefaultPath;
  guint max_clients = 0;
  std::string user_id;
  std::string user_pw;
  std::string url_key;
  bool pace = true;
  guint drain_timeout_ms = kDefaultDrainTimeoutMs;

  std::unique_ptr<mms::server::Server> server;
  std::unique_ptr<mms::server::StreamFeeder> feeder;
  bool ended = false;  // EOS fed

  // Pacing waits, interrupted by unlock().
  GMutex lock;
  GCond cond;
  bool flushing = false;
};

}  // namespace

struct _GstMmsSink {
  GstBaseSink parent;
  SinkState* s;
};

G_DEFINE_TYPE(GstMmsSink, gst_mms_sink, GST_TYPE_BASE_SINK)
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE(mmssink, "mmssink", GST_RANK_NONE, GST_TYPE_MMS_SINK,
                                      GST_DEBUG_CATEGORY_INIT(mms_sink_debug, "mmssink", 0,
                                                              "MMS publishing point sink"))

namespace {

// Property values are read and written under the object lock.
std::string locked_copy(GstMmsSink* self, const std::string& field) {
  GST_OBJECT_LOCK(self);
  std::string v = field;
  GST_OBJECT_UNLOCK(self);
  return v;
}

// The stream feeder's pacing wait: until `due`, unless unlock() comes first.
bool wait_until(GstMmsSink* self, mms::Instant due) {
  SinkState* s = self->s;
  const gint64 end_us = due.ns / 1000;
  g_mutex_lock(&s->lock);
  while (!s->flushing && g_get_monotonic_time() < end_us) {
    g_cond_wait_until(&s->cond, &s->lock, end_us);
  }
  const bool go = !s->flushing;
  g_mutex_unlock(&s->lock);
  return go;
}

void post_event(GstMmsSink* self, const mms::server::ServerEvent& e) {
  GstStructure* st = nullptr;
  if (e.connected) {
    st = gst_structure_new("mms-client-connected", "client", G_TYPE_STRING, e.client.c_str(),
                           nullptr);
  } else {
    st = gst_structure_new("mms-client-disconnected", "client", G_TYPE_STRING, e.client.c_str(),
                           "path", G_TYPE_STRING, e.path.c_str(), "transport", G_TYPE_STRING,
                           e.transport.c_str(), "status", G_TYPE_INT, e.status, "bytes-sent",
                           G_TYPE_UINT64, static_cast<guint64>(e.bytes_sent), "duration",
                           G_TYPE_UINT64, static_cast<guint64>(e.duration), nullptr);
  }
  GST_DEBUG_OBJECT(self, "%s client %s", e.connected ? "new" : "gone", e.client.c_str());
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), st));
}

gboolean gst_mms_sink_start(GstBaseSink* sink) noexcept {
  GstMmsSink* self = GST_MMS_SINK(sink);
  SinkState* s = self->s;
  mms::server::ServerOptions o;
  GST_OBJECT_LOCK(self);
  o.root.clear();
  o.bind_address = s->bind_address;
  o.single_port = true;
  o.port = static_cast<std::uint16_t>(s->port);
  o.feeds.insert(s->path);
  o.max_clients = s->max_clients;
  o.auth_user = s->user_id;
  o.auth_password = s->user_pw;
  o.url_key = s->url_key;
  const std::string path = s->path;
  const bool pace = s->pace;
  GST_OBJECT_UNLOCK(self);
  if (path.empty() || path.find('/') != std::string::npos) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("Bad publishing point name \"%s\".", path.c_str()),
                      ("path must be a non-empty name without '/'"));
    return FALSE;
  }
  o.on_event = [self](const mms::server::ServerEvent& e) { post_event(self, e); };
  auto server = std::make_unique<mms::server::Server>();
  const mms::Status st = server->start(o);
  if (!st.ok()) {
    GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ_WRITE,
                      ("Could not listen on %s port %u.", o.bind_address.c_str(), o.port),
                      ("%s (%s)", st.what(), mms::to_string(st.code())));
    return FALSE;
  }
  mms::server::StreamFeeder::Wait wait;
  if (pace) {
    wait = [self](mms::Instant due) { return wait_until(self, due); };
  }
  s->feeder = std::make_unique<mms::server::StreamFeeder>(server.get(), path, std::move(wait));
  s->ended = false;
  GST_OBJECT_LOCK(self);
  s->current_port = server->mmsh_port();
  s->server = std::move(server);
  GST_OBJECT_UNLOCK(self);
  GST_INFO_OBJECT(self, "publishing point /%s on %s port %u", path.c_str(), o.bind_address.c_str(),
                  s->current_port);
  g_object_notify(G_OBJECT(self), "current-port");
  return TRUE;
}

gboolean gst_mms_sink_stop(GstBaseSink* sink) noexcept {
  GstMmsSink* self = GST_MMS_SINK(sink);
  SinkState* s = self->s;
  s->feeder.reset();
  std::unique_ptr<mms::server::Server> server;
  GST_OBJECT_LOCK(self);
  server = std::move(s->server);
  s->current_port = 0;
  GST_OBJECT_UNLOCK(self);
  if (server) {
    server->stop();  // closes every client's connection
  }
  return TRUE;
}

gboolean gst_mms_sink_unlock(GstBaseSink* sink) noexcept {
  SinkState* s = GST_MMS_SINK(sink)->s;
  g_mutex_lock(&s->lock);
  s->flushing = true;
  g_cond_broadcast(&s->cond);
  g_mutex_unlock(&s->lock);
  return TRUE;
}

gboolean gst_mms_sink_unlock_stop(GstBaseSink* sink) noexcept {
  SinkState* s = GST_MMS_SINK(sink)->s;
  g_mutex_lock(&s->lock);
  s->flushing = false;
  g_mutex_unlock(&s->lock);
  return TRUE;
}

GstFlowReturn gst_mms_sink_render(GstBaseSink* sink, GstBuffer* buffer) noexcept {
  GstMmsSink* self = GST_MMS_SINK(sink);
  SinkState* s = self->s;
  if (!s->feeder) {
    return GST_FLOW_FLUSHING;
  }
  GstMapInfo map;
  if (!gst_buffer_map(buffer, &map, GST_MAP_READ)) {
    GST_ELEMENT_ERROR(self, RESOURCE, READ, ("Could not read the buffer."), (nullptr));
    return GST_FLOW_ERROR;
  }
  const mms::Status st = s->feeder->push(mms::ByteView(map.data, map.size));
  gst_buffer_unmap(buffer, &map);
  if (st.code() == mms::Code::kCancelled) {
    return GST_FLOW_FLUSHING;
  }
  if (!st.ok()) {
    if (st.code() == mms::Code::kMalformed) {
      GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("The input is not an ASF stream."),
                        ("%s", st.what()));
    } else {
      GST_ELEMENT_ERROR(self, RESOURCE, WRITE, ("Could not publish the stream."),
                        ("%s (%s)", st.what(), mms::to_string(st.code())));
    }
    return GST_FLOW_ERROR;
  }
  return GST_FLOW_OK;
}

gboolean gst_mms_sink_event(GstBaseSink* sink, GstEvent* event) noexcept {
  GstMmsSink* self = GST_MMS_SINK(sink);
  SinkState* s = self->s;
  if (GST_EVENT_TYPE(event) == GST_EVENT_EOS && s->feeder && !s->ended) {
    s->ended = true;
    const mms::Status st = s->feeder->finish();
    if (!st.ok()) {
      GST_ELEMENT_WARNING(self, STREAM, FORMAT, ("The ASF stream ended inside a packet."),
                          ("%s", st.what()));
    }
    GST_INFO_OBJECT(self, "end of stream after %llu packets",
                    static_cast<unsigned long long>(s->feeder->packets()));
    // The clients still receive what the server holds and the end-of-stream
    // notice: EOS goes on once they have left (bounded, interrupted by a flush).
    GST_OBJECT_LOCK(self);
    const gint64 end_us = g_get_monotonic_time() + gint64{s->drain_timeout_ms} * 1000;
    GST_OBJECT_UNLOCK(self);
    while (s->server && s->server->stats().clients > 0) {
      const gint64 now = g_get_monotonic_time();
      if (now >= end_us ||
          !wait_until(self, mms::Instant{std::min(end_us, now + kDrainPollUs) * 1000})) {
        GST_INFO_OBJECT(self, "%u clients still connected at EOS", s->server->stats().clients);
        break;
      }
    }
  }
  return GST_BASE_SINK_CLASS(gst_mms_sink_parent_class)->event(sink, event);
}

GstStructure* make_stats(GstMmsSink* self) {
  SinkState* s = self->s;
  mms::server::ServerStats st;
  GST_OBJECT_LOCK(self);
  if (s->server) {
    st = s->server->stats();
  }
  GST_OBJECT_UNLOCK(self);
  // The feeder is the streaming thread's: its counters are read racily but
  // are plain integers, good enough for statistics.
  const guint64 packets = s->feeder ? s->feeder->packets() : 0;
  const guint headers = s->feeder ? s->feeder->headers() : 0;
  return gst_structure_new("mms-sink-stats", "clients", G_TYPE_UINT, st.clients, "connections",
                           G_TYPE_UINT64, static_cast<guint64>(st.connections), "bytes-sent",
                           G_TYPE_UINT64, static_cast<guint64>(st.bytes_sent), "packets",
                           G_TYPE_UINT64, packets, "headers", G_TYPE_UINT, headers, nullptr);
}

void set_string(GstMmsSink* self, std::string* field, const GValue* value) {
  const gchar* v = g_value_get_string(value);
  GST_OBJECT_LOCK(self);
  *field = v != nullptr ? v : "";
  GST_OBJECT_UNLOCK(self);
}

void gst_mms_sink_set_property(GObject* object, guint id, const GValue* value,
                               GParamSpec* pspec) noexcept {
  GstMmsSink* self = GST_MMS_SINK(object);
  SinkState* s = self->s;
  switch (id) {
    case PROP_BIND_ADDRESS:
      set_string(self, &s->bind_address, value);
      break;
    case PROP_PORT:
      GST_OBJECT_LOCK(self);
      s->port = g_value_get_uint(value);
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_PATH:
      set_string(self, &s->path, value);
      break;
    case PROP_MAX_CLIENTS:
      GST_OBJECT_LOCK(self);
      s->max_clients = g_value_get_uint(value);
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_USER_ID:
      set_string(self, &s->user_id, value);
      break;
    case PROP_USER_PW:
      set_string(self, &s->user_pw, value);
      break;
    case PROP_URL_KEY:
      set_string(self, &s->url_key, value);
      break;
    case PROP_PACE:
      GST_OBJECT_LOCK(self);
      s->pace = g_value_get_boolean(value) != FALSE;
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_DRAIN_TIMEOUT:
      GST_OBJECT_LOCK(self);
      s->drain_timeout_ms = g_value_get_uint(value);
      GST_OBJECT_UNLOCK(self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
      break;
  }
}

void gst_mms_sink_get_property(GObject* object, guint id, GValue* value,
                               GParamSpec* pspec) noexcept {
  GstMmsSink* self = GST_MMS_SINK(object);
  SinkState* s = self->s;
  switch (id) {
    case PROP_BIND_ADDRESS:
      g_value_set_string(value, locked_copy(self, s->bind_address).c_str());
      break;
    case PROP_PORT:
      GST_OBJECT_LOCK(self);
      g_value_set_uint(value, s->port);
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_CURRENT_PORT:
      GST_OBJECT_LOCK(self);
      g_value_set_uint(value, s->current_port);
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_PATH:
      g_value_set_string(value, locked_copy(self, s->path).c_str());
      break;
    case PROP_MAX_CLIENTS:
      GST_OBJECT_LOCK(self);
      g_value_set_uint(value, s->max_clients);
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_USER_ID:
      g_value_set_string(value, locked_copy(self, s->user_id).c_str());
      break;
    case PROP_USER_PW:
      g_value_set_string(value, locked_copy(self, s->user_pw).c_str());
      break;
    case PROP_URL_KEY:
      g_value_set_string(value, locked_copy(self, s->url_key).c_str());
      break;
    case PROP_PACE:
      GST_OBJECT_LOCK(self);
      g_value_set_boolean(value, s->pace ? TRUE : FALSE);
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_DRAIN_TIMEOUT:
      GST_OBJECT_LOCK(self);
      g_value_set_uint(value, s->drain_timeout_ms);
      GST_OBJECT_UNLOCK(self);
      break;
    case PROP_STATS:
      g_value_take_boxed(value, make_stats(self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
      break;
  }
}

void gst_mms_sink_finalize(GObject* object) noexcept {
  GstMmsSink* self = GST_MMS_SINK(object);
  g_mutex_clear(&self->s->lock);
  g_cond_clear(&self->s->cond);
  delete self->s;
  self->s = nullptr;
  G_OBJECT_CLASS(gst_mms_sink_parent_class)->finalize(object);
}

}  // namespace

static void gst_mms_sink_class_init(GstMmsSinkClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  GstBaseSinkClass* base_class = GST_BASE_SINK_CLASS(klass);
  gobject_class->set_property = gst_mms_sink_set_property;
  gobject_class->get_property = gst_mms_sink_get_property;
  gobject_class->finalize = gst_mms_sink_finalize;
  const auto rw = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                           GST_PARAM_MUTABLE_READY);
  const auto ro = static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_property(
      gobject_class, PROP_BIND_ADDRESS,
      g_param_spec_string("bind-address", "Bind address",
                          "Numeric IPv4 or IPv6 address to listen on (0.0.0.0 or :: = every one)",
                          kDefaultBindAddress, rw));
  g_object_class_install_property(
      gobject_class, PROP_PORT,
      g_param_spec_uint("port", "Port",
                        "TCP port for RTSP, MMS and MMSH, and UDP port of the data (0 = any free "
                        "port, see current-port)",
                        0, 65535, kDefaultPort, rw));
  g_object_class_install_property(
      gobject_class, PROP_CURRENT_PORT,
      g_param_spec_uint("current-port", "Current port",
                        "The port listened on while running (0 when stopped)", 0, 65535, 0, ro));
  g_object_class_install_property(
      gobject_class, PROP_PATH,
      g_param_spec_string("path", "Path",
                          "Publishing point name: clients ask for /NAME (mms://host:port/NAME)",
                          kDefaultPath, rw));
  g_object_class_install_property(
      gobject_class, PROP_MAX_CLIENTS,
      g_param_spec_uint("max-clients", "Maximum clients",
                        "Clients served at the same time (0 = no limit); beyond it a client is "
                        "told the server is busy",
                        0, G_MAXUINT, 0, rw));
  g_object_class_install_property(
      gobject_class, PROP_USER_ID,
      g_param_spec_string("user-id", "User id",
                          "User name clients must authenticate with (none = no authentication)",
                          nullptr, rw));
  g_object_class_install_property(
      gobject_class, PROP_USER_PW,
      g_param_spec_string("user-pw", "User password", "Password clients must authenticate with",
                          nullptr, rw));
  g_object_class_install_property(
      gobject_class, PROP_URL_KEY,
      g_param_spec_string("url-key", "URL key",
                          "When set, client URLs must be signed with this key (HMAC-SHA256 over "
                          "path and expiry, as mms-server --sign-url makes them)",
                          nullptr, rw));
  g_object_class_install_property(
      gobject_class, PROP_PACE,
      g_param_spec_boolean("pace", "Pace",
                           "Send each data packet at its ASF send time (a file plays in real "
                           "time); off: as fast as upstream delivers",
                           TRUE, rw));
  g_object_class_install_property(
      gobject_class, PROP_DRAIN_TIMEOUT,
      g_param_spec_uint("drain-timeout", "Drain timeout",
                        "At EOS, milliseconds to wait for the clients to receive the end and "
                        "leave before EOS goes on (0 = none)",
                        0, G_MAXUINT, kDefaultDrainTimeoutMs, rw));
  g_object_class_install_property(
      gobject_class, PROP_STATS,
      g_param_spec_boxed("stats", "Statistics",
                         "clients (connected now), connections (since start), bytes-sent, packets "
                         "and headers (received from upstream)",
                         GST_TYPE_STRUCTURE, ro));
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_set_static_metadata(
      element_class, "MMS publishing point", "Sink/Network",
      "Serves an ASF stream live over RTSP, MMS and MMSH (Windows Media clients)", "gst-mms");
  base_class->start = gst_mms_sink_start;
  base_class->stop = gst_mms_sink_stop;
  base_class->unlock = gst_mms_sink_unlock;
  base_class->unlock_stop = gst_mms_sink_unlock_stop;
  base_class->render = gst_mms_sink_render;
  base_class->event = gst_mms_sink_event;
}

static void gst_mms_sink_init(GstMmsSink* self) {
  self->s = new SinkState();
  g_mutex_init(&self->s->lock);
  g_cond_init(&self->s->cond);
  gst_base_sink_set_sync(GST_BASE_SINK(self), FALSE);  // paced by the ASF send times instead
}

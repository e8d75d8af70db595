/**
 * SECTION:element-mmsredirect
 *
 * A web page or an http:// URL of a Windows Media server hands a player a
 * redirector instead of the stream: an ASX playlist (`.asx`, `.wax`,
 * `.wvx`), a `[Reference]` file, or, from the server itself, the MMSH
 * describe answer (the ASF header in `$H` framing,
 * `application/vnd.ms.wms-hdr.asfv1`). The plugin's typefinders recognise
 * the three, and mmsredirect (a demuxer without source pads, autoplugged by
 * decodebin) reads the file and posts the standard element message
 * `redirect` with `new-location` (the first entry's first ref) and
 * `locations` (a list of structures with `new-location`, one per ref of every
 * entry, in order), as qtdemux does for reference movies. Applications
 * (Totem, for one) then play `new-location`; for those that do not handle
 * the message, an error follows it that names the location.
 *
 * Refs are made absolute against the URI the file came from (the upstream
 * URI query); the describe answer redirects to the same URL with the mmsh
 * scheme; `[Reference]` http:// refs are MMSH streams and come back as
 * mmsh://. Only streaming and web schemes are passed on.
 *
 * ## Example
 * |[
 * gst-launch-1.0 souphttpsrc location=http://radio.example/listen.asx ! mmsredirect
 * ]|
 */
#include "gst/gstmmsredirect.h"

#include <string>
#include <vector>

#include <gst/base/gstadapter.h>

#include "protocol/mmsh/redirector.h"

GST_DEBUG_CATEGORY_STATIC(mms_redirect_debug);
#define GST_CAT_DEFAULT mms_redirect_debug

namespace {

constexpr const char* kCaps =
    "video/x-ms-asx; application/x-mms-reference; application/vnd.ms.wms-hdr.asfv1";

GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(kCaps));

}  // namespace

struct _GstMmsRedirect {
  GstElement parent;
  GstPad* sinkpad;
  GstAdapter* adapter;
  gboolean done;     // posted (or failed): everything after is dropped
  gboolean sniffed;  // the first 28 bytes were looked at for a describe answer
};

G_DEFINE_TYPE(GstMmsRedirect, gst_mms_redirect, GST_TYPE_ELEMENT)
GST_ELEMENT_REGISTER_DEFINE(mmsredirect, "mmsredirect", GST_RANK_PRIMARY, GST_TYPE_MMS_REDIRECT)

namespace {

// Where the file came from: the upstream URI (after HTTP redirects).
std::string upstream_uri(GstMmsRedirect* self) {
  std::string uri;
  GstQuery* q = gst_query_new_uri();
  if (gst_pad_peer_query(self->sinkpad, q)) {
    gchar* redirect = nullptr;
    gst_query_parse_uri_redirection(q, &redirect);
    gchar* plain = nullptr;
    gst_query_parse_uri(q, &plain);
    if (redirect != nullptr) {
      uri = redirect;
    } else if (plain != nullptr) {
      uri = plain;
    }
    g_free(redirect);
    g_free(plain);
  }
  gst_query_unref(q);
  return uri;
}

// Parses what was collected and posts the redirect (or an error). Returns the
// flow the chain function ends with.
GstFlowReturn finish(GstMmsRedirect* self) {
  self->done = TRUE;
  const gsize n = gst_adapter_available(self->adapter);
  const auto* data = static_cast<const std::uint8_t*>(gst_adapter_map(self->adapter, n));
  const std::string base = upstream_uri(self);
  auto parsed = mms::mmsh::parse_redirector(mms::ByteView(data, n), base);
  gst_adapter_unmap(self->adapter);
  gst_adapter_clear(self->adapter);
  if (!parsed.ok()) {
    GST_ELEMENT_ERROR(self, STREAM, DEMUX, ("Could not read the Windows Media redirector file."),
                      ("%s (from %s)", parsed.status().what(), base.empty() ? "?" : base.c_str()));
    return GST_FLOW_ERROR;
  }
  GValue list = G_VALUE_INIT;
  g_value_init(&list, GST_TYPE_LIST);
  for (const mms::mmsh::RedirectorEntry& e : parsed->entries) {
    for (const std::string& ref : e.refs) {
      GValue v = G_VALUE_INIT;
      g_value_init(&v, GST_TYPE_STRUCTURE);
      GstStructure* one =
          gst_structure_new("redirect", "new-location", G_TYPE_STRING, ref.c_str(), nullptr);
      if (!e.title.empty()) {
        gst_structure_set(one, "title", G_TYPE_STRING, e.title.c_str(), nullptr);
      }
      g_value_take_boxed(&v, one);
      gst_value_list_append_and_take_value(&list, &v);
    }
  }
  const std::string first = parsed->entries.front().refs.front();
  GstStructure* s =
      gst_structure_new("redirect", "new-location", G_TYPE_STRING, first.c_str(), "format",
                        G_TYPE_STRING, mms::mmsh::to_string(parsed->format), nullptr);
  if (!parsed->title.empty()) {
    gst_structure_set(s, "title", G_TYPE_STRING, parsed->title.c_str(), nullptr);
  }
  gst_structure_take_value(s, "locations", &list);
  GST_INFO_OBJECT(self, "%s file: redirect to %s (%zu entries)",
                  mms::mmsh::to_string(parsed->format), first.c_str(), parsed->entries.size());
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
  // For applications that do not act on the message (as the old mmssrc did).
  GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND,
                    ("The stream is at another location: %s", first.c_str()),
                    ("a %s redirector; a 'redirect' message with new-location was posted for the "
                     "application",
                     mms::mmsh::to_string(parsed->format)));
  return GST_FLOW_EOS;
}

GstFlowReturn chain(GstPad* /*pad*/, GstObject* parent, GstBuffer* buf) noexcept {
  GstMmsRedirect* self = GST_MMS_REDIRECT(parent);
  if (self->done) {
    gst_buffer_unref(buf);
    return GST_FLOW_EOS;
  }
  gst_adapter_push(self->adapter, buf);
  const gsize have = gst_adapter_available(self->adapter);
  if (have > mms::mmsh::kMaxRedirectorBytes) {
    self->done = TRUE;
    GST_ELEMENT_ERROR(self, STREAM, DEMUX, ("Could not read the Windows Media redirector file."),
                      ("larger than %zu bytes", mms::mmsh::kMaxRedirectorBytes));
    return GST_FLOW_ERROR;
  }
  // The describe answer is decided by its first frame: no need to read the
  // whole header (or wait for the server to close). Looked at once.
  if (!self->sniffed && have >= 28) {
    self->sniffed = TRUE;
    const auto* head = static_cast<const std::uint8_t*>(gst_adapter_map(self->adapter, 28));
    const bool describe = mms::mmsh::sniff_redirector(mms::ByteView(head, 28)) ==
                          mms::mmsh::RedirectorFormat::kDescribe;
    gst_adapter_unmap(self->adapter);
    if (describe) {
      return finish(self);
    }
  }
  return GST_FLOW_OK;
}

gboolean sink_event(GstPad* pad, GstObject* parent, GstEvent* event) noexcept {
  GstMmsRedirect* self = GST_MMS_REDIRECT(parent);
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_EOS:
      if (!self->done) {
        if (gst_adapter_available(self->adapter) == 0) {
          self->done = TRUE;
          GST_ELEMENT_ERROR(self, STREAM, DEMUX,
                            ("Could not read the Windows Media redirector file."),
                            ("the file is empty"));
        } else {
          (void)finish(self);
        }
      }
      gst_event_unref(event);
      return TRUE;
    case GST_EVENT_CAPS:
    case GST_EVENT_SEGMENT:
    case GST_EVENT_STREAM_START:
      gst_event_unref(event);  // no source pads to forward them to
      return TRUE;
    case GST_EVENT_FLUSH_STOP:
      gst_adapter_clear(self->adapter);
      self->done = FALSE;
      self->sniffed = FALSE;
      break;
    default:
      break;
  }
  return gst_pad_event_default(pad, parent, event);
}

GstStateChangeReturn change_state(GstElement* element, GstStateChange transition) noexcept {
  GstMmsRedirect* self = GST_MMS_REDIRECT(element);
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
    gst_adapter_clear(self->adapter);
    self->done = FALSE;
    self->sniffed = FALSE;
  }
  return GST_ELEMENT_CLASS(gst_mms_redirect_parent_class)->change_state(element, transition);
}

void finalize(GObject* object) noexcept {
  GstMmsRedirect* self = GST_MMS_REDIRECT(object);
  g_object_unref(self->adapter);
  G_OBJECT_CLASS(gst_mms_redirect_parent_class)->finalize(object);
}

// --- typefinders -----------------------------------------------------------

struct TypeFind {
  mms::mmsh::RedirectorFormat format;
  const char* caps;
};

const TypeFind kAsx{mms::mmsh::RedirectorFormat::kAsx, "video/x-ms-asx"};
const TypeFind kReference{mms::mmsh::RedirectorFormat::kReference, "application/x-mms-reference"};
const TypeFind kDescribe{mms::mmsh::RedirectorFormat::kDescribe,
                         "application/vnd.ms.wms-hdr.asfv1"};

void type_find(GstTypeFind* tf, gpointer user) noexcept {
  const auto* want = static_cast<const TypeFind*>(user);
  guint64 len = gst_type_find_get_length(tf);
  guint size = static_cast<guint>(mms::mmsh::kRedirectorSniffBytes);
  if (len != 0 && len < size) {
    size = static_cast<guint>(len);
  }
  const guint8* data = nullptr;
  while (size >= 4 && (data = gst_type_find_peek(tf, 0, size)) == nullptr) {
    size /= 2;  // a short stream of unknown length
  }
  if (data == nullptr) {
    return;
  }
  if (mms::mmsh::sniff_redirector(mms::ByteView(data, size)) == want->format) {
    gst_type_find_suggest_empty_simple(tf, GST_TYPE_FIND_MAXIMUM, want->caps);
  }
}

}  // namespace

static void gst_mms_redirect_class_init(GstMmsRedirectClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  gobject_class->finalize = finalize;
  element_class->change_state = change_state;
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_set_static_metadata(
      element_class, "Windows Media redirector", "Codec/Demuxer",
      "Reads ASX playlists, [Reference] files and MMSH describe answers and posts a 'redirect' "
      "message with the stream's location",
      "gst-mms");
  GST_DEBUG_CATEGORY_INIT(mms_redirect_debug, "mmsredirect", 0, "Windows Media redirector files");
}

static void gst_mms_redirect_init(GstMmsRedirect* self) {
  self->sinkpad = gst_pad_new_from_static_template(&sink_template, "sink");
  gst_pad_set_chain_function(self->sinkpad, GST_DEBUG_FUNCPTR(chain));
  gst_pad_set_event_function(self->sinkpad, GST_DEBUG_FUNCPTR(sink_event));
  gst_element_add_pad(GST_ELEMENT(self), self->sinkpad);
  self->adapter = gst_adapter_new();
  self->done = FALSE;
  self->sniffed = FALSE;
}

gboolean gst_mms_redirect_register_typefinders(GstPlugin* plugin) {
  gboolean ok = gst_type_find_register(plugin, "mms/asx", GST_RANK_PRIMARY, type_find,
                                       "asx,wax,wvx", gst_caps_from_string(kAsx.caps),
                                       const_cast<TypeFind*>(&kAsx), nullptr);
  ok = ok && gst_type_find_register(plugin, "mms/reference", GST_RANK_PRIMARY, type_find, nullptr,
                                    gst_caps_from_string(kReference.caps),
                                    const_cast<TypeFind*>(&kReference), nullptr);
  ok = ok && gst_type_find_register(plugin, "mms/describe", GST_RANK_PRIMARY, type_find, nullptr,
                                    gst_caps_from_string(kDescribe.caps),
                                    const_cast<TypeFind*>(&kDescribe), nullptr);
  return ok;
}

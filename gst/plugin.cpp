// Plugin "mms": registers mmssrc, mmssink, mmsredirect and its typefinders, and bridges the
// engine's log to GStreamer.
#include <gst/gst.h>

#include "gst/gstmmsredirect.h"
#include "gst/gstmmssink.h"
#include "gst/gstmmssrc.h"
#include "protocol/core/log.h"

GST_DEBUG_CATEGORY_STATIC(mms_protocol_debug);

namespace {

class GstLogSink final : public mms::LogSink {
 public:
  bool enabled(mms::LogLevel level) const override {
    return gst_debug_category_get_threshold(mms_protocol_debug) >= static_cast<int>(level);
  }
  void write(mms::LogLevel level, const char* component, const char* message) override {
    gst_debug_log(mms_protocol_debug, static_cast<GstDebugLevel>(level), component, "", 0, nullptr,
                  "%s", message);
  }
};

GstLogSink g_log_sink;

gboolean plugin_init(GstPlugin* plugin) noexcept {
  GST_DEBUG_CATEGORY_INIT(mms_protocol_debug, "mmsprotocol", 0, "MMS protocol engine");
  mms::set_log_sink(&g_log_sink);
  gboolean ok = GST_ELEMENT_REGISTER(mmssrc, plugin);
  ok = GST_ELEMENT_REGISTER(mmssink, plugin) && ok;
  ok = GST_ELEMENT_REGISTER(mmsredirect, plugin) && ok;
  return gst_mms_redirect_register_typefinders(plugin) && ok;
}

}  // namespace

#define PACKAGE "gst-mms"
#ifndef GST_MMS_VERSION
#define GST_MMS_VERSION "0.1.0"
#endif
GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, mms,
                  "Microsoft Media Server (MMS/MMSH/RTSP) streaming source and publishing point",
                  plugin_init, GST_MMS_VERSION, "LGPL", "gst-mms",
                  "https://gstreamer.freedesktop.org/")

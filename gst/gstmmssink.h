/* mmssink: serves the ASF stream it receives live to Windows Media clients
 * over RTSP, MMS (TCP and UDP data) and MMSH on one port. */
#pragma once

#include <gst/base/gstbasesink.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_MMS_SINK (gst_mms_sink_get_type())
G_DECLARE_FINAL_TYPE(GstMmsSink, gst_mms_sink, GST, MMS_SINK, GstBaseSink)

GST_ELEMENT_REGISTER_DECLARE(mmssink);

G_END_DECLS

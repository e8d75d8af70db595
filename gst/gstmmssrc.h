/* mmssrc: Microsoft Media Server (mms://, mmsh://) source element. */
#pragma once

#include <gst/base/gstpushsrc.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_MMS_SRC (gst_mms_src_get_type())
G_DECLARE_FINAL_TYPE(GstMmsSrc, gst_mms_src, GST, MMS_SRC, GstPushSrc)

GST_ELEMENT_REGISTER_DECLARE(mmssrc);

G_END_DECLS

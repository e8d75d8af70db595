/* mmsredirect: turns Windows Media redirector files (ASX, [Reference], the
 * MMSH describe answer) into the standard `redirect` element message; and
 * the typefinders that recognise them. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_MMS_REDIRECT (gst_mms_redirect_get_type())
G_DECLARE_FINAL_TYPE(GstMmsRedirect, gst_mms_redirect, GST, MMS_REDIRECT, GstElement)

GST_ELEMENT_REGISTER_DECLARE(mmsredirect);

/* Registers the typefinders for video/x-ms-asx, application/x-mms-reference
 * and application/vnd.ms.wms-hdr.asfv1. */
gboolean gst_mms_redirect_register_typefinders(GstPlugin* plugin);

G_END_DECLS

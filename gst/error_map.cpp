#include "gst/error_map.h"

#include <string>

GST_DEBUG_CATEGORY_EXTERN(gst_mms_src_debug);
#define GST_CAT_DEFAULT gst_mms_src_debug

namespace mms::gst {
namespace {

GstStructure* details(const Status& status, const ErrorContext& ctx) {
  GValue attempts = G_VALUE_INIT;
  gst_value_array_init(&attempts, static_cast<guint>(ctx.attempts.size()));
  for (const std::string& a : ctx.attempts) {
    GValue v = G_VALUE_INIT;
    g_value_init(&v, G_TYPE_STRING);
    g_value_set_string(&v, a.c_str());
    gst_value_array_append_and_take_value(&attempts, &v);
  }
  GstStructure* s = gst_structure_new(
      "details", "uri", G_TYPE_STRING, ctx.uri.c_str(), "mms-transport", G_TYPE_STRING,
      ctx.transport.c_str(), "mms-code", G_TYPE_STRING, to_string(status.code()), "mms-detail",
      G_TYPE_UINT, status.detail(), "mms-status-text", G_TYPE_STRING, ctx.detail.c_str(), nullptr);
  gst_structure_take_value(s, "mms-attempts", &attempts);
  GValue errors = G_VALUE_INIT;
  gst_value_array_init(&errors, static_cast<guint>(ctx.attempt_errors.size()));
  for (const std::string& a : ctx.attempt_errors) {
    GValue v = G_VALUE_INIT;
    g_value_init(&v, G_TYPE_STRING);
    g_value_set_string(&v, a.c_str());
    gst_value_array_append_and_take_value(&errors, &v);
  }
  gst_structure_take_value(s, "mms-attempt-errors", &errors);
  return s;
}

}  // namespace

GstFlowReturn post_error(GstElement* element, const Status& status, const ErrorContext& ctx) {
  GstResourceError code = GST_RESOURCE_ERROR_READ;
  const char* text = "Could not read from the MMS server.";
  switch (status.code()) {
    case Code::kOk:
    case Code::kCancelled:
      return GST_FLOW_FLUSHING;
    case Code::kNotFound:
      code = GST_RESOURCE_ERROR_NOT_FOUND;
      text = "The MMS server does not have this content.";
      break;
    case Code::kNotAuthorized:
      code = GST_RESOURCE_ERROR_NOT_AUTHORIZED;
      // 407 is the HTTP proxy's answer, not the server's.
      text = status.detail() == 407 ? "The HTTP proxy requires authentication."
                                    : "The MMS server requires authentication.";
      break;
    case Code::kRefused:
    case Code::kUnsupported:
    case Code::kLocalMisuse:
      code = GST_RESOURCE_ERROR_OPEN_READ;
      text = "Could not open the MMS stream.";
      break;
    case Code::kTimedOut:
      code = GST_RESOURCE_ERROR_READ;
      text = "The MMS server did not answer in time.";
      break;
    case Code::kConnectionLost:
      code = GST_RESOURCE_ERROR_READ;
      text = "The connection to the MMS server was lost.";
      break;
    case Code::kMalformed:
    case Code::kPeerViolation:
    case Code::kLimitExceeded:
      code = GST_RESOURCE_ERROR_READ;
      text = "The MMS server sent bad data.";
      break;
  }
  std::string tried;
  for (const std::string& a : ctx.attempt_errors) {
    tried += (tried.empty() ? "; attempts: " : ", ") + a;
  }
  gchar* debug =
      g_strdup_printf("%s: %s (%s, detail %u%s%s) via %s%s", ctx.uri.c_str(), status.what(),
                      to_string(status.code()), status.detail(), ctx.detail.empty() ? "" : ", ",
                      ctx.detail.c_str(), ctx.transport.c_str(), tried.c_str());
  gst_element_message_full_with_details(element, GST_MESSAGE_ERROR, GST_RESOURCE_ERROR, code,
                                        g_strdup(text), debug, __FILE__, GST_FUNCTION, __LINE__,
                                        details(status, ctx));
  return GST_FLOW_ERROR;
}

void post_seek_error(GstElement* element, const Status& status, const ErrorContext& ctx) {
  gchar* debug = g_strdup_printf("%s: seek failed: %s (%s)", ctx.uri.c_str(), status.what(),
                                 to_string(status.code()));
  gst_element_message_full_with_details(element, GST_MESSAGE_ERROR, GST_RESOURCE_ERROR,
                                        GST_RESOURCE_ERROR_SEEK,
                                        g_strdup("Could not seek in the MMS stream."), debug,
                                        __FILE__, GST_FUNCTION, __LINE__, details(status, ctx));
}

}  // namespace mms::gst

// The single place where engine failures become GStreamer element errors.
#pragma once

#include <string>
#include <vector>

#include <gst/gst.h>

#include "protocol/core/status.h"

namespace mms::gst {

struct ErrorContext {
  std::string uri;                          // redacted
  std::string transport;                    // "mmsh"
  std::string detail;                       // server status text, if any
  std::vector<std::string> attempts;        // transport names, in order
  std::vector<std::string> attempt_errors;  // "transport: why" per failed attempt
};

// Posts the element error for `status` (nothing for kCancelled) and returns the
// flow to return from create().
GstFlowReturn post_error(GstElement* element, const Status& status, const ErrorContext& ctx);

// Same mapping for a failed seek: RESOURCE/SEEK.
void post_seek_error(GstElement* element, const Status& status, const ErrorContext& ctx);

}  // namespace mms::gst

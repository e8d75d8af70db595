// Access hook of the server sessions (MMSH, MMS, RTSP): the embedder decides
// whether a request URL may be served (e.g. signed URLs, tools/server/url_signing.h).
//
// The hook gets the request's path and query, "/dir/clip.wmv?e=...&s=...":
// MMSH the HTTP request target, RTSP the request-URI without scheme, host and
// stream control ("/stream=N", "/rtx"), MMS "/" + the OpenFile name (which
// clients send percent-decoded). It is called before content is opened:
// MMSH on every GET (Describe and Play), MMS on every OpenFile, RTSP on
// DESCRIBE and on a SETUP of another path than the one already granted to the
// connection (SETUP and PLAY URLs carry no query: the session's Content-Base
// has none). False refuses: MMSH "403 Forbidden", RTSP "403 Forbidden", MMS
// ReportOpenFile with E_ACCESSDENIED. An empty hook allows everything. It runs
// on the session's thread and must not block.
#pragma once

#include <functional>
#include <string_view>

namespace mms {

using AuthorizeHook = std::function<bool(std::string_view path_and_query)>;

// The path and query of a request target or URL: "rtsp://host:port/a/b?q#f"
// -> "/a/b?q"; "/a/b?q" is kept (without a fragment); no path -> "/".
inline std::string_view path_and_query(std::string_view target) {
  const std::size_t scheme = target.find("://");
  if (scheme != std::string_view::npos && target.find('/') > scheme) {
    const std::size_t slash = target.find_first_of("/?#", scheme + 3);
    if (slash == std::string_view::npos || target[slash] != '/') {
      return "/";
    }
    target = target.substr(slash);
  }
  const std::size_t hash = target.find('#');
  if (hash != std::string_view::npos) {
    target = target.substr(0, hash);
  }
  return target.empty() ? std::string_view("/") : target;
}

}  // namespace mms

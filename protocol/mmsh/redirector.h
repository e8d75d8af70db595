// Redirector files of Windows Media: what a web page or an http:// URL hands
// a player instead of the stream.
//
//  - ASX (".asx", ".wax", ".wvx"): a loose XML playlist. <ASX> holds <ENTRY>s,
//    each with one or more <REF HREF="..."/> (alternatives, tried in order),
//    or <ENTRYREF HREF="..."/> (another ASX file whose entries stand here).
//    Element and attribute names are case-insensitive; the files in the field
//    are rarely well-formed XML (unquoted attributes, stray '&').
//  - Reference files: an INI text "[Reference]" with "Ref1=URL", "Ref2=URL"...
//    (alternatives); their http:// URLs are MMSH streams (Windows Media
//    Services wrote them so), so they come back as mmsh://.
//  - The MMSH describe answer: a Windows Media server asked for an http:// URL
//    by a plain HTTP client answers with the ASF header in $H framing
//    (Content-Type application/vnd.ms.wms-hdr.asfv1). The stream is then the
//    same URL spoken as MMSH.
//
// Sans-I/O: bytes in, locations out. Every size is bounded.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "protocol/core/bytes.h"
#include "protocol/core/status.h"

namespace mms::mmsh {

enum class RedirectorFormat { kUnknown, kAsx, kReference, kDescribe };

const char* to_string(RedirectorFormat f);

// Bytes needed to tell every format apart (BOM, whitespace, "<?xml" and a
// comment before <ASX> within this many bytes; a $H frame with the ASF
// header GUID).
inline constexpr std::size_t kRedirectorSniffBytes = 1024;
// A redirector file larger than this is not one (the biggest seen in the
// field are playlists of a few hundred entries, well under 64 KiB).
inline constexpr std::size_t kMaxRedirectorBytes = 256 * 1024;
inline constexpr std::size_t kMaxRedirectorEntries = 1000;
inline constexpr std::size_t kMaxRefsPerEntry = 16;
inline constexpr std::size_t kMaxRedirectorUrl = 4096;

// What the first bytes of a body are. kUnknown when they are none of the
// three, or when fewer bytes than needed to decide are given and they could
// still be one (callers with the whole body pass it all).
RedirectorFormat sniff_redirector(ByteView head);

struct RedirectorEntry {
  std::string title;
  std::vector<std::string> refs;  // alternatives, in order; absolute URLs
};

struct Redirector {
  RedirectorFormat format = RedirectorFormat::kUnknown;
  std::string title;
  std::vector<RedirectorEntry> entries;

  // The first ref of every entry, in order: the playlist.
  std::vector<std::string> locations() const;
};

// Parses a whole redirector body. `base_url` is where it came from (an
// absolute URL): relative refs are resolved against it, and a describe
// answer redirects to it with the mmsh scheme. Only streaming and web
// schemes are kept (mms, mmsh, mmst, mmsu, rtsp, rtspt, rtspu, http, https);
// a ref with any other scheme (file:, javascript:...) is dropped. Errors:
// kUnsupported (not a redirector), kLimitExceeded (too big, too many
// entries), kMalformed (no usable ref).
Result<Redirector> parse_redirector(ByteView body, const std::string& base_url);

}  // namespace mms::mmsh

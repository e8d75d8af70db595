// What a Windows Media server says about a playlist entry besides its ASF
// header: the Content Description List (CDL, MS-WMSP 2.2.4), carried by MMSH
// `$M` packets (MS-WMSP 2.2.3.6) and by the RTSP SDP's
// `a=pgmpu:data:application/x-wms-contentdesc,` attribute (MS-RTSP). Both
// clients hand it to the caller with the entry's header event; the MMSH
// server writes it. Layouts: docs/protocols/wmsp-reference.md §6.7.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/asf/header_parser.h"
#include "protocol/core/bytes.h"
#include "protocol/core/status.h"

namespace mms::session {

// The CDL field naming a server-side playlist entry's file (MS-RTSP SDP).
constexpr const char* kCdlPlaylistEntryUrl = "WMS_CONTENT_DESCRIPTION_PLAYLIST_ENTRY_URL";

// VARIANT type codes a CDL value may carry (the value is text for all of them).
constexpr std::uint16_t kCdlTypeI4 = 3;
constexpr std::uint16_t kCdlTypeLpwstr = 31;

// Bounds for what a peer sends (docs/protocols/wmsp-reference.md §6.7).
constexpr std::size_t kMaxMetadataBytes = 64 * 1024;
constexpr std::size_t kMaxCdlDescriptions = 32;
constexpr std::size_t kMaxCdlFields = 1024;  // over every description

struct CdlField {
  std::string name;
  std::uint16_t type = kCdlTypeLpwstr;
  std::string value;  // as sent (UTF-8 text)
};

// One content description: a language ("" when unspecified) and its
// name-value pairs after the leading "language" pair.
struct ContentDescription {
  std::string language;
  std::vector<CdlField> fields;
  // The first field named `name` (ASCII case-insensitive), or null.
  const CdlField* find(std::string_view name) const;
};

struct EntryMetadata {
  std::uint32_t playlist_gen_id = 0;
  std::uint32_t broadcast_id = 0;  // 0: not a live source
  std::string features;            // e.g. "seekable", "broadcast,playlist"
  std::vector<ContentDescription> descriptions;
  // The value of `name` in the first description that has it, or null.
  const std::string* find(std::string_view name) const;
};

// CDL text: every description is "<len>,<name>,<type>,<len>,<value>" tuples
// joined by ',' and ended by CRLF; the first tuple of each is "language".
// Lengths are decimal byte counts, so names and values may hold ',' and CRLF.
// An empty text is an empty list. Errors: kMalformed (a length or type that is
// not a number, a length past the end, a description not starting with
// "language", anything after the last CRLF), kLimitExceeded (the bounds above).
Result<std::vector<ContentDescription>> parse_cdl(std::string_view text);
std::string encode_cdl(const std::vector<ContentDescription>& list);

// The RTSP SDP form (`a=pgmpu:data:application/x-wms-contentdesc,<list>`,
// docs/protocols/rtsp-wms-reference.md §4.2): the same tuples with every value
// URL-escaped and its length counted escaped, each description's last value
// ending in an escaped CRLF ("%0D%0A"), no line end after it. parse_sdp_cdl
// also takes a description whose last value lacks the escaped CRLF, and the
// $M form's unescaped CRLF between descriptions. Errors as parse_cdl, plus
// kMalformed for a bad escape.
Result<std::vector<ContentDescription>> parse_sdp_cdl(std::string_view escaped);
std::string encode_sdp_cdl(const std::vector<ContentDescription>& list);

// `$M` payload: `playlist-gen-id=<N>, broadcast-id=<N>, features="<list>"`,
// one NUL, then a CDL. The three parameters are required, in any order;
// unknown parameters are skipped. Errors as parse_cdl, plus kMalformed for a
// missing NUL or parameter.
Result<EntryMetadata> parse_wmsp_metadata(ByteView payload);
std::vector<std::uint8_t> encode_wmsp_metadata(const EntryMetadata& m);

// The content description a server gives an entry: the ASF header's Content
// Description fields under the names Windows Media Services uses ("title",
// "author", "copyright", "WMS_CONTENT_DESCRIPTION_DESCRIPTION",
// "WMS_CONTENT_DESCRIPTION_RATING"), plus the entry's duration in
// milliseconds ("WMS_CONTENT_DESCRIPTION_PLAYLIST_ENTRY_DURATION", I4) when known.
ContentDescription describe_entry(const asf::ContentTags& tags,
                                  std::optional<std::uint32_t> duration_ms);

}  // namespace mms::session

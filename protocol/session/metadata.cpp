#include "protocol/session/metadata.h"

#include <algorithm>

#include "protocol/core/text.h"

namespace mms::session {
namespace {

constexpr std::string_view kLanguage = "language";
constexpr std::string_view kCrlf = "\r\n";

// Reads "<digits>," from the front of *s into *out.
bool take_number(std::string_view* s, std::uint32_t* out) {
  const std::size_t comma = s->find(',');
  if (comma == std::string_view::npos || !parse_u32(s->substr(0, comma), out)) {
    return false;
  }
  s->remove_prefix(comma + 1);
  return true;
}

// Reads "<len>,<bytes>" from the front of *s; the byte after them is left.
bool take_counted(std::string_view* s, std::string* out) {
  std::uint32_t len = 0;
  if (!take_number(s, &len) || len > s->size()) {
    return false;
  }
  out->assign(s->substr(0, len));
  s->remove_prefix(len);
  return true;
}

void append_tuple(std::string* out, std::string_view name, std::uint16_t type,
                  std::string_view value) {
  out->append(std::to_string(name.size())).append(",").append(name).append(",");
  out->append(std::to_string(type)).append(",");
  out->append(std::to_string(value.size())).append(",").append(value);
}

// URL escape: '%', ',', CR, LF, controls and non-ASCII bytes as %XX.
std::string url_escape(std::string_view v) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '%' || c == ',') {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  c = ascii_lower(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

bool url_unescape(std::string_view v, std::string* out) {
  out->clear();
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '%') {
      out->push_back(v[i]);
      continue;
    }
    const int hi = i + 1 < v.size() ? hex_digit(v[i + 1]) : -1;
    const int lo = i + 2 < v.size() ? hex_digit(v[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      return false;
    }
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

// Both forms of the list: `sdp` values are URL-escaped and a description
// may end inside its last value ("%0D%0A") or with the list.
Result<std::vector<ContentDescription>> parse_list(std::string_view text, bool sdp) {
  if (text.size() > kMaxMetadataBytes) {
    return Status(Code::kLimitExceeded, "content description list above kMaxMetadataBytes");
  }
  constexpr std::string_view kEscapedCrlf = "%0D%0A";
  std::vector<ContentDescription> list;
  std::size_t fields = 0;
  bool open = false;  // a description has begun and not ended
  while (!text.empty()) {
    CdlField f;
    std::uint32_t type = 0;
    if (!take_counted(&text, &f.name) || text.empty() || text.front() != ',') {
      return Status(Code::kMalformed, "content description: bad name");
    }
    text.remove_prefix(1);
    if (!take_number(&text, &type) || type > 0xffff) {
      return Status(Code::kMalformed, "content description: bad value type");
    }
    f.type = static_cast<std::uint16_t>(type);
    if (!take_counted(&text, &f.value)) {
      return Status(Code::kMalformed, "content description: value length past the end");
    }
    bool ends = false;
    if (sdp) {
      std::string escaped = std::move(f.value);
      if (escaped.size() >= kEscapedCrlf.size() &&
          iequals(std::string_view(escaped).substr(escaped.size() - kEscapedCrlf.size()),
                  kEscapedCrlf)) {
        escaped.resize(escaped.size() - kEscapedCrlf.size());
        ends = true;
      }
      if (!url_unescape(escaped, &f.value)) {
        return Status(Code::kMalformed, "content description: bad URL escape in a value");
      }
    }
    if (!open) {
      if (!iequals(f.name, kLanguage)) {
        return Status(Code::kMalformed, "content description does not start with 'language'");
      }
      if (list.size() == kMaxCdlDescriptions) {
        return Status(Code::kLimitExceeded, "more than kMaxCdlDescriptions content descriptions");
      }
      list.emplace_back();
      list.back().language = std::move(f.value);
      open = true;
    } else {
      if (++fields > kMaxCdlFields) {
        return Status(Code::kLimitExceeded, "more than kMaxCdlFields content description fields");
      }
      list.back().fields.push_back(std::move(f));
    }
    if (text.substr(0, kCrlf.size()) == kCrlf) {
      text.remove_prefix(kCrlf.size());
      ends = true;
    } else if (!text.empty() && text.front() == ',') {
      text.remove_prefix(1);
      if (text.empty()) {
        return Status(Code::kMalformed, "content description: ',' at the end");
      }
    } else if (!text.empty() || !sdp) {
      return Status(Code::kMalformed, "content description: no ',' or CRLF after a value");
    }
    open = open && !ends;
  }
  return list;
}

}  // namespace

const CdlField* ContentDescription::find(std::string_view name) const {
  for (const CdlField& f : fields) {
    if (iequals(f.name, name)) {
      return &f;
    }
  }
  return nullptr;
}

const std::string* EntryMetadata::find(std::string_view name) const {
  for (const ContentDescription& d : descriptions) {
    if (const CdlField* f = d.find(name)) {
      return &f->value;
    }
  }
  return nullptr;
}

std::string encode_cdl(const std::vector<ContentDescription>& list) {
  std::string out;
  for (const ContentDescription& d : list) {
    append_tuple(&out, kLanguage, kCdlTypeLpwstr, d.language);
    for (const CdlField& f : d.fields) {
      out.append(",");
      append_tuple(&out, f.name, f.type, f.value);
    }
    out.append(kCrlf);
  }
  return out;
}

Result<std::vector<ContentDescription>> parse_cdl(std::string_view text) {
  return parse_list(text, false);
}

Result<std::vector<ContentDescription>> parse_sdp_cdl(std::string_view text) {
  return parse_list(text, true);
}

std::string encode_sdp_cdl(const std::vector<ContentDescription>& list) {
  std::string out;
  for (const ContentDescription& d : list) {
    if (!out.empty()) {
      out.append(",");
    }
    const std::string end = "%0D%0A";
    append_tuple(&out, kLanguage, kCdlTypeLpwstr,
                 url_escape(d.language) + (d.fields.empty() ? end : std::string()));
    for (std::size_t i = 0; i < d.fields.size(); ++i) {
      out.append(",");
      append_tuple(
          &out, d.fields[i].name, d.fields[i].type,
          url_escape(d.fields[i].value) + (i + 1 == d.fields.size() ? end : std::string()));
    }
  }
  return out;
}

Result<EntryMetadata> parse_wmsp_metadata(ByteView payload) {
  if (payload.size() > kMaxMetadataBytes) {
    return Status(Code::kLimitExceeded, "$M metadata above kMaxMetadataBytes");
  }
  const std::string_view all = payload.as_string_view();
  const std::size_t nul = all.find('\0');
  if (nul == std::string_view::npos) {
    return Status(Code::kMalformed, "$M metadata without the NUL after its parameters");
  }
  EntryMetadata m;
  bool gen = false;
  bool bid = false;
  bool features = false;
  const std::string_view params = all.substr(0, nul);
  if (std::count(params.begin(), params.end(), '"') % 2 != 0) {
    return Status(Code::kMalformed, "$M metadata: unterminated quoted value");
  }
  std::vector<std::string_view> items = split_unquoted(params, ',');
  if (items.back().empty()) {
    items.pop_back();  // nothing, or a ',' at the end
  }
  for (const std::string_view raw : items) {
    const std::string_view item = trim_lws(raw);
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return Status(Code::kMalformed, "$M metadata: parameter without '='");
    }
    const std::string_view name = trim_lws(item.substr(0, eq));
    std::string_view value = trim_lws(item.substr(eq + 1));
    if (iequals(name, "playlist-gen-id")) {
      if (!parse_u32(value, &m.playlist_gen_id)) {
        return Status(Code::kMalformed, "$M metadata: bad playlist-gen-id");
      }
      gen = true;
    } else if (iequals(name, "broadcast-id")) {
      if (!parse_u32(value, &m.broadcast_id)) {
        return Status(Code::kMalformed, "$M metadata: bad broadcast-id");
      }
      bid = true;
    } else if (iequals(name, "features")) {
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      m.features = std::string(value);
      features = true;
    }
  }
  if (!gen || !bid || !features) {
    return Status(Code::kMalformed, "$M metadata without playlist-gen-id, broadcast-id, features");
  }
  Result<std::vector<ContentDescription>> cdl = parse_cdl(all.substr(nul + 1));
  if (!cdl.ok()) {
    return cdl.status();
  }
  m.descriptions = std::move(*cdl);
  return m;
}

std::vector<std::uint8_t> encode_wmsp_metadata(const EntryMetadata& m) {
  std::string s = "playlist-gen-id=" + std::to_string(m.playlist_gen_id) +
                  ", broadcast-id=" + std::to_string(m.broadcast_id) + ", features=\"" +
                  m.features + "\"";
  s.push_back('\0');
  s += encode_cdl(m.descriptions);
  return std::vector<std::uint8_t>(s.begin(), s.end());
}

ContentDescription describe_entry(const asf::ContentTags& tags,
                                  std::optional<std::uint32_t> duration_ms) {
  ContentDescription d;
  const auto add = [&d](const char* name, const std::string& value) {
    d.fields.push_back(CdlField{name, kCdlTypeLpwstr, value});
  };
  add("title", tags.title);
  add("author", tags.author);
  add("copyright", tags.copyright);
  add("WMS_CONTENT_DESCRIPTION_DESCRIPTION", tags.description);
  add("WMS_CONTENT_DESCRIPTION_RATING", tags.rating);
  if (duration_ms) {
    d.fields.push_back(CdlField{"WMS_CONTENT_DESCRIPTION_PLAYLIST_ENTRY_DURATION", kCdlTypeI4,
                                std::to_string(*duration_ms)});
  }
  return d;
}

}  // namespace mms::session

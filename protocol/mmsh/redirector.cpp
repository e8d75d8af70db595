#include "protocol/mmsh/redirector.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <map>
#include <string_view>

#include "protocol/core/text.h"

namespace mms::mmsh {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_space(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

// Skips a UTF-8 BOM, whitespace, an XML declaration and comments.
std::string_view skip_prolog(std::string_view s) {
  if (s.size() >= 3 && static_cast<unsigned char>(s[0]) == 0xEF &&
      static_cast<unsigned char>(s[1]) == 0xBB && static_cast<unsigned char>(s[2]) == 0xBF) {
    s.remove_prefix(3);
  }
  for (;;) {
    while (!s.empty() && is_space(s.front())) {
      s.remove_prefix(1);
    }
    if (s.substr(0, 2) == "<?") {
      const std::size_t end = s.find("?>");
      if (end == std::string_view::npos) {
        return std::string_view();
      }
      s.remove_prefix(end + 2);
    } else if (s.substr(0, 4) == "<!--") {
      const std::size_t end = s.find("-->");
      if (end == std::string_view::npos) {
        return std::string_view();
      }
      s.remove_prefix(end + 3);
    } else {
      return s;
    }
  }
}

constexpr std::uint8_t kAsfHeaderGuid[16] = {0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11,
                                             0xA6, 0xD9, 0x00, 0xAA, 0x00, 0x62, 0xCE, 0x6C};

bool allowed_scheme(std::string_view scheme) {
  static const char* const kSchemes[] = {"mms",   "mmsh",  "mmst", "mmsu", "rtsp",
                                         "rtspt", "rtspu", "http", "https"};
  for (const char* s : kSchemes) {
    if (scheme == s) {
      return true;
    }
  }
  return false;
}

// The scheme of an absolute URL ("scheme://..."), lower-cased; empty when relative.
std::string scheme_of(std::string_view url) {
  const std::size_t colon = url.find("://");
  if (colon == std::string_view::npos || colon == 0) {
    return std::string();
  }
  for (std::size_t i = 0; i < colon; ++i) {
    const char c = url[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return std::string();
    }
  }
  return ascii_lower(url.substr(0, colon));
}

bool clean_url(std::string_view url) {
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return false;
    }
  }
  return !url.empty() && url.size() <= kMaxRedirectorUrl;
}

// A ref as written, made absolute against `base`; empty when unusable.
std::string absolute_ref(std::string_view ref, const std::string& base) {
  ref = trim(ref);
  if (!clean_url(ref)) {
    return std::string();
  }
  const std::string scheme = scheme_of(ref);
  if (!scheme.empty()) {
    if (!allowed_scheme(scheme)) {
      return std::string();
    }
    return scheme + std::string(ref.substr(scheme.size()));
  }
  if (ref.find(':') != std::string_view::npos && ref.find(':') < ref.find('/')) {
    return std::string();  // "javascript:...", "file:/x": a scheme without "//"
  }
  const std::string base_scheme = scheme_of(base);
  if (base_scheme.empty()) {
    return std::string();
  }
  const std::size_t authority = base_scheme.size() + 3;
  std::size_t path_at = base.find('/', authority);
  const std::string origin = base.substr(0, path_at == std::string::npos ? base.size() : path_at);
  std::string out;
  if (ref.substr(0, 2) == "//") {
    out = base_scheme + ":" + std::string(ref);
  } else if (ref.front() == '/') {
    out = origin + std::string(ref);
  } else {
    std::string dir = path_at == std::string::npos ? std::string("/") : base.substr(path_at);
    const std::size_t query = dir.find_first_of("?#");
    if (query != std::string::npos) {
      dir.erase(query);
    }
    dir.erase(dir.rfind('/') + 1);
    out = origin + dir + std::string(ref);
  }
  return out.size() <= kMaxRedirectorUrl ? out : std::string();
}

// XML-ish entity decoding: &amp; &lt; &gt; &quot; &apos; &#N; &#xH;. A '&'
// that starts none of them stays (ASX files in the field carry raw '&' in
// query strings).
std::string decode_entities(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out.push_back(s[i]);
      continue;
    }
    const std::size_t semi = s.find(';', i);
    if (semi == std::string_view::npos || semi - i > 10) {
      out.push_back('&');
      continue;
    }
    const std::string name = ascii_lower(s.substr(i + 1, semi - i - 1));
    static const std::map<std::string, char> kNamed = {
        {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
    auto it = kNamed.find(name);
    if (it != kNamed.end()) {
      out.push_back(it->second);
      i = semi;
      continue;
    }
    if (name.size() >= 2 && name[0] == '#') {
      const bool hex = name[1] == 'x';
      unsigned long v = 0;
      bool ok = name.size() > (hex ? 2u : 1u);
      for (std::size_t k = hex ? 2 : 1; k < name.size() && ok; ++k) {
        const char c = name[k];
        const int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                      : hex && c >= 'a' && c <= 'f'               ? c - 'a' + 10
                                                                  : -1;
        ok = d >= 0 && d < (hex ? 16 : 10);
        v = v * (hex ? 16 : 10) + static_cast<unsigned long>(d < 0 ? 0 : d);
        ok = ok && v < 0x80;  // URLs and titles: ASCII only here
      }
      if (ok && v >= 0x20) {
        out.push_back(static_cast<char>(v));
        i = semi;
        continue;
      }
    }
    out.push_back('&');
  }
  return out;
}

struct Tag {
  std::string name;  // lower-cased, without '/'
  bool closing = false;
  std::map<std::string, std::string> attrs;  // lower-cased names, decoded values
};

// Parses the inside of "<...>" (without the brackets).
Tag parse_tag(std::string_view in) {
  Tag t;
  std::size_t i = 0;
  if (i < in.size() && in[i] == '/') {
    t.closing = true;
    ++i;
  }
  std::size_t start = i;
  while (i < in.size() && !is_space(in[i]) && in[i] != '/') {
    ++i;
  }
  t.name = ascii_lower(in.substr(start, i - start));
  while (i < in.size()) {
    while (i < in.size() && (is_space(in[i]) || in[i] == '/')) {
      ++i;
    }
    start = i;
    while (i < in.size() && !is_space(in[i]) && in[i] != '=' && in[i] != '/') {
      ++i;
    }
    const std::string name = ascii_lower(in.substr(start, i - start));
    while (i < in.size() && is_space(in[i])) {
      ++i;
    }
    std::string value;
    if (i < in.size() && in[i] == '=') {
      ++i;
      while (i < in.size() && is_space(in[i])) {
        ++i;
      }
      if (i < in.size() && (in[i] == '"' || in[i] == '\'')) {
        const char q = in[i++];
        start = i;
        while (i < in.size() && in[i] != q) {
          ++i;
        }
        value = std::string(in.substr(start, i - start));
        if (i < in.size()) {
          ++i;
        }
      } else {
        start = i;
        while (i < in.size() && !is_space(in[i])) {
          ++i;
        }
        value = std::string(in.substr(start, i - start));
        if (!value.empty() && value.back() == '/' && i == in.size()) {
          value.pop_back();  // <REF HREF=x/>
        }
      }
    }
    if (!name.empty() && t.attrs.count(name) == 0) {
      t.attrs[name] = decode_entities(value);
    }
  }
  return t;
}

Result<Redirector> parse_asx(std::string_view text, const std::string& base) {
  Redirector r;
  r.format = RedirectorFormat::kAsx;
  bool in_asx = false;
  bool in_entry = false;
  bool in_title = false;
  bool in_entry_title = false;
  RedirectorEntry entry;
  std::string title_text;
  std::size_t refs_seen = 0;
  auto add_entry = [&r](RedirectorEntry e) -> bool {
    if (e.refs.empty()) {
      return true;
    }
    if (r.entries.size() >= kMaxRedirectorEntries) {
      return false;
    }
    r.entries.push_back(std::move(e));
    return true;
  };
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t lt = text.find('<', i);
    if (lt == std::string_view::npos) {
      break;
    }
    if (in_title) {
      title_text += std::string(text.substr(i, lt - i));
    }
    if (text.substr(lt, 4) == "<!--") {
      const std::size_t end = text.find("-->", lt + 4);
      if (end == std::string_view::npos) {
        break;
      }
      i = end + 3;
      continue;
    }
    const std::size_t gt = text.find('>', lt + 1);
    if (gt == std::string_view::npos) {
      break;  // a truncated tag ends the file
    }
    const Tag t = parse_tag(text.substr(lt + 1, gt - lt - 1));
    i = gt + 1;
    if (t.name == "asx") {
      in_asx = !t.closing;
      continue;
    }
    if (!in_asx) {
      continue;
    }
    if (t.name == "title") {
      if (!t.closing) {
        in_title = true;
        in_entry_title = in_entry;
        title_text.clear();
      } else if (in_title) {
        in_title = false;
        const std::string value = decode_entities(trim(title_text));
        (in_entry_title ? entry.title : r.title) = value.substr(0, 1024);
      }
    } else if (t.name == "entry") {
      if (!t.closing) {
        if (in_entry && !add_entry(std::move(entry))) {
          return Status(Code::kLimitExceeded, "ASX file has too many entries");
        }
        entry = RedirectorEntry();
        in_entry = true;
      } else if (in_entry) {
        if (!add_entry(std::move(entry))) {
          return Status(Code::kLimitExceeded, "ASX file has too many entries");
        }
        entry = RedirectorEntry();
        in_entry = false;
      }
    } else if ((t.name == "ref" || t.name == "entryref") && !t.closing) {
      auto href = t.attrs.find("href");
      if (href == t.attrs.end()) {
        continue;
      }
      ++refs_seen;
      std::string url = absolute_ref(href->second, base);
      if (url.empty()) {
        continue;
      }
      if (t.name == "entryref" || !in_entry) {
        // Another ASX, or a ref outside any entry: an entry of its own.
        if (in_entry && !add_entry(std::move(entry))) {
          return Status(Code::kLimitExceeded, "ASX file has too many entries");
        }
        RedirectorEntry own;
        own.refs.push_back(std::move(url));
        if (!add_entry(std::move(own))) {
          return Status(Code::kLimitExceeded, "ASX file has too many entries");
        }
        entry = RedirectorEntry();
        continue;
      }
      if (entry.refs.size() < kMaxRefsPerEntry) {
        entry.refs.push_back(std::move(url));
      }
    }
  }
  if (in_entry && !add_entry(std::move(entry))) {
    return Status(Code::kLimitExceeded, "ASX file has too many entries");
  }
  if (r.entries.empty()) {
    return Status(Code::kMalformed, refs_seen == 0 ? "ASX file has no REF with an HREF"
                                                   : "ASX file has no REF with a usable URL");
  }
  return r;
}

Result<Redirector> parse_reference(std::string_view text, const std::string& base) {
  Redirector r;
  r.format = RedirectorFormat::kReference;
  std::map<unsigned long, std::string> refs;  // RefN, in N order
  bool in_section = false;
  std::size_t seen = 0;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.front() == '[') {
      in_section = istarts_with(line, "[reference]");
      continue;
    }
    if (!in_section || !istarts_with(line, "ref")) {
      continue;
    }
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      continue;
    }
    const std::string_view digits = trim(line.substr(3, eq - 3));
    unsigned long n = 0;
    if (digits.empty() || digits.size() > 4 ||
        !std::all_of(digits.begin(), digits.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; })) {
      continue;
    }
    for (char c : digits) {
      n = n * 10 + static_cast<unsigned long>(c - '0');
    }
    ++seen;
    std::string url = absolute_ref(line.substr(eq + 1), base);
    if (url.empty() || refs.count(n) != 0) {
      continue;
    }
    if (istarts_with(url, "http://")) {
      url = "mmsh://" + url.substr(7);  // Windows Media Services' convention
    }
    refs[n] = std::move(url);
    if (refs.size() > kMaxRefsPerEntry) {
      return Status(Code::kLimitExceeded, "reference file has too many refs");
    }
  }
  if (refs.empty()) {
    return Status(Code::kMalformed, seen == 0 ? "reference file has no RefN= line"
                                              : "reference file has no usable URL");
  }
  RedirectorEntry e;
  for (auto& [n, url] : refs) {
    e.refs.push_back(std::move(url));
  }
  r.entries.push_back(std::move(e));
  return r;
}

}  // namespace

const char* to_string(RedirectorFormat f) {
  switch (f) {
    case RedirectorFormat::kAsx:
      return "ASX";
    case RedirectorFormat::kReference:
      return "reference";
    case RedirectorFormat::kDescribe:
      return "MMSH describe";
    case RedirectorFormat::kUnknown:
      break;
  }
  return "unknown";
}

RedirectorFormat sniff_redirector(ByteView head) {
  const std::string_view raw(reinterpret_cast<const char*>(head.data()), head.size());
  // $H frame: '$' 'H' length(LE16), then LocationId(4) Incarnation(1)
  // AFFlags(1) PacketLength(2), then the ASF Header Object.
  if (raw.size() >= 28 && raw[0] == '$' && raw[1] == 'H' &&
      std::memcmp(head.data() + 12, kAsfHeaderGuid, sizeof kAsfHeaderGuid) == 0) {
    const std::size_t len = head.data()[2] | static_cast<std::size_t>(head.data()[3]) << 8;
    if (len >= 8 + 16) {
      return RedirectorFormat::kDescribe;
    }
  }
  const std::string_view s = skip_prolog(raw);
  if (istarts_with(s, "<asx") && (s.size() == 4 || is_space(s[4]) || s[4] == '>')) {
    return RedirectorFormat::kAsx;
  }
  if (istarts_with(s, "[reference]")) {
    return RedirectorFormat::kReference;
  }
  return RedirectorFormat::kUnknown;
}

std::vector<std::string> Redirector::locations() const {
  std::vector<std::string> out;
  for (const RedirectorEntry& e : entries) {
    if (!e.refs.empty()) {
      out.push_back(e.refs.front());
    }
  }
  return out;
}

Result<Redirector> parse_redirector(ByteView body, const std::string& base_url) {
  if (body.size() > kMaxRedirectorBytes) {
    return Status(Code::kLimitExceeded, "redirector file larger than 256 KiB");
  }
  const std::string_view text(reinterpret_cast<const char*>(body.data()), body.size());
  switch (sniff_redirector(body)) {
    case RedirectorFormat::kAsx:
      return parse_asx(skip_prolog(text), base_url);
    case RedirectorFormat::kReference:
      return parse_reference(skip_prolog(text), base_url);
    case RedirectorFormat::kDescribe: {
      const std::string scheme = scheme_of(base_url);
      if (scheme != "http") {
        return Status(Code::kMalformed, "MMSH describe answer without an http:// URL to follow");
      }
      Redirector r;
      r.format = RedirectorFormat::kDescribe;
      RedirectorEntry e;
      e.refs.push_back("mmsh" + base_url.substr(scheme.size()));
      r.entries.push_back(std::move(e));
      return r;
    }
    case RedirectorFormat::kUnknown:
      break;
  }
  return Status(Code::kUnsupported, "not an ASX, reference or MMSH describe answer");
}

}  // namespace mms::mmsh

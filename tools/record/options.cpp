// mms-record: command line options.
#include "tools/record/options.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "protocol/core/text.h"
#include "protocol/session/rollover.h"

namespace mms::record {

const char* to_string(OutputKind kind) {
  switch (kind) {
    case OutputKind::kAsf:
      return "asf";
    case OutputKind::kWebm:
      return "webm";
    case OutputKind::kMkv:
      return "mkv";
    case OutputKind::kMp4:
      return "mp4";
    case OutputKind::kM4a:
      return "m4a";
    case OutputKind::kOgg:
      return "ogg";
    case OutputKind::kOpus:
      return "opus";
  }
  return "?";
}

std::optional<OutputKind> output_kind_for(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  const std::size_t dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash) ||
      dot + 1 == path.size()) {
    return std::nullopt;
  }
  const std::string ext = ascii_lower(std::string_view(path).substr(dot + 1));
  if (ext == "asf" || ext == "wmv" || ext == "wma") {
    return OutputKind::kAsf;
  }
  if (ext == "webm") {
    return OutputKind::kWebm;
  }
  if (ext == "mkv") {
    return OutputKind::kMkv;
  }
  if (ext == "mp4") {
    return OutputKind::kMp4;
  }
  if (ext == "m4a") {
    return OutputKind::kM4a;
  }
  if (ext == "ogg") {
    return OutputKind::kOgg;
  }
  if (ext == "opus") {
    return OutputKind::kOpus;
  }
  return std::nullopt;
}

std::uint64_t Options::connection_speed_kbps() const {
  if (!connection_speed_bps || *connection_speed_bps == 0) {
    return 0;
  }
  return (*connection_speed_bps + 999) / 1000;
}

std::optional<std::uint64_t> parse_bitrate(const std::string& s) {
  if (s.empty() || !std::isdigit(static_cast<unsigned char>(s[0]))) {
    return std::nullopt;
  }
  std::size_t i = 0;
  std::uint64_t v = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    const std::uint64_t d = static_cast<std::uint64_t>(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10) {
      return std::nullopt;
    }
    v = v * 10 + d;
    ++i;
  }
  std::uint64_t mult = 1;
  if (i < s.size()) {
    const char c = s[i++];
    if (c == 'k' || c == 'K') {
      mult = 1000;
    } else if (c == 'm' || c == 'M') {
      mult = 1000000;
    } else {
      return std::nullopt;
    }
  }
  if (i != s.size()) {
    return std::nullopt;
  }
  if (v > UINT64_MAX / mult) {
    return std::nullopt;
  }
  return v * mult;
}

namespace {

std::optional<double> parse_decimal(const std::string& s) {
  if (s.empty()) {
    return std::nullopt;
  }
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '.') {
      return std::nullopt;
    }
  }
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (errno != 0 || end != s.c_str() + s.size() || !std::isfinite(v) || v < 0) {
    return std::nullopt;
  }
  return v;
}

std::optional<long> parse_int(const std::string& s, long min, long max) {
  if (s.empty()) {
    return std::nullopt;
  }
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(s.c_str(), &end, 10);
  if (errno != 0 || end != s.c_str() + s.size() || v < min || v > max) {
    return std::nullopt;
  }
  return v;
}

}  // namespace

std::optional<double> parse_seconds(const std::string& s) {
  // [[H:]M:]S with S possibly fractional.
  double total = 0;
  std::size_t start = 0;
  int fields = 0;
  for (;;) {
    const std::size_t colon = s.find(':', start);
    const std::string part =
        s.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    const std::optional<double> v = parse_decimal(part);
    if (!v) {
      return std::nullopt;
    }
    ++fields;
    if (fields > 3) {
      return std::nullopt;
    }
    if (colon == std::string::npos) {
      total = total * 60 + *v;
      break;
    }
    if (part.find('.') != std::string::npos) {
      return std::nullopt;  // only seconds may be fractional
    }
    total = total * 60 + *v;
    start = colon + 1;
  }
  return total;
}

ParseResult parse_options(const std::vector<std::string>& args) {
  ParseResult r;
  Options o;
  std::vector<std::string> positional;
  bool only_positional = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (only_positional || a.empty() || a[0] != '-' || a == "-") {
      positional.push_back(a);
      continue;
    }
    if (a == "--") {
      only_positional = true;
      continue;
    }
    std::string name = a;
    std::optional<std::string> inline_value;
    if (a.rfind("--", 0) == 0) {
      const std::size_t eq = a.find('=');
      if (eq != std::string::npos) {
        name = a.substr(0, eq);
        inline_value = a.substr(eq + 1);
      }
    }
    auto flag = [&](const char* what) -> bool {
      if (inline_value) {
        r.error = std::string("option ") + what + " takes no value";
        return false;
      }
      return true;
    };
    auto value = [&](std::string* out) -> bool {
      if (inline_value) {
        *out = *inline_value;
        return true;
      }
      if (i + 1 >= args.size()) {
        r.error = "option " + name + " needs a value";
        return false;
      }
      *out = args[++i];
      return true;
    };
    std::string v;
    if (name == "-h" || name == "--help") {
      if (!flag("--help")) {
        return r;
      }
      o.help = true;
    } else if (name == "-V" || name == "--version") {
      if (!flag("--version")) {
        return r;
      }
      o.version = true;
    } else if (name == "-q" || name == "--quiet") {
      if (!flag("--quiet")) {
        return r;
      }
      o.quiet = true;
    } else if (name == "--resume") {
      if (!flag("--resume")) {
        return r;
      }
      o.resume = true;
    } else if (name == "-d" || name == "--duration") {
      if (!value(&v)) {
        return r;
      }
      const std::optional<double> s = parse_seconds(v);
      if (!s || !(*s > 0)) {
        r.error = "--duration: not a positive number of seconds: '" + v + "'";
        return r;
      }
      o.duration_s = *s;
    } else if (name == "--retries") {
      if (!value(&v)) {
        return r;
      }
      const std::optional<long> n = parse_int(v, -1, 1000000);
      if (!n) {
        r.error = "--retries: not a number from -1 (forever) up: '" + v + "'";
        return r;
      }
      o.retries = static_cast<int>(*n);
    } else if (name == "--protocols") {
      if (!value(&v)) {
        return r;
      }
      if (!session::parse_protocols(v).ok()) {
        r.error = "--protocols: not a list of rtspu, rtspt, mmsu, mmst, mmsh: '" + v + "'";
        return r;
      }
      o.protocols = v;
    } else if (name == "--connection-speed") {
      if (!value(&v)) {
        return r;
      }
      const std::optional<std::uint64_t> b = parse_bitrate(v);
      if (!b) {
        r.error = "--connection-speed: not a bit rate (e.g. 300000, 300k, 2M): '" + v + "'";
        return r;
      }
      o.connection_speed_bps = *b;
    } else if (name == "--timeout") {
      if (!value(&v)) {
        return r;
      }
      const std::optional<long> n = parse_int(v, 0, 86400);
      if (!n) {
        r.error = "--timeout: not a number of seconds: '" + v + "'";
        return r;
      }
      o.timeout_s = static_cast<unsigned>(*n);
    } else {
      r.error = "unknown option " + name;
      return r;
    }
  }
  if (o.help || o.version) {
    r.options = o;
    return r;
  }
  if (positional.size() != 2) {
    r.error = positional.size() < 2 ? "expected URL and OUTPUT" : "too many arguments";
    return r;
  }
  o.url = positional[0];
  o.output = positional[1];
  const std::optional<OutputKind> kind = output_kind_for(o.output);
  if (!kind) {
    r.error = "OUTPUT must end in .asf, .wmv, .wma, .webm, .mkv, .mp4, .m4a, .ogg or .opus: '" +
              o.output + "'";
    return r;
  }
  o.kind = *kind;
  if (o.resume && o.kind != OutputKind::kAsf) {
    r.error = "--resume works for .asf (.wmv, .wma) output only";
    return r;
  }
  r.options = o;
  return r;
}

std::string usage_text(const std::string& program) {
  return "usage: " + program +
         " [OPTIONS] URL OUTPUT\n"
         "Record an mms:// (mmsh://, mmst://, mmsu://) stream to a file.\n"
         "\n"
         "OUTPUT's extension chooses the format:\n"
         "  .asf .wmv .wma  the stream as received, made a seekable file with an index\n"
         "  .webm           VP8 + Vorbis        .mkv   VP8 + Vorbis (Matroska)\n"
         "  .mp4            H.264 + AAC         .m4a   AAC\n"
         "  .ogg            Theora + Vorbis (Opus when audio only)\n"
         "  .opus           Opus\n"
         "\n"
         "Options:\n"
         "  -d, --duration SECONDS   stop after this much media ([[H:]M:]S)\n"
         "      --resume             continue a partial .asf recording (on-demand content)\n"
         "      --retries N          reconnect attempts after a drop (-1 = forever; mmssrc "
         "retries)\n"
         "      --protocols LIST     transports in rollover order, e.g. mmst,mmsh (mmssrc "
         "protocols)\n"
         "      --connection-speed BPS  bandwidth for multi-bitrate stream selection (e.g. 300k)\n"
         "      --timeout SECONDS    bound on connecting and waiting for data (mmssrc timeout)\n"
         "  -q, --quiet              no progress and no summary\n"
         "  -h, --help               this text\n"
         "  -V, --version            the version\n"
         "\n"
         "The file is written as OUTPUT.part and renamed at the end. SIGINT or SIGTERM\n"
         "ends the recording cleanly (the file is finished, exit status 0).\n"
         "Exit status: 0 done, 1 failure, 2 bad usage.\n";
}

}  // namespace mms::record

// mms-record: command line options (pure functions).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mms::record {

// What the output file is, from its extension.
enum class OutputKind {
  kAsf,   // .asf .wmv .wma: the stream as received, finalised
  kWebm,  // .webm: VP8 + Vorbis
  kMkv,   // .mkv: VP8 + Vorbis in Matroska
  kMp4,   // .mp4: H.264 + AAC
  kM4a,   // .m4a: AAC only
  kOgg,   // .ogg: Theora + Vorbis (Opus when there is no video)
  kOpus,  // .opus: Opus in Ogg, audio only
};
const char* to_string(OutputKind kind);
// The kind for a file name (case-insensitive extension), nullopt when unknown.
std::optional<OutputKind> output_kind_for(const std::string& path);

struct Options {
  std::string url;
  std::string output;
  OutputKind kind = OutputKind::kAsf;
  std::optional<double> duration_s;                   // --duration
  bool resume = false;                                // --resume
  std::optional<int> retries;                         // --retries (mmssrc retries)
  std::optional<std::string> protocols;               // --protocols (mmssrc protocols)
  std::optional<std::uint64_t> connection_speed_bps;  // --connection-speed
  std::optional<unsigned> timeout_s;                  // --timeout (mmssrc timeout)
  bool quiet = false;
  bool help = false;
  bool version = false;

  // mmssrc's connection-speed is in kbit/s: bps / 1000 rounded up.
  std::uint64_t connection_speed_kbps() const;
};

struct ParseResult {
  std::optional<Options> options;  // set on success
  std::string error;               // one line, without the program name
};

// Parses argv[1..] (without the program name). --help and --version succeed
// without URL and OUTPUT.
ParseResult parse_options(const std::vector<std::string>& args);

// Parses a bit rate: digits with an optional k/K (1000) or m/M (1000000) suffix.
std::optional<std::uint64_t> parse_bitrate(const std::string& s);
// Parses a duration in seconds: a non-negative decimal number, or [[H:]M:]S.
std::optional<double> parse_seconds(const std::string& s);

std::string usage_text(const std::string& program);

}  // namespace mms::record

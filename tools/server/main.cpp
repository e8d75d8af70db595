// mms-server: the reference MMSH (MS-WMSP), MMS (MS-MMSP, TCP + UDP data) and
// RTSP (MS-RTSP, RTP over UDP or interleaved) server.
//
//   mms-server --root DIR [--bind ADDR] [--mmsh-port N] [--mms-port N] [--rtsp-port N]
//              [--port N]
//              [--live NAME=FILE|NAME=-]... [--playlist NAME=FILE1,FILE2,...]...
//              [--fast] [--keep-padding] [--auth USER:PASS]
//              [--auth-scheme basic|digest|ntlm]...
//              [--redirect NAME=URL]...
//              [--fault NAME] [--udp-loss PERCENT] [--refuse mms|mmsu|mmsh|rtsp|rtspu]...
//              [--close-after-packets N] [--keepalive MS] [--idle-timeout MS]
//              [--fast-start-factor N] [--no-packet-pair] [--url-key KEY]
//              [--access-log FILE] [--max-clients N] [--verbose]
//   mms-server --sign-url URL --url-key KEY [--valid-for SECONDS]
//
// Prints "mms-server listening mmsh=PORT mms=PORT rtsp=PORT" once ready (a
// refused transport's part is left out); SIGTERM/SIGINT stop it. --port N
// serves all three on one TCP port (recognised by the first bytes of each
// connection) with UDP data on the same number. --url-key requires signed
// URLs (tools/server/url_signing.h); --sign-url prints URL signed for
// --valid-for seconds (default 3600) and exits. --access-log FILE appends a
// line per ended session; SIGHUP reopens FILE. --live NAME=- publishes the
// ASF stream read from standard input (e.g. a GStreamer pipeline's
// `asfmux streamable=true ! fdsink`, or an .asf file sent in real time) as
// publishing point NAME; its end is the broadcast's end.
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "protocol/core/log.h"
#include "protocol/io/listener.h"
#include "tools/server/feeder.h"
#include "tools/server/server.h"
#include "tools/server/url_signing.h"

namespace {

class StderrSink final : public mms::LogSink {
 public:
  bool enabled(mms::LogLevel level) const override { return level <= mms::LogLevel::kDebug; }
  void write(mms::LogLevel level, const char* component, const char* message) override {
    const char* tag = "LOG";
    switch (level) {
      case mms::LogLevel::kError:
        tag = "ERROR";
        break;
      case mms::LogLevel::kWarning:
        tag = "WARN";
        break;
      case mms::LogLevel::kInfo:
        tag = "INFO";
        break;
      case mms::LogLevel::kDebug:
        tag = "DEBUG";
        break;
      case mms::LogLevel::kLog:
        break;
    }
    std::fprintf(stderr, "%-5s %s: %s\n", tag, component, message);
  }
};

void usage(std::FILE* out) {
  std::fprintf(
      out,
      "usage: mms-server --root DIR [--bind ADDR] [--mmsh-port N] [--mms-port N]\n"
      "                  [--rtsp-port N] [--port N]\n"
      "                  [--live NAME=FILE|NAME=-]... [--playlist NAME=FILE1,FILE2,...]...\n"
      "                  [--fast] [--keep-padding] [--auth USER:PASS]\n"
      "                  [--auth-scheme basic|digest|ntlm]...\n"
      "                  [--redirect NAME=URL]... [--fault NAME] [--udp-loss PERCENT]\n"
      "                  [--refuse mms|mmsu|mmsh|rtsp|rtspu]... [--close-after-packets N]\n"
      "                  [--keepalive MS] [--idle-timeout MS] [--fast-start-factor N]\n"
      "                  [--no-packet-pair] [--url-key KEY] [--access-log FILE]\n"
      "                  [--max-clients N] [--verbose]\n"
      "       mms-server --sign-url URL --url-key KEY [--valid-for SECONDS]\n"
      "faults (MMSH): garbage, truncate, huge-length, stall-header, bad-frame\n"
      "playlists are served over MMSH, MMS and RTSP\n");
}

bool split_pair(std::string_view arg, char sep, std::string* a, std::string* b) {
  const std::size_t at = arg.find(sep);
  if (at == std::string_view::npos || at == 0) {
    return false;
  }
  *a = std::string(arg.substr(0, at));
  *b = std::string(arg.substr(at + 1));
  return true;
}

// Decimal in [lo, hi]; false on anything else.
bool parse_number(const char* s, long lo, long hi, long* out) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi) {
    return false;
  }
  *out = v;
  return true;
}

int g_signal_pipe[2] = {-1, -1};
int g_stop_pipe[2] = {-1, -1};  // tells the standard input feeder to stop

// Blocks until `fd` is readable or the stop pipe is written; false: stop.
bool wait_readable(int fd, int timeout_ms) {
  pollfd fds[2] = {{fd, POLLIN, 0}, {g_stop_pipe[0], POLLIN, 0}};
  for (;;) {
    const int n = ::poll(fds, 2, timeout_ms);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    return n >= 0 && (fds[1].revents & POLLIN) == 0;
  }
}

// --live NAME=-: standard input to the publishing point, paced by send time.
void feed_stdin(mms::server::Server* server, const std::string& name) {
  mms::server::StreamFeeder feeder(server, name, [](mms::Instant due) {
    const mms::Duration left = due - mms::io::monotonic_now();
    if (left <= 0) {
      return true;
    }
    // Sleeping in poll() on the stop pipe: a stop interrupts the wait.
    return wait_readable(-1, static_cast<int>((left + mms::kMillisecond - 1) / mms::kMillisecond));
  });
  std::vector<std::uint8_t> buf(64 * 1024);
  for (;;) {
    if (!wait_readable(STDIN_FILENO, -1)) {
      return;  // stopping
    }
    const ssize_t n = ::read(STDIN_FILENO, buf.data(), buf.size());
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    const mms::Status st = feeder.push(mms::ByteView(buf.data(), static_cast<std::size_t>(n)));
    if (st.code() == mms::Code::kCancelled) {
      return;
    }
    if (!st.ok()) {
      std::fprintf(stderr, "mms-server: --live %s=-: %s; the publishing point ends\n", name.c_str(),
                   st.what());
      (void)feeder.finish();
      return;
    }
  }
  const mms::Status st = feeder.finish();
  std::fprintf(stderr, "mms-server: --live %s=-: end of input after %llu packets%s%s\n",
               name.c_str(), static_cast<unsigned long long>(feeder.packets()), st.ok() ? "" : ": ",
               st.ok() ? "" : st.what());
}

void on_signal(int sig) {
  const char c = sig == SIGHUP ? 'h' : 'q';
  const ssize_t r = ::write(g_signal_pipe[1], &c, 1);
  (void)r;
}

}  // namespace

int main(int argc, char** argv) {
  mms::server::ServerOptions opts;
  bool have_root = false;
  bool auth_scheme_given = false;
  std::string stdin_feed;  // --live NAME=-
  std::string sign_url;
  long valid_for = 3600;
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&](const char* what) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "mms-server: %s needs a value\n", what);
        std::exit(2);
      }
      return argv[++i];
    };
    std::string k;
    std::string v;
    if (a == "--root") {
      opts.root = value("--root");
      have_root = true;
    } else if (a == "--bind") {
      opts.bind_address = value("--bind");
    } else if (a == "--mmsh-port") {
      char* end = nullptr;
      const char* s = value("--mmsh-port");
      const long port = std::strtol(s, &end, 10);
      if (*s == '\0' || *end != '\0' || port < 0 || port > 65535) {
        std::fprintf(stderr, "mms-server: bad port '%s'\n", s);
        return 2;
      }
      opts.mmsh_port = static_cast<std::uint16_t>(port);
    } else if (a == "--mms-port") {
      const char* s = value("--mms-port");
      long port = 0;
      if (!parse_number(s, 0, 65535, &port)) {
        std::fprintf(stderr, "mms-server: bad port '%s'\n", s);
        return 2;
      }
      opts.mms_port = static_cast<std::uint16_t>(port);
    } else if (a == "--rtsp-port" || a == "--port") {
      const std::string flag(a);
      const char* s = value(flag.c_str());
      long port = 0;
      if (!parse_number(s, 0, 65535, &port)) {
        std::fprintf(stderr, "mms-server: bad port '%s'\n", s);
        return 2;
      }
      if (flag == "--port") {
        opts.single_port = true;
        opts.port = static_cast<std::uint16_t>(port);
      } else {
        opts.rtsp_port = static_cast<std::uint16_t>(port);
      }
    } else if (a == "--playlist") {
      if (!split_pair(value("--playlist"), '=', &k, &v) || v.empty()) {
        std::fprintf(stderr, "mms-server: --playlist wants NAME=FILE1,FILE2,...\n");
        return 2;
      }
      std::vector<std::string> files;
      std::size_t start = 0;
      while (start <= v.size()) {
        const std::size_t comma = v.find(',', start);
        const std::string f =
            v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (f.empty()) {
          std::fprintf(stderr, "mms-server: --playlist %s has an empty entry\n", k.c_str());
          return 2;
        }
        files.push_back(f);
        if (comma == std::string::npos) {
          break;
        }
        start = comma + 1;
      }
      opts.playlists[k] = files;
    } else if (a == "--udp-loss") {
      const char* s = value("--udp-loss");
      long pct = 0;
      if (!parse_number(s, 0, 100, &pct)) {
        std::fprintf(stderr, "mms-server: --udp-loss wants 0..100, not '%s'\n", s);
        return 2;
      }
      opts.udp_loss_percent = static_cast<std::uint32_t>(pct);
    } else if (a == "--refuse") {
      const std::string name = value("--refuse");
      if (name != "mms" && name != "mmsu" && name != "mmsh" && name != "rtsp" && name != "rtspu") {
        std::fprintf(stderr, "mms-server: --refuse wants mms, mmsu, mmsh, rtsp or rtspu\n");
        return 2;
      }
      opts.refuse.insert(name);
    } else if (a == "--close-after-packets") {
      const char* s = value("--close-after-packets");
      long n = 0;
      if (!parse_number(s, 0, 0x7FFFFFFF, &n)) {
        std::fprintf(stderr, "mms-server: bad packet count '%s'\n", s);
        return 2;
      }
      opts.close_after_packets = static_cast<std::uint32_t>(n);
    } else if (a == "--keepalive" || a == "--idle-timeout") {
      // Milliseconds: the MMS KeepAlive (default 30 s); the idle timeout of
      // every protocol (defaults: MMS 3600 s, RTSP and MMSH 60 s).
      const char* s = value(a == "--keepalive" ? "--keepalive" : "--idle-timeout");
      long ms = 0;
      if (!parse_number(s, 1, 0x7FFFFFFF, &ms)) {
        std::fprintf(stderr, "mms-server: bad duration in milliseconds '%s'\n", s);
        return 2;
      }
      (a == "--keepalive" ? opts.mms_keepalive_ms : opts.idle_timeout_ms) =
          static_cast<std::uint32_t>(ms);
    } else if (a == "--no-packet-pair") {
      // Refuse the clients' packet-pair bandwidth probe (MMS and MMSH).
      opts.packet_pair = false;
    } else if (a == "--fast-start-factor") {
      // Fast Start: a paced on-demand play whose client asks for acceleration
      // gets its first seconds up to N times faster than real time (1: never).
      const char* s = value("--fast-start-factor");
      long n = 0;
      if (!parse_number(s, 1, mms::kFastStartMaxFactor, &n)) {
        std::fprintf(stderr, "mms-server: bad Fast Start factor '%s' (1..%u)\n", s,
                     mms::kFastStartMaxFactor);
        return 2;
      }
      opts.fast_start_factor = static_cast<std::uint32_t>(n);
    } else if (a == "--live") {
      if (!split_pair(value("--live"), '=', &k, &v)) {
        std::fprintf(stderr, "mms-server: --live wants NAME=FILE or NAME=-\n");
        return 2;
      }
      if (v == "-") {
        if (!stdin_feed.empty()) {
          std::fprintf(stderr, "mms-server: only one --live NAME=- (standard input)\n");
          return 2;
        }
        stdin_feed = k;
        opts.feeds.insert(k);
      } else {
        opts.live[k] = v;
      }
    } else if (a == "--redirect") {
      if (!split_pair(value("--redirect"), '=', &k, &v)) {
        std::fprintf(stderr, "mms-server: --redirect wants NAME=URL\n");
        return 2;
      }
      opts.redirects[k] = v;
    } else if (a == "--auth") {
      if (!split_pair(value("--auth"), ':', &k, &v)) {
        std::fprintf(stderr, "mms-server: --auth wants USER:PASS\n");
        return 2;
      }
      opts.auth_user = k;
      opts.auth_password = v;
    } else if (a == "--auth-scheme") {
      const char* name = value("--auth-scheme");
      const mms::auth::Scheme s = mms::auth::scheme_from_name(name);
      if (s == mms::auth::Scheme{}) {
        std::fprintf(stderr, "mms-server: unknown authentication scheme '%s'\n", name);
        usage(stderr);
        return 2;
      }
      if (!auth_scheme_given) {
        opts.auth_schemes = 0;  // the first --auth-scheme replaces the default set
        auth_scheme_given = true;
      }
      opts.auth_schemes |= s;
    } else if (a == "--fault") {
      const char* name = value("--fault");
      auto f = mms::mmsh::fault_from_string(name);
      if (!f) {
        std::fprintf(stderr, "mms-server: unknown fault '%s'\n", name);
        usage(stderr);
        return 2;
      }
      opts.fault = *f;
    } else if (a == "--fast") {
      opts.fast = true;
    } else if (a == "--keep-padding") {
      opts.keep_padding = true;
    } else if (a == "--max-clients") {
      const char* s = value("--max-clients");
      long n = 0;
      if (!parse_number(s, 0, 1000000, &n)) {
        std::fprintf(stderr, "mms-server: bad --max-clients '%s'\n", s);
        return 2;
      }
      opts.max_clients = static_cast<std::uint32_t>(n);
    } else if (a == "--access-log") {
      opts.access_log = value("--access-log");
    } else if (a == "--url-key") {
      opts.url_key = value("--url-key");
      if (opts.url_key.empty()) {
        std::fprintf(stderr, "mms-server: --url-key wants a non-empty key\n");
        return 2;
      }
    } else if (a == "--sign-url") {
      sign_url = value("--sign-url");
    } else if (a == "--valid-for") {
      const char* s = value("--valid-for");
      if (!parse_number(s, 0, 100L * 365 * 24 * 3600, &valid_for)) {
        std::fprintf(stderr, "mms-server: bad --valid-for '%s' (seconds)\n", s);
        return 2;
      }
    } else if (a == "--verbose" || a == "-v") {
      verbose = true;
    } else if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else {
      std::fprintf(stderr, "mms-server: unknown argument '%s'\n", argv[i]);
      usage(stderr);
      return 2;
    }
  }
  if (!sign_url.empty()) {
    if (opts.url_key.empty()) {
      std::fprintf(stderr, "mms-server: --sign-url needs --url-key\n");
      return 2;
    }
    std::string out;
    const std::int64_t expiry = static_cast<std::int64_t>(::time(nullptr)) + valid_for;
    if (!mms::server::sign_url(sign_url, opts.url_key, expiry, &out)) {
      std::fprintf(stderr, "mms-server: cannot sign '%s' (no path, or a bad %%-escape)\n",
                   sign_url.c_str());
      return 2;
    }
    std::printf("%s\n", out.c_str());
    return 0;
  }
  if (!have_root && !stdin_feed.empty()) {
    opts.root.clear();  // a publishing point only, no files
    have_root = true;
  }
  if (!have_root) {
    usage(stderr);
    return 2;
  }

  StderrSink sink;
  if (verbose) {
    mms::set_log_sink(&sink);
  }
  if (::pipe(g_signal_pipe) != 0) {
    std::perror("pipe");
    return 1;
  }
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);  // reopens the access log
  signal(SIGPIPE, SIG_IGN);

  // Every connection takes a descriptor: as many as the hard limit allows
  // (the listener holds at most protocol/io/listener.h's kMaxConnections).
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &nofile);
  }
  mms::server::Server server;
  const mms::Status st = server.start(opts);
  if (!st.ok()) {
    std::fprintf(stderr, "mms-server: %s (%s)\n", st.what(), mms::to_string(st.code()));
    return 1;
  }
  std::string ready = "mms-server listening";
  if (opts.refuse.count("mmsh") == 0) {
    ready += " mmsh=" + std::to_string(server.mmsh_port());
  }
  if (opts.refuse.count("mms") == 0) {
    ready += " mms=" + std::to_string(server.mms_port());
  }
  if (opts.refuse.count("rtsp") == 0) {
    ready += " rtsp=" + std::to_string(server.rtsp_port());
  }
  std::printf("%s\n", ready.c_str());
  std::fflush(stdout);
  std::thread feeder;
  if (!stdin_feed.empty()) {
    if (::pipe(g_stop_pipe) != 0) {
      std::perror("pipe");
      return 1;
    }
    feeder = std::thread(feed_stdin, &server, stdin_feed);
  }

  for (;;) {
    char c = 0;
    const ssize_t n = ::read(g_signal_pipe[0], &c, 1);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n == 1 && c == 'h') {
      server.reopen_access_log();
      continue;
    }
    break;
  }
  if (feeder.joinable()) {
    const char c = 'q';
    const ssize_t r = ::write(g_stop_pipe[1], &c, 1);
    (void)r;
    feeder.join();
  }
  server.stop();
  mms::set_log_sink(nullptr);
  return 0;
}

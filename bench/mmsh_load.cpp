// MMSH load generator: N concurrent Play requests to one server, epoll-driven.
//
// usage: mmsh_load PORT PATH CLIENTS SECONDS [SERVER_PID]
//
// Opens CLIENTS connections to 127.0.0.1:PORT, each sending the Play request
// mmssrc sends (GET PATH with Pragma: xPlayStrm=1, no Fast Start, all streams),
// reads and discards the responses. Connections are opened a few at a time
// (the server's listen backlog is GLib's default of 10). Once every client is
// connected and a 3 s warm-up has passed, bytes are counted for SECONDS. With
// SERVER_PID, the server's CPU time (utime + stime from /proc/PID/stat) over
// the window and its VmRSS (sampled every 250 ms; idle value after one client
// has been served, so the content cache is built) are reported too.
//
// Prints progress to stderr and one line of key=value pairs to stdout.
// A benchmark tool, not a test.

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

enum class St { kConnecting, kSent, kStreaming, kClosed };

struct Client {
  int fd = -1;
  St st = St::kClosed;
  char head[16] = {};
  unsigned head_len = 0;
  int status = 0;
  unsigned long long bytes = 0;
};

double now_s() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double self_cpu_s() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// utime + stime of PID in seconds, or -1.
double proc_cpu_s(int pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE* f = std::fopen(path, "r");
  if (f == nullptr) {
    return -1;
  }
  char buf[1024];
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr) {
    return -1;
  }
  // Fields after the command: 3 state ... 14 utime 15 stime.
  unsigned long long ut = 0, stime = 0;
  if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &stime) !=
      2) {
    return -1;
  }
  return static_cast<double>(ut + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// A "Key:   N kB" line of /proc/PID/status, in kB, or -1.
long proc_status_kb(int pid, const char* key) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/status", pid);
  FILE* f = std::fopen(path, "r");
  if (f == nullptr) {
    return -1;
  }
  char line[256];
  long v = -1;
  const size_t kl = std::strlen(key);
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, key, kl) == 0 && line[kl] == ':') {
      v = std::strtol(line + kl + 1, nullptr, 10);
      break;
    }
  }
  std::fclose(f);
  return v;
}

int g_port = 0;
const char* g_path = nullptr;
int g_ep = -1;
char g_request[1024];
size_t g_request_len = 0;

bool start_connect(Client* c, size_t index) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    std::fprintf(stderr, "mmsh_load: socket: %s\n", std::strerror(errno));
    return false;
  }
  // Small receive buffers, as many real clients would have; keeps this
  // process's memory and the kernel's small at 10,000 connections.
  int rcv = 64 * 1024;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(g_port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0 && errno != EINPROGRESS) {
    std::fprintf(stderr, "mmsh_load: connect: %s\n", std::strerror(errno));
    close(fd);
    return false;
  }
  epoll_event ev{};
  ev.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
  ev.data.u64 = index;
  epoll_ctl(g_ep, EPOLL_CTL_ADD, fd, &ev);
  c->fd = fd;
  c->st = St::kConnecting;
  return true;
}

void close_client(Client* c) {
  if (c->fd >= 0) {
    epoll_ctl(g_ep, EPOLL_CTL_DEL, c->fd, nullptr);
    close(c->fd);
  }
  c->fd = -1;
  c->st = St::kClosed;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s PORT PATH CLIENTS SECONDS [SERVER_PID]\n", argv[0]);
    return 2;
  }
  g_port = std::atoi(argv[1]);
  g_path = argv[2];
  const size_t n = static_cast<size_t>(std::atol(argv[3]));
  const double seconds = std::atof(argv[4]);
  const int server_pid = argc > 5 ? std::atoi(argv[5]) : 0;
  const double kWarmup = 3.0;
  const size_t kInFlight = 8;  // connections opened but not yet answered

  rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < n + 64) {
    rl.rlim_cur = rl.rlim_max < n + 64 ? rl.rlim_max : n + 64;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (rl.rlim_cur < n + 16) {
    std::fprintf(stderr, "mmsh_load: RLIMIT_NOFILE %llu is too low for %zu clients\n",
                 static_cast<unsigned long long>(rl.rlim_cur), n);
    return 1;
  }

  g_request_len = static_cast<size_t>(std::snprintf(
      g_request, sizeof g_request,
      "GET %s HTTP/1.0\r\n"
      "Accept: */*\r\n"
      "User-Agent: NSPlayer/7.10.0.3059\r\n"
      "Host: 127.0.0.1:%d\r\n"
      "Pragma: no-cache,rate=1.000000,stream-time=0,stream-offset=4294967295:4294967295,"
      "packet-num=4294967295,request-context=1,max-duration=0\r\n"
      "Pragma: xPlayStrm=1\r\n"
      "Pragma: xClientGUID={3300AD50-2C39-46c0-AE0A-132CB9D6E5B4}\r\n"
      "X-Accept-Authentication: Basic\r\n"
      "Connection: Close\r\n"
      "\r\n",
      g_path, g_port));

  g_ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<Client> clients(n);
  std::vector<epoll_event> events(1024);
  static char sink[256 * 1024];

  size_t opened = 0, in_flight = 0, streaming = 0, closed = 0, refused = 0, non200 = 0;
  unsigned long long total_bytes = 0;
  long rss_idle_kb = -1, rss_peak_kb = -1;
  double t0 = now_s(), t_last_report = t0, t_all = 0, t_win = 0, t_end = 0, next_sample = 0,
         next_report = t0 + 1;
  double cpu_server0 = 0, cpu_server1 = 0, cpu_self0 = 0, cpu_self1 = 0;
  unsigned long long bytes_win0 = 0, bytes_win1 = 0, last_report_bytes = 0;
  bool first_served = false;
  enum { kRamp, kWarm, kWindow, kDone } phase = kRamp;

  for (;;) {
    // Open connections: the first alone (so the idle RSS includes the content
    // cache), then up to kInFlight unanswered at a time.
    while (opened < n && in_flight < kInFlight &&
           (opened == 0 || (clients[0].st != St::kConnecting && clients[0].st != St::kSent))) {
      if (!start_connect(&clients[opened], opened)) {
        ++refused;
      } else {
        ++in_flight;
      }
      ++opened;
    }
    const int k = epoll_wait(g_ep, events.data(), static_cast<int>(events.size()), 100);
    for (int i = 0; i < k; ++i) {
      Client* c = &clients[events[i].data.u64];
      if (c->fd < 0) {
        continue;
      }
      const uint32_t e = events[i].events;
      if (c->st == St::kConnecting) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          ++refused;
          --in_flight;
          close_client(c);
          continue;
        }
        if ((e & EPOLLOUT) == 0) {
          continue;
        }
        // The request fits any socket buffer: one send.
        if (send(c->fd, g_request, g_request_len, MSG_NOSIGNAL) !=
            static_cast<ssize_t>(g_request_len)) {
          ++refused;
          --in_flight;
          close_client(c);
          continue;
        }
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP;
        ev.data.u64 = events[i].data.u64;
        epoll_ctl(g_ep, EPOLL_CTL_MOD, c->fd, &ev);
        c->st = St::kSent;
        continue;
      }
      if ((e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) == 0) {
        continue;
      }
      // One read per wake-up keeps the loop fair among connections.
      const ssize_t r = recv(c->fd, sink, sizeof sink, 0);
      if (r > 0) {
        if (c->head_len < sizeof c->head - 1) {
          size_t take = sizeof c->head - 1 - c->head_len;
          if (take > static_cast<size_t>(r)) {
            take = static_cast<size_t>(r);
          }
          std::memcpy(c->head + c->head_len, sink, take);
          c->head_len += static_cast<unsigned>(take);
          if (c->status == 0 && c->head_len >= 12) {
            c->status = std::atoi(c->head + 9);  // "HTTP/1.x NNN"
          }
        }
        c->bytes += static_cast<unsigned long long>(r);
        total_bytes += static_cast<unsigned long long>(r);
        if (c->st == St::kSent && c->status != 0) {
          --in_flight;
          if (c->status == 200) {
            c->st = St::kStreaming;
            ++streaming;
            if (!first_served && server_pid > 0) {
              rss_idle_kb = proc_status_kb(server_pid, "VmRSS");
            }
            first_served = true;
          } else {
            ++non200;
            close_client(c);
            ++closed;
          }
        }
        continue;
      }
      if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
        continue;
      }
      if (c->st == St::kSent) {
        --in_flight;
        ++refused;
      } else if (c->st == St::kStreaming) {
        --streaming;
        ++closed;
      }
      close_client(c);
    }

    const double t = now_s();
    if (server_pid > 0 && t >= next_sample) {
      next_sample = t + 0.25;
      const long rss = proc_status_kb(server_pid, "VmRSS");
      if (rss > rss_peak_kb) {
        rss_peak_kb = rss;
      }
    }
    if (t >= next_report) {
      std::fprintf(
          stderr, "mmsh_load: %5.1f s  streaming %zu  closed %zu  failed %zu  %.1f Mbit/s\n",
          t - t0, streaming, closed, refused + non200,
          static_cast<double>(total_bytes - last_report_bytes) * 8 / 1e6 / (t - t_last_report));
      t_last_report = t;
      last_report_bytes = total_bytes;
      next_report = t + 1;
    }
    if (phase == kRamp && opened == n && in_flight == 0) {
      phase = kWarm;
      t_all = t;
      std::fprintf(stderr, "mmsh_load: %zu streaming after %.1f s; warming up %.0f s\n", streaming,
                   t - t0, kWarmup);
    } else if (phase == kWarm && t >= t_all + kWarmup) {
      phase = kWindow;
      t_win = t;
      bytes_win0 = total_bytes;
      cpu_self0 = self_cpu_s();
      cpu_server0 = server_pid > 0 ? proc_cpu_s(server_pid) : 0;
    } else if (phase == kWindow && t >= t_win + seconds) {
      t_end = t;
      bytes_win1 = total_bytes;
      cpu_self1 = self_cpu_s();
      cpu_server1 = server_pid > 0 ? proc_cpu_s(server_pid) : 0;
      phase = kDone;
    }
    if (phase == kDone) {
      break;
    }
    if (phase == kRamp && t - t0 > 300) {
      std::fprintf(stderr, "mmsh_load: ramp-up did not finish in 300 s\n");
      return 1;
    }
  }

  const double win = t_end - t_win;
  const double mbit = static_cast<double>(bytes_win1 - bytes_win0) * 8 / 1e6 / win;
  std::printf(
      "clients=%zu streaming=%zu closed=%zu failed=%zu ramp_s=%.2f window_s=%.2f bytes=%llu "
      "mbit_s=%.3f self_cpu_pct=%.2f",
      n, streaming, closed, refused + non200, t_all - t0, win, bytes_win1 - bytes_win0, mbit,
      (cpu_self1 - cpu_self0) * 100 / win);
  if (server_pid > 0) {
    std::printf(" server_cpu_s=%.3f server_cpu_pct=%.2f rss_idle_kb=%ld rss_peak_kb=%ld hwm_kb=%ld",
                cpu_server1 - cpu_server0, (cpu_server1 - cpu_server0) * 100 / win, rss_idle_kb,
                rss_peak_kb, proc_status_kb(server_pid, "VmHWM"));
  }
  std::printf("\n");
  for (Client& c : clients) {
    close_client(&c);
  }
  close(g_ep);
  return 0;
}

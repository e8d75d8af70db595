// Reference server: file-backed ContentSource + io::Listener on a private thread.
#include "tools/server/server.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <glib.h>

#include "protocol/core/log.h"
#include "protocol/io/listener.h"
#include "protocol/mmsh/server_session.h"
#include "protocol/mmst/server_session.h"
#include "protocol/rtsp/server_session.h"
#include "tools/server/url_signing.h"

namespace mms::server {
namespace {

constexpr const char* kLog = "mms-server";
// Largest file served (it is held in memory, framed once more for the cache).
constexpr std::uint64_t kMaxContentBytes = 2ull * 1024 * 1024 * 1024 - 1;

// True for a relative path without "." / ".." components or backslashes.
bool safe_relative(std::string_view name) {
  if (name.empty() || name.front() == '/' || name.find('\\') != std::string_view::npos) {
    return false;
  }
  std::size_t start = 0;
  while (start <= name.size()) {
    const std::size_t slash = name.find('/', start);
    const std::string_view part = name.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part.empty() || part == "." || part == "..") {
      return false;
    }
    if (slash == std::string_view::npos) {
      break;
    }
    start = slash + 1;
  }
  return true;
}

// A read-only, pre-faulted mapping of a whole file.
struct MappedFile {
  void* data = MAP_FAILED;
  std::size_t size = 0;
  MappedFile() = default;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() {
    if (data != MAP_FAILED) {
      munmap(data, size);
    }
  }
};

Result<std::shared_ptr<const MappedFile>> map_file(const std::string& path) {
  if (!g_file_test(path.c_str(), G_FILE_TEST_IS_REGULAR)) {
    return Status(Code::kNotFound, "no such file");
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status(Code::kNotFound, "cannot open file");
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size <= 0) {
    ::close(fd);
    return Status(Code::kMalformed, "empty or unreadable file");
  }
  if (static_cast<std::uint64_t>(st.st_size) > kMaxContentBytes) {
    ::close(fd);
    return Status(Code::kLimitExceeded, "file too large to serve");
  }
  auto m = std::make_shared<MappedFile>();
  m->size = static_cast<std::size_t>(st.st_size);
  m->data = mmap(nullptr, m->size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  ::close(fd);
  if (m->data == MAP_FAILED) {
    return Status(Code::kLimitExceeded, "cannot map file");
  }
  return std::shared_ptr<const MappedFile>(std::move(m));
}

// Asks for transparent huge pages on the framed cache: building a 100 MB cache
// otherwise costs ~25,000 page faults.
void advise_huge_pages(void* data, std::size_t size) {
  const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto begin = (reinterpret_cast<std::uintptr_t>(data) + page - 1) & ~(page - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(data) + size) & ~(page - 1);
  if (end > begin) {
    madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
  }
}

class FileContentSource final : public server::ContentSource {
 public:
  FileContentSource(std::string root, std::map<std::string, std::string> live,
                    const std::map<std::string, std::unique_ptr<server::LiveFeed>>* feeds)
      : root_(std::move(root)), live_(std::move(live)), feeds_(feeds) {}

  Result<std::shared_ptr<const server::Content>> open(std::string_view path) override {
    std::string name;
    if (!url_decode(path, &name)) {
      return Status(Code::kNotFound, "bad path");
    }
    while (!name.empty() && name.front() == '/') {
      name.erase(0, 1);
    }
    // Publishing points: used on the server's thread only, like the sessions.
    if (auto f = feeds_->find(name); f != feeds_->end()) {
      std::shared_ptr<const server::Content> current = f->second->current();
      if (!current) {
        return Status(Code::kNotFound, "publishing point has no stream yet");
      }
      return current;
    }
    if (root_.empty()) {
      return Status(Code::kNotFound, "no such publishing point");
    }
    std::lock_guard<std::mutex> lock(mu_);
    auto cached = cache_.find(name);
    if (cached != cache_.end()) {
      return cached->second;
    }
    std::string file;
    bool live = false;
    auto l = live_.find(name);
    if (l != live_.end()) {
      live = true;
      file = l->second;
      if (!g_path_is_absolute(file.c_str())) {
        std::string under_root = root_ + "/" + file;
        if (g_file_test(under_root.c_str(), G_FILE_TEST_IS_REGULAR)) {
          file = std::move(under_root);
        }
      }
    } else {
      if (!safe_relative(name)) {
        MMS_LOG(LogLevel::kWarning, kLog, "rejected path '%.200s'", name.c_str());
        return Status(Code::kNotFound, "path outside the content root");
      }
      file = root_ + "/" + name;
    }
    auto mapped = map_file(file);
    if (!mapped.ok()) {
      return mapped.status();
    }
    const ByteView view(static_cast<const std::uint8_t*>((*mapped)->data), (*mapped)->size);
    auto content = server::Content::create(name, view, std::move(*mapped), live, advise_huge_pages);
    if (!content.ok()) {
      MMS_LOG(LogLevel::kWarning, kLog, "%s: not servable ASF: %s", file.c_str(),
              content.status().what());
      return content.status();
    }
    MMS_LOG(LogLevel::kInfo, kLog, "loaded %s%s: %u packets of %u bytes, %u ms", file.c_str(),
            live ? " (live)" : "", (*content)->packet_count(), (*content)->packet_size(),
            (*content)->duration_ms());
    cache_.emplace(name, *content);
    return content;
  }

 private:
  std::string root_;
  std::map<std::string, std::string> live_;
  const std::map<std::string, std::unique_ptr<server::LiveFeed>>* feeds_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const server::Content>> cache_;
};

// The access log: one line per ended session, W3C-like fields.
class AccessLog {
 public:
  ~AccessLog() { close(); }
  // Opens (appending) `path`; false when it cannot be opened.
  bool open(const std::string& path) {
    close();
    path_ = path;
    file_ = std::fopen(path.c_str(), "a");
    if (file_ == nullptr) {
      return false;
    }
    if (std::ftell(file_) == 0) {
      std::fputs(
          "#Software: mms-server\n"
          "#Fields: date-time c-ip cs-uri-stem x-transport sc-bytes x-duration sc-status\n",
          file_);
      std::fflush(file_);
    }
    return true;
  }
  bool reopen() { return open(path_); }
  void close() {
    if (file_ != nullptr) {
      std::fclose(file_);
      file_ = nullptr;
    }
  }
  void write(const io::ConnectionRecord& r) {
    if (file_ == nullptr || r.info.transport.empty()) {
      return;  // not a session: a connection that never said which protocol
    }
    GDateTime* now = g_date_time_new_now_utc();
    gchar* when = g_date_time_format(now, "%Y-%m-%dT%H:%M:%SZ");
    g_date_time_unref(now);
    // The path as one field: control bytes, spaces and non-ASCII %-escaped.
    std::string path;
    for (const char ch : r.info.path) {
      const auto b = static_cast<unsigned char>(ch);
      if (b <= 0x20 || b >= 0x7F) {
        char esc[4];
        std::snprintf(esc, sizeof esc, "%%%02X", b);
        path += esc;
      } else {
        path += ch;
      }
    }
    const std::string status = r.info.status > 0 ? std::to_string(r.info.status) : "-";
    std::fprintf(file_, "%s %s %s %s %llu %.3f %s\n", when,
                 r.client.empty() ? "-" : r.client.c_str(), path.empty() ? "-" : path.c_str(),
                 r.info.transport.c_str(), static_cast<unsigned long long>(r.bytes_sent),
                 static_cast<double>(r.duration) / static_cast<double>(kSecond), status.c_str());
    std::fflush(file_);
    g_free(when);
  }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

// A connection that holds one of the --max-clients places until its session
// is done (wants_close) or it is destroyed, whichever comes first.
class AdmittedConnection final : public io::Connection {
 public:
  AdmittedConnection(std::unique_ptr<io::Connection> inner, std::uint32_t* active)
      : inner_(std::move(inner)), active_(active) {
    ++*active_;
  }
  ~AdmittedConnection() override { release(); }
  Result<std::size_t> on_bytes(ByteView in, Instant now) override {
    return inner_->on_bytes(in, now);
  }
  void on_eof(Instant now) override { inner_->on_eof(now); }
  void on_timeout(Instant now) override { inner_->on_timeout(now); }
  std::optional<Instant> next_deadline() const override { return inner_->next_deadline(); }
  ByteView next_output(Instant now) override { return inner_->next_output(now); }
  void consume_output(std::size_t n) override { inner_->consume_output(n); }
  bool wants_close() const override {
    const bool done = inner_->wants_close();
    if (done) {
      release();  // a lingering close does not keep the place
    }
    return done;
  }
  std::uint16_t datagram_port() const override { return inner_->datagram_port(); }
  ByteView next_datagram(Instant now) override { return inner_->next_datagram(now); }
  void consume_datagram() override { inner_->consume_datagram(); }
  std::size_t next_datagrams(Instant now, ByteView* out, std::size_t max) override {
    return inner_->next_datagrams(now, out, max);
  }
  void consume_datagrams(std::size_t n) override { inner_->consume_datagrams(n); }
  void on_datagram(ByteView d, Instant now) override { inner_->on_datagram(d, now); }
  const char* protocol() const override { return inner_->protocol(); }
  io::ConnectionInfo info() const override { return inner_->info(); }

 private:
  void release() const {
    if (!released_) {
      released_ = true;
      --*active_;
    }
  }
  std::unique_ptr<io::Connection> inner_;
  std::uint32_t* active_;
  mutable bool released_ = false;
};

gboolean quit_loop(gpointer loop) noexcept {
  g_main_loop_quit(static_cast<GMainLoop*>(loop));
  return G_SOURCE_REMOVE;
}

}  // namespace

// One feed call waiting for the server's thread.
struct FeedItem {
  enum class Kind : std::uint8_t { kHeader, kPacket, kEnd };
  Kind kind = Kind::kPacket;
  std::string name;
  std::vector<std::uint8_t> bytes;
};

struct Server::Impl {
  ServerOptions options;
  std::map<std::string, std::unique_ptr<server::LiveFeed>> feeds;  // server thread only
  std::vector<std::unique_ptr<io::Listener>> listeners;            // server thread only
  // Feed items handed over by other threads, taken by one idle source.
  std::mutex feed_mu;
  std::deque<FeedItem> feed_queue;
  std::size_t feed_backlog = 0;  // bytes in feed_queue
  bool feed_scheduled = false;
  // Counters (ServerStats).
  std::atomic<std::uint32_t> open_connections{0};
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> closed_bytes{0};
  std::atomic<std::uint64_t> open_bytes{0};
  bool stopping = false;  // server thread: the listeners are being destroyed

  Status post_feed(FeedItem item);
  void drain_feeds();
  void refresh_open_bytes();
  std::unique_ptr<FileContentSource> source;
  mmsh::ServerConfig config;
  mmst::ServerConfig mms_config;
  rtsp::ServerConfig rtsp_config;
  io::ProtocolFactories factories;
  std::uint16_t mms_port = 0;
  std::uint16_t rtsp_port = 0;
  std::thread thread;
  GMainContext* context = nullptr;
  GMainLoop* loop = nullptr;
  std::uint16_t port = 0;
  AccessLog access_log;
  std::uint32_t active = 0;  // sessions holding a --max-clients place

  // Wraps a new session's connection: admitted (counted) while there is a
  // place, else the session is told it is busy first.
  template <typename Session>
  std::unique_ptr<io::Connection> admit(std::unique_ptr<Session> s) {
    if (options.max_clients == 0) {
      return std::unique_ptr<io::Connection>(std::move(s));
    }
    if (active >= options.max_clients) {
      MMS_LOG(LogLevel::kInfo, kLog, "%u sessions: refusing a new one (--max-clients)", active);
      s->set_busy();
      return std::unique_ptr<io::Connection>(std::move(s));
    }
    return std::make_unique<AdmittedConnection>(std::move(s), &active);
  }

  std::mutex mu;
  std::condition_variable cv;
  bool ready = false;
  Status start_status;

  void run();
};

namespace {
gboolean drain_feeds_cb(gpointer data) noexcept {
  static_cast<Server::Impl*>(data)->drain_feeds();
  return G_SOURCE_REMOVE;
}
}  // namespace

Status Server::Impl::post_feed(FeedItem item) {
  if (options.feeds.count(item.name) == 0) {
    return Status(Code::kNotFound, "no such publishing point");
  }
  std::lock_guard<std::mutex> lock(feed_mu);
  if (feed_backlog + item.bytes.size() > kMaxFeedBacklog) {
    return Status(Code::kLimitExceeded, "the server does not keep up with the feed");
  }
  feed_backlog += item.bytes.size();
  feed_queue.push_back(std::move(item));
  if (!feed_scheduled) {
    feed_scheduled = true;
    GSource* s = g_idle_source_new();
    g_source_set_priority(s, G_PRIORITY_DEFAULT);
    g_source_set_callback(s, drain_feeds_cb, this, nullptr);
    g_source_attach(s, context);
    g_source_unref(s);
  }
  return Status::Ok();
}

void Server::Impl::drain_feeds() {
  std::deque<FeedItem> items;
  {
    std::lock_guard<std::mutex> lock(feed_mu);
    items.swap(feed_queue);
    feed_backlog = 0;
    feed_scheduled = false;
  }
  for (FeedItem& item : items) {
    auto f = feeds.find(item.name);
    if (f == feeds.end()) {
      continue;
    }
    Status st;
    switch (item.kind) {
      case FeedItem::Kind::kHeader:
        st = f->second->header(ByteView(item.bytes));
        if (st.ok()) {
          MMS_LOG(LogLevel::kInfo, kLog, "publishing point %s: header %u (%zu bytes)",
                  item.name.c_str(), f->second->headers(), item.bytes.size());
        }
        break;
      case FeedItem::Kind::kPacket:
        st = f->second->packet(ByteView(item.bytes));
        break;
      case FeedItem::Kind::kEnd:
        f->second->finish();
        MMS_LOG(LogLevel::kInfo, kLog, "publishing point %s: end of stream after %llu packets",
                item.name.c_str(), static_cast<unsigned long long>(f->second->packets()));
        break;
    }
    if (!st.ok()) {
      MMS_LOG(LogLevel::kWarning, kLog, "publishing point %s: %s", item.name.c_str(), st.what());
    }
  }
  for (const auto& l : listeners) {
    l->wake();
  }
  refresh_open_bytes();
}

void Server::Impl::refresh_open_bytes() {
  std::uint64_t sum = 0;
  for (const auto& l : listeners) {
    sum += l->open_bytes_sent();
  }
  open_bytes.store(sum);
}

void Server::Impl::run() {
  g_main_context_push_thread_default(context);
  Status st;
  const auto refused = [this](const char* name) { return options.refuse.count(name) != 0; };
  const io::ConnectionFactory mmsh_factory = [this](Instant now) {
    return admit(std::make_unique<mmsh::ServerSession>(&config, g_random_int(), now));
  };
  const io::ConnectionFactory mms_factory = [this](Instant now) {
    const std::uint64_t seed = (static_cast<std::uint64_t>(g_random_int()) << 32) | g_random_int();
    return admit(std::make_unique<mmst::ServerSession>(&mms_config, g_random_int(), now, seed));
  };
  const io::ConnectionFactory rtsp_factory = [this](Instant now) {
    return admit(std::make_unique<rtsp::ServerSession>(&rtsp_config, g_random_int(), now));
  };
  // UDP data: loss simulation and the silent "refuse" faults, per protocol.
  io::UdpOptions udp;
  udp.enabled = true;
  {
    const bool silent_mms = refused("mmsu");
    const bool silent_rtsp = refused("rtspu");
    const std::uint32_t loss = options.udp_loss_percent;
    if (silent_mms || silent_rtsp || loss > 0) {
      udp.drop = [silent_mms, silent_rtsp, loss](const io::Connection& from) {
        const std::string_view proto = from.protocol();
        if ((silent_mms && proto == "mms") || (silent_rtsp && proto == "rtsp")) {
          return true;
        }
        return loss > 0 && static_cast<std::uint32_t>(g_random_int_range(0, 100)) < loss;
      };
    }
  }
  // RTSP announces port + 1 as its RTCP port: receiver reports arrive there.
  io::UdpOptions udp_rtcp = udp;
  udp_rtcp.rtcp = true;
  const auto listen = [&](std::uint16_t at, io::ConnectionFactory factory, bool with_udp,
                          std::uint16_t* bound, const io::UdpOptions& udp_options) {
    if (!st.ok()) {
      return;
    }
    auto l = with_udp ? io::Listener::create(context, options.bind_address, at, std::move(factory),
                                             udp_options)
                      : io::Listener::create(context, options.bind_address, at, std::move(factory));
    if (!l.ok()) {
      st = l.status();
      return;
    }
    *bound = (*l)->port();
    (*l)->set_close_hook([this](const io::ConnectionRecord& r) {
      if (!options.access_log.empty()) {
        access_log.write(r);
      }
      // The event first: whoever waits for the count to drop (mmssink at EOS)
      // has seen it by then.
      if (options.on_event) {
        ServerEvent e;
        e.client = r.client;
        e.path = r.info.path;
        e.transport = r.info.transport;
        e.status = r.info.status;
        e.bytes_sent = r.bytes_sent;
        e.duration = r.duration;
        options.on_event(e);
      }
      closed_bytes.fetch_add(r.bytes_sent);
      open_connections.fetch_sub(1);
      if (!stopping) {
        refresh_open_bytes();
      }
    });
    (*l)->set_accept_hook([this](const std::string& client) {
      open_connections.fetch_add(1);
      accepted.fetch_add(1);
      if (options.on_event) {
        ServerEvent e;
        e.connected = true;
        e.client = client;
        options.on_event(e);
      }
    });
    listeners.push_back(std::move(*l));
  };
  std::uint16_t mmsh_bound = 0;
  std::uint16_t mms_bound = 0;
  std::uint16_t rtsp_bound = 0;
  if (options.single_port) {
    if (!refused("mmsh")) {
      factories.mmsh = mmsh_factory;
    }
    if (!refused("mms")) {
      factories.mms = mms_factory;
    }
    if (!refused("rtsp")) {
      factories.rtsp = rtsp_factory;
    }
    std::uint16_t bound = 0;
    listen(
        options.port, [this](Instant now) { return io::make_demux_connection(&factories, now); },
        true, &bound, udp_rtcp);
    mmsh_bound = factories.mmsh ? bound : 0;
    mms_bound = factories.mms ? bound : 0;
    rtsp_bound = factories.rtsp ? bound : 0;
    rtsp_config.udp_port = bound;
  } else {
    if (!refused("mmsh")) {
      listen(options.mmsh_port, mmsh_factory, false, &mmsh_bound, udp);
    }
    if (!refused("mms")) {
      listen(options.mms_port, mms_factory, true, &mms_bound, udp);
    }
    if (!refused("rtsp")) {
      listen(options.rtsp_port, rtsp_factory, true, &rtsp_bound, udp_rtcp);
    }
    rtsp_config.udp_port = rtsp_bound;
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    start_status = st;
    if (st.ok()) {
      port = mmsh_bound;
      mms_port = mms_bound;
      rtsp_port = rtsp_bound;
    }
    ready = true;
  }
  cv.notify_all();
  if (st.ok()) {
    g_main_loop_run(loop);
  }
  stopping = true;
  listeners.clear();  // close every connection on this thread
  g_main_context_pop_thread_default(context);
}

Server::Server() = default;
Server::~Server() {
  stop();
}

Status Server::start(const ServerOptions& options) {
  if (impl_) {
    return Status(Code::kLocalMisuse, "server already started");
  }
  if (!(options.root.empty() && !options.feeds.empty()) &&
      !g_file_test(options.root.c_str(), G_FILE_TEST_IS_DIR)) {
    return Status(Code::kNotFound, "content root is not a directory");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  if (!options.access_log.empty() && !impl->access_log.open(options.access_log)) {
    return Status(Code::kRefused, "cannot open the access log");
  }
  for (const std::string& name : options.feeds) {
    impl->feeds.emplace(name, std::make_unique<server::LiveFeed>(name, options.feed_limits));
  }
  impl->source = std::make_unique<FileContentSource>(options.root, options.live, &impl->feeds);
  impl->config.content = impl->source.get();
  impl->config.fast = options.fast;
  impl->config.keep_padding = options.keep_padding;
  impl->config.auth.user = options.auth_user;
  impl->config.auth.password = options.auth_password;
  impl->config.auth.schemes = options.auth_schemes;
  // MMSH answers each request on its own connection: one Digest nonce for all.
  impl->config.auth.nonce = std::to_string(g_random_int()) + std::to_string(g_random_int());
  impl->config.redirects = options.redirects;
  impl->config.playlists = options.playlists;
  impl->config.fault = options.fault;
  impl->config.live_epoch = io::monotonic_now();
  impl->mms_config.content = impl->source.get();
  impl->mms_config.fast = options.fast;
  impl->mms_config.keep_padding = options.keep_padding;
  impl->mms_config.auth.user = options.auth_user;
  impl->mms_config.auth.password = options.auth_password;
  impl->mms_config.auth.schemes = options.auth_schemes;
  impl->mms_config.redirects = options.redirects;
  impl->mms_config.playlists = options.playlists;
  impl->mms_config.close_after_packets = options.close_after_packets;
  if (options.mms_keepalive_ms != 0) {
    impl->mms_config.keepalive = options.mms_keepalive_ms * kMillisecond;
  }
  if (options.idle_timeout_ms != 0) {
    impl->mms_config.idle_timeout = options.idle_timeout_ms * kMillisecond;
    impl->config.idle_timeout = impl->mms_config.idle_timeout;
    impl->rtsp_config.session_timeout = impl->mms_config.idle_timeout;
  }
  impl->mms_config.live_epoch = impl->config.live_epoch;
  impl->config.fast_start_factor = options.fast_start_factor;
  impl->config.packet_pair = options.packet_pair;
  impl->mms_config.packet_pair = options.packet_pair;
  impl->mms_config.fast_start_factor = options.fast_start_factor;
  impl->rtsp_config.fast_start_factor = options.fast_start_factor;
  impl->rtsp_config.content = impl->source.get();
  impl->rtsp_config.fast = options.fast;
  impl->rtsp_config.keep_padding = options.keep_padding;
  impl->rtsp_config.auth.user = options.auth_user;
  impl->rtsp_config.auth.password = options.auth_password;
  impl->rtsp_config.auth.schemes = options.auth_schemes;
  impl->rtsp_config.redirects = options.redirects;
  impl->rtsp_config.playlists = options.playlists;
  impl->rtsp_config.close_after_packets = options.close_after_packets;
  impl->rtsp_config.live_epoch = impl->config.live_epoch;
  if (!options.url_key.empty()) {
    const std::string key = options.url_key;
    const AuthorizeHook check = [key](std::string_view path_and_query) {
      const UrlCheck c = check_signed_url(path_and_query, key, g_get_real_time() / G_USEC_PER_SEC);
      if (c != UrlCheck::kOk) {
        MMS_LOG(LogLevel::kInfo, kLog, "signed URL refused (%s): %.200s", to_string(c),
                std::string(path_and_query).c_str());
      }
      return c == UrlCheck::kOk;
    };
    impl->config.authorize = check;
    impl->mms_config.authorize = check;
    impl->rtsp_config.authorize = check;
  }
  impl->context = g_main_context_new();
  impl->loop = g_main_loop_new(impl->context, FALSE);
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->run(); });
  {
    std::unique_lock<std::mutex> lock(raw->mu);
    raw->cv.wait(lock, [raw] { return raw->ready; });
  }
  impl_ = std::move(impl);
  if (!impl_->start_status.ok()) {
    const Status st = impl_->start_status;
    stop();
    return st;
  }
  return Status::Ok();
}

std::uint16_t Server::mmsh_port() const {
  return impl_ ? impl_->port : 0;
}

std::uint16_t Server::mms_port() const {
  return impl_ ? impl_->mms_port : 0;
}

std::uint16_t Server::rtsp_port() const {
  return impl_ ? impl_->rtsp_port : 0;
}

namespace {
gboolean reopen_log(gpointer data) noexcept {
  auto* log = static_cast<AccessLog*>(data);
  if (!log->reopen()) {
    MMS_LOG(LogLevel::kError, kLog, "cannot reopen the access log");
  }
  return G_SOURCE_REMOVE;
}
}  // namespace

Status Server::feed_header(const std::string& name, ByteView header) {
  if (!impl_) {
    return Status(Code::kLocalMisuse, "server not started");
  }
  return impl_->post_feed(FeedItem{FeedItem::Kind::kHeader, name, {header.begin(), header.end()}});
}

Status Server::feed_packet(const std::string& name, ByteView packet) {
  if (!impl_) {
    return Status(Code::kLocalMisuse, "server not started");
  }
  return impl_->post_feed(FeedItem{FeedItem::Kind::kPacket, name, {packet.begin(), packet.end()}});
}

Status Server::feed_end(const std::string& name) {
  if (!impl_) {
    return Status(Code::kLocalMisuse, "server not started");
  }
  return impl_->post_feed(FeedItem{FeedItem::Kind::kEnd, name, {}});
}

ServerStats Server::stats() const {
  ServerStats s;
  if (impl_) {
    s.clients = impl_->open_connections.load();
    s.connections = impl_->accepted.load();
    s.bytes_sent = impl_->closed_bytes.load() + impl_->open_bytes.load();
  }
  return s;
}

void Server::reopen_access_log() {
  if (!impl_) {
    return;
  }
  GSource* s = g_idle_source_new();
  g_source_set_callback(s, reopen_log, &impl_->access_log, nullptr);
  g_source_attach(s, impl_->context);
  g_source_unref(s);
}

void Server::stop() {
  if (!impl_) {
    return;
  }
  // Quit from inside the loop, so a stop() right after start() cannot race g_main_loop_run.
  GSource* quit = g_idle_source_new();
  g_source_set_callback(quit, quit_loop, impl_->loop, nullptr);
  g_source_attach(quit, impl_->context);
  g_source_unref(quit);
  if (impl_->thread.joinable()) {
    impl_->thread.join();
  }
  g_main_loop_unref(impl_->loop);
  g_main_context_unref(impl_->context);
  impl_.reset();
}

}  // namespace mms::server

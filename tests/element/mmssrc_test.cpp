// mmssrc element tests: properties, URI handler, error messages and their
// details, unlocking and queries. GstHarness inside GoogleTest; the plugin is
// loaded from the build tree. Servers are tiny loopback TCP responders; every
// wait is bounded.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gst/base/gstbasesrc.h>
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

namespace {

using Clock = std::chrono::steady_clock;

// --- a tiny loopback server ---------------------------------------------------

// Accepts connections on 127.0.0.1:<port> in a thread. For each connection it
// reads the request head (bounded), then writes `response` and closes, or, when
// `stall` is set, keeps the connection open without answering until stopped.
class TinyServer {
 public:
  explicit TinyServer(std::string response, bool stall = false)
      : response_(std::move(response)), stall_(stall) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd_, 8) != 0) {
      ADD_FAILURE() << "cannot listen: " << std::strerror(errno);
    }
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    if (pipe(stop_pipe_) != 0) {
      ADD_FAILURE() << "pipe";
    }
    thread_ = std::thread([this] { run(); });
  }
  ~TinyServer() {
    stop_.store(true);
    char c = 'x';
    (void)!write(stop_pipe_[1], &c, 1);
    thread_.join();
    close(fd_);
    close(stop_pipe_[0]);
    close(stop_pipe_[1]);
  }
  TinyServer(const TinyServer&) = delete;
  TinyServer& operator=(const TinyServer&) = delete;

  std::uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }
  std::string first_request() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_.empty() ? std::string() : requests_.front();
  }
  // Waits (bounded) until a connection was accepted and its request read.
  bool wait_for_request(std::chrono::milliseconds limit) {
    auto end = Clock::now() + limit;
    while (Clock::now() < end) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (!requests_.empty()) {
          return true;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

 private:
  // Waits until fd is readable or the server stops; false when stopping or after 20 s.
  bool wait_readable(int fd) {
    pollfd p[2] = {{fd, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    int r = poll(p, 2, 20000);
    return r > 0 && (p[1].revents & POLLIN) == 0 && (p[0].revents & (POLLIN | POLLHUP)) != 0;
  }

  void run() {
    std::vector<int> held;
    while (!stop_.load()) {
      if (!wait_readable(fd_)) {
        break;
      }
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) {
        continue;
      }
      accepted_.fetch_add(1);
      std::string req;
      char buf[4096];
      while (req.find("\r\n\r\n") == std::string::npos && req.size() < 65536) {
        if (!wait_readable(c)) {
          break;
        }
        ssize_t n = read(c, buf, sizeof buf);
        if (n <= 0) {
          break;
        }
        req.append(buf, static_cast<std::size_t>(n));
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(req);
      }
      if (stall_) {
        held.push_back(c);
        continue;
      }
      std::size_t off = 0;
      while (off < response_.size()) {
        ssize_t n = send(c, response_.data() + off, response_.size() - off, MSG_NOSIGNAL);
        if (n <= 0) {
          break;
        }
        off += static_cast<std::size_t>(n);
      }
      shutdown(c, SHUT_WR);
      close(c);
    }
    for (int c : held) {
      close(c);
    }
  }

  std::string response_;
  bool stall_ = false;
  int fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::mutex mu_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

// A loopback port with nothing listening on it.
std::uint16_t closed_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

std::string url_for(std::uint16_t port, const char* path = "/clip.asf") {
  return "mmsh://127.0.0.1:" + std::to_string(port) + path;
}

// --- fixtures --------------------------------------------------------------------

class MmsSrcTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (h_ != nullptr) {
      gst_element_set_state(h_->element, GST_STATE_NULL);
      gst_harness_teardown(h_);
    }
    if (bus_ != nullptr) {
      gst_object_unref(bus_);
    }
  }
  // A harness around a fresh mmssrc, with a bus so its messages can be read.
  GstElement* make(const std::string& location = std::string()) {
    h_ = gst_harness_new("mmssrc");
    EXPECT_NE(h_, nullptr);
    bus_ = gst_bus_new();
    gst_element_set_bus(h_->element, bus_);
    if (!location.empty()) {
      g_object_set(h_->element, "location", location.c_str(), nullptr);
    }
    return h_->element;
  }
  // Starts streaming and waits (bounded) for an ERROR; the caller unrefs it.
  GstMessage* play_until_error(guint64 limit_s = 10) {
    gst_harness_play(h_);
    return gst_bus_timed_pop_filtered(bus_, limit_s * GST_SECOND, GST_MESSAGE_ERROR);
  }

  GstHarness* h_ = nullptr;
  GstBus* bus_ = nullptr;
};

struct ParsedError {
  bool ok = false;
  GQuark domain = 0;
  int code = 0;
  std::string message;
  std::string debug;
  std::string uri, transport, mms_code;
  guint detail = 0;
  bool has_attempts = false;
};

ParsedError parse_error(GstMessage* msg) {
  ParsedError p;
  if (msg == nullptr) {
    return p;
  }
  GError* err = nullptr;
  gchar* debug = nullptr;
  gst_message_parse_error(msg, &err, &debug);
  p.ok = true;
  p.domain = err->domain;
  p.code = err->code;
  p.message = err->message;
  p.debug = debug != nullptr ? debug : "";
  g_error_free(err);
  g_free(debug);
  const GstStructure* details = nullptr;
  gst_message_parse_error_details(msg, &details);
  if (details != nullptr) {
    if (const char* v = gst_structure_get_string(details, "uri")) {
      p.uri = v;
    }
    if (const char* v = gst_structure_get_string(details, "mms-transport")) {
      p.transport = v;
    }
    if (const char* v = gst_structure_get_string(details, "mms-code")) {
      p.mms_code = v;
    }
    gst_structure_get_uint(details, "mms-detail", &p.detail);
    p.has_attempts = gst_structure_has_field(details, "mms-attempts");
  }
  gst_message_unref(msg);
  return p;
}

// --- properties ------------------------------------------------------------------

TEST_F(MmsSrcTest, PropertyDefaults) {
  GstElement* src = make();
  gchar* location = nullptr;
  guint64 speed = 1;
  guint timeout = 0;
  gchar* ua = nullptr;
  gchar* user = nullptr;
  gchar* pw = nullptr;
  gchar* proxy = nullptr;
  gboolean live = TRUE;
  g_object_get(src, "location", &location, "connection-speed", &speed, "timeout", &timeout,
               "user-agent", &ua, "user-id", &user, "user-pw", &pw, "proxy", &proxy, "is-live",
               &live, nullptr);
  EXPECT_EQ(location, nullptr);
  EXPECT_EQ(speed, 0u);
  EXPECT_EQ(timeout, 15u);
  ASSERT_NE(ua, nullptr);
  EXPECT_EQ(std::string(ua).rfind("NSPlayer/", 0), 0u) << ua;
  EXPECT_EQ(user, nullptr);
  EXPECT_EQ(pw, nullptr);
  EXPECT_EQ(proxy, nullptr);
  EXPECT_FALSE(live);
  g_free(location);
  g_free(ua);
  g_free(user);
  g_free(pw);
  g_free(proxy);
}

TEST_F(MmsSrcTest, PropertyRoundTrips) {
  GstElement* src = make();
  g_object_set(src, "location", "mmsh://example.com:8080/a.asf", "connection-speed",
               G_GUINT64_CONSTANT(512), "timeout", 3u, "user-agent", "NSPlayer/9.0.0.2980",
               "user-id", "alice", "user-pw", "s3cret", "proxy", "proxy.example:3128", "is-live",
               TRUE, nullptr);
  gchar* location = nullptr;
  guint64 speed = 0;
  guint timeout = 0;
  gchar* ua = nullptr;
  gchar* user = nullptr;
  gchar* pw = nullptr;
  gchar* proxy = nullptr;
  gboolean live = FALSE;
  g_object_get(src, "location", &location, "connection-speed", &speed, "timeout", &timeout,
               "user-agent", &ua, "user-id", &user, "user-pw", &pw, "proxy", &proxy, "is-live",
               &live, nullptr);
  EXPECT_STREQ(location, "mmsh://example.com:8080/a.asf");
  EXPECT_EQ(speed, 512u);
  EXPECT_EQ(timeout, 3u);
  EXPECT_STREQ(ua, "NSPlayer/9.0.0.2980");
  EXPECT_STREQ(user, "alice");
  EXPECT_STREQ(pw, "s3cret");
  EXPECT_STREQ(proxy, "proxy.example:3128");
  EXPECT_TRUE(live);
  EXPECT_TRUE(gst_base_src_is_live(GST_BASE_SRC(src)));
  g_free(location);
  g_free(ua);
  g_free(user);
  g_free(pw);
  g_free(proxy);
  // Clearing strings.
  g_object_set(src, "user-id", nullptr, "location", nullptr, nullptr);
  g_object_get(src, "user-id", &user, "location", &location, nullptr);
  EXPECT_EQ(user, nullptr);
  EXPECT_EQ(location, nullptr);
}

TEST_F(MmsSrcTest, LocationIsMutableInReadyOnly) {
  GstElement* src = make();
  GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(src), "location");
  ASSERT_NE(spec, nullptr);
  EXPECT_NE(spec->flags & GST_PARAM_MUTABLE_READY, 0u);
  EXPECT_NE(spec->flags & G_PARAM_READWRITE, 0u);
}

TEST_F(MmsSrcTest, InvalidLocationPropertyIsIgnored) {
  GstElement* src = make("mmsh://example.com/good.asf");
  g_object_set(src, "location", "ftp://example.com/x", nullptr);
  gchar* location = nullptr;
  g_object_get(src, "location", &location, nullptr);
  EXPECT_STREQ(location, "mmsh://example.com/good.asf");
  g_free(location);
}

TEST_F(MmsSrcTest, RtspLocationsAreAcceptedByThePropertyButNotClaimedAsUris) {
  // rtsp://, rtspu:// and rtspt:// pin RTSP through the location property, but
  // the URI handler leaves them to rtspsrc (playbin keeps choosing it).
  GstElement* src = make("mmsh://example.com/good.asf");
  // http:// likewise (MMSH to a Windows Media server): souphttpsrc keeps it.
  for (const char* u : {"rtsp://example.com/x.wmv", "rtspu://example.com/x.wmv",
                        "rtspt://example.com/x.wmv", "http://example.com/x.asx"}) {
    g_object_set(src, "location", u, nullptr);
    gchar* location = nullptr;
    g_object_get(src, "location", &location, nullptr);
    EXPECT_STREQ(location, u);
    g_free(location);
    GError* err = nullptr;
    EXPECT_FALSE(gst_uri_handler_set_uri(GST_URI_HANDLER(src), u, &err)) << u;
    g_clear_error(&err);
  }
  const gchar* const* protocols = gst_uri_handler_get_protocols(GST_URI_HANDLER(src));
  for (const gchar* const* p = protocols; *p != nullptr; ++p) {
    EXPECT_EQ(g_str_has_prefix(*p, "rtsp") || g_str_has_prefix(*p, "http"), FALSE) << *p;
  }
}

TEST_F(MmsSrcTest, TransportPropertyIsReadOnlyAndEmptyBeforeStart) {
  GstElement* src = make("mms://example.com/x.wmv");
  GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(src), "transport");
  ASSERT_NE(spec, nullptr);
  EXPECT_TRUE((spec->flags & G_PARAM_READABLE) != 0);
  EXPECT_FALSE((spec->flags & G_PARAM_WRITABLE) != 0);
  gchar* transport = nullptr;
  g_object_get(src, "transport", &transport, nullptr);
  EXPECT_EQ(transport, nullptr);
  g_free(transport);
  gchar* protocols = nullptr;
  g_object_get(src, "protocols", &protocols, nullptr);
  EXPECT_STREQ(protocols, "rtspu,rtspt,mmsu,mmst,mmsh");
  g_free(protocols);
}

// --- URI handler ------------------------------------------------------------------

TEST_F(MmsSrcTest, UriHandlerProtocols) {
  GstElement* src = make();
  ASSERT_TRUE(GST_IS_URI_HANDLER(src));
  EXPECT_EQ(gst_uri_handler_get_uri_type(GST_URI_HANDLER(src)), GST_URI_SRC);
  const gchar* const* protocols = gst_uri_handler_get_protocols(GST_URI_HANDLER(src));
  ASSERT_NE(protocols, nullptr);
  std::vector<std::string> got;
  for (const gchar* const* p = protocols; *p != nullptr; ++p) {
    got.emplace_back(*p);
  }
  EXPECT_EQ(got, (std::vector<std::string>{"mms", "mmsh", "mmst", "mmsu"}));
}

TEST_F(MmsSrcTest, UriRoundTrip) {
  GstElement* src = make();
  for (const char* uri : {"mmsh://example.com:8080/clips/a.asf", "mms://example.com/live",
                          "mmsh://user:pw@example.com/secret.wmv"}) {
    GError* err = nullptr;
    EXPECT_TRUE(gst_uri_handler_set_uri(GST_URI_HANDLER(src), uri, &err)) << uri;
    EXPECT_EQ(err, nullptr);
    g_clear_error(&err);
    gchar* back = gst_uri_handler_get_uri(GST_URI_HANDLER(src));
    EXPECT_STREQ(back, uri);
    g_free(back);
    gchar* location = nullptr;
    g_object_get(src, "location", &location, nullptr);
    EXPECT_STREQ(location, uri);
    g_free(location);
  }
}

TEST_F(MmsSrcTest, UriOtherSchemesAreUnsupported) {
  GstElement* src = make("mmsh://example.com/keep.asf");
  for (const char* uri : {"rtsp://example.com/a.asf", "http://example.com/a.asf"}) {
    GError* err = nullptr;
    EXPECT_FALSE(gst_uri_handler_set_uri(GST_URI_HANDLER(src), uri, &err)) << uri;
    ASSERT_NE(err, nullptr) << uri;
    EXPECT_TRUE(g_error_matches(err, GST_URI_ERROR, GST_URI_ERROR_UNSUPPORTED_PROTOCOL))
        << uri << ": " << err->message;
    g_clear_error(&err);
  }
  gchar* back = gst_uri_handler_get_uri(GST_URI_HANDLER(src));
  EXPECT_STREQ(back, "mmsh://example.com/keep.asf");
  g_free(back);
}

TEST_F(MmsSrcTest, UriGarbageIsBadUri) {
  GstElement* src = make();
  for (const char* uri : {"mmsh://", "mmsh://exa mple.com/a", "mmsh://host:99999/a"}) {
    GError* err = nullptr;
    EXPECT_FALSE(gst_uri_handler_set_uri(GST_URI_HANDLER(src), uri, &err)) << uri;
    ASSERT_NE(err, nullptr) << uri;
    EXPECT_TRUE(g_error_matches(err, GST_URI_ERROR, GST_URI_ERROR_BAD_URI))
        << uri << ": " << err->message;
    g_clear_error(&err);
  }
}

TEST(MmsSrcUri, MakeFromUriCreatesMmssrc) {
  for (const char* uri : {"mmsh://example.com/a.asf", "mms://example.com/a.asf"}) {
    GError* err = nullptr;
    GstElement* el = gst_element_make_from_uri(GST_URI_SRC, uri, nullptr, &err);
    ASSERT_NE(el, nullptr) << uri << ": " << (err != nullptr ? err->message : "");
    GstElementFactory* f = gst_element_get_factory(el);
    EXPECT_STREQ(GST_OBJECT_NAME(f), "mmssrc");
    gchar* location = nullptr;
    g_object_get(el, "location", &location, nullptr);
    EXPECT_STREQ(location, uri);
    g_free(location);
    gst_object_unref(el);
  }
}

// --- queries before the header ---------------------------------------------------

TEST_F(MmsSrcTest, QueriesBeforeHeader) {
  GstElement* src = make("mmsh://example.com/a.asf");
  GstQuery* q = gst_query_new_seeking(GST_FORMAT_TIME);
  ASSERT_TRUE(gst_element_query(src, q));
  gboolean seekable = TRUE;
  gst_query_parse_seeking(q, nullptr, &seekable, nullptr, nullptr);
  EXPECT_FALSE(seekable);
  gst_query_unref(q);
  gint64 dur = 0;
  EXPECT_FALSE(gst_element_query_duration(src, GST_FORMAT_TIME, &dur));
  GstQuery* uq = gst_query_new_uri();
  ASSERT_TRUE(gst_element_query(src, uq));
  gchar* uri = nullptr;
  gst_query_parse_uri(uq, &uri);
  EXPECT_STREQ(uri, "mmsh://example.com/a.asf");
  g_free(uri);
  gst_query_unref(uq);
}

TEST_F(MmsSrcTest, QueriesWhileWaitingForTheHeader) {
  TinyServer server("", /*stall=*/true);
  GstElement* src = make(url_for(server.port()));
  gst_harness_play(h_);
  ASSERT_TRUE(server.wait_for_request(std::chrono::seconds(10)));
  GstQuery* q = gst_query_new_seeking(GST_FORMAT_TIME);
  ASSERT_TRUE(gst_element_query(src, q));
  gboolean seekable = TRUE;
  gst_query_parse_seeking(q, nullptr, &seekable, nullptr, nullptr);
  EXPECT_FALSE(seekable);
  gst_query_unref(q);
  gint64 dur = 0;
  EXPECT_FALSE(gst_element_query_duration(src, GST_FORMAT_TIME, &dur));
  // The request the element sent is a Describe.
  std::string req = server.first_request();
  EXPECT_EQ(req.rfind("GET /clip.asf HTTP/1.0\r\n", 0), 0u) << req;
  EXPECT_NE(req.find("User-Agent: NSPlayer/"), std::string::npos);
  EXPECT_EQ(req.find("xPlayStrm"), std::string::npos);
}

// Queries and property reads from another thread while the element goes
// NULL -> PLAYING -> NULL again and again: stop() drops the Driver while a
// query may be using it (docs/architecture.md, "Threads"). Under the
// sanitizer builds a query touching a destroyed Driver is a reported error;
// here every query must be answered or refused cleanly and every state change
// must succeed.
TEST_F(MmsSrcTest, QueriesRaceStartAndStop) {
  TinyServer server("", /*stall=*/true);
  const std::string url = url_for(server.port());
  GstElement* src = make(url);
  g_object_set(src, "timeout", 0u, nullptr);  // only stop() ends a cycle
  std::atomic<bool> quit{false};
  std::atomic<int> rounds{0};  // query rounds completed
  std::atomic<int> wrong{0};   // answers that contradict the state of the source
  std::string bad;             // the first wrong answer (written by the query thread only)
  std::thread hammer([&] {
    while (!quit.load()) {
      GstQuery* q = gst_query_new_seeking(GST_FORMAT_TIME);
      gboolean seekable = TRUE;
      if (!gst_element_query(src, q)) {
        bad = bad.empty() ? "SEEKING refused" : bad;
        wrong.fetch_add(1);
      } else {
        gst_query_parse_seeking(q, nullptr, &seekable, nullptr, nullptr);
        if (seekable) {  // the server never sends a header
          bad = bad.empty() ? "SEEKING says seekable" : bad;
          wrong.fetch_add(1);
        }
      }
      gst_query_unref(q);
      gint64 value = 0;
      if (gst_element_query_duration(src, GST_FORMAT_TIME, &value)) {
        bad = bad.empty() ? "DURATION answered without a header" : bad;
        wrong.fetch_add(1);
      }
      (void)gst_element_query_position(src, GST_FORMAT_TIME, &value);  // either is fine
      GstQuery* uq = gst_query_new_uri();
      gchar* uri = nullptr;
      if (gst_element_query(src, uq)) {
        gst_query_parse_uri(uq, &uri);
      }
      if (uri == nullptr || url != uri) {
        bad = bad.empty() ? "URI query lost the location" : bad;
        wrong.fetch_add(1);
      }
      g_free(uri);
      gst_query_unref(uq);
      gchar* transport = nullptr;
      gboolean live = TRUE;
      g_object_get(src, "transport", &transport, "is-live", &live, nullptr);
      if (transport != nullptr || live) {  // nothing is ever established
        bad = bad.empty() ? "transport or is-live wrong" : bad;
        wrong.fetch_add(1);
      }
      g_free(transport);
      rounds.fetch_add(1);
    }
  });
  constexpr int kCycles = 20;
  int cycles = 0;
  for (; cycles < kCycles; ++cycles) {
    const int accepted = server.accepted();
    if (gst_element_set_state(src, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
      ADD_FAILURE() << "PLAYING failed in cycle " << cycles;
      break;
    }
    // The Driver exists and has connected; let the query thread run at least
    // two rounds against it (bounded waits, no timing asserted).
    bool connected = false;
    const int seen = rounds.load();
    for (int i = 0; i < 2000 && !(connected && rounds.load() >= seen + 2); ++i) {
      connected = connected || server.accepted() > accepted;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_TRUE(connected) << "cycle " << cycles;
    EXPECT_GE(rounds.load(), seen + 2) << "cycle " << cycles;
    if (gst_element_set_state(src, GST_STATE_NULL) != GST_STATE_CHANGE_SUCCESS) {
      ADD_FAILURE() << "NULL failed in cycle " << cycles;
      break;
    }
  }
  quit.store(true);
  hammer.join();
  EXPECT_EQ(cycles, kCycles);
  EXPECT_EQ(server.accepted(), kCycles);
  EXPECT_EQ(wrong.load(), 0) << bad;
  // Cancelling a connection at stop() is not an error.
  GstMessage* msg = gst_bus_pop_filtered(bus_, GST_MESSAGE_ERROR);
  EXPECT_EQ(msg, nullptr);
  if (msg != nullptr) {
    gst_message_unref(msg);
  }
}

// --- errors ------------------------------------------------------------------------

TEST_F(MmsSrcTest, ConnectionRefusedIsOpenRead) {
  std::string url = url_for(closed_port());
  make(url);
  ParsedError e = parse_error(play_until_error());
  ASSERT_TRUE(e.ok) << "no error within 10 s";
  EXPECT_EQ(e.domain, GST_RESOURCE_ERROR);
  EXPECT_EQ(e.code, GST_RESOURCE_ERROR_OPEN_READ) << e.message << " / " << e.debug;
  EXPECT_EQ(e.uri, url);
  EXPECT_EQ(e.transport, "mmsh");
  EXPECT_EQ(e.mms_code, "refused");
  EXPECT_TRUE(e.has_attempts);
}

TEST_F(MmsSrcTest, ErrorDetailsRedactCredentials) {
  std::uint16_t port = closed_port();
  make("mmsh://alice:s3cret@127.0.0.1:" + std::to_string(port) + "/a.asf");
  ParsedError e = parse_error(play_until_error());
  ASSERT_TRUE(e.ok);
  EXPECT_EQ(e.uri.find("s3cret"), std::string::npos) << e.uri;
  EXPECT_EQ(e.debug.find("s3cret"), std::string::npos) << e.debug;
  EXPECT_NE(e.uri.find("127.0.0.1"), std::string::npos) << e.uri;
}

TEST_F(MmsSrcTest, NotFound) {
  TinyServer server(
      "HTTP/1.0 404 Not Found\r\nServer: Cougar/9.01.01.3814\r\n"
      "Content-Length: 0\r\n\r\n");
  make(url_for(server.port()));
  ParsedError e = parse_error(play_until_error());
  ASSERT_TRUE(e.ok);
  EXPECT_EQ(e.domain, GST_RESOURCE_ERROR);
  EXPECT_EQ(e.code, GST_RESOURCE_ERROR_NOT_FOUND) << e.message << " / " << e.debug;
  EXPECT_EQ(e.mms_code, "not-found");
  EXPECT_EQ(e.detail, 404u);
}

TEST_F(MmsSrcTest, NotAuthorized) {
  TinyServer server(
      "HTTP/1.0 401 Unauthorized\r\nServer: Cougar/9.01.01.3814\r\n"
      "WWW-Authenticate: Basic realm=\"wms\"\r\nContent-Length: 0\r\n\r\n");
  make(url_for(server.port()));
  ParsedError e = parse_error(play_until_error());
  ASSERT_TRUE(e.ok);
  EXPECT_EQ(e.code, GST_RESOURCE_ERROR_NOT_AUTHORIZED) << e.message << " / " << e.debug;
  EXPECT_EQ(e.mms_code, "not-authorized");
  EXPECT_EQ(e.detail, 401u);
}

TEST_F(MmsSrcTest, NotAuthorizedAfterSendingCredentials) {
  TinyServer server(
      "HTTP/1.0 401 Unauthorized\r\nServer: Cougar/9.01.01.3814\r\n"
      "WWW-Authenticate: Basic realm=\"wms\"\r\nContent-Length: 0\r\n\r\n");
  GstElement* src = make(url_for(server.port()));
  g_object_set(src, "user-id", "alice", "user-pw", "s3cret", nullptr);
  ParsedError e = parse_error(play_until_error());
  ASSERT_TRUE(e.ok);
  EXPECT_EQ(e.code, GST_RESOURCE_ERROR_NOT_AUTHORIZED);
  EXPECT_EQ(server.accepted(), 2);  // tried once more with Basic credentials
}

TEST_F(MmsSrcTest, GarbageIsReadError) {
  TinyServer server("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n\r\n");
  make(url_for(server.port()));
  ParsedError e = parse_error(play_until_error());
  ASSERT_TRUE(e.ok);
  EXPECT_EQ(e.domain, GST_RESOURCE_ERROR);
  EXPECT_EQ(e.code, GST_RESOURCE_ERROR_READ) << e.message << " / " << e.debug;
  EXPECT_EQ(e.mms_code, "malformed");
}

TEST_F(MmsSrcTest, CloseWithoutAnswerIsReadError) {
  TinyServer server("");  // reads the request, closes
  make(url_for(server.port()));
  ParsedError e = parse_error(play_until_error());
  ASSERT_TRUE(e.ok);
  EXPECT_EQ(e.code, GST_RESOURCE_ERROR_READ) << e.message << " / " << e.debug;
  EXPECT_EQ(e.mms_code, "connection-lost");
}

TEST_F(MmsSrcTest, NoLocationIsAnError) {
  GstElement* src = make();
  EXPECT_EQ(gst_element_set_state(src, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  GstMessage* msg = gst_bus_timed_pop_filtered(bus_, 10 * GST_SECOND, GST_MESSAGE_ERROR);
  ParsedError e = parse_error(msg);
  ASSERT_TRUE(e.ok);
  EXPECT_EQ(e.domain, GST_RESOURCE_ERROR);
}

TEST_F(MmsSrcTest, StalledServerTimesOut) {
  TinyServer server("", /*stall=*/true);
  GstElement* src = make(url_for(server.port()));
  g_object_set(src, "timeout", 1u, nullptr);
  ParsedError e = parse_error(play_until_error());
  ASSERT_TRUE(e.ok) << "no timeout error within 10 s";
  EXPECT_EQ(e.code, GST_RESOURCE_ERROR_READ) << e.message << " / " << e.debug;
  EXPECT_EQ(e.mms_code, "timed-out");
  auto t0 = Clock::now();
  EXPECT_EQ(gst_element_set_state(src, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5));
}

// Sets the element to NULL from another thread while the streaming thread waits
// for a server that never answers; the state change must return (bounded).
void expect_prompt_null(GstElement* src) {
  auto t0 = Clock::now();
  std::promise<GstStateChangeReturn> done;
  std::future<GstStateChangeReturn> result = done.get_future();
  gst_object_ref(src);
  std::thread t([src, &done] {
    done.set_value(gst_element_set_state(src, GST_STATE_NULL));
    gst_object_unref(src);
  });
  std::future_status st = result.wait_for(std::chrono::seconds(20));
  if (st != std::future_status::ready) {
    t.detach();  // hung: report rather than block the suite
    FAIL() << "setting mmssrc to NULL did not return";
  }
  t.join();
  EXPECT_EQ(result.get(), GST_STATE_CHANGE_SUCCESS);
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5));
}

TEST_F(MmsSrcTest, NullDuringStallReturns) {
  TinyServer server("", /*stall=*/true);
  GstElement* src = make(url_for(server.port()));
  g_object_set(src, "timeout", 1u, nullptr);
  gst_harness_play(h_);
  ASSERT_TRUE(server.wait_for_request(std::chrono::seconds(10)));
  expect_prompt_null(src);
}

TEST_F(MmsSrcTest, UnlockWhilePullingFromStalledServer) {
  TinyServer server("", /*stall=*/true);
  GstElement* src = make(url_for(server.port()));
  g_object_set(src, "timeout", 0u, nullptr);  // wait forever: only unlock can end it
  gst_harness_play(h_);
  ASSERT_TRUE(server.wait_for_request(std::chrono::seconds(10)));
  EXPECT_EQ(gst_harness_try_pull(h_), nullptr);
  expect_prompt_null(src);
  // No error was posted for the cancellation.
  GstMessage* msg = gst_bus_pop_filtered(bus_, GST_MESSAGE_ERROR);
  EXPECT_EQ(msg, nullptr);
  if (msg != nullptr) {
    gst_message_unref(msg);
  }
}

TEST_F(MmsSrcTest, FlushUnlocksCreate) {
  TinyServer server("", /*stall=*/true);
  GstElement* src = make(url_for(server.port()));
  g_object_set(src, "timeout", 0u, nullptr);
  gst_harness_play(h_);
  ASSERT_TRUE(server.wait_for_request(std::chrono::seconds(10)));
  // FLUSH_START unlocks create(), FLUSH_STOP restarts the task; both must return.
  auto t0 = Clock::now();
  EXPECT_TRUE(gst_element_send_event(src, gst_event_new_flush_start()));
  EXPECT_TRUE(gst_element_send_event(src, gst_event_new_flush_stop(TRUE)));
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5));
  expect_prompt_null(src);
}

TEST_F(MmsSrcTest, RestartAfterError) {
  TinyServer server("HTTP/1.0 404 Not Found\r\n\r\n");
  GstElement* src = make(url_for(server.port()));
  ParsedError e = parse_error(play_until_error());
  ASSERT_TRUE(e.ok);
  EXPECT_EQ(gst_element_set_state(src, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  gst_bus_set_flushing(bus_, TRUE);
  gst_bus_set_flushing(bus_, FALSE);
  e = parse_error(play_until_error());
  ASSERT_TRUE(e.ok);
  EXPECT_EQ(e.code, GST_RESOURCE_ERROR_NOT_FOUND);
  EXPECT_EQ(server.accepted(), 2);
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  GError* err = nullptr;
  GstPlugin* plugin = gst_plugin_load_file(MMS_BUILD_ROOT "/gst/libgstmms.so", &err);
  if (plugin == nullptr) {
    std::fprintf(stderr, "cannot load %s: %s\n", MMS_BUILD_ROOT "/gst/libgstmms.so",
                 err != nullptr ? err->message : "?");
    g_clear_error(&err);
    return 1;
  }
  int rc = RUN_ALL_TESTS();
  gst_object_unref(plugin);
  gst_deinit();
  return rc;
}

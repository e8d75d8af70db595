// Listener implementation: GSocket + GSource plumbing around sans-I/O sessions.
#include "protocol/io/listener.h"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include <gio/gio.h>

#include "protocol/core/log.h"
#include "protocol/server/demux.h"

namespace mms::io {
namespace {

constexpr const char* kLog = "io-listener";
// Bytes read per receive() call.
constexpr std::size_t kReadChunk = 64 * 1024;
// Batches written per wake-up before yielding to other connections.
constexpr int kMaxWritesPerWakeup = 64;
// Reads per wake-up before yielding (a client flooding us with bytes).
constexpr int kMaxReadsPerWakeup = 16;
// While a write is blocked, the session's deadlines are looked at no more often.
constexpr Duration kBlockedRecheck = 100 * kMillisecond;
// Send buffer asked for the shared UDP socket: fast mode and many clients
// queue bursts of datagrams, and every one that does not fit means waiting
// for G_IO_OUT. The kernel may grant less (net.core.wmem_max).
constexpr gint kUdpSendBuffer = 4 * 1024 * 1024;

void destroy_source(GSource** src) {
  if (*src != nullptr) {
    g_source_destroy(*src);
    g_source_unref(*src);
    *src = nullptr;
  }
}

bool would_block(const GError* err) {
  return g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
}

// A non-blocking datagram socket bound to address:port, or nullptr.
GSocket* bind_udp(const std::string& address, std::uint16_t port) {
  GInetAddress* inet = g_inet_address_new_from_string(address.c_str());
  if (inet == nullptr) {
    return nullptr;
  }
  GSocketAddress* sa = g_inet_socket_address_new(inet, port);
  GSocket* u = g_socket_new(g_inet_address_get_family(inet), G_SOCKET_TYPE_DATAGRAM,
                            G_SOCKET_PROTOCOL_UDP, nullptr);
  g_object_unref(inet);
  const bool bound = u != nullptr && g_socket_bind(u, sa, FALSE, nullptr);  // never share a port
  g_object_unref(sa);
  if (!bound) {
    if (u != nullptr) {
      g_object_unref(u);
    }
    return nullptr;
  }
  g_socket_set_blocking(u, FALSE);
  return u;
}

// Asks for a roomy send buffer; a refusal leaves the default (sends then wait
// for G_IO_OUT more often, nothing is lost).
void set_udp_send_buffer(GSocket* u) {
  g_socket_set_option(u, SOL_SOCKET, SO_SNDBUF, kUdpSendBuffer, nullptr);
  gint granted = 0;
  if (g_socket_get_option(u, SOL_SOCKET, SO_SNDBUF, &granted, nullptr)) {
    MMS_LOG(LogLevel::kInfo, kLog, "UDP send buffer: %d bytes", granted);
  }
}

}  // namespace

Instant monotonic_now() {
  return Instant{g_get_monotonic_time() * 1000};
}

struct Conn {
  Listener::Impl* owner = nullptr;
  std::uint64_t id = 0;
  GSocket* socket = nullptr;
  std::unique_ptr<Connection> handler;
  GSource* read_source = nullptr;
  GSource* write_source = nullptr;
  GSource* timer_source = nullptr;
  std::optional<Instant> timer_at;
  GInetAddress* peer = nullptr;     // remote address (UDP destination, resend source check)
  std::vector<std::uint8_t> input;  // bytes the handler has not consumed yet
  bool closing = false;             // write side shut down, waiting for the client's close
  Instant accepted;                 // for the close hook
  std::uint64_t bytes_sent = 0;     // TCP written + UDP sent
};

struct Listener::Impl {
  GMainContext* context = nullptr;
  GSocket* socket = nullptr;
  GSource* accept_source = nullptr;
  GSource* accept_pause = nullptr;  // accept errors (out of descriptors): retry later
  std::size_t max_connections = kMaxConnections;
  std::uint16_t port = 0;
  ConnectionFactory factory;
  UdpOptions udp;
  GSocket* udp_socket = nullptr;
  GSource* udp_source = nullptr;
  GSocket* rtcp_socket = nullptr;  // port + 1, receive only
  GSource* rtcp_source = nullptr;
  // Connections whose datagrams wait for room in the UDP socket's buffer, and
  // the one G_IO_OUT source that exists while any does.
  std::set<std::uint64_t> udp_waiters;
  GSource* udp_write_source = nullptr;
  std::uint64_t udp_rotor = 0;  // the waiter served first at the next G_IO_OUT
  bool gso_ = true;             // UDP segmentation offload works (until refused)
  std::map<std::uint64_t, std::unique_ptr<Conn>> conns;
  std::uint64_t next_id = 1;
  CloseHook close_hook;
  std::function<void(const std::string&)> accept_hook;

  ~Impl();
  void accept_all();
  void pause_accepting();
  void watch_accept();
  void destroy(Conn* c);
  void pump(Conn* c);
  void pump_once(Conn* c);
  std::size_t feed(Conn* c, ByteView in, Instant now);
  // Writes pending TCP output; false when the connection was destroyed.
  bool write_tcp(Conn* c, Instant now, bool* blocked);
  void read(Conn* c);
  void begin_close(Conn* c);
  void arm_timer(Conn* c, std::optional<Instant> at, Instant now);
  void ensure_write_source(Conn* c);
  // Sends due datagrams; true when the UDP socket buffer was full (the
  // datagrams that did not fit are kept for the next try).
  bool send_datagrams(Conn* c, Instant now);
  enum class SendResult : std::uint8_t { kSent, kFull };
  // Sends d[0..n) to the peer's to_port in one sendmmsg(); *taken = how many
  // are done with (sent, dropped by the fault hook, or lost to an error).
  SendResult send_batch(Conn* c, std::uint16_t to_port, const ByteView* d, std::size_t n,
                        std::size_t* taken);
  void receive_datagrams(GSocket* from_socket);
  void wait_udp_writable(Conn* c);
  void stop_waiting_udp(Conn* c);
  void udp_writable();
};

namespace {

gboolean on_accept_resume(gpointer data) noexcept {
  auto* impl = static_cast<Listener::Impl*>(data);
  g_source_unref(impl->accept_pause);
  impl->accept_pause = nullptr;
  impl->watch_accept();
  impl->accept_all();
  return G_SOURCE_REMOVE;
}

gboolean on_accept(GSocket* /*socket*/, GIOCondition /*cond*/, gpointer data) noexcept {
  static_cast<Listener::Impl*>(data)->accept_all();
  return G_SOURCE_CONTINUE;
}

gboolean on_udp_readable(GSocket* socket, GIOCondition /*cond*/, gpointer data) noexcept {
  static_cast<Listener::Impl*>(data)->receive_datagrams(socket);
  return G_SOURCE_CONTINUE;
}

gboolean on_udp_writable(GSocket* /*socket*/, GIOCondition /*cond*/, gpointer data) noexcept {
  static_cast<Listener::Impl*>(data)->udp_writable();
  return G_SOURCE_CONTINUE;  // udp_writable() destroys the source when nobody waits
}

gboolean on_readable(GSocket* /*socket*/, GIOCondition /*cond*/, gpointer data) noexcept {
  Conn* c = static_cast<Conn*>(data);
  c->owner->read(c);  // may destroy c
  return G_SOURCE_CONTINUE;
}

gboolean on_writable(GSocket* /*socket*/, GIOCondition /*cond*/, gpointer data) noexcept {
  Conn* c = static_cast<Conn*>(data);
  c->owner->pump(c);  // may destroy c
  return G_SOURCE_CONTINUE;
}

gboolean on_timer(gpointer data) noexcept {
  Conn* c = static_cast<Conn*>(data);
  Listener::Impl* owner = c->owner;
  // The timer fired: drop it first (pump/arm_timer may create a new one).
  destroy_source(&c->timer_source);
  c->timer_at.reset();
  if (c->closing) {
    owner->destroy(c);  // linger timeout
    return G_SOURCE_REMOVE;
  }
  c->handler->on_timeout(monotonic_now());
  owner->pump(c);
  return G_SOURCE_REMOVE;
}

}  // namespace

Listener::Impl::~Impl() {
  while (!conns.empty()) {
    destroy(conns.begin()->second.get());
  }
  destroy_source(&accept_source);
  destroy_source(&accept_pause);
  destroy_source(&udp_source);
  destroy_source(&udp_write_source);
  destroy_source(&rtcp_source);
  for (GSocket* u : {udp_socket, rtcp_socket}) {
    if (u != nullptr) {
      g_socket_close(u, nullptr);
      g_object_unref(u);
    }
  }
  if (socket != nullptr) {
    g_socket_close(socket, nullptr);
    g_object_unref(socket);
  }
}

void Listener::Impl::pause_accepting() {
  if (accept_pause != nullptr) {
    return;
  }
  destroy_source(&accept_source);  // allowed from its own callback
  accept_pause = g_timeout_source_new(static_cast<guint>(kAcceptPause / kMillisecond));
  g_source_set_callback(accept_pause, on_accept_resume, this, nullptr);
  g_source_attach(accept_pause, context);
}

void Listener::Impl::watch_accept() {
  accept_source = g_socket_create_source(socket, G_IO_IN, nullptr);
  g_source_set_callback(accept_source, G_SOURCE_FUNC(on_accept), this, nullptr);
  g_source_attach(accept_source, context);
}

void Listener::Impl::accept_all() {
  for (;;) {
    GError* err = nullptr;
    GSocket* s = g_socket_accept(socket, nullptr, &err);
    if (s == nullptr) {
      if (!would_block(err)) {
        // Out of file descriptors (or another error that persists): the
        // listening socket stays readable, so accepting pauses for a moment
        // instead of spinning.
        MMS_LOG(LogLevel::kWarning, kLog, "accept failed: %s; accepting again in %lld ms",
                err->message, static_cast<long long>(kAcceptPause / kMillisecond));
        pause_accepting();
      }
      g_error_free(err);
      return;
    }
    if (conns.size() >= max_connections) {
      MMS_LOG(LogLevel::kWarning, kLog, "too many connections (%zu); closing a new one",
              conns.size());
      g_socket_close(s, nullptr);
      g_object_unref(s);
      continue;
    }
    g_socket_set_blocking(s, FALSE);
    auto c = std::make_unique<Conn>();
    c->owner = this;
    c->id = next_id++;
    c->socket = s;
    c->accepted = monotonic_now();
    if (GSocketAddress* remote = g_socket_get_remote_address(s, nullptr)) {
      c->peer = G_INET_ADDRESS(
          g_object_ref(g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(remote))));
      g_object_unref(remote);
    }
    const Instant now = monotonic_now();
    c->handler = factory(now);
    if (!c->handler) {
      g_socket_close(s, nullptr);
      g_object_unref(s);
      continue;
    }
    c->read_source = g_socket_create_source(
        s, static_cast<GIOCondition>(G_IO_IN | G_IO_HUP | G_IO_ERR), nullptr);
    g_source_set_callback(c->read_source, G_SOURCE_FUNC(on_readable), c.get(), nullptr);
    g_source_attach(c->read_source, context);
    Conn* raw = c.get();
    conns.emplace(raw->id, std::move(c));
    MMS_LOG(LogLevel::kDebug, kLog, "connection %llu accepted",
            static_cast<unsigned long long>(raw->id));
    if (accept_hook && raw->peer != nullptr) {
      gchar* text = g_inet_address_to_string(raw->peer);
      accept_hook(text);
      g_free(text);
    }
    arm_timer(raw, raw->handler->next_deadline(), now);
  }
}

void Listener::Impl::destroy(Conn* c) {
  if (close_hook && c->handler) {
    ConnectionRecord r;
    if (c->peer != nullptr) {
      gchar* text = g_inet_address_to_string(c->peer);
      r.client = text;
      g_free(text);
    }
    r.bytes_sent = c->bytes_sent;
    r.duration = monotonic_now() - c->accepted;
    r.info = c->handler->info();
    close_hook(r);
  }
  stop_waiting_udp(c);
  destroy_source(&c->read_source);
  destroy_source(&c->write_source);
  destroy_source(&c->timer_source);
  g_socket_close(c->socket, nullptr);
  g_object_unref(c->socket);
  if (c->peer != nullptr) {
    g_object_unref(c->peer);
  }
  MMS_LOG(LogLevel::kDebug, kLog, "connection %llu closed", static_cast<unsigned long long>(c->id));
  conns.erase(c->id);  // deletes c
}

void Listener::Impl::read(Conn* c) {
  const std::uint64_t id = c->id;
  std::uint8_t buf[kReadChunk];
  for (int i = 0; i < kMaxReadsPerWakeup; ++i) {
    GError* err = nullptr;
    const gssize n =
        g_socket_receive(c->socket, reinterpret_cast<gchar*>(buf), sizeof buf, nullptr, &err);
    if (n < 0) {
      const bool again = would_block(err);
      g_error_free(err);
      if (again) {
        return;
      }
      destroy(c);  // reset by peer
      return;
    }
    if (n == 0) {
      if (c->closing) {
        destroy(c);
        return;
      }
      c->handler->on_eof(monotonic_now());
      if (c->handler->wants_close()) {
        destroy(c);
      } else {
        // The client half-closed but the session still has something to say.
        destroy_source(&c->read_source);
        pump(c);
      }
      return;
    }
    if (c->closing) {
      continue;  // draining until the client closes
    }
    const Instant now = monotonic_now();
    ByteView in(buf, static_cast<std::size_t>(n));
    if (!c->input.empty()) {
      c->input.insert(c->input.end(), buf, buf + n);
      in = ByteView(c->input);
    }
    feed(c, in, now);
    pump(c);
    if (conns.find(id) == conns.end()) {
      return;  // pump closed it
    }
  }
}

void Listener::Impl::ensure_write_source(Conn* c) {
  if (c->write_source != nullptr) {
    return;
  }
  c->write_source = g_socket_create_source(c->socket, G_IO_OUT, nullptr);
  g_source_set_callback(c->write_source, G_SOURCE_FUNC(on_writable), c, nullptr);
  g_source_attach(c->write_source, context);
}

void Listener::Impl::arm_timer(Conn* c, std::optional<Instant> at, Instant now) {
  if (at == c->timer_at && (c->timer_source != nullptr || !at)) {
    return;
  }
  destroy_source(&c->timer_source);
  c->timer_at = at;
  if (!at) {
    return;
  }
  const Duration wait = std::max<Duration>(0, *at - now);
  const auto ms = static_cast<guint>((wait + kMillisecond - 1) / kMillisecond);
  c->timer_source = g_timeout_source_new(ms);
  g_source_set_callback(c->timer_source, on_timer, c, nullptr);
  g_source_attach(c->timer_source, context);
}

// Hands `in` (the new bytes, or c->input with them appended) to the session and
// keeps what it did not consume in c->input. Returns the bytes consumed.
std::size_t Listener::Impl::feed(Conn* c, ByteView in, Instant now) {
  Result<std::size_t> r = c->handler->on_bytes(in, now);
  std::size_t consumed = in.size();
  if (r.ok()) {
    consumed = std::min(*r, in.size());
  } else {
    MMS_LOG(LogLevel::kInfo, kLog, "connection %llu: %s", static_cast<unsigned long long>(c->id),
            r.status().what());
  }
  if (c->input.empty()) {
    if (consumed < in.size()) {
      c->input.assign(in.begin() + consumed, in.end());
    }
  } else {
    c->input.erase(c->input.begin(), c->input.begin() + static_cast<std::ptrdiff_t>(consumed));
  }
  return consumed;
}

// Writes what the session has, then offers it the input it left unconsumed
// again (a request pipelined behind a kept-alive response waits there until
// that response is written), for as long as it takes some.
void Listener::Impl::pump(Conn* c) {
  const std::uint64_t id = c->id;
  while (true) {
    pump_once(c);
    if (conns.find(id) == conns.end() || c->closing || c->input.empty() ||
        c->write_source != nullptr) {
      return;  // gone, closing, nothing left over, or blocked (the write source resumes)
    }
    const std::vector<std::uint8_t> left = c->input;  // feed() rewrites c->input
    c->input.clear();
    if (feed(c, ByteView(left), monotonic_now()) == 0) {
      return;  // not taken yet: offered again with the next read or write
    }
  }
}

void Listener::Impl::pump_once(Conn* c) {
  if (c->closing) {
    return;
  }
  Instant now = monotonic_now();
  // TCP answers first, then the datagrams they announce (a ReportReadBlock must
  // not be overtaken by the header datagrams: VLC reads in arrival order),
  // then whatever TCP output sending the datagrams made ready.
  bool blocked = false;
  if (!write_tcp(c, now, &blocked)) {
    return;  // connection destroyed
  }
  bool udp_full = false;
  if (!blocked) {
    udp_full = send_datagrams(c, now);
    if (!write_tcp(c, now, &blocked)) {
      return;
    }
  }
  if (udp_full) {
    wait_udp_writable(c);
  } else {
    stop_waiting_udp(c);
  }
  if (blocked) {
    ensure_write_source(c);
    // The session's bounds still run while the client reads nothing (its idle
    // timeout closes a connection nobody reads); whatever it asks for is
    // checked at most every kBlockedRecheck, the write source does the rest.
    std::optional<Instant> at = c->handler->next_deadline();
    if (at) {
      at = std::max(*at, now + kBlockedRecheck);
    }
    arm_timer(c, at, now);
    return;
  }
  destroy_source(&c->write_source);
  if (c->handler->wants_close()) {
    begin_close(c);
    return;
  }
  if (udp_full) {
    // The session's deadline says "now" while datagrams are queued: the
    // G_IO_OUT wait resumes it instead (the buffer drains within moments, so
    // its other timers lose nothing).
    arm_timer(c, std::nullopt, now);
    return;
  }
  now = monotonic_now();
  arm_timer(c, c->handler->next_deadline(), now);
}

bool Listener::Impl::write_tcp(Conn* c, Instant now, bool* blocked) {
  for (int i = 0; i < kMaxWritesPerWakeup; ++i) {
    const ByteView out = c->handler->next_output(now);
    if (out.empty()) {
      break;
    }
    GError* err = nullptr;
    const gssize n = g_socket_send(c->socket, reinterpret_cast<const gchar*>(out.data()),
                                   out.size(), nullptr, &err);
    if (n < 0) {
      const bool again = would_block(err);
      g_error_free(err);
      if (!again) {
        destroy(c);  // peer gone (EPIPE/ECONNRESET)
        return false;
      }
      *blocked = true;
      break;
    }
    c->handler->consume_output(static_cast<std::size_t>(n));
    c->bytes_sent += static_cast<std::uint64_t>(n);
    if (static_cast<std::size_t>(n) < out.size()) {
      *blocked = true;
      break;
    }
    if (i + 1 == kMaxWritesPerWakeup) {
      *blocked = true;  // yield to other connections; the write source resumes us
    }
  }
  return true;
}

bool Listener::Impl::send_datagrams(Conn* c, Instant now) {
  std::uint16_t to_port = c->handler->datagram_port();
  if (to_port == 0) {
    return false;
  }
  for (int done = 0; done < kMaxDatagramsPerWakeup;) {
    ByteView d[kDatagramsPerSend];
    const std::size_t n = c->handler->next_datagrams(now, d, kDatagramsPerSend);
    if (n == 0) {
      // A session with several destination ports (RTP per stream, RTCP)
      // stops at a port change: carry on with the new port.
      const std::uint16_t next_port = c->handler->datagram_port();
      if (next_port == 0 || next_port == to_port) {
        break;
      }
      to_port = next_port;
      continue;
    }
    std::size_t taken = n;  // consumed: sent, dropped, or lost to an error
    const SendResult r = send_batch(c, to_port, d, n, &taken);
    for (std::size_t i = 0; i < taken; ++i) {
      c->bytes_sent += d[i].size();
    }
    c->handler->consume_datagrams(taken);
    done += static_cast<int>(taken);
    if (r == SendResult::kFull) {
      // Socket buffer full: the rest stays queued and goes once G_IO_OUT
      // says there is room, rather than being lost.
      return true;
    }
  }
  return false;
}

Listener::Impl::SendResult Listener::Impl::send_batch(Conn* c, std::uint16_t to_port,
                                                      const ByteView* d, std::size_t n,
                                                      std::size_t* taken) {
  *taken = n;
  if (udp_socket == nullptr || c->peer == nullptr) {
    return SendResult::kSent;
  }
  sockaddr_storage to{};
  {
    GSocketAddress* a = g_inet_socket_address_new(c->peer, to_port);
    const bool ok = g_socket_address_to_native(a, &to, sizeof to, nullptr);
    g_object_unref(a);
    if (!ok) {
      return SendResult::kSent;
    }
  }
  const socklen_t to_len = g_inet_address_get_family(c->peer) == G_SOCKET_FAMILY_IPV6
                               ? sizeof(sockaddr_in6)
                               : sizeof(sockaddr_in);
  // One message per datagram, or per run of equal-sized small datagrams (the
  // last of a run may be shorter) sent as one UDP GSO datagram. Datagrams
  // the fault hook drops are left out.
  mmsghdr msgs[kDatagramsPerSend] = {};
  iovec iov[kDatagramsPerSend];
  alignas(cmsghdr) char control[kDatagramsPerSend][CMSG_SPACE(sizeof(std::uint16_t))] = {};
  std::size_t first[kDatagramsPerSend];  // first datagram of each message
  bool dropped[kDatagramsPerSend] = {};
  for (std::size_t i = 0; i < n; ++i) {
    dropped[i] = udp.drop && udp.drop(*c->handler);
  }
  std::size_t m = 0;
  for (std::size_t i = 0; i < n;) {
    if (dropped[i]) {
      ++i;
      continue;
    }
    const std::size_t size = d[i].size();
    std::size_t j = i + 1;
    std::size_t bytes = size;
    if (gso_ && size <= kMaxGsoSegment) {
      while (j < n && !dropped[j] && j - i < kMaxGsoSegments && d[j].size() <= size &&
             bytes + d[j].size() <= kMaxGsoBytes) {
        bytes += d[j].size();
        if (d[j++].size() < size) {
          break;  // a shorter one ends the run
        }
      }
    }
    msghdr& h = msgs[m].msg_hdr;
    h.msg_name = &to;
    h.msg_namelen = to_len;
    for (std::size_t k = i; k < j; ++k) {
      iov[k].iov_base = const_cast<std::uint8_t*>(d[k].data());
      iov[k].iov_len = d[k].size();
    }
    h.msg_iov = &iov[i];
    h.msg_iovlen = j - i;
    if (j - i > 1) {
      h.msg_control = control[m];
      h.msg_controllen = sizeof control[m];
      cmsghdr* cm = CMSG_FIRSTHDR(&h);
      cm->cmsg_level = SOL_UDP;
      cm->cmsg_type = UDP_SEGMENT;
      cm->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
      const auto segment = static_cast<std::uint16_t>(size);
      std::memcpy(CMSG_DATA(cm), &segment, sizeof segment);
    }
    first[m++] = i;
    i = j;
  }
  if (m == 0) {
    return SendResult::kSent;  // all dropped
  }
  const int fd = g_socket_get_fd(udp_socket);
  const int sent = sendmmsg(fd, msgs, static_cast<unsigned>(m), MSG_DONTWAIT);
  if (sent == static_cast<int>(m)) {
    return SendResult::kSent;
  }
  if (sent > 0) {
    *taken = first[sent];  // the rest next round (its error, if any, shows then)
    return SendResult::kSent;
  }
  const int err = errno;
  if (err == EAGAIN || err == EWOULDBLOCK) {
    *taken = first[0];
    return SendResult::kFull;
  }
  if (msgs[0].msg_hdr.msg_controllen != 0 && (err == EINVAL || err == EIO || err == ENOPROTOOPT)) {
    // No UDP GSO here (old kernel, a device without checksum offload): send
    // datagram by datagram from now on.
    gso_ = false;
    MMS_LOG(LogLevel::kInfo, kLog, "UDP segmentation offload refused (%s): not used",
            g_strerror(err));
    *taken = first[0];
    return SendResult::kSent;
  }
  // An ICMP error: the datagrams of the first message are lost (the client
  // may ask for them again).
  MMS_LOG(LogLevel::kDebug, kLog, "connection %llu: UDP send: %s",
          static_cast<unsigned long long>(c->id), g_strerror(err));
  *taken = m > 1 ? first[1] : n;
  return SendResult::kSent;
}

void Listener::Impl::wait_udp_writable(Conn* c) {
  udp_waiters.insert(c->id);
  if (udp_write_source != nullptr) {
    return;
  }
  udp_write_source = g_socket_create_source(udp_socket, G_IO_OUT, nullptr);
  g_source_set_callback(udp_write_source, G_SOURCE_FUNC(on_udp_writable), this, nullptr);
  g_source_attach(udp_write_source, context);
}

void Listener::Impl::stop_waiting_udp(Conn* c) {
  if (udp_waiters.erase(c->id) != 0 && udp_waiters.empty()) {
    destroy_source(&udp_write_source);
  }
}

void Listener::Impl::udp_writable() {
  // Every waiter gets one pump per G_IO_OUT, starting one further each time,
  // so a connection that fills the buffer again cannot starve the others.
  // A pump that finds the buffer full again puts its connection back.
  std::vector<std::uint64_t> order;
  order.reserve(udp_waiters.size());
  for (auto it = udp_waiters.lower_bound(udp_rotor); it != udp_waiters.end(); ++it) {
    order.push_back(*it);
  }
  for (auto it = udp_waiters.begin(); it != udp_waiters.end() && *it < udp_rotor; ++it) {
    order.push_back(*it);
  }
  udp_waiters.clear();
  if (!order.empty()) {
    udp_rotor = order.front() + 1;
  }
  for (std::uint64_t id : order) {
    auto it = conns.find(id);
    if (it == conns.end()) {
      continue;  // destroyed meanwhile
    }
    pump(it->second.get());  // may destroy it, or wait again
  }
  if (udp_waiters.empty()) {
    destroy_source(&udp_write_source);
  }
}

void Listener::Impl::receive_datagrams(GSocket* from_socket) {
  std::uint8_t buf[kMaxDatagramBytes];
  for (int i = 0; i < kMaxReadsPerWakeup; ++i) {
    GSocketAddress* from = nullptr;
    GError* err = nullptr;
    const gssize n = g_socket_receive_from(from_socket, &from, reinterpret_cast<gchar*>(buf),
                                           sizeof buf, nullptr, &err);
    if (n < 0) {
      g_error_free(err);
      return;
    }
    GInetAddress* src = g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(from));
    const Instant now = monotonic_now();
    std::vector<std::uint64_t> ids;
    for (const auto& [id, c] : conns) {
      if (!c->closing && c->peer != nullptr && c->handler->datagram_port() != 0 &&
          g_inet_address_equal(c->peer, src)) {
        ids.push_back(id);
      }
    }
    for (std::uint64_t id : ids) {
      auto it = conns.find(id);
      if (it == conns.end()) {
        continue;
      }
      it->second->handler->on_datagram(ByteView(buf, static_cast<std::size_t>(n)), now);
      pump(it->second.get());  // may destroy it
    }
    g_object_unref(from);
  }
}

void Listener::Impl::begin_close(Conn* c) {
  if (c->read_source == nullptr) {
    destroy(c);  // the client already closed its side
    return;
  }
  g_socket_shutdown(c->socket, FALSE, TRUE, nullptr);
  c->closing = true;
  stop_waiting_udp(c);
  c->input.clear();
  destroy_source(&c->write_source);
  const Instant now = monotonic_now();
  arm_timer(c, now + kLingerTimeout, now);
}

Result<std::unique_ptr<Listener>> Listener::create(GMainContext* context,
                                                   const std::string& address, std::uint16_t port,
                                                   ConnectionFactory factory) {
  return create(context, address, port, std::move(factory), UdpOptions{});
}

Result<std::unique_ptr<Listener>> Listener::create(GMainContext* context,
                                                   const std::string& address, std::uint16_t port,
                                                   ConnectionFactory factory, UdpOptions udp) {
  GInetAddress* inet = g_inet_address_new_from_string(address.c_str());
  if (inet == nullptr) {
    return Status(Code::kLocalMisuse, "listener: bind address is not a numeric IP address");
  }
  GSocketAddress* sa = g_inet_socket_address_new(inet, port);
  const GSocketFamily family = g_inet_address_get_family(inet);
  g_object_unref(inet);
  GError* err = nullptr;
  GSocket* s = g_socket_new(family, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &err);
  if (s == nullptr) {
    MMS_LOG(LogLevel::kError, kLog, "socket: %s", err->message);
    g_error_free(err);
    g_object_unref(sa);
    return Status(Code::kRefused, "listener: cannot create socket");
  }
  g_socket_set_blocking(s, FALSE);
  g_socket_set_listen_backlog(s, kListenBacklog);
  const bool bound = g_socket_bind(s, sa, TRUE, &err) && g_socket_listen(s, &err);
  g_object_unref(sa);
  if (!bound) {
    MMS_LOG(LogLevel::kError, kLog, "bind %s:%u: %s", address.c_str(), port, err->message);
    g_error_free(err);
    g_object_unref(s);
    return Status(Code::kRefused, "listener: cannot bind/listen", port);
  }
  auto impl = std::make_unique<Impl>();
  impl->context = context;
  impl->socket = s;
  impl->factory = std::move(factory);
  GSocketAddress* local = g_socket_get_local_address(s, nullptr);
  if (local != nullptr) {
    impl->port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(local));
    g_object_unref(local);
  }
  impl->udp = std::move(udp);
  if (impl->udp.enabled) {
    GInetAddress* uinet = g_inet_address_new_from_string(address.c_str());
    GSocketAddress* usa = g_inet_socket_address_new(uinet, impl->port);
    g_object_unref(uinet);
    GSocket* u = g_socket_new(family, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &err);
    const bool ubound = u != nullptr && g_socket_bind(u, usa, TRUE, &err);
    g_object_unref(usa);
    if (!ubound) {
      MMS_LOG(LogLevel::kError, kLog, "bind UDP %s:%u: %s", address.c_str(), impl->port,
              err != nullptr ? err->message : "?");
      if (err != nullptr) {
        g_error_free(err);
      }
      if (u != nullptr) {
        g_object_unref(u);
      }
      return Status(Code::kRefused, "listener: cannot bind the UDP port", impl->port);
    }
    g_socket_set_blocking(u, FALSE);
    set_udp_send_buffer(u);
    impl->udp_socket = u;
    impl->udp_source = g_socket_create_source(u, G_IO_IN, nullptr);
    g_source_set_callback(impl->udp_source, G_SOURCE_FUNC(on_udp_readable), impl.get(), nullptr);
    g_source_attach(impl->udp_source, context);
    if (impl->udp.rtcp && impl->port < 65535) {
      impl->rtcp_socket = bind_udp(address, static_cast<std::uint16_t>(impl->port + 1));
    }
    if (impl->rtcp_socket != nullptr) {
      impl->rtcp_source = g_socket_create_source(impl->rtcp_socket, G_IO_IN, nullptr);
      g_source_set_callback(impl->rtcp_source, G_SOURCE_FUNC(on_udp_readable), impl.get(), nullptr);
      g_source_attach(impl->rtcp_source, context);
    } else if (impl->udp.rtcp) {
      MMS_LOG(LogLevel::kInfo, kLog, "UDP port %u+1 not available: RTCP from clients unread",
              impl->port);
    }
  }
  // Connections are bounded by kMaxConnections and by the descriptors the
  // process may open (each takes one; kReservedDescriptors stay for the rest).
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY) {
    const rlim_t usable =
        nofile.rlim_cur > kReservedDescriptors ? nofile.rlim_cur - kReservedDescriptors : 1;
    impl->max_connections = std::min<std::size_t>(kMaxConnections, usable);
  }
  MMS_LOG(LogLevel::kInfo, kLog, "at most %zu connections", impl->max_connections);
  impl->watch_accept();
  MMS_LOG(LogLevel::kInfo, kLog, "listening on %s port %u", address.c_str(), impl->port);
  return std::unique_ptr<Listener>(new Listener(std::move(impl)));
}

Listener::Listener(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Listener::~Listener() = default;

std::uint16_t Listener::port() const {
  return impl_->port;
}
std::size_t Listener::connection_count() const {
  return impl_->conns.size();
}
void Listener::set_close_hook(CloseHook hook) {
  impl_->close_hook = std::move(hook);
}

void Listener::set_accept_hook(std::function<void(const std::string& client)> hook) {
  impl_->accept_hook = std::move(hook);
}

void Listener::wake() {
  std::vector<std::uint64_t> ids;
  ids.reserve(impl_->conns.size());
  for (const auto& entry : impl_->conns) {
    ids.push_back(entry.first);
  }
  for (std::uint64_t id : ids) {
    auto it = impl_->conns.find(id);  // an earlier pump may have closed it
    if (it != impl_->conns.end() && !it->second->closing && it->second->write_source == nullptr) {
      impl_->pump(it->second.get());
    }
  }
}

std::uint64_t Listener::open_bytes_sent() const {
  std::uint64_t sum = 0;
  for (const auto& entry : impl_->conns) {
    sum += entry.second->bytes_sent;
  }
  return sum;
}

}  // namespace mms::io

// Channels implementation: GSocket + GSource plumbing of one client stream.
#include "protocol/io/channels.h"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "protocol/core/log.h"

namespace mms::io {
namespace {

constexpr const char* kLog = "io-channels";
// Largest UDP datagram (an MMS Data packet is at most 65535 bytes).
constexpr std::size_t kMaxDatagram = 65536;
// Datagrams read per wake-up before yielding to commands and timers, and per
// recvmmsg() call (each into its own kMaxDatagram slot of the channel's buffer).
constexpr int kDatagramsPerWakeup = 64;
constexpr unsigned kDatagramsPerCall = 16;
// TCP reads per wake-up (commands such as seek and close stay responsive).
constexpr int kReadsPerWakeup = 16;

Instant now_instant() {
  return Instant{g_get_monotonic_time() * 1000};
}

// Whether a source address from recvmmsg() is `host` (any port).
bool from_host(const sockaddr_storage& from, GInetAddress* host) {
  const gsize size = g_inet_address_get_native_size(host);
  const guint8* want = g_inet_address_to_bytes(host);
  if (from.ss_family == AF_INET && size == 4) {
    return std::memcmp(&reinterpret_cast<const sockaddr_in&>(from).sin_addr, want, 4) == 0;
  }
  if (from.ss_family == AF_INET6 && size == 16) {
    return std::memcmp(&reinterpret_cast<const sockaddr_in6&>(from).sin6_addr, want, 16) == 0;
  }
  return false;
}

Status status_from_gerror(const GError* error, Code fallback, const char* what) {
  if (error == nullptr) {
    return Status(fallback, what);
  }
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
    return Status(Code::kCancelled, "cancelled");
  }
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)) {
    return Status(Code::kTimedOut, "connection timed out");
  }
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED)) {
    return Status(Code::kRefused, "connection refused");
  }
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE) ||
      g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE) ||
      g_error_matches(error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND)) {
    return Status(Code::kRefused, "host unreachable");
  }
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED) ||
      g_error_matches(error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE)) {
    return Status(Code::kConnectionLost, "connection reset by the server");
  }
  return Status(fallback, what);
}

// Called from inside the source's own callback: returning FALSE destroys it;
// we only drop our reference.
GSource* release_source(GSource* s) {
  if (s != nullptr) {
    g_source_unref(s);
  }
  return nullptr;
}

}  // namespace

struct Channels::Channel {
  session::ChannelId id = 0;
  GCancellable* cancellable = nullptr;
  GSocketConnection* connection = nullptr;
  GSocket* socket = nullptr;
  GSource* read_source = nullptr;
  std::vector<std::uint8_t> in;  // unconsumed bytes at [in_begin, in_end)
  std::size_t in_begin = 0;
  std::size_t in_end = 0;
  bool closed = false;
  bool udp = false;  // a bound datagram socket (socket owned through `udp_socket`)
  GSocket* udp_socket = nullptr;
  // Requests not yet written (sent when the socket is writable, never blocking).
  std::string out;
  std::size_t out_begin = 0;
  GSource* write_source = nullptr;
  // UDP: the only source accepted (the server's address).
  GInetAddress* peer = nullptr;
  std::string host;  // TCP: the host name the session asked for

  void destroy() {
    for (GSource** s : {&read_source, &write_source}) {
      if (*s != nullptr) {
        g_source_destroy(*s);
        g_source_unref(*s);
        *s = nullptr;
      }
    }
    if (cancellable != nullptr) {
      g_cancellable_cancel(cancellable);
      g_clear_object(&cancellable);
    }
    if (connection != nullptr) {
      g_io_stream_close(G_IO_STREAM(connection), nullptr, nullptr);
      g_clear_object(&connection);
    }
    if (udp_socket != nullptr) {
      g_socket_close(udp_socket, nullptr);
      g_clear_object(&udp_socket);
    }
    g_clear_object(&peer);
    socket = nullptr;
    closed = true;
  }
  ~Channel() { destroy(); }
};

struct Channels::WatchData {
  Channels* self;
  session::ChannelId id;
};

struct Channels::ConnectData {
  Channels* self;
  session::ChannelId id;
};

Channels::Channels(GMainContext* context, session::ClientSession* session, ChannelHost host,
                   std::size_t read_size, Duration connect_timeout)
    : context_(context),
      session_(session),
      host_(std::move(host)),
      read_size_(read_size),
      connect_timeout_(connect_timeout) {}

Channels::~Channels() {
  close_all();
  channels_.clear();
  graveyard_.clear();
  for (auto& [name, ip] : host_ips_) {
    g_object_unref(ip);
  }
}

void Channels::close_all() {
  for (auto& [id, ch] : channels_) {
    ch->destroy();
  }
}

void Channels::close(session::ChannelId id) {
  auto it = channels_.find(id);
  if (it == channels_.end()) {
    return;
  }
  it->second->destroy();
  graveyard_.push_back(std::move(it->second));
  channels_.erase(it);
  schedule_reap();
}

void Channels::schedule_reap() {
  if (reap_scheduled_) {
    return;
  }
  reap_scheduled_ = true;
  GSource* idle = g_idle_source_new();
  g_source_set_callback(
      idle,
      [](gpointer p) -> gboolean {
        auto* self = static_cast<Channels*>(p);
        self->graveyard_.clear();
        self->reap_scheduled_ = false;
        return G_SOURCE_REMOVE;
      },
      this, nullptr);
  g_source_attach(idle, context_);
  g_source_unref(idle);
}

void Channels::set_reading(bool on) {
  for (auto& [id, ch] : channels_) {
    if (!on) {
      if (ch->read_source != nullptr) {
        g_source_destroy(ch->read_source);
        g_source_unref(ch->read_source);
        ch->read_source = nullptr;
      }
    } else if (ch->socket != nullptr && ch->read_source == nullptr) {
      watch(ch.get());
    }
  }
}

// --- TCP --------------------------------------------------------------------

void Channels::connect(session::ChannelId id, const std::string& host, std::uint16_t port) {
  auto ch = std::make_unique<Channel>();
  ch->id = id;
  ch->cancellable = g_cancellable_new();
  GSocketClient* client = g_socket_client_new();
  g_socket_client_set_enable_proxy(client, FALSE);  // proxies are the session's business
  const Duration t = connect_timeout_;
  g_socket_client_set_timeout(client, t > 0 ? static_cast<guint>((t + kSecond - 1) / kSecond) : 0);
  GSocketConnectable* addr = g_network_address_new(host.c_str(), port);
  ch->host = host;
  g_socket_client_connect_async(client, addr, ch->cancellable, &Channels::on_connect_done,
                                new ConnectData{this, id});
  g_object_unref(addr);
  g_object_unref(client);
  channels_[id] = std::move(ch);
}

void Channels::on_connect_done(GObject* source, GAsyncResult* res, gpointer data) noexcept {
  auto* cd = static_cast<ConnectData*>(data);
  Channels* self = cd->self;
  const session::ChannelId id = cd->id;
  delete cd;
  GError* error = nullptr;
  GSocketConnection* conn = g_socket_client_connect_finish(G_SOCKET_CLIENT(source), res, &error);
  self->connected(id, conn, error);
}

void Channels::connected(session::ChannelId id, GSocketConnection* conn, GError* error) {
  auto it = channels_.find(id);
  if (it == channels_.end() || it->second->closed) {
    // Channel closed meanwhile (seek, close): drop the result.
    if (conn != nullptr) {
      g_object_unref(conn);
    }
    g_clear_error(&error);
    return;
  }
  Channel* ch = it->second.get();
  if (conn == nullptr) {
    Status st = status_from_gerror(error, Code::kRefused, "could not connect");
    g_clear_error(&error);
    if (st.code() == Code::kCancelled) {
      return;
    }
    session_->on_connect_failed(id, st, now_instant());
    host_.pump();
    return;
  }
  ch->connection = conn;
  ch->socket = g_socket_connection_get_socket(conn);
  g_socket_set_blocking(ch->socket, FALSE);
  // GSocketClient copies its connect timeout onto the socket, which would make
  // the read source fire with G_IO_ERROR_TIMED_OUT: the session owns timeouts.
  g_socket_set_timeout(ch->socket, 0);
  ch->in.resize(read_size_ * 2);
  if (host_.may_read()) {
    watch(ch);
  }
  note_addresses(ch);
  session_->on_connected(id, now_instant());
  host_.pump();
}

void Channels::watch(Channel* ch) {
  ch->read_source = attach_watch(ch, G_IO_IN, G_SOURCE_FUNC(&Channels::on_readable));
}

// A source on `ch`'s socket for `condition` (plus HUP and ERR) calling `fn`
// with the channel's WatchData.
GSource* Channels::attach_watch(Channel* ch, GIOCondition condition, GSourceFunc fn) {
  GSource* source = g_socket_create_source(
      ch->socket, static_cast<GIOCondition>(condition | G_IO_HUP | G_IO_ERR), ch->cancellable);
  g_source_set_callback(source, fn, new WatchData{this, ch->id},
                        [](gpointer p) { delete static_cast<WatchData*>(p); });
  g_source_attach(source, context_);
  return source;
}

// Tells the session our address of a new TCP connection, and remembers the
// peer's address for UDP to the same host.
void Channels::note_addresses(Channel* ch) {
  if (GSocketAddress* local = g_socket_get_local_address(ch->socket, nullptr)) {
    gchar* text =
        g_inet_address_to_string(g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(local)));
    session_->on_local_address(ch->id, text);
    g_free(text);
    g_object_unref(local);
  }
  if (GSocketAddress* remote = g_socket_get_remote_address(ch->socket, nullptr)) {
    GInetAddress* ip = g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(remote));
    GInetAddress*& known = host_ips_[ch->host];  // the latest connection wins
    g_clear_object(&known);
    known = G_INET_ADDRESS(g_object_ref(ip));
    g_object_unref(remote);
  }
}

// Queues `bytes` and writes what the socket takes now; the rest goes out from
// a G_IO_OUT watch. Never blocks the I/O thread.
void Channels::send(session::ChannelId id, const std::string& bytes) {
  auto it = channels_.find(id);
  if (it == channels_.end() || it->second->socket == nullptr || it->second->udp) {
    return;
  }
  Channel* ch = it->second.get();
  ch->out += bytes;
  if (ch->write_source == nullptr && !flush_output(ch)) {
    ch->write_source = attach_watch(ch, G_IO_OUT, G_SOURCE_FUNC(&Channels::on_writable));
  }
}

// Writes queued output. Returns false while some is left for a G_IO_OUT
// watch; a failed channel (its queue dropped) is told to the session as EOF.
bool Channels::flush_output(Channel* ch) {
  while (ch->out_begin < ch->out.size()) {
    GError* error = nullptr;
    gssize n = g_socket_send(ch->socket, ch->out.data() + ch->out_begin,
                             ch->out.size() - ch->out_begin, ch->cancellable, &error);
    if (n < 0) {
      if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
        g_clear_error(&error);
        return false;
      }
      Status st = status_from_gerror(error, Code::kConnectionLost, "could not send the request");
      g_clear_error(&error);
      if (st.code() != Code::kCancelled) {
        session_->on_eof(ch->id, now_instant());
      }
      break;
    }
    ch->out_begin += static_cast<std::size_t>(n);
  }
  ch->out.clear();
  ch->out_begin = 0;
  return true;
}

gboolean Channels::on_writable(GSocket*, GIOCondition, gpointer data) noexcept {
  auto* wd = static_cast<WatchData*>(data);
  Channels* self = wd->self;
  auto it = self->channels_.find(wd->id);
  if (it == self->channels_.end() || it->second->socket == nullptr) {
    return G_SOURCE_REMOVE;
  }
  Channel* ch = it->second.get();
  if (!self->flush_output(ch)) {
    return G_SOURCE_CONTINUE;
  }
  ch->write_source = release_source(ch->write_source);
  self->host_.pump();  // a failed send reported EOF; otherwise nothing to do
  return G_SOURCE_REMOVE;
}

gboolean Channels::on_readable(GSocket*, GIOCondition, gpointer data) noexcept {
  auto* wd = static_cast<WatchData*>(data);
  return wd->self->read_some(wd->id) ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

// Reads what is available (bounded per wake-up), feeds the session and has
// its output handled. Returns false when the watch must go.
bool Channels::read_some(session::ChannelId id) {
  {
    auto it = channels_.find(id);
    if (it != channels_.end() && it->second->udp) {
      return read_datagrams(id);
    }
  }
  for (int round = 0; round < kReadsPerWakeup; ++round) {
    auto it = channels_.find(id);
    if (it == channels_.end() || !host_.may_read()) {
      return false;
    }
    Channel* ch = it->second.get();
    if (ch->in.size() - ch->in_end < read_size_) {
      // Compact, then grow if a single frame is bigger than the room.
      std::memmove(ch->in.data(), ch->in.data() + ch->in_begin, ch->in_end - ch->in_begin);
      ch->in_end -= ch->in_begin;
      ch->in_begin = 0;
      if (ch->in.size() - ch->in_end < read_size_) {
        ch->in.resize(ch->in_end + read_size_);
      }
    }
    GError* error = nullptr;
    gssize n = g_socket_receive(ch->socket, reinterpret_cast<gchar*>(ch->in.data() + ch->in_end),
                                ch->in.size() - ch->in_end, ch->cancellable, &error);
    if (n < 0) {
      if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
        g_clear_error(&error);
        return true;
      }
      Status st = status_from_gerror(error, Code::kConnectionLost, "read error");
      g_clear_error(&error);
      if (st.code() != Code::kCancelled) {
        end_of_input(ch);
      }
      return false;
    }
    if (n == 0) {
      end_of_input(ch);  // the session still has what is left before the EOF
      return false;
    }
    ch->in_end += static_cast<std::size_t>(n);
    std::size_t used = session_->on_bytes(
        id, ByteView(ch->in.data() + ch->in_begin, ch->in_end - ch->in_begin), now_instant());
    // Events alias the read buffer: handle them before touching it again.
    Channel* const reading = ch;
    host_.pump();
    it = channels_.find(id);
    // Gone, or replaced by a channel of a new attempt (rollover, redirect:
    // channel ids restart with every session) that this watch must not read.
    if (it == channels_.end() || it->second.get() != reading) {
      return false;
    }
    ch->in_begin += used;
    if (ch->in_begin == ch->in_end) {
      ch->in_begin = ch->in_end = 0;
    }
    host_.read_done();
    if (static_cast<std::size_t>(n) < read_size_ / 2) {
      return true;  // drained the socket for now
    }
  }
  return true;
}

// The connection ended (EOF or a read error): its read watch goes (the
// caller returns false from it) and the session is told.
void Channels::end_of_input(Channel* ch) {
  ch->read_source = release_source(ch->read_source);
  session_->on_eof(ch->id, now_instant());
  host_.pump();
}

// --- UDP --------------------------------------------------------------------

void Channels::bind_udp(session::ChannelId id, const std::string& host, std::uint16_t port_min,
                        std::uint16_t port_max) {
  // The family of the address the control connection reached (an IPv6 host
  // name gets an IPv6 socket), else of `host` when it is numeric.
  GInetAddress* peer = known_ip(host);
  const GSocketFamily family =
      peer != nullptr ? g_inet_address_get_family(peer) : G_SOCKET_FAMILY_IPV4;
  GError* error = nullptr;
  GSocket* sock = g_socket_new(family, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  if (sock == nullptr) {
    g_clear_error(&error);
    session_->on_connect_failed(id, Status(Code::kRefused, "could not create a UDP socket"),
                                now_instant());
    return;
  }
  if (port_max < port_min) {
    port_max = port_min;
  }
  GInetAddress* any = g_inet_address_new_any(family);
  bool bound = false;
  for (std::uint32_t p = port_min; p <= port_max && !bound; ++p) {
    GSocketAddress* addr = g_inet_socket_address_new(any, static_cast<guint16>(p));
    bound = g_socket_bind(sock, addr, FALSE, &error) != FALSE;
    g_clear_error(&error);
    g_object_unref(addr);
    if (p == 0) {
      break;
    }
  }
  g_object_unref(any);
  if (!bound) {
    g_object_unref(sock);
    session_->on_connect_failed(id, Status(Code::kRefused, "no free UDP port in the range"),
                                now_instant());
    return;
  }
  std::uint16_t local_port = 0;
  if (GSocketAddress* local = g_socket_get_local_address(sock, nullptr)) {
    local_port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(local));
    g_object_unref(local);
  }
  g_socket_set_blocking(sock, FALSE);
  // A roomy receive buffer: the server bursts on loopback.
  // SO_RCVBUF is capped by net.core.rmem_max; SO_RCVBUFFORCE (privileged) is not.
  constexpr gint kUdpReceiveBuffer = 4 * 1024 * 1024;
  if (!g_socket_set_option(sock, SOL_SOCKET, SO_RCVBUFFORCE, kUdpReceiveBuffer, nullptr)) {
    g_socket_set_option(sock, SOL_SOCKET, SO_RCVBUF, kUdpReceiveBuffer, nullptr);
  }
  // Runs of equal-sized datagrams (a server's UDP segmentation offload, or
  // the NIC's receive offload) may arrive as one buffer; read_datagrams()
  // splits them again. Without it (old kernels) they come one by one.
  g_socket_set_option(sock, SOL_UDP, UDP_GRO, 1, nullptr);
  auto ch = std::make_unique<Channel>();
  ch->id = id;
  ch->udp = true;
  ch->udp_socket = sock;
  ch->socket = sock;
  ch->peer = peer != nullptr ? G_INET_ADDRESS(g_object_ref(peer)) : nullptr;
  ch->cancellable = g_cancellable_new();
  ch->in.resize(kMaxDatagram * kDatagramsPerCall);
  Channel* raw = ch.get();
  channels_[id] = std::move(ch);
  watch(raw);
  MMS_LOG(LogLevel::kDebug, kLog, "UDP channel %u bound to port %u", id, local_port);
  session_->on_udp_bound(id, local_port, now_instant());
}

// The numeric address of `host`: the one its TCP connection reached, or
// `host` itself when it is numeric. Never a (blocking) name lookup: UDP
// traffic goes to the server the control connection found.
GInetAddress* Channels::known_ip(const std::string& host) {
  auto it = host_ips_.find(host);
  if (it != host_ips_.end()) {
    return it->second;
  }
  GInetAddress* ip = g_inet_address_new_from_string(host.c_str());
  if (ip == nullptr) {
    return nullptr;
  }
  host_ips_[host] = ip;
  return ip;
}

void Channels::send_to(session::ChannelId id, const std::string& host, std::uint16_t port,
                       const std::string& bytes) {
  auto it = channels_.find(id);
  if (it == channels_.end() || !it->second->udp) {
    return;
  }
  GInetAddress* ip = known_ip(host);
  if (ip == nullptr) {
    // Best effort: a resend request that cannot be sent is a lost packet.
    MMS_LOG(LogLevel::kDebug, kLog, "no address known for %s: datagram not sent", host.c_str());
    return;
  }
  GSocketAddress* addr = g_inet_socket_address_new(ip, port);
  GError* error = nullptr;
  if (g_socket_send_to(it->second->udp_socket, addr, bytes.data(), bytes.size(), nullptr, &error) <
      0) {
    MMS_LOG(LogLevel::kDebug, kLog, "UDP send failed: %s", error->message);
    g_clear_error(&error);
  }
  g_object_unref(addr);
}

bool Channels::read_datagrams(session::ChannelId id) {
  // One output block for the whole wake-up (not one per datagram): fewer,
  // bigger buffers downstream, as on TCP.
  const bool keep = read_datagrams_into_block(id);
  host_.read_done();
  return keep;
}

bool Channels::read_datagrams_into_block(session::ChannelId id) {
  for (int got = 0; got < kDatagramsPerWakeup;) {
    auto it = channels_.find(id);
    if (it == channels_.end() || !it->second->udp) {
      return false;
    }
    Channel* const ch = it->second.get();
    // Many datagrams per system call, without a GSocketAddress each.
    mmsghdr msgs[kDatagramsPerCall] = {};
    iovec iov[kDatagramsPerCall];
    sockaddr_storage from[kDatagramsPerCall];
    alignas(cmsghdr) char control[kDatagramsPerCall][CMSG_SPACE(sizeof(int))];
    for (unsigned i = 0; i < kDatagramsPerCall; ++i) {
      iov[i].iov_base = ch->in.data() + i * kMaxDatagram;
      iov[i].iov_len = kMaxDatagram;
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof from[i];
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_control = control[i];
      msgs[i].msg_hdr.msg_controllen = sizeof control[i];
    }
    const int n =
        recvmmsg(g_socket_get_fd(ch->udp_socket), msgs, kDatagramsPerCall, MSG_DONTWAIT, nullptr);
    if (n <= 0) {
      return true;  // would block; ICMP errors on UDP are not fatal either
    }
    const Instant now = now_instant();
    for (int i = 0; i < n; ++i) {
      // Only the server may feed the stream: anything else on the port is dropped.
      if (ch->peer != nullptr && !from_host(from[i], ch->peer)) {
        MMS_LOG(LogLevel::kDebug, kLog, "UDP datagram from another host than the server dropped");
        continue;
      }
      // Coalesced datagrams (UDP_GRO) are split at the segment size.
      const std::size_t len = msgs[i].msg_len;
      std::size_t segment = len;
      for (cmsghdr* cm = CMSG_FIRSTHDR(&msgs[i].msg_hdr); cm != nullptr;
           cm = CMSG_NXTHDR(&msgs[i].msg_hdr, cm)) {
        if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO) {
          int size = 0;
          std::memcpy(&size, CMSG_DATA(cm), sizeof size);
          segment = size > 0 ? static_cast<std::size_t>(size) : len;
        }
      }
      const std::uint8_t* base = ch->in.data() + i * kMaxDatagram;
      std::size_t off = 0;
      do {
        const std::size_t size = std::min(segment, len - off);
        session_->on_datagram(id, ByteView(base + off, size), now);
        off += size;
        host_.pump();  // events alias ch->in: handle them before the next datagram
        it = channels_.find(id);
        // Gone, or replaced by a channel of a new attempt with the same id.
        if (it == channels_.end() || it->second.get() != ch) {
          return false;
        }
      } while (off < len);
    }
    got += n;
    if (static_cast<unsigned>(n) < kDatagramsPerCall) {
      return true;  // drained for now
    }
  }
  return true;
}

}  // namespace mms::io

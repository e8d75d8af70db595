#include "protocol/io/driver.h"

#include <gio/gio.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <utility>

#include "protocol/asf/packet.h"
#include "protocol/core/log.h"
#include "protocol/session/session_factory.h"

namespace mms::io {
namespace {

constexpr const char* kLog = "io-driver";
// Packets per output block: big buffers keep per-buffer costs in GStreamer low.
constexpr std::size_t kBlockBytes = 256u * 1024;
// Largest UDP datagram (an MMS Data packet is at most 65535 bytes).
constexpr std::size_t kMaxDatagram = 65536;
// Datagrams read per wake-up before yielding to commands and timers, and per
// recvmmsg() call (each into its own kMaxDatagram slot of the channel's buffer).
constexpr int kDatagramsPerWakeup = 64;
constexpr unsigned kDatagramsPerCall = 16;

Instant now_instant() { return Instant{g_get_monotonic_time() * 1000}; }

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

}  // namespace

std::string make_client_guid() {
  char buf[40];
  std::snprintf(buf, sizeof buf, "{%08x-%04x-%04x-%04x-%04x%08x}", g_random_int(),
                g_random_int() & 0xffffu, (g_random_int() & 0x0fffu) | 0x4000u,
                (g_random_int() & 0x3fffu) | 0x8000u, g_random_int() & 0xffffu, g_random_int());
  return buf;
}

// Everything below runs on the I/O thread, except the constructor and the
// fields marked atomic.
struct Driver::Impl {
  struct Channel {
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
  };

  Driver* owner = nullptr;
  GMainContext* context = nullptr;
  GMainLoop* loop = nullptr;
  GCancellable* cancel_all = nullptr;
  DriverSettings settings;
  // The stream: rollover, reconnects and every transport session live in the engine.
  std::unique_ptr<session::RolloverSession> session;
  // Numeric addresses of the hosts this stream's TCP connections reached:
  // UDP sends go there without a (blocking) name lookup.
  std::map<std::string, GInetAddress*> host_ips;
  std::map<session::ChannelId, std::unique_ptr<Channel>> channels;
  GSource* timer = nullptr;
  std::optional<Instant> timer_at;
  bool throttled = false;
  bool finished = false;  // Eos or Failed delivered
  std::uint64_t epoch = 0;
  std::shared_ptr<const asf::HeaderInfo> info;
  Block block;
  Item pending;  // metadata of `block`
  bool have_pending = false;
  std::vector<std::unique_ptr<Channel>> graveyard;  // closed, freed from an idle callback

  bool graveyard_scheduled = false;

  void schedule_reap() {
    if (graveyard_scheduled) {
      return;  // already scheduled
    }
    graveyard_scheduled = true;
    GSource* idle = g_idle_source_new();
    g_source_set_callback(
        idle,
        [](gpointer p) -> gboolean {
          auto* self = static_cast<Impl*>(p);
          self->graveyard.clear();
          self->graveyard_scheduled = false;
          return G_SOURCE_REMOVE;
        },
        this, nullptr);
    g_source_attach(idle, context);
    g_source_unref(idle);
  }

  ~Impl() {
    for (auto& [id, ch] : channels) {
      destroy_channel(ch.get());
    }
    channels.clear();
    if (timer != nullptr) {
      g_source_destroy(timer);
      g_source_unref(timer);
    }
    for (auto& [key, ip] : host_ips) {
      g_object_unref(ip);
    }
    g_clear_object(&cancel_all);
    if (loop != nullptr) {
      g_main_loop_unref(loop);
    }
    if (context != nullptr) {
      g_main_context_unref(context);
    }
  }

  static void destroy_channel(Channel* ch) {
    for (GSource** s : {&ch->read_source, &ch->write_source}) {
      if (*s != nullptr) {
        g_source_destroy(*s);
        g_source_unref(*s);
        *s = nullptr;
      }
    }
    if (ch->cancellable != nullptr) {
      g_cancellable_cancel(ch->cancellable);
      g_clear_object(&ch->cancellable);
    }
    if (ch->connection != nullptr) {
      g_io_stream_close(G_IO_STREAM(ch->connection), nullptr, nullptr);
      g_clear_object(&ch->connection);
    }
    if (ch->udp_socket != nullptr) {
      g_socket_close(ch->udp_socket, nullptr);
      g_clear_object(&ch->udp_socket);
    }
    g_clear_object(&ch->peer);
    ch->socket = nullptr;
    ch->closed = true;
  }

  // --- session plumbing ---------------------------------------------------

  void start() {
    Result<std::unique_ptr<session::RolloverSession>> rs = session::RolloverSession::create(
        settings.client, settings.rollover, session::transport_session_factory());
    if (!rs.ok()) {
      Item item;
      item.kind = Item::Kind::kError;
      item.epoch = epoch;
      item.status = rs.status();
      finished = true;
      push(std::move(item));
      return;
    }
    session = std::move(*rs);
    session::PlayRequest req;
    req.position_ms = settings.start_position_ms;
    session->play(req, now_instant());
    pump();
  }

  bool keep_reading() const { return session && session->keep_reading_when_throttled(); }

  void seek(std::uint64_t new_epoch, std::uint64_t position_ms) {
    if (new_epoch != owner->epoch_.load()) {
      return;  // superseded by a newer seek
    }
    flush_block();
    epoch = new_epoch;
    have_pending = false;
    block = Block();
    if (finished && session) {
      finished = false;
    }
    if (throttled) {
      set_throttle(false);
    }
    session::PlayRequest req;
    req.position_ms = position_ms;
    session->play(req, now_instant());
    pump();
  }

  // Copies the attempt lists for other threads (progress, error details).
  void sync_attempts() {
    std::lock_guard<std::mutex> lock(owner->attempts_mu_);
    owner->attempts_ = session->attempt_names();
    owner->attempt_errors_ = session->attempt_errors();
    owner->established_ = session->established();
  }

  void pump() {
    if (!session) {
      return;
    }
    // Notices first (they tell what led to the events: an error item must not
    // overtake the progress message of its attempt), then events: packet
    // views alias a channel's read buffer, which a queued Close action would
    // free. Running an action can feed the session (a failed send is an EOF):
    // drain again until a round runs no action.
    bool ran = true;
    while (ran) {
      session::Notice notice;
      bool any = false;
      while (session->next_notice(&notice)) {
        if (!any) {
          any = true;
          sync_attempts();
        }
        if (owner->notify_) {
          owner->notify_(notice);
        }
      }
      session::Event event;
      while (session->next_event(&event)) {
        handle_event(event);
      }
      ran = false;
      session::IoAction action;
      while (session->next_io_action(&action)) {
        run_action(std::move(action));
        ran = true;
      }
    }
    reschedule_timer();
  }

  void run_action(session::IoAction action) {
    switch (action.kind) {
      case session::IoAction::Kind::kConnectTcp:
        connect(action.channel, action.host, action.port);
        break;
      case session::IoAction::Kind::kSend:
        send(action.channel, action.bytes);
        break;
      case session::IoAction::Kind::kBindUdp:
        bind_udp(action.channel, action.host, action.port, action.port_max);
        break;
      case session::IoAction::Kind::kSendTo:
        send_to(action.channel, action.host, action.port, action.bytes);
        break;
      case session::IoAction::Kind::kClose: {
        auto it = channels.find(action.channel);
        if (it != channels.end()) {
          destroy_channel(it->second.get());
          // Freed later: the caller may still be inside this channel's read.
          graveyard.push_back(std::move(it->second));
          channels.erase(it);
          schedule_reap();
        }
        break;
      }
    }
  }

  void handle_event(const session::Event& e) {
    switch (e.kind) {
      case session::Event::Kind::kConnected:
      case session::Event::Kind::kRedirect:
        break;  // the rollover session turns these into notices
      case session::Event::Kind::kHeader: {
        flush_block();
        info = e.info;
        owner->seekable_.store(session->seekable());
        Item item;
        item.kind = Item::Kind::kHeader;
        item.epoch = epoch;
        item.header = e.header;
        item.info = e.info;
        item.changed = e.changed;
        push(std::move(item));
        break;
      }
      case session::Event::Kind::kPacket:
        add_packet(e);
        break;
      case session::Event::Kind::kEos: {
        flush_block();
        finished = true;
        Item item;
        item.kind = Item::Kind::kEos;
        item.epoch = epoch;
        push(std::move(item));
        break;
      }
      case session::Event::Kind::kFailed: {
        sync_attempts();
        flush_block();
        finished = true;
        Item item;
        item.kind = Item::Kind::kError;
        item.epoch = epoch;
        item.status = e.status;
        item.detail = e.detail;
        push(std::move(item));
        break;
      }
    }
  }

  void add_packet(const session::Event& e) {
    const std::uint32_t psize = info ? info->packet_size : 0;
    if (psize == 0) {
      return;
    }
    if (e.discont || (have_pending && block.room() < psize)) {
      flush_block();
    }
    if (!have_pending) {
      std::size_t cap = kBlockBytes < psize ? psize : (kBlockBytes / psize) * psize;
      block = Block(cap);
      pending = Item();
      pending.kind = Item::Kind::kData;
      pending.epoch = epoch;
      pending.first_packet = e.packet_number;
      pending.discont = e.discont;
      have_pending = true;
    }
    Status st = asf::pad_packet(e.payload, psize, block.data() + block.size());
    if (!st.ok()) {
      // The session already checked the size; a packet that cannot be
      // normalised is still passed on zero-padded.
      std::memcpy(block.data() + block.size(), e.payload.data(), e.payload.size());
      std::memset(block.data() + block.size() + e.payload.size(), 0, psize - e.payload.size());
    }
    block.grow(psize);
    ++pending.packet_count;
  }

  void flush_block() {
    if (!have_pending) {
      return;
    }
    have_pending = false;
    pending.block = std::move(block);
    push(std::move(pending));
    pending = Item();
  }

  void push(Item item) {
    bool high = owner->queue_->push(std::move(item));
    if (high && !throttled) {
      set_throttle(true);
    }
  }

  void set_throttle(bool on) {
    throttled = on;
    if (session) {
      session->on_throttle(on, now_instant());
    }
    if (keep_reading()) {
      return;  // the session holds its data back itself; pings keep flowing
    }
    for (auto& [id, ch] : channels) {
      if (on) {
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

  // --- timers ---------------------------------------------------------------

  void reschedule_timer() {
    std::optional<Instant> d = session ? session->next_deadline() : std::nullopt;
    if (!d) {
      return;  // a pending timer simply finds nothing to do
    }
    if (timer != nullptr && timer_at && *timer_at <= *d) {
      return;  // the armed timer fires earlier and re-arms itself
    }
    arm_timer(*d);
  }

  void arm_timer(Instant at) {
    if (timer != nullptr) {
      g_source_destroy(timer);
      g_source_unref(timer);
    }
    Duration delay = at - now_instant();
    guint ms = delay <= 0 ? 0 : static_cast<guint>((delay + kMillisecond - 1) / kMillisecond);
    timer = g_timeout_source_new(ms);
    timer_at = at;
    g_source_set_callback(timer, &Impl::on_timer, this, nullptr);
    g_source_attach(timer, context);
  }

  static gboolean on_timer(gpointer data) noexcept {
    auto* self = static_cast<Impl*>(data);
    g_source_unref(self->timer);
    self->timer = nullptr;
    self->timer_at.reset();
    if (self->session) {
      Instant now = now_instant();
      std::optional<Instant> d = self->session->next_deadline();
      if (d && now >= *d) {
        self->session->on_timeout(now);
      }
      self->pump();
    }
    return G_SOURCE_REMOVE;
  }

  // --- sockets --------------------------------------------------------------

  struct ConnectData {
    Impl* self;
    session::ChannelId id;
  };

  void connect(session::ChannelId id, const std::string& host, std::uint16_t port) {
    auto ch = std::make_unique<Channel>();
    ch->id = id;
    ch->cancellable = g_cancellable_new();
    GSocketClient* client = g_socket_client_new();
    g_socket_client_set_enable_proxy(client, FALSE);  // proxies are the session's business
    const Duration t = settings.client.timeout;
    g_socket_client_set_timeout(client,
                                t > 0 ? static_cast<guint>((t + kSecond - 1) / kSecond) : 0);
    GSocketConnectable* addr = g_network_address_new(host.c_str(), port);
    auto* cd = new ConnectData{this, id};
    ch->host = host;
    g_socket_client_connect_async(client, addr, ch->cancellable, &Impl::on_connect_done, cd);
    g_object_unref(addr);
    g_object_unref(client);
    channels[id] = std::move(ch);
  }

  static void on_connect_done(GObject* source, GAsyncResult* res, gpointer data) noexcept {
    auto* cd = static_cast<ConnectData*>(data);
    Impl* self = cd->self;
    session::ChannelId id = cd->id;
    delete cd;
    GError* error = nullptr;
    GSocketConnection* conn =
        g_socket_client_connect_finish(G_SOCKET_CLIENT(source), res, &error);
    auto it = self->channels.find(id);
    if (it == self->channels.end() || it->second->closed) {
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
      self->session->on_connect_failed(id, st, now_instant());
      self->pump();
      return;
    }
    ch->connection = conn;
    ch->socket = g_socket_connection_get_socket(conn);
    g_socket_set_blocking(ch->socket, FALSE);
    // GSocketClient copies its connect timeout onto the socket, which would make
    // the read source fire with G_IO_ERROR_TIMED_OUT: the session owns timeouts.
    g_socket_set_timeout(ch->socket, 0);
    ch->in.resize(self->settings.read_size * 2);
    if (!self->throttled || self->keep_reading()) {
      self->watch(ch);
    }
    self->note_addresses(ch);
    self->session->on_connected(id, now_instant());
    self->pump();
  }

  struct WatchData {
    Impl* self;
    session::ChannelId id;
  };

  void watch(Channel* ch) {
    ch->read_source = attach_watch(ch, G_IO_IN, G_SOURCE_FUNC(&Impl::on_readable));
  }

  // A source on `ch`'s socket for `condition` (plus HUP and ERR) calling `fn`
  // with the channel's WatchData.
  GSource* attach_watch(Channel* ch, GIOCondition condition, GSourceFunc fn) {
    GSource* source = g_socket_create_source(
        ch->socket, static_cast<GIOCondition>(condition | G_IO_HUP | G_IO_ERR), ch->cancellable);
    g_source_set_callback(source, fn, new WatchData{this, ch->id},
                          [](gpointer p) { delete static_cast<WatchData*>(p); });
    g_source_attach(source, context);
    return source;
  }

  // Tells the session our address of a new TCP connection, and remembers the
  // peer's address for UDP to the same host.
  void note_addresses(Channel* ch) {
    if (GSocketAddress* local = g_socket_get_local_address(ch->socket, nullptr)) {
      gchar* text =
          g_inet_address_to_string(g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(local)));
      session->on_local_address(ch->id, text);
      g_free(text);
      g_object_unref(local);
    }
    if (GSocketAddress* remote = g_socket_get_remote_address(ch->socket, nullptr)) {
      GInetAddress* ip = g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(remote));
      GInetAddress*& known = host_ips[ch->host];  // the latest connection wins
      g_clear_object(&known);
      known = G_INET_ADDRESS(g_object_ref(ip));
      g_object_unref(remote);
    }
  }

  // Queues `bytes` and writes what the socket takes now; the rest goes out
  // from a G_IO_OUT watch. Never blocks the I/O thread.
  void send(session::ChannelId id, const std::string& bytes) {
    auto it = channels.find(id);
    if (it == channels.end() || it->second->socket == nullptr || it->second->udp) {
      return;
    }
    Channel* ch = it->second.get();
    ch->out += bytes;
    if (ch->write_source == nullptr && !flush_output(ch)) {
      ch->write_source = attach_watch(ch, G_IO_OUT, G_SOURCE_FUNC(&Impl::on_writable));
    }
  }

  // Writes queued output. Returns false while some is left for a G_IO_OUT
  // watch; a failed channel (its queue dropped) is told to the session as EOF.
  bool flush_output(Channel* ch) {
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
          session->on_eof(ch->id, now_instant());
        }
        break;
      }
      ch->out_begin += static_cast<std::size_t>(n);
    }
    ch->out.clear();
    ch->out_begin = 0;
    return true;
  }

  static gboolean on_writable(GSocket*, GIOCondition, gpointer data) noexcept {
    auto* wd = static_cast<WatchData*>(data);
    Impl* self = wd->self;
    auto it = self->channels.find(wd->id);
    if (it == self->channels.end() || it->second->socket == nullptr) {
      return G_SOURCE_REMOVE;
    }
    Channel* ch = it->second.get();
    if (!self->flush_output(ch)) {
      return G_SOURCE_CONTINUE;
    }
    ch->write_source = release_source(ch->write_source);
    self->pump();  // a failed send reported EOF; otherwise nothing to do
    return G_SOURCE_REMOVE;
  }

  static gboolean on_readable(GSocket*, GIOCondition, gpointer data) noexcept {
    auto* wd = static_cast<WatchData*>(data);
    return wd->self->read_some(wd->id) ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
  }

  // Reads what is available (bounded per wake-up), feeds the session and
  // handles its output. Returns false when the watch must go.
  bool read_some(session::ChannelId id) {
    {
      auto it = channels.find(id);
      if (it != channels.end() && it->second->udp) {
        return read_datagrams(id);
      }
    }
    // Bound the work per wake-up so commands (seek, close) stay responsive.
    for (int round = 0; round < 16; ++round) {
      auto it = channels.find(id);
      if (it == channels.end() || (throttled && !keep_reading())) {
        return false;
      }
      Channel* ch = it->second.get();
      if (ch->in.size() - ch->in_end < settings.read_size) {
        // Compact, then grow if a single frame is bigger than the room.
        std::memmove(ch->in.data(), ch->in.data() + ch->in_begin, ch->in_end - ch->in_begin);
        ch->in_end -= ch->in_begin;
        ch->in_begin = 0;
        if (ch->in.size() - ch->in_end < settings.read_size) {
          ch->in.resize(ch->in_end + settings.read_size);
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
        if (st.code() == Code::kCancelled) {
          return false;
        }
        ch->read_source = release_source(ch->read_source);
        session->on_eof(id, now_instant());
        pump();
        return false;
      }
      if (n == 0) {
        ch->read_source = release_source(ch->read_source);
        // Offer what is left before the EOF (a frame may be complete already).
        session->on_eof(id, now_instant());
        pump();
        return false;
      }
      ch->in_end += static_cast<std::size_t>(n);
      Instant now = now_instant();
      std::size_t used = session->on_bytes(
          id, ByteView(ch->in.data() + ch->in_begin, ch->in_end - ch->in_begin), now);
      // Events alias the read buffer: handle them before touching it again.
      Channel* const reading = ch;
      pump();
      it = channels.find(id);
      // Gone, or replaced by a channel of a new attempt (rollover, redirect:
      // channel ids restart with every session) that this watch must not read.
      if (it == channels.end() || it->second.get() != reading) {
        return false;
      }
      ch = it->second.get();
      ch->in_begin += used;
      if (ch->in_begin == ch->in_end) {
        ch->in_begin = ch->in_end = 0;
      }
      flush_block();
      if (static_cast<std::size_t>(n) < settings.read_size / 2) {
        return true;  // drained the socket for now
      }
    }
    return true;
  }

  // --- UDP ------------------------------------------------------------------

  void bind_udp(session::ChannelId id, const std::string& host, std::uint16_t port_min,
                std::uint16_t port_max) {
    // The family of the address the control connection reached (an IPv6
    // host name gets an IPv6 socket), else of `host` when it is numeric.
    GInetAddress* peer = known_ip(host);
    const GSocketFamily family =
        peer != nullptr ? g_inet_address_get_family(peer) : G_SOCKET_FAMILY_IPV4;
    GError* error = nullptr;
    GSocket* sock = g_socket_new(family, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
    if (sock == nullptr) {
      g_clear_error(&error);
      session->on_connect_failed(id, Status(Code::kRefused, "could not create a UDP socket"),
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
      session->on_connect_failed(id, Status(Code::kRefused, "no free UDP port in the range"),
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
    channels[id] = std::move(ch);
    watch(raw);
    MMS_LOG(LogLevel::kDebug, kLog, "UDP channel %u bound to port %u", id, local_port);
    session->on_udp_bound(id, local_port, now_instant());
  }

  // The numeric address of `host`: the one its TCP connection reached, or
  // `host` itself when it is numeric. Never a (blocking) name lookup: UDP
  // traffic goes to the server the control connection found.
  GInetAddress* known_ip(const std::string& host) {
    auto it = host_ips.find(host);
    if (it != host_ips.end()) {
      return it->second;
    }
    GInetAddress* ip = g_inet_address_new_from_string(host.c_str());
    if (ip == nullptr) {
      return nullptr;
    }
    host_ips[host] = ip;
    return ip;
  }

  void send_to(session::ChannelId id, const std::string& host, std::uint16_t port,
               const std::string& bytes) {
    auto it = channels.find(id);
    if (it == channels.end() || !it->second->udp) {
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
    if (g_socket_send_to(it->second->udp_socket, addr, bytes.data(), bytes.size(), nullptr,
                         &error) < 0) {
      MMS_LOG(LogLevel::kDebug, kLog, "UDP send failed: %s", error->message);
      g_clear_error(&error);
    }
    g_object_unref(addr);
  }

  bool read_datagrams(session::ChannelId id) {
    // One output block for the whole wake-up (not one per datagram): fewer,
    // bigger buffers downstream, as on TCP.
    const bool keep = read_datagrams_into_block(id);
    flush_block();
    return keep;
  }

  bool read_datagrams_into_block(session::ChannelId id) {
    for (int got = 0; got < kDatagramsPerWakeup;) {
      auto it = channels.find(id);
      if (it == channels.end() || !it->second->udp) {
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
      const int n = recvmmsg(g_socket_get_fd(ch->udp_socket), msgs, kDatagramsPerCall,
                             MSG_DONTWAIT, nullptr);
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
          session->on_datagram(id, ByteView(base + off, size), now);
          off += size;
          pump();  // events alias ch->in: handle them before the next datagram
          it = channels.find(id);
          // Gone (its buffer lives on in the graveyard until we return), or
          // replaced by a channel of a new attempt with the same id.
          if (it == channels.end() || it->second.get() != ch) {
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

  static GSource* release_source(GSource* s) {
    // Called from inside the source's own callback: returning FALSE destroys
    // it; we only drop our reference.
    if (s != nullptr) {
      g_source_unref(s);
    }
    return nullptr;
  }
};

Driver::Driver(std::function<void(const Notice&)> notify) : notify_(std::move(notify)) {}

std::vector<std::string> Driver::attempts() const {
  std::lock_guard<std::mutex> lock(attempts_mu_);
  return attempts_;
}

std::string Driver::established_transport() const {
  std::lock_guard<std::mutex> lock(attempts_mu_);
  return established_;
}

std::vector<std::string> Driver::attempt_errors() const {
  std::lock_guard<std::mutex> lock(attempts_mu_);
  return attempt_errors_;
}

std::string Driver::transport() const {
  std::lock_guard<std::mutex> lock(attempts_mu_);
  return attempts_.empty() ? std::string() : attempts_.back();
}

Driver::~Driver() { close(); }

void Driver::open(DriverSettings settings) {
  queue_ = std::make_unique<OutputQueue>(settings.queue_high_bytes, settings.queue_low_bytes);
  impl_ = std::make_unique<Impl>();
  impl_->owner = this;
  impl_->settings = std::move(settings);
  impl_->context = g_main_context_new();
  impl_->loop = g_main_loop_new(impl_->context, FALSE);
  impl_->cancel_all = g_cancellable_new();
  Impl* impl = impl_.get();
  queue_->set_on_low([impl] {
    g_main_context_invoke_full(
        impl->context, G_PRIORITY_DEFAULT,
        [](gpointer p) -> gboolean {
          auto* i = static_cast<Impl*>(p);
          if (i->throttled) {
            i->set_throttle(false);
            i->pump();
          }
          return G_SOURCE_REMOVE;
        },
        impl, nullptr);
  });
  thread_ = std::thread([impl] {
    g_main_context_push_thread_default(impl->context);
    impl->start();
    g_main_loop_run(impl->loop);
    // Tear the engine and sockets down on the thread that owns them.
    for (auto& [id, ch] : impl->channels) {
      Impl::destroy_channel(ch.get());
    }
    impl->channels.clear();
    impl->session.reset();
    g_main_context_pop_thread_default(impl->context);
  });
}

std::uint64_t Driver::seek(std::uint64_t position_ms) {
  if (!impl_) {
    return 0;
  }
  std::uint64_t e = epoch_.fetch_add(1) + 1;
  queue_->begin_epoch(e);
  struct SeekData {
    Impl* impl;
    std::uint64_t epoch;
    std::uint64_t position_ms;
  };
  g_main_context_invoke_full(
      impl_->context, G_PRIORITY_HIGH,
      [](gpointer p) -> gboolean {
        auto* d = static_cast<SeekData*>(p);
        d->impl->seek(d->epoch, d->position_ms);
        return G_SOURCE_REMOVE;
      },
      new SeekData{impl_.get(), e, position_ms}, [](gpointer p) { delete static_cast<SeekData*>(p); });
  return e;
}

void Driver::close() {
  if (!impl_) {
    return;
  }
  queue_->set_flushing(true);
  g_cancellable_cancel(impl_->cancel_all);
  Impl* impl = impl_.get();
  g_main_context_invoke_full(
      impl->context, G_PRIORITY_HIGH,
      [](gpointer p) -> gboolean {
        auto* i = static_cast<Impl*>(p);
        for (auto& [id, ch] : i->channels) {
          Impl::destroy_channel(ch.get());
        }
        g_main_loop_quit(i->loop);
        return G_SOURCE_REMOVE;
      },
      impl, nullptr);
  if (thread_.joinable()) {
    thread_.join();
  }
  impl_.reset();
}

}  // namespace mms::io

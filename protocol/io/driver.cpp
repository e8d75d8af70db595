#include "protocol/io/driver.h"

#include <cstdio>
#include <cstring>
#include <utility>

#include <gio/gio.h>

#include "protocol/asf/packet.h"
#include "protocol/core/log.h"
#include "protocol/io/channels.h"
#include "protocol/session/session_factory.h"

namespace mms::io {
namespace {

// Packets per output block: big buffers keep per-buffer costs in GStreamer low.
constexpr std::size_t kBlockBytes = 256u * 1024;

Instant now_instant() {
  return Instant{g_get_monotonic_time() * 1000};
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
  Driver* owner = nullptr;
  GMainContext* context = nullptr;
  GMainLoop* loop = nullptr;
  GCancellable* cancel_all = nullptr;
  DriverSettings settings;
  // The stream: rollover, reconnects and every transport session live in the engine.
  std::unique_ptr<session::RolloverSession> session;
  // Its sockets (after `session`: destroyed first).
  std::unique_ptr<Channels> io;
  GSource* timer = nullptr;
  std::optional<Instant> timer_at;
  bool throttled = false;
  // Events are being drained: their packet views alias session storage that
  // any session input (on_throttle too) may free, so the throttle waits.
  bool draining = false;
  bool throttle_due = false;
  bool finished = false;  // Eos or Failed delivered
  std::uint64_t epoch = 0;
  std::shared_ptr<const asf::HeaderInfo> info;
  Block block;
  Item pending;  // metadata of `block`
  bool have_pending = false;
  ~Impl() {
    io.reset();
    if (timer != nullptr) {
      g_source_destroy(timer);
      g_source_unref(timer);
    }
    g_clear_object(&cancel_all);
    if (loop != nullptr) {
      g_main_loop_unref(loop);
    }
    if (context != nullptr) {
      g_main_context_unref(context);
    }
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
    ChannelHost host;
    host.pump = [this] { pump(); };
    host.read_done = [this] { flush_block(); };
    host.may_read = [this] { return !throttled || keep_reading(); };
    io = std::make_unique<Channels>(context, session.get(), std::move(host), settings.read_size,
                                    settings.client.timeout);
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

  void select_streams(std::uint32_t kbps, bool audio_only) {
    if (session) {
      session->select_streams(kbps, audio_only, now_instant());
      pump();
    }
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
      draining = true;
      while (session->next_event(&event)) {
        handle_event(event);
      }
      draining = false;
      ran = false;
      if (throttle_due) {
        throttle_due = false;
        set_throttle(true);  // may queue actions and events: drained below / next round
        ran = true;
      }
      session::IoAction action;
      while (session->next_io_action(&action)) {
        run_action(action);
        ran = true;
      }
    }
    reschedule_timer();
  }

  void run_action(const session::IoAction& action) {
    switch (action.kind) {
      case session::IoAction::Kind::kConnectTcp:
        io->connect(action.channel, action.host, action.port);
        break;
      case session::IoAction::Kind::kSend:
        io->send(action.channel, action.bytes);
        break;
      case session::IoAction::Kind::kBindUdp:
        io->bind_udp(action.channel, action.host, action.port, action.port_max);
        break;
      case session::IoAction::Kind::kSendTo:
        io->send_to(action.channel, action.host, action.port, action.bytes);
        break;
      case session::IoAction::Kind::kClose:
        io->close(action.channel);
        break;
    }
  }

  void handle_event(const session::Event& e) {
    switch (e.kind) {
      case session::Event::Kind::kConnected:
      case session::Event::Kind::kRedirect:
      case session::Event::Kind::kBandwidth:
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
        item.metadata = e.metadata;
        item.continues_at_ms = e.continues_at_ms;
        item.playlist = e.playlist;
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
      if (draining) {
        throttle_due = true;
      } else {
        set_throttle(true);
      }
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
    if (io) {
      io->set_reading(!on);
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

Driver::~Driver() {
  close();
}

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
    // Tear the sockets and the engine down on the thread that owns them.
    impl->io.reset();
    impl->session.reset();
    g_main_context_pop_thread_default(impl->context);
  });
}

namespace {

// Runs `f` once on the I/O thread's context (at high priority), or drops it
// with the context.
template <typename F>
void run_on_io_thread(GMainContext* context, F f) {
  g_main_context_invoke_full(
      context, G_PRIORITY_HIGH,
      [](gpointer p) -> gboolean {
        (*static_cast<F*>(p))();
        return G_SOURCE_REMOVE;
      },
      new F(std::move(f)), [](gpointer p) { delete static_cast<F*>(p); });
}

}  // namespace

std::uint64_t Driver::seek(std::uint64_t position_ms) {
  std::lock_guard<std::mutex> lock(life_mu_);  // not while close() tears the thread down
  if (!impl_) {
    return 0;
  }
  std::uint64_t e = epoch_.fetch_add(1) + 1;
  queue_->begin_epoch(e);
  Impl* impl = impl_.get();
  run_on_io_thread(impl->context, [impl, e, position_ms] { impl->seek(e, position_ms); });
  return e;
}

void Driver::select_streams(std::uint32_t connection_speed_kbps, bool audio_only) {
  std::lock_guard<std::mutex> lock(life_mu_);  // not while close() tears the thread down
  if (!impl_) {
    return;
  }
  Impl* impl = impl_.get();
  run_on_io_thread(impl->context, [impl, connection_speed_kbps, audio_only] {
    impl->select_streams(connection_speed_kbps, audio_only);
  });
}

void Driver::close() {
  std::lock_guard<std::mutex> lock(life_mu_);
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
        if (i->io) {
          i->io->close_all();
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

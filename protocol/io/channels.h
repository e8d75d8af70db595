// Channels: the sockets of one client stream (docs/architecture.md, "The I/O driver"), on the I/O
// thread's GMainContext. TCP connections (async connect and resolve, reads
// fed to the session, sends queued and written from a G_IO_OUT watch) and UDP
// sockets (bound in the family of the server's address, datagrams accepted
// only from it). Never blocks: no name lookup for UDP (datagrams go to the
// address the control connection reached), no blocking send.
//
// Feeds the session its inputs; after each input it calls the host's `pump`
// (the session's events alias the read buffer, so they are handled before
// the buffer is touched again) and, once a read is consumed, `read_done`.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gio/gio.h>

#include "protocol/core/time.h"
#include "protocol/session/client_session.h"

namespace mms::io {

struct ChannelHost {
  std::function<void()> pump;       // handle the session's output now
  std::function<void()> read_done;  // a read's bytes were consumed
  std::function<bool()> may_read;   // false: the consumer is full, leave sockets unread
};

class Channels {
 public:
  // `session` and `context` outlive this object. `read_size`: bytes per TCP
  // read; `connect_timeout`: GSocketClient's bound (0 = none).
  Channels(GMainContext* context, session::ClientSession* session, ChannelHost host,
           std::size_t read_size, Duration connect_timeout);
  ~Channels();  // closes every socket
  Channels(const Channels&) = delete;
  Channels& operator=(const Channels&) = delete;

  // The session's IoActions.
  void connect(session::ChannelId id, const std::string& host, std::uint16_t port);
  void send(session::ChannelId id, const std::string& bytes);
  void bind_udp(session::ChannelId id, const std::string& host, std::uint16_t port_min,
                std::uint16_t port_max);
  void send_to(session::ChannelId id, const std::string& host, std::uint16_t port,
               const std::string& bytes);
  // Closes `id` (no further input from it); freed later, from an idle callback,
  // since the caller may be inside that channel's read.
  void close(session::ChannelId id);
  // Closes every socket now (stop).
  void close_all();
  // Reading stopped (throttled) or resumed: read watches go or come back.
  void set_reading(bool on);

  struct Channel;

 private:
  struct WatchData;
  struct ConnectData;
  static void on_connect_done(GObject* source, GAsyncResult* res, gpointer data) noexcept;
  static gboolean on_readable(GSocket*, GIOCondition, gpointer data) noexcept;
  static gboolean on_writable(GSocket*, GIOCondition, gpointer data) noexcept;
  void connected(session::ChannelId id, GSocketConnection* conn, GError* error);
  void watch(Channel* ch);
  GSource* attach_watch(Channel* ch, GIOCondition condition, GSourceFunc fn);
  void note_addresses(Channel* ch);
  bool flush_output(Channel* ch);
  bool read_some(session::ChannelId id);
  void end_of_input(Channel* ch);
  bool read_datagrams(session::ChannelId id);
  bool read_datagrams_into_block(session::ChannelId id);
  GInetAddress* known_ip(const std::string& host);
  void schedule_reap();

  GMainContext* context_;
  session::ClientSession* session_;
  ChannelHost host_;
  std::size_t read_size_;
  Duration connect_timeout_;
  std::map<session::ChannelId, std::unique_ptr<Channel>> channels_;
  // Numeric addresses of the hosts this stream's TCP connections reached:
  // UDP sends go there without a (blocking) name lookup.
  std::map<std::string, GInetAddress*> host_ips_;
  std::vector<std::unique_ptr<Channel>> graveyard_;  // closed, freed from an idle callback
  bool reap_scheduled_ = false;
};

}  // namespace mms::io

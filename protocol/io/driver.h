// Driver: runs a client session on its own I/O thread (docs/architecture.md, "The I/O driver").
//
// The thread owns a GMainContext, the sockets, the timers and the session;
// the engine is only ever touched there. Other threads talk to it through
// commands (open, seek, close) and read its output from the OutputQueue.
// Packets are re-padded to the ASF packet size straight from the socket read
// buffer into malloc'd blocks that the consumer adopts (one copy).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "protocol/io/output_queue.h"
#include "protocol/session/client_session.h"
#include "protocol/session/rollover_session.h"

namespace mms::io {

// Something worth telling the user about (progress and element messages).
using Notice = session::Notice;

struct DriverSettings {
  session::ClientConfig client;
  // Transports to try (empty = the scheme's default list), reconnect retries
  // and backoff: see session::RolloverSession.
  session::RolloverOptions rollover;
  std::uint64_t start_position_ms = 0;
  std::size_t queue_high_bytes = 4u * 1024 * 1024;  // stop reading above this
  std::size_t queue_low_bytes = 1u * 1024 * 1024;   // resume below this
  std::size_t read_size = 256u * 1024;              // bytes per socket read
};

class Driver {
 public:
  // `notify` is called on the I/O thread; it must not block or call back into the Driver.
  explicit Driver(std::function<void(const Notice&)> notify = {});
  ~Driver();
  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;

  // Starts the I/O thread and the session; returns at once.
  void open(DriverSettings settings);
  // Restarts the stream at `position_ms`. Items of earlier epochs are dropped.
  // Returns the new epoch.
  std::uint64_t seek(std::uint64_t position_ms);
  // Chooses the streams again (session::RolloverSession::select_streams);
  // returns at once.
  void select_streams(std::uint32_t connection_speed_kbps, bool audio_only);
  // Cancels everything, closes sockets and joins the thread. Prompt. The
  // queue and the getters below stay usable (a query racing with stop).
  void close();

  OutputQueue& queue() { return *queue_; }
  bool seekable() const { return seekable_.load(); }
  // Transports tried so far, in order, and the current one (any thread).
  std::vector<std::string> attempts() const;
  std::string transport() const;
  // The transport the stream is established on ("" before that; any thread).
  std::string established_transport() const;
  // "transport: why" for every failed attempt, in order (any thread).
  std::vector<std::string> attempt_errors() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<OutputQueue> queue_;
  std::atomic<bool> seekable_{false};
  std::atomic<std::uint64_t> epoch_{0};
  std::function<void(const Notice&)> notify_;
  std::thread thread_;
  std::mutex life_mu_;  // seek() and close() from different threads (a seek during stop)
  mutable std::mutex attempts_mu_;
  std::vector<std::string> attempts_;        // guarded by attempts_mu_
  std::vector<std::string> attempt_errors_;  // guarded by attempts_mu_
  std::string established_;                  // guarded by attempts_mu_
};

// A random "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}" client GUID.
std::string make_client_guid();

}  // namespace mms::io

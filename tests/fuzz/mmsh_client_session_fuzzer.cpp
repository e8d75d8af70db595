// Session-level fuzz target: the input plays the MMSH server (and the network
// and the clock) against MmshClientSession.
//
// Input layout (FuzzedDataProvider style): integers (operations, split points,
// time steps, configuration) are taken from the END of the input; the server's
// byte stream for each connection, in connection order, is taken from the
// FRONT as "random length strings" (a backslash escapes a backslash; a
// backslash followed by any other byte ends the string). Zero bytes at the end
// therefore mean "default": progress, whole chunks, no time passing.
//
// Invariants checked: consumed <= offered; no event after Failed; a Send or
// Close only for a channel the session opened and has not closed; channel ids
// increase; the no-data timer's base (the deadline minus the timeout) never
// moves backwards and never lies in the future; a Header event repeating the
// bytes of the current header needs changed=true, and there are no more such
// repeats than $C frames on the wire; a changed=false Header only as the first
// since the start or a redirect;
// packets only after a header and never larger than its packet size.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/core/bytes.h"
#include "protocol/core/url.h"
#include "protocol/mmsh/client_session.h"
#include "tests/support/fuzz_input.h"

namespace {

using mms::ByteView;
using mms::Duration;
using mms::Instant;
using mms::session::ChannelId;
using mms::session::Event;
using mms::session::IoAction;

using Provider = mms::test::FuzzInput;

#define CHECK_INVARIANT(cond) MMS_FUZZ_CHECK(cond)

struct Channel {
  bool connected = false;
  bool closed = false;
  std::vector<std::uint8_t> stream;  // what the server sends
  std::size_t sent = 0;              // bytes of `stream` delivered to the buffer
  std::vector<std::uint8_t> buffer;  // delivered, not yet consumed
  bool eof = false;
};

class Harness {
 public:
  Harness(Provider* p, mms::session::ClientConfig cfg)
      : p_(p), timeout_(cfg.timeout), s_(std::move(cfg)) {}

  void run() {
    mms::session::PlayRequest start;
    start.position_ms = p_->integral(0, 3) == 3 ? p_->integral(0, 100000) : 0;
    s_.play(start, now_);
    drain();
    for (int step = 0; step < 20000; ++step) {
      if (finished()) {
        break;
      }
      switch (p_->integral(0, 15)) {
        case 9:
          now_ = now_ + static_cast<Duration>(p_->integral(0, 40000)) * mms::kMillisecond;
          break;
        case 10: {
          std::optional<Instant> d = s_.next_deadline();
          Instant t = d && p_->boolean() ? *d : now_;
          if (t > now_) {
            now_ = t;
          }
          s_.on_timeout(now_);
          break;
        }
        case 11: {
          mms::session::PlayRequest r;
          r.position_ms = p_->integral(0, 200000);
          s_.play(r, now_);
          break;
        }
        case 12:
          throttled_ = !throttled_;
          s_.on_throttle(throttled_, now_);
          break;
        case 13:
          if (p_->integral(0, 7) == 0) {
            s_.close();
            closed_by_user_ = true;
          }
          break;
        default:
          progress();
          break;
      }
      drain();
    }
  }

 private:
  bool finished() const {
    if (failed_ || closed_by_user_) {
      return true;
    }
    // Nothing left to happen: no open channel with work and no pending connect.
    for (const auto& [id, ch] : channels_) {
      if (!ch.closed && !ch.eof) {
        return false;
      }
    }
    return p_->remaining() == 0;
  }

  // Advances the open channel: connect it, deliver bytes, or end it.
  void progress() {
    for (auto& [id, ch] : channels_) {
      if (ch.closed || ch.eof) {
        continue;
      }
      if (!ch.connected) {
        ch.connected = true;
        if (p_->integral(0, 31) == 31) {
          ch.eof = true;  // counts as done for the harness
          s_.on_connect_failed(id, mms::Status(mms::Code::kRefused, "connection refused"), now_);
          return;
        }
        ch.stream = p_->random_length_bytes();
        s_.on_connected(id, now_);
        return;
      }
      if (ch.sent < ch.stream.size()) {
        std::size_t left = ch.stream.size() - ch.sent;
        std::size_t n = static_cast<std::size_t>(p_->integral(0, left));
        if (n == 0) {
          n = left;
        }
        std::size_t scan_from = ch.buffer.empty() ? 0 : ch.buffer.size() - 1;
        ch.buffer.insert(ch.buffer.end(), ch.stream.begin() + static_cast<std::ptrdiff_t>(ch.sent),
                         ch.stream.begin() + static_cast<std::ptrdiff_t>(ch.sent + n));
        ch.sent += n;
        for (std::size_t i = scan_from; i + 1 < ch.buffer.size(); ++i) {
          if ((ch.buffer[i] & 0x7f) == 0x24 && ch.buffer[i + 1] == 'C') {
            ++change_markers_;
          }
        }
        const std::size_t offered = ch.buffer.size();
        std::size_t used = s_.on_bytes(id, ByteView(ch.buffer), now_);
        CHECK_INVARIANT(used <= offered);
        drain();  // packet payloads alias the buffer
        ch.buffer.erase(ch.buffer.begin(), ch.buffer.begin() + static_cast<std::ptrdiff_t>(used));
        return;
      }
      ch.eof = true;
      s_.on_eof(id, now_);
      return;
    }
    // No channel to advance: let time pass so timers can fire.
    now_ = now_ + mms::kSecond;
    s_.on_timeout(now_);
  }

  void drain() {
    IoAction a;
    while (s_.next_io_action(&a)) {
      switch (a.kind) {
        case IoAction::Kind::kConnectTcp:
          CHECK_INVARIANT(a.channel > last_channel_);
          CHECK_INVARIANT(!failed_);
          last_channel_ = a.channel;
          channels_[a.channel] = Channel();
          break;
        case IoAction::Kind::kSend: {
          auto it = channels_.find(a.channel);
          CHECK_INVARIANT(it != channels_.end() && it->second.connected && !it->second.closed);
          CHECK_INVARIANT(!a.bytes.empty());
          break;
        }
        case IoAction::Kind::kClose: {
          auto it = channels_.find(a.channel);
          CHECK_INVARIANT(it != channels_.end() && !it->second.closed);
          it->second.closed = true;
          break;
        }
        case IoAction::Kind::kBindUdp:
        case IoAction::Kind::kSendTo:
          CHECK_INVARIANT(false);  // MMSH never uses UDP
          break;
      }
    }
    Event e;
    while (s_.next_event(&e)) {
      CHECK_INVARIANT(!failed_);
      switch (e.kind) {
        case Event::Kind::kFailed:
          CHECK_INVARIANT(!e.status.ok());
          failed_ = true;
          break;
        case Event::Kind::kHeader: {
          CHECK_INVARIANT(e.header != nullptr && e.info != nullptr);
          CHECK_INVARIANT(e.info->packet_size > 0);
          if (!e.changed) {
            CHECK_INVARIANT(!header_since_redirect_);
          } else {
            CHECK_INVARIANT(header_since_redirect_);
          }
          if (last_header_ && *last_header_ == *e.header) {
            // Re-announcing the current header needs a $C (a new playlist entry).
            CHECK_INVARIANT(e.changed);
            ++repeated_headers_;
            CHECK_INVARIANT(repeated_headers_ <= change_markers_);
          }
          last_header_ = e.header;
          header_since_redirect_ = true;
          packet_size_ = e.info->packet_size;
          break;
        }
        case Event::Kind::kPacket:
          CHECK_INVARIANT(packet_size_ != 0);
          CHECK_INVARIANT(e.payload.size() <= packet_size_);
          break;
        case Event::Kind::kRedirect:
          header_since_redirect_ = false;
          last_header_.reset();
          packet_size_ = 0;
          break;
        case Event::Kind::kConnected:
        case Event::Kind::kEos:
        case Event::Kind::kBandwidth:
          break;
      }
    }
    check_deadline();
  }

  void check_deadline() {
    std::optional<Instant> d = s_.next_deadline();
    if (!d) {
      return;
    }
    CHECK_INVARIANT(timeout_ > 0);
    CHECK_INVARIANT(!failed_);
    CHECK_INVARIANT(!throttled_);
    // The deadline is last_activity + k * timeout (k = 1, or 4 between playlist entries).
    const Instant b1 = *d + (-timeout_);
    const Instant b4 = *d + (-4 * timeout_);
    Instant base;
    if (b1 >= base_ && b1 <= now_) {
      base = b1;
    } else if (b4 >= base_ && b4 <= now_) {
      base = b4;
    } else {
      ::mms::test::invariant_violated("deadline base moved backwards or into the future");
    }
    base_ = base;
  }

  Provider* p_;
  Duration timeout_;
  mms::mmsh::MmshClientSession s_;
  Instant now_{1000 * mms::kSecond};
  Instant base_{0};
  std::map<ChannelId, Channel> channels_;
  ChannelId last_channel_ = 0;
  bool failed_ = false;
  bool closed_by_user_ = false;
  bool throttled_ = false;
  // Possible $C frames delivered (every "$C" byte pair, an upper bound) and
  // Header events that repeated the current header.
  std::size_t change_markers_ = 0;
  std::size_t repeated_headers_ = 0;
  bool header_since_redirect_ = false;
  std::uint32_t packet_size_ = 0;
  std::shared_ptr<const std::vector<std::uint8_t>> last_header_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Provider p(data, size);
  mms::session::ClientConfig cfg;
  static const char* const kUrls[] = {
      "mmsh://media.example:8080/clip.asf",
      "mmsh://user:pw@media.example/secret.asf",
      "mms://media.example/live",
  };
  mms::Result<mms::Url> url = mms::parse_url(kUrls[p.integral(0, 2)]);
  if (!url.ok()) {
    std::abort();
  }
  cfg.url = *url;
  cfg.client_guid = "{2a4e2c8b-5c1d-4f3e-9b7a-0123456789ab}";
  cfg.connection_speed_kbps =
      static_cast<std::uint32_t>(p.integral(0, 3) == 3 ? p.integral(1, 1000) : 0);
  cfg.timeout = static_cast<Duration>(p.integral(0, 30)) * mms::kSecond;
  if (cfg.timeout == 0) {
    cfg.timeout = 15 * mms::kSecond;  // keep the default case (0 = no timer) rare
  }
  Harness h(&p, std::move(cfg));
  h.run();
  return 0;
}

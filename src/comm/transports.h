// Internal to the comm layer: the channels and servers of each mode.
#pragma once

#include <atomic>
#include <chrono>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cwasi/comm/channel.h"
#include "cwasi/common/byte_budget.h"
#include "cwasi/comm/frame.h"
#include "cwasi/common/fd.h"
#include "cwasi/common/mutex.h"
#include "cwasi/comm/router.h"
#include "cwasi/common/connection_server.h"
#include "stream.h"

namespace cwasi::comm {

// Settings the transports share.
struct TransportConfig {
  std::string token;
  size_t ring_bytes = 4u << 20;
  uint64_t max_payload = 1ull << 30;
  // 0 leaves TCP buffer sizes to the kernel: Linux autotuning grows them to
  // tcp_rmem/tcp_wmem max (megabytes), faster than any fixed size here
  // (measured: 2 MB calls 450 us autotuned vs 606 us with 4 MiB fixed).
  int tcp_buffer_bytes = 0;
  // An authenticated peer's connection closes after this long without a
  // frame (a pooled client connection notices and reconnects).
  std::chrono::milliseconds peer_idle_timeout{120000};
  // Payload bytes of calls being served, all connections together (shared
  // by the serving transports); null: no budget.
  std::shared_ptr<ByteBudget> inflight;
};

// embedded: the target runs in this process; one copy each way.
class EmbeddedChannel : public Channel {
 public:
  explicit EmbeddedChannel(LocalFunctions& functions) : functions_(functions) {}
  Mode mode() const override { return Mode::kEmbedded; }
  Result<void> call(const std::string& endpoint, std::string_view target,
                    std::span<const uint8_t> request, PayloadSink& response,
                    const CallOptions& options) override;
  Result<void> send(const std::string& endpoint, std::string_view target,
                    std::span<const uint8_t> message, const CallOptions& options) override;

 private:
  LocalFunctions& functions_;
};

// A pool of idle connections per endpoint. Thread-safe.
template <typename Conn>
class ConnectionPool {
 public:
  std::unique_ptr<Conn> take(const std::string& endpoint) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    auto& idle = idle_[endpoint];
    if (idle.empty()) return nullptr;
    auto c = std::move(idle.back());
    idle.pop_back();
    return c;
  }
  void give(const std::string& endpoint, std::unique_ptr<Conn> c) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    auto& idle = idle_[endpoint];
    if (idle.size() < kMaxIdle) idle.push_back(std::move(c));
  }

 private:
  static constexpr size_t kMaxIdle = 256;
  Mutex mu_;
  std::map<std::string, std::vector<std::unique_ptr<Conn>>> idle_ GUARDED_BY(mu_);
};

// A channel over pooled frame-stream connections: local (rings) and remote
// (TCP) differ only in their Conn, which provides
//   static Result<std::unique_ptr<Conn>> connect(endpoint, config, deadline)
//   bool stale()  // the peer went away while the connection sat in the pool
// and is a ByteStream.
template <typename Conn, Mode kMode>
class StreamChannel : public Channel {
 public:
  explicit StreamChannel(TransportConfig config) : config_(std::move(config)) {}
  Mode mode() const override { return kMode; }
  Result<void> call(const std::string& endpoint, std::string_view target,
                    std::span<const uint8_t> request, PayloadSink& response,
                    const CallOptions& options) override {
    return roundTrip(endpoint, FrameType::kCall, target, request, &response, options);
  }
  Result<void> send(const std::string& endpoint, std::string_view target,
                    std::span<const uint8_t> message, const CallOptions& options) override {
    return roundTrip(endpoint, FrameType::kSend, target, message, nullptr, options);
  }

 private:
  Result<void> roundTrip(const std::string& endpoint, FrameType type, std::string_view target,
                            std::span<const uint8_t> payload, PayloadSink* response,
                            const CallOptions& options) {
    std::unique_ptr<Conn> conn = pool_.take(endpoint);
    if (conn && conn->stale()) conn.reset();  // e.g. the host restarted meanwhile
    if (!conn) {
      TRY_ASSIGN(conn, Conn::connect(endpoint, config_, options.deadline));
    }
    StreamOutcome outcome =
        streamCall(*conn, type, target, payload, response, options, config_.max_payload);
    if (outcome.stream_ok) pool_.give(endpoint, std::move(conn));  // else it goes
    return outcome.result;
  }

  TransportConfig config_;
  ConnectionPool<Conn> pool_;
};

// local: shared-memory rings to another process's unix socket (the endpoint).
std::unique_ptr<Channel> makeShmChannel(TransportConfig config);

// Serves one accepted unix connection: handshake (peer uid, token, ring
// memory), then frames through the rings.
void serveShmConnection(int fd, const std::atomic<bool>& stopping, LocalFunctions& functions,
                        const TransportConfig& config);

// remote: TCP frames to "host:port".
std::unique_ptr<Channel> makeTcpChannel(TransportConfig config);

// The connections of a listener that have not said hello yet, each for at
// most `timeout`. Past `max` of them, the oldest that has sent nothing at
// all is cut off (its socket shut down) for the newcomer: silent peers hold
// at most `max` of the listener's connections, not for long, and a token
// holder — whose hello comes with its connection — always gets in. Peers
// whose hello is there but not read yet (a burst) are never cut.
// Thread-safe.
class Handshakes {
 public:
  struct Pending {
    int fd;
    bool cut = false;
  };
  using Position = std::list<Pending>::iterator;

  Handshakes(size_t max, std::chrono::milliseconds timeout) : max_(max), timeout_(timeout) {}
  // `fd` begins its handshake; the oldest is cut off when `max` already do.
  Position enter(int fd) EXCLUDES(mu_);
  // The handshake of `pos` is over (said, failed, or cut off).
  void leave(Position pos) EXCLUDES(mu_);
  std::chrono::milliseconds timeout() const { return timeout_; }
  uint64_t cut() const { return cut_.load(); }

 private:
  const size_t max_;
  const std::chrono::milliseconds timeout_;
  Mutex mu_;
  std::list<Pending> pending_ GUARDED_BY(mu_);  // oldest first
  size_t live_ GUARDED_BY(mu_) = 0;              // pending_ not cut off
  std::atomic<uint64_t> cut_{0};
};

// Serves one accepted TCP connection: hello (token) within a place of
// `handshakes`, then frames.
void serveTcpConnection(int fd, const std::atomic<bool>& stopping, LocalFunctions& functions,
                        const TransportConfig& config, Handshakes& handshakes);

// redis (baseline): payloads go through a Redis server — SET the payload,
// then LPUSH a notification that the target's host BLPOPs; the response comes
// back the same way.
class RedisConnection;
class RedisChannel : public Channel {
 public:
  RedisChannel(std::string address, TransportConfig config);
  ~RedisChannel() override;
  Mode mode() const override { return Mode::kRedis; }
  Result<void> call(const std::string& endpoint, std::string_view target,
                    std::span<const uint8_t> request, PayloadSink& response,
                    const CallOptions& options) override;
  Result<void> send(const std::string& endpoint, std::string_view target,
                    std::span<const uint8_t> message, const CallOptions& options) override;

 private:
  std::string address_;
  TransportConfig config_;
  ConnectionPool<RedisConnection> pool_;
};

// Workers that take calls and messages from Redis for the functions they
// are told to serve. Thread-safe.
class RedisServer {
 public:
  // Fails (Unavailable) when Redis cannot be reached.
  static Result<std::unique_ptr<RedisServer>> start(std::string address, int workers_per_function,
                                                    LocalFunctions& functions);
  ~RedisServer();
  // Starts serving `name` (no-op if already served).
  void serve(const std::string& name) EXCLUDES(mu_);
  // Stops serving `name` and joins its workers.
  void stopServing(const std::string& name) EXCLUDES(mu_);

 private:
  struct Workers {
    std::atomic<bool> stopping{false};
    std::vector<std::thread> threads;
  };
  RedisServer(std::string address, int workers, LocalFunctions& functions)
      : address_(std::move(address)), workers_(workers), functions_(functions) {}
  const std::string address_;
  const int workers_;
  LocalFunctions& functions_;
  Mutex mu_;
  std::map<std::string, std::unique_ptr<Workers>> served_ GUARDED_BY(mu_);
};

}  // namespace cwasi::comm

// The HTTP server's insides shared by its two files: the server (listener,
// executor, budgets, counters: server.cc) and its connections (session.cc).
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <filesystem>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cwasi/common/byte_budget.h"
#include "cwasi/common/executor.h"
#include "cwasi/common/files.h"
#include "cwasi/common/log.h"
#include "cwasi/common/mutex.h"
#include "cwasi/http/server.h"

namespace cwasi::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

inline constexpr uint32_t kHeaderLimit = 64 * 1024;
// A connection's read buffer: headers up to kHeaderLimit plus one read.
inline constexpr size_t kBufferLimit = kHeaderLimit + 64 * 1024;
// While the budget is short, a request looks again this often.
inline constexpr auto kBudgetPoll = std::chrono::milliseconds(5);
// Out of fds (say), accepting pauses this long instead of spinning.
inline constexpr auto kAcceptPause = std::chrono::milliseconds(50);
// A connection closed with a request body unread is drained this long (at
// most kLingerBytes) first, so that the client reads our answer instead of
// a reset.
inline constexpr auto kLingerTime = std::chrono::seconds(2);
inline constexpr size_t kLingerBytes = 1u << 20;
inline constexpr size_t kFdReserve = 64;  // fds kept for everything but connections
// A connection idle this long between requests gives back its read buffer.
inline constexpr std::chrono::milliseconds kTrimAfter{1000};
// A body that goes on (HttpResponse::more) is asked for more this often.
inline constexpr std::chrono::milliseconds kFollowPoll{100};

// The response's head on the wire, for a body of `body_size` bytes;
// `head_only` for HEAD (and 204/304).
inline std::string serializeHead(const HttpResponse& r, uint64_t body_size, bool keep_alive) {
  // 204 and 304 never carry a body (RFC 7230 §3.3.3): bytes after their head
  // would be read as the next response. A function may answer with either.
  const bool no_body = r.status == 204 || r.status == 304;
  std::string out;
  out.reserve(160);
  out += "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out += statusReason(r.status);
  out += "\r\nServer: cwasi\r\nContent-Type: ";
  out += r.content_type;
  if (!no_body && !r.more) {  // a body that goes on ends when the connection does
    out += "\r\nContent-Length: ";
    out += std::to_string(body_size);
  }
  out += keep_alive ? "\r\n" : "\r\nConnection: close\r\n";
  for (const auto& [k, v] : r.headers) {
    out += k;
    out += ": ";
    out += v;
    out += "\r\n";
  }
  out += "\r\n";
  return out;
}

// A body is sent from the spool only past this size: below, it goes in
// memory whatever the budget says (an error's answer always goes).
inline constexpr size_t kSpoolAbove = 64 * 1024;
// A spooled body is read back and sent this much at a time.
inline constexpr size_t kSpoolPiece = 256 * 1024;

// Whether the I/O context still takes work: a gate may resume a request
// from any thread at any time, the server's stop included.
struct IoGuard {
  Mutex mu;
  bool alive GUARDED_BY(mu) = true;
};

// A connection waiting for its next request, which a full server may close
// to make room for a new one.
struct IdleConnection {
  virtual ~IdleConnection() = default;
  // Closes the connection if it still waits (on its own strand); any thread.
  virtual void evict() = 0;
  // Where it is in the IdleList; touched only under the list's lock.
  std::optional<std::list<std::weak_ptr<IdleConnection>>::iterator> idle_pos;
};

// The connections waiting for a request, oldest first: when the server is
// full, accept closes the oldest to make room (as nginx reuses its idle
// keep-alive connections) instead of refusing the newcomer. Thread-safe.
class IdleList {
 public:
  // Idempotent: a connection is listed once, where it first began to wait.
  void add(IdleConnection& c, std::weak_ptr<IdleConnection> weak) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    if (!c.idle_pos) c.idle_pos = list_.insert(list_.end(), std::move(weak));
  }
  void remove(IdleConnection& c) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    if (c.idle_pos) list_.erase(*std::exchange(c.idle_pos, std::nullopt));
  }
  // Takes the oldest connection still there out of the list and evicts it:
  // false when none waits.
  bool evictOldest() EXCLUDES(mu_) {
    std::shared_ptr<IdleConnection> oldest;
    {
      MutexLock lock(mu_);
      while (!list_.empty() && !oldest) {
        oldest = list_.front().lock();
        if (oldest) oldest->idle_pos.reset();
        list_.pop_front();
      }
    }
    if (!oldest) return false;
    oldest->evict();
    return true;
  }

 private:
  Mutex mu_;
  std::list<std::weak_ptr<IdleConnection>> list_ GUARDED_BY(mu_);
};

struct HttpServer::Impl {
  HttpServerConfig config;
  Handler handler;
  Hooks hooks;
  std::string address;
  size_t max_connections = 0;
  ByteBudget own_budget;
  ByteBudget& budget;  // own_budget, or the one the config shares
  ByteBudget spool_budget;
  std::filesystem::path spool_dir;
  log::RateLimited accept_log;

  std::atomic<size_t> connections{0};
  std::atomic<bool> draining{false};
  std::atomic<uint64_t> accepted{0}, refused{0}, screened{0}, over_budget{0}, timed_out{0},
      accept_errors{0}, evicted{0}, spooled{0};
  IdleList idle_connections;
  // Requests with a handler or parked by the gate: drain() waits for none.
  Mutex mu;
  CondVar idle;
  size_t handling GUARDED_BY(mu) = 0;

  std::unique_ptr<asio::io_context> io;
  // The listener, its pause timer and their closing run on this strand:
  // a drain and a stop each close it, perhaps on two I/O threads at once.
  std::optional<asio::strand<asio::io_context::executor_type>> accept_strand;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<asio::steady_timer> accept_pause;
  Executor handlers;
  std::shared_ptr<IoGuard> io_guard = std::make_shared<IoGuard>();
  std::vector<std::thread> io_threads;

  explicit Impl(const HttpServerConfig& c);

  void accept();
  void onAccept(const boost::system::error_code& ec, tcp::socket socket);
  // Closes the listener (on the I/O threads, where it is used).
  void stopAccepting();
  void stop();
  // Writes a response body to an unlinked file in the spool dir, within the
  // spool budget (taken: the caller gives it back). ResourceExhausted when
  // full; the file system's error (a full disk, say) otherwise.
  Result<Fd> spool(std::string_view body);
  void beginHandling() EXCLUDES(mu);
  void endHandling() EXCLUDES(mu);
};

// Serves one accepted connection until it closes (session.cc).
void startSession(HttpServer::Impl& server, tcp::socket socket);

}  // namespace cwasi::http

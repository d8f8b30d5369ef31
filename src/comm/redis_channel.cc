// The baseline: exchange through a remote store, as serverless platforms
// without a direct path do. A call writes the request to Redis, then notifies
// the target's host through a list; the host reads the request, runs the
// function, writes the response and notifies back. Keys expire, so a crashed
// peer leaves no garbage behind for long.
//
//   cwasi:req:<id>   request bytes          (SET ... PX, then GET + DEL by the host)
//   cwasi:q:<fn>     "<id> <timeout_ms> <depth>" notifications (LPUSH / BLPOP)
//   cwasi:resp:<id>  response bytes         (SET ... PX by the host, GET + DEL by the caller)
//   cwasi:done:<id>  "<status>"             (LPUSH by the host, BLPOP by the caller)
//   cwasi:mbox:<fn>  one-way messages       (LPUSH / BLPOP)
#include <hiredis/hiredis.h>

#include <cstring>
#include <random>
#include <sstream>

#include "cwasi/common/log.h"
#include "cwasi/common/net.h"
#include "cwasi/comm/guest_abi.h"
#include "transports.h"

namespace cwasi::comm {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kKeyTtlMs = 300000;

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

std::string randomId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  return buf;
}

}  // namespace

class RedisConnection {
 public:
  explicit RedisConnection(redisContext* c) : c_(c) {}
  ~RedisConnection() { redisFree(c_); }

  static Result<std::unique_ptr<RedisConnection>> connect(const std::string& address) {
    TRY_ASSIGN(net::Endpoint ep, net::parseEndpoint(address));
    timeval tv{5, 0};
    redisContext* c = redisConnectWithTimeout(ep.host.c_str(), ep.port, tv);
    if (c == nullptr) return unavailable("cannot connect to Redis at " + address);
    if (c->err) {
      std::string msg = c->errstr;
      redisFree(c);
      return unavailable("cannot connect to Redis at " + address + ": " + msg);
    }
    return std::make_unique<RedisConnection>(c);
  }

  // Runs one command given as binary-safe arguments.
  Result<Reply> command(std::initializer_list<std::string_view> args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (auto a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(c_, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (r == nullptr) return unavailable(std::string("Redis: ") + (c_->err ? c_->errstr : "no reply"));
    Reply reply(r);
    if (reply->type == REDIS_REPLY_ERROR) {
      return internal("Redis error: " + std::string(reply->str, reply->len));
    }
    return reply;
  }

  // Sets the socket timeout for the next commands (a BLPOP waits longer).
  void timeout(std::chrono::milliseconds t) {
    timeval tv{static_cast<time_t>(t.count() / 1000), static_cast<suseconds_t>((t.count() % 1000) * 1000)};
    redisSetTimeout(c_, tv);
  }

 private:
  redisContext* c_;
};

RedisChannel::RedisChannel(std::string address, TransportConfig config)
    : address_(std::move(address)), config_(std::move(config)) {}
RedisChannel::~RedisChannel() = default;

Result<void> RedisChannel::call(const std::string&, std::string_view target,
                                   std::span<const uint8_t> request, PayloadSink& response,
                                   const CallOptions& options) {
  std::unique_ptr<RedisConnection> conn = pool_.take(address_);
  if (!conn) {
    TRY_ASSIGN(conn, RedisConnection::connect(address_));
  }
  const std::string id = randomId();
  const std::string req_key = "cwasi:req:" + id, resp_key = "cwasi:resp:" + id,
                    done_key = "cwasi:done:" + id, queue = "cwasi:q:" + std::string(target);
  const std::string ttl = std::to_string(kKeyTtlMs);
  std::string_view body(reinterpret_cast<const char*>(request.data()), request.size());
  uint32_t timeout_ms = options.remainingMs();
  conn->timeout(std::chrono::seconds(30));
  TRY(conn->command({"SET", req_key, body, "PX", ttl}));
  std::string note = id + " " + std::to_string(timeout_ms) + " " + std::to_string(options.depth);
  TRY(conn->command({"LPUSH", queue, note}));

  // Wait for the host's notification (BLPOP takes seconds, fractions allowed).
  double wait_s = timeout_ms ? timeout_ms / 1000.0 : 3600.0;
  char wait_buf[32];
  std::snprintf(wait_buf, sizeof wait_buf, "%.3f", wait_s);
  conn->timeout(std::chrono::milliseconds(static_cast<int64_t>(wait_s * 1000) + 5000));
  TRY_ASSIGN(Reply done, conn->command({"BLPOP", done_key, wait_buf}));
  if (done->type != REDIS_REPLY_ARRAY || done->elements != 2) {
    // Nobody served it in time: withdraw the request (the caller may retry).
    (void)conn->command({"DEL", req_key});
    pool_.give(address_, std::move(conn));
    return deadlineExceeded("no host answered for " + std::string(target) + " through Redis");
  }
  int32_t status = std::atoi(done->element[1]->str);
  conn->timeout(std::chrono::seconds(30));
  TRY_ASSIGN(Reply resp, conn->command({"GET", resp_key}));
  TRY(conn->command({"DEL", resp_key}));
  pool_.give(address_, std::move(conn));
  std::string_view got = resp->type == REDIS_REPLY_STRING ? std::string_view(resp->str, resp->len)
                                                          : std::string_view();
  if (status != 0) return errorForAbiStatus(status, std::string(got));
  return response.write({reinterpret_cast<const uint8_t*>(got.data()), got.size()});
}

Result<void> RedisChannel::send(const std::string&, std::string_view target,
                                   std::span<const uint8_t> message, const CallOptions&) {
  std::unique_ptr<RedisConnection> conn = pool_.take(address_);
  if (!conn) {
    TRY_ASSIGN(conn, RedisConnection::connect(address_));
  }
  conn->timeout(std::chrono::seconds(30));
  std::string_view body(reinterpret_cast<const char*>(message.data()), message.size());
  TRY(conn->command({"LPUSH", "cwasi:mbox:" + std::string(target), body}));
  pool_.give(address_, std::move(conn));
  return {};
}

namespace {

// Leaves a call's answer where its caller waits: the body (or the error's
// text), then the status as the notification.
Result<void> answer(RedisConnection& c, const std::string& id, int32_t status,
                    std::string_view body) {
  const std::string ttl = std::to_string(kKeyTtlMs);
  TRY(c.command({"SET", "cwasi:resp:" + id, body, "PX", ttl}));
  TRY(c.command({"LPUSH", "cwasi:done:" + id, std::to_string(status)}));
  TRY(c.command({"PEXPIRE", "cwasi:done:" + id, ttl}));
  return {};
}

// A function's response goes to Redis as it is written.
class RedisResponder : public PayloadSink {
 public:
  RedisResponder(RedisConnection& conn, const std::string& id) : conn_(conn), id_(id) {}
  Result<std::span<uint8_t>> allocate(uint64_t size) override {
    buffer_.resize(size);
    return std::span<uint8_t>(buffer_);
  }
  Result<void> write(std::span<const uint8_t> body) override {
    answered_ = true;
    return answer(conn_, id_, 0, {reinterpret_cast<const char*>(body.data()), body.size()});
  }
  // After a success: sends what was allocated (or nothing) if not yet sent.
  Result<void> finish() { return answered_ ? Result<void>() : write(buffer_); }

 private:
  RedisConnection& conn_;
  const std::string& id_;
  std::vector<uint8_t> buffer_;
  bool answered_ = false;
};

// One worker: serves calls (or, with `mailbox`, one-way messages) for one
// function until stopped. Messages have a worker of their own so that calls
// blocked in cwasi_recv never keep the messages they wait for from arriving.
void redisWorker(const std::string& address, const std::string& fn, bool mailbox,
                 LocalFunctions& functions, const std::atomic<bool>& stopping) {
  std::unique_ptr<RedisConnection> conn;
  const std::string queue = "cwasi:q:" + fn, mbox = "cwasi:mbox:" + fn;
  const std::string& key_to_pop = mailbox ? mbox : queue;
  while (!stopping.load()) {
    if (!conn) {
      auto c = RedisConnection::connect(address);
      if (!c.ok()) {
        CWASI_LOG(kWarn, c.error().message());
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        continue;
      }
      conn = std::move(*c);
    }
    conn->timeout(std::chrono::seconds(5));
    // A short BLPOP so that stop() is noticed promptly.
    auto popped = conn->command({"BLPOP", key_to_pop, "0.2"});
    if (!popped.ok()) {
      conn.reset();
      continue;
    }
    Reply& r = *popped;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) continue;  // timed out
    std::string key(r->element[0]->str, r->element[0]->len);
    std::string value(r->element[1]->str, r->element[1]->len);
    if (key == mbox) {
      SpanSource source({reinterpret_cast<const uint8_t*>(value.data()), value.size()});
      (void)functions.deliver(fn, source);
      continue;
    }
    std::istringstream note(value);
    std::string id;
    uint32_t timeout_ms = 0;
    uint16_t depth = 0;
    note >> id >> timeout_ms >> depth;
    if (id.empty()) continue;
    auto req = conn->command({"GET", "cwasi:req:" + id});
    if (!req.ok()) {
      conn.reset();
      continue;
    }
    (void)conn->command({"DEL", "cwasi:req:" + id});
    if ((*req)->type != REDIS_REPLY_STRING) continue;  // withdrawn or expired
    SpanSource source({reinterpret_cast<const uint8_t*>((*req)->str), (*req)->len});
    CallOptions options;
    if (timeout_ms > 0) options.deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    options.depth = depth;
    RedisResponder responder(*conn, id);
    auto served = functions.execute(fn, source, responder, options);
    auto answered = served.ok() ? responder.finish()
                                : answer(*conn, id, abiStatusFor(served.error()),
                                         served.error().message());
    if (!answered.ok()) conn.reset();
  }
}

}  // namespace

Result<std::unique_ptr<RedisServer>> RedisServer::start(std::string address, int workers,
                                                        LocalFunctions& functions) {
  // Fail early, and clearly, when Redis is not there.
  TRY(RedisConnection::connect(address));
  return std::unique_ptr<RedisServer>(new RedisServer(std::move(address), workers, functions));
}

void RedisServer::serve(const std::string& fn) {
  MutexLock lock(mu_);
  auto& w = served_[fn];
  if (w) return;
  w = std::make_unique<Workers>();
  Workers* ws = w.get();
  for (int i = 0; i <= workers_; ++i) {
    const bool mailbox = i == workers_;
    ws->threads.emplace_back([this, fn, mailbox, ws] {
      redisWorker(address_, fn, mailbox, functions_, ws->stopping);
    });
  }
}

void RedisServer::stopServing(const std::string& fn) {
  std::unique_ptr<Workers> w;
  {
    MutexLock lock(mu_);
    auto it = served_.find(fn);
    if (it == served_.end()) return;
    w = std::move(it->second);
    served_.erase(it);
  }
  w->stopping.store(true);
  for (auto& t : w->threads) t.join();
}

RedisServer::~RedisServer() {
  std::map<std::string, std::unique_ptr<Workers>> all;
  {
    MutexLock lock(mu_);
    all.swap(served_);
  }
  for (auto& [name, w] : all) w->stopping.store(true);
  for (auto& [name, w] : all) {
    for (auto& t : w->threads) t.join();
  }
}

}  // namespace cwasi::comm

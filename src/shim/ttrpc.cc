#include "cwasi/shim/ttrpc.h"

#include "cwasi/common/connection_server.h"
#include "cwasi/common/executor.h"
#include "cwasi/common/log.h"
#include "cwasi/common/mutex.h"
#include "cwasi/common/net.h"
#include "ttrpc/ttrpc.pb.h"

namespace cwasi::shim {
namespace {

using Clock = std::chrono::steady_clock;

// Calls of all connections running at once, and as many waiting for a
// thread; past that a request is answered ResourceExhausted at once.
constexpr size_t kMaxConcurrentCalls = 128;
constexpr auto kWriteTimeout = std::chrono::seconds(30);
constexpr auto kFinalAnswers = std::chrono::seconds(1);

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

TtrpcStatus ttrpcStatusFor(const Error& error) {
  return {static_cast<int32_t>(error.code()), error.message()};
}

Error errorForTtrpcStatus(const TtrpcStatus& status) {
  const bool known = status.code > 0 && status.code <= static_cast<int32_t>(Code::kUnauthenticated);
  return Error(known ? static_cast<Code>(status.code) : Code::kUnknown, status.message);
}

std::string socketPath(const std::string& address) {
  constexpr std::string_view kUnix = "unix://";
  return address.rfind(kUnix, 0) == 0 ? address.substr(kUnix.size()) : address;
}

Result<Frame> readFrame(int fd, Clock::time_point deadline) {
  uint8_t header[10];
  TRY(net::recvAll(fd, header, deadline));
  Frame f;
  const uint32_t length = (uint32_t{header[0]} << 24) | (uint32_t{header[1]} << 16) |
                          (uint32_t{header[2]} << 8) | header[3];
  f.stream = (uint32_t{header[4]} << 24) | (uint32_t{header[5]} << 16) | (uint32_t{header[6]} << 8) |
             header[7];
  f.type = header[8];
  f.flags = header[9];
  if (length > kMaxFrameBytes) {
    return invalidArgument("ttrpc: frame of " + std::to_string(length) + " bytes exceeds 4 MiB");
  }
  f.payload.resize(length);
  TRY(net::recvAll(fd, {reinterpret_cast<uint8_t*>(f.payload.data()), length}, deadline));
  return f;
}

Result<void> writeFrame(int fd, const Frame& f, Clock::time_point deadline) {
  if (f.payload.size() > kMaxFrameBytes) return invalidArgument("ttrpc: message exceeds 4 MiB");
  const auto n = static_cast<uint32_t>(f.payload.size());
  const uint8_t header[10] = {static_cast<uint8_t>(n >> 24),        static_cast<uint8_t>(n >> 16),
                              static_cast<uint8_t>(n >> 8),         static_cast<uint8_t>(n),
                              static_cast<uint8_t>(f.stream >> 24), static_cast<uint8_t>(f.stream >> 16),
                              static_cast<uint8_t>(f.stream >> 8),  static_cast<uint8_t>(f.stream),
                              f.type,                               f.flags};
  return net::sendAllv(fd, {std::span<const uint8_t>(header), bytes(f.payload)}, deadline);
}

struct TtrpcServer::Impl {
  std::map<std::string, TtrpcMethod> methods;  // "service/method"; fixed once serving
  // containerd multiplexes calls on one connection (a Wait blocks for as long
  // as the task runs while State calls go on), so requests run concurrently,
  // on the executor's reused threads: none is started per request.
  Executor calls{{.name = "ttrpc", .max_threads = kMaxConcurrentCalls,
                  .max_queued = kMaxConcurrentCalls, .keep_idle = 4}};
  std::unique_ptr<ConnectionServer> server;

  // One connection: its reader here, its calls on the executor, one writer
  // at a time. Returns when the peer left and every call of it has answered.
  void serveConnection(int fd, const std::atomic<bool>& stopping) {
    struct Inflight {
      Mutex mu;
      CondVar done;
      size_t calls GUARDED_BY(mu) = 0;
    } inflight;
    Mutex write_mu;
    auto reply = [&](uint32_t stream, const std::string& payload) {
      MutexLock lock(write_mu);
      (void)writeFrame(fd, {stream, kFrameResponse, 0, payload}, Clock::now() + kWriteTimeout);
    };
    uint32_t last_stream = 0;
    while (!stopping.load()) {
      auto frame = readFrame(fd, Clock::time_point::max());
      if (!frame.ok()) {
        if (frame.error().code() != Code::kUnavailable) {
          CWASI_LOG(kWarn, "ttrpc: " << frame.error().message());
        }
        break;
      }
      if (frame->type != kFrameRequest) continue;  // data frames: no streaming methods here
      // As containerd/ttrpc: a client's streams are odd and only go up.
      if (frame->stream % 2 != 1) {
        reply(frame->stream, statusReply(invalidArgument(
                                 "ttrpc: stream id must be odd for client-initiated streams")));
        continue;
      }
      if (frame->stream <= last_stream) {
        reply(frame->stream,
              statusReply(invalidArgument("ttrpc: stream id cannot be reused and must increase")));
        continue;
      }
      last_stream = frame->stream;
      const auto received = Clock::now();
      {
        MutexLock lock(inflight.mu);
        ++inflight.calls;
      }
      auto posted = calls.post([this, &reply, &inflight, received, f = std::move(*frame)] {
        reply(f.stream, answer(f.payload, received));
        MutexLock lock(inflight.mu);
        --inflight.calls;
        inflight.done.notifyAll();
      });
      if (!posted.ok()) {
        reply(last_stream, statusReply(posted.error()));
        MutexLock lock(inflight.mu);
        --inflight.calls;
      }
    }
    MutexLock lock(inflight.mu);
    while (inflight.calls > 0) inflight.done.wait(inflight.mu);
  }

  static std::string statusReply(const Error& error) {
    grpc::Response response;
    const TtrpcStatus status = ttrpcStatusFor(error);
    response.mutable_status()->set_code(static_cast<::grpc::Code>(status.code));
    response.mutable_status()->set_message(status.message);
    return response.SerializeAsString();
  }

  std::string answer(const std::string& payload, Clock::time_point received) {
    Result<std::string> out = call(payload, received);
    if (!out.ok()) return statusReply(out.error());
    grpc::Response response;
    response.set_payload(std::move(*out));
    return response.SerializeAsString();
  }

  // Runs the method that a Request payload names, unless the caller's
  // timeout_nano ran out while it waited for a thread.
  Result<std::string> call(const std::string& payload, Clock::time_point received) {
    grpc::Request request;
    if (!request.ParseFromString(payload)) return invalidArgument("ttrpc: malformed request");
    if (request.timeout_nano() > 0 &&
        Clock::now() >= received + std::chrono::nanoseconds(request.timeout_nano())) {
      return deadlineExceeded(request.service() + "/" + request.method() +
                              ": the caller's timeout passed before the call could start");
    }
    Metadata md;
    for (const auto& kv : request.metadata()) md.emplace_back(kv.key(), kv.value());
    auto it = methods.find(request.service() + "/" + request.method());
    if (it == methods.end()) {
      return unimplemented(request.service() + "/" + request.method() + " is not implemented");
    }
    return it->second(request.payload(), md);
  }
};

TtrpcServer::TtrpcServer() : impl_(std::make_unique<Impl>()) {}
TtrpcServer::~TtrpcServer() {
  // Answers being made go out first (the Shutdown call's own, say), for a
  // second at most: a Wait may block for as long as its task runs.
  (void)impl_->calls.drain(Clock::now() + kFinalAnswers);
  if (impl_->server) impl_->server->stop();
  impl_->calls.stop();
}

void TtrpcServer::handle(const std::string& service, const std::string& method, TtrpcMethod fn) {
  impl_->methods[service + "/" + method] = std::move(fn);
}

void TtrpcServer::serve(Fd listener) {
  Impl* impl = impl_.get();
  impl_->server = std::make_unique<ConnectionServer>(
      std::move(listener),
      [impl](int fd, const std::atomic<bool>& stopping) { impl->serveConnection(fd, stopping); });
}

Result<std::unique_ptr<TtrpcClient>> TtrpcClient::connect(const std::string& address,
                                                          std::chrono::milliseconds timeout) {
  TRY_ASSIGN(Fd fd, net::connectUnix(socketPath(address), Clock::now() + timeout));
  return std::unique_ptr<TtrpcClient>(new TtrpcClient(std::move(fd)));
}

Result<std::string> TtrpcClient::call(const std::string& service, const std::string& method,
                                      const std::string& payload, const Metadata& metadata,
                                      std::chrono::milliseconds timeout) {
  grpc::Request request;
  request.set_service(service);
  request.set_method(method);
  request.set_payload(payload);
  request.set_timeout_nano(std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count());
  for (const auto& [k, v] : metadata) {
    auto* kv = request.add_metadata();
    kv->set_key(k);
    kv->set_value(v);
  }
  const uint32_t stream = next_stream_;
  next_stream_ += 2;
  const auto deadline = Clock::now() + timeout;
  TRY(writeFrame(fd_.get(), {stream, kFrameRequest, 0, request.SerializeAsString()}, deadline));
  for (;;) {
    TRY_ASSIGN(Frame frame, readFrame(fd_.get(), deadline));
    if (frame.stream != stream || frame.type != kFrameResponse) continue;
    grpc::Response response;
    if (!response.ParseFromString(frame.payload)) return internal("ttrpc: malformed response");
    if (response.has_status() && response.status().code() != 0) {
      return errorForTtrpcStatus({response.status().code(), response.status().message()})
          .withContext(service + "/" + method);
    }
    return response.payload();
  }
}

}  // namespace cwasi::shim

#include "cwasi/comm/function_host.h"

#include <unistd.h>

#include <cstring>
#include <map>

#include "cwasi/comm/frame.h"
#include "cwasi/common/log.h"
#include "cwasi/common/net.h"
#include "cwasi/runtime/abi.h"
#include "executor.h"
#include "transports.h"

namespace cwasi::comm {
namespace {

namespace abi = runtime::abi;
using Clock = std::chrono::steady_clock;

struct LoadedFunction {
  std::string name;
  std::string trust_domain;
  std::shared_ptr<const runtime::Module> module;
  runtime::Limits limits;
  std::unique_ptr<Mailbox> mailbox;
};

std::vector<uint8_t> text(const std::string& s) { return {s.begin(), s.end()}; }

}  // namespace

struct FunctionHost::Impl : HostCore {
  HostConfig config;
  TransportConfig transport;
  std::unique_ptr<runtime::Engine> engine;
  std::map<std::string, LoadedFunction, std::less<>> functions;  // fixed after start
  CommStats stats;
  std::unique_ptr<NodeRegistry> registry;
  std::unique_ptr<ClusterMap> cluster;
  std::unique_ptr<LocalityResolver> resolver;
  std::array<std::unique_ptr<Channel>, kModeCount> channels;
  std::string tcp_address, unix_socket;
  std::unique_ptr<ConnectionServer> tcp_server, unix_server;
  std::unique_ptr<RedisServer> redis_server;

  ~Impl() override {
    // Stop serving before anything the servers use goes away.
    redis_server.reset();
    tcp_server.reset();
    unix_server.reset();
    if (registry) {
      for (const auto& [name, fn] : functions) registry->withdraw(name);
    }
    if (!unix_socket.empty()) ::unlink(unix_socket.c_str());
  }

  // Counts response bytes for the stats.
  struct CountingSink : PayloadSink {
    explicit CountingSink(PayloadSink& inner) : inner(inner) {}
    Result<std::span<uint8_t>> allocate(uint64_t size) override {
      bytes += size;
      return inner.allocate(size);
    }
    PayloadSink& inner;
    uint64_t bytes = 0;
  };

  std::chrono::milliseconds defaultTimeout() const override { return config.default_timeout; }

  const LoadedFunction* find(std::string_view name) const {
    auto it = functions.find(name);
    return it == functions.end() ? nullptr : &it->second;
  }

  // Runs a function to completion; the request is copied once, from its
  // source straight into the callee's memory.
  Result<void> execute(std::string_view name, PayloadSource& request, const CallOptions& options,
                       const Respond& respond) override {
    const LoadedFunction* fn = find(name);
    if (fn == nullptr) {
      TRY(request.drain());
      return respond(abi::kErrUnknownTarget, text("no function " + std::string(name) + " here"));
    }
    stats.served_calls.fetch_add(1, std::memory_order_relaxed);
    CallContext ctx;
    ctx.host = this;
    ctx.function = fn->name;
    ctx.trust_domain = fn->trust_domain;
    ctx.depth = options.depth;
    ctx.deadline = options.deadline;
    runtime::RunContext rc;
    rc.args = {fn->name};
    rc.limits = fn->limits;
    rc.host_data = &ctx;
    rc.error_output = runtime::OutputCapture{.max_bytes = 64 * 1024};
    if (options.deadline != Clock::time_point::max()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(options.deadline -
                                                                        Clock::now());
      if (left.count() <= 0) {
        TRY(request.drain());
        return respond(abi::kErrTimeout, text("deadline passed before " + fn->name + " started"));
      }
      if (rc.limits.timeout.count() == 0 || left < rc.limits.timeout) rc.limits.timeout = left;
    }
    if (fn->module->kind() == runtime::FunctionKind::kCommand) {
      return executeCommand(*fn, request, std::move(rc), respond);
    }
    auto instance = runtime::Instance::create(*engine, fn->module, std::move(rc));
    if (!instance.ok()) {
      TRY(request.drain());
      return respond(abi::kErrUnavailable, text(instance.error().message()));
    }
    return runReactor(*fn, **instance, request, respond);
  }

  Result<void> runReactor(const LoadedFunction& fn, runtime::Instance& instance,
                          PayloadSource& request, const Respond& respond) {
    if (request.size() > UINT32_MAX) {
      TRY(request.drain());
      return respond(abi::kErrTooLarge, text("request larger than 4 GiB"));
    }
    const auto len = static_cast<uint32_t>(request.size());
    auto ptr = instance.allocate(len);
    if (!ptr.ok()) {
      TRY(request.drain());
      return respond(failureStatus(ptr.error()), text(ptr.error().message()));
    }
    auto dst = instance.memory().slice(*ptr, len);
    if (!dst.ok()) {
      TRY(request.drain());
      return respond(abi::kErrInternal, text(dst.error().message()));
    }
    TRY(request.readInto(*dst));
    auto response = instance.handleAt(*ptr, len);
    if (!response.ok()) {
      return respond(failureStatus(response.error()),
                     text(fn.name + ": " + response.error().message()));
    }
    return respond(response->status == 0 ? abi::kOk : abi::kErrFunctionFailed, response->body);
  }

  // Command functions: request on stdin, response from stdout.
  Result<void> executeCommand(const LoadedFunction& fn, PayloadSource& request,
                              runtime::RunContext rc, const Respond& respond) {
    std::vector<uint8_t> input(request.size());
    TRY(request.readInto(input));
    auto inv = runtime::invoke(*engine, fn.module, std::move(rc), input);
    if (!inv.ok()) {
      return respond(failureStatus(inv.error()), text(fn.name + ": " + inv.error().message()));
    }
    return respond(inv->status == 0 ? abi::kOk : abi::kErrFunctionFailed, inv->body);
  }

  // The status a caller sees when its target failed.
  static int32_t failureStatus(const Error& e) {
    switch (e.code()) {
      case Code::kDeadlineExceeded: return abi::kErrTimeout;
      case Code::kResourceExhausted: return abi::kErrTooLarge;
      default: return abi::kErrFunctionFailed;
    }
  }

  Result<int32_t> deliver(std::string_view name, PayloadSource& message) override {
    const LoadedFunction* fn = find(name);
    if (fn == nullptr) {
      TRY(message.drain());
      return abi::kErrUnknownTarget;
    }
    std::vector<uint8_t> bytes(message.size());
    TRY(message.readInto(bytes));
    return fn->mailbox->push(std::move(bytes)) ? abi::kOk : abi::kErrUnavailable;
  }

  int32_t receive(std::string_view function, Clock::time_point deadline,
                  PayloadSink& sink) override {
    const LoadedFunction* fn = find(function);
    if (fn == nullptr) return abi::kErrUnsupported;
    auto message = fn->mailbox->pop(deadline);
    if (!message) return abi::kErrTimeout;
    auto dst = sink.allocate(message->size());
    if (!dst.ok()) return abiStatusFor(dst.error());
    if (!message->empty()) std::memcpy(dst->data(), message->data(), message->size());
    return abi::kOk;
  }

  // Routes and performs a call or a send; maps every failure to a status.
  int32_t route(std::string_view target, std::span<const uint8_t> payload, PayloadSink* response,
                std::string_view caller_domain, const CallOptions& options) {
    auto r = resolver->resolve(target, caller_domain);
    if (!r.ok()) return abiStatusFor(r.error());
    const int m = static_cast<int>(r->mode);
    Channel* channel = channels[m].get();
    if (channel == nullptr) return abi::kErrUnsupported;  // e.g. redis not configured
    stats.calls[m].fetch_add(1, std::memory_order_relaxed);
    stats.bytes_out[m].fetch_add(payload.size(), std::memory_order_relaxed);
    std::optional<CountingSink> counted;
    if (response != nullptr) counted.emplace(*response);
    Result<int32_t> status = counted
                                 ? channel->call(r->endpoint, target, payload, *counted, options)
                                 : channel->send(r->endpoint, target, payload, options);
    if (counted) stats.bytes_in[m].fetch_add(counted->bytes, std::memory_order_relaxed);
    if (!status.ok()) {
      stats.failures[m].fetch_add(1, std::memory_order_relaxed);
      resolver->routeFailed(target, *r);
      CWASI_LOG(kDebug, modeName(r->mode) << " call to " << target
                                          << " failed: " << status.error().message());
      return abiStatusFor(status.error());
    }
    return *status;
  }

  int32_t routeCall(std::string_view target, std::span<const uint8_t> request,
                    PayloadSink& response, std::string_view caller_domain,
                    const CallOptions& options) override {
    return route(target, request, &response, caller_domain, options);
  }

  int32_t routeSend(std::string_view target, std::span<const uint8_t> message,
                    std::string_view caller_domain, const CallOptions& options) override {
    return route(target, message, nullptr, caller_domain, options);
  }

};

Result<std::unique_ptr<FunctionHost>> FunctionHost::start(HostConfig config) {
  auto impl = std::make_unique<Impl>();
  impl->transport.token = config.token;
  impl->transport.ring_bytes = config.ring_bytes;
  impl->transport.max_payload = config.max_payload;

  auto engine_config = config.engine;
  auto abi_functions = guestAbiFunctions();
  engine_config.host_functions.insert(engine_config.host_functions.end(), abi_functions.begin(),
                                      abi_functions.end());
  TRY_ASSIGN(impl->engine, runtime::Engine::create(std::move(engine_config)));

  for (const auto& spec : config.functions) {
    if (!validName(spec.name)) {
      return invalidArgument("invalid function name '" + spec.name + "' (use [A-Za-z0-9._-])");
    }
    if (impl->functions.count(spec.name)) {
      return alreadyExists("function " + spec.name + " is given twice");
    }
    auto module = impl->engine->loadFile(spec.module);
    if (!module.ok()) return std::move(module).error().withContext("function " + spec.name);
    if ((*module)->kind() == runtime::FunctionKind::kUnknown) {
      return invalidArgument("function " + spec.name + ": " + spec.module.string() +
                             " is neither a command nor a reactor");
    }
    LoadedFunction fn;
    fn.name = spec.name;
    fn.trust_domain = spec.trust_domain;
    fn.module = *module;
    fn.limits = spec.limits;
    fn.mailbox = std::make_unique<Mailbox>(config.mailbox_capacity);
    impl->functions.emplace(spec.name, std::move(fn));
  }

  Impl* host = impl.get();
  impl->channels[static_cast<int>(Mode::kEmbedded)] = std::make_unique<EmbeddedChannel>(*host);
  impl->channels[static_cast<int>(Mode::kLocal)] = makeShmChannel(impl->transport);
  impl->channels[static_cast<int>(Mode::kRemote)] = makeTcpChannel(impl->transport);
  if (!config.redis.empty()) {
    impl->channels[static_cast<int>(Mode::kRedis)] =
        std::make_unique<RedisChannel>(config.redis, impl->transport);
  }

  if (!config.runtime_dir.empty()) {
    impl->registry = std::make_unique<NodeRegistry>(config.runtime_dir);
  }
  if (!config.cluster_file.empty()) {
    impl->cluster = std::make_unique<ClusterMap>(config.cluster_file);
  }
  impl->resolver = std::make_unique<LocalityResolver>(
      [host](std::string_view name) -> std::optional<std::string> {
        const LoadedFunction* fn = host->find(name);
        if (fn == nullptr) return std::nullopt;
        return fn->trust_domain;
      },
      impl->registry.get(), impl->cluster.get(), config.policy, impl->stats);

  // Servers last: from here on, peers may call in.
  if (!config.listen.empty()) {
    TRY_ASSIGN(net::Endpoint ep, net::parseEndpoint(config.listen));
    net::Endpoint bound;
    TRY_ASSIGN(Fd listener, net::listenTcp(ep, &bound));
    impl->tcp_address = bound.toString();
    impl->tcp_server = std::make_unique<ConnectionServer>(
        std::move(listener), [host](int fd, const std::atomic<bool>& stopping) {
          serveTcpConnection(fd, stopping, *host, host->transport);
        });
  }
  if (impl->registry) {
    std::error_code ec;
    std::filesystem::create_directories(config.runtime_dir / "hosts", ec);
    impl->unix_socket =
        (config.runtime_dir / "hosts" / (std::to_string(::getpid()) + ".sock")).string();
    TRY_ASSIGN(Fd listener, net::listenUnix(impl->unix_socket));
    impl->unix_server = std::make_unique<ConnectionServer>(
        std::move(listener), [host](int fd, const std::atomic<bool>& stopping) {
          serveShmConnection(fd, stopping, *host, host->transport);
        });
    const uint64_t start_time = processStartTime(::getpid());
    for (const auto& [name, fn] : impl->functions) {
      TRY(impl->registry->publish(
          {name, impl->unix_socket, fn.trust_domain, ::getpid(), start_time}));
    }
  }
  if (!config.redis.empty() && !impl->functions.empty()) {
    std::vector<std::string> names;
    for (const auto& [name, fn] : impl->functions) names.push_back(name);
    TRY_ASSIGN(impl->redis_server,
               RedisServer::start(config.redis, names, config.redis_workers, *host,
                                  impl->transport));
  }
  impl->config = std::move(config);
  return std::unique_ptr<FunctionHost>(new FunctionHost(std::move(impl)));
}

FunctionHost::FunctionHost(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FunctionHost::~FunctionHost() = default;

Result<CallResult> FunctionHost::invoke(std::string_view name, std::span<const uint8_t> request,
                                        const CallOptions& options) {
  CallOptions o = options;
  if (o.deadline == Clock::time_point::max()) o.deadline = Clock::now() + impl_->defaultTimeout();
  SpanSource source(request);
  CallResult result;
  TRY(impl_->execute(name, source, o, [&](int32_t status, std::span<const uint8_t> body) {
    result.status = status;
    result.body.assign(body.begin(), body.end());
    return Result<void>();
  }));
  return result;
}

Result<CallResult> FunctionHost::call(std::string_view target, std::span<const uint8_t> request,
                                      std::string_view caller_domain, const CallOptions& options) {
  CallOptions o = options;
  if (o.deadline == Clock::time_point::max()) o.deadline = Clock::now() + impl_->defaultTimeout();
  VectorSink sink;
  CallResult result;
  result.status = impl_->routeCall(target, request, sink, caller_domain, o);
  result.body = std::move(sink.data);
  return result;
}

Result<int32_t> FunctionHost::send(std::string_view target, std::span<const uint8_t> message,
                                   std::string_view caller_domain) {
  CallOptions o;
  o.deadline = Clock::now() + impl_->defaultTimeout();
  return impl_->routeSend(target, message, caller_domain, o);
}

const std::string& FunctionHost::tcpAddress() const { return impl_->tcp_address; }
const std::string& FunctionHost::unixSocket() const { return impl_->unix_socket; }
CommStats& FunctionHost::stats() { return impl_->stats; }
runtime::Engine& FunctionHost::engine() { return *impl_->engine; }
LocalityResolver& FunctionHost::resolver() { return *impl_->resolver; }

}  // namespace cwasi::comm

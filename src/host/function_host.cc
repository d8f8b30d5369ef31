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

// A deployed function. Shared (shared_ptr) between the host's table and the
// calls in flight, so that a removed or replaced function lives until its
// last call ends.
struct LoadedFunction {
  FunctionSpec spec;
  std::shared_ptr<Mailbox> mailbox;  // shared: carried over when redeployed

  // The compiled module, or null when unloaded (scaled to zero); *cold tells
  // whether this call had to load it.
  Result<std::shared_ptr<const runtime::Module>> module(runtime::Engine& engine, bool* cold)
      EXCLUDES(mu) {
    MutexLock lock(mu);
    *cold = false;
    if (!loaded) {
      TRY_ASSIGN(loaded, engine.loadFile(spec.module));
      *cold = true;
    }
    return loaded;
  }
  void unload() EXCLUDES(mu) {
    MutexLock lock(mu);
    loaded.reset();
  }
  bool isLoaded() EXCLUDES(mu) {
    MutexLock lock(mu);
    return loaded != nullptr;
  }

  Mutex mu;
  std::shared_ptr<const runtime::Module> loaded GUARDED_BY(mu);
};

std::vector<uint8_t> text(const std::string& s) { return {s.begin(), s.end()}; }

}  // namespace

struct FunctionHost::Impl : HostCore {
  HostConfig config;
  TransportConfig transport;
  std::unique_ptr<runtime::Engine> engine;
  Mutex functions_mu;
  std::map<std::string, std::shared_ptr<LoadedFunction>, std::less<>> functions
      GUARDED_BY(functions_mu);
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
      MutexLock lock(functions_mu);
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

  std::shared_ptr<LoadedFunction> find(std::string_view name) EXCLUDES(functions_mu) {
    MutexLock lock(functions_mu);
    auto it = functions.find(name);
    return it == functions.end() ? nullptr : it->second;
  }

  // Runs a function to completion; the request is copied once, from its
  // source straight into the callee's memory.
  Result<void> execute(std::string_view name, PayloadSource& request, const CallOptions& options,
                       const Respond& respond) override {
    return run(name, request, options, respond, nullptr);
  }

  // What run() tells its caller besides the response.
  struct RunInfo {
    bool cold_start = false;
    std::string log;  // the function's stderr
  };

  // Runs a function to completion; the request is copied once, from its
  // source straight into the callee's memory.
  Result<void> run(std::string_view name, PayloadSource& request, const CallOptions& options,
                   const Respond& respond, RunInfo* info) {
    std::shared_ptr<LoadedFunction> fn = find(name);
    if (fn == nullptr) {
      TRY(request.drain());
      return respond(abi::kErrUnknownTarget, text("no function " + std::string(name) + " here"));
    }
    bool cold = false;
    auto module = fn->module(*engine, &cold);
    if (info) info->cold_start = cold;
    if (!module.ok()) {
      TRY(request.drain());
      return respond(abi::kErrUnavailable, text(module.error().message()));
    }
    stats.served_calls.fetch_add(1, std::memory_order_relaxed);
    const FunctionSpec& spec = fn->spec;
    CallContext ctx;
    ctx.host = this;
    ctx.function = spec.name;
    ctx.trust_domain = spec.trust_domain;
    ctx.depth = options.depth;
    ctx.deadline = options.deadline;
    runtime::RunContext rc;
    rc.args = {spec.name};
    rc.env = spec.env;
    rc.env.insert(rc.env.end(), options.env.begin(), options.env.end());
    rc.limits = spec.limits;
    rc.host_data = &ctx;
    rc.error_output = runtime::OutputCapture{.max_bytes = 64 * 1024};
    if (options.deadline != Clock::time_point::max()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(options.deadline -
                                                                        Clock::now());
      if (left.count() <= 0) {
        TRY(request.drain());
        return respond(abi::kErrTimeout, text("deadline passed before " + spec.name + " started"));
      }
      if (rc.limits.timeout.count() == 0 || left < rc.limits.timeout) rc.limits.timeout = left;
    }
    if ((*module)->kind() == runtime::FunctionKind::kCommand) {
      return runCommand(spec, *module, request, std::move(rc), respond, info);
    }
    auto instance = runtime::Instance::create(*engine, *module, std::move(rc));
    if (!instance.ok()) {
      TRY(request.drain());
      return respond(abi::kErrUnavailable, text(instance.error().message()));
    }
    Result<void> done = runReactor(spec, **instance, request, respond);
    if (info) info->log = (*instance)->capturedStderr();
    return done;
  }

  Result<void> runReactor(const FunctionSpec& fn, runtime::Instance& instance,
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
  Result<void> runCommand(const FunctionSpec& fn, std::shared_ptr<const runtime::Module> module,
                          PayloadSource& request, runtime::RunContext rc, const Respond& respond,
                          RunInfo* info) {
    std::vector<uint8_t> input(request.size());
    TRY(request.readInto(input));
    auto inv = runtime::invoke(*engine, std::move(module), std::move(rc), input);
    if (!inv.ok()) {
      return respond(failureStatus(inv.error()), text(fn.name + ": " + inv.error().message()));
    }
    if (info) info->log = inv->stderr_text;
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
    std::shared_ptr<LoadedFunction> fn = find(name);
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
    std::shared_ptr<LoadedFunction> fn = find(function);
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

  Result<void> deploy(FunctionSpec spec) EXCLUDES(functions_mu) {
    if (!validName(spec.name)) {
      return invalidArgument("invalid function name '" + spec.name + "' (use [A-Za-z0-9._-])");
    }
    auto fn = std::make_shared<LoadedFunction>();
    fn->spec = std::move(spec);
    bool cold = false;
    TRY_ASSIGN(auto module, fn->module(*engine, &cold));
    if (module->kind() == runtime::FunctionKind::kUnknown) {
      return invalidArgument("function " + fn->spec.name + ": " + fn->spec.module.string() +
                             " is neither a command nor a reactor");
    }
    const std::string name = fn->spec.name;
    {
      MutexLock lock(functions_mu);
      auto& slot = functions[name];
      fn->mailbox = slot ? slot->mailbox : std::make_shared<Mailbox>(config.mailbox_capacity);
      slot = fn;
    }
    if (registry && fn->spec.publish) {
      TRY(registry->publish({name, unix_socket, fn->spec.trust_domain, ::getpid(),
                             processStartTime(::getpid())}));
    }
    if (redis_server && fn->spec.publish) redis_server->serve(name);
    return {};
  }

  bool remove(std::string_view name) EXCLUDES(functions_mu) {
    {
      MutexLock lock(functions_mu);
      auto it = functions.find(name);
      if (it == functions.end()) return false;
      functions.erase(it);
    }
    if (registry) registry->withdraw(std::string(name));
    if (redis_server) redis_server->stopServing(std::string(name));
    return true;
  }

  int32_t routeSend(std::string_view target, std::span<const uint8_t> message,
                    std::string_view caller_domain, const CallOptions& options) override {
    return route(target, message, nullptr, caller_domain, options);
  }

};

Result<std::unique_ptr<FunctionHost>> FunctionHost::start(HostConfig config) {
  auto impl = std::make_unique<Impl>();
  std::vector<FunctionSpec> functions = std::move(config.functions);
  config.functions.clear();
  impl->config = std::move(config);
  const HostConfig& c = impl->config;
  impl->transport.token = c.token;
  impl->transport.ring_bytes = c.ring_bytes;
  impl->transport.max_payload = c.max_payload;

  auto engine_config = c.engine;
  auto abi_functions = guestAbiFunctions();
  engine_config.host_functions.insert(engine_config.host_functions.end(), abi_functions.begin(),
                                      abi_functions.end());
  TRY_ASSIGN(impl->engine, runtime::Engine::create(std::move(engine_config)));

  Impl* host = impl.get();
  impl->channels[static_cast<int>(Mode::kEmbedded)] = std::make_unique<EmbeddedChannel>(*host);
  impl->channels[static_cast<int>(Mode::kLocal)] = makeShmChannel(impl->transport);
  impl->channels[static_cast<int>(Mode::kRemote)] = makeTcpChannel(impl->transport);
  if (!c.redis.empty()) {
    impl->channels[static_cast<int>(Mode::kRedis)] =
        std::make_unique<RedisChannel>(c.redis, impl->transport);
  }
  if (!c.runtime_dir.empty()) impl->registry = std::make_unique<NodeRegistry>(c.runtime_dir);
  if (!c.cluster_file.empty()) impl->cluster = std::make_unique<ClusterMap>(c.cluster_file);
  impl->resolver = std::make_unique<LocalityResolver>(
      [host](std::string_view name) -> std::optional<std::string> {
        auto fn = host->find(name);
        if (fn == nullptr) return std::nullopt;
        return fn->spec.trust_domain;
      },
      impl->registry.get(), impl->cluster.get(), c.policy, impl->stats);

  if (!c.listen.empty()) {
    TRY_ASSIGN(net::Endpoint ep, net::parseEndpoint(c.listen));
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
    std::filesystem::create_directories(c.runtime_dir / "hosts", ec);
    impl->unix_socket = (c.runtime_dir / "hosts" / (std::to_string(::getpid()) + ".sock")).string();
    TRY_ASSIGN(Fd listener, net::listenUnix(impl->unix_socket));
    impl->unix_server = std::make_unique<ConnectionServer>(
        std::move(listener), [host](int fd, const std::atomic<bool>& stopping) {
          serveShmConnection(fd, stopping, *host, host->transport);
        });
  }
  if (!c.redis.empty()) {
    TRY_ASSIGN(impl->redis_server, RedisServer::start(c.redis, c.redis_workers, *host));
  }
  for (auto& spec : functions) {
    if (host->find(spec.name)) return alreadyExists("function " + spec.name + " is given twice");
    const std::string name = spec.name;
    if (auto r = host->deploy(std::move(spec)); !r.ok()) {
      return std::move(r).error().withContext("function " + name);
    }
  }
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
  Impl::RunInfo info;
  TRY(impl_->run(name, source, o,
                 [&](int32_t status, std::span<const uint8_t> body) {
                   result.status = status;
                   result.body.assign(body.begin(), body.end());
                   return Result<void>();
                 },
                 &info));
  result.cold_start = info.cold_start;
  result.log = std::move(info.log);
  return result;
}

Result<void> FunctionHost::deploy(FunctionSpec spec) { return impl_->deploy(std::move(spec)); }
bool FunctionHost::remove(std::string_view name) { return impl_->remove(name); }

void FunctionHost::unload(std::string_view name) {
  if (auto fn = impl_->find(name)) fn->unload();
}

bool FunctionHost::loaded(std::string_view name) {
  auto fn = impl_->find(name);
  return fn && fn->isLoaded();
}

Result<void> FunctionHost::load(std::string_view name) {
  auto fn = impl_->find(name);
  if (fn == nullptr) return notFound("no function " + std::string(name));
  bool cold = false;
  TRY(fn->module(*impl_->engine, &cold));
  return {};
}

std::vector<std::string> FunctionHost::functionNames() {
  MutexLock lock(impl_->functions_mu);
  std::vector<std::string> names;
  for (const auto& [name, fn] : impl_->functions) names.push_back(name);
  return names;
}

Result<runtime::FunctionKind> FunctionHost::kind(std::string_view name) {
  auto fn = impl_->find(name);
  if (fn == nullptr) return notFound("no function " + std::string(name));
  bool cold = false;
  TRY_ASSIGN(auto module, fn->module(*impl_->engine, &cold));
  return module->kind();
}

Result<int> FunctionHost::runMain(std::string_view name, runtime::RunContext rc) {
  auto fn = impl_->find(name);
  if (fn == nullptr) return notFound("no function " + std::string(name));
  bool cold = false;
  TRY_ASSIGN(auto module, fn->module(*impl_->engine, &cold));
  CallContext ctx;
  ctx.host = impl_.get();
  ctx.function = fn->spec.name;
  ctx.trust_domain = fn->spec.trust_domain;
  ctx.deadline = rc.limits.timeout.count() > 0 ? Clock::now() + rc.limits.timeout
                                                : Clock::time_point::max();
  rc.host_data = &ctx;
  TRY_ASSIGN(auto instance, runtime::Instance::create(*impl_->engine, std::move(module), std::move(rc)));
  return instance->runMain();
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

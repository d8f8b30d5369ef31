#include "cwasi/host/function_host.h"

#include <map>

#include "cwasi/comm/frame.h"
#include "cwasi/comm/guest_abi.h"
#include "cwasi/common/mutex.h"
#include "mailbox.h"

namespace cwasi::host {

using Clock = std::chrono::steady_clock;

// A function the host holds: its spec, mailbox and compiled module (once
// loaded). Shared (shared_ptr) between the host's table and the
// calls in flight, so that a removed or replaced function lives until its
// last call ends.
struct Hosted {
  FunctionSpec spec;
  std::shared_ptr<Mailbox> mailbox;  // shared: carried over when redeployed

  // What module() found.
  struct Loaded {
    std::shared_ptr<const runtime::Module> module;
    bool cold = false;  // it had to be loaded now
  };
  // The compiled module, loading it if it was unloaded (scaled to zero).
  Result<Loaded> module(runtime::Engine& engine) EXCLUDES(mu) {
    MutexLock lock(mu);
    if (loaded) return Loaded{loaded, false};
    TRY_ASSIGN(loaded, engine.loadFile(spec.module));
    return Loaded{loaded, true};
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

namespace {

// What a caller sees when a function it ran failed: a timeout stays a
// timeout, the function's own verdict (Aborted) and an unavailable instance
// keep their code; anything else the function ran into (its memory limit,
// fuel, a cancellation) is the function failing.
Error asFunctionFailure(const std::string& name, Error e) {
  switch (e.code()) {
    case Code::kAborted:
    case Code::kUnavailable: return e;
    case Code::kDeadlineExceeded: return e.withContext(name);
    default: return aborted(name + ": " + e.message());
  }
}

// Remembers whether the destination refused the response (the caller's
// memory is full, its connection broke): that is the caller's failure, not
// the function's, and keeps its own error.
class WatchedSink : public runtime::PayloadSink {
 public:
  explicit WatchedSink(runtime::PayloadSink& inner) : inner_(inner) {}
  Result<std::span<uint8_t>> allocate(uint64_t size) override {
    auto r = inner_.allocate(size);
    refused_ = refused_ || !r.ok();
    return r;
  }
  Result<void> write(std::span<const uint8_t> payload) override {
    auto r = inner_.write(payload);
    refused_ = refused_ || !r.ok();
    return r;
  }
  bool refused() const { return refused_; }

 private:
  runtime::PayloadSink& inner_;
  bool refused_ = false;
};

}  // namespace

struct FunctionHost::Impl : comm::LocalFunctions {
  std::unique_ptr<runtime::Engine> engine;
  size_t mailbox_capacity = 0;
  std::unique_ptr<comm::OutboundHttp> outbound;
  Mutex functions_mu;
  std::map<std::string, std::shared_ptr<Hosted>, std::less<>> functions
      GUARDED_BY(functions_mu);
  // Declared last: destroyed first, so no server calls into a table that is
  // going away.
  std::unique_ptr<comm::Router> router;

  std::shared_ptr<Hosted> find(std::string_view name) EXCLUDES(functions_mu) {
    MutexLock lock(functions_mu);
    auto it = functions.find(name);
    return it == functions.end() ? nullptr : it->second;
  }

  Result<std::shared_ptr<Hosted>> get(std::string_view name) {
    auto fn = find(name);
    if (fn == nullptr) return notFound("no function " + std::string(name) + " here");
    return fn;
  }

  // The context every instance of `fn` carries for the guest ABI.
  comm::CallContext callContext(const FunctionSpec& spec, uint16_t depth,
                                Clock::time_point deadline) {
    comm::CallContext ctx;
    ctx.router = router.get();
    ctx.functions = this;
    ctx.function = spec.name;
    ctx.trust_domain = spec.trust_domain;
    ctx.outbound = outbound.get();
    ctx.outbound_grants = &spec.allowed_outbound_hosts;
    ctx.depth = depth;
    ctx.deadline = deadline;
    return ctx;
  }

  // Runs a function to completion; the request is copied once, from its
  // source straight into the callee, and the response once, into `response`.
  // Tells whether the module had to be loaded for it. The status and headers
  // the function set go to `head` when given (only HTTP front ends use them).
  Result<bool> run(std::string_view name, runtime::PayloadSource& request,
                   runtime::PayloadSink& response, const CallOptions& options,
                   runtime::ResponseHead* head = nullptr) {
    TRY_ASSIGN(std::shared_ptr<Hosted> fn, get(name));
    auto loaded = fn->module(*engine);
    if (!loaded.ok()) return unavailable(loaded.error().message());
    const FunctionSpec& spec = fn->spec;
    router->stats().served_calls.fetch_add(1, std::memory_order_relaxed);
    const auto started = Clock::now();
    comm::CallContext ctx = callContext(spec, options.depth, options.deadline);
    runtime::RunContext rc;
    rc.args = {spec.name};
    rc.env = spec.env;
    rc.env.insert(rc.env.end(), options.env.begin(), options.env.end());
    rc.preopens = spec.preopens;
    rc.limits = spec.limits;
    rc.host_data = &ctx;
    if (spec.log) rc.error_output = runtime::OutputTo{spec.log.get()};
    if (options.deadline != Clock::time_point::max()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(options.deadline -
                                                                        Clock::now());
      if (left.count() <= 0) {
        return deadlineExceeded("deadline passed before " + spec.name + " started");
      }
      if (rc.limits.timeout.count() == 0 || left < rc.limits.timeout) rc.limits.timeout = left;
    }
    // What the guest waits for in host calls ends with it too.
    if (rc.limits.timeout.count() > 0) ctx.deadline = std::min(ctx.deadline, started + rc.limits.timeout);
    WatchedSink watched(response);
    auto done = runtime::invoke(*engine, loaded->module, std::move(rc), request, watched, head);
    if (!done.ok()) {
      if (watched.refused()) return std::move(done).error();
      return asFunctionFailure(spec.name, std::move(done).error());
    }
    return loaded->cold;
  }

  // ---- comm::LocalFunctions ---------------------------------------------

  Result<void> execute(std::string_view name, runtime::PayloadSource& request,
                       runtime::PayloadSink& response, const CallOptions& options) override {
    TRY(run(name, request, response, options));
    return {};
  }

  Result<void> deliver(std::string_view name, runtime::PayloadSource& message) override {
    TRY_ASSIGN(std::shared_ptr<Hosted> fn, get(name));
    TRY_ASSIGN(std::vector<uint8_t> bytes, runtime::readAll(message));
    if (!fn->mailbox->push(std::move(bytes))) return unavailable("mailbox of " + fn->spec.name + " is full");
    return {};
  }

  Result<void> receive(std::string_view name, Clock::time_point deadline,
                       runtime::PayloadSink& sink) override {
    auto fn = find(name);
    if (fn == nullptr) return unimplemented("no mailbox for " + std::string(name) + " here");
    auto message = fn->mailbox->pop(deadline);
    if (!message) return deadlineExceeded("no message for " + std::string(name));
    return sink.write(*message);
  }

  // `options`, with the default deadline when the caller gave none.
  CallOptions withDeadline(CallOptions options) const {
    if (options.deadline == Clock::time_point::max()) {
      options.deadline = Clock::now() + router->defaultTimeout();
    }
    return options;
  }

  std::optional<std::string> trustDomainOf(std::string_view name) override {
    auto fn = find(name);
    if (fn == nullptr) return std::nullopt;
    return fn->spec.trust_domain;
  }

  // ---- the table ---------------------------------------------------------

  Result<std::shared_ptr<Hosted>> prepare(FunctionSpec spec) {
    if (!comm::validName(spec.name)) {
      return invalidArgument("invalid function name '" + spec.name + "' (use [A-Za-z0-9._-])");
    }
    auto fn = std::make_shared<Hosted>();
    fn->spec = std::move(spec);
    TRY_ASSIGN(Hosted::Loaded loaded, fn->module(*engine));
    if (loaded.module->kind() == runtime::FunctionKind::kUnknown) {
      return invalidArgument("function " + fn->spec.name + ": " + fn->spec.module.string() +
                             " is neither a command nor a reactor");
    }
    return fn;
  }

  Result<void> deploy(FunctionSpec spec) EXCLUDES(functions_mu) {
    TRY_ASSIGN(std::shared_ptr<Hosted> fn, prepare(std::move(spec)));
    return commit(std::move(fn));
  }

  Result<void> commit(std::shared_ptr<Hosted> fn) EXCLUDES(functions_mu) {
    const std::string name = fn->spec.name;
    {
      MutexLock lock(functions_mu);
      auto& slot = functions[name];
      fn->mailbox = slot ? slot->mailbox : std::make_shared<Mailbox>(mailbox_capacity);
      slot = fn;
    }
    if (fn->spec.publish) TRY(router->publish(name, fn->spec.trust_domain));
    return {};
  }

  bool remove(std::string_view name) EXCLUDES(functions_mu) {
    {
      MutexLock lock(functions_mu);
      auto it = functions.find(name);
      if (it == functions.end()) return false;
      functions.erase(it);
    }
    router->withdraw(std::string(name));
    return true;
  }
};

Result<std::unique_ptr<FunctionHost>> FunctionHost::start(HostConfig config) {
  auto impl = std::make_unique<Impl>();
  impl->mailbox_capacity = config.mailbox_capacity;
  impl->outbound = std::make_unique<comm::OutboundHttp>(config.outbound);
  auto engine_config = config.engine;
  auto abi_functions = comm::guestAbiFunctions();
  engine_config.host_functions.insert(engine_config.host_functions.end(), abi_functions.begin(),
                                      abi_functions.end());
  TRY_ASSIGN(impl->engine, runtime::Engine::create(std::move(engine_config)));
  std::vector<FunctionSpec> functions = std::move(config.functions);
  TRY_ASSIGN(impl->router, comm::Router::start(std::move(config), *impl));
  for (auto& spec : functions) {
    if (impl->find(spec.name)) return alreadyExists("function " + spec.name + " is given twice");
    const std::string name = spec.name;
    if (auto r = impl->deploy(std::move(spec)); !r.ok()) {
      return std::move(r).error().withContext("function " + name);
    }
  }
  return std::unique_ptr<FunctionHost>(new FunctionHost(std::move(impl)));
}

FunctionHost::FunctionHost(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FunctionHost::~FunctionHost() = default;

Result<Response> FunctionHost::invoke(std::string_view name, std::span<const uint8_t> request,
                                      const CallOptions& options) {
  runtime::SpanSource source(request);
  runtime::VectorSink sink;
  Response r;
  TRY_ASSIGN(r.cold_start,
             impl_->run(name, source, sink, impl_->withDeadline(options), &r.head));
  r.body = std::move(sink.data);
  return r;
}

Result<void> FunctionHost::deploy(FunctionSpec spec) { return impl_->deploy(std::move(spec)); }

Result<Prepared> FunctionHost::prepare(FunctionSpec spec) {
  TRY_ASSIGN(std::shared_ptr<Hosted> fn, impl_->prepare(std::move(spec)));
  return Prepared(std::move(fn));
}

Result<void> FunctionHost::commit(Prepared prepared) {
  return impl_->commit(std::move(prepared.fn_));
}

const FunctionSpec& Prepared::spec() const { return fn_->spec; }
bool FunctionHost::remove(std::string_view name) { return impl_->remove(name); }

void FunctionHost::unload(std::string_view name) {
  if (auto fn = impl_->find(name)) fn->unload();
}

bool FunctionHost::loaded(std::string_view name) {
  auto fn = impl_->find(name);
  return fn && fn->isLoaded();
}

Result<void> FunctionHost::load(std::string_view name) {
  TRY_ASSIGN(std::shared_ptr<Hosted> fn, impl_->get(name));
  TRY(fn->module(*impl_->engine));
  return {};
}

Result<runtime::FunctionKind> FunctionHost::kind(std::string_view name) {
  TRY_ASSIGN(std::shared_ptr<Hosted> fn, impl_->get(name));
  TRY_ASSIGN(Hosted::Loaded loaded, fn->module(*impl_->engine));
  return loaded.module->kind();
}

Result<int> FunctionHost::runMain(std::string_view name, runtime::RunContext rc) {
  TRY_ASSIGN(std::shared_ptr<Hosted> fn, impl_->get(name));
  TRY_ASSIGN(Hosted::Loaded loaded, fn->module(*impl_->engine));
  comm::CallContext ctx = impl_->callContext(
      fn->spec, 0,
      rc.limits.timeout.count() > 0 ? Clock::now() + rc.limits.timeout : Clock::time_point::max());
  rc.host_data = &ctx;
  TRY_ASSIGN(auto instance,
             runtime::Instance::create(*impl_->engine, std::move(loaded.module), std::move(rc)));
  return instance->runMain();
}

Result<std::vector<uint8_t>> FunctionHost::call(std::string_view target,
                                                std::span<const uint8_t> request,
                                                std::string_view caller_domain,
                                                const CallOptions& options) {
  runtime::VectorSink sink;
  TRY(impl_->router->call(target, request, sink, caller_domain, impl_->withDeadline(options)));
  return std::move(sink.data);
}

Result<void> FunctionHost::send(std::string_view target, std::span<const uint8_t> message,
                                std::string_view caller_domain) {
  return impl_->router->send(target, message, caller_domain, impl_->withDeadline({}));
}

Result<std::string> FunctionHost::serveRemote(Fd listener) {
  return impl_->router->serveTcp(std::move(listener));
}

const std::string& FunctionHost::tcpAddress() const { return impl_->router->tcpAddress(); }
const std::string& FunctionHost::unixSocket() const { return impl_->router->unixSocket(); }
comm::CommStats& FunctionHost::stats() { return impl_->router->stats(); }

}  // namespace cwasi::host

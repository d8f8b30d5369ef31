#include "cwasi/comm/router.h"

#include <unistd.h>

#include <array>
#include <set>

#include "cwasi/comm/frame.h"
#include "cwasi/common/log.h"
#include "cwasi/common/mutex.h"
#include "cwasi/common/net.h"
#include "transports.h"

namespace cwasi::comm {
namespace {

// Counts response bytes for the stats, forwarding both ways of writing.
class CountingSink : public PayloadSink {
 public:
  explicit CountingSink(PayloadSink& inner) : inner_(inner) {}
  Result<std::span<uint8_t>> allocate(uint64_t size) override {
    bytes_ += size;
    return inner_.allocate(size);
  }
  Result<void> write(std::span<const uint8_t> payload) override {
    bytes_ += payload.size();
    return inner_.write(payload);
  }
  uint64_t bytes() const { return bytes_; }

 private:
  PayloadSink& inner_;
  uint64_t bytes_ = 0;
};

// Whether an error says the route itself is gone (a dead host, a target
// that moved), rather than that the target failed.
bool routeBroken(const Error& e) {
  return e.code() == Code::kUnavailable || e.code() == Code::kNotFound;
}

}  // namespace

struct Router::Impl {
  RouterConfig config;
  TransportConfig transport;
  std::unique_ptr<Handshakes> handshakes;  // of the TCP listener
  LocalFunctions* functions = nullptr;
  CommStats stats;
  std::unique_ptr<NodeRegistry> registry;
  std::unique_ptr<ClusterMap> cluster;
  std::unique_ptr<LocalityResolver> resolver;
  std::array<std::unique_ptr<Channel>, kModeCount> channels;
  std::string tcp_address, unix_socket;
  std::unique_ptr<ConnectionServer> tcp_server, unix_server;
  std::unique_ptr<RedisServer> redis_server;
  Mutex tcp_mu;
  Mutex published_mu;
  std::set<std::string> published GUARDED_BY(published_mu);

  ~Impl() {
    // No new local callers find us; then stop serving before anything the
    // servers use goes away.
    if (registry) {
      MutexLock lock(published_mu);
      for (const auto& name : published) registry->withdraw(name);
    }
    redis_server.reset();
    tcp_server.reset();
    unix_server.reset();
    if (!unix_socket.empty()) ::unlink(unix_socket.c_str());
  }

  Result<std::string> serveTcp(Fd listener) EXCLUDES(tcp_mu) {
    MutexLock lock(tcp_mu);  // two containers of a pod may ask at once
    if (tcp_server) return failedPrecondition("already serving remote calls on " + tcp_address);
    TRY_ASSIGN(net::Endpoint bound, net::boundEndpoint(listener.get()));
    tcp_address = bound.toString();
    tcp_server = std::make_unique<ConnectionServer>(
        std::move(listener),
        [this](int fd, const std::atomic<bool>& stopping) {
          serveTcpConnection(fd, stopping, *functions, transport, *handshakes);
        },
        config.max_connections);
    return tcp_address;
  }

  // Routes and performs a call (`response` set) or a send.
  Result<void> route(std::string_view target, std::span<const uint8_t> payload,
                     PayloadSink* response, std::string_view caller_domain,
                     const CallOptions& options) {
    TRY_ASSIGN(Route r, resolver->resolve(target, caller_domain));
    const int m = static_cast<int>(r.mode);
    Channel* channel = channels[m].get();
    if (channel == nullptr) {  // e.g. redis not configured
      return unimplemented(std::string(modeName(r.mode)) + " mode is not configured here");
    }
    stats.calls[m].fetch_add(1, std::memory_order_relaxed);
    stats.bytes_out[m].fetch_add(payload.size(), std::memory_order_relaxed);
    std::optional<CountingSink> counted;
    if (response != nullptr) counted.emplace(*response);
    Result<void> done = counted ? channel->call(r.endpoint, target, payload, *counted, options)
                                : channel->send(r.endpoint, target, payload, options);
    if (counted) stats.bytes_in[m].fetch_add(counted->bytes(), std::memory_order_relaxed);
    if (!done.ok() && routeBroken(done.error())) {
      stats.failures[m].fetch_add(1, std::memory_order_relaxed);
      resolver->routeFailed(target, r);
      CWASI_LOG(kDebug, modeName(r.mode) << " call to " << target
                                          << " failed: " << done.error().message());
    }
    return done;
  }
};

Result<std::unique_ptr<Router>> Router::start(RouterConfig config, LocalFunctions& functions) {
  auto impl = std::make_unique<Impl>();
  impl->config = std::move(config);
  impl->functions = &functions;
  const RouterConfig& c = impl->config;
  impl->transport.token = c.token;
  impl->transport.ring_bytes = c.ring_bytes;
  impl->transport.max_payload = c.max_payload;
  impl->transport.peer_idle_timeout = c.peer_idle_timeout;
  impl->transport.inflight = std::make_shared<ByteBudget>(c.max_inflight_bytes);
  impl->handshakes = std::make_unique<Handshakes>(std::max<size_t>(1, c.max_handshakes),
                                                  c.handshake_timeout);

  impl->channels[static_cast<int>(Mode::kEmbedded)] = std::make_unique<EmbeddedChannel>(functions);
  impl->channels[static_cast<int>(Mode::kLocal)] = makeShmChannel(impl->transport);
  impl->channels[static_cast<int>(Mode::kRemote)] = makeTcpChannel(impl->transport);
  if (!c.redis.empty()) {
    impl->channels[static_cast<int>(Mode::kRedis)] =
        std::make_unique<RedisChannel>(c.redis, impl->transport);
  }
  if (!c.runtime_dir.empty()) impl->registry = std::make_unique<NodeRegistry>(c.runtime_dir);
  if (!c.cluster_file.empty()) impl->cluster = std::make_unique<ClusterMap>(c.cluster_file);
  impl->resolver = std::make_unique<LocalityResolver>(
      [&functions](std::string_view name) { return functions.trustDomainOf(name); },
      impl->registry.get(), impl->cluster.get(), c.policy, impl->stats);

  Impl* router = impl.get();
  if (!c.listen.empty()) {
    TRY_ASSIGN(net::Endpoint ep, net::parseEndpoint(c.listen));
    TRY_ASSIGN(Fd listener, net::listenTcp(ep));
    TRY(impl->serveTcp(std::move(listener)));
  }
  if (impl->registry) {
    std::error_code ec;
    std::filesystem::create_directories(c.runtime_dir / "hosts", ec);
    impl->unix_socket = (c.runtime_dir / "hosts" / (std::to_string(::getpid()) + ".sock")).string();
    TRY_ASSIGN(Fd listener, net::listenUnix(impl->unix_socket));
    impl->unix_server = std::make_unique<ConnectionServer>(
        std::move(listener),
        [router](int fd, const std::atomic<bool>& stopping) {
          serveShmConnection(fd, stopping, *router->functions, router->transport);
        },
        c.max_connections);
  }
  if (!c.redis.empty()) {
    TRY_ASSIGN(impl->redis_server, RedisServer::start(c.redis, c.redis_workers, functions));
  }
  return std::unique_ptr<Router>(new Router(std::move(impl)));
}

Router::Router(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Router::~Router() = default;

Result<void> Router::call(std::string_view target, std::span<const uint8_t> request,
                          PayloadSink& response, std::string_view caller_domain,
                          const CallOptions& options) {
  return impl_->route(target, request, &response, caller_domain, options);
}

Result<void> Router::send(std::string_view target, std::span<const uint8_t> message,
                          std::string_view caller_domain, const CallOptions& options) {
  return impl_->route(target, message, nullptr, caller_domain, options);
}

Result<void> Router::publish(const std::string& name, const std::string& trust_domain) {
  {
    MutexLock lock(impl_->published_mu);
    impl_->published.insert(name);
  }
  if (impl_->registry) {
    TRY(impl_->registry->publish(
        {name, impl_->unix_socket, trust_domain, ::getpid(), processStartTime(::getpid())}));
  }
  if (impl_->redis_server) impl_->redis_server->serve(name);
  return {};
}

void Router::withdraw(const std::string& name) {
  {
    MutexLock lock(impl_->published_mu);
    impl_->published.erase(name);
  }
  if (impl_->registry) impl_->registry->withdraw(name);
  if (impl_->redis_server) impl_->redis_server->stopServing(name);
}

Result<std::string> Router::serveTcp(Fd listener) { return impl_->serveTcp(std::move(listener)); }

std::chrono::milliseconds Router::defaultTimeout() const { return impl_->config.default_timeout; }
const std::string& Router::tcpAddress() const { return impl_->tcp_address; }
const std::string& Router::unixSocket() const { return impl_->unix_socket; }
CommStats& Router::stats() { return impl_->stats; }

}  // namespace cwasi::comm

// `cwasid` (and `cwasi daemon`): the node daemon's flags, wired to a Gateway.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "commands.h"
#include "cwasi/cli/cli.h"
#include "cwasi/common/net.h"
#include "cwasi/node/gateway.h"
#include "cwasi/node/image_puller.h"
#include "flags.h"

namespace cwasi::cli {
namespace {

// The node daemon: its flags bound to a GatewayConfig, wired to a Gateway.
class DaemonCommand final : public Command {
 public:
  explicit DaemonCommand(CLI::App& app)
      : Command(app), c_(defaults()), host_flags_(app, c_.host, HostRole::kDaemon) {
    auto& http = c_.http;
    app.add_option("--gateway", http.listen, "HTTP gateway address, HOST:PORT (port 0 picks one)")
        ->type_name("ADDRESS")
        ->capture_default_str();
    app.add_option("--state-dir", c_.state_dir,
                   "deployments, workflows, modules, token (default $CWASI_STATE_DIR,\n"
                   "$XDG_STATE_HOME/cwasi or ~/.local/state/cwasi)")
        ->type_name("DIR")
        ->capture_default_str();
    app.add_option("--admin-token", c_.token,
                   "the /system/* token (none given: generated once, in STATE_DIR/token)");
    app.add_option("--admin-user", c_.admin_user,
                   "Basic auth's user name, with the token as password")
        ->type_name("NAME")
        ->capture_default_str()
        ->check(CLI::Validator(
            [](const std::string& v) -> std::string {
              const bool name = !v.empty() && v.find(':') == std::string::npos;
              return name ? "" : "must be a name without ':'";
            },
            ""));
    app.add_option("--max-log-follows", c_.max_log_follows,
                   "logs followed at once (faas-cli logs); past it 429")
        ->capture_default_str()
        ->transform(inRange(0));
    addMillis(app, "--log-follow-timeout-ms", c_.log_follow_timeout, "how long one follow lasts");
    addScaledBytes(app, "--max-body-mb", http.max_body_bytes, 20, 1, 4096,
                   "request body cap; larger gets 413");
    app.add_option("--max-connections", http.max_connections,
                   "open HTTP connections (and what the fd limit allows);\n"
                   "past it a new connection gets 503")
        ->capture_default_str()
        ->transform(inRange(1));
    addByteSize(app, "--max-inflight-bytes", http.max_inflight_bytes, 65536,
                "request and response bytes held at once, all connections,\n"
                "and functions' outbound replies; a request that finds no\n"
                "room waits 1 s, then 503; responses hold at most half");
    addByteSize(app, "--max-spool-bytes", http.max_spool_bytes, 0,
                "response bodies past their half of --max-inflight-bytes\n"
                "wait for slow readers on disk (STATE_DIR/spool), this\n"
                "much at most; past it 503");
    addByteSize(app, "--min-send-rate", http.min_send_rate, 0,
                "bytes a second: a response must be sent within\n"
                "--write-timeout-ms plus its size at this rate (0: no bound)");
    addMillis(app, "--write-timeout-ms", http.write_timeout,
              "a response write that makes no progress this long is cut");
    addMillis(app, "--first-byte-timeout-ms", http.first_byte_timeout,
              "a new connection that sends nothing is closed after this");
    addMillis(app, "--header-timeout-ms", http.header_timeout, "to receive a request's headers");
    addMillis(app, "--body-timeout-ms", http.body_timeout, "idle while receiving a body");
    addMillis(app, "--keepalive-timeout-ms", http.keepalive_timeout,
              "idle between requests on a connection");
    app.add_option("--handler-threads", http.handler_threads,
                   "requests handled at once; more wait in order")
        ->capture_default_str()
        ->transform(inRange(1, 1024));
    app.add_option("--function-thread-share", c_.function_thread_share,
                   "of those, the percentage one function may hold;\n"
                   "its other requests wait for a slot without a thread")
        ->type_name("PCT")
        ->capture_default_str()
        ->transform(inRange(1, 100));
    addMillis(app, "--drain-timeout-ms", c_.drain_timeout,
              "on SIGTERM, how long requests and async calls under way get\n"
              "to finish; then cwasid exits regardless and says what it dropped");
    addMillis(app, "--timeout-ms", c_.default_timeout, "default function timeout; past it 504");
    addMillis(app, "--scale-interval-ms", c_.scale_interval, "autoscaler period");
    addMillis(app, "--stable-window-ms", c_.stable_window, "scale-down averaging window");
    app.add_option("--async-workers", c_.async.workers, "async calls in flight")
        ->capture_default_str()
        ->transform(inRange(1, 256));
    app.add_option("--async-queue", c_.async.capacity, "async calls queued before 429")
        ->capture_default_str()
        ->transform(inRange(0));
    addByteSize(app, "--async-queue-bytes", c_.async.max_bytes, 0,
                "bytes of queued async requests and unsent results before 429");
    const char* kCallbacks = "async callbacks (X-Callback-Url)";
    node::CallbackConfig& cb = c_.async.callbacks;
    app.add_option("--callback-senders", cb.senders, "callbacks sent at once, all destinations")
        ->capture_default_str()
        ->transform(inRange(1, 256))
        ->group(kCallbacks);
    app.add_option("--callback-per-destination", cb.per_destination,
                   "of those, to one host and port")
        ->capture_default_str()
        ->transform(inRange(1, 256))
        ->group(kCallbacks);
    app.add_option("--callback-queue", cb.max_queued,
                   "callbacks waiting (retries included); past it they are dropped")
        ->capture_default_str()
        ->transform(inRange(1))
        ->group(kCallbacks);
    app.add_option("--callback-queue-per-destination", cb.per_destination_queued,
                   "of those, for one host and port")
        ->capture_default_str()
        ->transform(inRange(1))
        ->group(kCallbacks);
    app.add_option("--callback-attempts", cb.max_attempts,
                   "tries per callback; the waits between them double")
        ->capture_default_str()
        ->transform(inRange(1, 20))
        ->group(kCallbacks);
    addMillis(app, "--callback-retry-ms", cb.first_retry, "the wait before the first retry")
        ->group(kCallbacks);
    addMillis(app, "--callback-connect-timeout-ms", cb.connect_timeout,
              "to connect to a callback's host")
        ->group(kCallbacks);
    addMillis(app, "--callback-timeout-ms", cb.timeout, "one attempt, connect to answer")
        ->group(kCallbacks);
    app.add_option("--max-instances", c_.host.engine.max_instances,
                   "instances alive at once, all functions")
        ->capture_default_str()
        ->transform(inRange(1, 10000));
    addByteSize(app, "--max-instance-memory", c_.host.engine.total_memory_bytes, 65536,
                "linear memory all live instances may hold together, each\n"
                "reserving its limit (default: half the machine's memory);\n"
                "past it an invocation gets 503");
    addByteSize(app, "--default-memory-limit", c_.host.engine.default_memory_bytes, 65536,
                "a function's memory limit when its deployment gives none");
    const char* kImages =
        "images from a registry (a deployment's image that is not an absolute path)";
    app.add_option("--registry-config", registry_config_,
                   "mirrors and credentials, JSON in docker's config.json shape:\n"
                   "{\"auths\": {\"HOST:PORT\": {\"auth\": \"<base64 user:pass>\"}},\n"
                   " \"mirrors\": {\"docker.io\": [\"http://127.0.0.1:5000\"]}}")
        ->type_name("FILE")
        ->group(kImages);
    addMillis(app, "--pull-timeout-ms", c_.registries.pull_timeout,
              "one deployment's pull, every request together")
        ->group(kImages);
    app.add_option("--max-concurrent-pulls", c_.registries.max_concurrent_pulls,
                   "images downloaded at once; more deployments wait their turn")
        ->capture_default_str()
        ->transform(inRange(1, 64))
        ->group(kImages);
  }

  int run() override {
    if (auto r = finish(); !r.ok()) return fail(kExitUsage, r.error().message());
    sigset_t set = blockStopSignals();
    net::raiseFdLimit();
    ::signal(SIGPIPE, SIG_IGN);

    const std::string state_dir = c_.state_dir.string();
    const std::chrono::milliseconds drain_timeout = c_.drain_timeout;
    auto gateway = node::Gateway::start(std::move(c_));
    if (!gateway.ok()) return fail(kExitCannotRun, gateway.error().message());
    // One line for whoever started us (tests read the address from it).
    std::printf("cwasid: ready gateway=http://%s state=%s\n", (*gateway)->address().c_str(),
                state_dir.c_str());
    std::fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    std::printf("cwasid: stopping (signal %d), draining for up to %lld ms\n", sig,
                static_cast<long long>(drain_timeout.count()));
    std::fflush(stdout);
    const auto report = (*gateway)->drain(std::chrono::steady_clock::now() + drain_timeout);
    std::printf("cwasid: stopped: %s\n", report.describe().c_str());
    std::fflush(stdout);
    if (!report.clean()) {
      // What still runs would keep us past the deadline: leave without it.
      // Nothing is lost that a restart needs: the state dir is written
      // atomically, and stale registry entries are recognised by pid.
      std::fflush(stderr);
      std::_Exit(0);
    }
    gateway->reset();
    return 0;
  }

 private:
  // The daemon's defaults where they are not GatewayConfig's own.
  static node::GatewayConfig defaults() {
    node::GatewayConfig c;
    c.state_dir = defaultStateDir();
    c.host.runtime_dir = defaultRuntimeDir();
    c.host.engine.cache_dir = runtime::defaultCacheDir();
    c.host.engine.max_instances = 512;
    c.host.engine.default_memory_bytes = 128u << 20;
    c.host.engine.total_memory_bytes = static_cast<uint64_t>(::sysconf(_SC_PHYS_PAGES)) *
                                       static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)) / 2;
    return c;
  }

  // What stays text until the command line has parsed.
  Result<void> finish() {
    TRY(host_flags_.apply());
    if (!registry_config_.empty()) {
      // The file sets neither the pull timeout nor the pull limit: the flags' stay.
      TRY_ASSIGN(node::RegistryConfig file, node::loadRegistryConfig(registry_config_));
      c_.registries.mirrors = std::move(file.mirrors);
      c_.registries.auths = std::move(file.auths);
    }
    return okResult();
  }

  node::GatewayConfig c_;
  HostFlags host_flags_;
  std::string registry_config_;
};

}  // namespace

std::string defaultStateDir() {
  if (const char* d = std::getenv("CWASI_STATE_DIR"); d && *d) return d;
  if (const char* d = std::getenv("XDG_STATE_HOME"); d && *d) return std::string(d) + "/cwasi";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/tmp") + "/.local/state/cwasi";
}

std::string defaultRuntimeDir() {
  if (const char* d = std::getenv("CWASI_RUNTIME_DIR"); d && *d) return d;
  if (const char* d = std::getenv("XDG_RUNTIME_DIR"); d && *d) return std::string(d) + "/cwasi";
  if (::getuid() == 0) return "/run/cwasi";
  return "/tmp/cwasi-" + std::to_string(::getuid());
}

std::unique_ptr<Command> daemonCommand(CLI::App& app) {
  return std::make_unique<DaemonCommand>(app);
}

}  // namespace cwasi::cli

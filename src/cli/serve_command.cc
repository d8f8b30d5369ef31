// `cwasi serve` (a function host) and `cwasi call` (a client of the same
// communication layer, for scripts and tests).
#include <signal.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "commands.h"
#include "cwasi/cli/cli.h"
#include "cwasi/common/net.h"
#include "cwasi/host/function_host.h"
#include "flags.h"

namespace cwasi::cli {
namespace {

// NAME=MODULE[,domain=D][,timeout-ms=N][,memory-mb=N][,allow-outbound=PATTERN]...
Result<host::FunctionSpec> parseFunction(const std::string& spec) {
  auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0) {
    return invalidArgument("--function expects NAME=MODULE[,domain=D,...], got '" + spec + "'");
  }
  host::FunctionSpec f;
  f.name = spec.substr(0, eq);
  std::string rest = spec.substr(eq + 1);
  size_t comma = rest.find(',');
  f.module = rest.substr(0, comma);
  std::vector<std::string> outbound;
  while (comma != std::string::npos) {
    size_t next = rest.find(',', comma + 1);
    std::string opt = rest.substr(comma + 1, next == std::string::npos ? next : next - comma - 1);
    comma = next;
    auto oeq = opt.find('=');
    std::string key = opt.substr(0, oeq), value = oeq == std::string::npos ? "" : opt.substr(oeq + 1);
    if (key == "domain" && !value.empty()) {
      f.trust_domain = value;
    } else if (key == "timeout-ms") {
      TRY_ASSIGN(uint64_t v, parseInRange(value, "--function timeout-ms", 0));
      f.limits.timeout = std::chrono::milliseconds(v);
    } else if (key == "memory-mb") {
      TRY_ASSIGN(uint64_t v, parseInRange(value, "--function memory-mb", 1, 4096));
      f.limits.memory_bytes = v << 20;
    } else if (key == "allow-outbound") {
      outbound.push_back(value);
    } else {
      return invalidArgument("unknown function option '" + opt + "' in --function " + spec);
    }
  }
  TRY_ASSIGN(f.allowed_outbound_hosts, comm::OutboundGrants::parse(outbound));
  return f;
}

// Serves the functions of --function until SIGINT/SIGTERM.
class ServeCommand final : public Command {
 public:
  explicit ServeCommand(CLI::App& app)
      : Command(app), host_flags_(app, config_, HostRole::kServe) {
    config_.engine.cache_dir = runtime::defaultCacheDir();
    app.add_option("--function", functions_,
                   "a function to host (repeatable): NAME=MODULE[,domain=D][,timeout-ms=N]\n"
                   "[,memory-mb=N][,allow-outbound=PATTERN]...")
        ->type_name("SPEC")
        ->allow_extra_args(false);
    app.add_option("--drain-timeout-ms", drain_ms_,
                   "on SIGINT/SIGTERM, how long calls under way get to finish")
        ->capture_default_str()
        ->transform(inRange(0));
  }

  int run() override {
    for (const std::string& spec : functions_) {
      auto f = parseFunction(spec);
      if (!f.ok()) return fail(kExitUsage, f.error().message());
      config_.functions.push_back(std::move(*f));
    }
    if (auto r = host_flags_.apply(); !r.ok()) return fail(kExitUsage, r.error().message());

    // Signals are taken synchronously below: block them before threads start.
    sigset_t set = blockStopSignals();
    net::raiseFdLimit();

    auto host = host::FunctionHost::start(std::move(config_));
    if (!host.ok()) return fail(kExitCannotRun, host.error().message());
    // One line for whoever started us (tests read the bound address from it).
    std::printf("cwasi serve: ready tcp=%s unix=%s\n",
                (*host)->tcpAddress().empty() ? "-" : (*host)->tcpAddress().c_str(),
                (*host)->unixSocket().empty() ? "-" : (*host)->unixSocket().c_str());
    std::fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    // Calls under way get the drain timeout to finish; past it we leave
    // without them (registry entries are withdrawn first), and say so. The
    // watchdog is woken the moment the host is down.
    const uint64_t drain_ms = drain_ms_;
    std::mutex m;
    std::condition_variable stopped_cv;
    bool stopped = false;
    std::thread watchdog([&] {
      std::unique_lock lock(m);
      if (stopped_cv.wait_for(lock, std::chrono::milliseconds(drain_ms), [&] { return stopped; })) {
        return;
      }
      std::printf("cwasi serve: calls still running after %llu ms: stopped without them\n",
                  static_cast<unsigned long long>(drain_ms));
      std::fflush(stdout);
      std::_Exit(0);
    });
    host->reset();  // withdraws the registry entries, joins every thread
    {
      std::lock_guard lock(m);
      stopped = true;
    }
    stopped_cv.notify_all();
    watchdog.join();
    return 0;
  }

 private:
  host::HostConfig config_;
  HostFlags host_flags_;
  std::vector<std::string> functions_;
  uint64_t drain_ms_ = 10000;
};

// Calls a function wherever it runs, with stdin as the request.
class CallCommand final : public Command {
 public:
  explicit CallCommand(CLI::App& app)
      : Command(app), host_flags_(app, config_, HostRole::kCall) {
    app.add_option("--timeout-ms", timeout_ms_, "the call's deadline")
        ->capture_default_str()
        ->transform(inRange(0));
    app.add_option("TARGET", target_, "the function to call")->required();
  }

  int run() override {
    if (auto r = host_flags_.apply(); !r.ok()) return fail(kExitUsage, r.error().message());
    config_.engine.max_instances = 0;
    config_.engine.epoch_tick = std::chrono::milliseconds(0);
    auto host = host::FunctionHost::start(std::move(config_));
    if (!host.ok()) return fail(kExitCannotRun, host.error().message());
    std::vector<uint8_t> request = readAllStdin();
    comm::CallOptions options;
    options.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms_);
    auto result = (*host)->call(target_, request, "default", options);
    if (!result.ok()) {
      // The target's own failure carries its output: show it as it would have.
      if (result.error().code() == Code::kAborted) {
        std::fwrite(result.error().message().data(), 1, result.error().message().size(), stdout);
      }
      std::fprintf(stderr, "cwasi: call to %s failed: %s\n", target_.c_str(),
                   result.error().toString().c_str());
      return 1;
    }
    std::fwrite(result->data(), 1, result->size(), stdout);
    return 0;
  }

 private:
  host::HostConfig config_;
  HostFlags host_flags_;
  uint64_t timeout_ms_ = 30000;
  std::string target_;
};

}  // namespace

HostFlags::HostFlags(CLI::App& app, host::HostConfig& c, HostRole role)
    : config_(c), policy_(comm::policyName(c.policy)) {
  const char* kGroup = "function-to-function communication";
  if (role != HostRole::kCall) {
    app.add_option("--listen", c.listen, "serve remote calls on TCP, HOST:PORT (port 0 picks one)")
        ->type_name("ADDRESS")
        ->group(kGroup);
  }
  app.add_option("--runtime-dir", c.runtime_dir,
                 role == HostRole::kDaemon
                     ? "node registry for local mode (default $CWASI_RUNTIME_DIR,\n"
                       "$XDG_RUNTIME_DIR/cwasi, /run/cwasi as root, /tmp/cwasi-UID)"
                     : "node registry for local mode (none: no local mode)")
      ->type_name("DIR")
      ->capture_default_str()
      ->group(kGroup);
  app.add_option("--cluster", c.cluster_file,
                 "remote routes: {\"functions\": {\"NAME\": \"HOST:PORT\"}}")
      ->type_name("FILE")
      ->group(kGroup);
  app.add_option("--mode-policy", policy_, "auto, embedded, local, remote or redis")
      ->type_name("POLICY")
      ->capture_default_str()
      ->group(kGroup);
  app.add_option("--redis", c.redis, "Redis HOST:PORT for the baseline mode")
      ->type_name("ADDRESS")
      ->group(kGroup);
  app.add_option("--token", c.token, "the secret TCP and unix peers must present")
      ->envname("CWASI_TOKEN")
      ->group(kGroup);
  addScaledBytes(app, "--ring-kb", c.ring_bytes, 10, 4, 1u << 20,
                 "each shared-memory ring (one per direction per connection)")
      ->group(kGroup);
  if (role != HostRole::kDaemon) {
    app.add_option("--max-connections", c.max_connections,
                   "peers served at once on each listener; past it one is refused")
        ->capture_default_str()
        ->transform(inRange(1))
        ->group(kGroup);
    addByteSize(app, "--max-inflight-bytes", c.max_inflight_bytes, 65536,
                "payload bytes of the calls served at once, all peers together; "
                "a call past it is refused")
        ->group(kGroup);
    app.add_option("--max-handshakes", c.max_handshakes,
                   "TCP peers yet to say hello, at once; past it the one silent longest is cut off")
        ->capture_default_str()
        ->transform(inRange(1))
        ->group(kGroup);
  }
  addMillis(app, "--peer-idle-timeout-ms", c.peer_idle_timeout,
            "an authenticated peer silent this long is disconnected")
      ->group(kGroup);
  addMillis(app, "--handshake-timeout-ms", c.handshake_timeout,
            "a TCP peer has this long to say hello with the token")
      ->group(kGroup);
  const char* kOutbound = "outbound HTTP of functions (to their allowed hosts only)";
  addScaledBytes(app, "--max-outbound-response-mb", c.outbound.max_response_bytes, 20, 1, 4096,
                 "a response's cap; larger: CWASI_ERR_TOO_LARGE")
      ->group(kOutbound);
  app.add_option("--max-outbound-requests", c.outbound.max_in_flight,
                 "requests in flight at once, all functions")
      ->capture_default_str()
      ->transform(inRange(1, 100000))
      ->group(kOutbound);
}

Result<void> HostFlags::apply() {
  TRY_ASSIGN(config_.policy, comm::parsePolicy(policy_));
  return okResult();
}

void addServeCommands(Subcommands& out) {
  out.push_back({"serve", "", "host functions; serve calls to them", "function hosts",
                 declareCommand<ServeCommand>});
  out.push_back({"call", "", "call a function wherever it runs (stdin: the request)",
                 "function hosts", declareCommand<CallCommand>});
}

}  // namespace cwasi::cli

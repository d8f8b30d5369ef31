// `cwasi serve` (a function host) and `cwasi call` (a client of the same
// communication layer, for scripts and tests).
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <thread>
#include <mutex>
#include <condition_variable>

#include "args.h"
#include "commands.h"
#include "cwasi/cli/cli.h"
#include "cwasi/common/net.h"
#include "cwasi/host/function_host.h"

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
      TRY_ASSIGN(uint64_t v, parseNumber(value, "timeout-ms"));
      f.limits.timeout = std::chrono::milliseconds(v);
    } else if (key == "memory-mb") {
      TRY_ASSIGN(uint64_t v, parseNumber(value, "memory-mb"));
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

}  // namespace

Result<bool> parseHostFlag(const std::string& flag, Args& args, host::HostConfig& c) {
  if (flag == "--listen") {
    TRY_ASSIGN(c.listen, args.value(flag));
  } else if (flag == "--runtime-dir") {
    TRY_ASSIGN(std::string v, args.value(flag));
    c.runtime_dir = v;
  } else if (flag == "--cluster") {
    TRY_ASSIGN(std::string v, args.value(flag));
    c.cluster_file = v;
  } else if (flag == "--mode-policy") {
    TRY_ASSIGN(std::string v, args.value(flag));
    TRY_ASSIGN(c.policy, comm::parsePolicy(v));
  } else if (flag == "--redis") {
    TRY_ASSIGN(c.redis, args.value(flag));
  } else if (flag == "--token") {
    TRY_ASSIGN(c.token, args.value(flag));
  } else if (flag == "--ring-kb") {
    TRY_ASSIGN(uint64_t v, args.ranged(flag, 4, 1u << 20));
    c.ring_bytes = v << 10;
  } else if (flag == "--max-connections") {
    TRY_ASSIGN(c.max_connections, args.ranged(flag, 1, UINT64_MAX));
  } else if (flag == "--peer-idle-timeout-ms") {
    TRY_ASSIGN(uint64_t v, args.ranged(flag, 1, UINT64_MAX));
    c.peer_idle_timeout = std::chrono::milliseconds(v);
  } else if (flag == "--max-outbound-response-mb") {
    TRY_ASSIGN(uint64_t v, args.ranged(flag, 1, 4096));
    c.outbound.max_response_bytes = v << 20;
  } else if (flag == "--max-outbound-requests") {
    TRY_ASSIGN(uint64_t v, args.ranged(flag, 1, 100000));
    c.outbound.max_in_flight = static_cast<int>(v);
  } else {
    return false;
  }
  return true;
}

void applyEnvironment(host::HostConfig& c) {
  if (c.token.empty()) {
    if (const char* t = std::getenv("CWASI_TOKEN")) c.token = t;
  }
}

int serveCommand(const std::vector<std::string>& argv) {
  host::HostConfig config;
  config.engine.cache_dir = runtime::defaultCacheDir();
  uint64_t drain_ms = 10000;
  Args args(argv);
  while (args.nextIsFlag()) {
    std::string flag = args.takeFlag();
    if (flag == "--function") {
      auto v = args.value(flag);
      if (!v.ok()) return fail(kExitUsage, v.error().message());
      auto f = parseFunction(*v);
      if (!f.ok()) return fail(kExitUsage, f.error().message());
      config.functions.push_back(std::move(*f));
      continue;
    }
    if (flag == "--drain-timeout-ms") {
      auto v = args.number(flag);
      if (!v.ok()) return fail(kExitUsage, v.error().message());
      drain_ms = *v;
      continue;
    }
    auto known = parseHostFlag(flag, args, config);
    if (!known.ok()) return fail(kExitUsage, known.error().message());
    if (!*known) return fail(kExitUsage, "serve: unknown option " + flag);
  }
  if (!args.rest().empty()) return fail(kExitUsage, "serve: unexpected argument " + args.rest()[0]);
  applyEnvironment(config);

  // Signals are taken synchronously below: block them before threads start.
  sigset_t set = blockStopSignals();
  net::raiseFdLimit();

  auto host = host::FunctionHost::start(std::move(config));
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
  std::mutex m;
  std::condition_variable stopped_cv;
  bool stopped = false;
  std::thread watchdog([&] {
    std::unique_lock lock(m);
    if (stopped_cv.wait_for(lock, std::chrono::milliseconds(drain_ms), [&] { return stopped; })) return;
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

int callCommand(const std::vector<std::string>& argv) {
  host::HostConfig config;
  Args args(argv);
  uint64_t timeout_ms = 30000;
  while (args.nextIsFlag()) {
    std::string flag = args.takeFlag();
    if (flag == "--timeout-ms") {
      auto v = args.number(flag);
      if (!v.ok()) return fail(kExitUsage, v.error().message());
      timeout_ms = *v;
      continue;
    }
    auto known = parseHostFlag(flag, args, config);
    if (!known.ok()) return fail(kExitUsage, known.error().message());
    if (!*known || flag == "--listen") return fail(kExitUsage, "call: unknown option " + flag);
  }
  auto rest = args.rest();
  if (rest.size() != 1) return fail(kExitUsage, "usage: cwasi call [options] TARGET < request");
  applyEnvironment(config);
  config.engine.max_instances = 0;
  config.engine.epoch_tick = std::chrono::milliseconds(0);
  auto host = host::FunctionHost::start(std::move(config));
  if (!host.ok()) return fail(kExitCannotRun, host.error().message());
  std::vector<uint8_t> request = readAllStdin();
  comm::CallOptions options;
  options.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto result = (*host)->call(rest[0], request, "default", options);
  if (!result.ok()) {
    // The target's own failure carries its output: show it as it would have.
    if (result.error().code() == Code::kAborted) {
      std::fwrite(result.error().message().data(), 1, result.error().message().size(), stdout);
    }
    std::fprintf(stderr, "cwasi: call to %s failed: %s\n", rest[0].c_str(),
                 result.error().toString().c_str());
    return 1;
  }
  std::fwrite(result->data(), 1, result->size(), stdout);
  return 0;
}

}  // namespace cwasi::cli

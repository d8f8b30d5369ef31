// `cwasid` (and `cwasi daemon`): the node daemon's flags, wired to a Gateway.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <optional>

#include "commands.h"
#include "cwasi/cli/cli.h"
#include "cwasi/common/net.h"
#include "cwasi/node/deployment.h"
#include "cwasi/node/gateway.h"

namespace cwasi::cli {
namespace {

constexpr const char* kDaemonUsage = R"(cwasid — the cwasi node daemon (HTTP gateway, deploy, autoscaling, workflows)

usage: cwasid [options]
  --gateway HOST:PORT     HTTP gateway address (default 127.0.0.1:8080; port 0 picks one)
  --state-dir DIR         deployments, workflows, modules, token (default $CWASI_STATE_DIR,
                          $XDG_STATE_HOME/cwasi or ~/.local/state/cwasi)
  --admin-token T         the /system/* token (default: generated once, in STATE_DIR/token)
  --admin-user NAME       Basic auth's user name with the token as password (default admin)
  --max-log-follows N     logs followed at once (faas-cli logs); past it 429 (default 64)
  --log-follow-timeout-ms N  how long one follow lasts (default 1800000)
  --max-body-mb N         request body cap (default 16; larger gets 413)
  --max-connections N     open HTTP connections (default 10000, and what the fd limit
                          allows); past it a new connection gets 503
  --max-inflight-bytes SIZE  request and response bytes held at once, all connections
                          (default 256Mi); a request that finds no room waits 1 s, then 503
  --header-timeout-ms N   to receive a request's headers (default 15000)
  --body-timeout-ms N     idle while receiving a body (default 15000)
  --keepalive-timeout-ms N  idle between requests on a connection (default 60000)
  --handler-threads N     requests handled at once; more wait in order (default 32)
  --function-thread-share PCT  of those, what one function may hold (default 50);
                          its other requests wait for a slot without a thread
  --drain-timeout-ms N    on SIGTERM, how long requests and async calls under way get
                          to finish (default 10000); then cwasid exits regardless and
                          says what it dropped
  --timeout-ms N          default function timeout (default 30000; past it 504)
  --scale-interval-ms N   autoscaler period (default 1000)
  --stable-window-ms N    scale-down averaging window (default 30000)
  --async-workers N       async calls in flight (default 4)
  --async-queue N         async calls queued before 429 (default 1000)
  --async-queue-bytes SIZE  bytes of queued async requests and unsent results before 429
                          (default 256Mi)
  --max-instances N       instances alive at once, all functions (default 512)
  --max-instance-memory SIZE  linear memory all live instances may hold together, each
                          reserving its limit (default: half the machine's memory); past
                          it an invocation gets 503
  --default-memory-limit SIZE  a function's memory limit when its deployment gives none
                          (default 128Mi)
images from a registry (a deployment's image that is not an absolute path):
  --registry-config FILE  mirrors and credentials, JSON in docker's config.json shape:
                          {"auths": {"HOST:PORT": {"auth": "<base64 user:pass>"}},
                           "mirrors": {"docker.io": ["http://127.0.0.1:5000"]}}
  --pull-timeout-ms N     one deployment's pull, every request together (default 120000)
function-to-function communication (see cwasi serve):
  --runtime-dir DIR       node registry for local mode (default $CWASI_RUNTIME_DIR,
                          $XDG_RUNTIME_DIR/cwasi, /run/cwasi as root)
  --listen HOST:PORT      serve remote calls on TCP
  --cluster FILE          remote routes;  --mode-policy P;  --redis HOST:PORT;  --token T
outbound HTTP of functions (cwasi_http_request, to their allowedOutboundHosts only):
  --max-outbound-response-mb N  a response's body cap (default 16; larger: CWASI_ERR_TOO_LARGE)
  --max-outbound-requests N  requests in flight at once, all functions (default 64)
)";

Result<std::chrono::milliseconds> millis(Args& args, const std::string& flag) {
  TRY_ASSIGN(uint64_t v, args.ranged(flag, 1, UINT64_MAX));
  return std::chrono::milliseconds(v);
}

// A size flag's value ("64Mi", "1G", bytes), at least `min`.
Result<uint64_t> byteSize(Args& args, const std::string& flag, uint64_t min) {
  TRY_ASSIGN(std::string v, args.value(flag));
  auto bytes = node::parseByteSize(v);
  if (!bytes.ok() || *bytes < min) return invalidArgument(flag + ": bad size '" + v + "'");
  return *bytes;
}

Result<node::GatewayConfig> parseDaemonFlags(const std::vector<std::string>& argv) {
  node::GatewayConfig c;
  c.state_dir = defaultStateDir();
  c.host.runtime_dir = defaultRuntimeDir();
  c.host.engine.cache_dir = runtime::defaultCacheDir();
  c.host.engine.max_instances = 512;
  c.host.engine.default_memory_bytes = 128u << 20;
  c.host.engine.total_memory_bytes = static_cast<uint64_t>(::sysconf(_SC_PHYS_PAGES)) *
                                     static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)) / 2;
  std::optional<std::chrono::milliseconds> pull_timeout;
  Args args(argv);
  while (args.nextIsFlag()) {
    const std::string flag = args.takeFlag();
    if (flag == "--registry-config") {
      TRY_ASSIGN(std::string file, args.value(flag));
      TRY_ASSIGN(c.registries, node::loadRegistryConfig(file));
    } else if (flag == "--pull-timeout-ms") {
      TRY_ASSIGN(pull_timeout, millis(args, flag));
    } else if (flag == "--gateway") {
      TRY_ASSIGN(c.http.listen, args.value(flag));
    } else if (flag == "--state-dir") {
      TRY_ASSIGN(std::string v, args.value(flag));
      c.state_dir = v;
    } else if (flag == "--admin-token") {
      TRY_ASSIGN(c.token, args.value(flag));
    } else if (flag == "--admin-user") {
      TRY_ASSIGN(c.admin_user, args.value(flag));
      if (c.admin_user.empty() || c.admin_user.find(':') != std::string::npos) {
        return invalidArgument(flag + " must be a name without ':'");
      }
    } else if (flag == "--max-log-follows") {
      TRY_ASSIGN(uint64_t v, args.number(flag));
      c.max_log_follows = v;
    } else if (flag == "--log-follow-timeout-ms") {
      TRY_ASSIGN(c.log_follow_timeout, millis(args, flag));
    } else if (flag == "--max-body-mb") {
      TRY_ASSIGN(uint64_t v, args.ranged(flag, 1, 4096));
      c.http.max_body_bytes = v << 20;
    } else if (flag == "--max-connections") {
      TRY_ASSIGN(c.http.max_connections, args.ranged(flag, 1, UINT64_MAX));
    } else if (flag == "--async-queue-bytes") {
      TRY_ASSIGN(c.async.max_bytes, byteSize(args, flag, 0));
    } else if (flag == "--max-inflight-bytes") {
      TRY_ASSIGN(c.http.max_inflight_bytes, byteSize(args, flag, 65536));
    } else if (flag == "--header-timeout-ms") {
      TRY_ASSIGN(c.http.header_timeout, millis(args, flag));
    } else if (flag == "--body-timeout-ms") {
      TRY_ASSIGN(c.http.body_timeout, millis(args, flag));
    } else if (flag == "--keepalive-timeout-ms") {
      TRY_ASSIGN(c.http.keepalive_timeout, millis(args, flag));
    } else if (flag == "--drain-timeout-ms") {
      TRY_ASSIGN(c.drain_timeout, millis(args, flag));
    } else if (flag == "--function-thread-share") {
      TRY_ASSIGN(uint64_t v, args.ranged(flag, 1, 100));
      c.function_thread_share = static_cast<int>(v);
    } else if (flag == "--handler-threads") {
      TRY_ASSIGN(uint64_t v, args.ranged(flag, 1, 1024));
      c.http.handler_threads = static_cast<int>(v);
    } else if (flag == "--timeout-ms") {
      TRY_ASSIGN(c.default_timeout, millis(args, flag));
    } else if (flag == "--scale-interval-ms") {
      TRY_ASSIGN(c.scale_interval, millis(args, flag));
    } else if (flag == "--stable-window-ms") {
      TRY_ASSIGN(c.stable_window, millis(args, flag));
    } else if (flag == "--async-workers") {
      TRY_ASSIGN(uint64_t v, args.ranged(flag, 1, 256));
      c.async.workers = static_cast<int>(v);
    } else if (flag == "--async-queue") {
      TRY_ASSIGN(uint64_t v, args.number(flag));
      c.async.capacity = v;
    } else if (flag == "--max-instance-memory" || flag == "--default-memory-limit") {
      TRY_ASSIGN(uint64_t bytes, byteSize(args, flag, 65536));
      (flag == "--max-instance-memory" ? c.host.engine.total_memory_bytes
                                       : c.host.engine.default_memory_bytes) = bytes;
    } else if (flag == "--max-instances") {
      TRY_ASSIGN(uint64_t v, args.ranged(flag, 1, 10000));
      c.host.engine.max_instances = static_cast<uint32_t>(v);
    } else {
      TRY_ASSIGN(bool known, parseHostFlag(flag, args, c.host));
      if (!known) return invalidArgument("unknown option " + flag + " (see cwasid --help)");
    }
  }
  if (!args.rest().empty()) return invalidArgument("unexpected argument " + args.rest()[0]);
  if (pull_timeout) c.registries.pull_timeout = *pull_timeout;
  applyEnvironment(c.host);
  return c;
}

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

int daemonCommand(const std::vector<std::string>& argv) {
  for (const auto& a : argv) {
    if (a == "-h" || a == "--help") {
      std::fputs(kDaemonUsage, stdout);
      return 0;
    }
  }
  auto config = parseDaemonFlags(argv);
  if (!config.ok()) return fail(kExitUsage, config.error().message());

  sigset_t set = blockStopSignals();
  net::raiseFdLimit();
  ::signal(SIGPIPE, SIG_IGN);

  const std::string state_dir = config->state_dir.string();
  const std::chrono::milliseconds drain_timeout = config->drain_timeout;
  auto gateway = node::Gateway::start(std::move(*config));
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

}  // namespace cwasi::cli

// `cwasi run` and `cwasi inspect`.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <mutex>
#include <condition_variable>
#include <thread>

#include "args.h"
#include "commands.h"
#include "cwasi/cli/cli.h"
#include "cwasi/comm/router.h"
#include "cwasi/runtime/instance.h"

namespace cwasi::cli {
namespace {

struct RunOptions {
  runtime::RunContext context;
  bool use_cache = true;
  bool allow_precompiled = false;
  std::string module;
  comm::OutboundGrants outbound;
};

// "HOST[::GUEST]" → Preopen.
runtime::Preopen parseDir(const std::string& spec, bool writable) {
  runtime::Preopen p;
  auto sep = spec.find("::");
  p.host_path = spec.substr(0, sep);
  p.guest_path = sep == std::string::npos ? spec : spec.substr(sep + 2);
  p.writable = writable;
  return p;
}

Result<RunOptions> parseRun(const std::vector<std::string>& argv) {
  RunOptions o;
  std::vector<std::string> outbound;
  Args args(argv);
  while (args.nextIsFlag()) {
    std::string flag = args.takeFlag();
    if (flag == "--dir" || flag == "--dir-ro") {
      TRY_ASSIGN(std::string v, args.value(flag));
      o.context.preopens.push_back(parseDir(v, flag == "--dir"));
    } else if (flag == "--env" || flag == "-e") {
      TRY_ASSIGN(std::string v, args.value(flag));
      auto eq = v.find('=');
      if (eq == 0) return invalidArgument("--env expects K=V or K, got '" + v + "'");
      if (eq != std::string::npos) {
        o.context.env.emplace_back(v.substr(0, eq), v.substr(eq + 1));
      } else if (const char* host = std::getenv(v.c_str())) {
        o.context.env.emplace_back(v, host);
      }
    } else if (flag == "--timeout-ms") {
      TRY_ASSIGN(uint64_t v, args.number(flag));
      o.context.limits.timeout = std::chrono::milliseconds(v);
    } else if (flag == "--memory-mb") {
      TRY_ASSIGN(uint64_t v, args.ranged(flag, 1, 4096));
      o.context.limits.memory_bytes = v << 20;
    } else if (flag == "--fuel") {
      TRY_ASSIGN(o.context.limits.fuel, args.ranged(flag, 1, UINT64_MAX));
    } else if (flag == "--no-cache") {
      o.use_cache = false;
    } else if (flag == "--allow-precompiled") {
      o.allow_precompiled = true;
    } else if (flag == "--allow-outbound") {
      TRY_ASSIGN(std::string v, args.value(flag));
      outbound.push_back(std::move(v));
    } else {
      return invalidArgument("run: unknown option " + flag + " (see cwasi --help)");
    }
  }
  TRY_ASSIGN(o.outbound, comm::OutboundGrants::parse(outbound));
  std::vector<std::string> rest = args.rest();
  if (rest.empty()) return invalidArgument("usage: cwasi run [options] MODULE [ARGS...]");
  o.module = rest.front();
  o.context.args = rest;  // argv[0] is the module path, as a shell would pass it
  return o;
}

// Exit code for an error from running the guest.
int exitCodeForRunError(const Error& e) {
  switch (e.code()) {
    case Code::kDeadlineExceeded: return kExitTimeout;
    case Code::kCancelled: return kExitCancelled;
    case Code::kResourceExhausted: return kExitResourceLimit;
    case Code::kAborted: return kExitTrap;
    case Code::kNotFound:
    case Code::kPermissionDenied:
    case Code::kFailedPrecondition:
    case Code::kInvalidArgument: return kExitCannotRun;
    default: return kExitUsage;
  }
}

// Turns SIGINT/SIGTERM/SIGHUP into cancellation of the guest: blocks them in
// every thread (call before any thread starts) and waits for them on a thread
// of its own. A guest blocked in a host call (reading stdin) cannot see the
// epoch tick, so a second grace period ends the process.
class SignalCanceller {
 public:
  SignalCanceller() {
    sigemptyset(&set_);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, kWakeSignal}) sigaddset(&set_, sig);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    thread_ = std::jthread([this](std::stop_token stop) {
      while (!stop.stop_requested()) {
        int sig = sigwaitinfo(&set_, nullptr);
        if (sig <= 0 || sig == kWakeSignal) continue;
        cancel_.store(true);
        {
          std::lock_guard lock(mu_);
          if (engine_ != nullptr) engine_->interrupt();
        }
        // A second to end on its own (the run returns, the destructor asks
        // this thread to stop), woken at once when it does.
        {
          std::mutex m;
          std::condition_variable_any ended;
          std::unique_lock wait(m);
          ended.wait_for(wait, stop, std::chrono::seconds(1), [] { return false; });
        }
        if (!stop.stop_requested()) {
          std::fputs("cwasi: interrupted\n", stderr);
          _exit(kExitCancelled);
        }
      }
    });
  }
  ~SignalCanceller() {
    thread_.request_stop();
    pthread_kill(thread_.native_handle(), kWakeSignal);
    thread_.join();
    pthread_sigmask(SIG_UNBLOCK, &set_, nullptr);
  }
  const std::atomic<bool>* flag() const { return &cancel_; }
  // The engine to interrupt on a signal (its guests then see the flag).
  void attach(runtime::Engine* engine) {
    std::lock_guard lock(mu_);
    engine_ = engine;
  }

 private:
  // Sent by the destructor to end the waiting thread.
  static constexpr int kWakeSignal = SIGUSR2;
  sigset_t set_;
  std::atomic<bool> cancel_{false};
  std::mutex mu_;
  runtime::Engine* engine_ = nullptr;  // guarded by mu_
  std::jthread thread_;
};

bool writeAll(int fd, std::span<const uint8_t> data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

std::vector<uint8_t> readAllStdin() {
  std::vector<uint8_t> data;
  uint8_t buf[65536];
  ssize_t n;
  while ((n = ::read(0, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) data.insert(data.end(), buf, buf + n);
  }
  return data;
}

sigset_t blockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

int runCommand(const std::vector<std::string>& argv) {
  auto parsed = parseRun(argv);
  if (!parsed.ok()) return fail(kExitUsage, parsed.error().message());
  RunOptions& o = *parsed;

  SignalCanceller signals;
  o.context.cancel = signals.flag();
  auto engine = runtime::Engine::create(cliEngineConfig(
      o.context.limits.fuel > 0, o.use_cache, o.context.limits.timeout.count() > 0));
  if (!engine.ok()) return fail(kExitUsage, engine.error().message());
  signals.attach(engine->get());
  // Detached before the engine is destroyed (declared after it).
  struct Detach {
    SignalCanceller& s;
    ~Detach() { s.attach(nullptr); }
  } detach{signals};

  runtime::LoadOptions load;
  load.allow_precompiled = o.allow_precompiled;
  load.use_cache = o.use_cache;
  auto module = (*engine)->loadFile(o.module, load);
  if (!module.ok()) {
    const Error& e = module.error();
    return fail(e.code() == Code::kNotFound ? kExitNotFound : kExitCannotRun, e.message());
  }
  const std::string& name = (*module)->name();
  // No function host here: call/send/recv answer CWASI_ERR_UNSUPPORTED, and
  // outbound HTTP reaches what --allow-outbound granted (nothing without it).
  comm::OutboundHttp outbound;
  comm::CallContext ctx;
  ctx.function = name;
  ctx.outbound = &outbound;
  ctx.outbound_grants = &o.outbound;
  if (o.context.limits.timeout.count() > 0) {
    ctx.deadline = std::chrono::steady_clock::now() + o.context.limits.timeout;
  }
  o.context.host_data = &ctx;

  if ((*module)->kind() == runtime::FunctionKind::kReactor) {
    std::vector<uint8_t> request = readAllStdin();
    o.context.error_output = runtime::OutputFd{2};
    auto instance = runtime::Instance::create(**engine, *module, std::move(o.context));
    if (!instance.ok()) return fail(exitCodeForRunError(instance.error()), name + ": " + instance.error().message());
    auto response = (*instance)->handle(request);
    if (!response.ok()) {
      return fail(exitCodeForRunError(response.error()), name + ": " + response.error().message());
    }
    writeAll(1, response->body);
    if (response->status == 0) return 0;
    return response->status > 0 && response->status < 256 ? response->status : 1;
  }
  if ((*module)->kind() == runtime::FunctionKind::kUnknown) {
    return fail(kExitCannotRun, name + " is neither a command (_start) nor a reactor "
                                       "(cwasi_alloc + cwasi_handle)");
  }
  o.context.input = runtime::StdinInherit{};
  // Straight to our fds: Wasmtime's inherited stdio goes through a tokio
  // blocking-thread pool, which costs a thread start per run.
  o.context.output = runtime::OutputFd{1};
  o.context.error_output = runtime::OutputFd{2};
  auto instance = runtime::Instance::create(**engine, *module, std::move(o.context));
  if (!instance.ok()) {
    return fail(exitCodeForRunError(instance.error()), name + ": " + instance.error().message());
  }
  auto code = (*instance)->runMain();
  if (!code.ok()) return fail(exitCodeForRunError(code.error()), name + ": " + code.error().message());
  return *code;
}

int inspectCommand(const std::vector<std::string>& argv) {
  if (argv.size() != 1 || argv[0].empty() || argv[0][0] == '-') {
    return fail(kExitUsage, "usage: cwasi inspect MODULE");
  }
  auto engine = runtime::Engine::create(cliEngineConfig(false, true));
  if (!engine.ok()) return fail(kExitUsage, engine.error().message());
  runtime::LoadOptions load;
  load.allow_precompiled = true;  // inspecting runs no code
  load.link = false;
  auto module = (*engine)->loadFile(argv[0], load);
  if (!module.ok()) {
    return fail(module.error().code() == Code::kNotFound ? kExitNotFound : kExitCannotRun,
                module.error().message());
  }
  const runtime::Module& m = **module;
  std::printf("module:  %s\n", m.name().c_str());
  std::printf("kind:    %s\n", runtime::kindName(m.kind()));
  std::printf("size:    %zu bytes\n", m.sizeBytes());
  std::printf("sha256:  %s\n", m.digest().c_str());
  std::printf("imports: %zu\n", m.imports().size());
  for (const auto& i : m.imports()) {
    std::printf("  %s %s.%s\n", i.type.c_str(), i.module.c_str(), i.name.c_str());
  }
  std::printf("exports: %zu\n", m.exports().size());
  for (const auto& e : m.exports()) std::printf("  %s %s\n", e.type.c_str(), e.name.c_str());
  return 0;
}

}  // namespace cwasi::cli

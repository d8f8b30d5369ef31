// `cwasi run` and `cwasi inspect`.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string_view>
#include <thread>

#include "commands.h"
#include "cwasi/cli/cli.h"
#include "cwasi/comm/router.h"
#include "cwasi/common/files.h"
#include "cwasi/common/sha256.h"
#include "cwasi/runtime/instance.h"
#include "flags.h"

namespace cwasi::cli {
namespace {

// "HOST[::GUEST]" → Preopen.
runtime::Preopen parseDir(const std::string& spec, bool writable) {
  runtime::Preopen p;
  auto sep = spec.find("::");
  p.host_path = spec.substr(0, sep);
  p.guest_path = sep == std::string::npos ? spec : spec.substr(sep + 2);
  p.writable = writable;
  return p;
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

namespace {

// Runs a module: a command with the process's stdio, a reactor from stdin
// to stdout.
class RunCommand final : public Command {
 public:
  explicit RunCommand(CLI::App& app) : Command(app) {
    // Flags come before the module: what follows it is the guest's.
    app.positionals_at_end();
    // Each --dir and --dir-ro as it comes, so the guest sees them in order.
    for (const auto& [flag, rw] : {std::pair{"--dir", true}, {"--dir-ro", false}}) {
      const bool writable = rw;  // a copy the lambda can capture (clang 14: not a binding)
      app.add_option_function<std::vector<std::string>>(
             flag,
             [this, writable](const std::vector<std::string>& dirs) {
               for (const auto& d : dirs) context_.preopens.push_back(parseDir(d, writable));
             },
             std::string("grant a host directory ") + (writable ? "read-write" : "read-only") +
                 ", HOST[::GUEST]\n(seen as GUEST, else as HOST; repeatable)")
          ->type_name("DIR")
          ->trigger_on_parse()
          ->allow_extra_args(false);
    }
    app.add_option("-e,--env", env_,
                   "set an environment variable, K=V (K alone copies the host's;\n"
                   "repeatable)")
        ->allow_extra_args(false);
    app.add_option_function<uint64_t>(
           "--timeout-ms",
           [this](const uint64_t& v) { context_.limits.timeout = std::chrono::milliseconds(v); },
           "wall-clock limit, none by default (0); exceeding it exits 124")
        ->transform(inRange(0));
    addScaledBytes(app, "--memory-mb", context_.limits.memory_bytes, 20, 1, 4096,
                   "linear memory limit (the engine's maximum by default);\n"
                   "exceeding it exits 137");
    app.add_option("--fuel", context_.limits.fuel,
                   "instruction budget, unmetered by default; exhausting it exits 137")
        ->transform(inRange(1));
    app.add_flag("--no-cache", no_cache_, "neither read nor write the AOT cache");
    app.add_flag("--allow-precompiled", allow_precompiled_,
                 "accept a precompiled MODULE (from cwasi compile)");
    app.add_option("--allow-outbound", outbound_patterns_,
                   "let the module's cwasi_http_request reach PATTERN\n"
                   "(http://api.example.com, http://127.0.0.1:8080, *://localhost:*;\n"
                   "repeatable; none: nothing is reachable)")
        ->type_name("PATTERN")
        ->allow_extra_args(false);
    app.add_option("MODULE", module_, "a .wasm or .wat module, or a precompiled one")->required();
    app.add_option("ARGS", guest_args_, "the guest's arguments");
    app.footer(
        "A command module gets stdin/stdout/stderr; a reactor reads its request from\n"
        "stdin and writes its response to stdout. Exit codes: the guest's own, or 124\n"
        "timeout, 125 usage, 126 cannot run the module, 127 module not found,\n"
        "130 interrupted, 134 trap, 137 memory or fuel limit.");
  }

  int run() override {
    if (auto r = finish(); !r.ok()) return fail(kExitUsage, r.error().message());
    SignalCanceller signals;
    context_.cancel = signals.flag();
    auto engine = runtime::Engine::create(cliEngineConfig(
        context_.limits.fuel > 0, !no_cache_, context_.limits.timeout.count() > 0));
    if (!engine.ok()) return fail(kExitUsage, engine.error().message());
    signals.attach(engine->get());
    // Detached before the engine is destroyed (declared after it).
    struct Detach {
      SignalCanceller& s;
      ~Detach() { s.attach(nullptr); }
    } detach{signals};

    runtime::LoadOptions load;
    load.allow_precompiled = allow_precompiled_;
    load.use_cache = !no_cache_;
    auto module = (*engine)->loadFile(module_, load);
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
    ctx.outbound_grants = &outbound_;
    if (context_.limits.timeout.count() > 0) {
      ctx.deadline = std::chrono::steady_clock::now() + context_.limits.timeout;
    }
    context_.host_data = &ctx;

    if ((*module)->kind() == runtime::FunctionKind::kReactor) {
      std::vector<uint8_t> request = readAllStdin();
      context_.error_output = runtime::OutputFd{2};
      auto instance = runtime::Instance::create(**engine, *module, std::move(context_));
      if (!instance.ok()) {
        return fail(exitCodeForRunError(instance.error()),
                    name + ": " + instance.error().message());
      }
      auto response = (*instance)->handle(request);
      if (!response.ok()) {
        return fail(exitCodeForRunError(response.error()),
                    name + ": " + response.error().message());
      }
      writeAll(1, response->body);
      if (response->status == 0) return 0;
      return response->status > 0 && response->status < 256 ? response->status : 1;
    }
    if ((*module)->kind() == runtime::FunctionKind::kUnknown) {
      return fail(kExitCannotRun, name + " is neither a command (_start) nor a reactor "
                                         "(cwasi_alloc + cwasi_handle)");
    }
    context_.input = runtime::StdinInherit{};
    // Straight to our fds: Wasmtime's inherited stdio goes through a tokio
    // blocking-thread pool, which costs a thread start per run.
    context_.output = runtime::OutputFd{1};
    context_.error_output = runtime::OutputFd{2};
    auto instance = runtime::Instance::create(**engine, *module, std::move(context_));
    if (!instance.ok()) {
      return fail(exitCodeForRunError(instance.error()), name + ": " + instance.error().message());
    }
    auto code = (*instance)->runMain();
    if (!code.ok()) {
      return fail(exitCodeForRunError(code.error()), name + ": " + code.error().message());
    }
    return *code;
  }

 private:
  // What stays text until the command line has parsed.
  Result<void> finish() {
    for (const std::string& v : env_) {
      const size_t eq = v.find('=');
      if (eq == 0) return invalidArgument("--env expects K=V or K, got '" + v + "'");
      if (eq != std::string::npos) {
        context_.env.emplace_back(v.substr(0, eq), v.substr(eq + 1));
      } else if (const char* host = std::getenv(v.c_str())) {
        context_.env.emplace_back(v, host);
      }
    }
    TRY_ASSIGN(outbound_, comm::OutboundGrants::parse(outbound_patterns_));
    // argv[0] is the module path, as a shell would pass it.
    context_.args = {module_};
    context_.args.insert(context_.args.end(), guest_args_.begin(), guest_args_.end());
    return okResult();
  }

  runtime::RunContext context_;
  std::vector<std::string> env_, outbound_patterns_, guest_args_;
  bool no_cache_ = false;
  bool allow_precompiled_ = false;
  std::string module_;
  comm::OutboundGrants outbound_;
};

// Shows what a module is made of, without running it.
class InspectCommand final : public Command {
 public:
  explicit InspectCommand(CLI::App& app) : Command(app) {
    app.add_option("MODULE", module_, "a .wasm or .wat module, or a precompiled one")->required();
  }

  int run() override {
    auto engine = runtime::Engine::create(cliEngineConfig(false, true));
    if (!engine.ok()) return fail(kExitUsage, engine.error().message());
    if (auto bytes = readFile(module_); bytes.ok() && isComponent(*bytes)) {
      return inspectComponent(**engine, *bytes);
    }
    runtime::LoadOptions load;
    load.allow_precompiled = true;  // inspecting runs no code
    load.link = false;
    auto module = (*engine)->loadFile(module_, load);
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

 private:
  // A component's binary, or its text (which opens with "(component").
  static bool isComponent(const std::vector<uint8_t>& bytes) {
    if (runtime::isComponentBinary(bytes)) return true;
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    const size_t open = text.find_first_not_of(" \t\r\n");
    return open != std::string_view::npos && text.substr(open).starts_with("(component");
  }

  int inspectComponent(runtime::Engine& engine, const std::vector<uint8_t>& bytes) {
    const std::string name = std::filesystem::path(module_).filename().string();
    auto info = engine.inspectComponent(bytes, name);
    if (!info.ok()) return fail(kExitCannotRun, info.error().message());
    std::printf("component: %s\n", name.c_str());
    std::printf("world:   %s%s\n", runtime::worldName(info->world),
                info->world_export.empty() ? "" : (" (" + info->world_export + ")").c_str());
    std::printf("size:    %zu bytes\n", bytes.size());
    std::printf("sha256:  %s\n", sha256Hex(bytes).c_str());
    std::printf("imports: %zu\n", info->imports.size());
    for (const auto& i : info->imports) std::printf("  %s\n", i.c_str());
    std::printf("exports: %zu\n", info->exports.size());
    for (const auto& e : info->exports) std::printf("  %s\n", e.c_str());
    return 0;
  }

  std::string module_;
};

}  // namespace

void addRunCommands(Subcommands& out) {
  out.push_back({"run", "", "run a function (command or reactor)", "functions",
                 declareCommand<RunCommand>});
  out.push_back({"inspect", "", "show kind, imports, exports, size", "functions",
                 declareCommand<InspectCommand>});
}

}  // namespace cwasi::cli

#include "cwasi/cli/cli.h"

#include <cstdio>
#include <iostream>

#include "args.h"
#include "commands.h"
#include "cwasi/comm/guest_abi.h"
#include "cwasi/common/build_info.h"
#include "cwasi/common/files.h"
#include "cwasi/runtime/engine.h"

namespace cwasi::cli {
namespace {

// One usage per subcommand: `cwasi X --help` prints X's, `cwasi --help` all
// of them.
struct Subcommand {
  const char* name;
  const char* usage;
  int (*run)(const std::vector<std::string>&);
  const char* alias = nullptr;
};

int versionCommand(const std::vector<std::string>&) {
  std::printf("cwasi %s (commit %s, Wasmtime %s)\n", kVersion, buildSha(),
              runtime::wasmtimeVersion());
  return 0;
}

constexpr const char* kRunOptions = R"(
run options:
  --dir HOST[::GUEST]   grant a host directory, read-write (as GUEST, default HOST)
  --dir-ro HOST[::GUEST] grant a host directory read-only
  --env K=V             set an environment variable (--env K copies the host's)
  --timeout-ms N        wall-clock limit; exceeding it exits 124
  --memory-mb N         linear memory limit; exceeding it exits 137
  --fuel N              instruction budget; exhausting it exits 137
  --no-cache            neither read nor write the AOT cache
  --allow-precompiled   accept a precompiled MODULE (from cwasi compile)
  --allow-outbound PATTERN  let the module's cwasi_http_request reach PATTERN
                        (http://api.example.com, http://127.0.0.1:8080,
                        *://localhost:*; repeatable; none: nothing is reachable)

A command module gets stdin/stdout/stderr; a reactor reads its request from
stdin and writes its response to stdout. Exit codes: the guest's own, or 124
timeout, 125 usage, 126 cannot run the module, 127 module not found,
130 interrupted, 134 trap, 137 memory or fuel limit.
)";

constexpr const char* kPlatform = R"(
(a client of cwasid: --gateway URL or $CWASI_GATEWAY, default http://127.0.0.1:8080;
--admin-token T, $CWASI_ADMIN_TOKEN or the state dir's)
)";

const Subcommand kSubcommands[] = {
    {"run", "cwasi run [options] MODULE [ARGS...]   run a function (command or reactor)",
     runCommand},
    {"compile", "cwasi compile [--fuel] MODULE -o OUT   precompile a module ahead of time",
     compileCommand},
    {"inspect", "cwasi inspect MODULE                   show kind, imports, exports, size",
     inspectCommand},
    {"serve", R"(cwasi serve --function NAME=MODULE[,domain=D,timeout-ms=N,memory-mb=N,
                                   allow-outbound=PATTERN...]...
              [--listen HOST:PORT] [--runtime-dir DIR] [--cluster FILE]
              [--mode-policy auto|embedded|local|remote|redis] [--redis HOST:PORT]
              [--token T] [--ring-kb N] [--max-connections N (256)]
              [--peer-idle-timeout-ms N (120000)] [--drain-timeout-ms N (10000)]
              [--max-outbound-response-mb N (16)] [--max-outbound-requests N (64)]
                                         host functions; serve calls to them)",
     serveCommand},
    {"call", R"(cwasi call [--runtime-dir DIR] [--cluster FILE] [--mode-policy P] [--redis HOST:PORT]
             [--token T] [--timeout-ms N] TARGET < request
                                         call a function wherever it runs)",
     callCommand},
    {"image", R"(cwasi image build MODULE -t NAME:TAG -o IMAGE.tar [--artifact]
       cwasi image push IMAGE.tar REGISTRY/REPO[:TAG] | pull REF -o IMAGE.tar [--plain-http]
             [--registry-config FILE (credentials, as cwasid takes them)]
                                         package a function as an OCI image)",
     imageCommand},
    {"daemon", "cwasi daemon [options]                 the node daemon, as cwasid (cwasid --help)",
     daemonCommand},
    {"deploy", R"(cwasi deploy NAME MODULE|IMAGE.tar|REGISTRY/REPO:TAG [--env K=V] [--memory 64Mi]
             [--timeout 30s] [--min-scale N] [--max-scale N] [--target N] [--max-inflight N]
             [--scale-to-zero-after 5m] [--private] [--label K=V] [-f deployment.json])",
     deployCommand},
    {"invoke", "cwasi invoke NAME [--async [--callback URL]] [-H 'K: V'] [--query Q] < request",
     invokeCommand},
    {"ls", "cwasi ls [--json]                      the functions deployed", listCommand, "list"},
    {"rm", "cwasi rm NAME                          remove a function", removeCommand, "remove"},
    {"scale", "cwasi scale NAME --replicas N", scaleCommand},
    {"logs", "cwasi logs NAME [--tail N]             a function's stderr", logsCommand},
    {"workflow", "cwasi workflow deploy FILE | invoke NAME < input | ls | rm NAME", workflowCommand},
    {"version", "cwasi version", versionCommand, "--version"},
};

bool isPlatform(std::string_view name) {
  for (const char* p : {"deploy", "invoke", "ls", "rm", "scale", "logs", "workflow"}) {
    if (name == p) return true;
  }
  return false;
}

std::string usageOf(const Subcommand& c) {
  std::string out = std::string("usage: ") + c.usage + "\n";
  if (std::string_view(c.name) == "run") out += kRunOptions;
  if (isPlatform(c.name)) out += kPlatform;
  return out;
}

std::string fullUsage() {
  std::string out = "cwasi — serverless WebAssembly functions\n\nusage:\n";
  for (const auto& c : kSubcommands) {
    if (isPlatform(c.name) && std::string_view(c.name) == "deploy") {
      out += std::string("\nplatform") + kPlatform + "\n";
    }
    out += std::string("  ") + c.usage + "\n";
  }
  out += kRunOptions;
  out += "\n`cwasi COMMAND --help` shows one command's usage.\n";
  return out;
}

// `--help` or `-h` asks for the usage; for run, only before the module (what
// follows it is the guest's).
bool asksForHelp(const Subcommand& c, const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") return true;
    if (std::string_view(c.name) == "run") return false;
    if (a == "--") return false;
  }
  return false;
}

}  // namespace

int fail(int exit_code, const std::string& message) {
  std::fprintf(stderr, "cwasi: %s\n", message.c_str());
  return exit_code;
}

runtime::EngineConfig cliEngineConfig(bool fuel, bool use_cache, bool ticker) {
  runtime::EngineConfig c;
  if (!ticker) c.epoch_tick = std::chrono::milliseconds(0);
  c.max_instances = 0;  // one invocation per process: no pool
  c.fuel = fuel;
  // Modules that use the communication imports load; outside a function
  // host the calls answer CWASI_ERR_UNSUPPORTED.
  c.host_functions = comm::guestAbiFunctions();
  if (use_cache) c.cache_dir = runtime::defaultCacheDir();
  return c;
}

int compileCommand(const std::vector<std::string>& argv) {
  bool fuel = false;
  std::string out, module;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--fuel") {
      fuel = true;
    } else if (a == "-o" || a == "--output") {
      if (++i >= argv.size()) return fail(kExitUsage, a + " needs a value");
      out = argv[i];
    } else if (a.rfind("--output=", 0) == 0) {
      out = a.substr(9);
    } else if (a.size() > 1 && a[0] == '-') {
      return fail(kExitUsage, "compile: unknown option " + a);
    } else if (module.empty()) {
      module = a;
    } else {
      return fail(kExitUsage, "compile: unexpected argument " + a);
    }
  }
  if (module.empty() || out.empty()) {
    return fail(kExitUsage, "usage: cwasi compile [--fuel] MODULE -o OUT");
  }
  auto engine = runtime::Engine::create(cliEngineConfig(fuel, false));
  if (!engine.ok()) return fail(kExitUsage, engine.error().message());
  auto bytes = readFile(module);
  if (!bytes.ok()) {
    return fail(bytes.error().code() == Code::kNotFound ? kExitNotFound : kExitCannotRun,
                bytes.error().message());
  }
  auto artifact = (*engine)->precompile(*bytes, module);
  if (!artifact.ok()) return fail(kExitCannotRun, artifact.error().message());
  if (auto r = writeFileAtomic(out, *artifact); !r.ok()) return fail(kExitUsage, r.error().message());
  return 0;
}

int runDaemon(const std::vector<std::string>& args) { return daemonCommand(args); }

int runCli(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::fputs(fullUsage().c_str(), args.empty() ? stderr : stdout);
    return args.empty() ? kExitUsage : 0;
  }
  const std::string& cmd = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  for (const auto& c : kSubcommands) {
    if (cmd != c.name && !(c.alias && cmd == c.alias)) continue;
    // The daemon prints its own (cwasid --help).
    if (std::string_view(c.name) != "daemon" && asksForHelp(c, rest)) {
      std::fputs(usageOf(c).c_str(), stdout);
      return 0;
    }
    return c.run(rest);
  }
  return fail(kExitUsage, "unknown command '" + cmd + "' (see cwasi --help)");
}

}  // namespace cwasi::cli

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

constexpr const char* kUsage = R"(cwasi — serverless WebAssembly functions

usage:
  cwasi run [options] MODULE [ARGS...]   run a function (command or reactor)
  cwasi compile [--fuel] MODULE -o OUT   precompile a module ahead of time
  cwasi inspect MODULE                   show kind, imports, exports, size
  cwasi serve --function NAME=MODULE[,domain=D,timeout-ms=N,memory-mb=N]...
              [--listen HOST:PORT] [--runtime-dir DIR] [--cluster FILE]
              [--mode-policy auto|embedded|local|remote|redis] [--redis HOST:PORT]
              [--token T] [--ring-kb N] [--max-connections N (256)]
              [--peer-idle-timeout-ms N (120000)] [--drain-timeout-ms N (10000)]
                                         host functions; serve calls to them
  cwasi call [--runtime-dir DIR] [--cluster FILE] [--mode-policy P] [--redis HOST:PORT]
             [--token T] [--timeout-ms N] TARGET < request
                                         call a function wherever it runs
  cwasi image build MODULE -t NAME:TAG -o IMAGE.tar [--artifact]
  cwasi image push IMAGE.tar REGISTRY/REPO[:TAG] | pull REF -o IMAGE.tar [--plain-http]
                                         package a function as an OCI image
  cwasi daemon [options]                 the node daemon, as cwasid (cwasid --help)
  cwasi version

platform (clients of cwasid; --gateway URL or $CWASI_GATEWAY, default
http://127.0.0.1:8080; --admin-token T, $CWASI_ADMIN_TOKEN or the state dir's):
  cwasi deploy NAME MODULE|IMAGE.tar [--env K=V] [--memory 64Mi] [--timeout 30s]
               [--min-scale N] [--max-scale N] [--target N] [--max-inflight N]
               [--scale-to-zero-after 5m] [--private] [--label K=V] [-f deployment.json]
  cwasi invoke NAME [--async [--callback URL]] [-H 'K: V'] [--query Q] < request
  cwasi ls [--json] | cwasi rm NAME | cwasi scale NAME --replicas N | cwasi logs NAME [--tail N]
  cwasi workflow deploy FILE | invoke NAME < input | ls | rm NAME

run options:
  --dir HOST[::GUEST]   grant a host directory, read-write (as GUEST, default HOST)
  --dir-ro HOST[::GUEST] grant a host directory read-only
  --env K=V             set an environment variable (--env K copies the host's)
  --timeout-ms N        wall-clock limit; exceeding it exits 124
  --memory-mb N         linear memory limit; exceeding it exits 137
  --fuel N              instruction budget; exhausting it exits 137
  --no-cache            neither read nor write the AOT cache
  --allow-precompiled   accept a precompiled MODULE (from cwasi compile)

A command module gets stdin/stdout/stderr; a reactor reads its request from
stdin and writes its response to stdout. Exit codes: the guest's own, or 124
timeout, 125 usage, 126 cannot run the module, 127 module not found,
130 interrupted, 134 trap, 137 memory or fuel limit.
)";

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
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? kExitUsage : 0;
  }
  const std::string& cmd = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (cmd == "run") return runCommand(rest);
  if (cmd == "compile") return compileCommand(rest);
  if (cmd == "inspect") return inspectCommand(rest);
  if (cmd == "serve") return serveCommand(rest);
  if (cmd == "call") return callCommand(rest);
  if (cmd == "daemon") return daemonCommand(rest);
  if (cmd == "image") return imageCommand(rest);
  if (cmd == "deploy") return deployCommand(rest);
  if (cmd == "invoke") return invokeCommand(rest);
  if (cmd == "ls" || cmd == "list") return listCommand(rest);
  if (cmd == "rm" || cmd == "remove") return removeCommand(rest);
  if (cmd == "scale") return scaleCommand(rest);
  if (cmd == "logs") return logsCommand(rest);
  if (cmd == "workflow") return workflowCommand(rest);
  if (cmd == "version" || cmd == "--version") {
    std::printf("cwasi %s (commit %s, Wasmtime %s)\n", kVersion, buildSha(),
                runtime::wasmtimeVersion());
    return 0;
  }
  return fail(kExitUsage, "unknown command '" + cmd + "' (see cwasi --help)");
}

}  // namespace cwasi::cli

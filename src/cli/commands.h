// Internal to the CLI: one function per subcommand, and the shared pieces.
#pragma once

#include <signal.h>

#include <string>
#include <vector>

#include "args.h"
#include "cwasi/host/function_host.h"
#include "cwasi/common/result.h"
#include "cwasi/runtime/engine.h"

namespace cwasi::cli {

int runCommand(const std::vector<std::string>& args);
int compileCommand(const std::vector<std::string>& args);
int inspectCommand(const std::vector<std::string>& args);
int serveCommand(const std::vector<std::string>& args);
int callCommand(const std::vector<std::string>& args);
int daemonCommand(const std::vector<std::string>& args);
int imageCommand(const std::vector<std::string>& args);
// faas-cli-like clients of cwasid's HTTP API.
int deployCommand(const std::vector<std::string>& args);
int invokeCommand(const std::vector<std::string>& args);
int listCommand(const std::vector<std::string>& args);
int removeCommand(const std::vector<std::string>& args);
int scaleCommand(const std::vector<std::string>& args);
int logsCommand(const std::vector<std::string>& args);
int workflowCommand(const std::vector<std::string>& args);

// Flags shared by serve, call and the daemon (--listen, --runtime-dir,
// --cluster, --mode-policy, --redis, --token, --ring-kb). Returns false when
// `flag` is not one of them.
Result<bool> parseHostFlag(const std::string& flag, Args& args, host::HostConfig& c);
// Fills what the environment gives (CWASI_TOKEN) and flags did not.
void applyEnvironment(host::HostConfig& c);

// The daemon's default state dir: $CWASI_STATE_DIR, $XDG_STATE_HOME/cwasi,
// ~/.local/state/cwasi.
std::string defaultStateDir();
// The node runtime dir (registry of function hosts): $CWASI_RUNTIME_DIR,
// $XDG_RUNTIME_DIR/cwasi, /run/cwasi for root, /tmp/cwasi-<uid> otherwise.
std::string defaultRuntimeDir();

// The engine every CLI command uses; the same settings make `cwasi compile`
// output loadable by `cwasi run`.
// `ticker` starts the epoch thread (needed for --timeout-ms).
runtime::EngineConfig cliEngineConfig(bool fuel, bool use_cache, bool ticker = false);

// All of stdin.
std::vector<uint8_t> readAllStdin();
// Blocks SIGINT, SIGTERM and SIGHUP in this thread and those it starts, for a
// long-running command to sigwait() on the set returned. Call before any
// thread starts.
sigset_t blockStopSignals();

// Prints "cwasi: <message>" on stderr (one line) and returns `exit_code`.
int fail(int exit_code, const std::string& message);

}  // namespace cwasi::cli

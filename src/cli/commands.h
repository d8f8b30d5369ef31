// Internal to the CLI: one Command per subcommand, and the shared pieces.
#pragma once

#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "cwasi/common/result.h"
#include "cwasi/host/function_host.h"
#include "cwasi/runtime/engine.h"

namespace CLI {
class App;
}

namespace cwasi::cli {

// A subcommand. Its constructor declares the subcommand's flags on the
// CLI::App it is given (bound to the command's own members, so a Command
// never moves); run() acts on them once the whole command line has parsed.
class Command {
 public:
  explicit Command(CLI::App& app) : app_(app) {}
  virtual ~Command() = default;
  Command(const Command&) = delete;
  Command& operator=(const Command&) = delete;

  // The subcommand's app; owned by the root app, which outlives the command.
  CLI::App& app() const { return app_; }
  // Runs with the flags parsed; returns the process exit code.
  virtual int run() = 0;

 private:
  CLI::App& app_;
};

using Commands = std::vector<std::unique_ptr<Command>>;

// Each adds its subcommands to `cwasi` (the root app) and their Commands to
// `out`; a subcommand with subcommands of its own (image, workflow) adds a
// Command for each of those.
void addRunCommands(CLI::App& cwasi, Commands& out);       // run, inspect
void addServeCommands(CLI::App& cwasi, Commands& out);     // serve, call
void addImageCommands(CLI::App& cwasi, Commands& out);     // image build|push|pull
void addPlatformCommands(CLI::App& cwasi, Commands& out);  // deploy, invoke, ls...
// The node daemon on `app`: `cwasid` itself, or `cwasi daemon`.
std::unique_ptr<Command> daemonCommand(CLI::App& app);

// Which command the function host flags are for: serve takes them all; call
// serves nothing (no --listen); the daemon's own --max-connections counts
// its HTTP connections.
enum class HostRole { kServe, kCall, kDaemon };

// The flags serve, call and the daemon share, bound to a HostConfig
// (--runtime-dir, --cluster, --mode-policy, --redis, --token, --ring-kb...).
// apply() parses what stays text until then.
class HostFlags {
 public:
  HostFlags(CLI::App& app, host::HostConfig& config, HostRole role);
  // Parses the mode policy into the config.
  Result<void> apply();

 private:
  host::HostConfig& config_;
  std::string policy_;
};

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

// Internal to the CLI: one Command per subcommand, and the shared pieces.
#pragma once

#include <signal.h>

#include <functional>
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

// A subcommand of `cwasi` as --help lists it, and `declare`, which declares
// its flags (and subcommands, for image and workflow) on its app and adds
// its Command(s) to `out`. Only the subcommand the command line names is
// declared: declaring all their flags would cost every `cwasi run` about a
// millisecond of start-up (CLI11 checks each new option against the others).
struct Subcommand {
  std::string name, alias, description, group;
  std::function<void(CLI::App& app, Commands& out)> declare;
};
using Subcommands = std::vector<Subcommand>;

// `declare` for a subcommand that is one Command, of type C.
template <class C>
void declareCommand(CLI::App& app, Commands& out) {
  out.push_back(std::make_unique<C>(app));
}

// Each adds its subcommands to `out`.
void addRunCommands(Subcommands& out);       // run, inspect
void addServeCommands(Subcommands& out);     // serve, call
void addImageCommands(Subcommands& out);     // image build|push|pull
void addPlatformCommands(Subcommands& out);  // deploy, invoke, ls...
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

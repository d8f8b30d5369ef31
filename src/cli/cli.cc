#include "cwasi/cli/cli.h"

#include <cstdio>

#include "commands.h"
#include "cwasi/comm/guest_abi.h"
#include "cwasi/common/build_info.h"
#include "cwasi/common/files.h"
#include "cwasi/runtime/engine.h"
#include "flags.h"

namespace cwasi::cli {
namespace {

std::string versionLine() {
  return std::string("cwasi ") + kVersion + " (commit " + buildSha() + ", Wasmtime " +
         runtime::wasmtimeVersion() + ")";
}

// Precompiles a module ahead of time (what `cwasi run --allow-precompiled` runs).
class CompileCommand final : public Command {
 public:
  explicit CompileCommand(CLI::App& app) : Command(app) {
    app.add_option("MODULE", module_, "a .wasm or .wat module")->required();
    app.add_option("-o,--output", out_, "the artifact to write")->type_name("FILE")->required();
    app.add_flag("--fuel", fuel_, "for an engine that meters fuel (cwasi run --fuel)");
  }

  int run() override {
    auto engine = runtime::Engine::create(cliEngineConfig(fuel_, false));
    if (!engine.ok()) return fail(kExitUsage, engine.error().message());
    auto bytes = readFile(module_);
    if (!bytes.ok()) {
      return fail(bytes.error().code() == Code::kNotFound ? kExitNotFound : kExitCannotRun,
                  bytes.error().message());
    }
    auto artifact = (*engine)->precompile(*bytes, module_);
    if (!artifact.ok()) return fail(kExitCannotRun, artifact.error().message());
    if (auto w = writeFileAtomic(out_, *artifact); !w.ok()) {
      return fail(kExitUsage, w.error().message());
    }
    return 0;
  }

 private:
  std::string module_, out_;
  bool fuel_ = false;
};

// Prints the version line (as --version does).
class VersionCommand final : public Command {
 public:
  using Command::Command;
  int run() override {
    std::printf("%s\n", versionLine().c_str());
    return 0;
  }
};

// Adds every subcommand to `cwasi`, in the order --help lists them, and
// declares the flags of the one `named` only (see Subcommand).
Commands declareCommands(CLI::App& cwasi, const std::string& named) {
  Subcommands all;
  addRunCommands(all);
  all.push_back({"compile", "", "precompile a module ahead of time", "functions",
                 declareCommand<CompileCommand>});
  addServeCommands(all);
  all.push_back({"daemon", "", "the node daemon, as cwasid", "function hosts",
                 [](CLI::App& app, Commands& out) { out.push_back(daemonCommand(app)); }});
  addImageCommands(all);
  addPlatformCommands(all);
  all.push_back({"version", "", "cwasi's version", "other", declareCommand<VersionCommand>});

  Commands out;
  for (const Subcommand& s : all) {
    CLI::App& app = *cwasi.add_subcommand(s.name, s.description)->group(s.group);
    if (!s.alias.empty()) app.alias(s.alias);
    if (named == s.name || (!s.alias.empty() && named == s.alias)) s.declare(app, out);
  }
  cwasi.set_version_flag("--version", versionLine(), "cwasi's version");
  cwasi.footer("`cwasi COMMAND --help` lists a command's flags, their defaults and ranges.");
  return out;
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

int runDaemon(const std::vector<std::string>& args) {
  CLI::App app("the cwasi node daemon (HTTP gateway, deploy, autoscaling, workflows)", "cwasid");
  std::unique_ptr<Command> daemon;
  if (auto exit = parseCommandLine(app, args, [&] { daemon = daemonCommand(app); })) return *exit;
  return daemon->run();
}

int runCli(const std::vector<std::string>& args) {
  CLI::App app("serverless WebAssembly functions", "cwasi");
  Commands commands;
  // `cwasi help` as `cwasi --help`.
  const bool help = args.size() == 1 && args[0] == "help";
  const std::string named = args.empty() ? "" : args[0];
  if (auto exit = parseCommandLine(app, help ? std::vector<std::string>{"--help"} : args,
                                   [&] { commands = declareCommands(app, named); })) {
    return *exit;
  }
  for (const auto& c : commands) {
    if (c->app().parsed()) return c->run();
  }
  // No command, or a group without one of its commands (`cwasi image`):
  // the usage of what was named (help() shows the selected subcommand's).
  std::fputs(app.help().c_str(), stderr);
  return kExitUsage;
}

}  // namespace cwasi::cli

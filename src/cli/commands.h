// Internal to the CLI: one function per subcommand, and the shared pieces.
#pragma once

#include <string>
#include <vector>

#include "cwasi/common/result.h"
#include "cwasi/runtime/engine.h"

namespace cwasi::cli {

int runCommand(const std::vector<std::string>& args);
int compileCommand(const std::vector<std::string>& args);
int inspectCommand(const std::vector<std::string>& args);
int serveCommand(const std::vector<std::string>& args);
int callCommand(const std::vector<std::string>& args);

// The engine every CLI command uses; the same settings make `cwasi compile`
// output loadable by `cwasi run`.
// `ticker` starts the epoch thread (needed for --timeout-ms).
runtime::EngineConfig cliEngineConfig(bool fuel, bool use_cache, bool ticker = false);

// Prints "cwasi: <message>" on stderr (one line) and returns `exit_code`.
int fail(int exit_code, const std::string& message);

}  // namespace cwasi::cli

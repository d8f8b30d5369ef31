// The `cwasi` command line: every subcommand's logic, so that tools/cwasi's
// main() only forwards argv here.
#pragma once

#include <string>
#include <vector>

namespace cwasi::cli {

// Exit codes of `cwasi run`, beyond the guest's own exit code (documented in
// the README; modelled on timeout(1) and docker/podman).
inline constexpr int kExitTimeout = 124;        // --timeout-ms reached
inline constexpr int kExitUsage = 125;          // bad flags, or cwasi itself failed
inline constexpr int kExitCannotRun = 126;      // invalid module, unknown import, missing dir...
inline constexpr int kExitNotFound = 127;       // the module file does not exist
inline constexpr int kExitCancelled = 130;      // stopped by a signal
inline constexpr int kExitTrap = 134;           // trap: unreachable/abort, out of bounds, stack...
inline constexpr int kExitResourceLimit = 137;  // memory limit or fuel exhausted

// Runs `cwasi <args>` (args excludes argv[0]); returns the process exit code.
int runCli(const std::vector<std::string>& args);
// Runs the node daemon, `cwasid <args>`.
int runDaemon(const std::vector<std::string>& args);

}  // namespace cwasi::cli

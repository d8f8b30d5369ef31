// Internal to the CLI: how a flag is declared. Every flag is declared once,
// with CLI11, next to the command that uses it: its name, help, type, default
// (shown in --help) and, for a number, its range. Values that are more than a
// number or a word (NAME=MODULE,..., K=V, HOST[::GUEST]) stay text for CLI11
// and are parsed by our own functions, returning Result, once it is done.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cwasi/common/result.h"

namespace cwasi::cli {

// The one policy for numeric flags: a whole decimal number within
// [min, max]; anything else is refused, naming the range, never clamped.
// Use it with ->transform(), not ->check(): it hands CLI11 the number in
// plain decimal, since CLI11 2.1 reads integers with strtoull(base 0)
// ("010" would be 8, "0x10" 16, and "-1" 2^64-1).
CLI::Validator inRange(uint64_t min, uint64_t max = UINT64_MAX);

// A duration flag in milliseconds (at least 1) bound to `ms`; its default,
// shown in --help, is the value `ms` holds now.
CLI::Option* addMillis(CLI::App& app, const std::string& name, std::chrono::milliseconds& ms,
                       const std::string& help);

// A flag counted in units of 2^shift bytes (KiB: 10, MiB: 20), within
// [min, max] units, bound to a byte count; its default is `bytes` now.
CLI::Option* addScaledBytes(CLI::App& app, const std::string& name, uint64_t& bytes, int shift,
                            uint64_t min, uint64_t max, const std::string& help);

// A size flag ("64Mi", "1G" or a number of bytes), at least `min` bytes,
// bound to a byte count; its default is `bytes` now, in whole Gi/Mi/Ki.
CLI::Option* addByteSize(CLI::App& app, const std::string& name, uint64_t& bytes, uint64_t min,
                         const std::string& help);

// "KEY=VALUE" split in two; InvalidArgument naming `flag` otherwise.
Result<std::pair<std::string, std::string>> keyValue(const std::string& s,
                                                     const std::string& flag);

// The same policy for a number inside a composite value (--function's
// memory-mb=N): InvalidArgument naming `what` and the range otherwise.
Result<uint64_t> parseInRange(const std::string& s, const std::string& what, uint64_t min,
                              uint64_t max = UINT64_MAX);

// --help as cwasi prints it: the usage line first, then the description;
// each option with its type, then its range, default and environment
// variable. (CLI11 joins a type and its validators' descriptions with ':',
// so a type name given with ->type_name() must not contain one.)
class HelpFormatter : public CLI::Formatter {
 public:
  HelpFormatter();
  std::string make_help(const CLI::App* app, std::string name,
                        CLI::AppFormatMode mode) const override;
  std::string make_group(std::string group, bool is_positional,
                         std::vector<const CLI::Option*> opts) const override;
  std::string make_option_opts(const CLI::Option* opt) const override;
};

// Runs `declare` (which adds the flags and subcommands to `app`), then parses
// `args` into `app`. CLI11 reports everything by throwing; this is the one
// place its exceptions are caught, and none gets past it. Returns nullopt
// when the command is to run, or the exit code when it is not: 0 after
// printing the help or version asked for, kExitUsage after printing a
// usage error (naming the flag, and the command whose --help tells more).
std::optional<int> parseCommandLine(CLI::App& app, const std::vector<std::string>& args,
                                    const std::function<void()>& declare);

}  // namespace cwasi::cli

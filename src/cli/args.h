// Internal to the CLI: a small parser for "--flag VALUE", "--flag=VALUE" and
// boolean "--flag" arguments, stopping at the first positional argument.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cwasi/common/result.h"

namespace cwasi::cli {

class Args {
 public:
  explicit Args(const std::vector<std::string>& args) : args_(args) {}

  // True while the next argument is a flag ("-x"/"--x", not "-" or "--").
  // Consumes a lone "--", after which everything is positional.
  bool nextIsFlag();
  // The next flag's name without its value ("--dir=x" gives "--dir").
  std::string takeFlag();
  // The value of the flag just taken: its "=VALUE" part or the next argument.
  Result<std::string> value(const std::string& flag);
  Result<uint64_t> number(const std::string& flag);
  // A number within [min, max]: the one policy for every numeric flag — a
  // value out of range is refused, naming the range, never clamped.
  Result<uint64_t> ranged(const std::string& flag, uint64_t min, uint64_t max);
  // For commands whose flags may come after positionals: takes every
  // argument, handing each flag to `on_flag` (which reads its value, and
  // returns false for a flag it does not know). Returns the positionals.
  template <class OnFlag>
  Result<std::vector<std::string>> parseInterleaved(OnFlag on_flag) {
    std::vector<std::string> positional;
    while (!empty()) {
      if (!nextIsFlag()) {
        if (!empty()) positional.push_back(args_[pos_++]);
        continue;
      }
      const std::string flag = takeFlag();
      TRY_ASSIGN(bool known, on_flag(flag));
      if (!known) return invalidArgument("unknown option " + flag);
    }
    return positional;
  }
  // Everything not yet consumed.
  std::vector<std::string> rest() const;
  bool empty() const { return pos_ >= args_.size(); }

 private:
  const std::vector<std::string>& args_;
  size_t pos_ = 0;
  std::optional<std::string> inline_value_;
  bool only_positional_ = false;
};

// Parses a whole non-negative decimal number, or InvalidArgument naming `what`.
Result<uint64_t> parseNumber(const std::string& s, const std::string& what);

// "KEY=VALUE" split in two; InvalidArgument naming `flag` otherwise.
Result<std::pair<std::string, std::string>> keyValue(const std::string& s, const std::string& flag);

}  // namespace cwasi::cli

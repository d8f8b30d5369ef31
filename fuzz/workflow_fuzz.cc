// node::parseWorkflow: workflow definitions in YAML or JSON (POST
// /system/workflows, and the stored ones read back at start). What it
// accepts must store and reload as itself, and run: every step once, the
// output being its sinks' outputs in declaration order.
#include <nlohmann/json.hpp>

#include <atomic>
#include <map>
#include <string>

#include "cwasi/node/workflow.h"
#include "fuzz.h"

namespace {

using cwasi::Result;
using cwasi::node::Workflow;

// Runs `w` with steps that answer their own function's name; checks what
// runWorkflow promises.
void runChecked(const Workflow& w) {
  std::map<std::string, std::atomic<int>> calls;
  for (const auto& s : w.steps) calls[s.function] = 0;
  auto result = cwasi::node::runWorkflow(
      w, {}, [&](const std::string& function, std::span<const uint8_t>) -> Result<std::vector<uint8_t>> {
        ++calls.at(function);
        return std::vector<uint8_t>(function.begin(), function.end());
      });
  FUZZ_CHECK(result.output.ok());
  std::map<std::string, int> expected;
  std::map<std::string, bool> followed;
  for (const auto& s : w.steps) {
    ++expected[s.function];
    for (const auto& dep : s.after) followed[dep] = true;
  }
  std::string sinks;
  for (const auto& s : w.steps) {
    if (!followed[s.id]) sinks += s.function;
  }
  for (const auto& [function, n] : expected) FUZZ_CHECK(calls.at(function) == n);
  FUZZ_CHECK(std::string(result.output->begin(), result.output->end()) == sinks);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto w = cwasi::node::parseWorkflow(cwasi::fuzz::asText(data, size));
  if (!w.ok()) return 0;
  const nlohmann::json stored = cwasi::node::toJson(*w);
  auto reloaded = cwasi::node::parseWorkflow(stored.dump());
  FUZZ_CHECK(reloaded.ok());
  FUZZ_CHECK(cwasi::node::toJson(*reloaded) == stored);
  runChecked(*w);
  return 0;
}

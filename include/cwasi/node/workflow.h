// Workflows: functions composed into a chain or a DAG, declared in JSON or
// YAML:
//   name: thumbnails
//   sequence: [resize, compress]          # a chain, or:
//   steps:
//     - {id: split, function: splitter}
//     - {id: a, function: worker, after: [split]}   # fan-out: a and b run
//     - {id: b, function: worker, after: [split]}   #   concurrently
//     - {id: join, function: merger, after: [a, b]} # fan-in
// A step with no `after` gets the workflow's input; otherwise the outputs of
// its `after` steps, concatenated in the order listed. The workflow's output is
// that of its last step that no other step follows (the sinks' outputs
// concatenated in declaration order when there are several).
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "cwasi/common/executor.h"
#include "cwasi/common/result.h"

namespace cwasi::node {

struct WorkflowStep {
  std::string id;
  std::string function;
  std::vector<std::string> after;
};

struct Workflow {
  std::string name;
  std::string trust_domain = "default";  // the domain its calls are made from
  std::vector<WorkflowStep> steps;       // declaration order
};

inline constexpr size_t kMaxWorkflowSteps = 256;

// Parses (JSON is YAML too) and validates: unique ids, known `after`
// references, no cycles. InvalidArgument says what is wrong.
Result<Workflow> parseWorkflow(std::string_view text);
nlohmann::json toJson(const Workflow& w);

// Calls a function with an input: its output or its error. Must be
// thread-safe (steps run concurrently).
using StepCall = std::function<Result<std::vector<uint8_t>>(const std::string& function,
                                                            std::span<const uint8_t> input)>;

struct WorkflowResult {
  // The composition's output, or the first failing step's error.
  Result<std::vector<uint8_t>> output{std::vector<uint8_t>()};
  std::string failed_step;  // set when a step failed
};

// Runs every step once its inputs are ready, independent steps concurrently
// on `steps` (the daemon's bounded executor; a step it cannot take, or every
// step without one, runs on the caller's thread). The first failing step
// stops the workflow; the call returns once the steps already running
// finished.
WorkflowResult runWorkflow(const Workflow& w, std::span<const uint8_t> input, const StepCall& call,
                           Executor* steps = nullptr);

}  // namespace cwasi::node

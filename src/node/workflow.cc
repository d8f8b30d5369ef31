#include "cwasi/node/workflow.h"

#include <yaml-cpp/yaml.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "cwasi/comm/frame.h"
#include "cwasi/common/mutex.h"

namespace cwasi::node {
namespace {

// Whether `s` is UTF-8 (RFC 3629: no overlong forms, surrogates or code
// points past U+10FFFF): what the stored JSON of a workflow can hold.
bool validUtf8(std::string_view s) {
  static constexpr uint32_t kLeast[] = {0, 0x80, 0x800, 0x10000};  // by continuation bytes
  for (size_t i = 0; i < s.size();) {
    const auto lead = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = lead;
    if (lead >= 0xf0 && lead < 0xf8) {
      n = 3, cp = lead & 0x07;
    } else if (lead >= 0xe0 && lead < 0xf0) {
      n = 2, cp = lead & 0x0f;
    } else if (lead >= 0xc0 && lead < 0xe0) {
      n = 1, cp = lead & 0x1f;
    } else if (lead >= 0x80) {
      return false;
    }
    if (s.size() - i <= n) return false;
    for (size_t k = 1; k <= n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < kLeast[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

// YAML takes any bytes; a workflow's strings must be UTF-8 to be stored.
Result<std::string> scalar(const YAML::Node& n, const std::string& what) {
  if (!n.IsScalar()) return invalidArgument(what + " must be a string");
  std::string s = n.as<std::string>();
  if (!validUtf8(s)) return invalidArgument(what + " is not UTF-8 text");
  return s;
}

Result<std::vector<std::string>> stringList(const YAML::Node& n, const std::string& what) {
  std::vector<std::string> out;
  if (!n || n.IsNull()) return out;
  if (n.IsScalar()) {
    TRY_ASSIGN(std::string s, scalar(n, what));
    return std::vector<std::string>{std::move(s)};
  }
  if (!n.IsSequence()) return invalidArgument(what + " must be a list of strings");
  for (const auto& item : n) {
    TRY_ASSIGN(std::string s, scalar(item, what + " item"));
    out.push_back(std::move(s));
  }
  return out;
}

Result<void> validate(const Workflow& w) {
  if (w.steps.empty()) return invalidArgument("workflow " + w.name + " has no steps");
  if (w.steps.size() > kMaxWorkflowSteps) {
    return invalidArgument("workflow has more than " + std::to_string(kMaxWorkflowSteps) + " steps");
  }
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < w.steps.size(); ++i) {
    const WorkflowStep& s = w.steps[i];
    if (s.id.empty()) return invalidArgument("step " + std::to_string(i + 1) + " has no id");
    if (!comm::validName(s.function)) {
      return invalidArgument("step " + s.id + ": invalid function name '" + s.function + "'");
    }
    if (!index.emplace(s.id, i).second) return invalidArgument("step id " + s.id + " is used twice");
  }
  for (const WorkflowStep& s : w.steps) {
    std::set<std::string> seen;
    for (const std::string& dep : s.after) {
      if (!index.contains(dep)) return invalidArgument("step " + s.id + " follows unknown step " + dep);
      if (!seen.insert(dep).second) return invalidArgument("step " + s.id + " lists " + dep + " twice");
    }
  }
  // Kahn's algorithm: every step must become ready.
  std::vector<int> pending(w.steps.size());
  for (size_t i = 0; i < w.steps.size(); ++i) pending[i] = static_cast<int>(w.steps[i].after.size());
  std::vector<size_t> ready;
  for (size_t i = 0; i < w.steps.size(); ++i) {
    if (pending[i] == 0) ready.push_back(i);
  }
  size_t done = 0;
  while (!ready.empty()) {
    const std::string& id = w.steps[ready.back()].id;
    ready.pop_back();
    ++done;
    for (size_t i = 0; i < w.steps.size(); ++i) {
      for (const auto& dep : w.steps[i].after) {
        if (dep == id && --pending[i] == 0) ready.push_back(i);
      }
    }
  }
  if (done != w.steps.size()) return invalidArgument("workflow " + w.name + " has a cycle");
  return {};
}

}  // namespace

Result<Workflow> parseWorkflow(std::string_view text) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return invalidArgument(std::string("workflow: not valid JSON or YAML: ") + e.what());
  }
  if (!root.IsMap()) return invalidArgument("workflow: expected an object with name and steps");
  try {
    Workflow w;
    if (!root["name"]) return invalidArgument("workflow: name is required");
    TRY_ASSIGN(w.name, scalar(root["name"], "name"));
    if (!comm::validName(w.name) || w.name.size() > 63) {
      return invalidArgument("workflow: invalid name '" + w.name + "' (use [A-Za-z0-9._-])");
    }
    if (root["trustDomain"]) {
      TRY_ASSIGN(w.trust_domain, scalar(root["trustDomain"], "trustDomain"));
    }
    if (root["sequence"] && root["steps"]) {
      return invalidArgument("workflow: give either sequence or steps, not both");
    }
    if (root["sequence"]) {
      TRY_ASSIGN(auto functions, stringList(root["sequence"], "sequence"));
      for (size_t i = 0; i < functions.size(); ++i) {
        WorkflowStep s{std::to_string(i + 1) + "-" + functions[i], functions[i], {}};
        if (i > 0) s.after.push_back(w.steps.back().id);
        w.steps.push_back(std::move(s));
      }
    } else if (root["steps"]) {
      const YAML::Node steps = root["steps"];
      if (!steps.IsSequence()) return invalidArgument("workflow: steps must be a list");
      for (const auto& node : steps) {
        if (!node.IsMap()) return invalidArgument("workflow: each step must be an object");
        WorkflowStep s;
        if (!node["function"]) return invalidArgument("workflow: a step has no function");
        TRY_ASSIGN(s.function, scalar(node["function"], "function"));
        if (node["id"]) {
          TRY_ASSIGN(s.id, scalar(node["id"], "id"));
        } else {
          s.id = s.function;
        }
        TRY_ASSIGN(s.after, stringList(node["after"], "step " + s.id + " after"));
        w.steps.push_back(std::move(s));
      }
    } else {
      return invalidArgument("workflow: steps (or sequence) is required");
    }
    TRY(validate(w));
    return w;
  } catch (const YAML::Exception& e) {
    return invalidArgument(std::string("workflow: ") + e.what());
  }
}

nlohmann::json toJson(const Workflow& w) {
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& s : w.steps) {
    steps.push_back({{"id", s.id}, {"function", s.function}, {"after", s.after}});
  }
  return {{"name", w.name}, {"trustDomain", w.trust_domain}, {"steps", steps}};
}

WorkflowResult runWorkflow(const Workflow& w, std::span<const uint8_t> input, const StepCall& call,
                           Executor* steps) {
  const size_t n = w.steps.size();
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < n; ++i) index[w.steps[i].id] = i;
  std::vector<bool> followed(n, false);
  for (const auto& s : w.steps) {
    for (const auto& dep : s.after) followed[index[dep]] = true;
  }

  enum class StepState { kWaiting, kRunning, kDone };
  // What the steps report into; the caller returns only once none runs.
  struct State {
    Mutex mu;
    CondVar changed;
    std::vector<std::vector<uint8_t>> outputs GUARDED_BY(mu);
    std::vector<StepState> states GUARDED_BY(mu);
    int running GUARDED_BY(mu) = 0;
    WorkflowResult failure GUARDED_BY(mu);
    bool failed GUARDED_BY(mu) = false;
  };
  State state;
  State* st = &state;  // the steps report here; this frame outlives all of them
  auto finish = [st, &w](size_t i, Result<std::vector<uint8_t>> out) {
    MutexLock l(st->mu);
    if (!out.ok() && !st->failed) {
      st->failed = true;
      st->failure.output = out.error();
      st->failure.failed_step = w.steps[i].id;
    }
    if (out.ok()) st->outputs[i] = std::move(*out);
    st->states[i] = StepState::kDone;
    --st->running;
    st->changed.notifyAll();
  };
  MutexLock lock(st->mu);
  st->outputs.resize(n);
  st->states.assign(n, StepState::kWaiting);
  for (;;) {
    size_t finished = 0;
    // Steps no executor thread took run here, one at a time.
    std::vector<std::pair<size_t, std::vector<uint8_t>>> here;
    for (size_t i = 0; i < n; ++i) {
      if (st->states[i] == StepState::kDone) ++finished;
      if (st->states[i] != StepState::kWaiting || st->failed) continue;
      bool ready = true;
      for (const auto& dep : w.steps[i].after) ready = ready && st->states[index[dep]] == StepState::kDone;
      if (!ready) continue;
      std::vector<uint8_t> in;
      if (w.steps[i].after.empty()) {
        in.assign(input.begin(), input.end());
      } else {
        for (const auto& dep : w.steps[i].after) {
          const auto& out = st->outputs[index[dep]];
          in.insert(in.end(), out.begin(), out.end());
        }
      }
      st->states[i] = StepState::kRunning;
      ++st->running;
      // `call` and `w` outlive every step: the caller waits for all of them.
      auto posted = steps == nullptr
                        ? Result<void>(unavailable("no executor"))
                        : steps->post([&call, &w, finish, i, in]() mutable {
                            finish(i, call(w.steps[i].function, in));
                          });
      if (!posted.ok()) here.emplace_back(i, std::move(in));
    }
    for (auto& [i, in] : here) {
      st->mu.unlock();
      finish(i, call(w.steps[i].function, in));
      st->mu.lock();
    }
    if (!here.empty()) continue;
    if (finished == n || (st->failed && st->running == 0)) break;
    st->changed.wait(st->mu);
  }
  if (st->failed) return std::move(st->failure);
  WorkflowResult result;
  std::vector<uint8_t> composed;
  for (size_t i = 0; i < n; ++i) {
    if (followed[i]) continue;
    composed.insert(composed.end(), st->outputs[i].begin(), st->outputs[i].end());
  }
  result.output = std::move(composed);
  return result;
}

}  // namespace cwasi::node

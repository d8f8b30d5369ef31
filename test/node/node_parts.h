// The daemon's parts, wired in the test process as the Gateway wires them,
// with a clock the test drives: a function host, a state dir, the registry,
// the invoker. Tests of scaling, admission and async calls use it instead of
// a daemon driven over HTTP with sleeps.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cwasi/common/clock.h"
#include "cwasi/host/function_host.h"
#include "cwasi/node/deployment.h"
#include "cwasi/trigger/invoker.h"
#include "cwasi/trigger/metrics.h"
#include "cwasi/node/registry.h"
#include "cwasi/node/state.h"
#include "support/wasi_test.h"

namespace cwasi::testing {

struct NodeParts {
  // `engine`: the function host's engine settings (a pool of 16 by default).
  explicit NodeParts(runtime::EngineConfig engine = smallEngine()) {
    host::HostConfig hc;
    hc.engine = std::move(engine);
    host = std::move(*host::FunctionHost::start(std::move(hc)));
    state = std::move(*node::StateDir::open(dir / "state"));
    registry = std::make_unique<node::FunctionRegistry>(*host, *state, metrics, clock,
                                                        std::chrono::seconds(10));
    invoker = std::make_unique<trigger::Invoker>(*registry, *host, metrics, clock,
                                              std::chrono::seconds(5));
  }

  static runtime::EngineConfig smallEngine() {
    runtime::EngineConfig c;
    c.max_instances = 16;
    return c;
  }

  // Deploys function `fn` (a module of the build) as `name`, with extra
  // deployment fields.
  std::shared_ptr<const node::DeployedTarget> deploy(const std::string& name, const std::string& fn,
                                                    nlohmann::json extra = nlohmann::json::object()) {
    extra["service"] = name;
    extra["image"] = functionPath(fn).string();
    auto d = node::parseDeployment(extra);
    if (!d.ok()) return nullptr;
    auto e = registry->deploy(std::move(*d), false);
    return e.ok() ? *e : nullptr;
  }

  trigger::Invocation invoke(const node::DeployedTarget& e, const std::string& body) {
    return invoker->invoke(e, {reinterpret_cast<const uint8_t*>(body.data()), body.size()}, {});
  }

  TempDir dir;
  ManualClock clock;
  trigger::Metrics metrics;
  std::unique_ptr<host::FunctionHost> host;
  std::unique_ptr<node::StateDir> state;
  std::unique_ptr<node::FunctionRegistry> registry;
  std::unique_ptr<trigger::Invoker> invoker;
};

inline std::string text(const Result<std::vector<uint8_t>>& r) {
  return r.ok() ? std::string(r->begin(), r->end()) : "error: " + r.error().toString();
}

}  // namespace cwasi::testing

// The TaskHost over the real FunctionHost: the one file of the shim that
// includes it. A task's function is deployed like any other, so it calls and
// is called by the pod's other functions (embedded) and the node's (local).
#include "cwasi/host/function_host.h"
#include "cwasi/shim/task_host.h"

namespace cwasi::shim {
namespace {

class FunctionHostTasks : public TaskHost {
 public:
  explicit FunctionHostTasks(std::unique_ptr<host::FunctionHost> host) : host_(std::move(host)) {}

  Result<void> load(const TaskFunction& function) override {
    host::FunctionSpec spec(function.name, function.module);
    spec.trust_domain = function.trust_domain;
    spec.limits = function.limits;
    spec.env = function.env;
    spec.publish = function.publish;
    // Loads now (from the AOT cache when this digest was compiled before).
    return host_->deploy(std::move(spec));
  }

  Result<runtime::FunctionKind> kind(std::string_view name) override { return host_->kind(name); }

  Result<int> runMain(std::string_view name, runtime::RunContext context) override {
    return host_->runMain(name, std::move(context));
  }

  void remove(std::string_view name) override { host_->remove(name); }

 private:
  std::unique_ptr<host::FunctionHost> host_;
};

}  // namespace

Result<std::unique_ptr<TaskHost>> startFunctionHostTasks(TaskHostConfig config) {
  host::HostConfig hc;
  hc.runtime_dir = config.runtime_dir;
  hc.engine.cache_dir = config.cache_dir;
  hc.engine.max_instances = config.max_instances;
  TRY_ASSIGN(auto host, host::FunctionHost::start(std::move(hc)));
  return std::unique_ptr<TaskHost>(std::make_unique<FunctionHostTasks>(std::move(host)));
}

}  // namespace cwasi::shim

// The daemon's function registry: the one table of what is deployed. An
// entry holds a deployment, its scaler and what it accumulates across updates
// (counters, log); changing the table puts the function in the host, the
// record in the state dir and the entry in the table, in one place, under one
// lock. Workflows are kept here too.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "cwasi/common/clock.h"
#include "cwasi/common/mutex.h"
#include "cwasi/common/result.h"
#include "cwasi/host/function_host.h"
#include "cwasi/node/deployment.h"
#include "cwasi/node/image_puller.h"
#include "cwasi/trigger/metrics.h"
#include "cwasi/trigger/target.h"
#include "cwasi/node/scaler.h"
#include "cwasi/node/state.h"
#include "cwasi/node/workflow.h"

namespace cwasi::node {

// A function's stderr, kept as the last lines it wrote (every invocation,
// however it was called). Thread-safe.
class FunctionLog : public runtime::OutputWriter {
 public:
  struct Line {
    uint64_t seq = 0;  // 1, 2, ... in the order written: a follower's place
    std::chrono::system_clock::time_point time;
    std::string timestamp;  // RFC 3339, UTC
    std::string text;
  };
  explicit FunctionLog(size_t max_lines = 1000) : max_lines_(max_lines) {}
  void write(std::string_view text) override EXCLUDES(mu_);
  // The last `n` lines, oldest first.
  std::vector<Line> tail(size_t n) const EXCLUDES(mu_);
  // The lines kept that came after line `seq`, oldest first.
  std::vector<Line> after(uint64_t seq) const EXCLUDES(mu_);

 private:
  const size_t max_lines_;
  mutable Mutex mu_;
  std::deque<Line> lines_ GUARDED_BY(mu_);
  uint64_t last_seq_ GUARDED_BY(mu_) = 0;
};

// The Target of a Deployment: a deployed function as the daemon's triggers
// see it; immutable once published. It is the trigger layer's Target (name, timeout, response mode, limiter,
// stats, and its scaler as the load observer), shared (shared_ptr) with
// requests in flight, so that an update or removal does not pull it from
// under them. An update publishes a new entry sharing the limiter, scaler,
// stats and log of the old one (requests admitted under the old entry
// release into the ones the new one uses).
struct DeployedTarget : trigger::Target {
  Deployment deployment;
  std::shared_ptr<Scaler> scaler;  // also `load`
  std::shared_ptr<FunctionLog> log;
};

class FunctionRegistry : public trigger::TargetDirectory {
 public:
  // `host`, `state`, `metrics`, `clock` and `images` must outlive the
  // registry; without `images`, deployments name files on this host only.
  // `running_ceiling` (0: none) bounds how many requests of one function run
  // at once, whatever its maxInflight: the rest of them wait, in its queue.
  FunctionRegistry(host::FunctionHost& host, StateDir& state, trigger::Metrics& metrics,
                   const Clock& clock, std::chrono::milliseconds stable_window,
                   const ImagePuller* images = nullptr, size_t running_ceiling = 0);

  // Puts back what the state dir holds; what no longer loads is returned as
  // messages (and skipped).
  std::vector<std::string> restore();

  // Deploys a function (update: replaces an existing one). `d.image` names a
  // module or an OCI image tarball on this host (an absolute path), or an
  // image in a registry (pulled, unless its digest was already); the module
  // is stored in the state dir. NotFound (update of an unknown function, an
  // unknown image), AlreadyExists (create of an existing one),
  // InvalidArgument (a bad image or module), and the puller's errors.
  Result<std::shared_ptr<const DeployedTarget>> deploy(Deployment d, bool update);
  // NotFound when unknown.
  Result<void> remove(const std::string& name);
  // Sets the replicas (0 drops the module); the count set.
  Result<int> scale(const std::string& name, int replicas);

  std::shared_ptr<const DeployedTarget> find(std::string_view name) const;
  std::shared_ptr<const trigger::Target> findTarget(std::string_view name) const override {
    return find(name);
  }
  std::vector<std::shared_ptr<const DeployedTarget>> list() const;

  // OpenFaaS secrets. A function that names one sees it as a read-only file
  // at /var/openfaas/secrets/<name>, an update reaching it at once.
  // put: AlreadyExists (create of an existing one), NotFound (update of an
  // unknown one); remove: NotFound, FailedPrecondition while a function
  // names it.
  Result<void> putSecret(const std::string& name, std::span<const uint8_t> value, bool update);
  Result<void> removeSecret(const std::string& name);
  std::vector<std::string> secrets() const;

  Result<void> deployWorkflow(Workflow w);
  Result<void> removeWorkflow(const std::string& name);
  std::shared_ptr<const Workflow> findWorkflow(std::string_view name) const;
  std::vector<std::shared_ptr<const Workflow>> workflows() const;

 private:
  Result<std::shared_ptr<const DeployedTarget>> install(Deployment d, bool persist)
      REQUIRES(change_mu_);
  void collectModules() REQUIRES(change_mu_);
  // InvalidArgument naming the first secret `d` names that does not exist.
  Result<void> secretsExist(const Deployment& d) const;
  struct ImageModule {
    std::vector<uint8_t> bytes;
    std::string image_digest;  // for an image from a registry
  };
  Result<ImageModule> moduleOf(const std::string& image) const;
  ScalePolicy policyFor(const Deployment& d) const;

  host::FunctionHost& host_;
  StateDir& state_;
  trigger::Metrics& metrics_;
  const Clock& clock_;
  const std::chrono::milliseconds stable_window_;
  const ImagePuller* const images_;
  const size_t running_ceiling_;
  Mutex change_mu_;  // serialises changes: host, state dir, tables
  mutable Mutex mu_;
  std::map<std::string, std::shared_ptr<const DeployedTarget>, std::less<>> functions_
      GUARDED_BY(mu_);
  std::map<std::string, std::shared_ptr<const Workflow>, std::less<>> workflows_ GUARDED_BY(mu_);
};

// Where a function sees the secrets it names.
inline constexpr char kSecretsMount[] = "/var/openfaas/secrets";

// The HTTP-independent form of a function's status (OpenFaaS's function
// status object, plus cwasi's counters), as JSON.
nlohmann::json statusJson(const DeployedTarget& e, bool loaded);

}  // namespace cwasi::node

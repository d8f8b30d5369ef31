// The daemon's state directory: what must survive a restart.
//   token                  the admin bearer token (0600)
//   functions/<name>.json  deployments
//   workflows/<name>.json  workflows
//   modules/<sha256>.wasm  deployed modules, content-addressed, so that a
//                          deployment does not depend on the file it came from
//   images/<sha256>.json   for an image pulled from a registry (by its manifest
//                          digest), the module stored from it: a digest
//                          pulled once is not downloaded again
//   secrets/<name>         OpenFaaS secrets' values (0600)
//   secret-views/<fn>/     what a function sees at /var/openfaas/secrets:
//                          copies of the secrets it names (0400)
// Writes are atomic (write + rename); temporary files a crash left are
// removed at open. Paths in records are relative: the dir may move. Not thread-safe: the gateway serialises
// changes. Every name that becomes part of a path (a function, workflow or
// secret) must be one plain file name — no '/', no "." or "..", nothing
// starting with '.' — or the call fails with InvalidArgument: no path built
// from a request leaves its directory, whatever the caller checked before.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "cwasi/common/result.h"
#include "cwasi/node/deployment.h"
#include "cwasi/node/workflow.h"

namespace cwasi::node {

class StateDir {
 public:
  static Result<std::unique_ptr<StateDir>> open(const std::filesystem::path& dir);

  // `configured` when given (not stored), else the stored token, else a new
  // random one, stored.
  Result<std::string> token(const std::string& configured);

  // Stores a module (binary or text format) and returns its path and digest.
  struct StoredModule {
    std::filesystem::path path;  // relative to the state dir ("modules/<sha256>.wasm")
    std::string digest;
  };
  Result<StoredModule> storeModule(std::span<const uint8_t> bytes);
  // Where a stored module is now (records hold paths relative to the dir).
  std::filesystem::path modulePath(const std::string& stored) const;
  // Deletes stored modules that no stored path in `in_use` names, and the
  // records of pulled images whose module went with them.
  void collectModules(const std::set<std::string>& in_use);

  // Records that the image of `image_digest` ("sha256:...") holds `module`.
  Result<void> rememberPull(const std::string& image_digest, const StoredModule& module);
  // Where the module pulled for `image_digest` is, when it is still stored.
  // Reads only whole records (written by rename): safe beside a writer.
  std::optional<std::filesystem::path> pulledModule(const std::string& image_digest) const;

  Result<void> saveFunction(const Deployment& d);
  Result<void> removeFunction(const std::string& name);
  // Every stored deployment; unreadable ones are reported in `errors`.
  std::vector<Deployment> loadFunctions(std::vector<std::string>* errors);

  std::vector<std::string> secretNames() const;
  bool hasSecret(const std::string& name) const;
  Result<void> saveSecret(const std::string& name, std::span<const uint8_t> value);
  Result<void> removeSecret(const std::string& name);
  // Makes `function`'s view hold exactly the secrets `names` (each must
  // exist); returns the directory.
  Result<std::filesystem::path> writeSecretView(const std::string& function,
                                                const std::vector<std::string>& names);
  Result<void> removeSecretView(const std::string& function);

  Result<void> saveWorkflow(const Workflow& w);
  Result<void> removeWorkflow(const std::string& name);
  std::vector<Workflow> loadWorkflows(std::vector<std::string>* errors);

  // Accepted async calls not run yet (the async queue's journal): saved
  // before the caller gets its 202, removed once run, loaded at start in
  // the order they were accepted.
  Result<void> saveAsyncCall(const std::string& id, std::span<const uint8_t> record);
  void removeAsyncCall(const std::string& id);
  std::vector<std::vector<uint8_t>> loadAsyncCalls(std::vector<std::string>* errors) const;

  const std::filesystem::path& path() const { return dir_; }
  // Where the HTTP server writes response bodies that wait for slow readers.
  std::filesystem::path spoolDir() const { return dir_ / "spool"; }

 private:
  explicit StateDir(std::filesystem::path dir) : dir_(std::move(dir)) {}
  // dir_/sub/(name + suffix), or InvalidArgument when `name` is not one plain
  // file name.
  Result<std::filesystem::path> entry(std::string_view sub, const std::string& name,
                                      std::string_view suffix = "") const;
  std::filesystem::path dir_;
};

}  // namespace cwasi::node

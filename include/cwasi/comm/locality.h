// Where does a function run? The LocalityResolver answers "which mode, which
// endpoint" for a target name from three sources:
//   - the functions loaded in this process (embedded, same trust domain only),
//   - the node registry: a directory under the runtime dir where every
//     function host on the node lists the functions it serves and the unix
//     socket to reach them (local); entries of dead processes are detected,
//   - the cluster map: a file naming host:port per function (remote).
// A policy can force one mode. Every decision is logged at debug level and
// counted per mode.
#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "cwasi/comm/channel.h"
#include "cwasi/common/mutex.h"
#include "cwasi/common/result.h"

namespace cwasi::comm {

struct Route {
  Mode mode = Mode::kEmbedded;
  std::string endpoint;  // unix socket path (local), host:port (remote), "" otherwise
};

// Counters per mode, read by metrics. Thread-safe.
struct CommStats {
  std::array<std::atomic<uint64_t>, kModeCount> decisions{};  // routes chosen
  std::array<std::atomic<uint64_t>, kModeCount> calls{};      // calls + sends made
  std::array<std::atomic<uint64_t>, kModeCount> bytes_out{};  // request/message bytes
  std::array<std::atomic<uint64_t>, kModeCount> bytes_in{};   // response bytes
  std::array<std::atomic<uint64_t>, kModeCount> failures{};   // transport errors
  std::atomic<uint64_t> served_calls{0};                      // calls this host executed
};

// One function served on this node, as the registry records it.
struct RegistryEntry {
  std::string name;
  std::string socket;        // the unix socket of the host serving it
  std::string trust_domain;
  pid_t pid = 0;
  uint64_t start_time = 0;   // the process start time (/proc/<pid>/stat), against PID reuse
};

// The node-local registry: <runtime_dir>/functions/<name>.json. Thread-safe.
class NodeRegistry {
 public:
  explicit NodeRegistry(std::filesystem::path runtime_dir);

  // Publishes `entry` (atomically; replaces another host's entry for the name).
  Result<void> publish(const RegistryEntry& entry);
  // Removes the entry for `name` if this process published it.
  void withdraw(const std::string& name);
  // The live entry for `name`; a stale one (its process is gone) is removed
  // and reported as absent. Answers come from a cache for up to a second
  // (checking a process costs more than a local call).
  std::optional<RegistryEntry> lookup(const std::string& name) EXCLUDES(mu_);
  // Forgets the cached answer for `name` (after a call to it failed).
  void invalidate(const std::string& name) EXCLUDES(mu_);

  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::optional<RegistryEntry> read(const std::string& name);
  struct Cached {
    std::optional<RegistryEntry> entry;
    std::chrono::steady_clock::time_point at;
  };
  std::filesystem::path dir_;
  Mutex mu_;
  std::map<std::string, Cached> cache_ GUARDED_BY(mu_);
};

// The start time of a process, or 0 if it does not exist.
uint64_t processStartTime(pid_t pid);

// The cluster map: {"functions": {"name": "host:port", ...}}. Re-read when the
// file changes (looked at no more than every 250 ms). Thread-safe.
class ClusterMap {
 public:
  explicit ClusterMap(std::filesystem::path file) : file_(std::move(file)) {}
  std::optional<std::string> lookup(const std::string& name);
  // Parses a map from JSON text (for tests and the loader).
  static Result<std::map<std::string, std::string>> parse(std::string_view json);

 private:
  void reloadIfChanged() REQUIRES(mu_);
  std::filesystem::path file_;
  Mutex mu_;
  std::map<std::string, std::string> map_ GUARDED_BY(mu_);
  std::filesystem::file_time_type loaded_mtime_ GUARDED_BY(mu_){};
  std::chrono::steady_clock::time_point checked_ GUARDED_BY(mu_){};
  bool loaded_ GUARDED_BY(mu_) = false;
};

class LocalityResolver {
 public:
  // Answers whether `name` is loaded in this process, and its trust domain.
  using LocalLookup = std::function<std::optional<std::string>(std::string_view name)>;

  // `registry` and `cluster` may be null (that source is absent). Borrowed:
  // they must outlive the resolver.
  LocalityResolver(LocalLookup local, NodeRegistry* registry, ClusterMap* cluster,
                   ModePolicy policy, CommStats& stats);

  // The route to `target` for a caller in `caller_domain`. NotFound when no
  // source knows it (under the policy), PermissionDenied when only an
  // embedding across trust domains would reach it.
  Result<Route> resolve(std::string_view target, std::string_view caller_domain);
  // Tells the resolver that `route` to `target` just failed at the transport
  // level, so that the next resolution looks again.
  void routeFailed(std::string_view target, const Route& route);

  ModePolicy policy() const { return policy_; }

 private:
  LocalLookup local_;
  NodeRegistry* registry_;
  ClusterMap* cluster_;
  ModePolicy policy_;
  CommStats& stats_;
};

}  // namespace cwasi::comm

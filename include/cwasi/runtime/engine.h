// The Engine: one per process. It owns Wasmtime's engine (Cranelift, pooling
// instance allocator, epoch interruption), the linker with WASI preview 1 and
// the host functions, the epoch ticker that enforces deadlines, and the AOT
// module cache. Modules are loaded through it; instances are created from them.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cwasi/common/result.h"
#include "cwasi/runtime/component.h"
#include "cwasi/runtime/host_function.h"
#include "cwasi/runtime/module.h"

namespace cwasi::runtime {

struct RuntimeInternals;

// A profiling agent told about every compiled function, so that a profiler
// names Wasm functions instead of anonymous JIT addresses.
enum class Profiler {
  kNone,
  // /tmp/perf-PID.map, which `perf report` reads (`perf record` needs nothing
  // else). Costs a line per function at load, nothing while running.
  kPerfMap,
};

// CWASI_PROFILER's value: "" or "none" → kNone, "perfmap" → kPerfMap;
// anything else is InvalidArgument.
Result<Profiler> parseProfiler(std::string_view name);

struct EngineConfig {
  // Instances that may be alive at once (the pooling allocator's slots).
  // 0 selects on-demand allocation instead of a pool.
  uint32_t max_instances = 128;
  // Largest linear memory any instance may reach; per-invocation limits can
  // only lower it. At most 4 GiB (wasm32).
  uint64_t max_memory_bytes = 4ull << 30;
  // The limit of an instance whose invocation gives none (0: max_memory_bytes).
  uint64_t default_memory_bytes = 0;
  // A budget across every live instance: each reserves its memory limit while
  // it lives, and an instance that would pass the budget is not created
  // (ResourceExhausted). 0: no budget.
  uint64_t total_memory_bytes = 0;
  // Bytes of each freed instance slot kept resident for the next instance
  // (zeroed rather than returned to the kernel). Up to max_unused_warm_slots
  // (16) slots hold this much each.
  size_t keep_resident_bytes = 16u << 20;
  // How often the epoch advances: the resolution of deadlines and
  // cancellation. 0 starts no ticker thread: then only interrupt() advances it,
  // and invocations cannot have a timeout.
  std::chrono::milliseconds epoch_tick{1};
  // Compile fuel metering into code (slower); required for Limits::fuel.
  bool fuel = false;
  // The profiling agent; unset: from $CWASI_PROFILER (off when unset).
  std::optional<Profiler> profiler;
  // Directory of the AOT cache; empty disables it.
  std::filesystem::path cache_dir;
  // Host functions linked into every instance, beyond WASI and the runtime's own
  // `cwasi.response_set`.
  std::vector<HostFunction> host_functions;
};

struct LoadOptions {
  // Accept precompiled artifacts (`cwasi compile` output). Precompiled code is
  // trusted as-is by Wasmtime: only load artifacts you produced.
  bool allow_precompiled = false;
  // Bypass the AOT cache for this load (neither read nor written).
  bool use_cache = true;
  // Link against the host functions (fails on an unknown import). Only a
  // linked module can be instantiated; `cwasi inspect` skips it.
  bool link = true;
};

// The version of the embedded Wasmtime ("48.0.8").
const char* wasmtimeVersion();

// Where the default cache lives: $CWASI_CACHE_DIR, else
// $XDG_CACHE_HOME/cwasi/modules, else ~/.cache/cwasi/modules.
std::filesystem::path defaultCacheDir();

class Engine {
 public:
  // Fails with InvalidArgument for an impossible configuration.
  static Result<std::unique_ptr<Engine>> create(EngineConfig config);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Loads a module from a .wasm (binary), .wat (text) or, when allowed, a
  // precompiled file, through the AOT cache. Errors: NotFound (no file),
  // InvalidArgument (not a valid module, a directory), FailedPrecondition (it
  // imports something this host does not provide). Thread-safe.
  Result<std::shared_ptr<const Module>> loadFile(const std::filesystem::path& path,
                                                 const LoadOptions& options = {});
  // Same from bytes in memory; `name` is used in messages.
  Result<std::shared_ptr<const Module>> loadBytes(std::span<const uint8_t> bytes,
                                                  std::string name,
                                                  const LoadOptions& options = {});

  // A component's (.wasm or .wat) world, exports and imports; compiled to
  // read them, and not kept. InvalidArgument when it is not a valid
  // component. (Loading one as a module says which world it is.)
  Result<ComponentInfo> inspectComponent(std::span<const uint8_t> bytes, std::string name);

  // Compiles a .wasm/.wat to a precompiled artifact for this engine's
  // configuration (what `cwasi compile` writes). Thread-safe.
  Result<std::vector<uint8_t>> precompile(std::span<const uint8_t> bytes, std::string_view name);

  // Advances the epoch now, so running guests check their cancel flags at
  // once. Async-signal-safe (one atomic increment).
  void interrupt();

  const EngineConfig& config() const;
  // Identifies the engine build and every setting that changes generated code;
  // part of every cache key.
  const std::string& fingerprint() const;

  struct Impl;

 private:
  friend struct RuntimeInternals;  // the runtime's own files reach Impl
  Impl& impl() { return *impl_; }
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cwasi::runtime

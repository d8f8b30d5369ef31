// Internal to the runtime layer: the Impl structs behind Engine, Module and
// Instance, shared by their implementation files.
#pragma once

#include <wasi.h>
#include <wasmtime.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cwasi/runtime/component.h"
#include "cwasi/runtime/engine.h"
#include "cwasi/runtime/instance.h"
#include "cwasi/runtime/module.h"
#include "module_cache.h"

namespace cwasi::runtime {

struct Engine::Impl {
  EngineConfig config;
  std::string fingerprint;
  wasm_engine_t* engine = nullptr;      // owned
  wasmtime_linker_t* linker = nullptr;  // owned: WASI + host functions
  std::optional<ModuleCache> cache;
  // Stable addresses: the linker holds raw pointers to them.
  std::vector<std::unique_ptr<HostFunction>> host_functions;
  // Linear memory reserved by live instances (their limits), against
  // config.total_memory_bytes.
  std::atomic<uint64_t> reserved_memory{0};
  // Advances the engine's epoch every config.epoch_tick; stopped and joined
  // before the engine is deleted.
  std::jthread ticker;

  ~Impl();
  // Compiles (or reads from cache) and links a module.
  Result<std::shared_ptr<const Module>> load(std::span<const uint8_t> bytes, std::string name,
                                             const LoadOptions& options);
  Result<wasmtime_module_t*> compile(std::span<const uint8_t> bytes, const std::string& name);
  // A component's exports and world (compiled to read them, not kept).
  Result<ComponentInfo> inspectComponent(std::span<const uint8_t> wasm, const std::string& name);
};

struct Module::Impl {
  std::string name;
  std::string digest;
  size_t size_bytes = 0;
  FunctionKind kind = FunctionKind::kUnknown;
  std::vector<ImportInfo> imports;
  std::vector<ExportInfo> exports;
  LoadInfo load_info;
  wasmtime_module_t* module = nullptr;        // owned
  wasmtime_instance_pre_t* pre = nullptr;     // owned: linked against the engine's linker
  ~Impl();
};

// Why the epoch callback stopped the guest.
enum class StopReason { kNone, kTimeout, kCancelled };

// Output captured into memory (stdout/stderr under OutputCapture).
struct Capture {
  std::string text;
  size_t max_bytes = 0;
  bool overflow = false;
};

struct Instance::Impl {
  Instance* self = nullptr;
  Engine::Impl* engine = nullptr;
  std::shared_ptr<const Module> module;
  RunContext context;
  wasmtime_store_t* store = nullptr;  // owned; deleted first in ~Impl
  wasmtime_context_t* ctx = nullptr;
  wasmtime_instance_t instance{};
  std::optional<wasmtime_memory_t> memory;
  std::optional<wasmtime_func_t> start_fn, alloc_fn, handle_fn;
  uint64_t memory_limit = 0;
  uint64_t reserved = 0;  // taken from the engine's budget; given back in ~Impl
  Capture out, err;

  // Epoch-driven limits.
  bool has_deadline = false;
  std::chrono::steady_clock::time_point deadline;
  StopReason stop_reason = StopReason::kNone;

  // Set by a host function that fails; reported instead of the resulting trap.
  std::optional<Error> host_error;
  // The context of the host call in progress, if any (nested calls into the
  // guest go through it).
  wasmtime_context_t* caller_ctx = nullptr;
  bool poisoned = false;
  // cwasi.response_set's range, read when cwasi_handle returns.
  uint32_t response_ptr = 0, response_len = 0;
  // cwasi.response_status's and cwasi.response_header's, reset with it.
  ResponseHead response_head;

  ~Impl();
  wasmtime_context_t* activeContext() const { return caller_ctx ? caller_ctx : ctx; }
  // Calls a guest function; returns the exit code if the guest called
  // proc_exit, nullopt if it returned normally.
  Result<std::optional<int>> call(const wasmtime_func_t& fn, wasmtime_val_raw_t* args_and_results,
                                  size_t n, std::string_view what);
  // Turns a failed call into an Error that names its cause.
  Error classify(wasmtime_error_t* error, wasm_trap_t* trap, std::string_view what);
};

// The one door from the runtime's implementation files to the Impl structs
// (the public classes keep impl() private).
// The response imports of the guest ABI (response_abi.cc), which every
// engine links.
std::vector<HostFunction> responseAbiFunctions();

struct RuntimeInternals {
  static Engine::Impl& of(Engine& e) { return e.impl(); }
  static const Module::Impl& of(const Module& m) { return m.impl(); }
  static Instance::Impl& of(Instance& i) { return i.impl(); }
};

}  // namespace cwasi::runtime

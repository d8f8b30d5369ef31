#include "cwasi/runtime/engine.h"

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <cstring>

#include "cwasi/common/files.h"
#include "cwasi/common/log.h"
#include "cwasi/common/sha256.h"
#include "cwasi/runtime/abi.h"
#include "internal.h"
#include "wasmtime_util.h"

namespace cwasi::runtime {
namespace fs = std::filesystem;
namespace {

// Bumped whenever the cache layout or anything cwasi feeds the compiler changes.
constexpr const char* kCacheFormat = "cwasi-cache-1";
constexpr size_t kMaxHostParams = 16;

// Guest stack for every instance (Wasmtime's default is 512 KiB).
constexpr size_t kMaxWasmStack = 1u << 20;
// Guard region after each linear memory: lets Cranelift elide bounds checks.
constexpr uint64_t kMemoryGuard = 32u << 20;

bool startsWith(std::span<const uint8_t> b, std::string_view prefix) {
  return b.size() >= prefix.size() && std::memcmp(b.data(), prefix.data(), prefix.size()) == 0;
}

bool isWasmBinary(std::span<const uint8_t> b) { return startsWith(b, std::string_view("\0asm", 4)); }
bool isElf(std::span<const uint8_t> b) { return startsWith(b, "\x7f" "ELF"); }

// Wasm text starts with optional whitespace/comments and then '('.
bool looksLikeWat(std::span<const uint8_t> b) {
  for (size_t i = 0; i < b.size(); ++i) {
    uint8_t c = b[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    if (c == ';' && i + 1 < b.size() && b[i + 1] == ';') {
      while (i < b.size() && b[i] != '\n') ++i;
      continue;
    }
    return c == '(';
  }
  return false;
}

// What a component of no world cwasi serves is told: what it exports.
std::string unknownWorld(const std::string& name, const ComponentInfo& info) {
  std::string exports;
  for (const auto& e : info.exports) exports += (exports.empty() ? "" : ", ") + e;
  return name + " is a WebAssembly component that exports neither wasi:cli/run (a command) nor "
                "wasi:http/incoming-handler@0.2 or wasi:http/handler@0.3 (an HTTP handler); it "
                "exports " + (exports.empty() ? std::string("nothing") : exports);
}

// The binary form of `bytes`: as they are, or their .wat text compiled into
// `converted`. InvalidArgument when they are neither.
Result<std::span<const uint8_t>> binaryOf(std::span<const uint8_t> bytes, const std::string& name,
                                          ByteVec& converted) {
  if (isWasmBinary(bytes)) return bytes;
  if (!looksLikeWat(bytes)) {
    return invalidArgument(name + " is not a WebAssembly module (no \\0asm header, not .wat text)");
  }
  if (wasmtime_error_t* err = wasmtime_wat2wasm(reinterpret_cast<const char*>(bytes.data()),
                                                bytes.size(), converted.get())) {
    return fromWasmtime(Code::kInvalidArgument, name + " is not valid WebAssembly text", err);
  }
  return std::span<const uint8_t>(converted.data(), converted.size());
}

wasm_trap_t* hostTrampoline(void* env, wasmtime_caller_t* caller, wasmtime_val_raw_t* raw,
                            size_t n) {
  const auto* fn = static_cast<const HostFunction*>(env);
  wasmtime_context_t* ctx = wasmtime_caller_context(caller);
  auto* inst = static_cast<Instance::Impl*>(wasmtime_context_get_data(ctx));
  uint64_t slots[kMaxHostParams] = {};
  for (size_t i = 0; i < fn->params.size(); ++i) {
    slots[i] = fn->params[i] == ValType::kI32 ? static_cast<uint32_t>(raw[i].i32)
                                              : static_cast<uint64_t>(raw[i].i64);
  }
  HostCall call(*inst->self, std::span<uint64_t>(slots, n));
  wasmtime_context_t* outer = inst->caller_ctx;
  inst->caller_ctx = ctx;
  // No exception may cross into Wasmtime's frames (it cannot unwind them:
  // the process would abort): whatever a host function throws is its error.
  Result<void> r = internal("not run");
  try {
    r = fn->fn(call);
  } catch (const std::exception& e) {
    r = internal(std::string("threw: ") + e.what());
  } catch (...) {
    r = internal("threw a non-standard exception");
  }
  inst->caller_ctx = outer;
  if (!r.ok()) {
    inst->host_error = std::move(r).error().withContext("host function " + fn->module + "." +
                                                        fn->name);
    static constexpr char kMsg[] = "cwasi host function failed";
    return wasmtime_trap_new(kMsg, sizeof kMsg - 1);
  }
  for (size_t i = 0; i < fn->results.size(); ++i) {
    if (fn->results[i] == ValType::kI32) {
      raw[i].i32 = static_cast<int32_t>(slots[i]);
    } else {
      raw[i].i64 = static_cast<int64_t>(slots[i]);
    }
  }
  return nullptr;
}

wasm_valtype_t* valtype(ValType t) { return wasm_valtype_new(t == ValType::kI32 ? WASM_I32 : WASM_I64); }

Result<void> defineHostFunction(wasmtime_linker_t* linker, const HostFunction& fn) {
  if (fn.params.size() > kMaxHostParams || fn.results.size() > kMaxHostParams) {
    return invalidArgument("host function " + fn.name + " has too many parameters");
  }
  wasm_valtype_vec_t params, results;
  wasm_valtype_vec_new_uninitialized(&params, fn.params.size());
  for (size_t i = 0; i < fn.params.size(); ++i) params.data[i] = valtype(fn.params[i]);
  wasm_valtype_vec_new_uninitialized(&results, fn.results.size());
  for (size_t i = 0; i < fn.results.size(); ++i) results.data[i] = valtype(fn.results[i]);
  wasm_functype_t* type = wasm_functype_new(&params, &results);  // takes the vecs
  wasmtime_error_t* err = wasmtime_linker_define_func_unchecked(
      linker, fn.module.data(), fn.module.size(), fn.name.data(), fn.name.size(), type,
      hostTrampoline, const_cast<HostFunction*>(&fn), nullptr);
  wasm_functype_delete(type);
  if (err) return fromWasmtime(Code::kInvalidArgument, "cannot define " + fn.name, err);
  return {};
}

std::string externKindName(wasm_externkind_t k) {
  switch (k) {
    case WASM_EXTERN_FUNC: return "func";
    case WASM_EXTERN_GLOBAL: return "global";
    case WASM_EXTERN_TABLE: return "table";
    case WASM_EXTERN_MEMORY: return "memory";
    case WASM_EXTERN_TAG: return "tag";
    default: return "unknown";
  }
}

void describeModule(Module::Impl& m) {
  wasm_importtype_vec_t imports;
  wasmtime_module_imports(m.module, &imports);
  for (size_t i = 0; i < imports.size; ++i) {
    const wasm_name_t* mod = wasm_importtype_module(imports.data[i]);
    const wasm_name_t* name = wasm_importtype_name(imports.data[i]);
    m.imports.push_back({std::string(mod->data, mod->size), std::string(name->data, name->size),
                         externKindName(wasm_externtype_kind(wasm_importtype_type(imports.data[i])))});
  }
  wasm_importtype_vec_delete(&imports);
  wasm_exporttype_vec_t exports;
  wasmtime_module_exports(m.module, &exports);
  bool start = false, alloc = false, handle = false;
  for (size_t i = 0; i < exports.size; ++i) {
    const wasm_name_t* name = wasm_exporttype_name(exports.data[i]);
    std::string n(name->data, name->size);
    std::string type = externKindName(wasm_externtype_kind(wasm_exporttype_type(exports.data[i])));
    if (type == "func") {
      start |= n == "_start";
      alloc |= n == "cwasi_alloc";
      handle |= n == "cwasi_handle";
    }
    m.exports.push_back({std::move(n), std::move(type)});
  }
  wasm_exporttype_vec_delete(&exports);
  if (handle && alloc) {
    m.kind = FunctionKind::kReactor;
  } else if (start) {
    m.kind = FunctionKind::kCommand;
  } else {
    m.kind = FunctionKind::kUnknown;
  }
}

}  // namespace

const char* kindName(FunctionKind kind) {
  switch (kind) {
    case FunctionKind::kCommand: return "command";
    case FunctionKind::kReactor: return "reactor";
    case FunctionKind::kUnknown: return "unknown";
  }
  return "unknown";
}

Module::Module(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Module::~Module() = default;
const std::string& Module::name() const { return impl_->name; }
const std::string& Module::digest() const { return impl_->digest; }
size_t Module::sizeBytes() const { return impl_->size_bytes; }
FunctionKind Module::kind() const { return impl_->kind; }
const std::vector<ImportInfo>& Module::imports() const { return impl_->imports; }
const std::vector<ExportInfo>& Module::exports() const { return impl_->exports; }
const LoadInfo& Module::loadInfo() const { return impl_->load_info; }

Module::Impl::~Impl() {
  if (pre) wasmtime_instance_pre_delete(pre);
  if (module) wasmtime_module_delete(module);
}

const char* wasmtimeVersion() { return WASMTIME_VERSION; }

fs::path defaultCacheDir() {
  if (const char* d = std::getenv("CWASI_CACHE_DIR"); d && *d) return fs::path(d) / "modules";
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return fs::path(x) / "cwasi/modules";
  if (const char* h = std::getenv("HOME"); h && *h) return fs::path(h) / ".cache/cwasi/modules";
  return fs::temp_directory_path() / "cwasi-cache/modules";
}

Result<Profiler> parseProfiler(std::string_view name) {
  if (name.empty() || name == "none") return Profiler::kNone;
  if (name == "perfmap") return Profiler::kPerfMap;
  return invalidArgument("CWASI_PROFILER: unknown profiler '" + std::string(name) +
                         "' (none or perfmap)");
}

Engine::Impl::~Impl() {
  if (ticker.joinable()) {
    ticker.request_stop();
    ticker.join();
  }
  if (linker) wasmtime_linker_delete(linker);
  if (engine) wasm_engine_delete(engine);
}

Result<std::unique_ptr<Engine>> Engine::create(EngineConfig config) {
  if (config.max_memory_bytes == 0 || config.max_memory_bytes > (4ull << 30)) {
    return invalidArgument("max_memory_bytes must be between 1 byte and 4 GiB");
  }
  if (config.epoch_tick.count() < 0) return invalidArgument("epoch_tick must not be negative");

  if (!config.profiler) {
    const char* env = std::getenv("CWASI_PROFILER");
    TRY_ASSIGN(config.profiler, parseProfiler(env ? env : ""));
  }

  auto impl = std::make_unique<Impl>();
  wasm_config_t* wc = wasm_config_new();
  // Profiling changes no generated code: the cache fingerprint ignores it.
  if (*config.profiler == Profiler::kPerfMap) {
    wasmtime_config_profiler_set(wc, WASMTIME_PROFILING_STRATEGY_PERFMAP);
  }
  wasmtime_config_strategy_set(wc, WASMTIME_STRATEGY_CRANELIFT);
  wasmtime_config_cranelift_opt_level_set(wc, WASMTIME_OPT_LEVEL_SPEED);
  wasmtime_config_epoch_interruption_set(wc, true);
  wasmtime_config_consume_fuel_set(wc, config.fuel);
  wasmtime_config_max_wasm_stack_set(wc, kMaxWasmStack);
  wasmtime_config_memory_guard_size_set(wc, kMemoryGuard);
  wasmtime_config_memory_init_cow_set(wc, true);
  // Features cwasi does not offer to guests: smaller attack surface, and
  // wasm32 WASI preview 1 modules never need them.
  wasmtime_config_wasm_memory64_set(wc, false);
  if (config.max_instances > 0) {
    wasmtime_pooling_allocation_config_t* pool = wasmtime_pooling_allocation_config_new();
    wasmtime_pooling_allocation_config_total_core_instances_set(pool, config.max_instances);
    wasmtime_pooling_allocation_config_total_memories_set(pool, config.max_instances);
    wasmtime_pooling_allocation_config_total_tables_set(pool, config.max_instances);
    wasmtime_pooling_allocation_config_max_memory_size_set(pool, config.max_memory_bytes);
    // Keep the first pages of each freed slot resident (zeroed with memset
    // instead of returned to the kernel) and a few warm slots: the next
    // instance reuses them without page faults — most of the cost of moving
    // megabytes into a fresh instance.
    wasmtime_pooling_allocation_config_linear_memory_keep_resident_set(pool,
                                                                        config.keep_resident_bytes);
    wasmtime_pooling_allocation_config_max_unused_warm_slots_set(pool, 16);
    wasmtime_pooling_allocation_strategy_set(wc, pool);
    wasmtime_pooling_allocation_config_delete(pool);
  }
  impl->engine = wasm_engine_new_with_config(wc);  // takes `wc`
  if (impl->engine == nullptr) return internal("Wasmtime refused the engine configuration");

  {
    std::string fp = std::string(kCacheFormat) + ";wasmtime=" WASMTIME_VERSION +
                     ";fuel=" + (config.fuel ? "1" : "0") + ";epoch=1" +
                     ";guard=" + std::to_string(kMemoryGuard) +
                     ";stack=" + std::to_string(kMaxWasmStack);
    impl->fingerprint =
        sha256Hex(std::span(reinterpret_cast<const uint8_t*>(fp.data()), fp.size())).substr(0, 16);
  }
  if (!config.cache_dir.empty()) impl->cache.emplace(config.cache_dir);

  impl->linker = wasmtime_linker_new(impl->engine);
  if (wasmtime_error_t* err = wasmtime_linker_define_wasi(impl->linker)) {
    return fromWasmtime(Code::kInternal, "cannot define WASI", err);
  }
  for (auto& f : responseAbiFunctions()) {
    impl->host_functions.push_back(std::make_unique<HostFunction>(std::move(f)));
  }
  for (auto& f : config.host_functions) {
    impl->host_functions.push_back(std::make_unique<HostFunction>(std::move(f)));
  }
  config.host_functions.clear();
  for (const auto& f : impl->host_functions) TRY(defineHostFunction(impl->linker, *f));

  wasm_engine_t* raw_engine = impl->engine;
  if (config.epoch_tick.count() > 0) impl->ticker = std::jthread([raw_engine, tick = config.epoch_tick](std::stop_token stop) {
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    while (!stop.stop_requested()) {
      cv.wait_for(lock, stop, tick, [] { return false; });
      if (!stop.stop_requested()) wasmtime_engine_increment_epoch(raw_engine);
    }
  });
  impl->config = std::move(config);
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;
void Engine::interrupt() { wasmtime_engine_increment_epoch(impl_->engine); }
const EngineConfig& Engine::config() const { return impl_->config; }
const std::string& Engine::fingerprint() const { return impl_->fingerprint; }

Result<std::shared_ptr<const Module>> Engine::loadFile(const fs::path& path,
                                                       const LoadOptions& options) {
  auto bytes = readFile(path);
  if (!bytes.ok()) return std::move(bytes).error().withContext("cannot load module");
  return impl_->load(*bytes, path.filename().string(), options);
}

Result<std::shared_ptr<const Module>> Engine::loadBytes(std::span<const uint8_t> bytes,
                                                        std::string name,
                                                        const LoadOptions& options) {
  return impl_->load(bytes, std::move(name), options);
}

Result<wasmtime_module_t*> Engine::Impl::compile(std::span<const uint8_t> bytes,
                                                 const std::string& name) {
  ByteVec converted;
  TRY_ASSIGN(std::span<const uint8_t> wasm, binaryOf(bytes, name, converted));
  if (isComponentBinary(wasm)) {
    // Told apart before Wasmtime's "expected a module" error, which would
    // not say what the component is.
    TRY_ASSIGN(ComponentInfo info, inspectComponent(wasm, name));
    if (info.world == ComponentWorld::kUnknown) return invalidArgument(unknownWorld(name, info));
    return unimplemented(name + " is a WebAssembly component (a " + worldName(info.world) +
                         ", exporting " + info.world_export +
                         "): this build of cwasi runs core modules only");
  }
  wasmtime_module_t* module = nullptr;
  if (wasmtime_error_t* err = wasmtime_module_new(engine, wasm.data(), wasm.size(), &module)) {
    return fromWasmtime(Code::kInvalidArgument, name + " is not a valid module", err);
  }
  return module;
}

Result<ComponentInfo> Engine::Impl::inspectComponent(std::span<const uint8_t> wasm,
                                                     const std::string& name) {
  wasmtime_component_t* component = nullptr;
  if (wasmtime_error_t* err = wasmtime_component_new(engine, wasm.data(), wasm.size(), &component)) {
    return fromWasmtime(Code::kInvalidArgument, name + " is not a valid component", err);
  }
  wasmtime_component_type_t* type = wasmtime_component_type(component);
  auto names = [&](auto count, auto nth) {
    std::vector<std::string> out;
    for (size_t i = 0, n = count(type, engine); i < n; ++i) {
      const char* text = nullptr;
      size_t len = 0;
      wasmtime_component_item_t item;
      if (!nth(type, engine, i, &text, &len, &item)) continue;
      out.emplace_back(text, len);
      wasmtime_component_item_delete(&item);
    }
    return out;
  };
  auto exports = names(wasmtime_component_type_export_count, wasmtime_component_type_export_nth);
  auto imports = names(wasmtime_component_type_import_count, wasmtime_component_type_import_nth);
  wasmtime_component_type_delete(type);
  wasmtime_component_delete(component);
  return classifyComponent(std::move(exports), std::move(imports));
}

Result<ComponentInfo> Engine::inspectComponent(std::span<const uint8_t> bytes, std::string name) {
  ByteVec converted;
  TRY_ASSIGN(std::span<const uint8_t> wasm, binaryOf(bytes, name, converted));
  if (!isComponentBinary(wasm)) return invalidArgument(name + " is not a WebAssembly component");
  return impl_->inspectComponent(wasm, name);
}

Result<std::shared_ptr<const Module>> Engine::Impl::load(std::span<const uint8_t> bytes,
                                                         std::string name,
                                                         const LoadOptions& options) {
  auto m = std::make_unique<Module::Impl>();
  m->name = std::move(name);
  m->digest = sha256Hex(bytes);
  m->size_bytes = bytes.size();
  auto started = std::chrono::steady_clock::now();

  if (isElf(bytes)) {
    if (!options.allow_precompiled) {
      return invalidArgument(m->name +
                             " is a precompiled artifact; loading one needs --allow-precompiled");
    }
    if (wasmtime_error_t* err =
            wasmtime_module_deserialize(engine, bytes.data(), bytes.size(), &m->module)) {
      return fromWasmtime(Code::kInvalidArgument,
                          m->name + " is not a precompiled module for this engine", err);
    }
    m->load_info.precompiled_input = true;
  } else {
    const bool cached = cache.has_value() && options.use_cache;
    if (cached) {
      if (auto path = cache->lookup(m->digest, fingerprint)) {
        wasmtime_error_t* err = wasmtime_module_deserialize_file(engine, path->c_str(), &m->module);
        if (err == nullptr) {
          m->load_info.cache_hit = true;
        } else {
          CWASI_LOG(kWarn, "AOT cache entry " << path->string() << " is stale ("
                                              << errorMessage(err) << "); recompiling");
          wasmtime_error_delete(err);
          cache->remove(m->digest, fingerprint);
        }
      }
    }
    if (m->module == nullptr) {
      TRY_ASSIGN(m->module, compile(bytes, m->name));
      if (cached) {
        ByteVec artifact;
        if (wasmtime_error_t* err = wasmtime_module_serialize(m->module, artifact.get())) {
          CWASI_LOG(kWarn, "cannot serialize " << m->name << ": " << errorMessage(err));
          wasmtime_error_delete(err);
        } else if (auto r = cache->store(m->digest, fingerprint,
                                         std::span(artifact.data(), artifact.size()));
                   !r.ok()) {
          CWASI_LOG(kWarn, "cannot write AOT cache entry: " << r.error().toString());
        }
      }
    }
  }
  m->load_info.duration = std::chrono::steady_clock::now() - started;
  describeModule(*m);
  if (!options.link) {
    // Not linked: describable, never instantiable.
  } else if (wasmtime_error_t* err = wasmtime_linker_instantiate_pre(linker, m->module, &m->pre)) {
    return fromWasmtime(Code::kFailedPrecondition, "cannot link " + m->name, err);
  }
  CWASI_LOG(kDebug, "loaded " << m->name << " (" << kindName(m->kind) << ", "
                              << (m->load_info.cache_hit ? "cache hit" : "compiled") << ", "
                              << m->load_info.duration.count() / 1000 << " us)");
  return std::shared_ptr<const Module>(std::make_shared<Module>(std::move(m)));
}

Result<std::vector<uint8_t>> Engine::precompile(std::span<const uint8_t> bytes,
                                                std::string_view name) {
  if (isElf(bytes)) return invalidArgument(std::string(name) + " is already precompiled");
  TRY_ASSIGN(wasmtime_module_t * module, impl_->compile(bytes, std::string(name)));
  ByteVec artifact;
  wasmtime_error_t* err = wasmtime_module_serialize(module, artifact.get());
  wasmtime_module_delete(module);
  if (err) return fromWasmtime(Code::kInternal, "cannot serialize", err);
  return std::vector<uint8_t>(artifact.data(), artifact.data() + artifact.size());
}

}  // namespace cwasi::runtime

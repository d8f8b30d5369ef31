#include "cwasi/runtime/instance.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "cwasi/common/log.h"
#include "cwasi/runtime/abi.h"
#include "internal.h"
#include "wasmtime_util.h"

extern "C" void cwasi_context_set_limits_trapping(wasmtime_context_t* ctx, int64_t memory_size,
                                                  int64_t table_elements, int64_t instances,
                                                  int64_t tables, int64_t memories, bool trap);
extern "C" wasmtime_error_t* cwasi_error_pool_exhausted(wasmtime_error_t* error, bool* exhausted);

namespace cwasi::runtime {
namespace {

// Ticks that never arrive: the deadline for instances without limits.
constexpr uint64_t kNoDeadlineTicks = 1ull << 60;

std::string mib(uint64_t bytes) {
  if (bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  return std::to_string(bytes) + " bytes";
}

std::string inFunction(const std::string& fn) { return fn.empty() ? "" : " in function '" + fn + "'"; }

wasmtime_error_t* epochCallback(wasmtime_context_t*, void* data, uint64_t* delta,
                                wasmtime_update_deadline_kind_t* kind) {
  auto* impl = static_cast<Instance::Impl*>(data);
  if (impl->context.cancel != nullptr && impl->context.cancel->load(std::memory_order_relaxed)) {
    impl->stop_reason = StopReason::kCancelled;
    return wasmtime_error_new("cwasi: invocation cancelled");
  }
  if (impl->has_deadline && std::chrono::steady_clock::now() >= impl->deadline) {
    impl->stop_reason = StopReason::kTimeout;
    return wasmtime_error_new("cwasi: deadline exceeded");
  }
  *delta = 1;
  *kind = WASMTIME_UPDATE_DEADLINE_CONTINUE;
  return nullptr;
}

ptrdiff_t captureWrite(void* data, const unsigned char* buf, size_t len) {
  auto* cap = static_cast<Capture*>(data);
  if (cap->text.size() + len > cap->max_bytes) {
    cap->overflow = true;
    return -EFBIG;
  }
  cap->text.append(reinterpret_cast<const char*>(buf), len);
  return static_cast<ptrdiff_t>(len);
}

ptrdiff_t writerWrite(void* data, const unsigned char* buf, size_t len) {
  static_cast<OutputWriter*>(data)->write({reinterpret_cast<const char*>(buf), len});
  return static_cast<ptrdiff_t>(len);
}

ptrdiff_t fdWrite(void* data, const unsigned char* buf, size_t len) {
  int fd = static_cast<int>(reinterpret_cast<intptr_t>(data));
  size_t off = 0;
  while (off < len) {  // Wasmtime rejects partial writes: write it all.
    ssize_t n = ::write(fd, buf + off, len - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    off += static_cast<size_t>(n);
  }
  return static_cast<ptrdiff_t>(len);
}

// Applies an OutputSpec to stdout (`is_stdout`) or stderr.
Result<void> configureOutput(wasi_config_t* wasi, const OutputSpec& spec, Capture& capture,
                             bool is_stdout) {
  auto set_custom = is_stdout ? wasi_config_set_stdout_custom : wasi_config_set_stderr_custom;
  if (std::holds_alternative<OutputInherit>(spec)) {
    is_stdout ? wasi_config_inherit_stdout(wasi) : wasi_config_inherit_stderr(wasi);
  } else if (const auto* c = std::get_if<OutputCapture>(&spec)) {
    capture.max_bytes = c->max_bytes;
    set_custom(wasi, captureWrite, &capture, nullptr);
  } else if (const auto* f = std::get_if<OutputFile>(&spec)) {
    bool ok = is_stdout ? wasi_config_set_stdout_file(wasi, f->path.c_str())
                        : wasi_config_set_stderr_file(wasi, f->path.c_str());
    if (!ok) return notFound("cannot open " + f->path.string() + " for the guest's output");
  } else if (const auto* d = std::get_if<OutputFd>(&spec)) {
    set_custom(wasi, fdWrite, reinterpret_cast<void*>(static_cast<intptr_t>(d->fd)), nullptr);
  } else if (const auto* w = std::get_if<OutputTo>(&spec)) {
    set_custom(wasi, writerWrite, w->writer, nullptr);
  }
  // monostate: WASI's default, output discarded.
  return {};
}

Result<void> configureWasi(wasmtime_context_t* ctx, Instance::Impl& impl) {
  const RunContext& rc = impl.context;
  wasi_config_t* wasi = wasi_config_new();
  std::vector<const char*> argv;
  for (const auto& a : rc.args) argv.push_back(a.c_str());
  wasi_config_set_argv(wasi, argv.size(), argv.data());
  std::vector<const char*> names, values;
  for (const auto& [k, v] : rc.env) {
    names.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  wasi_config_set_env(wasi, names.size(), names.data(), values.data());

  Result<void> r;
  if (std::holds_alternative<StdinInherit>(rc.input)) {
    wasi_config_inherit_stdin(wasi);
  } else if (const auto* b = std::get_if<StdinBytes>(&rc.input)) {
    wasm_byte_vec_t v;
    wasm_byte_vec_new(&v, b->bytes.size(), reinterpret_cast<const wasm_byte_t*>(b->bytes.data()));
    wasi_config_set_stdin_bytes(wasi, &v);  // takes `v`
  } else if (const auto* f = std::get_if<StdinFile>(&rc.input)) {
    if (!wasi_config_set_stdin_file(wasi, f->path.c_str())) {
      r = notFound("cannot open " + f->path.string() + " as the guest's stdin");
    }
  }
  if (r.ok()) r = configureOutput(wasi, rc.output, impl.out, true);
  if (r.ok()) r = configureOutput(wasi, rc.error_output, impl.err, false);
  for (const auto& p : rc.preopens) {
    if (!r.ok()) break;
    std::error_code ec;
    if (!std::filesystem::is_directory(p.host_path, ec)) {
      r = notFound("cannot grant directory " + p.host_path.string() + ": not a directory");
    } else if (!wasi_config_preopen_dir(wasi, p.host_path.c_str(), p.guest_path.c_str(),
                                        p.writable)) {
      r = permissionDenied("cannot grant directory " + p.host_path.string());
    }
  }
  if (!r.ok()) {
    wasi_config_delete(wasi);
    return r;
  }
  if (wasmtime_error_t* err = wasmtime_context_set_wasi(ctx, wasi)) {  // takes `wasi`
    return fromWasmtime(Code::kInvalidArgument, "invalid WASI configuration", err);
  }
  return {};
}

std::optional<wasmtime_func_t> exportedFunc(wasmtime_context_t* ctx,
                                            const wasmtime_instance_t& inst,
                                            std::string_view name) {
  wasmtime_extern_t item;
  if (!wasmtime_instance_export_get(ctx, &inst, name.data(), name.size(), &item)) {
    return std::nullopt;
  }
  if (item.kind != WASMTIME_EXTERN_FUNC) {
    wasmtime_extern_delete(&item);
    return std::nullopt;
  }
  return item.of.func;
}

// Fresh instances fault in every page they touch; a payload of megabytes
// costs hundreds of faults per megabyte. Transparent huge pages (where the
// system offers them on request) cut that 512-fold. Best effort: errors are
// ignored.
void adviseHugePages(uint8_t* base, uint64_t limit) {
  constexpr uintptr_t kHuge = 2u << 20;
  auto start = (reinterpret_cast<uintptr_t>(base) + kHuge - 1) & ~(kHuge - 1);
  auto end = (reinterpret_cast<uintptr_t>(base) + limit) & ~(kHuge - 1);
  if (end > start) ::madvise(reinterpret_cast<void*>(start), end - start, MADV_HUGEPAGE);
}

// Populates the pages of a large fresh buffer with one system call instead of
// a page fault per 4 KiB as the host copies into it (Linux >= 5.14; older
// kernels refuse and the copy faults as usual). At most the first 4 MiB: a
// size announced by a peer is not yet bytes that came, and must not become
// resident memory before they do.
void prefault(std::span<uint8_t> range) {
  constexpr size_t kMinBytes = 256u << 10;
  constexpr size_t kMaxBytes = 4u << 20;
  if (range.size() < kMinBytes) return;
  range = range.first(std::min(range.size(), kMaxBytes));
  const uintptr_t page = 4096;
  auto start = (reinterpret_cast<uintptr_t>(range.data()) + page - 1) & ~(page - 1);
  auto end = (reinterpret_cast<uintptr_t>(range.data()) + range.size()) & ~(page - 1);
#ifdef MADV_POPULATE_WRITE
  if (end > start) ::madvise(reinterpret_cast<void*>(start), end - start, MADV_POPULATE_WRITE);
#endif
}

}  // namespace

GuestMemory HostCall::memory() { return instance_.memory(); }

Instance::Impl::~Impl() {
  // The store owns the WASI context, which points at `out`/`err`: it goes first.
  if (store) wasmtime_store_delete(store);
  if (reserved > 0) engine->reserved_memory.fetch_sub(reserved);
}

namespace {

// Takes `bytes` from the engine's budget for linear memory, if it has one.
Result<uint64_t> reserveMemory(Engine::Impl& eng, uint64_t bytes) {
  const uint64_t budget = eng.config.total_memory_bytes;
  if (budget == 0) return uint64_t{0};
  uint64_t now = eng.reserved_memory.load();
  do {
    if (now + bytes > budget) {
      return resourceExhausted("instance memory budget exhausted: " + mib(now) + " of " +
                               mib(budget) + " reserved by live instances, " + mib(bytes) +
                               " more asked");
    }
  } while (!eng.reserved_memory.compare_exchange_weak(now, now + bytes));
  return bytes;
}

}  // namespace

Error Instance::Impl::classify(wasmtime_error_t* error, wasm_trap_t* trap, std::string_view what) {
  OwnedError owned_error(error);
  OwnedTrap owned_trap(trap);
  std::string fn = trap ? innermostFunction(trap) : error ? innermostFunction(error) : "";
  if (host_error) {
    Error e = std::move(*host_error);
    host_error.reset();
    return e;
  }
  switch (stop_reason) {
    case StopReason::kTimeout:
      return deadlineExceeded("timed out after " +
                              std::to_string(context.limits.timeout.count()) + " ms" +
                              inFunction(fn));
    case StopReason::kCancelled: return cancelled("invocation cancelled" + inFunction(fn));
    case StopReason::kNone: break;
  }
  if (out.overflow || err.overflow) {
    return resourceExhausted("output exceeds " +
                             mib(out.overflow ? out.max_bytes : err.max_bytes) + inFunction(fn));
  }
  if (error) {
    // A guest's own failures are traps (no error), its exit, a host
    // function's error or an epoch stop, all handled above. What remains is
    // the store limiter, which this runtime sets to trap on a failed memory
    // growth: the memory limit. Classified by where it comes from, never by
    // Wasmtime's message text.
    if (memory) {
      return resourceExhausted("memory limit of " + mib(memory_limit) + " exceeded" +
                               inFunction(fn));
    }
    return aborted(std::string(what) + " failed" + inFunction(fn) + ": " + errorMessage(error));
  }
  const char* kind = trapKind(trap);
  if (kind == nullptr) return aborted("trap" + inFunction(fn) + ": " + trapMessage(trap));
  wasmtime_trap_code_t code;
  wasmtime_trap_code(trap, &code);
  if (code == WASMTIME_TRAP_CODE_OUT_OF_FUEL) {
    return resourceExhausted("fuel exhausted (" + std::to_string(context.limits.fuel) +
                             " units)" + inFunction(fn));
  }
  return aborted(std::string("trap: ") + kind + inFunction(fn));
}

Result<std::optional<int>> Instance::Impl::call(const wasmtime_func_t& fn,
                                                wasmtime_val_raw_t* args_and_results, size_t n,
                                                std::string_view what) {
  if (poisoned) return failedPrecondition("the instance failed earlier and cannot run again");
  wasm_trap_t* trap = nullptr;
  wasmtime_context_t* c = activeContext();
  wasmtime_error_t* error = wasmtime_func_call_unchecked(c, &fn, args_and_results, n, &trap);
  if (error == nullptr && trap == nullptr) return std::optional<int>();
  int status = 0;
  if (error != nullptr && trap == nullptr && !host_error && stop_reason == StopReason::kNone &&
      wasmtime_error_exit_status(error, &status)) {
    wasmtime_error_delete(error);
    poisoned = true;  // the guest has exited
    return std::optional<int>(status);
  }
  poisoned = true;
  return classify(error, trap, what);
}

Result<std::unique_ptr<Instance>> Instance::create(Engine& engine,
                                                   std::shared_ptr<const Module> module,
                                                   RunContext context) {
  Engine::Impl& eng = RuntimeInternals::of(engine);
  auto instance = std::unique_ptr<Instance>(new Instance(std::make_unique<Impl>()));
  Impl* impl = instance->impl_.get();
  impl->self = instance.get();
  impl->engine = &eng;
  impl->module = std::move(module);
  impl->context = std::move(context);
  const Limits& limits = impl->context.limits;
  if (RuntimeInternals::of(*impl->module).pre == nullptr) {
    return failedPrecondition(impl->module->name() + " was loaded without linking");
  }
  if (limits.timeout.count() > 0 && eng.config.epoch_tick.count() == 0) {
    return failedPrecondition("a timeout needs an engine with an epoch ticker");
  }
  if (limits.fuel > 0 && !eng.config.fuel) {
    return failedPrecondition("a fuel limit needs an engine configured with fuel metering");
  }

  impl->store = wasmtime_store_new(eng.engine, impl, nullptr);
  impl->ctx = wasmtime_store_context(impl->store);
  wasmtime_context_t* ctx = impl->ctx;

  const uint64_t asked = limits.memory_bytes > 0 ? limits.memory_bytes
                                                : eng.config.default_memory_bytes;
  impl->memory_limit = asked > 0 ? std::min(asked, eng.config.max_memory_bytes)
                                 : eng.config.max_memory_bytes;
  TRY_ASSIGN(impl->reserved, reserveMemory(eng, impl->memory_limit));
  const auto mem = static_cast<int64_t>(impl->memory_limit);
  wasmtime_store_limiter(impl->store, mem, -1, -1, -1, -1);
  cwasi_context_set_limits_trapping(ctx, mem, -1, -1, -1, -1, true);

  if (eng.config.fuel) {
    if (wasmtime_error_t* err =
            wasmtime_context_set_fuel(ctx, limits.fuel > 0 ? limits.fuel : UINT64_MAX)) {
      return fromWasmtime(Code::kInternal, "cannot set fuel", err);
    }
  }
  if (limits.timeout.count() > 0 || impl->context.cancel != nullptr) {
    impl->has_deadline = limits.timeout.count() > 0;
    impl->deadline = std::chrono::steady_clock::now() + limits.timeout;
    wasmtime_context_set_epoch_deadline(ctx, 1);
    wasmtime_store_epoch_deadline_callback(impl->store, epochCallback, impl, nullptr);
  } else {
    wasmtime_context_set_epoch_deadline(ctx, kNoDeadlineTicks);
  }

  TRY(configureWasi(ctx, *impl));

  wasm_trap_t* trap = nullptr;
  if (wasmtime_error_t* err = wasmtime_instance_pre_instantiate(RuntimeInternals::of(*impl->module).pre, ctx,
                                                                &impl->instance, &trap)) {
    bool exhausted = false;
    err = cwasi_error_pool_exhausted(err, &exhausted);
    std::string msg = errorMessage(err);
    wasmtime_error_delete(err);
    return Error(exhausted ? Code::kResourceExhausted : Code::kFailedPrecondition,
                 "cannot instantiate " + impl->module->name() + ": " + msg);
  }
  if (trap) return impl->classify(nullptr, trap, "instantiation");

  wasmtime_extern_t mem_item;
  if (wasmtime_instance_export_get(ctx, &impl->instance, "memory", 6, &mem_item)) {
    if (mem_item.kind == WASMTIME_EXTERN_MEMORY) {
      impl->memory = mem_item.of.memory;
      adviseHugePages(wasmtime_memory_data(ctx, &*impl->memory), impl->memory_limit);
    }
  }
  impl->start_fn = exportedFunc(ctx, impl->instance, "_start");
  impl->alloc_fn = exportedFunc(ctx, impl->instance, abi::kAllocExport);
  impl->handle_fn = exportedFunc(ctx, impl->instance, abi::kHandleExport);

  // Reactors (-mexec-model=reactor) run their constructors in _initialize.
  if (impl->module->kind() == FunctionKind::kReactor) {
    if (auto init = exportedFunc(ctx, impl->instance, "_initialize")) {
      TRY_ASSIGN(std::optional<int> exited, impl->call(*init, nullptr, 0, "_initialize"));
      if (exited) return aborted("_initialize exited with status " + std::to_string(*exited));
    }
  }
  return instance;
}

Instance::Instance(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Instance::~Instance() = default;
const Module& Instance::module() const { return *impl_->module; }
RunContext& Instance::context() { return impl_->context; }
const std::string& Instance::capturedStdout() const { return impl_->out.text; }
const std::string& Instance::capturedStderr() const { return impl_->err.text; }

bool Instance::poisoned() const { return impl_->poisoned; }
const ResponseHead& Instance::responseHead() const { return impl_->response_head; }

GuestMemory Instance::memory() {
  if (!impl_->memory) return {};
  wasmtime_context_t* c = impl_->activeContext();
  return GuestMemory(wasmtime_memory_data(c, &*impl_->memory),
                     wasmtime_memory_data_size(c, &*impl_->memory));
}

Result<int> Instance::runMain() {
  if (!impl_->start_fn) {
    return failedPrecondition(impl_->module->name() + " is a " + kindName(impl_->module->kind()) +
                              " module: it has no _start to run");
  }
  TRY_ASSIGN(std::optional<int> exited, impl_->call(*impl_->start_fn, nullptr, 0, "_start"));
  return exited.value_or(0);
}

Result<uint32_t> Instance::allocate(uint32_t size) {
  if (!impl_->alloc_fn) {
    return failedPrecondition(impl_->module->name() + " does not export cwasi_alloc");
  }
  wasmtime_val_raw_t v[1];
  v[0].i32 = static_cast<int32_t>(size);
  // A request the host makes on the guest's behalf: if it does not fit under
  // the memory limit, cwasi_alloc returns NULL (and the host reports "too
  // large") instead of the guest being killed for it.
  const auto mem = static_cast<int64_t>(impl_->memory_limit);
  wasmtime_context_t* c = impl_->activeContext();
  cwasi_context_set_limits_trapping(c, mem, -1, -1, -1, -1, false);
  auto called = impl_->call(*impl_->alloc_fn, v, 1, "cwasi_alloc");
  cwasi_context_set_limits_trapping(c, mem, -1, -1, -1, -1, true);
  TRY_ASSIGN(std::optional<int> exited, std::move(called));
  if (exited) return aborted("cwasi_alloc exited with status " + std::to_string(*exited));
  auto ptr = static_cast<uint32_t>(v[0].i32);
  if (ptr == 0) return resourceExhausted("cwasi_alloc(" + std::to_string(size) + ") returned NULL");
  // The guest's allocator answers for its own pointer, but the host still
  // refuses to write where the guest has no memory.
  TRY_ASSIGN(std::span<uint8_t> buffer, memory().slice(ptr, size));
  prefault(buffer);  // the host is about to fill it
  return ptr;
}

Result<Response> Instance::handleAt(uint32_t ptr, uint32_t len) {
  if (!impl_->handle_fn) {
    return failedPrecondition(impl_->module->name() + " is a " + kindName(impl_->module->kind()) +
                              " module: it has no cwasi_handle");
  }
  impl_->response_ptr = 0;
  impl_->response_len = 0;
  impl_->response_head.clear();
  wasmtime_val_raw_t v[2];
  v[0].i32 = static_cast<int32_t>(ptr);
  v[1].i32 = static_cast<int32_t>(len);
  TRY_ASSIGN(std::optional<int> exited, impl_->call(*impl_->handle_fn, v, 2, "cwasi_handle"));
  if (exited) return aborted("function exited with status " + std::to_string(*exited) +
                             " inside cwasi_handle");
  Response r;
  r.status = v[0].i32;
  TRY_ASSIGN(auto body, memory().slice(impl_->response_ptr, impl_->response_len));
  r.body = body;
  return r;
}

Result<Response> Instance::handle(std::span<const uint8_t> request) {
  if (request.size() > UINT32_MAX) return resourceExhausted("request larger than 4 GiB");
  const auto len = static_cast<uint32_t>(request.size());
  TRY_ASSIGN(uint32_t ptr, allocate(len));
  TRY_ASSIGN(auto dst, memory().slice(ptr, len));
  if (len > 0) std::memcpy(dst.data(), request.data(), len);
  return handleAt(ptr, len);
}

}  // namespace cwasi::runtime

// Host functions: native functions that guests import (the `cwasi` module of
// the guest ABI). Higher layers describe them here and hand them to the
// Engine; the runtime links them into every instance.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "cwasi/common/result.h"
#include "cwasi/runtime/guest_memory.h"

namespace cwasi::runtime {

class Instance;

enum class ValType { kI32, kI64 };

// One call from a guest into a host function. Lives only for that call.
class HostCall {
 public:
  HostCall(Instance& instance, std::span<uint64_t> args_and_results)
      : instance_(instance), slots_(args_and_results) {}

  // The instance that made the call. Host functions may call back into it
  // (e.g. its cwasi_alloc) through Instance's methods.
  Instance& instance() { return instance_; }

  // The caller's memory, bounds-checked. Fetch it again after calling back
  // into the guest: the guest may have grown it.
  GuestMemory memory();

  uint32_t argU32(size_t i) const { return static_cast<uint32_t>(slots_[i]); }
  int32_t argI32(size_t i) const { return static_cast<int32_t>(slots_[i]); }
  int64_t argI64(size_t i) const { return static_cast<int64_t>(slots_[i]); }
  void setI32(size_t result, int32_t v) { slots_[result] = static_cast<uint32_t>(v); }
  void setI64(size_t result, int64_t v) { slots_[result] = static_cast<uint64_t>(v); }

 private:
  Instance& instance_;
  // Wasmtime's raw calling convention: arguments first, results overwrite
  // them from slot 0.
  std::span<uint64_t> slots_;
};

struct HostFunction {
  std::string module;  // import module, e.g. "cwasi"
  std::string name;    // import name, e.g. "call"
  std::vector<ValType> params;
  std::vector<ValType> results;
  // Runs on the guest's thread, for the length of the guest's call. Expected
  // failures go back to the guest as status results; returning an Error
  // instead terminates the invocation with that error. Must be thread-safe:
  // every instance of every module shares it.
  std::function<Result<void>(HostCall&)> fn;
};

}  // namespace cwasi::runtime

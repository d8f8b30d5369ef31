// Internal to the runtime layer: ownership wrappers for Wasmtime C API
// objects, and the translation of Wasmtime errors and traps into cwasi Errors
// that name their cause.
#pragma once

#include <wasi.h>
#include <wasmtime.h>

#include <memory>
#include <string>
#include <string_view>

#include "cwasi/common/result.h"

namespace cwasi::runtime {

struct ErrorDeleter {
  void operator()(wasmtime_error_t* e) const { wasmtime_error_delete(e); }
};
struct TrapDeleter {
  void operator()(wasm_trap_t* t) const { wasm_trap_delete(t); }
};
using OwnedError = std::unique_ptr<wasmtime_error_t, ErrorDeleter>;
using OwnedTrap = std::unique_ptr<wasm_trap_t, TrapDeleter>;

// A wasm_byte_vec_t that frees itself.
class ByteVec {
 public:
  ByteVec() { wasm_byte_vec_new_empty(&v_); }
  ~ByteVec() { wasm_byte_vec_delete(&v_); }
  ByteVec(const ByteVec&) = delete;
  ByteVec& operator=(const ByteVec&) = delete;
  wasm_byte_vec_t* get() { return &v_; }
  const uint8_t* data() const { return reinterpret_cast<const uint8_t*>(v_.data); }
  size_t size() const { return v_.size; }
  std::string_view view() const { return {v_.data, v_.size}; }

 private:
  wasm_byte_vec_t v_;
};

// The message Wasmtime attached to an error.
std::string errorMessage(const wasmtime_error_t* error);

// Converts a Wasmtime error into an Error with `code`, prefixed by `context`.
// Takes ownership of `error`.
Error fromWasmtime(Code code, std::string_view context, wasmtime_error_t* error);

// The innermost guest function named in a trap's or error's backtrace, or "".
std::string innermostFunction(const wasm_trap_t* trap);
std::string innermostFunction(const wasmtime_error_t* error);

// "out of bounds memory access", "unreachable instruction executed"... for a
// trap code; nullptr when it is not an instruction trap.
const char* trapKind(const wasm_trap_t* trap);
// The trap's message as Wasmtime formats it.
std::string trapMessage(const wasm_trap_t* trap);

}  // namespace cwasi::runtime

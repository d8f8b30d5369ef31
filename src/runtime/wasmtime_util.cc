#include "wasmtime_util.h"

namespace cwasi::runtime {
namespace {

struct FrameVec {
  wasm_frame_vec_t v{};
  ~FrameVec() { wasm_frame_vec_delete(&v); }
};

// Frames are innermost first; the first one with a name is where it happened.
std::string firstNamedFrame(const wasm_frame_vec_t& frames) {
  for (size_t i = 0; i < frames.size; ++i) {
    const wasm_name_t* name = wasmtime_frame_func_name(frames.data[i]);
    if (name != nullptr && name->size > 0) return std::string(name->data, name->size);
  }
  if (frames.size > 0) {
    return "<wasm function " + std::to_string(wasm_frame_func_index(frames.data[0])) + ">";
  }
  return "";
}

}  // namespace

std::string errorMessage(const wasmtime_error_t* error) {
  ByteVec msg;
  wasmtime_error_message(error, msg.get());
  // Wasmtime writes a chain of causes over several lines ("...\n\nCaused
  // by:\n    0: ...\n    1: ..."); cwasi reports errors in one line.
  std::string out;
  std::string_view rest = msg.view();
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
    // Drop the "N: " numbering of causes.
    size_t digits = 0;
    while (digits < line.size() && line[digits] >= '0' && line[digits] <= '9') ++digits;
    if (digits > 0 && line.substr(digits, 2) == ": ") line.remove_prefix(digits + 2);
    if (line.empty() || line == "Caused by:") continue;
    if (!out.empty()) out += ": ";
    out += line;
  }
  return out;
}

Error fromWasmtime(Code code, std::string_view context, wasmtime_error_t* error) {
  OwnedError owned(error);
  std::string m(context);
  if (!m.empty()) m += ": ";
  m += errorMessage(error);
  return Error(code, std::move(m));
}

std::string innermostFunction(const wasm_trap_t* trap) {
  FrameVec frames;
  wasm_trap_trace(trap, &frames.v);
  return firstNamedFrame(frames.v);
}

std::string innermostFunction(const wasmtime_error_t* error) {
  FrameVec frames;
  wasmtime_error_wasm_trace(error, &frames.v);
  return firstNamedFrame(frames.v);
}

const char* trapKind(const wasm_trap_t* trap) {
  wasmtime_trap_code_t code;
  if (!wasmtime_trap_code(trap, &code)) return nullptr;
  switch (code) {
    case WASMTIME_TRAP_CODE_STACK_OVERFLOW: return "stack overflow";
    case WASMTIME_TRAP_CODE_MEMORY_OUT_OF_BOUNDS: return "out of bounds memory access";
    case WASMTIME_TRAP_CODE_HEAP_MISALIGNED: return "misaligned memory access";
    case WASMTIME_TRAP_CODE_TABLE_OUT_OF_BOUNDS: return "undefined table element";
    case WASMTIME_TRAP_CODE_INDIRECT_CALL_TO_NULL: return "indirect call to null";
    case WASMTIME_TRAP_CODE_BAD_SIGNATURE: return "indirect call type mismatch";
    case WASMTIME_TRAP_CODE_INTEGER_OVERFLOW: return "integer overflow";
    case WASMTIME_TRAP_CODE_INTEGER_DIVISION_BY_ZERO: return "integer divide by zero";
    case WASMTIME_TRAP_CODE_BAD_CONVERSION_TO_INTEGER: return "invalid conversion to integer";
    case WASMTIME_TRAP_CODE_UNREACHABLE_CODE_REACHED:
      return "unreachable instruction executed (abort)";
    case WASMTIME_TRAP_CODE_INTERRUPT: return "interrupted";
    case WASMTIME_TRAP_CODE_OUT_OF_FUEL: return "out of fuel";
    default: return "trap";
  }
}

std::string trapMessage(const wasm_trap_t* trap) {
  ByteVec msg;
  wasm_trap_message(trap, msg.get());
  std::string s(msg.view());
  // wasm_trap_message includes the trailing NUL of the C string.
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

}  // namespace cwasi::runtime

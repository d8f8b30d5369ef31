// WebAssembly components (the component model): telling one from a core
// module by its header, and which world a component serves by its exports,
// as runwasi and Spin's shim do — `wasi:cli/run` is a command,
// `wasi:http/incoming-handler@0.2.x` and `wasi:http/handler@0.3.x` are HTTP
// handlers. Any 0.2 or 0.3 patch counts: componentize-py exports 0.2.0,
// componentize-js 0.2.10, Wasmtime 48 speaks 0.2.12.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cwasi::runtime {

// True when `bytes` begin with a component's preamble (`\0asm`, version
// 0x0d, layer 1), not a core module's (version 1, layer 0).
bool isComponentBinary(std::span<const uint8_t> bytes);

enum class ComponentWorld {
  kCommand,    // wasi:cli/run@0.2.x or @0.3.x
  kHttp02,     // wasi:http/incoming-handler@0.2.x
  kHttp03,     // wasi:http/handler@0.3.x
  kUnknown,    // none of them
};
const char* worldName(ComponentWorld world);

struct ComponentInfo {
  ComponentWorld world = ComponentWorld::kUnknown;
  std::string world_export;          // the export that decided it
  std::vector<std::string> exports;  // every export's name, in order
  std::vector<std::string> imports;
};

// The world `exports` make (an HTTP handler wins over a command when a
// component exports both, as `wasmtime serve` would serve it).
ComponentInfo classifyComponent(std::vector<std::string> exports, std::vector<std::string> imports);

}  // namespace cwasi::runtime

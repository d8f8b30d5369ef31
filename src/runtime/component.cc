#include "cwasi/runtime/component.h"

#include <cstring>

namespace cwasi::runtime {
namespace {

// "wasi:http/incoming-handler@0.2.6" is `interface` at a version beginning
// with `series` ("0.2.").
bool exportsAt(std::string_view name, std::string_view interface, std::string_view series) {
  return name.size() > interface.size() + 1 && name.starts_with(interface) &&
         name[interface.size()] == '@' && name.substr(interface.size() + 1).starts_with(series);
}

}  // namespace

bool isComponentBinary(std::span<const uint8_t> b) {
  static constexpr uint8_t kPreamble[] = {0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00};
  return b.size() >= sizeof kPreamble && std::memcmp(b.data(), kPreamble, sizeof kPreamble) == 0;
}

const char* worldName(ComponentWorld world) {
  switch (world) {
    case ComponentWorld::kCommand: return "wasi:cli command";
    case ComponentWorld::kHttp02: return "wasi:http 0.2 handler";
    case ComponentWorld::kHttp03: return "wasi:http 0.3 handler";
    case ComponentWorld::kUnknown: return "unknown";
  }
  return "unknown";
}

ComponentInfo classifyComponent(std::vector<std::string> exports, std::vector<std::string> imports) {
  ComponentInfo info;
  info.exports = std::move(exports);
  info.imports = std::move(imports);
  for (const std::string& e : info.exports) {
    ComponentWorld w = ComponentWorld::kUnknown;
    if (exportsAt(e, "wasi:http/incoming-handler", "0.2.")) {
      w = ComponentWorld::kHttp02;
    } else if (exportsAt(e, "wasi:http/handler", "0.3.")) {
      w = ComponentWorld::kHttp03;
    } else if (exportsAt(e, "wasi:cli/run", "0.2.") || exportsAt(e, "wasi:cli/run", "0.3.")) {
      w = ComponentWorld::kCommand;
    }
    // An HTTP handler decides over a command.
    const bool better = w != ComponentWorld::kUnknown &&
                        (info.world == ComponentWorld::kUnknown ||
                         (info.world == ComponentWorld::kCommand && w != ComponentWorld::kCommand));
    if (better) {
      info.world = w;
      info.world_export = e;
    }
  }
  return info;
}

}  // namespace cwasi::runtime

// Components told from core modules by their header, and their world by
// their exports; a component loaded as a module says what it is. The
// components are written in the component model's text format, compiled by
// Wasmtime itself.
#include "cwasi/runtime/component.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cwasi/runtime/engine.h"
#include "support/wasi_test.h"

namespace cwasi::runtime {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::sharedEngine;

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A component exporting an instance named `interface` with one function,
// `run` (the shape of wasi:cli/run; any name will do for telling worlds
// apart), after `import`.
std::string componentExporting(const std::string& interface, const std::string& import = "") {
  return R"((component
  )" + import + R"(
  (core module $m (func (export "f") (result i32) (i32.const 0)))
  (core instance $i (instantiate $m))
  (func $f (result (result)) (canon lift (core func $i "f")))
  (instance $api (export "run" (func $f)))
  (export ")" + interface + R"(" (instance $api))
))";
}

TEST(Components, AreToldFromCoreModulesByTheirHeader) {
  const std::vector<uint8_t> component = {0x00, 'a', 's', 'm', 0x0d, 0x00, 0x01, 0x00};
  const std::vector<uint8_t> module = {0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00};
  EXPECT_TRUE(isComponentBinary(component));
  EXPECT_FALSE(isComponentBinary(module));
  EXPECT_FALSE(isComponentBinary(std::vector<uint8_t>(component.begin(), component.begin() + 6)));
}

TEST(Components, TheirWorldIsToldByTheirExports) {
  struct Case {
    std::string name;
    ComponentWorld world;
  };
  for (const Case& c : std::vector<Case>{
           {"wasi:http/incoming-handler@0.2.0", ComponentWorld::kHttp02},   // componentize-py
           {"wasi:http/incoming-handler@0.2.10", ComponentWorld::kHttp02},  // componentize-js
           {"wasi:http/incoming-handler@0.2.12", ComponentWorld::kHttp02},  // Wasmtime 48
           {"wasi:http/handler@0.3.0", ComponentWorld::kHttp03},
           {"wasi:http/handler@0.3.0-rc-2025-09-16", ComponentWorld::kHttp03},
           {"wasi:cli/run@0.2.3", ComponentWorld::kCommand},
           {"wasi:cli/run@0.3.0", ComponentWorld::kCommand},
           {"wasi:http/incoming-handler@0.1.0", ComponentWorld::kUnknown},
           {"wasi:http/incoming-handlers@0.2.0", ComponentWorld::kUnknown},
           {"wasi:http/handler@0.2.0", ComponentWorld::kUnknown},
           {"wasi:cli/run", ComponentWorld::kUnknown},
           {"example:demo/api@1.0.0", ComponentWorld::kUnknown}}) {
    EXPECT_EQ(classifyComponent({c.name}, {}).world, c.world) << c.name;
  }
  // Both: served as the HTTP handler, as `wasmtime serve` would.
  auto both = classifyComponent({"wasi:cli/run@0.2.0", "wasi:http/incoming-handler@0.2.0"}, {});
  EXPECT_EQ(both.world, ComponentWorld::kHttp02);
  EXPECT_EQ(both.world_export, "wasi:http/incoming-handler@0.2.0");
}

TEST(Components, InspectingOneListsItsWorldExportsAndImports) {
  const std::string text = componentExporting(
      "wasi:cli/run@0.2.0",
      R"((import "example:host/log@1.0.0" (instance (export "log" (func (param "level" u32))))))");
  auto info = sharedEngine().inspectComponent(bytes(text), "cmd.wat");
  ASSERT_TRUE(info.ok()) << info.error().toString();
  EXPECT_EQ(info->world, ComponentWorld::kCommand);
  EXPECT_EQ(info->world_export, "wasi:cli/run@0.2.0");
  EXPECT_THAT(info->exports, ElementsAre("wasi:cli/run@0.2.0"));
  EXPECT_THAT(info->imports, ElementsAre("example:host/log@1.0.0"));

  auto module = sharedEngine().inspectComponent(bytes("(module)"), "m.wat");
  ASSERT_FALSE(module.ok());
  EXPECT_THAT(module.error().message(), HasSubstr("not a WebAssembly component"));
  auto broken = sharedEngine().inspectComponent(bytes("(component (export \"x\" (func 7)))"), "b.wat");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().code(), Code::kInvalidArgument);
}

TEST(Components, LoadedAsAModuleOneSaysWhatItIs) {
  auto http = sharedEngine().loadBytes(bytes(componentExporting("wasi:http/incoming-handler@0.2.0")),
                                       "handler.wat");
  ASSERT_FALSE(http.ok());
  EXPECT_EQ(http.error().code(), Code::kUnimplemented);
  EXPECT_THAT(http.error().message(), HasSubstr("wasi:http 0.2 handler"));
  EXPECT_THAT(http.error().message(), HasSubstr("wasi:http/incoming-handler@0.2.0"));

  // Another world: refused, naming what it exports.
  auto other = sharedEngine().loadBytes(bytes(componentExporting("example:demo/api@1.0.0")), "other.wat");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code(), Code::kInvalidArgument);
  EXPECT_THAT(other.error().message(), HasSubstr("exports example:demo/api@1.0.0"));
  EXPECT_THAT(other.error().message(), HasSubstr("wasi:http/incoming-handler@0.2"));
}

}  // namespace
}  // namespace cwasi::runtime

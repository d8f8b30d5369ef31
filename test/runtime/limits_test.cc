// Misbehaving functions end with their documented error, and the engine keeps
// serving afterwards.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <thread>

#include "cwasi/runtime/engine.h"
#include "cwasi/runtime/instance.h"
#include "support/wasi_test.h"

namespace cwasi::runtime {
namespace {

using ::testing::HasSubstr;
using testing::functionPath;
using testing::invokeBytes;
using testing::sharedEngine;
using testing::WasiTest;

void expectHelloStillWorks() {
  auto r = WasiTest("hello").run();
  ASSERT_FALSE(r.error) << r.error->toString();
  EXPECT_EQ(r.out, "Hello from cwasi!\n");
}

// An engine-wide budget for linear memory: instances reserve their limit
// while they live; one that would pass the budget is not made.
TEST(Limits, LiveInstancesShareOneMemoryBudget) {
  EngineConfig c;
  c.max_instances = 8;
  c.default_memory_bytes = 16u << 20;  // what an invocation without a limit gets
  c.total_memory_bytes = 3 * (16u << 20);
  auto engine = Engine::create(c);
  ASSERT_TRUE(engine.ok()) << engine.error().toString();
  auto module = (*engine)->loadFile(functionPath("echo"));
  ASSERT_TRUE(module.ok());
  std::vector<std::unique_ptr<Instance>> live;
  for (int i = 0; i < 3; ++i) {
    auto inst = Instance::create(**engine, *module, {});
    ASSERT_TRUE(inst.ok()) << inst.error().toString();
    live.push_back(std::move(*inst));
  }
  auto fourth = Instance::create(**engine, *module, {});
  ASSERT_FALSE(fourth.ok());
  EXPECT_EQ(fourth.error().code(), Code::kResourceExhausted);
  EXPECT_THAT(fourth.error().message(), HasSubstr("memory budget"));
  RunContext small;
  small.limits.memory_bytes = 1u << 20;  // a smaller limit still fits? no: 48 of 48 MiB taken
  EXPECT_FALSE(Instance::create(**engine, *module, std::move(small)).ok());
  live.pop_back();  // one gives its reservation back
  EXPECT_TRUE(Instance::create(**engine, *module, {}).ok());
  // runtime::invoke answers "unavailable" (503 over HTTP) when the budget is spent.
  auto more = Instance::create(**engine, *module, {});  // the third again
  ASSERT_TRUE(more.ok());
  auto refused = invokeBytes(**engine, *module, {}, "x");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), Code::kUnavailable);
}

TEST(Limits, TheDefaultLimitAppliesWhenAnInvocationGivesNone) {
  EngineConfig c;
  c.max_instances = 4;
  c.default_memory_bytes = 16u << 20;
  auto engine = Engine::create(c);
  ASSERT_TRUE(engine.ok());
  auto r = WasiTest("memory-bomb").engine(**engine).run();
  ASSERT_TRUE(r.error.has_value());
  EXPECT_THAT(r.error->message(), HasSubstr("memory limit of 16 MiB exceeded"));
}

TEST(Limits, AnInfiniteLoopHitsItsDeadline) {
  auto started = std::chrono::steady_clock::now();
  auto r = WasiTest("loop").timeoutMs(100).run();
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code(), Code::kDeadlineExceeded);
  EXPECT_THAT(r.error->message(), HasSubstr("timed out after 100 ms in function '"));
  EXPECT_LT(took, std::chrono::seconds(5));  // stopped, not left running
  expectHelloStillWorks();
}

TEST(Limits, AnInfiniteLoopStopsWhenCancelled) {
  std::atomic<bool> cancel{false};
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    cancel = true;
  });
  auto r = WasiTest("loop").cancel(&cancel).run();
  canceller.join();
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code(), Code::kCancelled);
  expectHelloStillWorks();
}

TEST(Limits, AMemoryBombHitsTheMemoryLimit) {
  auto r = WasiTest("memory-bomb").memoryMb(16).run();
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code(), Code::kResourceExhausted);
  EXPECT_THAT(r.error->message(), HasSubstr("memory limit of 16 MiB exceeded in function '"));
  expectHelloStillWorks();
}

TEST(Limits, UnboundedRecursionIsAStackOverflow) {
  auto r = WasiTest("stack-overflow").run();
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code(), Code::kAborted);
  EXPECT_EQ(r.error->message(), "trap: stack overflow in function 'recurse'");
  expectHelloStillWorks();
}

TEST(Limits, AnOutOfBoundsWriteTraps) {
  auto r = WasiTest("out-of-bounds").run();
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code(), Code::kAborted);
  EXPECT_EQ(r.error->message(),
            "trap: out of bounds memory access in function 'write_out_of_bounds'");
  expectHelloStillWorks();
}

TEST(Limits, UnreachableTraps) {
  auto r = WasiTest("unreachable").run();
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code(), Code::kAborted);
  EXPECT_EQ(r.error->message(),
            "trap: unreachable instruction executed (abort) in function 'reach_unreachable'");
  expectHelloStillWorks();
}

TEST(Limits, FuelRunsOut) {
  auto r = WasiTest("loop").fuel(1000000).run();
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code(), Code::kResourceExhausted);
  EXPECT_THAT(r.error->message(), HasSubstr("fuel exhausted (1000000 units)"));
  // Enough fuel: a function completes normally.
  auto ok = WasiTest("hello").fuel(10000000).run();
  EXPECT_FALSE(ok.error);
}

TEST(Limits, FuelNeedsAFuelEngine) {
  EngineConfig c;
  c.max_instances = 2;
  auto engine = Engine::create(c);
  ASSERT_TRUE(engine.ok());
  auto r = WasiTest("hello").engine(**engine).fuel(1000).run();
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code(), Code::kFailedPrecondition);
}

TEST(Limits, CapturedOutputIsCapped) {
  // cat-file of a big file into a small capture buffer.
  testing::TempDir dir;
  testing::writeText(dir / "big", std::string(1 << 20, 'x'));
  auto cat = sharedEngine().loadFile(functionPath("cat-file"));
  ASSERT_TRUE(cat.ok());
  RunContext c;
  c.args = {"cat-file", "/d/big"};
  c.preopens = {{dir.path(), "/d", false}};
  c.output = OutputCapture{.max_bytes = 4096};
  auto inst = Instance::create(sharedEngine(), *cat, std::move(c));
  ASSERT_TRUE(inst.ok());
  auto code = (*inst)->runMain();
  // The guest's write fails; it may exit with an error or be stopped.
  if (code.ok()) {
    EXPECT_NE(*code, 0);
  } else {
    EXPECT_EQ(code.error().code(), Code::kResourceExhausted);
  }
  EXPECT_LE((*inst)->capturedStdout().size(), 4096u);
}

TEST(Limits, ThePoolBoundsLiveInstances) {
  EngineConfig c;
  c.max_instances = 2;
  auto engine = Engine::create(c);
  ASSERT_TRUE(engine.ok());
  auto module = (*engine)->loadFile(functionPath("echo"));
  ASSERT_TRUE(module.ok());
  auto a = Instance::create(**engine, *module, {});
  auto b = Instance::create(**engine, *module, {});
  ASSERT_TRUE(a.ok() && b.ok());
  auto c3 = Instance::create(**engine, *module, {});
  ASSERT_FALSE(c3.ok());
  EXPECT_EQ(c3.error().code(), Code::kResourceExhausted);
  a->reset();  // a slot frees up
  auto d = Instance::create(**engine, *module, {});
  EXPECT_TRUE(d.ok());
}

TEST(Limits, EachInvocationGetsFreshMemory) {
  // A reactor that counts calls in a global: a fresh instance always says 1.
  const char* wat = R"((module
    (import "cwasi" "response_set" (func $set (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (global $n (mut i32) (i32.const 0))
    (func (export "cwasi_alloc") (param i32) (result i32) (i32.const 1024))
    (func (export "cwasi_handle") (param i32 i32) (result i32)
      (global.set $n (i32.add (global.get $n) (i32.const 1)))
      (i32.store8 (i32.const 0) (i32.add (i32.const 48) (global.get $n)))
      (drop (call $set (i32.const 0) (i32.const 1)))
      (i32.const 0)))
  )";
  auto module = sharedEngine().loadBytes({reinterpret_cast<const uint8_t*>(wat), strlen(wat)},
                                         "counter.wat");
  ASSERT_TRUE(module.ok()) << module.error().toString();
  for (int i = 0; i < 3; ++i) {
    auto r = invokeBytes(sharedEngine(), *module, {}, "");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, "1");
  }
}

}  // namespace
}  // namespace cwasi::runtime

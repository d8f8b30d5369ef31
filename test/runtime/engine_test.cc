// The example functions run and behave; bad modules give clear errors.
#include "cwasi/runtime/engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "cwasi/common/files.h"
#include "support/wasi_test.h"

namespace cwasi::runtime {
namespace {

using ::testing::HasSubstr;
using testing::functionPath;
using testing::invokeBytes;
using testing::sharedEngine;
using testing::TempDir;
using testing::WasiTest;

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(Functions, HelloPrintsAndExitsZero) {
  auto r = WasiTest("hello").run();
  ASSERT_FALSE(r.error) << r.error->toString();
  EXPECT_EQ(r.out, "Hello from cwasi!\n");
  EXPECT_EQ(r.exit_code, 0);
}

TEST(Functions, EchoReactorReturnsItsRequest) {
  for (std::string req : {std::string(), std::string("x"), std::string(1 << 20, 'q')}) {
    auto r = WasiTest("echo").input(req).run();
    ASSERT_FALSE(r.error) << r.error->toString();
    EXPECT_EQ(r.out, req);
    EXPECT_EQ(r.exit_code, 0);
  }
}

TEST(Functions, WcCountsLinesWordsBytes) {
  auto r = WasiTest("wc").input("one two\nthree\n\n  four").run();
  ASSERT_FALSE(r.error);
  EXPECT_EQ(r.out, "3 4 21\n");
}

TEST(Functions, EnvArgsSeesExactlyItsArgsAndEnvAndExitCode) {
  auto r = WasiTest("env-args").args({"a b", "c"}).env("GREETING", "hi").env("EXIT_CODE", "42").run();
  ASSERT_FALSE(r.error);
  EXPECT_EQ(r.out,
            "arg[0]=env-args.wasm\narg[1]=a b\narg[2]=c\nenv GREETING=hi\nenv EXIT_CODE=42\n");
  EXPECT_EQ(r.exit_code, 42);
}

TEST(Functions, CatFileReadsAGrantedDirectory) {
  TempDir dir;
  testing::writeText(dir / "note.txt", "granted content\n");
  auto r = WasiTest("cat-file").dir(dir.path(), "/data").args({"/data/note.txt"}).run();
  ASSERT_FALSE(r.error);
  EXPECT_EQ(r.out, "granted content\n");
  EXPECT_EQ(r.exit_code, 0);
}

TEST(Functions, CatFileCannotReachAnUngrantedDirectory) {
  TempDir dir;
  testing::writeText(dir / "secret.txt", "secret");
  // Nothing granted: the guest sees no filesystem at all.
  auto r = WasiTest("cat-file").args({(dir / "secret.txt").string()}).run();
  ASSERT_FALSE(r.error);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("cat-file: "));
  EXPECT_EQ(r.out, "");
  // Granted elsewhere: paths outside it stay unreachable, even via "..".
  TempDir other;
  auto r2 = WasiTest("cat-file").dir(other.path(), "/data").args({"/data/../secret.txt"}).run();
  ASSERT_FALSE(r2.error);
  EXPECT_EQ(r2.exit_code, 1);
}

TEST(Functions, GrantingAMissingDirectoryIsNotFound) {
  auto r = WasiTest("cat-file").dir("/nonexistent/dir", "/data").args({"/data/x"}).run();
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code(), Code::kNotFound);
  EXPECT_THAT(r.error->message(), HasSubstr("/nonexistent/dir"));
}

TEST(Functions, KindIsDetectedFromExports) {
  auto hello = sharedEngine().loadFile(functionPath("hello"));
  auto echo = sharedEngine().loadFile(functionPath("echo"));
  ASSERT_TRUE(hello.ok() && echo.ok());
  EXPECT_EQ((*hello)->kind(), FunctionKind::kCommand);
  EXPECT_EQ((*echo)->kind(), FunctionKind::kReactor);
  auto none = sharedEngine().loadBytes(bytes("(module (func (export \"f\")))"), "none.wat");
  ASSERT_TRUE(none.ok()) << none.error().toString();
  EXPECT_EQ((*none)->kind(), FunctionKind::kUnknown);
  auto inv = invokeBytes(sharedEngine(), *none, {}, "");
  ASSERT_FALSE(inv.ok());
  EXPECT_THAT(inv.error().message(), HasSubstr("neither a command"));
}

TEST(Functions, ConcurrentInvocationsAreIsolated) {
  auto module = sharedEngine().loadFile(functionPath("echo"));
  ASSERT_TRUE(module.ok());
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        std::string req = "thread " + std::to_string(t) + " call " + std::to_string(i);
        auto r = invokeBytes(sharedEngine(), *module, {}, req);
        if (!r.ok() || *r != req) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(BadModules, GarbageBytesAreRejected) {
  auto r = sharedEngine().loadBytes(bytes("this is not wasm at all"), "garbage.wasm");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
  EXPECT_THAT(r.error().message(), HasSubstr("garbage.wasm is not a WebAssembly module"));
}

TEST(BadModules, ATruncatedModuleIsRejected) {
  auto full = readFile(functionPath("hello"));
  ASSERT_TRUE(full.ok());
  std::vector<uint8_t> half(full->begin(), full->begin() + static_cast<long>(full->size() / 2));
  LoadOptions no_cache;
  no_cache.use_cache = false;
  auto r = sharedEngine().loadBytes(half, "truncated.wasm", no_cache);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
  EXPECT_THAT(r.error().message(), HasSubstr("truncated.wasm is not a valid module"));
}

TEST(BadModules, AnUnknownImportIsNamed) {
  auto r = sharedEngine().loadBytes(
      bytes(R"((module (import "env" "mystery" (func)) (func (export "_start") call 0)))"),
      "unknown-import.wat");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kFailedPrecondition);
  EXPECT_THAT(r.error().message(), HasSubstr("env::mystery"));
}

TEST(BadModules, AMissingFileIsNotFound) {
  auto r = sharedEngine().loadFile("/nonexistent/module.wasm");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kNotFound);
}

TEST(BadModules, InvalidWatTextIsRejected) {
  auto r = sharedEngine().loadBytes(bytes("(module (func (export \"_start\") i32.add))"), "bad.wat");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
}

TEST(Precompiled, LoadsOnlyWhenAllowed) {
  auto wasm = readFile(functionPath("hello"));
  ASSERT_TRUE(wasm.ok());
  auto artifact = sharedEngine().precompile(*wasm, "hello.wasm");
  ASSERT_TRUE(artifact.ok()) << artifact.error().toString();
  auto refused = sharedEngine().loadBytes(*artifact, "hello.cwasm");
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error().message(), HasSubstr("--allow-precompiled"));
  LoadOptions allow;
  allow.allow_precompiled = true;
  auto module = sharedEngine().loadBytes(*artifact, "hello.cwasm", allow);
  ASSERT_TRUE(module.ok()) << module.error().toString();
  EXPECT_TRUE((*module)->loadInfo().precompiled_input);
  auto inv = invokeBytes(sharedEngine(), *module, {}, "");
  ASSERT_TRUE(inv.ok());
  EXPECT_EQ(*inv, "Hello from cwasi!\n");
}

TEST(Precompiled, AnArtifactForAnotherConfigurationIsRejected) {
  auto wasm = readFile(functionPath("hello"));
  ASSERT_TRUE(wasm.ok());
  EngineConfig other;  // no fuel: different generated code than the shared engine
  other.max_instances = 2;
  auto engine = Engine::create(other);
  ASSERT_TRUE(engine.ok());
  auto artifact = (*engine)->precompile(*wasm, "hello.wasm");
  ASSERT_TRUE(artifact.ok());
  LoadOptions allow;
  allow.allow_precompiled = true;
  auto r = sharedEngine().loadBytes(*artifact, "hello.cwasm", allow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
}

TEST(Profiler, ParsesTheNamesCwasiProfilerTakes) {
  EXPECT_EQ(*parseProfiler(""), Profiler::kNone);
  EXPECT_EQ(*parseProfiler("none"), Profiler::kNone);
  EXPECT_EQ(*parseProfiler("perfmap"), Profiler::kPerfMap);
  auto bad = parseProfiler("vtune");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), Code::kInvalidArgument);
  EXPECT_THAT(bad.error().message(), HasSubstr("perfmap"));
}

TEST(Profiler, AnUnknownCwasiProfilerFailsTheEngine) {
  ::setenv("CWASI_PROFILER", "bogus", 1);
  auto engine = Engine::create(EngineConfig{});
  ::unsetenv("CWASI_PROFILER");
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.error().code(), Code::kInvalidArgument);
  EXPECT_THAT(engine.error().message(), HasSubstr("CWASI_PROFILER"));
}

TEST(Profiler, PerfMapNamesTheModulesFunctions) {
  const std::filesystem::path map = "/tmp/perf-" + std::to_string(::getpid()) + ".map";
  EngineConfig c;
  c.max_instances = 2;
  c.profiler = Profiler::kPerfMap;
  auto engine = Engine::create(c);
  ASSERT_TRUE(engine.ok()) << engine.error().toString();
  LoadOptions fresh;
  fresh.use_cache = false;
  auto module = (*engine)->loadFile(functionPath("hello"), fresh);
  ASSERT_TRUE(module.ok()) << module.error().toString();
  auto text = readFile(map);
  std::error_code ec;
  std::filesystem::remove(map, ec);
  ASSERT_TRUE(text.ok()) << text.error().toString();
  // "ADDR SIZE NAME" per compiled function; the module's own names included.
  EXPECT_THAT(std::string(text->begin(), text->end()), HasSubstr("_start"));
}

}  // namespace
}  // namespace cwasi::runtime

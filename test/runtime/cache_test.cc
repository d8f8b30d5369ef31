// The AOT cache: hit on the second load, and a corrupt or stale entry is
// rebuilt, never trusted.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "cwasi/common/files.h"
#include "cwasi/common/sha256.h"
#include "cwasi/runtime/engine.h"
#include "cwasi/runtime/instance.h"
#include "support/wasi_test.h"

namespace cwasi::runtime {
namespace {

namespace fs = std::filesystem;
using testing::functionPath;
using testing::invokeBytes;
using testing::TempDir;

class Cache : public ::testing::Test {
 protected:
  void SetUp() override {
    EngineConfig c;
    c.max_instances = 4;
    c.cache_dir = dir_.path();
    auto e = Engine::create(c);
    ASSERT_TRUE(e.ok());
    engine_ = std::move(*e);
  }

  std::shared_ptr<const Module> load(const std::string& fn) {
    auto m = engine_->loadFile(functionPath(fn));
    EXPECT_TRUE(m.ok()) << m.error().toString();
    return m.ok() ? *m : nullptr;
  }

  std::vector<fs::path> entries(const std::string& ext) {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir_.path())) {
      if (e.path().extension() == ext) out.push_back(e.path());
    }
    return out;
  }

  std::string runHello(const std::shared_ptr<const Module>& m) {
    auto r = invokeBytes(*engine_, m, {}, "");
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : "";
  }

  TempDir dir_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(Cache, SecondLoadIsAHit) {
  auto first = load("hello");
  ASSERT_TRUE(first);
  EXPECT_FALSE(first->loadInfo().cache_hit);
  ASSERT_EQ(entries(".cwasm").size(), 1u);
  auto second = load("hello");
  ASSERT_TRUE(second);
  EXPECT_TRUE(second->loadInfo().cache_hit);
  EXPECT_EQ(runHello(second), "Hello from cwasi!\n");
  // The key is the module's digest plus the engine fingerprint.
  EXPECT_EQ(entries(".cwasm")[0].filename().string(),
            second->digest() + "-" + engine_->fingerprint() + ".cwasm");
}

TEST_F(Cache, ACorruptEntryIsRebuilt) {
  ASSERT_TRUE(load("hello"));
  fs::path artifact = entries(".cwasm").at(0);
  auto bytes = readFile(artifact);
  ASSERT_TRUE(bytes.ok());
  (*bytes)[bytes->size() / 2] ^= 0xff;  // one flipped byte in the code
  ASSERT_TRUE(writeFileAtomic(artifact, *bytes).ok());

  auto m = load("hello");
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->loadInfo().cache_hit);  // detected: compiled again
  EXPECT_EQ(runHello(m), "Hello from cwasi!\n");
  auto again = load("hello");
  EXPECT_TRUE(again->loadInfo().cache_hit);  // and the rebuilt entry is good
}

TEST_F(Cache, ATruncatedEntryIsRebuilt) {
  ASSERT_TRUE(load("hello"));
  fs::resize_file(entries(".cwasm").at(0), 100);
  auto m = load("hello");
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->loadInfo().cache_hit);
  EXPECT_EQ(runHello(m), "Hello from cwasi!\n");
}

TEST_F(Cache, AStaleEntryWithAValidChecksumIsRebuilt) {
  // An entry whose checksum matches but that Wasmtime refuses (e.g. written
  // by another engine build): rebuilt, never run.
  ASSERT_TRUE(load("hello"));
  fs::path artifact = entries(".cwasm").at(0);
  fs::path sum = entries(".sha256").at(0);
  std::string junk = "\x7f" "ELF but not a Wasmtime artifact";
  std::vector<uint8_t> jb(junk.begin(), junk.end());
  ASSERT_TRUE(writeFileAtomic(artifact, jb).ok());
  std::string hex = sha256Hex(jb);
  ASSERT_TRUE(writeFileAtomic(sum, std::vector<uint8_t>(hex.begin(), hex.end())).ok());

  auto m = load("hello");
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->loadInfo().cache_hit);
  EXPECT_EQ(runHello(m), "Hello from cwasi!\n");
  EXPECT_TRUE(load("hello")->loadInfo().cache_hit);
}

TEST_F(Cache, BypassedWhenAsked) {
  LoadOptions o;
  o.use_cache = false;
  auto m = engine_->loadFile(functionPath("hello"), o);
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(entries(".cwasm").empty());
}

TEST_F(Cache, DifferentEngineSettingsUseDifferentEntries) {
  ASSERT_TRUE(load("hello"));
  EngineConfig c;
  c.max_instances = 2;
  c.fuel = true;
  c.cache_dir = dir_.path();
  auto fuel_engine = Engine::create(c);
  ASSERT_TRUE(fuel_engine.ok());
  EXPECT_NE((*fuel_engine)->fingerprint(), engine_->fingerprint());
  auto m = (*fuel_engine)->loadFile(functionPath("hello"));
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE((*m)->loadInfo().cache_hit);
  EXPECT_EQ(entries(".cwasm").size(), 2u);
}

}  // namespace
}  // namespace cwasi::runtime

// The guest ABI's communication behaves the same in every mode: payloads of
// every size arrive intact, concurrent callers, fan-out/fan-in, bad pointers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <thread>

#include "comm/comm_env.h"
#include "cwasi/runtime/abi.h"

namespace cwasi::comm {
namespace {

namespace abi = runtime::abi;
using host::FunctionHost;
using host::FunctionSpec;
using host::HostConfig;
using testing::CallOutcome;
using testing::outcomeOf;
using testing::CommEnv;
using testing::checksum;
using testing::kRingBytes;
using testing::pattern;

uint64_t get64(const std::string& s, size_t at) {
  uint64_t v;
  std::memcpy(&v, s.data() + at, 8);
  return v;
}

class AllModes : public ::testing::TestWithParam<Mode> {
 protected:
  void SetUp() override {
    env_ = CommEnv::create(GetParam());
    ASSERT_TRUE(env_);
  }
  std::unique_ptr<CommEnv> env_;
};

std::string modeLabel(const ::testing::TestParamInfo<Mode>& info) {
  return modeName(info.param);
}

INSTANTIATE_TEST_SUITE_P(Comm, AllModes,
                         ::testing::Values(Mode::kEmbedded, Mode::kLocal, Mode::kRemote,
                                           Mode::kRedis),
                         modeLabel);

TEST_P(AllModes, PayloadsOfEverySizeArriveIntact) {
  for (size_t size : {size_t{0}, size_t{1}, kRingBytes - 1, kRingBytes, kRingBytes + 1,
                      size_t{10} << 20, size_t{100} << 20}) {
    std::string payload = pattern(size, static_cast<uint32_t>(size));
    auto r = env_->drive('c', "checksum", payload);
    ASSERT_EQ(r.status, abi::kOk) << "size " << size;
    ASSERT_EQ(r.body.size(), 16u);
    EXPECT_EQ(get64(r.body, 0), size);
    EXPECT_EQ(get64(r.body, 8), checksum(payload)) << "size " << size;
  }
}

TEST_P(AllModes, ResponsesOfEverySizeComeBackIntact) {
  for (size_t size : {size_t{0}, size_t{1}, kRingBytes - 1, kRingBytes + 1, size_t{10} << 20}) {
    std::string payload = pattern(size, 3);
    auto r = env_->drive('c', "echo", payload);
    ASSERT_EQ(r.status, abi::kOk) << "size " << size;
    EXPECT_TRUE(r.body == payload) << "size " << size;
  }
}

TEST_P(AllModes, AConnectionServesCallAfterCall) {
  auto r = env_->drive('d', "echo", "twice");
  EXPECT_EQ(r.status, abi::kOk);
  EXPECT_EQ(r.body, "twice");
}

TEST_P(AllModes, ConcurrentCallersEachGetTheirOwnAnswer) {
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 15; ++i) {
        std::string payload = pattern(1000 + 997 * static_cast<size_t>(t * 15 + i),
                                      static_cast<uint32_t>(t * 100 + i));
        auto r = env_->drive('c', "echo", payload);
        if (r.status != abi::kOk || r.body != payload) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

// 100 workers wait in cwasi_recv; the producer sends them 100 payloads; each
// worker sends the digest of the one it got to the collector.
TEST_P(AllModes, FansOutTo100AndBackIn) {
  constexpr int kN = 100;
  constexpr size_t kSize = 64 * 1024;
  std::vector<std::thread> workers;
  std::atomic<int> worker_failures{0};
  for (int i = 0; i < kN; ++i) {
    workers.emplace_back([&] {
      std::string req = "work collector";
      auto r = outcomeOf(
          env_->caller().call("worker", {reinterpret_cast<const uint8_t*>(req.data()), req.size()}));
      if (r.status != abi::kOk) ++worker_failures;
    });
  }
  CallOutcome collected;
  std::thread collector([&] {
    std::string req = "collect " + std::to_string(kN);
    collected = outcomeOf(
        env_->caller().call("collector", {reinterpret_cast<const uint8_t*>(req.data()), req.size()}));
  });
  auto produced = env_->invoke("producer", "produce " + std::to_string(kN) + " " +
                                               std::to_string(kSize) + " worker");
  for (auto& w : workers) w.join();
  collector.join();
  ASSERT_EQ(produced.status, 0);
  EXPECT_EQ(get64(produced.body, 8), uint64_t{kN});  // all sent
  EXPECT_EQ(worker_failures.load(), 0);
  ASSERT_EQ(collected.status, abi::kOk);
  ASSERT_EQ(collected.body.size(), 24u);
  std::string cb(collected.body.begin(), collected.body.end());
  EXPECT_EQ(get64(cb, 8), uint64_t{kN});
  uint64_t expected = 0;
  std::string payload = pattern(kSize, 0);
  for (uint64_t i = 0; i < kN; ++i) {
    std::memcpy(payload.data(), &i, 8);  // what fan.c's producer sends
    expected += checksum(payload);
  }
  EXPECT_EQ(get64(cb, 16), expected);  // every payload arrived intact, once
}

TEST_P(AllModes, GuestPointersOutsideMemoryAreRefused) {
  EXPECT_EQ(env_->drive('x', "echo").status, abi::kErrInvalidArgument);   // request
  EXPECT_EQ(env_->drive('o', "echo", "x").status, abi::kErrInvalidArgument);  // out-pointer
  EXPECT_EQ(env_->drive('t', "-").status, abi::kErrInvalidArgument);      // target name
  // The host is unharmed.
  auto ok = env_->drive('c', "echo", "still here");
  EXPECT_EQ(ok.status, abi::kOk);
  EXPECT_EQ(ok.body, "still here");
}

// Direct modes know their peers; a Redis caller cannot tell whether anyone
// serves a name, so there an unknown target is a timeout.
TEST_P(AllModes, UnknownTargetsAreReported) {
  std::string req = "x";
  CallOptions quick;
  quick.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  auto r = outcomeOf(env_->caller().call(
      "no-such-function", {reinterpret_cast<const uint8_t*>(req.data()), req.size()}, "default",
      quick));
  EXPECT_EQ(r.status,
            GetParam() == Mode::kRedis ? abi::kErrTimeout : abi::kErrUnknownTarget);
}

TEST(Mailbox, KeepsOrderAndTimesOut) {
  auto env = CommEnv::create(Mode::kEmbedded);
  ASSERT_TRUE(env);
  EXPECT_EQ(env->drive('s', "caller", "first").status, abi::kOk);
  EXPECT_EQ(env->drive('s', "caller", "second").status, abi::kOk);
  auto a = env->drive('r', "1000");
  auto b = env->drive('r', "1000");
  EXPECT_EQ(a.status, abi::kOk);
  EXPECT_EQ(a.body, "first");
  EXPECT_EQ(b.body, "second");
  EXPECT_EQ(env->drive('r', "50").status, abi::kErrTimeout);
}

TEST_P(AllModes, StatsCountEveryCallByMode) {
  auto before = env_->caller().stats().calls[static_cast<int>(GetParam())].load();
  ASSERT_EQ(env_->drive('c', "echo", std::string(1000, 'z')).status, abi::kOk);
  auto& s = env_->caller().stats();
  EXPECT_EQ(s.calls[static_cast<int>(GetParam())].load(), before + 1);
  EXPECT_GE(s.bytes_out[static_cast<int>(GetParam())].load(), 1000u);
  EXPECT_GE(s.bytes_in[static_cast<int>(GetParam())].load(), 1000u);
  EXPECT_GE(s.decisions[static_cast<int>(GetParam())].load(), 1u);
}

}  // namespace
}  // namespace cwasi::comm

namespace cwasi::comm {
namespace {

using host::FunctionHost;
using host::FunctionSpec;
using host::HostConfig;


// A response larger than the caller may hold is "too large" for the caller,
// which keeps running; the host is not asked to kill it.
TEST(Limits, AResponseTooLargeForTheCallerIsReportedNotFatal) {
  HostConfig c;
  c.engine.max_instances = 8;
  c.policy = ModePolicy::kEmbedded;
  FunctionSpec caller{"caller", testing::functionPath("caller")};
  caller.limits.memory_bytes = 18u << 20;
  c.functions = {caller, {"echo", testing::functionPath("echo")}};
  auto host = FunctionHost::start(std::move(c));
  ASSERT_TRUE(host.ok()) << host.error().toString();
  std::string req = "c echo\n" + std::string(10u << 20, 'x');
  auto r = testing::outcomeOf(
      (*host)->invoke("caller", {reinterpret_cast<const uint8_t*>(req.data()), req.size()}));
  ASSERT_EQ(r.status, abi::kOk) << r.body;
  int32_t status;
  std::memcpy(&status, r.body.data(), 4);
  EXPECT_EQ(status, abi::kErrTooLarge);
}

}  // namespace
}  // namespace cwasi::comm

#include "comm/comm_env.h"

#include "cwasi/comm/guest_abi.h"

#include <gtest/gtest.h>

#include <cstring>

#include "checksum.h"  // functions/comm/checksum.h: what the guests compute

namespace cwasi::testing {
namespace {

std::vector<std::pair<std::string, std::string>> targetFunctions() {
  return {{"checksum", "checksum"}, {"echo", "echo"}, {"worker", "fan"},
          {"collector", "fan"},     {"spin", "loop"}};
}

std::vector<std::pair<std::string, std::string>> callerFunctions() {
  return {{"caller", "caller"}, {"producer", "fan"}, {"bench-caller", "bench-caller"}};
}

}  // namespace

// The test functions' own checksum and pattern (one source: the header the
// guests are compiled with).
uint64_t checksum(std::string_view s) {
  return cw_checksum(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

std::string pattern(size_t size, uint32_t seed) {
  std::string s(size, '\0');
  cw_fill(reinterpret_cast<uint8_t*>(s.data()), size, seed);
  return s;
}

const std::string& redisAddress() {
  // A function-local static: destroyed (and the server killed) at exit, so it
  // never outlives the test process holding its output pipes.
  static RedisProcess redis = [] {
    auto r = RedisProcess::start();
    if (!r.ok()) {
      ADD_FAILURE() << r.error().toString();
      std::abort();
    }
    return std::move(*r);
  }();
  return redis.address();
}

std::unique_ptr<CommEnv> CommEnv::create(comm::Mode mode) {
  auto env = std::unique_ptr<CommEnv>(new CommEnv(mode));
  testbed::HostPairOptions o;
  o.mode = mode;
  o.cwasi_binary = binPath("cwasi");
  for (const auto& [name, fn] : callerFunctions()) o.caller_functions.emplace_back(name, functionPath(fn));
  for (const auto& [name, fn] : targetFunctions()) o.target_functions.emplace_back(name, functionPath(fn));
  o.work_dir = env->dir_.path();
  o.ring_bytes = kRingBytes;
  o.token = kToken;
  if (mode == comm::Mode::kRedis) o.redis = redisAddress();
  auto pair = testbed::HostPair::create(o);
  if (!pair.ok()) {
    ADD_FAILURE() << pair.error().toString();
    return nullptr;
  }
  env->pair_ = std::move(*pair);
  return env;
}

CommEnv::~CommEnv() {
  if (peer() && peer()->running()) {
    EXPECT_EQ(pair_->stopTarget(), 0) << "target host did not stop cleanly";
  }
}

CallOutcome outcomeOf(const Result<std::vector<uint8_t>>& r) {
  if (!r.ok()) return {comm::abiStatusFor(r.error()), r.error().message()};
  return {0, std::string(r->begin(), r->end())};
}

CallOutcome outcomeOf(const Result<host::Response>& r) {
  if (!r.ok()) return {comm::abiStatusFor(r.error()), r.error().message()};
  return {0, std::string(r->body.begin(), r->body.end())};
}

CallOutcome CommEnv::invoke(const std::string& name, std::string_view request) {
  return outcomeOf(
      caller().invoke(name, {reinterpret_cast<const uint8_t*>(request.data()), request.size()}));
}

CallOutcome CommEnv::drive(char op, const std::string& arg, std::string_view payload) {
  std::string req = std::string(1, op) + " " + arg + "\n";
  req.append(payload);
  CallOutcome inv = invoke("caller", req);
  if (inv.status != 0 || inv.body.size() < 4) {
    ADD_FAILURE() << "caller failed: status " << inv.status << " " << inv.body;
    return {};
  }
  CallOutcome out;
  std::memcpy(&out.status, inv.body.data(), 4);
  out.body = inv.body.substr(4);
  return out;
}

}  // namespace cwasi::testing

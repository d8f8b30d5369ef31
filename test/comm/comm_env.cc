#include "comm/comm_env.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

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

uint64_t checksum(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  uint64_t n = s.size(), a = 1, b = 0, i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    a += w;
    b += a;
  }
  for (; i < n; ++i) {
    a += p[i];
    b += a;
  }
  return (b << 1) ^ a ^ n;
}

std::string pattern(size_t size, uint32_t seed) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>(i * 131 + seed);
  return s;
}

const std::string& redisAddress() {
  static RedisProcess* redis = [] {
    auto r = RedisProcess::start();
    if (!r.ok()) {
      ADD_FAILURE() << r.error().toString();
      std::abort();
    }
    return new RedisProcess(std::move(*r));  // lives (and is killed) with the test process
  }();
  return redis->address();
}

std::unique_ptr<CommEnv> CommEnv::create(comm::Mode mode) {
  auto env = std::unique_ptr<CommEnv>(new CommEnv(mode));
  comm::HostConfig a;
  a.engine.max_instances = 256;
  a.ring_bytes = kRingBytes;
  a.default_timeout = std::chrono::seconds(60);
  for (const auto& [name, fn] : callerFunctions()) a.functions.push_back({name, functionPath(fn), "default", {}});

  if (mode == comm::Mode::kEmbedded) {
    for (const auto& [name, fn] : targetFunctions()) a.functions.push_back({name, functionPath(fn), "default", {}});
    a.policy = comm::ModePolicy::kEmbedded;
  } else {
    std::vector<std::string> argv = {binPath("cwasi").string(), "serve", "--ring-kb",
                                     std::to_string(kRingBytes / 1024)};
    for (const auto& [name, fn] : targetFunctions()) {
      argv.push_back("--function");
      argv.push_back(name + "=" + functionPath(fn).string());
    }
    if (mode == comm::Mode::kLocal) {
      argv.insert(argv.end(), {"--runtime-dir", (env->dir_ / "rt").string()});
      a.runtime_dir = env->dir_ / "rt";
      a.policy = comm::ModePolicy::kLocal;
    } else if (mode == comm::Mode::kRemote) {
      argv.insert(argv.end(), {"--listen", "127.0.0.1:0", "--token", kToken});
      a.cluster_file = env->dir_ / "cluster.json";
      a.token = kToken;
      a.policy = comm::ModePolicy::kRemote;
    } else {
      argv.insert(argv.end(), {"--redis", redisAddress()});
      a.redis = redisAddress();
      a.policy = comm::ModePolicy::kRedis;
    }
    auto peer = ChildProcess::start(argv, {{"CWASI_CACHE_DIR", (env->dir_ / "cache").string()}});
    if (!peer.ok()) {
      ADD_FAILURE() << peer.error().toString();
      return nullptr;
    }
    env->peer_.emplace(std::move(*peer));
    auto line = env->peer_->readLine(std::chrono::seconds(60));
    if (!line || line->rfind("cwasi serve: ready", 0) != 0) {
      ADD_FAILURE() << "target host did not start: " << line.value_or("<nothing>");
      return nullptr;
    }
    if (mode == comm::Mode::kRemote) {
      auto at = line->find("tcp=");
      std::string addr = line->substr(at + 4, line->find(' ', at) - at - 4);
      std::ofstream cluster(a.cluster_file);
      cluster << "{\"functions\": {";
      bool first = true;
      for (const auto& [name, fn] : targetFunctions()) {
        cluster << (first ? "" : ", ") << "\"" << name << "\": \"" << addr << "\"";
        first = false;
      }
      cluster << "}}";
    }
  }
  auto host = comm::FunctionHost::start(std::move(a));
  if (!host.ok()) {
    ADD_FAILURE() << host.error().toString();
    return nullptr;
  }
  env->caller_ = std::move(*host);
  return env;
}

CommEnv::~CommEnv() {
  caller_.reset();
  if (peer_ && peer_->running()) {
    int code = peer_->stop();
    EXPECT_EQ(code, 0) << "target host did not stop cleanly";
  }
}

CallOutcome CommEnv::invoke(const std::string& name, std::string_view request) {
  auto r = caller_->invoke(name, {reinterpret_cast<const uint8_t*>(request.data()), request.size()});
  if (!r.ok()) {
    ADD_FAILURE() << r.error().toString();
    return {};
  }
  return {r->status, std::string(r->body.begin(), r->body.end())};
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

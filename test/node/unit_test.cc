// The node layer's logic without a daemon: deployment specs, workflows,
// the autoscaler driven by a test clock.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "cwasi/node/deployment.h"
#include "cwasi/node/http.h"
#include "cwasi/node/invoker.h"
#include "cwasi/node/scaler.h"
#include "cwasi/node/workflow.h"

namespace cwasi::node {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;
using namespace std::chrono_literals;

TEST(Deployment, ReadsOpenFaasFieldsAndLabels) {
  auto d = parseDeployment(json::parse(R"({
    "service": "resize", "image": "/m/resize.wasm",
    "envVars": {"MODE": "fast"},
    "labels": {"com.openfaas.scale.min": "2", "com.openfaas.scale.max": "8",
               "com.openfaas.scale.target": "5"},
    "limits": {"memory": "64Mi"}, "timeout": "1.5s"})"));
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(d->name, "resize");
  EXPECT_EQ(d->env.at("MODE"), "fast");
  EXPECT_EQ(d->min_scale, 2);
  EXPECT_EQ(d->max_scale, 8);
  EXPECT_EQ(d->target_concurrency, 5);
  EXPECT_EQ(d->memory_bytes, 64u << 20);
  EXPECT_EQ(d->timeout, 1500ms);
  EXPECT_TRUE(d->is_public);
  EXPECT_EQ(d->inflightCap(), 40);
  // The stored form reads back the same.
  auto again = parseDeployment(toJson(*d));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(toJson(*again), toJson(*d));
}

TEST(Deployment, ExplicitFieldsWinAndZeroScaleLabelWorks) {
  auto d = parseDeployment(json::parse(R"({"service": "f", "image": "/f.wasm",
    "labels": {"com.openfaas.scale.zero": "true", "com.openfaas.scale.max": "3"},
    "maxScale": 4, "scaleToZeroAfter": "2m", "public": false})"));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->min_scale, 0);
  EXPECT_EQ(d->max_scale, 4);
  EXPECT_EQ(d->scale_to_zero_after, 120s);
  EXPECT_FALSE(d->is_public);
}

TEST(Deployment, BadSpecsNameTheField) {
  auto err = [](const char* text) {
    auto d = parseDeployment(json::parse(text));
    return d.ok() ? std::string("accepted") : d.error().message();
  };
  EXPECT_THAT(err(R"({"image": "/a.wasm"})"), HasSubstr("service"));
  EXPECT_THAT(err(R"({"service": "a/b", "image": "/a.wasm"})"), HasSubstr("invalid function name"));
  EXPECT_THAT(err(R"({"service": "a"})"), HasSubstr("image"));
  EXPECT_THAT(err(R"({"service": "a", "image": "/a", "minScale": 5, "maxScale": 2})"),
              HasSubstr("exceeds maxScale"));
  EXPECT_THAT(err(R"({"service": "a", "image": "/a", "limits": {"memory": "lots"}})"),
              HasSubstr("limits.memory"));
  EXPECT_THAT(err(R"({"service": "a", "image": "/a", "timeout": "soon"})"), HasSubstr("timeout"));
  EXPECT_THAT(err(R"({"service": "a", "image": "/a", "envVars": ["x"]})"), HasSubstr("envVars"));
  EXPECT_THAT(err(R"({"service": "a", "image": "/a", "public": "yes"})"), HasSubstr("public"));
  EXPECT_THAT(err(R"([1, 2])"), HasSubstr("object"));
}

TEST(Workflow, SequenceBecomesAChain) {
  auto w = parseWorkflow("name: pipe\nsequence: [a, b, c]\n");
  ASSERT_TRUE(w.ok()) << w.error().message();
  ASSERT_EQ(w->steps.size(), 3u);
  EXPECT_TRUE(w->steps[0].after.empty());
  EXPECT_EQ(w->steps[2].after, std::vector<std::string>{w->steps[1].id});
}

TEST(Workflow, JsonDagParses) {
  auto w = parseWorkflow(R"({"name": "d", "steps": [
      {"id": "s", "function": "split"},
      {"id": "x", "function": "f", "after": ["s"]},
      {"id": "y", "function": "g", "after": "s"},
      {"id": "j", "function": "join", "after": ["x", "y"]}]})");
  ASSERT_TRUE(w.ok()) << w.error().message();
  EXPECT_EQ(w->steps[3].after, (std::vector<std::string>{"x", "y"}));
}

TEST(Workflow, InvalidGraphsAreRefused) {
  auto err = [](const char* text) {
    auto w = parseWorkflow(text);
    return w.ok() ? std::string("accepted") : w.error().message();
  };
  EXPECT_THAT(err("name: c\nsteps:\n- {id: a, function: f, after: [b]}\n- {id: b, function: f, after: [a]}"),
              HasSubstr("cycle"));
  EXPECT_THAT(err("name: u\nsteps:\n- {id: a, function: f, after: [zz]}"), HasSubstr("unknown step zz"));
  EXPECT_THAT(err("name: d\nsteps:\n- {id: a, function: f}\n- {id: a, function: g}"),
              HasSubstr("used twice"));
  EXPECT_THAT(err("name: e\nsteps: []"), HasSubstr("no steps"));
  EXPECT_THAT(err("steps: [{function: f}]"), HasSubstr("name"));
  EXPECT_THAT(err("name: x\nsequence: [a]\nsteps: [{function: f}]"), HasSubstr("not both"));
  EXPECT_THAT(err("name: [unclosed"), HasSubstr("not valid JSON or YAML"));
  EXPECT_THAT(err("name: bad\nsequence: [\"no/slash\"]"), HasSubstr("invalid function name"));
}

TEST(Workflow, FanOutRunsConcurrentlyAndFanInConcatenatesInOrder) {
  auto w = parseWorkflow(R"({"name": "d", "steps": [
      {"id": "s", "function": "id"},
      {"id": "x", "function": "slowupper", "after": ["s"]},
      {"id": "y", "function": "rev", "after": ["s"]},
      {"id": "j", "function": "id", "after": ["x", "y"]}]})");
  ASSERT_TRUE(w.ok());
  std::atomic<int> running{0}, peak{0};
  StepCall call = [&](const std::string& f, std::span<const uint8_t> in) {
    int now = ++running;
    peak = std::max(peak.load(), now);
    std::vector<uint8_t> out(in.begin(), in.end());
    if (f == "slowupper") {
      std::this_thread::sleep_for(50ms);  // y must start meanwhile
      for (auto& c : out) c = static_cast<uint8_t>(std::toupper(c));
    } else if (f == "rev") {
      std::this_thread::sleep_for(50ms);
      std::reverse(out.begin(), out.end());
    }
    --running;
    return Result<std::vector<uint8_t>>(std::move(out));
  };
  const std::string input = "abc";
  auto r = runWorkflow(*w, {reinterpret_cast<const uint8_t*>(input.data()), input.size()}, call);
  ASSERT_TRUE(r.output.ok());
  EXPECT_EQ(std::string(r.output->begin(), r.output->end()), "ABCcba");
  EXPECT_EQ(peak.load(), 2);
}

TEST(Workflow, AFailingStepStopsTheWorkflow) {
  auto w = parseWorkflow("name: f\nsequence: [ok, broken, never]");
  ASSERT_TRUE(w.ok());
  std::atomic<int> calls{0};
  StepCall call = [&](const std::string& f, std::span<const uint8_t>) {
    ++calls;
    if (f == "broken") return Result<std::vector<uint8_t>>(aborted("boom"));
    return Result<std::vector<uint8_t>>(std::vector<uint8_t>());
  };
  auto r = runWorkflow(*w, {}, call);
  ASSERT_FALSE(r.output.ok());
  EXPECT_EQ(httpStatusFor(r.output.error()), 500);
  EXPECT_EQ(r.failed_step, w->steps[1].id);
  EXPECT_EQ(r.output.error().message(), "boom");
  EXPECT_EQ(calls.load(), 2);
}

ScalePolicy policy(int min, int max, int target) {
  ScalePolicy p;
  p.min_replicas = min;
  p.max_replicas = max;
  p.target = target;
  p.max_inflight = max * target;
  p.scale_to_zero_after = 1000ms;
  p.stable_window = 500ms;
  return p;
}

TEST(Scaler, ScalesUpOnABurstAndDownAfterTheWindow) {
  const auto t0 = Scaler::Clock::now();
  Scaler s(policy(1, 5, 2), t0);
  EXPECT_EQ(s.replicas(), 1);
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(s.admit(t0, t0 + 1s).ok());
  EXPECT_EQ(s.replicas(), 4);  // ceil(7 / 2)
  for (int i = 0; i < 7; ++i) s.release(t0 + 10ms);
  // Within the stable window nothing comes down.
  EXPECT_FALSE(s.tick(t0 + 100ms));
  EXPECT_EQ(s.replicas(), 4);
  // Past it, idle samples bring it to min.
  for (int ms = 200; ms <= 1200; ms += 100) s.tick(t0 + std::chrono::milliseconds(ms));
  EXPECT_EQ(s.replicas(), 1);
}

TEST(Scaler, NeverExceedsMax) {
  const auto t0 = Scaler::Clock::now();
  Scaler s(policy(1, 3, 1), t0);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(s.admit(t0, t0 + 1s).ok());
  EXPECT_EQ(s.replicas(), 3);
}

TEST(Scaler, ScalesToZeroWhenIdleAndTheNextRequestIsCold) {
  const auto t0 = Scaler::Clock::now();
  Scaler s(policy(0, 3, 10), t0);
  EXPECT_EQ(s.replicas(), 1);  // deployed warm
  ASSERT_TRUE(s.admit(t0, t0 + 1s).ok());
  s.release(t0);
  EXPECT_FALSE(s.tick(t0 + 500ms));
  EXPECT_TRUE(s.tick(t0 + 1001ms));
  EXPECT_EQ(s.replicas(), 0);
  auto a = s.admit(t0 + 2s, t0 + 3s);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->cold);
  EXPECT_EQ(s.replicas(), 1);
  // Busy functions are not scaled to zero.
  EXPECT_FALSE(s.tick(t0 + 10s));
  EXPECT_EQ(s.replicas(), 1);
}

TEST(Scaler, MinAboveZeroNeverScalesToZero) {
  const auto t0 = Scaler::Clock::now();
  Scaler s(policy(1, 3, 10), t0);
  EXPECT_FALSE(s.tick(t0 + 1h));
  EXPECT_EQ(s.replicas(), 1);
}

TEST(Scaler, RequestsPastTheCapWaitThenTimeOutOrAreTurnedAway) {
  const auto t0 = Scaler::Clock::now();
  ScalePolicy p = policy(1, 1, 1);
  Scaler s(p, t0);  // cap 1, one may wait
  ASSERT_TRUE(s.admit(t0, t0 + 1s).ok());
  // A second waits and gets the slot when it frees.
  std::thread releaser([&] {
    std::this_thread::sleep_for(50ms);
    s.release(Scaler::Clock::now());
  });
  auto waited = s.admit(Scaler::Clock::now(), Scaler::Clock::now() + 5s);
  releaser.join();
  ASSERT_TRUE(waited.ok());
  // Now full again: one waiter times out...
  std::thread waiter([&] {
    auto r = s.admit(Scaler::Clock::now(), Scaler::Clock::now() + 300ms);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), Code::kDeadlineExceeded);
  });
  while (s.waiting() == 0) std::this_thread::sleep_for(1ms);
  // ...and while it waits, a third is turned away at once.
  auto turned = s.admit(Scaler::Clock::now(), Scaler::Clock::now() + 5s);
  ASSERT_FALSE(turned.ok());
  EXPECT_EQ(turned.error().code(), Code::kResourceExhausted);
  waiter.join();
}

TEST(Sizes, ParseUnits) {
  EXPECT_EQ(*parseByteSize("64Mi"), 64u << 20);
  EXPECT_EQ(*parseByteSize("1G"), 1000000000u);
  EXPECT_EQ(*parseByteSize("4096"), 4096u);
  EXPECT_FALSE(parseByteSize("12 parsecs").ok());
  EXPECT_EQ(*parseDuration("250ms"), 250ms);
  EXPECT_EQ(*parseDuration("2m"), 120s);
  EXPECT_EQ(*parseDuration("100"), 100ms);
  EXPECT_FALSE(parseDuration("-1s").ok());
}

TEST(Http, UrlsAndQueriesParse) {
  auto u = parseHttpUrl("http://127.0.0.1:8080/function/x?a=1");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->target, "/function/x?a=1");
  EXPECT_FALSE(parseHttpUrl("https://example.com/").ok());
  EXPECT_FALSE(parseHttpUrl("http://host:99999/").ok());
  HttpRequest r;
  r.query = "name=a%20b&tail=5&plus=c+d";
  EXPECT_EQ(r.queryParam("name"), "a b");
  EXPECT_EQ(r.queryParam("tail"), "5");
  EXPECT_EQ(r.queryParam("plus"), "c d");
  EXPECT_EQ(r.queryParam("none"), "");
}

}  // namespace
}  // namespace cwasi::node

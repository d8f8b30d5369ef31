// Deployment specs: OpenFaaS fields and labels, cwasi's own, sizes and errors.
#include "cwasi/node/deployment.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

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
  EXPECT_THAT(err(R"({"service": "a", "image": "/a", "constraints": ["x == y"]})"),
              HasSubstr("constraints"));
  EXPECT_THAT(err(R"({"service": "a", "image": "/a", "unknown": 1})"), HasSubstr("unknown"));
  EXPECT_THAT(err(R"({"service": "a", "image": "/a", "namespace": "b"})"), HasSubstr("namespace"));
  EXPECT_THAT(err(R"({"service": "a", "image": "/a", "secrets": ["s", "s"]})"), HasSubstr("twice"));
  EXPECT_THAT(err(R"({"service": "a", "image": "/a", "limits": {"cpu": "1"}, "requests": {"cpu": "2"}})"),
              HasSubstr("requests.cpu"));
}

TEST(Deployment, OpenFaasResourcesAreKeptAsSubmittedAndCpuCapsConcurrency) {
  auto d = parseDeployment(json::parse(R"({"service": "f", "image": "/f.wasm",
    "namespace": "openfaas-fn", "envProcess": "f", "secrets": ["a", "b"],
    "limits": {"memory": "64Mi", "cpu": "1500m"}, "requests": {"memory": "1Mi", "cpu": "0.1"},
    "readOnlyRootFilesystem": true, "createdAt": "2026-01-02T03:04:05.000Z"})"));
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(d->limits.memory, "64Mi");
  EXPECT_EQ(d->memory_bytes, 64u << 20);
  EXPECT_EQ(d->cpu_millis, 1500);
  EXPECT_EQ(d->requests.cpu, "0.1");
  EXPECT_EQ(d->secrets, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(d->inflightCap(), 2);  // 1.5 cores: two invocations at once
  auto again = parseDeployment(toJson(*d));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(toJson(*again), toJson(*d));
  EXPECT_EQ(*parseCpu("250m"), 250);
  EXPECT_EQ(*parseCpu("2"), 2000);
  for (const char* bad : {"", "m", "1.5x", "-1", "0", "0.0001", "1e3"}) {
    EXPECT_FALSE(parseCpu(bad).ok()) << bad;
  }
}

TEST(Deployment, ScalingByRequestRateIsALabel) {
  auto d = parseDeployment(json::parse(R"({"service": "f", "image": "/f.wasm",
    "labels": {"com.openfaas.scale.type": "rps", "com.openfaas.scale.target": "50"}})"));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->scale_metric, ScaleMetric::kRps);
  EXPECT_EQ(d->target_concurrency, 50);
  auto cpu = parseDeployment(json::parse(R"({"service": "f", "image": "/f.wasm",
    "labels": {"com.openfaas.scale.type": "cpu"}})"));
  ASSERT_FALSE(cpu.ok());
  EXPECT_THAT(cpu.error().message(), HasSubstr("rps"));
}

TEST(Deployment, NamesAreDns1123Labels) {
  for (const char* bad : {"..", ".", "Upper", "a_b", "-a", "a-", "a.b", ""}) {
    auto d = parseDeployment(json{{"service", bad}, {"image", "/x.wasm"}});
    EXPECT_FALSE(d.ok()) << bad;
    if (!d.ok() && *bad) EXPECT_THAT(d.error().message(), HasSubstr("DNS-1123")) << bad;
  }
  EXPECT_FALSE(parseDeployment(json{{"service", std::string(64, 'a')}, {"image", "/x.wasm"}}).ok());
  const std::string longest(63, 'a');
  for (const std::string& good : {std::string("a"), std::string("upper"), std::string("upper-zero"),
                                  std::string("fn2"), longest}) {
    EXPECT_TRUE(parseDeployment(json{{"service", good}, {"image", "/x.wasm"}}).ok()) << good;
  }
}

TEST(Deployment, MemoryLimitsThatReadAsNoLimitAreRefused) {
  for (const char* bad : {"nanMi", "infGi", "0.5", "0", "-1Mi", "1e3Mi", "0x10Mi", "1Ki"}) {
    auto d = parseDeployment(json{{"service", "x"}, {"image", "/x.wasm"}, {"limits", {{"memory", bad}}}});
    EXPECT_FALSE(d.ok()) << bad;
  }
  auto ok = parseDeployment(json{{"service", "x"}, {"image", "/x.wasm"}, {"limits", {{"memory", "0.5Mi"}}}});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->memory_bytes, 512u * 1024);
  EXPECT_FALSE(parseDuration("nan").ok());
  EXPECT_FALSE(parseDuration("1e9s").ok());
  EXPECT_EQ(*parseDuration("1.5s"), std::chrono::milliseconds(1500));
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

}  // namespace
}  // namespace cwasi::node

// What the shim reads from an OCI bundle's config.json (oci::RuntimeSpec),
// the input of every Create.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cwasi/oci/bundle.h"

namespace cwasi::shim {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

TEST(RuntimeSpec, ReadsWhatATaskNeeds) {
  auto s = oci::parseRuntimeSpec(R"({
    "process": {"args": ["/module.wasm", "x"], "env": ["A=1", "BAD", "B=two=2"], "cwd": "/w"},
    "root": {"path": "rootfs", "readonly": true},
    "linux": {"resources": {"memory": {"limit": 16777216}}},
    "annotations": {"cwasi.io/function": "f", "io.kubernetes.cri.sandbox-id": "pod"}})",
                                 "/b");
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->args, (std::vector<std::string>{"/module.wasm", "x"}));
  EXPECT_EQ(s->env, (std::vector<std::pair<std::string, std::string>>{{"A", "1"}, {"B", "two=2"}}));
  EXPECT_EQ(s->root, fs::path("/b/rootfs"));
  EXPECT_TRUE(s->root_readonly);
  EXPECT_EQ(s->memory_limit, 16u << 20);
  EXPECT_EQ(s->annotations.at(oci::kAnnotationFunction), "f");
}

TEST(RuntimeSpec, BadSpecsSayWhatIsWrong) {
  EXPECT_THAT(oci::parseRuntimeSpec("nope", "/b").error().message(), HasSubstr("not a JSON object"));
  EXPECT_THAT(oci::parseRuntimeSpec(R"({"process": {"args": []}})", "/b").error().message(),
              HasSubstr("process.args is empty"));
  EXPECT_THAT(oci::parseRuntimeSpec(R"({"process": {"args": [1]}})", "/b").error().message(),
              HasSubstr("must be strings"));
  EXPECT_FALSE(oci::readRuntimeSpec("/nonexistent-bundle").ok());
}

// Found by the runtime_spec fuzz target: root.path (or a namespace's type
// or path) of another type threw out of the parser.
TEST(RuntimeSpec, FieldsOfAnotherTypeReadAsMissing) {
  auto s = oci::parseRuntimeSpec(R"({"process": {"args": ["/m.wasm"]},
      "root": {"path": {"x": 1}, "readonly": "yes"},
      "linux": {"namespaces": [{"type": 3}, {"type": "network", "path": 4}, 5]}})",
                                 "/b");
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->root, fs::path("/b/rootfs"));
  EXPECT_FALSE(s->root_readonly);
  EXPECT_TRUE(s->network_namespace.empty());
}

TEST(RuntimeSpec, ReadsWhatCriSaysOfAPodSandbox) {
  auto s = oci::parseRuntimeSpec(R"({"process": {"args": ["/pause"]},
      "annotations": {"io.kubernetes.cri.container-type": "sandbox"},
      "linux": {"cgroupsPath": "/kubepods/besteffort/pod1/abc",
                "namespaces": [{"type": "pid"}, {"type": "network", "path": "/var/run/netns/cni-1"}]}})",
                                 "/b");
  ASSERT_TRUE(s.ok()) << s.error().toString();
  EXPECT_TRUE(s->isPodSandbox());
  EXPECT_EQ(s->network_namespace, "/var/run/netns/cni-1");
  EXPECT_EQ(s->cgroups_path, "/kubepods/besteffort/pod1/abc");
  auto plain = oci::parseRuntimeSpec(R"({"process": {"args": ["/m.wasm"]}})", "/b");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->isPodSandbox());
  EXPECT_TRUE(plain->network_namespace.empty());
  EXPECT_THAT(oci::parseRuntimeSpec(R"({"process": {"args": ["/p"]},
      "linux": {"namespaces": [{"type": "network", "path": "relative/ns"}]}})", "/b")
                  .error().message(),
              HasSubstr("must be absolute"));
}

}  // namespace
}  // namespace cwasi::shim

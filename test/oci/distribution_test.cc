// The OCI distribution client: `cwasi image push` and `pull` against Debian's
// docker-registry started by the test, and the client's checks against a
// registry that lies (a stub transport: a seam inside our code).
#include "cwasi/oci/distribution.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "cwasi/common/files.h"
#include "cwasi/common/sha256.h"
#include "cwasi/common/subprocess.h"
#include "cwasi/oci/image.h"
#include "support/docker_registry.h"
#include "support/wasi_test.h"

namespace cwasi::oci {
namespace {

using ::testing::HasSubstr;
using cwasi::testing::TempDir;

using Registry = cwasi::testing::DockerRegistry;

SubprocessResult cwasi(std::vector<std::string> args) {
  SubprocessOptions o;
  o.argv = {cwasi::testing::binPath("cwasi").string()};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  auto r = runSubprocess(o);
  return r.ok() ? *r : SubprocessResult{};
}

TEST(Distribution, PushThenPullGivesBackTheSameModule) {
  Registry registry;
  ASSERT_TRUE(registry.up()) << "docker-registry did not start";
  TempDir dir;
  const auto module = cwasi::testing::functionPath("upper");
  ASSERT_EQ(cwasi({"image", "build", module.string(), "-t", "fn/upper:v1", "-o",
                   (dir / "up.tar").string()}).exit_code, 0);
  const std::string ref = registry.address() + "/fn/upper:v1";
  auto pushed = cwasi({"image", "push", (dir / "up.tar").string(), ref});
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
  EXPECT_THAT(pushed.out, HasSubstr("sha256:"));
  // A second push finds every blob there and only puts the manifest again.
  EXPECT_EQ(cwasi({"image", "push", (dir / "up.tar").string(), ref}).exit_code, 0);
  auto pulled = cwasi({"image", "pull", ref, "-o", (dir / "pulled.tar").string()});
  ASSERT_EQ(pulled.exit_code, 0) << pulled.err;
  auto image = readImageArchive(dir / "pulled.tar");
  ASSERT_TRUE(image.ok()) << image.error().toString();
  EXPECT_EQ(image->module, *readFile(module));
  EXPECT_EQ(image->ref, ref);
  // By digest too.
  const std::string digest = pushed.out.substr(pushed.out.find("sha256:"), 71);
  EXPECT_EQ(cwasi({"image", "pull", registry.address() + "/fn/upper@" + digest, "-o",
                   (dir / "by-digest.tar").string()}).exit_code, 0);
}

TEST(Distribution, TheCliSaysWhatIsWrong) {
  Registry registry;
  ASSERT_TRUE(registry.up());
  TempDir dir;
  auto missing = cwasi({"image", "pull", registry.address() + "/fn/none:v1", "-o",
                        (dir / "x.tar").string()});
  EXPECT_EQ(missing.exit_code, 127);
  EXPECT_THAT(missing.err, HasSubstr("MANIFEST_UNKNOWN"));
  auto remote = cwasi({"image", "pull", "registry.example.com/a/b:1", "-o", (dir / "x.tar").string()});
  EXPECT_EQ(remote.exit_code, 125);
  EXPECT_THAT(remote.err, HasSubstr("--plain-http"));
  EXPECT_EQ(cwasi({"image", "push", "/no/such.tar", registry.address() + "/a:1"}).exit_code, 127);
  EXPECT_EQ(cwasi({"image", "frobnicate"}).exit_code, 125);
}

TEST(Distribution, ReferencesParse) {
  auto r = parseImageReference("127.0.0.1:5000/fn/upper:v1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->registry, "127.0.0.1:5000");
  EXPECT_EQ(r->repository, "fn/upper");
  EXPECT_EQ(r->reference, "v1");
  EXPECT_EQ(parseImageReference("localhost:5000/app")->reference, "latest");
  const std::string d = "sha256:" + std::string(64, 'a');
  EXPECT_EQ(parseImageReference("r.io/app@" + d)->toString(), "r.io/app@" + d);
  EXPECT_FALSE(parseImageReference("upper:v1").ok());          // no registry
  EXPECT_FALSE(parseImageReference("r.io/Upper:v1").ok());     // uppercase
  EXPECT_FALSE(parseImageReference("r.io/app@sha256:zz").ok());
  EXPECT_FALSE(parseImageReference("r.io/app:.hidden").ok());  // a tag starts with a word character
  EXPECT_FALSE(parseImageReference("r.io/app:v1/x").ok());
}

TEST(Distribution, NamesWithoutARegistryAreDockerHubsAsDockerSays) {
  EXPECT_EQ(normalizeImageReference("fn/upper:v1")->toString(), "docker.io/fn/upper:v1");
  EXPECT_EQ(normalizeImageReference("upper")->toString(), "docker.io/library/upper:latest");
  EXPECT_EQ(normalizeImageReference("localhost/app:1")->registry, "localhost");
  EXPECT_EQ(normalizeImageReference("127.0.0.1:5000/fn/upper")->registry, "127.0.0.1:5000");
  EXPECT_EQ(normalizeImageReference("r.io/team/app")->registry, "r.io");
  EXPECT_FALSE(normalizeImageReference("fn/Upper:v1").ok());
  EXPECT_FALSE(normalizeImageReference("").ok());
  EXPECT_TRUE(validTag("v1.0_rc-2"));
  EXPECT_FALSE(validTag("-v1"));
  EXPECT_FALSE(validTag(std::string(129, 'a')));
}

// A registry that answers from a table, and can lie.
class StubRegistry : public RegistryTransport {
 public:
  Result<RegistryResponse> send(const RegistryRequest& req) override {
    auto it = answers.find(req.method + " " + req.url);
    if (it == answers.end()) return RegistryResponse{404, {}, {}};
    return it->second;
  }
  std::map<std::string, RegistryResponse> answers;
};

std::vector<uint8_t> bytesOf(const std::string& s) { return {s.begin(), s.end()}; }

TEST(Distribution, WhatAPulledImageClaimsIsChecked) {
  const std::string config = R"({"architecture":"wasm","os":"wasip1"})";
  const std::string layer = "not really a layer";
  const std::string manifest = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
                               R"("config":{"digest":"sha256:)" + sha256Hex(bytesOf(config)) + R"("},)"
                               R"("layers":[{"digest":"sha256:)" + sha256Hex(bytesOf(layer)) + R"("}]})";
  const std::string base = "http://r.io/v2/app";
  StubRegistry http;
  http.answers["GET " + base + "/manifests/v1"] = {200, {}, bytesOf(manifest)};
  http.answers["GET " + base + "/blobs/sha256:" + sha256Hex(bytesOf(config))] = {200, {}, bytesOf(config)};
  http.answers["GET " + base + "/blobs/sha256:" + sha256Hex(bytesOf(layer))] = {200, {}, bytesOf("tampered")};
  auto ref = *parseImageReference("r.io/app:v1");
  auto tampered = pullImage(ref, http);
  ASSERT_FALSE(tampered.ok());
  EXPECT_EQ(tampered.error().code(), Code::kDataLoss);
  EXPECT_THAT(tampered.error().message(), HasSubstr("does not match its digest"));
  // A manifest that is not what the registry says it is.
  http.answers["GET " + base + "/manifests/v1"] = {
      200, {{"Docker-Content-Digest", "sha256:" + std::string(64, '0')}}, bytesOf(manifest)};
  EXPECT_EQ(pullImage(ref, http).error().code(), Code::kDataLoss);
}

// Found by the oci_pull fuzz target: a field of another type ("mediaType": 5)
// threw out of pullImage() instead of failing the pull.
TEST(Distribution, ManifestsOfAnyShapeFailThePullCleanly) {
  const std::string base = "http://r.io/v2/app";
  auto ref = *parseImageReference("r.io/app:v1");
  for (const char* manifest :
       {R"({"mediaType": 5, "config": "x", "layers": [7]})",
        R"({"manifests": [3, {"platform": 1, "digest": 2}]})",
        R"({"mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [{"platform": {"os": 1}}]})",
        R"({"config": {"digest": ["sha256:00"]}, "layers": {"a": {"digest": 1}}})"}) {
    StubRegistry http;
    http.answers["GET " + base + "/manifests/v1"] = {200, {{"Content-Type", "x"}}, bytesOf(manifest)};
    auto pulled = pullImage(ref, http);
    EXPECT_FALSE(pulled.ok()) << manifest;
  }
}

}  // namespace
}  // namespace cwasi::oci

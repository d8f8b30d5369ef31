// Images from a registry: the operator's registry config, the transport's
// authentication against a token service the test plays, and cwasid
// deploying by reference through its HTTP API from Debian's docker-registry
// started by the test (by tag, by digest, through a mirror, behind htpasswd),
// pulling a digest once, restarting without the registry, and saying what is
// wrong when a pull cannot be done.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "cwasi/common/base64.h"
#include "cwasi/common/sha256.h"
#include "cwasi/http/server.h"
#include "cwasi/node/image_puller.h"
#include "cwasi/node/registry_transport.h"
#include "cwasi/oci/image.h"
#include "node/daemon.h"
#include "support/docker_registry.h"

namespace cwasi::node {
namespace {

using ::testing::HasSubstr;
using namespace cwasi::node::testing;
using cwasi::testing::DockerRegistry;
using cwasi::testing::TempDir;
using cwasi::testing::writeText;

std::string base64Text(std::string_view s) {
  return base64Encode({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}

// ---- the registry config ----------------------------------------------------

TEST(RegistryConfig, ReadsDockersAuthsAndContainerdStyleMirrors) {
  auto c = parseRegistryConfig(R"({
    "auths": {"127.0.0.1:5000": {"auth": ")" + base64Text("ann:s3cr:et") + R"("},
              "https://index.docker.io/v1/": {"username": "bob", "password": "pw"}},
    "mirrors": {"docker.io": ["http://127.0.0.1:5000/", "http://10.0.0.1:5001"]},
    "credsStore": "desktop"})");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->auths["127.0.0.1:5000"].username, "ann");
  EXPECT_EQ(c->auths["127.0.0.1:5000"].password, "s3cr:et");  // split at the first ':'
  EXPECT_EQ(c->auths["docker.io"].username, "bob");             // docker login's key for the Hub
  EXPECT_EQ(c->mirrors["docker.io"], (std::vector<std::string>{"127.0.0.1:5000", "10.0.0.1:5001"}));
}

TEST(RegistryConfig, NamesWhatIsWrong) {
  auto error = [](const std::string& text) {
    auto c = parseRegistryConfig(text);
    return c.ok() ? std::string("accepted") : c.error().message();
  };
  EXPECT_THAT(error("{"), HasSubstr("not a JSON object"));
  EXPECT_THAT(error(R"({"mirrors": {"docker.io": ["https://r.io"]}})"), HasSubstr("plain HTTP"));
  EXPECT_THAT(error(R"({"mirrors": {"docker.io": ["r.io:5000"]}})"), HasSubstr("mirrors.docker.io"));
  EXPECT_THAT(error(R"({"mirrors": {"docker.io": "http://r.io"}})"), HasSubstr("list"));
  EXPECT_THAT(error(R"({"mirrors": {"docker.io": ["http://r.io/v2/x"]}})"), HasSubstr("no path"));
  EXPECT_THAT(error(R"({"auths": {"r.io": {"auth": "bm9jb2xvbg=="}}})"), HasSubstr("auths.r.io.auth"));
  EXPECT_THAT(error(R"({"auths": {"r.io": {"username": "u"}}})"), HasSubstr("auths.r.io"));
  EXPECT_THAT(error(R"({"auths": []})"), HasSubstr("auths"));
}

TEST(RegistryConfig, ABadFileStopsCwasidAtStartWithTheReason) {
  TempDir dir;
  writeText(dir / "registries.json", R"({"mirrors": {"docker.io": ["https://mirror.example"]}})");
  for (const auto& [file, want] :
       std::vector<std::pair<std::string, std::string>>{{(dir / "registries.json").string(), "plain HTTP"},
                                                        {(dir / "none.json").string(), "none.json"}}) {
    SubprocessOptions o;
    o.argv = {binPath("cwasid").string(), "--gateway", "127.0.0.1:0", "--state-dir",
              (dir / "state").string(), "--registry-config", file};
    o.timeout = 30s;
    auto r = runSubprocess(o);
    ASSERT_TRUE(r.ok());
    EXPECT_NE(r->exit_code, 0);
    EXPECT_THAT(r->err, HasSubstr("registry config"));
    EXPECT_THAT(r->err, HasSubstr(want));
  }
}

// ---- the token flow, against a registry and token service the test plays ----

class TokenRegistry : public ::testing::Test {
 protected:
  void SetUp() override {
    http::HttpServerConfig c;
    c.listen = "127.0.0.1:0";
    auto s = http::HttpServer::start(c, [this](http::HttpRequest& req) { return handle(req); });
    ASSERT_TRUE(s.ok()) << s.error().message();
    server_ = std::move(*s);
  }

  http::HttpResponse handle(const http::HttpRequest& req) {
    if (req.path == "/token") {
      token_requests_.fetch_add(1);
      const bool scoped = req.queryParam("service") == "stub" &&
                          req.queryParam("scope") == "repository:fn/upper:pull";
      if (!scoped || req.header("Authorization") != "Basic " + base64Text("ann:pw")) {
        return http::HttpResponse::json(401, R"({"errors":[{"code":"UNAUTHORIZED"}]})");
      }
      return http::HttpResponse::json(200, R"({"token":"T1"})");
    }
    if (req.header("Authorization") != "Bearer T1") {
      http::HttpResponse r = http::HttpResponse::json(401, R"({"errors":[{"code":"UNAUTHORIZED"}]})");
      r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"http://" + server_->address() +
                                                     "/token\",service=\"stub\",scope=\"repository:fn/upper:pull\"");
      return r;
    }
    http::HttpResponse r = http::HttpResponse::text(200, req.method == "HEAD" ? "" : "{}");
    r.headers.emplace_back("Docker-Content-Digest", "sha256:" + std::string(64, 'a'));
    return r;
  }

  Result<std::string> resolve(std::optional<RegistryCredentials> credentials, int times = 1) {
    RegistryTransportOptions o;
    o.credentials = std::move(credentials);
    PlainHttpRegistryTransport http(std::move(o));
    oci::ImageReference ref{server_->address(), "fn/upper", "v1"};
    Result<std::string> digest = invalidArgument("not run");
    for (int i = 0; i < times; ++i) digest = oci::resolveDigest(ref, http);
    return digest;
  }

  std::atomic<int> token_requests_{0};
  std::unique_ptr<http::HttpServer> server_;
};

TEST_F(TokenRegistry, CredentialsBuyATokenThatLaterRequestsReuse) {
  auto digest = resolve(RegistryCredentials{"ann", "pw"}, 3);
  ASSERT_TRUE(digest.ok()) << digest.error().message();
  EXPECT_EQ(*digest, "sha256:" + std::string(64, 'a'));
  EXPECT_EQ(token_requests_.load(), 1);
}

TEST_F(TokenRegistry, ARefusedTokenNamesTheUserOrTheMissingCredentials) {
  auto wrong = resolve(RegistryCredentials{"ann", "nope"});
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code(), Code::kPermissionDenied);
  EXPECT_THAT(wrong.error().message(), HasSubstr("credentials of user 'ann'"));
  auto anonymous = resolve(std::nullopt);
  ASSERT_FALSE(anonymous.ok());
  EXPECT_THAT(anonymous.error().message(), HasSubstr("no credentials are configured"));
}

// ---- cwasid and a real registry ----------------------------------------------

// The `cwasi` CLI, for building and pushing images.
SubprocessResult cwasiCli(std::vector<std::string> args) {
  SubprocessOptions o;
  o.argv = {binPath("cwasi").string()};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  auto r = runSubprocess(o);
  return r.ok() ? *r : SubprocessResult{};
}

class ImagesFromARegistry : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(cwasiCli({"image", "build", functionPath("upper").string(), "-t", "fn/upper:v1",
                        "-o", (dir_ / "upper.tar").string()}).exit_code, 0);
  }
  void TearDown() override {
    if (daemon_) EXPECT_EQ(daemon_->stop(), 0);
  }

  // Pushes the upper image as REGISTRY/`repository`; returns its digest.
  std::string push(const DockerRegistry& registry, const std::string& repository,
                   std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"image", "push", (dir_ / "upper.tar").string(),
                                     registry.address() + "/" + repository};
    args.insert(args.end(), extra.begin(), extra.end());
    auto pushed = cwasiCli(args);
    EXPECT_EQ(pushed.exit_code, 0) << pushed.err;
    const size_t at = pushed.out.find("sha256:");
    return at == std::string::npos ? "" : pushed.out.substr(at, 71);
  }

  Daemon& startDaemon(const std::string& registry_config = "") {
    if (daemon_) EXPECT_EQ(daemon_->stop(), 0);
    std::vector<std::string> flags = {"--pull-timeout-ms", "10000"};
    if (!registry_config.empty()) {
      writeText(dir_ / "registries.json", registry_config);
      flags.insert(flags.end(), {"--registry-config", (dir_ / "registries.json").string()});
    }
    daemon_ = Daemon::start(dir_ / "state", flags);
    return *daemon_;
  }

  Reply deploy(const std::string& name, const std::string& image, const std::string& method = "POST") {
    return daemon_->deploy({{"service", name}, {"image", image}}, method);
  }

  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(ImagesFromARegistry, DeploysByTagAndByDigestAndShowsTheDigest) {
  DockerRegistry registry;
  ASSERT_TRUE(registry.up()) << "docker-registry did not start";
  const std::string digest = push(registry, "fn/upper:v1");
  ASSERT_FALSE(digest.empty());
  Daemon& d = startDaemon();
  const std::string ref = registry.address() + "/fn/upper:v1";
  Reply by_tag = deploy("upper", ref);
  ASSERT_EQ(by_tag.status, 202) << by_tag.body;
  EXPECT_EQ(d.invoke("upper", "from a registry").body, "FROM A REGISTRY");
  json status = d.status("upper");
  EXPECT_EQ(status["image"], ref);  // what the user gave
  EXPECT_EQ(status["imageDigest"], digest);
  Reply by_digest = deploy("upper-pinned", registry.address() + "/fn/upper@" + digest);
  ASSERT_EQ(by_digest.status, 202) << by_digest.body;
  EXPECT_EQ(d.invoke("upper-pinned", "pinned").body, "PINNED");
  EXPECT_EQ(d.status("upper-pinned")["imageDigest"], digest);
  // `cwasi deploy` passes a reference on as it is (a file here it makes absolute).
  SubprocessOptions o;
  o.argv = {binPath("cwasi").string(), "deploy", "upper-cli", ref};
  o.env = {{"CWASI_GATEWAY", d.url}, {"CWASI_ADMIN_TOKEN", d.token}};
  auto cli = runSubprocess(o);
  ASSERT_TRUE(cli.ok());
  EXPECT_EQ(cli->exit_code, 0) << cli->err;
  EXPECT_EQ(d.status("upper-cli")["image"], ref);
}

TEST_F(ImagesFromARegistry, ADigestIsDownloadedOnceEvenAcrossRestarts) {
  DockerRegistry registry;
  ASSERT_TRUE(registry.up());
  push(registry, "fn/upper:v1");
  startDaemon();
  const std::string ref = registry.address() + "/fn/upper:v1";
  ASSERT_EQ(deploy("upper", ref).status, 202);
  const int blobs = registry.requests("GET", "/blobs/");
  EXPECT_GE(blobs, 2);  // the config and the layer
  ASSERT_EQ(deploy("upper", ref, "PUT").status, 202);
  ASSERT_EQ(deploy("again", ref).status, 202);
  startDaemon();  // the digest → module record is in the state dir
  ASSERT_EQ(deploy("third", ref).status, 202);
  EXPECT_EQ(daemon_->invoke("third", "cached").body, "CACHED");
  EXPECT_EQ(registry.requests("GET", "/blobs/"), blobs);
  EXPECT_GE(registry.requests("HEAD", "/manifests/v1"), 4);  // the tag is resolved every time
}

TEST_F(ImagesFromARegistry, ARestartRestoresWithoutTheRegistry) {
  {
    DockerRegistry registry;
    ASSERT_TRUE(registry.up());
    push(registry, "fn/upper:v1");
    startDaemon();
    ASSERT_EQ(deploy("upper", registry.address() + "/fn/upper:v1").status, 202);
  }  // the registry is gone
  Daemon& d = startDaemon();
  Reply out = d.invoke("upper", "still here");
  EXPECT_EQ(out.status, 200) << out.body;
  EXPECT_EQ(out.body, "STILL HERE");
}

TEST_F(ImagesFromARegistry, NamesWithoutARegistryGoThroughTheDockerIoMirror) {
  DockerRegistry registry;
  ASSERT_TRUE(registry.up());
  push(registry, "fn/upper:v1");
  push(registry, "library/upper:latest");
  // The first mirror is down: the next one serves.
  Daemon& d = startDaemon(R"({"mirrors": {"docker.io": ["http://127.0.0.1:)" +
                          std::to_string(testbed::freePort()) + R"(", "http://)" +
                          registry.address() + R"("]}})");
  Reply two = deploy("upper", "fn/upper:v1");
  ASSERT_EQ(two.status, 202) << two.body;
  EXPECT_EQ(d.invoke("upper", "mirrored").body, "MIRRORED");
  Reply official = deploy("official", "upper");  // docker.io/library/upper:latest
  ASSERT_EQ(official.status, 202) << official.body;
  EXPECT_EQ(d.status("official")["image"], "upper");
}

TEST_F(ImagesFromARegistry, PullsThatCannotBeDoneSayWhy) {
  DockerRegistry registry;
  ASSERT_TRUE(registry.up());
  push(registry, "fn/upper:v1");
  Daemon& d = startDaemon();
  // No such tag: 404 naming the reference.
  const std::string missing = registry.address() + "/fn/upper:v9";
  Reply no_tag = deploy("upper", missing);
  EXPECT_EQ(no_tag.status, 404) << no_tag.body;
  EXPECT_THAT(no_tag.body, HasSubstr(missing));
  EXPECT_EQ(deploy("upper", registry.address() + "/fn/none:v1").status, 404);
  // Nothing listens: 503 naming the registry.
  const std::string nobody = "127.0.0.1:" + std::to_string(testbed::freePort());
  Reply unreachable = deploy("upper", nobody + "/fn/upper:v1");
  EXPECT_EQ(unreachable.status, 503) << unreachable.body;
  EXPECT_THAT(unreachable.body, HasSubstr("registry " + nobody));
  // A name without a registry and no mirror for docker.io.
  Reply hub = deploy("upper", "fn/upper:v1");
  EXPECT_EQ(hub.status, 400) << hub.body;
  EXPECT_THAT(hub.body, HasSubstr("no mirror is configured for docker.io"));
  // Neither an absolute path nor a reference.
  EXPECT_EQ(deploy("upper", "Not A Reference").status, 400);
  Reply relative = deploy("upper", "./upper.wasm");
  EXPECT_EQ(relative.status, 400);
  EXPECT_THAT(relative.body, HasSubstr("absolute path"));
  // An image of a native program, not a Wasm module: 400.
  oci::BuildOptions native;
  native.wasm = false;
  native.module_name = "app";
  const std::string program = "#!/bin/sh\necho native\n";
  auto tar = oci::buildImageArchive({reinterpret_cast<const uint8_t*>(program.data()), program.size()},
                                    native);
  ASSERT_TRUE(tar.ok()) << tar.error().message();
  ASSERT_TRUE(writeFileAtomic(dir_ / "native.tar", *tar).ok());
  ASSERT_EQ(cwasiCli({"image", "push", (dir_ / "native.tar").string(),
                      registry.address() + "/fn/native:v1"}).exit_code, 0);
  Reply native_image = deploy("upper", registry.address() + "/fn/native:v1");
  EXPECT_EQ(native_image.status, 400) << native_image.body;
  EXPECT_THAT(native_image.body, HasSubstr("fn/native:v1"));
  // A registry whose reply head is over the client's limit (70 KB): its
  // fault, 502 naming it — not a retry-inviting 429 about the image's size.
  http::HttpServerConfig big_head_config;
  big_head_config.listen = "127.0.0.1:0";
  auto big_head = http::HttpServer::start(big_head_config, [](http::HttpRequest&) {
    http::HttpResponse r = http::HttpResponse::json(200, "{}");
    r.headers.emplace_back("X-Padding", std::string(70'000, 'p'));
    return r;
  });
  ASSERT_TRUE(big_head.ok()) << big_head.error().message();
  Reply bad_reply = deploy("upper", (*big_head)->address() + "/fn/upper:v1");
  EXPECT_EQ(bad_reply.status, 502) << bad_reply.body;
  EXPECT_THAT(bad_reply.body, HasSubstr("head is over the limit"));
  EXPECT_THAT(bad_reply.body, ::testing::Not(HasSubstr("MiB")));
  // None of the failures deployed anything.
  EXPECT_EQ(d.admin("GET", "/system/function/upper").status, 404);
}

// Issue 21 #9: a gzip bomb (a layer of a few hundred KB that inflates past
// the 256 MiB a deployment may pull) is refused as too large, and the daemon
// never holds what it inflates to (it held 2.2 GB per deploy).
TEST_F(ImagesFromARegistry, AnImageThatInflatesPastThePullCapIs413AndIsNeverHeld) {
  DockerRegistry registry;
  ASSERT_TRUE(registry.up());
  {
    std::vector<uint8_t> bomb = *readFile(functionPath("upper"));
    bomb.resize(oci::kMaxImageBytes + (1 << 20), 0);
    oci::BuildOptions o;
    o.ref = "fn/bomb:v1";
    auto tar = oci::buildImageArchive(bomb, o);
    ASSERT_TRUE(tar.ok()) << tar.error().message();
    ASSERT_LT(tar->size(), 2u << 20);
    ASSERT_TRUE(writeFileAtomic(dir_ / "bomb.tar", *tar).ok());
  }
  ASSERT_EQ(cwasiCli({"image", "push", (dir_ / "bomb.tar").string(),
                      registry.address() + "/fn/bomb:v1"}).exit_code, 0);
  Daemon& d = startDaemon();
  Reply bomb = deploy("bomb", registry.address() + "/fn/bomb:v1");
  EXPECT_EQ(bomb.status, 413) << bomb.body;
  EXPECT_THAT(bomb.body, HasSubstr("larger than a deployment may pull (256 MiB)"));
  // The most the daemon ever held resident stays far below what the image
  // inflates to.
  const std::string status = readText("/proc/" + std::to_string(d.pid()) + "/status");
  const size_t hwm = status.find("VmHWM:");
  ASSERT_NE(hwm, std::string::npos);
  EXPECT_LT(std::stoull(status.substr(hwm + 6)) << 10, 128ull << 20) << status.substr(hwm, 40);
  // And it serves on: an ordinary image deploys.
  push(registry, "fn/upper:v1");
  EXPECT_EQ(deploy("upper", registry.address() + "/fn/upper:v1").status, 202);
}

// At most --max-concurrent-pulls downloads at once: the others wait for one
// to end (a registry the test plays holds every manifest download open).
TEST(ImagePuller, DownloadsAtMostTheConfiguredNumberAtOnce) {
  std::mutex mu;
  std::condition_variable cv;
  int downloading = 0, most = 0, downloads = 0;
  bool release = false;
  http::HttpServerConfig c;
  c.listen = "127.0.0.1:0";
  auto server = http::HttpServer::start(c, [&](http::HttpRequest& req) {
    if (req.method == "HEAD") {
      http::HttpResponse r = http::HttpResponse::text(200, "");
      r.headers.emplace_back("Docker-Content-Digest", "sha256:" + std::string(64, 'a'));
      return r;
    }
    std::unique_lock lock(mu);
    ++downloads;
    most = std::max(most, ++downloading);
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
    --downloading;
    return http::HttpResponse::json(404, R"({"errors":[{"code":"MANIFEST_UNKNOWN"}]})");
  });
  ASSERT_TRUE(server.ok()) << server.error().message();
  TempDir dir;
  auto state = StateDir::open(dir.path());
  ASSERT_TRUE(state.ok()) << state.error().message();
  RegistryConfig config;
  config.max_concurrent_pulls = 2;
  config.pull_timeout = std::chrono::seconds(20);
  ImagePuller puller(config, **state);
  std::vector<std::thread> pulls;
  std::atomic<int> not_found{0};
  for (int i = 0; i < 5; ++i) {
    pulls.emplace_back([&] {
      auto r = puller.pull((*server)->address() + "/fn/upper:v1", 1 << 20);
      if (!r.ok() && r.error().code() == Code::kNotFound) not_found.fetch_add(1);
    });
  }
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return downloading == 2; }));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the other three stay out
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(downloads, 2);
    release = true;
  }
  cv.notify_all();
  for (auto& t : pulls) t.join();
  EXPECT_EQ(most, 2);
  EXPECT_EQ(downloads, 5);
  EXPECT_EQ(not_found.load(), 5);
}

TEST_F(ImagesFromARegistry, BasicAuthNeedsTheConfiguredCredentials) {
  DockerRegistry registry({"ann", "s3cret"});
  ASSERT_TRUE(registry.up());
  const std::string auths = R"({"auths": {")" + registry.address() + R"(": {"auth": ")" +
                            base64Text("ann:s3cret") + R"("}}})";
  writeText(dir_ / "push.json", auths);
  // The CLI takes the same file.
  auto refused = cwasiCli({"image", "push", (dir_ / "upper.tar").string(),
                           registry.address() + "/fn/upper:v1"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.err, HasSubstr("401"));
  ASSERT_FALSE(push(registry, "fn/upper:v1", {"--registry-config", (dir_ / "push.json").string()}).empty());
  const std::string ref = registry.address() + "/fn/upper:v1";

  startDaemon();
  Reply anonymous = deploy("upper", ref);
  EXPECT_EQ(anonymous.status, 403) << anonymous.body;
  EXPECT_THAT(anonymous.body, HasSubstr("none are configured for " + registry.address()));

  startDaemon(R"({"auths": {")" + registry.address() + R"(": {"username": "ann", "password": "wrong"}}})");
  Reply wrong = deploy("upper", ref);
  EXPECT_EQ(wrong.status, 403) << wrong.body;
  EXPECT_THAT(wrong.body, HasSubstr("with the credentials configured for it"));

  Daemon& d = startDaemon(auths);
  Reply ok = deploy("upper", ref);
  ASSERT_EQ(ok.status, 202) << ok.body;
  EXPECT_EQ(d.invoke("upper", "authorised").body, "AUTHORISED");
}

TEST_F(ImagesFromARegistry, AnAbsolutePathWithTheTagFaasCliAppendsIsThatFile) {
  Daemon& d = startDaemon();
  const std::string path = functionPath("upper").string();
  Reply tagged = deploy("upper", path + ":latest");
  ASSERT_EQ(tagged.status, 202) << tagged.body;
  EXPECT_EQ(d.invoke("upper", "faas-cli").body, "FAAS-CLI");
  EXPECT_FALSE(d.status("upper").contains("imageDigest"));
  // Only a valid tag is dropped, and only when the path itself is missing.
  EXPECT_EQ(deploy("bad-tag", path + ":-x").status, 400);
  EXPECT_EQ(deploy("no-file", "/no/such/module.wasm:latest").status, 400);
}

}  // namespace
}  // namespace cwasi::node

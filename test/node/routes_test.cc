// The gateway's routes in-process, wired as the Gateway wires them (no
// daemon, no sockets, no sleeps): screening, the admission gate, invocation,
// the system API's answers.
#include "routes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "cwasi/trigger/gate.h"
#include "node/node_parts.h"

namespace cwasi::node {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;
using testing::NodeParts;
using namespace std::chrono_literals;

class RoutesTest : public ::testing::Test {
 protected:
  http::HttpRequest request(std::string method, std::string path, std::string body = "",
                            bool admin = false) {
    http::HttpRequest r;
    r.method = std::move(method);
    const size_t q = path.find('?');
    r.path = path.substr(0, q);
    if (q != std::string::npos) r.query = path.substr(q + 1);
    r.body = std::move(body);
    if (admin) r.headers.emplace_back("Authorization", "Bearer secret-token");
    return r;
  }
  http::HttpResponse call(std::string method, std::string path, std::string body = "",
                          bool admin = false) {
    auto req = request(std::move(method), std::move(path), std::move(body), admin);
    return routes_.handle(req);
  }
  json deployment(const std::string& name, const std::string& fn, json extra = json::object()) {
    extra["service"] = name;
    extra["image"] = testing::functionPath(fn).string();
    return extra;
  }

  NodeParts n_;
  AsyncQueue async_{*n_.registry, *n_.invoker, AsyncConfig{}};
  Executor steps_{{.max_threads = 4}};
  Authorizer auth_{"secret-token"};
  Routes routes_{RouteParts{*n_.registry, *n_.invoker, async_, steps_, n_.metrics, *n_.host,
                            auth_, n_.clock, std::chrono::seconds(5), 4,
                            std::chrono::seconds(1)}};
};

TEST_F(RoutesTest, TheScreenAnswersFromTheHeadersAlone) {
  EXPECT_EQ(routes_.screen(request("GET", "/healthz"))->status, 200);
  EXPECT_EQ(routes_.screen(request("GET", "/nowhere"))->status, 404);
  EXPECT_EQ(routes_.screen(request("GET", "/system/functions"))->status, 401);
  EXPECT_FALSE(routes_.screen(request("GET", "/system/functions", "", true)).has_value());
  EXPECT_EQ(routes_.screen(request("POST", "/function/ghost"))->status, 404);
  EXPECT_EQ(routes_.screen(request("GET", "/async-function/ghost"))->status, 405);
}

TEST_F(RoutesTest, DeployInvokeAndRemoveThroughTheSystemApi) {
  auto deployed = call("POST", "/system/functions",
                       deployment("upper", "upper", {{"public", false}}).dump(), true);
  ASSERT_EQ(deployed.status, 202) << deployed.body;
  // A private function: the token is needed to call it.
  EXPECT_EQ(call("POST", "/function/upper", "hi").status, 401);
  auto r = call("POST", "/function/upper", "hi", true);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "HI");
  EXPECT_FALSE(r.header("X-Call-Id").empty());
  auto list = json::parse(call("GET", "/system/functions", "", true).body);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["name"], "upper");
  EXPECT_EQ(call("DELETE", "/system/functions", R"({"functionName": "upper"})", true).status, 202);
  EXPECT_EQ(call("POST", "/function/upper", "hi", true).status, 404);
}

TEST_F(RoutesTest, BadInputGetsAClearErrorAndNoPathLeavesTheStateDir) {
  auto bad = call("POST", "/system/functions", "{not json", true);
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("not valid JSON"));
  auto traversal = call("DELETE", "/system/secrets", R"({"name": "../token"})", true);
  EXPECT_EQ(traversal.status, 400);
  EXPECT_THAT(traversal.body, HasSubstr("invalid secret name"));
  EXPECT_EQ(call("POST", "/system/scale-function/ghost", R"({"replicas": 1})", true).status, 404);
}

// An image larger than a deployment may take is 413, not a 429 that invites
// a retry (a sparse file: no disk spent).
TEST_F(RoutesTest, AnImageTooLargeToDeployIs413) {
  cwasi::testing::TempDir dir;
  const auto big = dir.path() / "big.wasm";
  { std::ofstream(big).put('\0'); }
  std::filesystem::resize_file(big, 300ull << 20);
  auto r = call("POST", "/system/functions", json{{"service", "big"}, {"image", big.string()}}.dump(),
                true);
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_THAT(r.body, HasSubstr("larger than"));
}

// A followed log comes in pieces of about 64 KiB at most, however much was
// written since the last poll, and nothing is skipped that the log keeps.
TEST_F(RoutesTest, AFollowedLogComesInBoundedPieces) {
  ASSERT_EQ(call("POST", "/system/functions", deployment("upper", "upper").dump(), true).status, 202);
  auto follow = call("GET", "/system/logs?name=upper&follow=true", "", true);
  ASSERT_EQ(follow.status, 200) << follow.body;
  ASSERT_NE(follow.more, nullptr);
  auto entry = n_.registry->find("upper");
  ASSERT_NE(entry, nullptr);
  for (int i = 0; i < 500; ++i) entry->log->write(std::string(1000, 'x') + "\n");  // 500 KB
  entry->log->write(std::string(300'000, 'y') + "\n");                            // one long line
  size_t lines = 0, polls = 0;
  while (lines < 501 && polls < 100) {
    auto piece = follow.more->next();
    ASSERT_TRUE(piece.has_value());
    EXPECT_LE(piece->size(), 66u << 10);
    lines += static_cast<size_t>(std::count(piece->begin(), piece->end(), '\n'));
    ++polls;
  }
  EXPECT_EQ(lines, 501u);
  EXPECT_GE(polls, 8u);
}

// A function at its limit: the gate parks the next request (no thread is
// held for it), and it runs once the slot frees.
TEST_F(RoutesTest, TheGateParksARequestPastTheLimitUntilASlotFrees) {
  ASSERT_EQ(call("POST", "/system/functions",
                 deployment("upper", "upper", {{"maxInflight", 1}, {"public", true}}).dump(), true)
                .status,
            202);
  auto entry = n_.registry->find("upper");
  ASSERT_NE(entry, nullptr);
  ASSERT_TRUE(*entry->limiter->tryAcquire(std::chrono::steady_clock::now() + 5s, {}));
  auto req = request("POST", "/function/upper", "later");
  std::optional<std::optional<http::HttpResponse>> resumed;
  auto d = routes_.gate(req, [&](std::optional<http::HttpResponse> r) { resumed = std::move(r); });
  ASSERT_TRUE(std::holds_alternative<http::Parked>(d));
  EXPECT_FALSE(resumed.has_value());
  entry->limiter->release();  // the slot goes to the parked request
  ASSERT_TRUE(resumed.has_value());
  EXPECT_FALSE(resumed->has_value());  // run it
  EXPECT_TRUE(trigger::holdsSlot(req));
  auto r = routes_.handle(req);
  EXPECT_EQ(r.body, "LATER");
  req = http::HttpRequest{};  // the slot goes with the request
  EXPECT_EQ(entry->limiter->inflight(), 0u);
  // Other routes never wait at the gate.
  auto system = request("GET", "/system/functions", "", true);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(routes_.gate(system, [](auto) {})));
}

}  // namespace
}  // namespace cwasi::node

// The function registry: the one table, kept with the host and the state dir.
#include "cwasi/node/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "node/node_parts.h"

namespace cwasi::node {
namespace {

using ::testing::HasSubstr;
using testing::NodeParts;

size_t storedModules(const NodeParts& n) {
  size_t count = 0;
  for (const auto& e : std::filesystem::directory_iterator(n.dir / "state" / "modules")) {
    count += e.path().extension() == ".wasm";
  }
  return count;
}

TEST(Registry, DeploysUpdatesAndRemovesAFunctionEverywhereAtOnce) {
  NodeParts n;
  auto e = n.deploy("upper", "upper");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(n.registry->find("upper"), e);
  EXPECT_TRUE(n.host->loaded("upper"));
  EXPECT_EQ(storedModules(n), 1u);
  EXPECT_EQ(n.registry->list().size(), 1u);

  Deployment again = e->deployment;
  EXPECT_EQ(n.registry->deploy(again, false).error().code(), Code::kAlreadyExists);
  again.name = "ghost";
  EXPECT_EQ(n.registry->deploy(again, true).error().code(), Code::kNotFound);

  // An update keeps the counters and the log, and swaps the module.
  e->stats->invocations = 7;
  Deployment update = e->deployment;
  update.image = testing::functionPath("reverse").string();
  auto updated = n.registry->deploy(update, true);
  ASSERT_TRUE(updated.ok()) << updated.error().toString();
  EXPECT_EQ((*updated)->stats->invocations.load(), 7u);
  EXPECT_EQ((*updated)->log, e->log);
  EXPECT_EQ(testing::text(n.invoke(**updated, "abc").result), "cba");
  EXPECT_EQ(storedModules(n), 1u);  // the old module was collected

  ASSERT_TRUE(n.registry->remove("upper").ok());
  EXPECT_EQ(n.registry->find("upper"), nullptr);
  EXPECT_FALSE(n.host->loaded("upper"));
  EXPECT_EQ(storedModules(n), 0u);
  EXPECT_EQ(n.registry->remove("upper").error().code(), Code::kNotFound);
}

TEST(Registry, ABadImageIsTheClientsError) {
  NodeParts n;
  Deployment d;
  d.name = "x";
  d.image = "/does/not/exist.wasm";
  EXPECT_EQ(n.registry->deploy(d, false).error().code(), Code::kInvalidArgument);
  d.image = (n.dir / "garbage.wasm").string();
  testing::writeText(d.image, "not wasm");
  EXPECT_EQ(n.registry->deploy(d, false).error().code(), Code::kInvalidArgument);
  EXPECT_TRUE(n.registry->list().empty());
}

TEST(Registry, RestoresWhatTheStateDirHolds) {
  NodeParts n;
  ASSERT_NE(n.deploy("upper", "upper"), nullptr);
  auto w = parseWorkflow("name: shout\nsequence: [upper]\n");
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(n.registry->deployWorkflow(*w).ok());
  // A second registry over the same state dir (a restarted daemon) with a
  // fresh host.
  host::HostConfig hc;
  auto host = host::FunctionHost::start(std::move(hc));
  ASSERT_TRUE(host.ok());
  FunctionRegistry again(**host, *n.state, n.metrics, n.clock, std::chrono::seconds(10));
  EXPECT_TRUE(again.restore().empty());
  ASSERT_NE(again.find("upper"), nullptr);
  EXPECT_TRUE((*host)->loaded("upper"));
  EXPECT_NE(again.findWorkflow("shout"), nullptr);
}

TEST(Registry, AFifoOrADeviceIsRefusedAtOnceAndHoldsUpNothing) {
  NodeParts n;
  const auto fifo = n.dir / "module.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string& image : {fifo.string(), std::string("/dev/zero")}) {
    Deployment d;
    d.name = "x";
    d.image = image;
    const auto start = std::chrono::steady_clock::now();
    auto r = n.registry->deploy(d, false);
    ASSERT_FALSE(r.ok()) << image;
    EXPECT_EQ(r.error().code(), Code::kInvalidArgument) << image;
    EXPECT_THAT(r.error().message(), HasSubstr("not a regular file"));
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));  // no waiting for a writer
  }
  EXPECT_NE(n.deploy("upper", "upper"), nullptr);  // and the registry still takes deploys
}

TEST(Registry, ADeployErrorNeverQuotesTheFile) {
  NodeParts n;
  const auto secret = n.dir / "secret.wat";
  testing::writeText(secret, "(this is the root password: hunter2\n");
  Deployment d;
  d.name = "x";
  d.image = secret.string();
  auto r = n.registry->deploy(d, false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
  EXPECT_THAT(r.error().message(), ::testing::Not(HasSubstr("hunter2")));
  EXPECT_THAT(r.error().message(), HasSubstr("is not a module cwasi can load"));
}

TEST(Registry, AMovedStateDirKeepsItsFunctionsAndLeftoversAreCleaned) {
  NodeParts n;
  ASSERT_NE(n.deploy("upper", "upper"), nullptr);
  const auto moved = n.dir / "moved";
  std::filesystem::rename(n.dir / "state", moved);
  testing::writeText(moved / "modules" / "abc.wasm.tmp.XYZ123", "half written");
  auto state = StateDir::open(moved);
  ASSERT_TRUE(state.ok());
  EXPECT_FALSE(std::filesystem::exists(moved / "modules" / "abc.wasm.tmp.XYZ123"));
  host::HostConfig hc;
  auto host = host::FunctionHost::start(std::move(hc));
  ASSERT_TRUE(host.ok());
  FunctionRegistry again(**host, **state, n.metrics, n.clock, std::chrono::seconds(10));
  EXPECT_TRUE(again.restore().empty());
  auto e = again.find("upper");
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(std::filesystem::path(e->deployment.module).is_relative());
  // A deploy in the moved dir collects nothing that is still in use.
  Deployment other;
  other.name = "reverse";
  other.image = testing::functionPath("reverse").string();
  ASSERT_TRUE(again.deploy(other, false).ok());
  EXPECT_TRUE(std::filesystem::exists((**state).modulePath(e->deployment.module)));
}

// Below every entry point's own check, the state dir builds no path from a
// name that is not one plain file name.
TEST(StateDirNames, NoNameReachesOutsideItsDirectory) {
  NodeParts n;
  testing::writeText(n.dir / "victim", "keep me");
  ASSERT_TRUE(n.state->saveSecret("ok", std::vector<uint8_t>{'x'}).ok());
  const std::vector<std::string> names = {"../token", "..", ".", "", "a/b", "../../victim",
                                          (n.dir / "victim").string(), ".hidden", "ok\n"};
  for (const std::string& bad : names) {
    EXPECT_FALSE(n.state->hasSecret(bad)) << bad;
    auto removed = n.state->removeSecret(bad);
    ASSERT_FALSE(removed.ok()) << bad;
    EXPECT_EQ(removed.error().code(), Code::kInvalidArgument);
    EXPECT_FALSE(n.state->saveSecret(bad, std::vector<uint8_t>{'x'}).ok()) << bad;
    EXPECT_FALSE(n.state->removeFunction(bad).ok()) << bad;
    EXPECT_FALSE(n.state->removeWorkflow(bad).ok()) << bad;
    EXPECT_FALSE(n.state->removeSecretView(bad).ok()) << bad;
    EXPECT_FALSE(n.state->writeSecretView("f", {bad}).ok()) << bad;
    EXPECT_FALSE(n.state->writeSecretView(bad, {"ok"}).ok()) << bad;
  }
  EXPECT_EQ(testing::readText(n.dir / "victim"), "keep me");
  EXPECT_TRUE(n.state->hasSecret("ok"));
  EXPECT_TRUE(n.state->removeSecret("ok").ok());
  EXPECT_FALSE(n.state->hasSecret("ok"));
}

TEST(FunctionLog, KeepsTheLastLinesOfEveryWrite) {
  FunctionLog log(3);
  log.write("one\ntwo\n");
  log.write("three");
  log.write("four\n\n");
  auto lines = log.tail(10);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].text, "two");
  EXPECT_EQ(lines[2].text, "four");
  EXPECT_EQ(log.tail(1).size(), 1u);
  EXPECT_FALSE(lines[0].timestamp.empty());
}

}  // namespace
}  // namespace cwasi::node

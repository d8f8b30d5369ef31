// The function registry: the one table, kept with the host and the state dir.
#include "cwasi/node/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "node/node_parts.h"

namespace cwasi::node {
namespace {

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

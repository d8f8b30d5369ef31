// Workflows: parsing, validation and running steps as a graph.
#include "cwasi/node/workflow.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "cwasi/node/invoker.h"

namespace cwasi::node {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

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

// Found by the workflow fuzz target: YAML takes any bytes, and a step id
// that was not UTF-8 made storing the workflow (JSON) throw.
TEST(Workflow, StringsThatAreNotUtf8AreRefused) {
  for (const std::string text : {"name: w\nsteps: [{id: \"a\xff\", function: f}]",
                                 "name: w\ntrustDomain: \"\xc0\xaf\"\nsequence: [f]",
                                 "name: w\nsteps: [{function: f}, {id: g, function: g, after: \"\xed\xa0\x80\"}]"}) {
    auto w = parseWorkflow(text);
    ASSERT_FALSE(w.ok()) << text;
    EXPECT_THAT(w.error().message(), HasSubstr("not UTF-8"));
  }
  const std::string id = "gr\xc3\xb6\xc3\x9f" "e \xf0\x9f\x93\xa6";  // "größe 📦"
  auto w = parseWorkflow("name: w\nsteps: [{id: \"" + id + "\", function: f}]");
  ASSERT_TRUE(w.ok()) << w.error().message();
  EXPECT_EQ(w->steps[0].id, id);
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

}  // namespace
}  // namespace cwasi::node

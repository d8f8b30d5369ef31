// Workflows: parsing, validation and running steps as a graph.
#include "cwasi/node/workflow.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "cwasi/trigger/invoker.h"
#include "node/node_parts.h"

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
  // x and y each wait (up to 10 s) until the other has started: run one
  // after the other, neither sees the other and the peak stays 1.
  std::atomic<int> branches_started{0};
  auto meet = [&] {
    ++branches_started;
    for (int i = 0; i < 1000 && branches_started.load() < 2; ++i) std::this_thread::sleep_for(10ms);
  };
  StepCall call = [&](const std::string& f, std::span<const uint8_t> in) {
    int now = ++running;
    peak = std::max(peak.load(), now);
    std::vector<uint8_t> out(in.begin(), in.end());
    if (f == "slowupper") {
      meet();
      for (auto& c : out) c = static_cast<uint8_t>(std::toupper(c));
    } else if (f == "rev") {
      meet();
      std::reverse(out.begin(), out.end());
    }
    --running;
    return Result<std::vector<uint8_t>>(std::move(out));
  };
  const std::string input = "abc";
  Executor steps({.max_threads = 4});
  auto r = runWorkflow(*w, {reinterpret_cast<const uint8_t*>(input.data()), input.size()}, call,
                       &steps);
  ASSERT_TRUE(r.output.ok());
  EXPECT_EQ(std::string(r.output->begin(), r.output->end()), "ABCcba");
  EXPECT_EQ(peak.load(), 2);
}

// Without an executor thread to spare, steps run on the caller's thread, one
// at a time: never a thread of their own, never refused.
TEST(Workflow, StepsNoExecutorTakesRunOnTheCallersThread) {
  auto w = parseWorkflow("name: s\nsteps:\n- {id: a, function: up}\n- {id: b, function: up}\n"
                         "- {id: c, function: up, after: [a, b]}");
  ASSERT_TRUE(w.ok()) << w.error().message();
  const auto caller = std::this_thread::get_id();
  std::atomic<int> elsewhere{0};
  StepCall call = [&](const std::string&, std::span<const uint8_t> in) {
    if (std::this_thread::get_id() != caller) ++elsewhere;
    return Result<std::vector<uint8_t>>(std::vector<uint8_t>(in.begin(), in.end()));
  };
  ExecutorOptions none;
  none.start_thread = [](std::function<void()>) -> Result<std::thread> {
    return unavailable("cannot start a thread");
  };
  Executor starved(std::move(none));
  const std::string input = "x";
  auto r = runWorkflow(*w, {reinterpret_cast<const uint8_t*>(input.data()), input.size()}, call,
                       &starved);
  ASSERT_TRUE(r.output.ok());
  EXPECT_EQ(testing::text(r.output), "xx");
  EXPECT_EQ(elsewhere.load(), 0);
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
  EXPECT_EQ(trigger::httpStatusFor(r.output.error()), 500);
  EXPECT_EQ(r.failed_step, w->steps[1].id);
  EXPECT_EQ(r.output.error().message(), "boom");
  EXPECT_EQ(calls.load(), 2);
}

// The workflow guest (functions/workflow): a DAG from its CWASI_WORKFLOW,
// run inside a function host with cwasi_call, next to real functions. Its
// output must be cwasid's engine's, byte for byte.
class WorkflowGuest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(n_.deploy("upper", "upper"), nullptr);
    ASSERT_NE(n_.deploy("reverse", "reverse"), nullptr);
  }

  // `w` as the guest reads it: "ID TARGET [AFTER ...]" lines.
  static std::string definition(const Workflow& w) {
    std::string text;
    for (const WorkflowStep& s : w.steps) {
      text += s.id + " " + s.function;
      for (const std::string& after : s.after) text += " " + after;
      text += "\n";
    }
    return text;
  }

  // Deploys the guest as `name` with `definition` (none: unset) and runs it.
  Result<std::vector<uint8_t>> guest(const std::string& name,
                                     const std::optional<std::string>& definition,
                                     const std::string& input) {
    nlohmann::json extra = {{"timeout", "60s"}};
    if (definition) extra["envVars"] = {{"CWASI_WORKFLOW", *definition}};
    auto e = n_.deploy(name, "workflow", extra);
    if (e == nullptr) return internal("cannot deploy " + name);
    return n_.invoke(*e, input).result;
  }

  // cwasid's engine on `w`: its steps are calls as a workflow route makes them.
  WorkflowResult engine(const Workflow& w, const std::string& input) {
    StepCall call = [&](const std::string& function, std::span<const uint8_t> in) {
      return n_.invoker->step(function, in, w.trust_domain, n_.clock.now() + 60s).result;
    };
    return runWorkflow(w, {reinterpret_cast<const uint8_t*>(input.data()), input.size()}, call,
                       &steps_);
  }

  // Runs `w` both ways on `input`; the guest's output, checked equal to the engine's.
  std::string both(const Workflow& w, const std::string& input) {
    EXPECT_TRUE(parseWorkflow(toJson(w).dump()).ok()) << "not a valid workflow";
    WorkflowResult reference = engine(w, input);
    auto got = guest("wf-" + w.name, definition(w), input);
    EXPECT_TRUE(reference.output.ok()) << reference.output.error().message();
    EXPECT_TRUE(got.ok()) << got.error().message();
    if (!got.ok() || !reference.output.ok()) return "";
    EXPECT_EQ(*got, *reference.output);
    return testing::text(got);
  }

  testing::NodeParts n_;
  Executor steps_{{.max_threads = 8}};
};

TEST_F(WorkflowGuest, RunsASequenceAsCwasidDoes) {
  Workflow w{"seq", "default", {{"up", "upper", {}}, {"rev", "reverse", {"up"}}}};
  EXPECT_EQ(both(w, "Hello, world"), "DLROW ,OLLEH");
}

TEST_F(WorkflowGuest, RunsAFanOutFanInDagAsCwasidDoes) {
  Workflow w{"dag", "default",
             {{"split", "upper", {}},
              {"a", "reverse", {"split"}},
              {"b", "upper", {"split"}},
              {"join", "reverse", {"a", "b"}}}};
  // join = reverse(reverse(upper(x)) + upper(upper(x)))
  EXPECT_EQ(both(w, "abC d"), "D CBAABC D");
}

// Steps declared before the steps they follow, and two sinks: the output is
// the sinks' in declaration order.
TEST_F(WorkflowGuest, OrdersStepsByTheGraphAndConcatenatesSinksInDeclarationOrder) {
  Workflow w{"shuffled", "default",
             {{"join", "upper", {"b", "a"}},
              {"a", "reverse", {"split"}},
              {"raw", "reverse", {}},
              {"split", "upper", {}},
              {"b", "reverse", {"a"}}}};
  EXPECT_EQ(both(w, "xyz"), "XYZZYXzyx");
}

TEST_F(WorkflowGuest, AFailingStepStopsItNamingTheStep) {
  ASSERT_NE(n_.deploy("fails", "env-args", {{"envVars", {{"EXIT_CODE", "3"}}}}), nullptr);
  Workflow missing{"missing", "default",
                   {{"up", "upper", {}},
                    {"gone", "no-such-fn", {"up"}},
                    {"rev", "reverse", {"gone"}}}};
  WorkflowResult reference = engine(missing, "x");
  ASSERT_FALSE(reference.output.ok());
  EXPECT_EQ(reference.failed_step, "gone");
  auto got = guest("wf-missing", definition(missing), "x");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().message(), "workflow step gone (no-such-fn): cwasi status 1");

  // A callee that ran and failed: its error text follows.
  Workflow failing{"failing", "default", {{"up", "upper", {}}, {"f", "fails", {"up"}}}};
  reference = engine(failing, "x");
  ASSERT_FALSE(reference.output.ok());
  EXPECT_EQ(reference.failed_step, "f");
  got = guest("wf-failing", definition(failing), "x");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().message(),
            "workflow step f (fails): cwasi status 7: " + reference.output.error().message());
}

TEST_F(WorkflowGuest, AMissingOrMalformedDefinitionIsAClearError) {
  std::string many;
  for (int i = 0; i <= 256; ++i) many += "s" + std::to_string(i) + " upper\n";
  const std::vector<std::pair<std::optional<std::string>, std::string>> cases = {
      {std::nullopt, "workflow: CWASI_WORKFLOW is not set"},
      {"", "workflow: CWASI_WORKFLOW has no steps"},
      {"\n  \n", "workflow: CWASI_WORKFLOW has no steps"},
      {"a upper\nlonely\n", "workflow: CWASI_WORKFLOW line 2: expected 'ID TARGET [AFTER ...]'"},
      {"a upper zz", "workflow: CWASI_WORKFLOW: step a follows unknown step zz"},
      {"a upper\na reverse", "workflow: CWASI_WORKFLOW: step id a is used twice"},
      {"a upper\nb upper a a", "workflow: CWASI_WORKFLOW: step b lists a twice"},
      {"a upper b\nb reverse a\nc upper", "workflow: CWASI_WORKFLOW has a cycle"},
      {"a upper a", "workflow: CWASI_WORKFLOW has a cycle"},
      {many, "workflow: CWASI_WORKFLOW has more than 256 steps"},
      {"a upper\nb upper" + std::string(5000, ' ') + "a",
       "workflow: CWASI_WORKFLOW line 2 is longer than 4096 bytes"},
  };
  int i = 0;
  for (const auto& [definition, message] : cases) {
    auto got = guest("bad-" + std::to_string(i++), definition, "x");
    ASSERT_FALSE(got.ok()) << message;
    EXPECT_EQ(got.error().message(), message);
  }
}

}  // namespace
}  // namespace cwasi::node

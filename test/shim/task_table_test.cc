// The shim's task table in-process: Create from real OCI bundles and fifos in
// a temp dir, a stub TaskHost, events recorded in memory.
#include "cwasi/shim/task_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>

#include "shim_fakes.h"

namespace cwasi::shim {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace cwasi::shim::testing;
using runtime::FunctionKind;
using Clock = std::chrono::steady_clock;

class TaskTableTest : public ::testing::Test {
 protected:
  // A bundle <dir>/<id> and the request that creates task `id` from it.
  CreateTask request(const std::string& id, const std::string& extra = "",
                     const std::string& arg0 = "/module.wasm") {
    writeBundle(dir_ / id, arg0, extra);
    CreateTask c;
    c.id = id;
    c.bundle = dir_ / id;
    return c;
  }

  // Waits for `id` to stop, for at most 5 s (then kills it, and fails).
  uint32_t waitFor(const std::string& id) {
    auto exit = std::async(std::launch::async, [&] { return tasks_.wait(id); });
    if (exit.wait_for(5s) != std::future_status::ready) {
      ADD_FAILURE() << id << " did not stop";
      (void)tasks_.kill(id, 9);
    }
    auto e = exit.get();
    return e.ok() ? e->status : 999;
  }

  cwasi::testing::TempDir dir_;
  StubTaskHost host_;
  RecordingEvents events_;
  TaskTable tasks_{host_, events_, 42};
};

TEST_F(TaskTableTest, ATaskLivesThroughTheTableAndEventsComeInOrder) {
  host_.behave(FunctionKind::kCommand, [](runtime::RunContext&) -> Result<int> { return 5; });
  ASSERT_TRUE(tasks_.create(request("t1")).ok());
  auto created = tasks_.status("t1");
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->state, TaskState::kCreated);
  EXPECT_EQ(created->bundle, dir_ / "t1");
  ASSERT_TRUE(tasks_.start("t1").ok());
  EXPECT_EQ(waitFor("t1"), 5u);
  EXPECT_EQ(tasks_.status("t1")->state, TaskState::kStopped);
  auto removed = tasks_.remove("t1");
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed->status, 5u);
  EXPECT_EQ(tasks_.status("t1").error().code(), Code::kNotFound);
  EXPECT_THAT(events_.all(), ElementsAre("create t1", "start t1", "exit t1 5", "delete t1 5"));
}

TEST_F(TaskTableTest, CreateLoadsTheModuleFromTheRootfsUnderADerivedName) {
  ASSERT_TRUE(tasks_.create(request("t1")).ok());
  const auto loaded = host_.loaded();
  ASSERT_TRUE(loaded.contains("task.t1"));
  const host::FunctionSpec& fn = loaded.at("task.t1");
  EXPECT_EQ(fn.module, dir_ / "t1" / "rootfs" / "module.wasm");
  EXPECT_EQ(fn.env, (std::vector<std::pair<std::string, std::string>>{{"A", "1"}}));
  EXPECT_FALSE(fn.publish);
  EXPECT_EQ(fn.trust_domain, "default");
}

TEST_F(TaskTableTest, AnnotationsNameTrustAndPublishTheFunction) {
  const std::string extra = R"("annotations": {"cwasi.io/function": "upper",
                                                "cwasi.io/trust-domain": "team-a"},
                                "linux": {"resources": {"memory": {"limit": 16777216}}})";
  ASSERT_TRUE(tasks_.create(request("t1", extra)).ok());
  const auto loaded = host_.loaded();
  ASSERT_TRUE(loaded.contains("upper"));
  EXPECT_TRUE(loaded.at("upper").publish);
  EXPECT_EQ(loaded.at("upper").trust_domain, "team-a");
  EXPECT_EQ(loaded.at("upper").limits.memory_bytes, 16u << 20);
  EXPECT_EQ(tasks_.status("t1")->memory_limit, 16u << 20);
}

TEST_F(TaskTableTest, OneTaskPerFunctionNameAndPerId) {
  const std::string named = R"("annotations": {"cwasi.io/function": "f"})";
  ASSERT_TRUE(tasks_.create(request("a", named)).ok());
  auto same_function = tasks_.create(request("b", named));
  ASSERT_FALSE(same_function.ok());
  EXPECT_EQ(same_function.error().code(), Code::kAlreadyExists);
  EXPECT_THAT(same_function.error().message(),
              HasSubstr("function f is already task a in this pod"));
  auto same_id = tasks_.create(request("a"));
  ASSERT_FALSE(same_id.ok());
  EXPECT_EQ(same_id.error().code(), Code::kAlreadyExists);
  // Once a is gone, its name is free.
  ASSERT_TRUE(tasks_.remove("a").ok());
  EXPECT_TRUE(tasks_.create(request("b", named)).ok());
}

TEST_F(TaskTableTest, TheModuleMustBeAFileInsideTheRootfs) {
  auto leaves = tasks_.create(request("t1", "", "/../../etc/passwd"));
  ASSERT_FALSE(leaves.ok());
  EXPECT_EQ(leaves.error().code(), Code::kInvalidArgument);
  EXPECT_THAT(leaves.error().message(), HasSubstr("leaves the rootfs"));
  auto missing = tasks_.create(request("t2", "", "/nope.wasm"));
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message(),
              HasSubstr("module /nope.wasm (process.args[0]) not found in the rootfs"));
  EXPECT_TRUE(host_.loaded().empty());
  EXPECT_TRUE(events_.all().empty());
}

TEST_F(TaskTableTest, ALoadErrorNamesTheModule) {
  host_.failNextLoad(invalidArgument("not a wasm module"));
  auto r = tasks_.create(request("t1"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
  EXPECT_THAT(r.error().message(), HasSubstr("module /module.wasm: not a wasm module"));
  EXPECT_EQ(tasks_.status("t1").error().code(), Code::kNotFound);
}

TEST_F(TaskTableTest, UnopenableStdioFailsCreateWithTheCauseAndUnloads) {
  auto c = request("t1");
  c.stdio.stdout_path = (dir_ / "no-such-dir" / "out").string();
  auto r = tasks_.create(c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
  EXPECT_THAT(r.error().message(), HasSubstr("stdout fifo " + c.stdio.stdout_path));
  EXPECT_THAT(r.error().message(), HasSubstr("No such file or directory"));
  EXPECT_TRUE(host_.loaded().empty());
  // The id is free again.
  EXPECT_TRUE(tasks_.create(request("t1")).ok());
}

TEST_F(TaskTableTest, UnknownIdsAreNotFound) {
  EXPECT_EQ(tasks_.start("x").error().code(), Code::kNotFound);
  EXPECT_EQ(tasks_.kill("x", 9).error().code(), Code::kNotFound);
  EXPECT_EQ(tasks_.wait("x").error().code(), Code::kNotFound);
  EXPECT_EQ(tasks_.remove("x").error().code(), Code::kNotFound);
  EXPECT_EQ(tasks_.closeInput("x").error().code(), Code::kNotFound);
  EXPECT_EQ(tasks_.create(CreateTask{}).error().code(), Code::kInvalidArgument);
}

TEST_F(TaskTableTest, ShutdownWaitsForTheLastTaskUnlessNow) {
  ASSERT_TRUE(tasks_.create(request("t1")).ok());
  auto done = std::async(std::launch::async, [&] { tasks_.waitForShutdown(); });
  tasks_.shutdown(false);  // t1 is still there
  EXPECT_EQ(done.wait_for(100ms), std::future_status::timeout);
  ASSERT_TRUE(tasks_.remove("t1").ok());
  tasks_.shutdown(false);
  EXPECT_EQ(done.wait_for(5s), std::future_status::ready);
}

TEST_F(TaskTableTest, ShutdownNowEndsAtOnce) {
  ASSERT_TRUE(tasks_.create(request("t1")).ok());
  tasks_.shutdown(true);
  tasks_.waitForShutdown();
}

// `ctr run --rm IMAGE id < /dev/null`: containerd's stdin writer opened and
// closed before Create; a guest that reads stdin must see its end at once.
TEST_F(TaskTableTest, StdinThatClosedBeforeCreateEndsAtOnce) {
  host_.behave(FunctionKind::kCommand, echoStdin);
  auto c = request("t1");
  c.stdio.stdin_path = makeFifo(dir_ / "in");
  c.stdio.stdout_path = makeFifo(dir_ / "out");
  { Fd writer(::open(c.stdio.stdin_path.c_str(), O_RDWR | O_CLOEXEC)); }
  Fd reader(::open(c.stdio.stdout_path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  ASSERT_TRUE(tasks_.create(c).ok());
  ASSERT_TRUE(tasks_.start("t1").ok());
  EXPECT_EQ(waitFor("t1"), 0u);
  EXPECT_EQ(readUntilEof(reader.get()), "0 bytes: ");
  EXPECT_TRUE(tasks_.remove("t1").ok());
}

TEST_F(TaskTableTest, CloseIOEndsStdinAfterWhatWasWritten) {
  host_.behave(FunctionKind::kCommand, echoStdin);
  auto c = request("t1");
  c.stdio.stdin_path = makeFifo(dir_ / "in");
  c.stdio.stdout_path = makeFifo(dir_ / "out");
  Fd writer(::open(c.stdio.stdin_path.c_str(), O_RDWR | O_CLOEXEC));
  Fd reader(::open(c.stdio.stdout_path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  ASSERT_TRUE(tasks_.create(c).ok());
  ASSERT_EQ(::write(writer.get(), "one two", 7), 7);
  ASSERT_TRUE(tasks_.start("t1").ok());
  ASSERT_TRUE(tasks_.closeInput("t1").ok());
  EXPECT_EQ(waitFor("t1"), 0u);
  EXPECT_EQ(readUntilEof(reader.get()), "7 bytes: one two");
}

TEST_F(TaskTableTest, CwasiHttpPortServesTheFunctionUntilSigterm) {
  host_.behave(FunctionKind::kReactor);
  auto c = request("web");
  // The env is in the spec's process: rewrite it with the port.
  cwasi::testing::writeText(c.bundle / "config.json",
      R"({"process": {"args": ["/module.wasm"], "env": ["CWASI_HTTP_PORT=8081", "CWASI_HTTP_TIMEOUT=2s"]},
          "root": {"path": "rootfs"},
          "linux": {"namespaces": [{"type": "network", "path": "/proc/7/ns/net"}]}})");
  ASSERT_TRUE(tasks_.create(c).ok());
  ASSERT_TRUE(tasks_.start("web").ok());
  for (int i = 0; i < 500 && host_.served().empty(); ++i) std::this_thread::sleep_for(1ms);
  auto served = host_.served();
  ASSERT_EQ(served.size(), 1u);
  EXPECT_EQ(served[0].port, 8081);
  EXPECT_EQ(served[0].timeout, std::chrono::milliseconds(2000));
  EXPECT_EQ(served[0].network_namespace, "/proc/7/ns/net");
  EXPECT_EQ(served[0].function, "task.web");
  ASSERT_TRUE(tasks_.kill("web", 15).ok());
  EXPECT_EQ(waitFor("web"), 143u);  // as a process that ends on SIGTERM
}

TEST_F(TaskTableTest, CwasiCommPortServesRemoteCallsOnThePodsNetwork) {
  auto c = request("far");
  cwasi::testing::writeText(c.bundle / "config.json",
      R"({"process": {"args": ["/module.wasm"], "env": ["CWASI_COMM_PORT=7070"]},
          "root": {"path": "rootfs"},
          "linux": {"namespaces": [{"type": "network", "path": "/proc/7/ns/net"}]}})");
  ASSERT_TRUE(tasks_.create(c).ok());
  EXPECT_EQ(host_.remote(), "/proc/7/ns/net:7070");
  auto bad = request("bad-comm");
  cwasi::testing::writeText(bad.bundle / "config.json",
      R"({"process": {"args": ["/module.wasm"], "env": ["CWASI_COMM_PORT=0"]}, "root": {"path": "rootfs"}})");
  auto r = tasks_.create(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message(), HasSubstr("CWASI_COMM_PORT"));
}

TEST_F(TaskTableTest, ABadHttpPortIsRefusedNamingTheVariable) {
  auto c = request("bad");
  cwasi::testing::writeText(c.bundle / "config.json",
      R"({"process": {"args": ["/module.wasm"], "env": ["CWASI_HTTP_PORT=http"]}, "root": {"path": "rootfs"}})");
  auto r = tasks_.create(c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
  EXPECT_THAT(r.error().message(), HasSubstr("CWASI_HTTP_PORT"));
  EXPECT_TRUE(host_.loaded().empty());
}

// Under Kubernetes a pod's annotations never reach a container's spec: the
// operator says the trust domain in the env instead.
TEST_F(TaskTableTest, CwasiTrustDomainSetsTheTrustDomainUnlessTheAnnotationDoes) {
  auto c = request("env");
  cwasi::testing::writeText(c.bundle / "config.json",
      R"({"process": {"args": ["/module.wasm"], "env": ["CWASI_TRUST_DOMAIN=team-b"]},
          "root": {"path": "rootfs"}})");
  ASSERT_TRUE(tasks_.create(c).ok());
  EXPECT_EQ(host_.loaded().at("task.env").trust_domain, "team-b");

  auto both = request("both");
  cwasi::testing::writeText(both.bundle / "config.json",
      R"({"process": {"args": ["/module.wasm"], "env": ["CWASI_TRUST_DOMAIN=team-b"]},
          "root": {"path": "rootfs"},
          "annotations": {"cwasi.io/trust-domain": "team-a"}})");
  ASSERT_TRUE(tasks_.create(both).ok());
  EXPECT_EQ(host_.loaded().at("task.both").trust_domain, "team-a");
}

// The outbound grants come from cwasi.io/allowed-outbound-hosts or, under
// Kubernetes, CWASI_ALLOWED_OUTBOUND_HOSTS; the annotation wins; neither:
// no outbound access.
TEST_F(TaskTableTest, OutboundGrantsComeFromTheAnnotationOrTheEnv) {
  auto none = request("none");
  ASSERT_TRUE(tasks_.create(none).ok());
  EXPECT_TRUE(host_.loaded().at("task.none").allowed_outbound_hosts.empty());

  auto env = request("env");
  cwasi::testing::writeText(env.bundle / "config.json",
      R"({"process": {"args": ["/module.wasm"],
                      "env": ["CWASI_ALLOWED_OUTBOUND_HOSTS=http://a.example.com, *://localhost:*"]},
          "root": {"path": "rootfs"}})");
  ASSERT_TRUE(tasks_.create(env).ok());
  EXPECT_EQ(host_.loaded().at("task.env").allowed_outbound_hosts.patterns(),
            (std::vector<std::string>{"http://a.example.com", "*://localhost:*"}));

  auto both = request("both");
  cwasi::testing::writeText(both.bundle / "config.json",
      R"({"process": {"args": ["/module.wasm"],
                      "env": ["CWASI_ALLOWED_OUTBOUND_HOSTS=http://a.example.com"]},
          "root": {"path": "rootfs"},
          "annotations": {"cwasi.io/allowed-outbound-hosts": "http://b.example.com"}})");
  ASSERT_TRUE(tasks_.create(both).ok());
  EXPECT_EQ(host_.loaded().at("task.both").allowed_outbound_hosts.patterns(),
            (std::vector<std::string>{"http://b.example.com"}));
}

TEST_F(TaskTableTest, ABadOutboundPatternIsRefusedNamingItAndWhereItCameFrom) {
  struct Case {
    std::string config, where;
  } cases[] = {
      {R"("env": ["CWASI_ALLOWED_OUTBOUND_HOSTS=http://a/b"]}, "root": {"path": "rootfs"}})",
       "CWASI_ALLOWED_OUTBOUND_HOSTS"},
      {R"("env": []}, "root": {"path": "rootfs"},
          "annotations": {"cwasi.io/allowed-outbound-hosts": "http://ok.example.com,http://a/b"}})",
       "cwasi.io/allowed-outbound-hosts"},
  };
  for (const auto& k : cases) {
    auto c = request("bad");
    cwasi::testing::writeText(c.bundle / "config.json",
                              R"({"process": {"args": ["/module.wasm"], )" + k.config);
    auto r = tasks_.create(c);
    ASSERT_FALSE(r.ok()) << k.where;
    EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
    EXPECT_THAT(r.error().message(), HasSubstr(k.where));
    EXPECT_THAT(r.error().message(), HasSubstr("'http://a/b'"));
  }
  EXPECT_TRUE(host_.loaded().empty());
}

TEST_F(TaskTableTest, ABadTrustDomainIsRefusedNamingTheVariable) {
  const std::vector<std::string> bads = {"",    "Team-A", "team_a", "-team",
                                         "team-", "a.b",   std::string(64, 'a')};
  for (const std::string& bad : bads) {
    auto c = request("bad");
    cwasi::testing::writeText(c.bundle / "config.json",
        R"({"process": {"args": ["/module.wasm"], "env": ["CWASI_TRUST_DOMAIN=)" + bad +
            R"("]}, "root": {"path": "rootfs"}, "annotations": {"cwasi.io/trust-domain": "ok"}})");
    auto r = tasks_.create(c);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
    EXPECT_THAT(r.error().message(), HasSubstr("CWASI_TRUST_DOMAIN"));
    EXPECT_THAT(r.error().message(), HasSubstr("'" + bad + "'"));
  }
  EXPECT_TRUE(host_.loaded().empty());
  EXPECT_TRUE(events_.all().empty());
}

TEST_F(TaskTableTest, CwasiMaxInflightCapsTheHttpTrigger) {
  host_.behave(FunctionKind::kReactor);
  auto c = request("web");
  cwasi::testing::writeText(c.bundle / "config.json",
      R"({"process": {"args": ["/module.wasm"],
                      "env": ["CWASI_HTTP_PORT=8081", "CWASI_MAX_INFLIGHT=7"]},
          "root": {"path": "rootfs"}})");
  ASSERT_TRUE(tasks_.create(c).ok());
  ASSERT_TRUE(tasks_.start("web").ok());
  for (int i = 0; i < 500 && host_.served().empty(); ++i) std::this_thread::sleep_for(1ms);
  auto served = host_.served();
  ASSERT_EQ(served.size(), 1u);
  EXPECT_EQ(served[0].max_inflight, 7);
  ASSERT_TRUE(tasks_.kill("web", 15).ok());
  EXPECT_EQ(waitFor("web"), 143u);
}

TEST_F(TaskTableTest, ABadMaxInflightIsRefusedNamingTheVariable) {
  for (const std::string bad : {"", "0", "-1", "10001", "many", "5 "}) {
    for (const std::string port : {"\"CWASI_HTTP_PORT=8081\", ", ""}) {
      auto c = request("bad");
      cwasi::testing::writeText(c.bundle / "config.json",
          R"({"process": {"args": ["/module.wasm"], "env": [)" + port + R"("CWASI_MAX_INFLIGHT=)" +
              bad + R"("]}, "root": {"path": "rootfs"}})");
      auto r = tasks_.create(c);
      ASSERT_FALSE(r.ok()) << bad << " " << port;
      EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
      EXPECT_THAT(r.error().message(), HasSubstr("CWASI_MAX_INFLIGHT"));
      EXPECT_THAT(r.error().message(), HasSubstr("'" + bad + "'"));
    }
  }
  EXPECT_TRUE(host_.loaded().empty());
  EXPECT_TRUE(host_.served().empty());
}

TEST_F(TaskTableTest, CwasiResponseCgiMakesTheTriggerReadCgiOutput) {
  host_.behave(FunctionKind::kReactor);
  const std::vector<std::pair<std::string, bool>> specs = {
      {R"("env": ["CWASI_HTTP_PORT=8081"]}, "annotations": {"cwasi.io/response": "cgi"})", true},
      {R"("env": ["CWASI_HTTP_PORT=8081", "CWASI_RESPONSE=cgi"]})", true},
      {R"("env": ["CWASI_HTTP_PORT=8081", "CWASI_RESPONSE=cgi"]}, "annotations": {"cwasi.io/response": "raw"})", false},
      {R"("env": ["CWASI_HTTP_PORT=8081"]})", false},
  };
  for (size_t i = 0; i < specs.size(); ++i) {
    const std::string id = "web" + std::to_string(i);
    auto c = request(id);
    cwasi::testing::writeText(c.bundle / "config.json",
        R"({"process": {"args": ["/module.wasm"], )" + specs[i].first + R"(, "root": {"path": "rootfs"}})");
    ASSERT_TRUE(tasks_.create(c).ok()) << specs[i].first;
    ASSERT_TRUE(tasks_.start(id).ok());
    for (int k = 0; k < 500 && host_.served().size() <= i; ++k) std::this_thread::sleep_for(1ms);
    auto served = host_.served();
    ASSERT_EQ(served.size(), i + 1);
    EXPECT_EQ(served[i].cgi_response, specs[i].second) << specs[i].first;
    ASSERT_TRUE(tasks_.kill(id, 15).ok());
    EXPECT_EQ(waitFor(id), 143u);
  }
}

TEST_F(TaskTableTest, ABadResponseModeIsRefusedNamingTheAnnotationOrVariable) {
  const std::vector<std::pair<std::string, std::string>> specs = {
      {R"("env": []}, "annotations": {"cwasi.io/response": "wagi"})", "annotation cwasi.io/response"},
      {R"("env": ["CWASI_RESPONSE=CGI"]})", "CWASI_RESPONSE"},
      {R"("env": ["CWASI_RESPONSE=x"]}, "annotations": {"cwasi.io/response": "cgi"})", "CWASI_RESPONSE"},
  };
  for (const auto& [spec, named] : specs) {
    auto c = request("bad");
    cwasi::testing::writeText(c.bundle / "config.json",
        R"({"process": {"args": ["/module.wasm"], )" + spec + R"(, "root": {"path": "rootfs"}})");
    auto r = tasks_.create(c);
    ASSERT_FALSE(r.ok()) << spec;
    EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
    EXPECT_THAT(r.error().message(), HasSubstr(named));
  }
  EXPECT_TRUE(host_.loaded().empty());
}

TEST_F(TaskTableTest, DestroyingTheTableStopsWhatRuns) {
  host_.behave(FunctionKind::kReactor);
  {
    TaskTable tasks(host_, events_, 42);
    ASSERT_TRUE(tasks.create(request("r1")).ok());
    ASSERT_TRUE(tasks.start("r1").ok());
  }
  EXPECT_THAT(events_.all(), ElementsAre("create r1", "start r1", "exit r1 143"));
}

TEST(FunctionName, ComesFromTheAnnotationElseTheEnvElseTheId) {
  oci::RuntimeSpec spec;
  EXPECT_EQ(functionNameFor("web-1", spec), "task.web-1");
  const std::string odd = "id with spaces/and slashes";
  const std::string hashed = functionNameFor(odd, spec);
  EXPECT_EQ(hashed.size(), std::string("task.").size() + 32);
  EXPECT_EQ(hashed, functionNameFor(odd, spec));
  EXPECT_FALSE(givenFunctionName(spec).has_value());
  spec.env.emplace_back("CWASI_FUNCTION", "from-env");  // what a pod spec can set
  EXPECT_EQ(functionNameFor("web-1", spec), "from-env");
  spec.annotations[oci::kAnnotationFunction] = "upper";  // the annotation wins
  EXPECT_EQ(functionNameFor("web-1", spec), "upper");
  EXPECT_EQ(givenFunctionName(spec), "upper");
}

TEST(ModulePath, StaysInsideTheRootfs) {
  cwasi::testing::TempDir dir;
  cwasi::testing::writeText(dir / "m.wasm", "x");
  EXPECT_EQ(*modulePathIn(dir.path(), "/m.wasm"), dir / "m.wasm");
  EXPECT_EQ(*modulePathIn(dir.path(), "m.wasm"), dir / "m.wasm");
  EXPECT_FALSE(modulePathIn(dir.path(), "/a/../m.wasm").ok());
  EXPECT_FALSE(modulePathIn(dir.path(), "/").ok());
  EXPECT_FALSE(modulePathIn(dir.path(), "/missing.wasm").ok());
}

}  // namespace
}  // namespace cwasi::shim

// containerd.task.v2.Task over a real ttrpc socket, as containerd drives it,
// with a stub TaskHost behind: the protobuf translation and the status codes
// that the state machine's refusals become.
#include "cwasi/shim/task_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <google/protobuf/empty.pb.h>

#include <future>

#include "cwasi/common/net.h"
#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"
#include "github.com/containerd/cgroups/stats/v1/metrics.pb.h"
#include "shim_fakes.h"

namespace cwasi::shim {
namespace {

using ::testing::HasSubstr;
using namespace cwasi::shim::testing;
using runtime::FunctionKind;
namespace task = containerd::task::v2;
using google::protobuf::Empty;
constexpr char kService[] = "containerd.task.v2.Task";

class TaskServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    service_.registerMethods(server_);
    const std::string socket = (dir_ / "shim.sock").string();
    auto listener = net::listenUnix(socket);
    ASSERT_TRUE(listener.ok());
    server_.serve(std::move(*listener));
    auto c = TtrpcClient::connect("unix://" + socket, 2s);
    ASSERT_TRUE(c.ok());
    client_ = std::move(*c);
  }

  template <class Resp, class Req>
  Result<Resp> call(const std::string& method, const Req& req) {
    TRY_ASSIGN(std::string payload,
               client_->call(kService, method, req.SerializeAsString(), {}, 10s));
    Resp resp;
    if (!resp.ParseFromString(payload)) return internal("unparsable " + method + " response");
    return resp;
  }

  Result<task::CreateTaskResponse> create(const std::string& id) {
    writeBundle(dir_ / id);
    task::CreateTaskRequest req;
    req.set_id(id);
    req.set_bundle((dir_ / id).string());
    return call<task::CreateTaskResponse>("Create", req);
  }

  task::StateResponse state(const std::string& id) {
    task::StateRequest req;
    req.set_id(id);
    auto r = call<task::StateResponse>("State", req);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : task::StateResponse();
  }

  cwasi::testing::TempDir dir_;
  StubTaskHost host_;
  RecordingEvents events_;
  TaskTable tasks_{host_, events_, 4242};
  TaskService service_{tasks_};
  TtrpcServer server_;
  std::unique_ptr<TtrpcClient> client_;
};

TEST_F(TaskServiceTest, CreateStartWaitDeleteTranslateToAndFromProtobuf) {
  host_.behave(FunctionKind::kCommand, [](runtime::RunContext&) -> Result<int> { return 3; });
  auto created = create("t1");
  ASSERT_TRUE(created.ok()) << created.error().message();
  EXPECT_EQ(created->pid(), 4242u);
  task::StateResponse s = state("t1");
  EXPECT_EQ(s.status(), containerd::v1::types::CREATED);
  EXPECT_EQ(s.bundle(), (dir_ / "t1").string());
  EXPECT_EQ(s.pid(), 4242u);

  task::StartRequest start;
  start.set_id("t1");
  ASSERT_TRUE(call<task::StartResponse>("Start", start).ok());
  task::WaitRequest wait;
  wait.set_id("t1");
  auto waited = call<task::WaitResponse>("Wait", wait);
  ASSERT_TRUE(waited.ok());
  EXPECT_EQ(waited->exit_status(), 3u);
  EXPECT_GT(waited->exited_at().seconds(), 0);
  s = state("t1");
  EXPECT_EQ(s.status(), containerd::v1::types::STOPPED);
  EXPECT_EQ(s.exit_status(), 3u);

  task::PidsRequest pids;
  pids.set_id("t1");
  auto p = call<task::PidsResponse>("Pids", pids);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->processes_size(), 1);
  EXPECT_EQ(p->processes(0).pid(), 4242u);

  task::DeleteRequest del;
  del.set_id("t1");
  auto deleted = call<task::DeleteResponse>("Delete", del);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->exit_status(), 3u);
  EXPECT_EQ(deleted->pid(), 4242u);
}

TEST_F(TaskServiceTest, RefusalsKeepTheirCodesOverTtrpc) {
  host_.behave(FunctionKind::kCommand, loopUntilCancelled);
  ASSERT_TRUE(create("t1").ok());
  task::StartRequest start;
  start.set_id("t1");
  ASSERT_TRUE(call<task::StartResponse>("Start", start).ok());
  EXPECT_EQ(call<task::StartResponse>("Start", start).error().code(), Code::kFailedPrecondition);
  task::DeleteRequest del;
  del.set_id("t1");
  auto refused = call<task::DeleteResponse>("Delete", del);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), Code::kFailedPrecondition);
  EXPECT_THAT(refused.error().message(), HasSubstr("kill it first"));

  task::StartRequest exec;
  exec.set_id("t1");
  exec.set_exec_id("e1");
  EXPECT_EQ(call<task::StartResponse>("Start", exec).error().code(), Code::kUnimplemented);
  task::PauseRequest pause;
  pause.set_id("t1");
  EXPECT_EQ(call<Empty>("Pause", pause).error().code(), Code::kUnimplemented);
  task::ExecProcessRequest exec_process;  // kubectl exec
  exec_process.set_id("t1");
  exec_process.set_exec_id("e1");
  auto no_exec = call<Empty>("Exec", exec_process);
  ASSERT_FALSE(no_exec.ok());
  EXPECT_EQ(no_exec.error().code(), Code::kUnimplemented);
  EXPECT_THAT(no_exec.error().message(), HasSubstr("exec is not supported"));
  task::StateRequest unknown;
  unknown.set_id("nope");
  EXPECT_EQ(call<task::StateResponse>("State", unknown).error().code(), Code::kNotFound);

  task::KillRequest kill;
  kill.set_id("t1");
  kill.set_signal(9);
  ASSERT_TRUE(call<Empty>("Kill", kill).ok());
  task::WaitRequest wait;
  wait.set_id("t1");
  EXPECT_EQ(call<task::WaitResponse>("Wait", wait)->exit_status(), 137u);
  EXPECT_TRUE(call<task::DeleteResponse>("Delete", del).ok());
}

TEST_F(TaskServiceTest, AMalformedRequestIsInvalidArgument) {
  auto r = client_->call(kService, "Create", std::string("\xff\xff\xff", 3), {}, 2s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
}

TEST_F(TaskServiceTest, ConnectAndStatsDescribeTheShim) {
  ASSERT_TRUE(create("t1").ok());
  task::ConnectRequest connect;
  connect.set_id("t1");
  auto c = call<task::ConnectResponse>("Connect", connect);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->shim_pid(), 4242u);
  EXPECT_THAT(c->version(), HasSubstr("cwasi"));
  // Some CPU time for the process to report (clock ticks are 10 ms).
  const auto busy_until = std::chrono::steady_clock::now() + std::chrono::milliseconds(60);
  volatile uint64_t spin = 0;
  while (std::chrono::steady_clock::now() < busy_until) spin = spin + 1;
  task::StatsRequest stats;
  stats.set_id("t1");
  auto st = call<task::StatsResponse>("Stats", stats);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->stats().type_url(), "io.containerd.cgroups.v1.Metrics");
  io::containerd::cgroups::v1::Metrics m;
  ASSERT_TRUE(m.ParseFromString(st->stats().value()));
  EXPECT_GT(m.memory().usage().usage(), 0u);  // the shim's (this process's) resident memory
  EXPECT_GT(m.cpu().usage().total(), 0u);
  EXPECT_EQ(m.cpu().usage().total(), m.cpu().usage().user() + m.cpu().usage().kernel());
}

TEST_F(TaskServiceTest, ShutdownEndsTheServiceOnlyWithoutTasks) {
  ASSERT_TRUE(create("t1").ok());
  auto done = std::async(std::launch::async, [&] { tasks_.waitForShutdown(); });
  task::ShutdownRequest shutdown;
  ASSERT_TRUE(call<Empty>("Shutdown", shutdown).ok());
  EXPECT_EQ(done.wait_for(100ms), std::future_status::timeout);
  task::DeleteRequest del;
  del.set_id("t1");
  ASSERT_TRUE(call<task::DeleteResponse>("Delete", del).ok());
  ASSERT_TRUE(call<Empty>("Shutdown", shutdown).ok());
  EXPECT_EQ(done.wait_for(5s), std::future_status::ready);
}

}  // namespace
}  // namespace cwasi::shim

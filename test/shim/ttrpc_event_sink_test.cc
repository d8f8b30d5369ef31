// The EventSink that forwards to containerd, against an in-process ttrpc
// server standing in for containerd's Events service.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cwasi/common/mutex.h"
#include "cwasi/common/net.h"
#include "cwasi/shim/event_sink.h"
#include "cwasi/shim/ttrpc.h"
#include "github.com/containerd/containerd/api/events/task.pb.h"
#include "github.com/containerd/containerd/api/services/ttrpc/events/v1/events.pb.h"
#include "support/wasi_test.h"

namespace cwasi::shim {
namespace {

using ::testing::ElementsAre;
using namespace std::chrono_literals;

struct Forwarded {
  std::string topic, ns, metadata_ns, type_url, value;
};

// containerd's Events/Forward: records what arrives.
class FakeEvents {
 public:
  explicit FakeEvents(const std::string& socket) {
    server_ = std::make_unique<TtrpcServer>();
    server_->handle("containerd.services.events.ttrpc.v1.Events", "Forward",
                    [this](const std::string& payload, const Metadata& md) -> Result<std::string> {
                      containerd::services::events::ttrpc::v1::ForwardRequest req;
                      if (!req.ParseFromString(payload)) return invalidArgument("bad");
                      Forwarded f{req.envelope().topic(), req.envelope().namespace_(), "",
                                  req.envelope().event().type_url(),
                                  req.envelope().event().value()};
                      for (const auto& [k, v] : md) {
                        if (k == "containerd-namespace-ttrpc") f.metadata_ns = v;
                      }
                      MutexLock lock(mu_);
                      got_.push_back(f);
                      return std::string();
                    });
    ::unlink(socket.c_str());
    auto listener = net::listenUnix(socket);
    EXPECT_TRUE(listener.ok());
    server_->serve(std::move(*listener));
  }

  std::vector<Forwarded> got() {
    MutexLock lock(mu_);
    return got_;
  }
  std::vector<std::string> topics() {
    std::vector<std::string> t;
    for (const auto& f : got()) t.push_back(f.topic);
    return t;
  }

 private:
  Mutex mu_;
  std::vector<Forwarded> got_ GUARDED_BY(mu_);
  std::unique_ptr<TtrpcServer> server_;
};

class TtrpcEventSinkTest : public ::testing::Test {
 protected:
  std::string socket() const { return (dir_ / "events.sock").string(); }
  cwasi::testing::TempDir dir_;
};

TEST_F(TtrpcEventSinkTest, ForwardsEachEventWithItsTopicTypeAndNamespace) {
  FakeEvents containerd(socket());
  auto sink = forwardEventsTo("unix://" + socket(), "k8s.io");
  const WallTime exited = std::chrono::system_clock::from_time_t(1700000000);
  sink->created(
      {"t1", "/bundle", {{"overlay", "overlay", {"lowerdir=/l"}}}, {"i", "o", "e", false}, 7});
  sink->started({"t1", 7});
  sink->exited({"t1", 7, 137, exited});
  sink->deleted({"t1", 7, 137, exited});
  ASSERT_TRUE(sink->flush(std::chrono::steady_clock::now() + 10s));
  const auto got = containerd.got();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_THAT(containerd.topics(),
              ElementsAre("/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete"));
  for (const auto& f : got) {
    EXPECT_EQ(f.ns, "k8s.io");
    EXPECT_EQ(f.metadata_ns, "k8s.io");
  }
  EXPECT_EQ(got[0].type_url, "containerd.events.TaskCreate");
  containerd::events::TaskCreate create;
  ASSERT_TRUE(create.ParseFromString(got[0].value));
  EXPECT_EQ(create.container_id(), "t1");
  EXPECT_EQ(create.bundle(), "/bundle");
  ASSERT_EQ(create.rootfs_size(), 1);
  EXPECT_EQ(create.rootfs(0).options(0), "lowerdir=/l");
  EXPECT_EQ(create.io().stdout(), "o");
  EXPECT_EQ(create.pid(), 7u);
  EXPECT_EQ(got[2].type_url, "containerd.events.TaskExit");
  containerd::events::TaskExit exit;
  ASSERT_TRUE(exit.ParseFromString(got[2].value));
  EXPECT_EQ(exit.container_id(), "t1");
  EXPECT_EQ(exit.id(), "t1");
  EXPECT_EQ(exit.exit_status(), 137u);
  EXPECT_EQ(exit.exited_at().seconds(), 1700000000);
}

// containerd restarting: a task's report never waits for it, and what was
// reported meanwhile arrives once it is back, in order (as containerd's own
// shims requeue their events).
TEST_F(TtrpcEventSinkTest, EventsWaitForARestartedContainerdAndArriveInOrder) {
  auto sink = forwardEventsTo(socket(), "default");
  {
    FakeEvents containerd(socket());
    sink->started({"t1", 1});
    ASSERT_TRUE(sink->flush(std::chrono::steady_clock::now() + 10s));
    EXPECT_EQ(containerd.got().size(), 1u);
  }
  const auto before = std::chrono::steady_clock::now();
  sink->exited({"t1", 1, 0, {}});
  EXPECT_LT(std::chrono::steady_clock::now() - before, 1s);  // queued, not sent
  FakeEvents restarted(socket());
  sink->deleted({"t1", 1, 0, {}});
  ASSERT_TRUE(sink->flush(std::chrono::steady_clock::now() + 10s));
  EXPECT_THAT(restarted.topics(), ElementsAre("/tasks/exit", "/tasks/delete"));
}

// Nobody there at all: each event is tried a few times, then dropped.
TEST_F(TtrpcEventSinkTest, AnEventNobodyTakesIsDroppedAfterItsRetries) {
  auto sink = forwardEventsTo(socket(), "default");
  sink->started({"t1", 1});
  EXPECT_TRUE(sink->flush(std::chrono::steady_clock::now() + 10s));
}

TEST_F(TtrpcEventSinkTest, WithoutAnAddressEventsAreDropped) {
  auto sink = forwardEventsTo("", "default");
  sink->started({"t1", 1});
  sink->exited({"t1", 1, 0, {}});
  EXPECT_TRUE(sink->flush(std::chrono::steady_clock::now()));
}

}  // namespace
}  // namespace cwasi::shim

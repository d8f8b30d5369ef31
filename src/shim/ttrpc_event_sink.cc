// The EventSink of a real shim: each event becomes containerd's protobuf
// event, in an Envelope, sent to containerd's Events/Forward over ttrpc.
#include "cwasi/common/log.h"
#include "cwasi/common/mutex.h"
#include "cwasi/shim/event_sink.h"
#include "cwasi/shim/ttrpc.h"
#include "github.com/containerd/containerd/api/events/task.pb.h"
#include "github.com/containerd/containerd/api/services/ttrpc/events/v1/events.pb.h"
#include "timestamp.h"

namespace cwasi::shim {
namespace {

namespace events = containerd::events;

class TtrpcEventSink : public EventSink {
 public:
  TtrpcEventSink(std::string address, std::string ns)
      : address_(std::move(address)), ns_(std::move(ns)) {}

  void created(const TaskCreated& e) override {
    events::TaskCreate ev;
    ev.set_container_id(e.id);
    ev.set_bundle(e.bundle);
    for (const auto& m : e.rootfs) {
      auto* pm = ev.add_rootfs();
      pm->set_type(m.type);
      pm->set_source(m.source);
      for (const auto& o : m.options) pm->add_options(o);
    }
    ev.mutable_io()->set_stdin(e.stdio.stdin_path);
    ev.mutable_io()->set_stdout(e.stdio.stdout_path);
    ev.mutable_io()->set_stderr(e.stdio.stderr_path);
    ev.mutable_io()->set_terminal(e.stdio.terminal);
    ev.set_pid(e.pid);
    forward("/tasks/create", "containerd.events.TaskCreate", ev);
  }

  void started(const TaskStarted& e) override {
    events::TaskStart ev;
    ev.set_container_id(e.id);
    ev.set_pid(e.pid);
    forward("/tasks/start", "containerd.events.TaskStart", ev);
  }

  void exited(const TaskExited& e) override {
    events::TaskExit ev;
    ev.set_container_id(e.id);
    ev.set_id(e.id);
    ev.set_pid(e.pid);
    ev.set_exit_status(e.exit_status);
    setTimestamp(ev.mutable_exited_at(), e.exited_at);
    forward("/tasks/exit", "containerd.events.TaskExit", ev);
  }

  void deleted(const TaskDeleted& e) override {
    events::TaskDelete ev;
    ev.set_container_id(e.id);
    ev.set_id(e.id);
    ev.set_pid(e.pid);
    ev.set_exit_status(e.exit_status);
    setTimestamp(ev.mutable_exited_at(), e.exited_at);
    forward("/tasks/delete", "containerd.events.TaskDelete", ev);
  }

 private:
  // Best effort: a task does not fail because containerd is away (e.g.
  // restarting); one reconnection is tried per event.
  void forward(const std::string& topic, const std::string& type,
               const google::protobuf::Message& event) EXCLUDES(mu_) {
    if (address_.empty()) return;
    containerd::services::events::ttrpc::v1::ForwardRequest req;
    auto* env = req.mutable_envelope();
    setNow(env->mutable_timestamp());
    env->set_namespace_(ns_);
    env->set_topic(topic);
    env->mutable_event()->set_type_url(type);
    env->mutable_event()->set_value(event.SerializeAsString());
    const std::string payload = req.SerializeAsString();
    // Held across the call: events leave in the order they were reported.
    MutexLock lock(mu_);
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!client_) {
        auto c = TtrpcClient::connect(address_, std::chrono::seconds(2));
        if (!c.ok()) {
          CWASI_LOG(kWarn, "events: " << c.error().message());
          return;
        }
        client_ = std::move(*c);
      }
      auto r = client_->call("containerd.services.events.ttrpc.v1.Events", "Forward", payload,
                             {{"containerd-namespace-ttrpc", ns_}}, std::chrono::seconds(5));
      if (r.ok()) return;
      CWASI_LOG(kWarn, "events: " << topic << ": " << r.error().message());
      client_.reset();
    }
  }

  const std::string address_;
  const std::string ns_;
  Mutex mu_;
  std::unique_ptr<TtrpcClient> client_ GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<EventSink> forwardEventsTo(std::string ttrpc_address, std::string ns) {
  return std::make_unique<TtrpcEventSink>(std::move(ttrpc_address), std::move(ns));
}

}  // namespace cwasi::shim

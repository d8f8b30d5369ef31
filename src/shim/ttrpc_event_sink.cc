// The EventSink of a real shim: each event becomes containerd's protobuf
// event, in an Envelope, sent to containerd's Events/Forward over ttrpc.
#include <deque>
#include <thread>

#include "cwasi/common/executor.h"
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

 bool flush(std::chrono::steady_clock::time_point deadline) override EXCLUDES(mu_) {
    MutexLock lock(mu_);
    while (!queue_.empty() || sending_) {
      if (!changed_.waitUntil(mu_, deadline) && Clock::now() >= deadline) return false;
    }
    return true;
  }

  ~TtrpcEventSink() override {
    (void)flush(Clock::now() + kFlushAtExit);
    {
      MutexLock lock(mu_);
      stopping_ = true;
      changed_.notifyAll();
    }
    if (sender_.joinable()) sender_.join();
  }

 private:
  using Clock = std::chrono::steady_clock;
  // As containerd's own shims: an event that cannot be sent is tried again,
  // a little later each time, then dropped (and said so); the others wait
  // behind it, so they leave in the order they were reported.
  static constexpr int kMaxAttempts = 5;
  static constexpr auto kRetryStep = std::chrono::milliseconds(200);
  static constexpr size_t kMaxQueued = 4096;
  static constexpr auto kFlushAtExit = std::chrono::seconds(2);

  struct Pending {
    std::string topic;
    std::string payload;
    int attempts = 0;
  };

  // Queues the event (never blocks on containerd): a task's start and
  // delete do not wait for the connection or the call.
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
    MutexLock lock(mu_);
    if (queue_.size() >= kMaxQueued) {
      CWASI_LOG(kWarn, "events: " << kMaxQueued << " events wait for containerd; dropped " << topic);
      return;
    }
    queue_.push_back({topic, req.SerializeAsString(), 0});
    if (!sender_.joinable() && !stopping_) {
      auto t = defaultThreadStarter()([this] { sendLoop(); });
      if (!t.ok()) {
        CWASI_LOG(kWarn, "events: " << t.error().message() << "; dropped " << topic);
        queue_.pop_back();
        return;
      }
      sender_ = std::move(*t);
    }
    changed_.notifyAll();
  }

  void sendLoop() EXCLUDES(mu_) {
    MutexLock lock(mu_);
    for (;;) {
      while (queue_.empty() && !stopping_) changed_.wait(mu_);
      if (stopping_) {  // the flush at the end had its time
        if (!queue_.empty()) CWASI_LOG(kWarn, "events: " << queue_.size() << " not delivered at exit");
        queue_.clear();
        changed_.notifyAll();
        return;
      }
      sending_ = true;
      const std::string payload = queue_.front().payload;
      mu_.unlock();
      Result<void> sent = send(payload);
      mu_.lock();
      sending_ = false;
      Pending& front = queue_.front();
      if (sent.ok()) {
        queue_.pop_front();
      } else if (++front.attempts >= kMaxAttempts) {
        CWASI_LOG(kWarn, "events: " << front.topic << " dropped after " << front.attempts
                                    << " attempt(s): " << sent.error().message());
        queue_.pop_front();
      } else {
        // The wait before the next try (woken early by a stop).
        const auto retry_at = Clock::now() + kRetryStep * front.attempts;
        while (!stopping_ && Clock::now() < retry_at) changed_.waitUntil(mu_, retry_at);
      }
      changed_.notifyAll();  // flush() re-checks
    }
  }

  // One attempt, on the sender's thread only: connects when there is no
  // connection.
  Result<void> send(const std::string& payload) {
    if (!client_) {
      TRY_ASSIGN(client_, TtrpcClient::connect(address_, std::chrono::seconds(2)));
    }
    auto r = client_->call("containerd.services.events.ttrpc.v1.Events", "Forward", payload,
                           {{"containerd-namespace-ttrpc", ns_}}, std::chrono::seconds(5));
    if (!r.ok()) {
      client_.reset();
      return std::move(r).error();
    }
    return {};
  }

  const std::string address_;
  const std::string ns_;
  Mutex mu_;
  CondVar changed_;  // queued, sent, dropped, or stopping
  std::deque<Pending> queue_ GUARDED_BY(mu_);
  bool sending_ GUARDED_BY(mu_) = false;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::unique_ptr<TtrpcClient> client_;  // the sender thread's only
  std::thread sender_;                    // started with the first event
};

}  // namespace

std::unique_ptr<EventSink> forwardEventsTo(std::string ttrpc_address, std::string ns) {
  return std::make_unique<TtrpcEventSink>(std::move(ttrpc_address), std::move(ns));
}

}  // namespace cwasi::shim

// Where a task's lifecycle events go. containerd wants /tasks/create,
// /tasks/start, /tasks/exit and /tasks/delete, in that order, for every task;
// the shim's tasks report each as it happens, to an EventSink. The shim's
// sink forwards them to containerd's Events service over ttrpc; tests record
// them in memory.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cwasi/shim/mounts.h"
#include "cwasi/shim/stdio.h"

namespace cwasi::shim {

using WallTime = std::chrono::system_clock::time_point;

struct TaskCreated {
  std::string id;
  std::string bundle;
  std::vector<Mount> rootfs;
  StdioPaths stdio;
  uint32_t pid = 0;
};

struct TaskStarted {
  std::string id;
  uint32_t pid = 0;
};

struct TaskExited {
  std::string id;
  uint32_t pid = 0;
  uint32_t exit_status = 0;
  WallTime exited_at;
};

struct TaskDeleted {
  std::string id;
  uint32_t pid = 0;
  uint32_t exit_status = 0;
  WallTime exited_at;
};

// Implementations are thread-safe: tasks report from the threads that serve
// containerd's calls and from their own runner threads. Each call returns
// once the event is on its way (or dropped): a task never fails because its
// events cannot be delivered.
class EventSink {
 public:
  virtual ~EventSink() = default;

  // A task was created (it is in the shim's table).
  virtual void created(const TaskCreated& event) = 0;
  // A task's function started.
  virtual void started(const TaskStarted& event) = 0;
  // A task stopped: its main returned, it was killed, or it failed.
  virtual void exited(const TaskExited& event) = 0;
  // A task was deleted.
  virtual void deleted(const TaskDeleted& event) = 0;
  // Waits (on a condition) until every event reported so far was delivered
  // or dropped, or `deadline`; false on timeout.
  virtual bool flush(std::chrono::steady_clock::time_point deadline) { return true; }
};

// Forwards events to containerd's Events service
// (containerd.services.events.ttrpc.v1.Events/Forward) at `ttrpc_address`,
// in namespace `ns`: queued (at most 4,096), sent in order by one sender
// thread, each tried up to five times with a growing wait (containerd
// restarting), reconnecting as needed; the sink's end flushes for up to 2 s.
// An empty address drops every event. (ttrpc_event_sink.cc)
std::unique_ptr<EventSink> forwardEventsTo(std::string ttrpc_address, std::string ns);

}  // namespace cwasi::shim

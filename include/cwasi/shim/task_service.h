// containerd's Task service (containerd.task.v2.Task) over ttrpc: each
// method's protobuf request becomes a call on the shim's TaskTable, and its
// result (or Error) the response. Translation only: what a method may do to
// a task in which state is the task's (task.h).
//
// Exec, Pause, Resume, Checkpoint, Update and ResizePty are not served: they
// answer Unimplemented.
#pragma once

#include "cwasi/shim/task_table.h"
#include "cwasi/shim/ttrpc.h"

namespace cwasi::shim {

class TaskService {
 public:
  // `tasks` is borrowed and outlives the service (and the server it
  // registers with).
  explicit TaskService(TaskTable& tasks) : tasks_(tasks) {}

  // Registers containerd.task.v2.Task's methods with `server`.
  void registerMethods(TtrpcServer& server);

 private:
  TaskTable& tasks_;
};

}  // namespace cwasi::shim

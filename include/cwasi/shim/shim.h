// The shim binary, containerd-shim-cwasi-v1: `start` (spawn or reuse the
// serving shim of a pod, print its address), `delete` (clean up after a
// shim containerd cannot reach), and the serving process, which wires a
// TaskHost, an EventSink, the TaskTable and the TaskService to a ttrpc
// server on the socket `start` handed down.
#pragma once

#include <string>
#include <vector>

namespace cwasi::shim {

// `containerd-shim-cwasi-v1 [flags] start|delete`, or serve; the exit code.
int shimMain(const std::vector<std::string>& args);

}  // namespace cwasi::shim

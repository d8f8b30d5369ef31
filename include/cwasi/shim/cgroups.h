// The pod's cgroup, for the shim itself. runc puts a pod's processes into
// the cgroup that kubelet names in the sandbox spec (linux.cgroupsPath); the
// cwasi shim runs the pod's guests in its own process, so the shim joins that
// cgroup: the node's accounting, the pod's limits, and eviction see the
// functions. cgroup v1 (what kubelet uses on this kind of host): the path is
// made in every hierarchy under the cgroup root and the process moved there.
#pragma once

#include <filesystem>
#include <string>
#include <sys/types.h>

#include "cwasi/common/result.h"

namespace cwasi::shim {

// Moves process `pid` (all its threads) into `cgroups_path` of every v1
// hierarchy mounted under `root`, creating the directories (a new cpuset
// directory gets its parent's cpus and mems, or it could hold no process).
// Internal naming the hierarchy that refused.
Result<void> joinCgroup(const std::string& cgroups_path, pid_t pid,
                        const std::filesystem::path& root = "/sys/fs/cgroup");

}  // namespace cwasi::shim

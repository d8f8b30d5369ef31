// The OCI runtime bundle a container runtime gets: <bundle>/config.json (the
// runtime spec) and the root filesystem. Only what a Wasm task needs is read:
// the process (args, env, cwd), the root path, the memory limit, the pod's
// network namespace and cgroup, and the annotations.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "cwasi/common/result.h"

namespace cwasi::oci {

// Annotations cwasi reads from a container's spec.
inline constexpr char kAnnotationFunction[] = "cwasi.io/function";        // name for cwasi.call
inline constexpr char kAnnotationTrustDomain[] = "cwasi.io/trust-domain";  // embedding boundary
// Comma-separated destinations of its outbound HTTP (Spin's allowed_outbound_hosts syntax).
inline constexpr char kAnnotationAllowedOutboundHosts[] = "cwasi.io/allowed-outbound-hosts";
inline constexpr char kAnnotationSandboxId[] = "io.kubernetes.cri.sandbox-id";  // the pod
// "sandbox" for a pod's sandbox (what runc runs /pause for), "container" for its containers.
inline constexpr char kAnnotationContainerType[] = "io.kubernetes.cri.container-type";

struct RuntimeSpec {
  std::vector<std::string> args;  // process.args; args[0] is the module's path in the rootfs
  std::vector<std::pair<std::string, std::string>> env;
  std::string cwd = "/";
  std::filesystem::path root;  // absolute: bundle / root.path
  bool root_readonly = false;
  uint64_t memory_limit = 0;   // linux.resources.memory.limit; 0 = none
  // linux.namespaces' network entry's path: the pod's network namespace that
  // CNI set up ("" when none is given: the host's, or a new one).
  std::filesystem::path network_namespace;
  std::string cgroups_path;    // linux.cgroupsPath ("" = none)
  std::map<std::string, std::string> annotations;

  // A CRI pod sandbox, not a Wasm container.
  bool isPodSandbox() const {
    auto it = annotations.find(kAnnotationContainerType);
    return it != annotations.end() && it->second == "sandbox";
  }
};

// Reads <bundle>/config.json. InvalidArgument names what is missing.
Result<RuntimeSpec> readRuntimeSpec(const std::filesystem::path& bundle);
// Parses a config.json text (root resolved against `bundle`).
Result<RuntimeSpec> parseRuntimeSpec(std::string_view json_text, const std::filesystem::path& bundle);

}  // namespace cwasi::oci

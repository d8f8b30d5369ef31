// The OCI runtime bundle a container runtime gets: <bundle>/config.json (the
// runtime spec) and the root filesystem. Only what a Wasm task needs is read:
// the process (args, env, cwd), the root path, the memory limit and the
// annotations.
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
inline constexpr char kAnnotationSandboxId[] = "io.kubernetes.cri.sandbox-id";  // the pod

struct RuntimeSpec {
  std::vector<std::string> args;  // process.args; args[0] is the module's path in the rootfs
  std::vector<std::pair<std::string, std::string>> env;
  std::string cwd = "/";
  std::filesystem::path root;  // absolute: bundle / root.path
  bool root_readonly = false;
  uint64_t memory_limit = 0;   // linux.resources.memory.limit; 0 = none
  std::map<std::string, std::string> annotations;
};

// Reads <bundle>/config.json. InvalidArgument names what is missing.
Result<RuntimeSpec> readRuntimeSpec(const std::filesystem::path& bundle);
// Parses a config.json text (root resolved against `bundle`).
Result<RuntimeSpec> parseRuntimeSpec(std::string_view json_text, const std::filesystem::path& bundle);

}  // namespace cwasi::oci

// A function deployment as the daemon's API takes it: OpenFaaS's
// FunctionDeployment JSON ("service", "image" — an absolute path on the
// daemon's host or an image reference —, "envVars", "labels",
// "annotations", "limits.memory") with the scaling labels it knows
// (com.openfaas.scale.min/max/target/zero/zero-duration), plus cwasi's own
// fields, which win over labels when both are given:
//   minScale, maxScale, targetConcurrency, maxInflight, timeout ("30s" or ms),
//   scaleToZeroAfter, public (invocation without the token), trustDomain.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "cwasi/common/result.h"

namespace cwasi::node {

struct Deployment {
  std::string name;
  std::string image;   // what the user gave: module path, OCI image tarball or reference
  std::string module;  // the stored module the daemon loads (state dir)
  std::string digest;  // sha256 of the module
  std::string image_digest;  // an image reference's manifest digest when deployed ("sha256:...")
  std::map<std::string, std::string> env;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::string trust_domain = "default";
  uint64_t memory_bytes = 0;               // 0: the engine's cap
  std::chrono::milliseconds timeout{0};    // 0: the daemon's default
  int min_scale = 1;
  int max_scale = 20;
  int target_concurrency = 10;             // in-flight requests per replica
  int max_inflight = 0;                    // 0: max_scale * target_concurrency
  std::chrono::milliseconds scale_to_zero_after{15 * 60 * 1000};
  bool is_public = true;

  int inflightCap() const { return max_inflight > 0 ? max_inflight : max_scale * target_concurrency; }
};

// Parses and validates; InvalidArgument names the offending field.
Result<Deployment> parseDeployment(const nlohmann::json& j);
// The stored form (parseDeployment reads it back, "module"/"digest" included).
nlohmann::json toJson(const Deployment& d);

// "64Mi", "128M", "1Gi", "1048576" -> bytes.
Result<uint64_t> parseByteSize(const std::string& s);
// "30s", "500ms", "5m", "1h", "250" (ms) -> milliseconds.
Result<std::chrono::milliseconds> parseDuration(const std::string& s);
// A DNS-1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, up to 63 — the function
// names OpenFaaS and Kubernetes accept (so never "." or "..").
bool dns1123Label(std::string_view name);

}  // namespace cwasi::node

// A function deployment as the daemon's API takes it: OpenFaaS's
// FunctionDeployment JSON (faas-provider's types: "service", "image" (an
// absolute path on the daemon's host or an image reference),
// "namespace", "envProcess", "envVars", "secrets", "labels", "annotations",
// "limits"/"requests" {memory, cpu}, "readOnlyRootFilesystem") with the
// scaling labels it knows (com.openfaas.scale.min/max/target/type/zero/
// zero-duration), plus cwasi's own fields, which win over labels when both
// are given:
//   minScale, maxScale, targetConcurrency, maxInflight, timeout ("30s" or ms),
//   scaleToZeroAfter, public (invocation without the token), trustDomain,
//   allowedOutboundHosts (Spin's syntax, see comm/outbound.h; none: no
//   outbound HTTP at all).
// Annotations it reads: cwasi.io/response ("cgi" or "raw", see cgi.h).
// A field cwasid does not know or cannot honour ("constraints": one node has
// nothing to place) is refused, naming it, never dropped.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "cwasi/common/names.h"
#include "cwasi/common/result.h"
#include "cwasi/trigger/cgi.h"

namespace cwasi::node {

// The one namespace cwasid has (OpenFaaS's default for functions).
inline constexpr char kFunctionNamespace[] = "openfaas-fn";

// OK for "" or kFunctionNamespace; else InvalidArgument naming both.
Result<void> checkNamespace(std::string_view ns);

// What scaling follows: requests in flight per replica (OpenFaaS's
// "capacity", Knative's concurrency) or requests per second per replica.
enum class ScaleMetric { kCapacity, kRps };

// A resource list as submitted ("64Mi", "500m"), echoed back as given.
struct Resources {
  std::string memory;
  std::string cpu;
};

struct Deployment {
  std::string name;
  std::string image;   // what the user gave: module path, OCI image tarball or reference
  std::string module;  // the stored module the daemon loads (state dir)
  std::string digest;  // sha256 of the module
  std::string image_digest;  // an image reference's manifest digest when deployed ("sha256:...")
  std::map<std::string, std::string> env;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  // From the cwasi.io/response annotation: how the function's output
  // becomes the HTTP response.
  trigger::ResponseMode response = trigger::ResponseMode::kRaw;
  std::vector<std::string> secrets;  // files under /var/openfaas/secrets
  std::string env_process;           // OpenFaaS's fprocess: the function's argv[0]
  Resources limits;
  Resources requests;                // recorded; one node schedules nothing by them
  bool read_only_root_filesystem = false;  // a function never has a writable root
  std::string created_at;            // RFC 3339, set on first deploy, kept by updates
  std::string trust_domain = "default";
  // Patterns as given, each checked by comm::parseOutboundGrant.
  std::vector<std::string> allowed_outbound_hosts;
  uint64_t memory_bytes = 0;               // limits.memory; 0: the engine's cap
  int cpu_millis = 0;                      // limits.cpu; 0: no cap
  std::chrono::milliseconds timeout{0};    // 0: the daemon's default
  int min_scale = 1;
  int max_scale = 20;
  ScaleMetric scale_metric = ScaleMetric::kCapacity;
  int target_concurrency = 10;             // per replica: in flight, or requests/s
  int max_inflight = 0;                    // 0: max_scale * target_concurrency
  std::chrono::milliseconds scale_to_zero_after{15 * 60 * 1000};
  bool is_public = true;

  // In flight at once: maxInflight, else max_scale * target (capacity); a
  // CPU limit caps it at ceil(cpu) since an invocation runs on one thread.
  int inflightCap() const;
};

// Parses and validates; InvalidArgument names the offending field.
Result<Deployment> parseDeployment(const nlohmann::json& j);
// The stored form (parseDeployment reads it back, "module"/"digest" included).
nlohmann::json toJson(const Deployment& d);

// "64Mi", "128M", "1Gi", "1048576" -> bytes.
Result<uint64_t> parseByteSize(const std::string& s);
// "500m", "1", "1.5" (cores) -> millicores, as Kubernetes writes CPU.
Result<int> parseCpu(const std::string& s);
// "30s", "500ms", "5m", "1h", "250" (ms) -> milliseconds.
Result<std::chrono::milliseconds> parseDuration(const std::string& s);
// The one check of a function's or secret's name at every entry point
// (deploy, update, delete, secrets create/update/delete): InvalidArgument
// naming `kind` unless `name` is a DNS-1123 label.
Result<void> checkName(std::string_view kind, const std::string& name);

}  // namespace cwasi::node

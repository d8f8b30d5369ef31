// The OCI distribution client's HTTP (oci::RegistryTransport) over the
// node's plain-HTTP client: one implementation for `cwasi image push|pull`
// and for cwasid's pulls. It authenticates as docker's registry clients do:
// a 401 with `WWW-Authenticate: Basic` is retried with the credentials; one
// with `Bearer realm=...,service=...,scope=...` sends them (Basic) to the
// realm for a token and retries with that. What worked is sent up front on
// the next requests. Each request and the whole session are bounded in time
// and in response bytes.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "cwasi/common/result.h"
#include "cwasi/oci/distribution.h"

namespace cwasi::node {

struct RegistryCredentials {
  std::string username;
  std::string password;
};

struct RegistryTransportOptions {
  // For the registry this transport speaks to; none: anonymous.
  std::optional<RegistryCredentials> credentials;
  std::chrono::milliseconds request_timeout{120000};  // each request
  // All requests together (a pull); none: only each request is bounded.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  uint64_t max_bytes = UINT64_MAX;  // response bodies, all requests together
};

// Not thread-safe: one per pull or push.
class PlainHttpRegistryTransport : public oci::RegistryTransport {
 public:
  explicit PlainHttpRegistryTransport(RegistryTransportOptions options)
      : options_(std::move(options)) {}
  // Unavailable (naming the host) when the registry cannot be reached or
  // does not answer in time; ResourceExhausted past max_bytes;
  // PermissionDenied when a token realm refuses the credentials.
  Result<oci::RegistryResponse> send(const oci::RegistryRequest& request) override;

 private:
  Result<oci::RegistryResponse> fetch(const oci::RegistryRequest& request,
                                      const std::string& authorization);
  // A token from the realm of a Bearer challenge: "Bearer <token>".
  Result<std::string> bearer(const std::string& challenge, const std::string& registry);

  RegistryTransportOptions options_;
  uint64_t received_ = 0;
  std::string authorization_;  // the Authorization that worked last
};

}  // namespace cwasi::node

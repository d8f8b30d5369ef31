// Images from a registry, as cwasid deploys them: a deployment's `image`
// that is not an absolute path is an image reference, normalised as docker
// does ("fn/upper:v1" is docker.io/fn/upper:v1), resolved to its digest
// through the operator's mirrors (then the registry itself), and pulled
// only when the state dir holds no module for that digest yet.
//
// The operator's registry configuration (cwasid --registry-config FILE) is
// docker's config.json shape, plus containerd-style mirrors:
//   {"auths":   {"HOST[:PORT]": {"auth": "<base64 of user:pass>"}
//                            or {"username": "U", "password": "P"}},
//    "mirrors": {"docker.io": ["http://127.0.0.1:5000"]}}
// Credentials go only to the host they are configured for (a mirror has its
// own entry). Only plain HTTP is spoken: mirrors are http:// endpoints, and
// a registry without a mirror is reached at http://HOST.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "cwasi/common/mutex.h"
#include "cwasi/common/result.h"
#include "cwasi/node/registry_transport.h"
#include "cwasi/node/state.h"

namespace cwasi::node {

struct RegistryConfig {
  // Registry (as references name it: "docker.io", "r.example:5000") → the
  // hosts ("127.0.0.1:5000") tried first, in order.
  std::map<std::string, std::vector<std::string>> mirrors;
  std::map<std::string, RegistryCredentials> auths;  // host[:port] → credentials
  std::chrono::milliseconds pull_timeout{120000};    // one deployment's pull, all requests
  // Downloads at once (containerd's max_concurrent_downloads is 3); more
  // wait for one to end, within their pull timeout.
  size_t max_concurrent_pulls = 3;
};

// InvalidArgument naming the offending field.
Result<RegistryConfig> parseRegistryConfig(std::string_view json_text);
Result<RegistryConfig> loadRegistryConfig(const std::filesystem::path& file);

// An absolute path is a file on the daemon's host; anything else names an
// image in a registry.
bool isImageReference(std::string_view image);

// Thread-safe: each pull has its own transport; the state dir is only read
// (records are written whole, by rename).
class ImagePuller {
 public:
  // `state` must outlive the puller.
  ImagePuller(RegistryConfig config, const StateDir& state) : config_(std::move(config)), state_(state) {}

  struct Pulled {
    std::string digest;           // the image's (manifest or index) digest
    std::vector<uint8_t> module;  // the module it holds
    bool from_cache = false;      // read from the state dir, no blob downloaded
  };
  // The module `image` names, at most `max_bytes` pulled. Errors name the
  // image and the registry: InvalidArgument (a bad reference, a docker.io
  // name without a mirror, not a Wasm image), NotFound (no such repository or tag), PermissionDenied (refused
  // credentials, or none where needed), Unavailable (unreachable, too slow),
  // ResourceExhausted (too large).
  // A pull that downloads waits for one of the max_concurrent_pulls slots.
  Result<Pulled> pull(std::string_view image, uint64_t max_bytes) const;

 private:
  // A download slot, taken until `deadline`; Unavailable when none frees.
  Result<void> takeSlot(std::chrono::steady_clock::time_point deadline) const;
  void giveSlot() const;

  RegistryConfig config_;
  const StateDir& state_;
  mutable Mutex mu_;
  mutable CondVar slot_freed_;
  mutable size_t downloading_ GUARDED_BY(mu_) = 0;
};

}  // namespace cwasi::node

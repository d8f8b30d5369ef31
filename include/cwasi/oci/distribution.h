// The OCI distribution API, client side: push the image of an OCI image layout
// tarball (what `cwasi image build` writes) to a registry, and pull an image
// from one into such a tarball. Blobs are uploaded once (HEAD first), in one
// monolithic PUT each; everything pulled is checked against its digest.
// HTTP itself is behind RegistryTransport, so that this layer needs no
// network code of its own (the CLI gives it the daemon's client) and tests
// can see every request.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cwasi/common/result.h"

namespace cwasi::oci {

// "127.0.0.1:5000/fn/upper:v1", "registry.example/team/app@sha256:...".
struct ImageReference {
  // host[:port]: the registry the requests go to (a pull from a mirror
  // copies the reference with the mirror's host here).
  std::string registry;
  std::string repository;  // path components, lowercase
  std::string reference;   // a tag ("latest" when none is given) or "sha256:<hex>"
  std::string toString() const;
  // The tag, or "" when the reference is a digest.
  std::string tag() const;
};
// A reference with an explicit registry (no implicit docker.io: the CLI
// pushes where it is told); InvalidArgument naming what is wrong.
Result<ImageReference> parseImageReference(std::string_view text);
// A name as docker and containerd take it: the first component is a registry
// only when it holds '.' or ':' or is "localhost"; otherwise the image is
// docker.io's, under library/ when it has one component
// ("fn/upper:v1" -> docker.io/fn/upper:v1, "x" -> docker.io/library/x:latest).
Result<ImageReference> normalizeImageReference(std::string_view text);
// A tag as the distribution spec allows it: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}.
bool validTag(std::string_view tag);

struct RegistryRequest {
  std::string method;  // GET, HEAD, POST, PUT
  std::string url;     // absolute: http://host:port/v2/...
  std::vector<std::pair<std::string, std::string>> headers;
  std::span<const uint8_t> body;
};

struct RegistryResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // Content-Type among them
  std::vector<uint8_t> body;
  // The first header of that name (case-insensitive), or "".
  std::string header(std::string_view name) const;
};

class RegistryTransport {
 public:
  virtual ~RegistryTransport() = default;
  // One request; any status is a success, Unavailable when the registry
  // cannot be reached.
  virtual Result<RegistryResponse> send(const RegistryRequest& request) = 0;
};

// Pushes the image `tarball` holds under `ref`; returns the digest of what
// the reference now names (the manifest, or the index of several).
Result<std::string> pushImage(std::span<const uint8_t> tarball, const ImageReference& ref,
                              RegistryTransport& http);

// The digest of what `ref` names now (the manifest, or the index of
// several): from a HEAD of the manifest, or a GET when the registry gives no
// Docker-Content-Digest. A digest reference is its own answer; no blob is
// fetched. NotFound when the registry has no such image.
Result<std::string> resolveDigest(const ImageReference& ref, RegistryTransport& http);

// Pulls `ref` (for an index: its wasm/wasip1 manifest, else linux/amd64, else
// the first) into an OCI image layout tarball.
Result<std::vector<uint8_t>> pullImage(const ImageReference& ref, RegistryTransport& http);

}  // namespace cwasi::oci

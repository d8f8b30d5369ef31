// Wasm functions as OCI images: reading the module out of an OCI image layout
// tarball (what `ctr image export` and `cwasi image build` write), and writing
// one. Two shapes are understood:
//   - the Wasm artifact: a layer of media type application/wasm or
//     application/vnd.wasm.content.layer.v1+wasm whose blob is the module;
//   - the compat variant (annotation module.wasm.image/variant=compat): an
//     ordinary tar(+gzip) layer holding the module, named by the image
//     config's Entrypoint, or the only *.wasm file in it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "cwasi/common/result.h"

namespace cwasi::oci {

inline constexpr char kMediaTypeWasm[] = "application/wasm";
inline constexpr char kMediaTypeWasmLayer[] = "application/vnd.wasm.content.layer.v1+wasm";
inline constexpr char kMediaTypeWasmConfig[] = "application/vnd.wasm.config.v0+json";
inline constexpr char kMediaTypeManifest[] = "application/vnd.oci.image.manifest.v1+json";
inline constexpr char kMediaTypeIndex[] = "application/vnd.oci.image.index.v1+json";
inline constexpr char kMediaTypeConfig[] = "application/vnd.oci.image.config.v1+json";
inline constexpr char kMediaTypeLayerGzip[] = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr char kAnnotationVariant[] = "module.wasm.image/variant";
inline constexpr char kAnnotationRefName[] = "org.opencontainers.image.ref.name";

// The module an image carries.
struct WasmImage {
  std::vector<uint8_t> module;
  std::string module_path;                       // its path in the layer ("" for an artifact)
  std::string ref;                               // the image's name, when the index gives one
  std::vector<std::string> args;                 // Entrypoint + Cmd from the config
  std::map<std::string, std::string> annotations;  // the manifest's
};

// The most an image may hold, before and after inflating its gzip: what a
// deployment may pull, and what an image archive may expand to.
inline constexpr uint64_t kMaxImageBytes = 256ull << 20;

// Reads an OCI image layout tarball (optionally gzip'd). Blobs are checked
// against their digests. Errors say what is missing or malformed;
// ResourceExhausted when the archive or a layer expands past `max_bytes`.
Result<WasmImage> readImageArchive(const std::filesystem::path& tarball,
                                   uint64_t max_bytes = kMaxImageBytes);
Result<WasmImage> readImageArchive(std::span<const uint8_t> bytes,
                                   uint64_t max_bytes = kMaxImageBytes);

// True when `bytes` look like a tar archive (ustar magic) or gzip data.
bool looksLikeArchive(std::span<const uint8_t> bytes);

struct BuildOptions {
  std::string ref = "cwasi/function:latest";  // NAME:TAG
  bool compat = true;                         // tar layer + variant annotation; else artifact
  std::string module_name = "module.wasm";    // the module's path in a compat layer
  std::string os = "wasip1";
  std::string architecture = "wasm";
  std::map<std::string, std::string> annotations;  // added to the manifest
  // false: package a native executable instead (linux/amd64, compat layout;
  // the runc baseline images of the benchmarks).
  bool wasm = true;
};

// The image layout tarball for `module`; deterministic for equal inputs.
Result<std::vector<uint8_t>> buildImageArchive(std::span<const uint8_t> module,
                                               const BuildOptions& options);

}  // namespace cwasi::oci

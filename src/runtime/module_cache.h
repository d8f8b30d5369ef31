// Internal to the runtime layer: the on-disk AOT cache. An entry is a
// precompiled artifact keyed by the module's SHA-256 and the engine
// fingerprint, plus a sidecar holding the artifact's own SHA-256: an entry
// whose bytes do not match (truncated, bit-flipped, half-written) is deleted
// and rebuilt, never loaded.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>

#include "cwasi/common/result.h"

namespace cwasi::runtime {

class ModuleCache {
 public:
  explicit ModuleCache(std::filesystem::path dir) : dir_(std::move(dir)) {}

  // Path of a verified artifact for the key, or nullopt on a miss. A corrupt
  // entry is removed (and reported as a miss). Thread- and process-safe:
  // entries are immutable once published.
  std::optional<std::filesystem::path> lookup(std::string_view module_digest,
                                              std::string_view fingerprint) const;

  // Publishes an artifact atomically (temp file + rename).
  Result<void> store(std::string_view module_digest, std::string_view fingerprint,
                     std::span<const uint8_t> artifact) const;

  // Removes an entry that Wasmtime refused to load (stale).
  void remove(std::string_view module_digest, std::string_view fingerprint) const;

  std::filesystem::path artifactPath(std::string_view module_digest,
                                     std::string_view fingerprint) const;

 private:
  std::filesystem::path sumPath(std::string_view module_digest,
                                std::string_view fingerprint) const;
  std::filesystem::path dir_;
};

}  // namespace cwasi::runtime

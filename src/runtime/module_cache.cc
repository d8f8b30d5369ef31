#include "module_cache.h"

#include <string>

#include "cwasi/common/files.h"
#include "cwasi/common/log.h"
#include "cwasi/common/sha256.h"

namespace cwasi::runtime {
namespace fs = std::filesystem;

fs::path ModuleCache::artifactPath(std::string_view module_digest,
                                   std::string_view fingerprint) const {
  return dir_ / (std::string(module_digest) + "-" + std::string(fingerprint) + ".cwasm");
}

fs::path ModuleCache::sumPath(std::string_view module_digest, std::string_view fingerprint) const {
  return dir_ / (std::string(module_digest) + "-" + std::string(fingerprint) + ".sha256");
}

std::optional<fs::path> ModuleCache::lookup(std::string_view module_digest,
                                            std::string_view fingerprint) const {
  fs::path artifact = artifactPath(module_digest, fingerprint);
  auto sum = readFile(sumPath(module_digest, fingerprint));
  if (!sum.ok()) return std::nullopt;
  auto bytes = readFile(artifact);
  if (!bytes.ok()) return std::nullopt;
  std::string expected(sum->begin(), sum->end());
  if (sha256Hex(*bytes) != expected) {
    CWASI_LOG(kWarn, "AOT cache entry " << artifact.string()
                                        << " is corrupt (checksum mismatch); recompiling");
    remove(module_digest, fingerprint);
    return std::nullopt;
  }
  return artifact;
}

Result<void> ModuleCache::store(std::string_view module_digest, std::string_view fingerprint,
                                std::span<const uint8_t> artifact) const {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return internal("cannot create cache dir " + dir_.string() + ": " + ec.message());
  // Artifact first, checksum last: a reader never sees a sum without its artifact.
  TRY(writeFileAtomic(artifactPath(module_digest, fingerprint), artifact));
  std::string sum = sha256Hex(artifact);
  return writeFileAtomic(sumPath(module_digest, fingerprint),
                         {reinterpret_cast<const uint8_t*>(sum.data()), sum.size()});
}

void ModuleCache::remove(std::string_view module_digest, std::string_view fingerprint) const {
  std::error_code ec;
  fs::remove(sumPath(module_digest, fingerprint), ec);
  fs::remove(artifactPath(module_digest, fingerprint), ec);
}

}  // namespace cwasi::runtime

// Small filesystem helpers with errors as values.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "cwasi/common/result.h"

namespace cwasi {

// Reads a whole regular file. NotFound if missing, InvalidArgument if a directory.
Result<std::vector<uint8_t>> readFile(const std::filesystem::path& path);
// Reads a regular file only (a FIFO, a device or a directory is refused
// without blocking: it is opened non-blocking), of at most `max_bytes`
// (ResourceExhausted past it). For paths an untrusted party names.
Result<std::vector<uint8_t>> readRegularFile(const std::filesystem::path& path, uint64_t max_bytes);

// Writes `data` to `path` atomically: a temporary file in the same directory,
// fsync'd, then renamed over `path`. Readers see the old or the new file, never
// a partial one. The file has `mode` from its creation on.
Result<void> writeFileAtomic(const std::filesystem::path& path, std::span<const uint8_t> data,
                             unsigned mode = 0644);

// Creates a fresh directory under the system temp dir ("<prefix>XXXXXX").
Result<std::filesystem::path> makeTempDir(std::string_view prefix);

}  // namespace cwasi

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

// Writes `data` to `path` atomically: a temporary file in the same directory,
// fsync'd, then renamed over `path`. Readers see the old or the new file, never
// a partial one.
Result<void> writeFileAtomic(const std::filesystem::path& path, std::span<const uint8_t> data);

// Creates a fresh directory under the system temp dir ("<prefix>XXXXXX").
Result<std::filesystem::path> makeTempDir(std::string_view prefix);

}  // namespace cwasi

// Small filesystem helpers with errors as values.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cwasi/common/fd.h"
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

// Writes `bytes` to a file in `dir` that has no name (O_TMPFILE; where the
// file system lacks it, a named one unlinked at once): it is gone once the
// returned fd closes, after a kill -9 too. A full disk is an error here.
Result<Fd> writeUnlinkedFile(const std::filesystem::path& dir, std::string_view bytes);

// Creates a fresh directory under the system temp dir ("<prefix>XXXXXX").
Result<std::filesystem::path> makeTempDir(std::string_view prefix);

}  // namespace cwasi

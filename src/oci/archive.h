// Internal to the oci layer: the two archive formats OCI images are made of,
// tar (ustar, with PAX and GNU long names on read) and gzip. Readers take
// untrusted bytes: every size is checked and limits are caps on what they
// will expand to.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cwasi/common/result.h"

namespace cwasi::oci {

struct TarEntry {
  std::string path;  // relative, without a leading "./"
  char type = '0';   // '0' regular file, '5' directory (others are skipped on read)
  uint32_t mode = 0644;
  std::vector<uint8_t> data;
};

// Regular files and directories of a tar archive; InvalidArgument for a
// malformed one, ResourceExhausted past `max_bytes` of file data.
Result<std::vector<TarEntry>> readTar(std::span<const uint8_t> bytes, uint64_t max_bytes);
// A ustar archive of `entries` (paths up to 255 bytes), deterministic
// (mtime 0, uid/gid 0) so that equal inputs give equal digests.
Result<std::vector<uint8_t>> writeTar(const std::vector<TarEntry>& entries);

// True when `bytes` start with the gzip magic.
bool isGzip(std::span<const uint8_t> bytes);
Result<std::vector<uint8_t>> gunzip(std::span<const uint8_t> bytes, uint64_t max_bytes);
std::vector<uint8_t> gzip(std::span<const uint8_t> bytes);

}  // namespace cwasi::oci

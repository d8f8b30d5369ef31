// Internal to the oci layer: the two archive formats OCI images are made of,
// tar (ustar, with PAX and GNU long names on read) and gzip. Readers take
// untrusted bytes: every size is checked and limits are caps on what they
// will expand to.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
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

// An entry as TarReader meets it, its data not read yet.
struct TarHeader {
  std::string path;  // as in TarEntry
  char type = '0';   // '0' or '5'
  uint32_t mode = 0644;
  uint64_t size = 0;
};

// Walks a tar archive, gzip'd or not, one entry at a time, holding no more
// than the entry whose data is asked for: gzip is inflated as the archive is
// read, and the data of entries nobody asks for is inflated into a small
// scratch buffer and dropped. At most `max_bytes` of the (inflated) archive
// are read, skipped entries included: past that, ResourceExhausted — so a
// gzip bomb costs neither more memory nor more time than the cap. Borrows
// `bytes` for its whole life.
class TarReader {
 public:
  TarReader(std::span<const uint8_t> bytes, uint64_t max_bytes);
  ~TarReader();
  TarReader(const TarReader&) = delete;
  TarReader& operator=(const TarReader&) = delete;

  // The next regular file or directory; nullopt after the last. Links and
  // devices are passed over; a path that is absolute or climbs out with
  // ".." is InvalidArgument.
  Result<std::optional<TarHeader>> next();
  // The data of the entry next() returned, valid until the next call (a view
  // into `bytes` itself when the archive is not gzip'd).
  Result<std::span<const uint8_t>> data();

 private:
  class Stream;
  Result<std::span<const uint8_t>> read(uint64_t n);
  Result<void> skipPending();

  std::unique_ptr<Stream> stream_;
  uint64_t pending_ = 0;       // bytes of the current entry (with padding) not read
  uint64_t pending_data_ = 0;  // of which its data
};

// Regular files and directories of a tar archive (gzip'd or not);
// InvalidArgument for a malformed one, ResourceExhausted past `max_bytes`.
Result<std::vector<TarEntry>> readTar(std::span<const uint8_t> bytes, uint64_t max_bytes);
// A ustar archive of `entries` (paths up to 255 bytes), deterministic
// (mtime 0, uid/gid 0) so that equal inputs give equal digests.
Result<std::vector<uint8_t>> writeTar(const std::vector<TarEntry>& entries);

// True when `bytes` start with the gzip magic.
bool isGzip(std::span<const uint8_t> bytes);
Result<std::vector<uint8_t>> gunzip(std::span<const uint8_t> bytes, uint64_t max_bytes);
std::vector<uint8_t> gzip(std::span<const uint8_t> bytes);

}  // namespace cwasi::oci

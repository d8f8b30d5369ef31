// The archive readers under every image (src/oci/archive.h): tar (ustar,
// PAX and GNU long names) and gzip, as untrusted bytes. The first input byte
// picks tar, gzip, or gzip'd tar. The readers unpack into memory, never onto
// a disk; the promise that stands in for "never writes outside the target
// directory" is that no entry path is absolute, empty or climbs out with
// "..", and the caps on what they expand to hold. What readTar returns,
// writeTar writes and readTar reads back the same.
#include <filesystem>

#include "fuzz.h"
#include "oci/archive.h"

namespace {

using namespace cwasi;

constexpr uint64_t kCap = 4u << 20;

void checkEntries(const std::vector<oci::TarEntry>& entries) {
  uint64_t total = 0;
  for (const auto& e : entries) {
    FUZZ_CHECK(!e.path.empty() && e.path[0] != '/');
    for (const auto& part : std::filesystem::path(e.path)) FUZZ_CHECK(part != "..");
    FUZZ_CHECK(e.type == '0' || e.type == '5');
    total += e.data.size();
  }
  FUZZ_CHECK(total <= kCap);
  auto written = oci::writeTar(entries);
  if (!written.ok()) return;  // a path writeTar cannot fit in ustar
  auto again = oci::readTar(*written, kCap);
  FUZZ_CHECK(again.ok() && again->size() == entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    FUZZ_CHECK((*again)[i].path == entries[i].path && (*again)[i].type == entries[i].type &&
               (*again)[i].data == entries[i].data);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::span<const uint8_t> in(data + 1, size - 1);
  const int mode = data[0] % 3;
  if (mode == 0) {
    auto entries = oci::readTar(in, kCap);
    if (entries.ok()) checkEntries(*entries);
    return 0;
  }
  auto inflated = oci::gunzip(in, kCap);
  if (!inflated.ok()) return 0;
  FUZZ_CHECK(inflated->size() <= kCap);
  if (mode == 2) {
    auto entries = oci::readTar(*inflated, kCap);
    if (entries.ok()) checkEntries(*entries);
  }
  return 0;
}

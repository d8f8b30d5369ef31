// Internal to the oci layer: an OCI image layout, unpacked (from a tarball,
// optionally gzip'd) into its files by path.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "cwasi/common/result.h"

namespace cwasi::oci {

// The most an image may expand to.
inline constexpr uint64_t kMaxImageBytes = 1ull << 30;

struct Layout {
  std::map<std::string, std::vector<uint8_t>> files;  // path -> contents

  Result<std::span<const uint8_t>> file(const std::string& path) const {
    auto it = files.find(path);
    if (it == files.end()) return invalidArgument("image: no " + path + " in the archive");
    return std::span<const uint8_t>(it->second);
  }
  // A blob by descriptor, its digest verified.
  Result<std::span<const uint8_t>> blob(const nlohmann::json& descriptor) const;
};

// The files of an image layout tarball; InvalidArgument when it is not one.
Result<Layout> readLayout(std::span<const uint8_t> tarball);

}  // namespace cwasi::oci

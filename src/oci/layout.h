// Internal to the oci layer: an OCI image layout, unpacked (from a tarball,
// optionally gzip'd) into its files by path.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <deque>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "cwasi/common/result.h"

namespace cwasi::oci {

struct Layout {
  Layout() = default;
  Layout(Layout&&) = default;
  Layout& operator=(Layout&&) = default;

  // path -> contents: views into the tarball, or into `inflated` when it
  // was gzip'd (a deque: what it holds never moves).
  std::map<std::string, std::span<const uint8_t>> files;
  std::deque<std::vector<uint8_t>> inflated;

  Result<std::span<const uint8_t>> file(const std::string& path) const {
    auto it = files.find(path);
    if (it == files.end()) return invalidArgument("image: no " + path + " in the archive");
    return std::span<const uint8_t>(it->second);
  }
  // A blob by descriptor, its digest verified.
  Result<std::span<const uint8_t>> blob(const nlohmann::json& descriptor) const;
};

// The files of an image layout tarball, which it borrows; InvalidArgument
// when it is not one, ResourceExhausted when it expands past `max_bytes`.
Result<Layout> readLayout(std::span<const uint8_t> tarball, uint64_t max_bytes);

}  // namespace cwasi::oci

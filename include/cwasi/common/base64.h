// Base64 (RFC 4648, the standard alphabet): Basic credentials, OpenFaaS
// secrets' rawValue, registry auths.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cwasi/common/result.h"

namespace cwasi {

std::string base64Encode(std::span<const uint8_t> bytes);
// Padding may be left out; InvalidArgument on any other character.
Result<std::vector<uint8_t>> base64Decode(std::string_view text);

}  // namespace cwasi

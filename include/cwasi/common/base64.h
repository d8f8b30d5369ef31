// Base64 (RFC 4648, standard alphabet, padded): HTTP Basic credentials, the
// `auth` field of docker's config.json.
#pragma once

#include <string>
#include <string_view>

namespace cwasi {

std::string base64Encode(std::string_view in);
// Decodes up to the first character outside the alphabet ('=' padding,
// whitespace); callers check what they got.
std::string base64Decode(std::string_view in);

}  // namespace cwasi

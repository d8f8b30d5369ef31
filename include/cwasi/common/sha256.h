// SHA-256 digests, used to key module caches and check cached artifacts.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace cwasi {

// SHA-256 of `data`. Thread-safe.
std::array<uint8_t, 32> sha256(std::span<const uint8_t> data);
// The same as lower-case hex.
std::string sha256Hex(std::span<const uint8_t> data);

namespace detail {
// The implementation without CPU extensions, exposed for its test.
std::array<uint8_t, 32> sha256Portable(std::span<const uint8_t> data);
}  // namespace detail

}  // namespace cwasi

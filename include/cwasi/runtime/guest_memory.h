// GuestMemory: a bounds-checked view of one instance's linear memory. Every
// pointer/length pair that comes from a guest goes through it, so a guest can
// never make the host read or write outside its own sandbox.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "cwasi/common/result.h"

namespace cwasi::runtime {

class GuestMemory {
 public:
  GuestMemory() = default;
  GuestMemory(uint8_t* base, size_t size) : base_(base), size_(size) {}

  size_t size() const { return size_; }

  // The bytes [ptr, ptr + len) of guest memory, or InvalidArgument when any
  // part lies outside it (with 64-bit arithmetic: no wrap-around). The view is
  // valid until the guest runs again (it may grow its memory).
  Result<std::span<uint8_t>> slice(uint64_t ptr, uint64_t len) const {
    if (ptr > size_ || len > size_ - ptr) {
      return invalidArgument("guest range [" + std::to_string(ptr) + ", +" + std::to_string(len) +
                             ") is outside its " + std::to_string(size_) + "-byte memory");
    }
    return std::span<uint8_t>(base_ + ptr, static_cast<size_t>(len));
  }

  // A guest string (pointer, length) as a view, bounds-checked like slice().
  Result<std::string_view> string(uint64_t ptr, uint64_t len) const {
    TRY_ASSIGN(auto bytes, slice(ptr, len));
    return std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }

  // Little-endian u32 at `ptr` (any alignment).
  Result<uint32_t> readU32(uint64_t ptr) const {
    TRY_ASSIGN(auto bytes, slice(ptr, 4));
    uint32_t v;
    std::memcpy(&v, bytes.data(), 4);
    return v;
  }
  Result<void> writeU32(uint64_t ptr, uint32_t v) const {
    TRY_ASSIGN(auto bytes, slice(ptr, 4));
    std::memcpy(bytes.data(), &v, 4);
    return {};
  }

 private:
  uint8_t* base_ = nullptr;
  size_t size_ = 0;
};

}  // namespace cwasi::runtime

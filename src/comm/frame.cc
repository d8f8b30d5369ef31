#include "cwasi/comm/frame.h"

#include <cstring>

namespace cwasi::comm {
namespace {

template <typename T>
void put(uint8_t* p, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) p[i] = static_cast<uint8_t>(static_cast<uint64_t>(v) >> (8 * i));
}

template <typename T>
T get(const uint8_t* p) {
  uint64_t v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return static_cast<T>(v);
}

}  // namespace

// Layout: magic u32 | version u8 | type u8 | flags u16 | status i32 |
// timeout_ms u32 | depth u16 | reserved u16 | name_len u32 | payload_len u64.
std::array<uint8_t, kFrameHeaderSize> encodeHeader(const FrameHeader& h) {
  std::array<uint8_t, kFrameHeaderSize> b{};
  put<uint32_t>(&b[0], kFrameMagic);
  b[4] = kFrameVersion;
  b[5] = static_cast<uint8_t>(h.type);
  put<uint16_t>(&b[6], h.flags);
  put<uint32_t>(&b[8], static_cast<uint32_t>(h.status));
  put<uint32_t>(&b[12], h.timeout_ms);
  put<uint16_t>(&b[16], h.depth);
  put<uint16_t>(&b[18], 0);
  put<uint32_t>(&b[20], h.name_len);
  put<uint64_t>(&b[24], h.payload_len);
  return b;
}

Result<FrameHeader> decodeHeader(std::span<const uint8_t, kFrameHeaderSize> b,
                                 uint64_t max_payload) {
  if (get<uint32_t>(&b[0]) != kFrameMagic) return invalidArgument("not a cwasi frame (bad magic)");
  if (b[4] != kFrameVersion) {
    return invalidArgument("unsupported frame version " + std::to_string(b[4]));
  }
  FrameHeader h;
  uint8_t type = b[5];
  if (type < static_cast<uint8_t>(FrameType::kHello) ||
      type > static_cast<uint8_t>(FrameType::kSendAck)) {
    return invalidArgument("unknown frame type " + std::to_string(type));
  }
  h.type = static_cast<FrameType>(type);
  h.flags = get<uint16_t>(&b[6]);
  h.status = static_cast<int32_t>(get<uint32_t>(&b[8]));
  h.timeout_ms = get<uint32_t>(&b[12]);
  h.depth = get<uint16_t>(&b[16]);
  h.name_len = get<uint32_t>(&b[20]);
  h.payload_len = get<uint64_t>(&b[24]);
  if (h.name_len > kMaxNameBytes) {
    return invalidArgument("frame name of " + std::to_string(h.name_len) + " bytes (max " +
                           std::to_string(kMaxNameBytes) + ")");
  }
  if (h.payload_len > max_payload) {
    return resourceExhausted("frame payload of " + std::to_string(h.payload_len) +
                             " bytes exceeds the limit of " + std::to_string(max_payload));
  }
  if (h.depth > kMaxCallDepth) return invalidArgument("call depth exceeds the limit");
  bool named = h.type == FrameType::kCall || h.type == FrameType::kSend;
  if (named != (h.name_len > 0)) return invalidArgument("frame name present where not allowed");
  return h;
}

bool validName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace cwasi::comm

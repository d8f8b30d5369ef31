// The wire format between function hosts: one fixed 32-byte little-endian
// header, then the target name, then the payload. The same frames travel over
// TCP (remote) and through shared-memory rings (local). Every field from a
// peer is validated before use; a bad frame closes the connection.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "cwasi/common/result.h"

namespace cwasi::comm {

inline constexpr uint32_t kFrameMagic = 0x49535743;  // "CWSI"
inline constexpr uint8_t kFrameVersion = 1;
inline constexpr size_t kFrameHeaderSize = 32;
inline constexpr uint32_t kMaxNameBytes = 255;
inline constexpr uint16_t kMaxCallDepth = 32;

enum class FrameType : uint8_t {
  kHello = 1,     // first frame of a connection: payload = token (may be empty)
  kHelloOk = 2,   // the server accepted the connection
  kCall = 3,      // name = target, payload = request; answered by kResponse
  kResponse = 4,  // status = guest ABI status, payload = response or error text
  kSend = 5,      // name = target mailbox, payload = message; answered by kSendAck
  kSendAck = 6,   // status = guest ABI status
};

struct FrameHeader {
  FrameType type = FrameType::kCall;
  uint16_t flags = 0;
  int32_t status = 0;
  uint32_t timeout_ms = 0;  // the caller's remaining time; 0 = the host default
  uint16_t depth = 0;       // call nesting, to stop A -> B -> A -> ... loops
  uint32_t name_len = 0;
  uint64_t payload_len = 0;
};

std::array<uint8_t, kFrameHeaderSize> encodeHeader(const FrameHeader& h);

// Decodes and validates a header: magic, version, known type, name length,
// payload within `max_payload`, depth. InvalidArgument names what is wrong.
Result<FrameHeader> decodeHeader(std::span<const uint8_t, kFrameHeaderSize> bytes,
                                 uint64_t max_payload);

// Target names: 1..255 bytes of [A-Za-z0-9._-].
bool validName(std::string_view name);

}  // namespace cwasi::comm

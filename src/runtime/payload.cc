#include "cwasi/runtime/payload.h"

#include <cstring>

namespace cwasi::runtime {

Result<void> SpanSource::readInto(std::span<uint8_t> dst) {
  if (dst.size() > remaining()) return internal("read past the end of a payload");
  if (!dst.empty()) std::memcpy(dst.data(), data_.data() + consumed_, dst.size());
  consumed_ += dst.size();
  return {};
}

Result<void> PayloadSink::write(std::span<const uint8_t> payload) {
  TRY_ASSIGN(std::span<uint8_t> dst, allocate(payload.size()));
  if (!payload.empty()) std::memcpy(dst.data(), payload.data(), payload.size());
  return {};
}

}  // namespace cwasi::runtime

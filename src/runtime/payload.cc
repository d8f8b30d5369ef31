#include "cwasi/runtime/payload.h"

#include <algorithm>
#include <cstring>

namespace cwasi::runtime {

Result<void> SpanSource::readInto(std::span<uint8_t> dst) {
  if (dst.size() > remaining()) return internal("read past the end of a payload");
  if (!dst.empty()) std::memcpy(dst.data(), data_.data() + consumed_, dst.size());
  consumed_ += dst.size();
  return {};
}

Result<std::vector<uint8_t>> readAll(PayloadSource& source) {
  // Pieces of 1 MiB: a payload in memory is never more than 1 MiB ahead of
  // the bytes that came.
  constexpr uint64_t kPiece = 1u << 20;
  std::vector<uint8_t> out;
  out.reserve(static_cast<size_t>(std::min(source.remaining(), kPiece)));
  while (source.remaining() > 0) {
    const size_t n = static_cast<size_t>(std::min(source.remaining(), kPiece));
    const size_t at = out.size();
    out.resize(at + n);
    TRY(source.readInto(std::span<uint8_t>(out).subspan(at, n)));
  }
  return out;
}

Result<void> PayloadSink::write(std::span<const uint8_t> payload) {
  TRY_ASSIGN(std::span<uint8_t> dst, allocate(payload.size()));
  if (!payload.empty()) std::memcpy(dst.data(), payload.data(), payload.size());
  return {};
}

}  // namespace cwasi::runtime

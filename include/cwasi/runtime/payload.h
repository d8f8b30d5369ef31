// Payloads move between a function and whatever feeds or reads it (a caller's
// linear memory, a shared-memory ring, a socket, a host buffer) through two
// small interfaces, so that each byte is copied once, from its source straight
// into its destination.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "cwasi/common/result.h"

namespace cwasi::runtime {

// Bytes arriving from somewhere, to be copied once into their destination.
class PayloadSource {
 public:
  virtual ~PayloadSource() = default;
  virtual uint64_t size() const = 0;
  // Copies the next dst.size() bytes into `dst`; may be called repeatedly
  // until size() bytes are consumed.
  virtual Result<void> readInto(std::span<uint8_t> dst) = 0;
  // Consumes whatever is left (keeps a stream in step after an error).
  virtual Result<void> drain() = 0;
  uint64_t remaining() const { return size() - consumed_; }

 protected:
  uint64_t consumed_ = 0;
};

// Everything `source` holds, read in pieces: memory grows with the bytes
// that actually arrive, not with what a peer announced.
Result<std::vector<uint8_t>> readAll(PayloadSource& source);

// A source over bytes already in memory (borrowed: they must outlive it).
class SpanSource : public PayloadSource {
 public:
  explicit SpanSource(std::span<const uint8_t> data) : data_(data) {}
  uint64_t size() const override { return data_.size(); }
  Result<void> readInto(std::span<uint8_t> dst) override;
  Result<void> drain() override {
    consumed_ = data_.size();
    return {};
  }

 private:
  std::span<const uint8_t> data_;
};

// Where a response or a received message goes. Called at most once per
// payload, through either method.
class PayloadSink {
 public:
  virtual ~PayloadSink() = default;
  // A writable buffer of exactly `size` bytes, for a producer that fills it
  // itself (a stream reading from a socket). Valid until the destination
  // runs again. ResourceExhausted when the destination cannot take that much.
  virtual Result<std::span<uint8_t>> allocate(uint64_t size) = 0;
  // Takes a payload that is already in memory (borrowed for the call). The
  // default copies it into allocate(); a sink that forwards (a socket)
  // overrides it to send the bytes without that copy.
  virtual Result<void> write(std::span<const uint8_t> payload);
};

// A sink into a host buffer.
class VectorSink : public PayloadSink {
 public:
  Result<std::span<uint8_t>> allocate(uint64_t size) override {
    data.resize(size);
    return std::span<uint8_t>(data);
  }
  std::vector<uint8_t> data;
};

}  // namespace cwasi::runtime

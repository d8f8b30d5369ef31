// Payload sources and sinks: what a peer announces is not memory until its
// bytes arrive.
#include "cwasi/runtime/payload.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace cwasi::runtime {
namespace {

// Announces `announced` bytes, delivers `delivered`, then fails as a lost
// connection would; records the largest piece asked for.
class ShortSource : public PayloadSource {
 public:
  ShortSource(uint64_t announced, uint64_t delivered) : announced_(announced), delivered_(delivered) {}
  uint64_t size() const override { return announced_; }
  Result<void> readInto(std::span<uint8_t> dst) override {
    largest_piece = std::max<uint64_t>(largest_piece, dst.size());
    if (consumed_ + dst.size() > delivered_) return unavailable("peer gone");
    std::fill(dst.begin(), dst.end(), uint8_t{'x'});
    consumed_ += dst.size();
    return {};
  }
  Result<void> drain() override { return unavailable("peer gone"); }
  uint64_t largest_piece = 0;

 private:
  uint64_t announced_, delivered_;
};

TEST(Payload, ReadAllGrowsWithWhatArrivesNotWithWhatWasAnnounced) {
  ShortSource lying(uint64_t{1} << 30, 3u << 20);
  auto all = readAll(lying);
  ASSERT_FALSE(all.ok());
  EXPECT_EQ(all.error().code(), Code::kUnavailable);
  EXPECT_LE(lying.largest_piece, 1u << 20);

  ShortSource honest(2500000, 2500000);
  auto bytes = readAll(honest);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->size(), 2500000u);
  EXPECT_EQ(std::count(bytes->begin(), bytes->end(), 'x'), 2500000);
}

}  // namespace
}  // namespace cwasi::runtime

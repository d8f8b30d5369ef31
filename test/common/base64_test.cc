// Base64 both ways, and what decoding refuses.
#include "cwasi/common/base64.h"

#include <gtest/gtest.h>

namespace cwasi {
namespace {

std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

TEST(Base64, RoundTripsEveryLengthAndMatchesRfc4648) {
  EXPECT_EQ(base64Encode(bytes("")), "");
  EXPECT_EQ(base64Encode(bytes("f")), "Zg==");
  EXPECT_EQ(base64Encode(bytes("fo")), "Zm8=");
  EXPECT_EQ(base64Encode(bytes("foobar")), "Zm9vYmFy");
  EXPECT_EQ(base64Encode(bytes("admin:s3cret")), "YWRtaW46czNjcmV0");
  std::vector<uint8_t> all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<uint8_t>(i));
  for (size_t n = 0; n <= all.size(); n += 7) {
    std::span<const uint8_t> part(all.data(), n);
    auto back = base64Decode(base64Encode(part));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, std::vector<uint8_t>(part.begin(), part.end()));
  }
  EXPECT_EQ(*base64Decode("Zm8"), bytes("fo"));  // padding left out
}

TEST(Base64, RefusesWhatIsNotBase64) {
  EXPECT_FALSE(base64Decode("Zm9v!").ok());
  EXPECT_FALSE(base64Decode("Z").ok());
  EXPECT_FALSE(base64Decode("Zm 9v").ok());
}

}  // namespace
}  // namespace cwasi

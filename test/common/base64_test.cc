#include "cwasi/common/base64.h"

#include <gtest/gtest.h>

namespace cwasi {
namespace {

TEST(Base64, EncodesWithPaddingAndDecodesBack) {
  EXPECT_EQ(base64Encode(""), "");
  EXPECT_EQ(base64Encode("f"), "Zg==");
  EXPECT_EQ(base64Encode("fo"), "Zm8=");
  EXPECT_EQ(base64Encode("foo"), "Zm9v");
  EXPECT_EQ(base64Encode("user:pass"), "dXNlcjpwYXNz");
  for (std::string s : {"", "a", "ab", "abc", "abcd", "\xff\x10 bytes"}) {
    EXPECT_EQ(base64Decode(base64Encode(s)), s);
  }
}

}  // namespace
}  // namespace cwasi

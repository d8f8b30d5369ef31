#include "cwasi/common/sha256.h"

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <cstring>
#include <vector>

namespace cwasi {
namespace {

std::string hex(const unsigned char* d) {
  static const char* k = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 32; ++i) {
    s += k[d[i] >> 4];
    s += k[d[i] & 15];
  }
  return s;
}

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(Sha256, MatchesKnownVectors) {
  EXPECT_EQ(sha256Hex(bytes("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256Hex(bytes("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256Hex(bytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

// Every length around the block and padding boundaries, against OpenSSL, for
// both the accelerated and the portable implementation.
TEST(Sha256, MatchesOpenSslForEveryLengthUpTo300) {
  std::vector<uint8_t> data;
  for (size_t n = 0; n <= 300; ++n) {
    unsigned char ref[32];
    SHA256(data.data(), data.size(), ref);
    ASSERT_EQ(sha256Hex(data), hex(ref)) << "length " << n;
    auto portable = detail::sha256Portable(data);
    ASSERT_EQ(std::memcmp(portable.data(), ref, 32), 0) << "portable, length " << n;
    data.push_back(static_cast<uint8_t>(n * 131 + 7));
  }
}

TEST(Sha256, MatchesOpenSslOnAMegabyte) {
  std::vector<uint8_t> data(1 << 20);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i ^ (i >> 9));
  unsigned char ref[32];
  SHA256(data.data(), data.size(), ref);
  EXPECT_EQ(sha256Hex(data), hex(ref));
}

}  // namespace
}  // namespace cwasi

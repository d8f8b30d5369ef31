#include "cwasi/common/result.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace cwasi {
namespace {

Result<int> half(int v) {
  if (v % 2 != 0) return invalidArgument(std::to_string(v) + " is odd");
  return v / 2;
}

Result<int> quarter(int v) {
  TRY_ASSIGN(int h, half(v));
  TRY_ASSIGN(int q, half(h));
  return q;
}

Result<void> checkEven(int v) {
  TRY(half(v));
  return {};
}

TEST(Result, CarriesAValue) {
  auto r = half(8);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 4);
}

TEST(Result, CarriesAnErrorWithCodeAndMessage) {
  auto r = half(3);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.error().message(), "3 is odd");
  EXPECT_EQ(r.error().toString(), "INVALID_ARGUMENT: 3 is odd");
}

TEST(Result, TryPropagatesTheFirstError) {
  EXPECT_EQ(*quarter(12), 3);
  auto r = quarter(6);  // 6 -> 3 -> odd
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "3 is odd");
  EXPECT_TRUE(checkEven(2).ok());
  EXPECT_FALSE(checkEven(1).ok());
}

TEST(Result, ContextIsPrependedAndCodeKept) {
  Error e = notFound("no such file").withContext("loading x.wasm");
  EXPECT_EQ(e.code(), Code::kNotFound);
  EXPECT_EQ(e.message(), "loading x.wasm: no such file");
}

TEST(Result, ErrnoMapsToCodes) {
  EXPECT_EQ(errnoError("open", ENOENT).code(), Code::kNotFound);
  EXPECT_EQ(errnoError("open", EACCES).code(), Code::kPermissionDenied);
  EXPECT_EQ(errnoError("connect", ECONNREFUSED).code(), Code::kUnavailable);
  EXPECT_EQ(errnoError("read", EIO).code(), Code::kInternal);
  EXPECT_NE(errnoError("open", ENOENT).message().find("No such file"), std::string::npos);
}

}  // namespace
}  // namespace cwasi

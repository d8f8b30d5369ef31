// Host functions: linked into every instance, and every guest pointer they
// touch is bounds-checked.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <system_error>

#include "cwasi/runtime/abi.h"
#include "cwasi/runtime/engine.h"
#include "cwasi/runtime/instance.h"
#include "support/wasi_test.h"

namespace cwasi::runtime {
namespace {

using ::testing::HasSubstr;
using cwasi::testing::invokeBytes;

std::span<const uint8_t> bytes(const char* s) {
  return {reinterpret_cast<const uint8_t*>(s), strlen(s)};
}

// test.sum(ptr, len) -> i32: sums the bytes of a guest range, or -1 when the
// range is outside its memory. test.fail() fails the invocation.
std::vector<HostFunction> testFunctions() {
  HostFunction sum{"test", "sum", {ValType::kI32, ValType::kI32}, {ValType::kI32}, nullptr};
  sum.fn = [](HostCall& call) -> Result<void> {
    auto range = call.memory().slice(call.argU32(0), call.argU32(1));
    if (!range.ok()) {
      call.setI32(0, -1);
      return {};
    }
    int32_t total = 0;
    for (uint8_t b : *range) total += b;
    call.setI32(0, total);
    return {};
  };
  HostFunction fail{"test", "fail", {}, {}, nullptr};
  fail.fn = [](HostCall&) -> Result<void> { return unavailable("the test said so"); };
  // test.throw() throws what a failed thread creation throws.
  HostFunction thrower{"test", "throw", {}, {}, nullptr};
  thrower.fn = [](HostCall&) -> Result<void> {
    throw std::system_error(EAGAIN, std::generic_category(), "thread creation failed");
  };
  return {sum, fail, thrower};
}

// A reactor whose request is "ptr len" as two little-endian i32; it returns
// test.sum of that range as 4 bytes.
constexpr const char* kSumWat = R"((module
  (import "test" "sum" (func $sum (param i32 i32) (result i32)))
  (import "test" "fail" (func $fail))
  (import "cwasi" "response_set" (func $set (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "\01\02\03\04")
  (func (export "cwasi_alloc") (param i32) (result i32) (i32.const 2048))
  (func (export "cwasi_handle") (param $p i32) (param $n i32) (result i32)
    (if (i32.eqz (local.get $n)) (then (call $fail)))
    (i32.store (i32.const 0)
      (call $sum (i32.load (local.get $p)) (i32.load offset=4 (local.get $p))))
    (call $set (i32.const 0) (i32.const 4))))
)";

class HostFunctions : public ::testing::Test {
 protected:
  void SetUp() override {
    EngineConfig c;
    c.max_instances = 4;
    c.host_functions = testFunctions();
    auto e = Engine::create(c);
    ASSERT_TRUE(e.ok()) << e.error().toString();
    engine_ = std::move(*e);
    auto m = engine_->loadBytes(bytes(kSumWat), "sum.wat");
    ASSERT_TRUE(m.ok()) << m.error().toString();
    module_ = *m;
  }

  Result<int32_t> sumOf(uint32_t ptr, uint32_t len) {
    uint32_t req[2] = {ptr, len};
    TRY_ASSIGN(std::string body,
               invokeBytes(*engine_, module_, {},
                           {reinterpret_cast<const char*>(req), sizeof req}));
    if (body.size() != 4) return internal("bad response size");
    int32_t v;
    std::memcpy(&v, body.data(), 4);
    return v;
  }

  std::unique_ptr<Engine> engine_;
  std::shared_ptr<const Module> module_;
};

TEST_F(HostFunctions, ReadGuestMemoryWithinBounds) {
  auto r = sumOf(100, 4);
  ASSERT_TRUE(r.ok()) << r.error().toString();
  EXPECT_EQ(*r, 10);
  EXPECT_EQ(*sumOf(65536 - 1, 1), 0);  // the last byte is in bounds
}

TEST_F(HostFunctions, RejectOutOfBoundsRanges) {
  EXPECT_EQ(*sumOf(65536, 1), -1);           // starts past the end
  EXPECT_EQ(*sumOf(65530, 100), -1);         // runs past the end
  EXPECT_EQ(*sumOf(0xffffffffu, 2), -1);     // would wrap around in 32 bits
  EXPECT_EQ(*sumOf(16, 0xffffffffu), -1);    // absurd length
  EXPECT_EQ(*sumOf(100, 4), 10);             // and the host is unharmed
}

TEST_F(HostFunctions, AFailingHostFunctionEndsTheInvocationWithItsError) {
  auto r = invokeBytes(*engine_, module_, {}, "");  // empty request -> test.fail
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kUnavailable);
  EXPECT_THAT(r.error().message(), HasSubstr("host function test.fail: the test said so"));
  EXPECT_EQ(*sumOf(100, 4), 10);
}

// An exception must never cross into Wasmtime's frames ("panic in a function
// that cannot unwind" ended cwasid): it becomes the invocation's error.
TEST_F(HostFunctions, AHostFunctionThatThrowsFailsItsInvocationNotTheProcess) {
  const char* wat = R"((module
    (import "test" "throw" (func $throw))
    (memory (export "memory") 1)
    (func (export "cwasi_alloc") (param i32) (result i32) (i32.const 16))
    (func (export "cwasi_handle") (param i32 i32) (result i32) (call $throw) (i32.const 0)))
  )";
  auto m = engine_->loadBytes(bytes(wat), "throw.wat");
  ASSERT_TRUE(m.ok()) << m.error().toString();
  auto r = invokeBytes(*engine_, *m, {}, "x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kInternal);
  EXPECT_THAT(r.error().message(), HasSubstr("thread creation failed"));
  EXPECT_EQ(*sumOf(100, 4), 10);  // and the engine serves on
}

TEST_F(HostFunctions, ResponseSetOutsideMemoryIsRefused) {
  const char* wat = R"((module
    (import "cwasi" "response_set" (func $set (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "cwasi_alloc") (param i32) (result i32) (i32.const 16))
    (func (export "cwasi_handle") (param i32 i32) (result i32)
      (call $set (i32.const 65000) (i32.const 1000))))
  )";
  auto m = engine_->loadBytes(bytes(wat), "bad-response.wat");
  ASSERT_TRUE(m.ok());
  auto r = invokeBytes(*engine_, *m, {}, "");
  // The handler returned set's status, with no body: the function failed.
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kAborted);
  EXPECT_EQ(r.error().message(),
            "cwasi_handle returned status " + std::to_string(abi::kErrInvalidArgument));
}

TEST_F(HostFunctions, AnAllocatorReturningAnOutOfBoundsPointerIsCaught) {
  const char* wat = R"((module
    (import "cwasi" "response_set" (func $set (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "cwasi_alloc") (param i32) (result i32) (i32.const 65530))
    (func (export "cwasi_handle") (param i32 i32) (result i32) (i32.const 0)))
  )";
  auto m = engine_->loadBytes(bytes(wat), "bad-alloc.wat");
  ASSERT_TRUE(m.ok());
  auto r = invokeBytes(*engine_, *m, {}, std::string(100, '\1'));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
}

// The host's ABI constants agree with the guest SDK's header.
TEST(Abi, StatusCodesMatchTheSdkHeader) {
  std::ifstream f(testing::sourcePath("sdk/c/cwasi.h"));
  std::string text((std::istreambuf_iterator<char>(f)), {});
  std::map<std::string, int> defs;
  std::regex re(R"(#define (CWASI_(?:OK|ERR_\w+|ABI_VERSION)) (\d+))");
  for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it) {
    defs[(*it)[1]] = std::stoi((*it)[2]);
  }
  EXPECT_EQ(defs.at("CWASI_ABI_VERSION"), abi::kVersion);
  EXPECT_EQ(defs.at("CWASI_OK"), abi::kOk);
  EXPECT_EQ(defs.at("CWASI_ERR_UNKNOWN_TARGET"), abi::kErrUnknownTarget);
  EXPECT_EQ(defs.at("CWASI_ERR_UNAVAILABLE"), abi::kErrUnavailable);
  EXPECT_EQ(defs.at("CWASI_ERR_TIMEOUT"), abi::kErrTimeout);
  EXPECT_EQ(defs.at("CWASI_ERR_TOO_LARGE"), abi::kErrTooLarge);
  EXPECT_EQ(defs.at("CWASI_ERR_INVALID_ARGUMENT"), abi::kErrInvalidArgument);
  EXPECT_EQ(defs.at("CWASI_ERR_INTERNAL"), abi::kErrInternal);
  EXPECT_EQ(defs.at("CWASI_ERR_FUNCTION_FAILED"), abi::kErrFunctionFailed);
  EXPECT_EQ(defs.at("CWASI_ERR_UNSUPPORTED"), abi::kErrUnsupported);
  EXPECT_EQ(defs.at("CWASI_ERR_DENIED"), abi::kErrDenied);
  EXPECT_EQ(defs.at("CWASI_ERR_CONNECT"), abi::kErrConnect);
  EXPECT_EQ(defs.size(), 12u);  // a new code must be added on both sides
}

}  // namespace
}  // namespace cwasi::runtime

// A function's HTTP status and headers: the rules every head obeys
// (ResponseHead), and the guest ABI's version 2 imports that set them
// (cwasi.response_status, cwasi.response_header), fed hostile input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "cwasi/runtime/abi.h"
#include "cwasi/runtime/engine.h"
#include "cwasi/runtime/instance.h"
#include "cwasi/runtime/response_head.h"
#include "support/wasi_test.h"

namespace cwasi::runtime {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;
using Headers = std::vector<std::pair<std::string, std::string>>;

// ---- ResponseHead --------------------------------------------------------

TEST(ResponseHead, RepeatsHeadersButKeepsOneContentTypeAndLocation) {
  ResponseHead h;
  ASSERT_TRUE(h.addHeader("Set-Cookie", "a=1").ok());
  ASSERT_TRUE(h.addHeader("Content-Type", "text/plain").ok());
  ASSERT_TRUE(h.addHeader("set-cookie", " b=2 \t").ok());
  ASSERT_TRUE(h.addHeader("content-type", "text/html").ok());
  ASSERT_TRUE(h.addHeader("Location", "/a").ok());
  ASSERT_TRUE(h.addHeader("LOCATION", "/b").ok());
  EXPECT_THAT(h.headers(), ElementsAre(Pair("Set-Cookie", "a=1"), Pair("Content-Type", "text/html"),
                                       Pair("set-cookie", "b=2"), Pair("Location", "/b")));
  EXPECT_EQ(h.header("CONTENT-TYPE"), "text/html");
  EXPECT_EQ(h.status(), 0);
}

TEST(ResponseHead, RefusesStatusesOutsideTwoHundredToFiveNinetyNine) {
  ResponseHead h;
  for (int bad : {-1, 0, 100, 199, 600, 1000}) {
    auto r = h.setStatus(bad);
    EXPECT_EQ(r.error().code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(h.empty());
  EXPECT_TRUE(h.setStatus(200).ok());
  EXPECT_TRUE(h.setStatus(599).ok());
  EXPECT_FALSE(h.setStatus(99).ok());
  EXPECT_EQ(h.status(), 599);
}

TEST(ResponseHead, RefusesNamesThatAreNotTokensAndValuesWithControls) {
  ResponseHead h;
  for (std::string_view name : std::initializer_list<std::string_view>{"", "Bad Name", "a:b", "X\r\nInjected", std::string_view("X\0Y", 3),
                                "caf\xc3\xa9", "(x)"}) {
    auto r = h.addHeader(name, "v");
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
  }
  for (std::string_view value : std::initializer_list<std::string_view>{"a\r\nSet-Cookie: evil=1", "a\nb", "a\rb", std::string_view("a\0b", 3),
                                 "a\x01", "a\x7f"}) {
    auto r = h.addHeader("X-Value", value);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
  }
  EXPECT_TRUE(h.addHeader("X-Tab", "a\tb").ok());  // a tab is field content
  EXPECT_TRUE(h.addHeader("!#$%&'*+-.^_`|~09az", "utf-8 \xc3\xa9").ok());
  EXPECT_EQ(h.headers().size(), 2u);
}

TEST(ResponseHead, RefusesTheHeadersTheGatewayOwns) {
  ResponseHead h;
  for (std::string_view name : {"Content-Length", "transfer-encoding", "Connection", "X-Duration-Seconds",
                                "X-Cold-Start", "x-call-id", "X-Start-Time", "X-Served-By", "Server",
                                "Upgrade", "Keep-Alive"}) {
    auto r = h.addHeader(name, "1");
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
    EXPECT_TRUE(ownedHeader(name));
  }
  EXPECT_TRUE(h.empty());
  EXPECT_FALSE(ownedHeader("Content-Type"));
}

TEST(ResponseHead, BoundsTheNumberAndSizeOfHeaders) {
  ResponseHead h;
  for (size_t i = 0; i < kMaxResponseHeaders; ++i) ASSERT_TRUE(h.addHeader("Set-Cookie", "x").ok());
  auto more = h.addHeader("Set-Cookie", "x");
  EXPECT_EQ(more.error().code(), Code::kResourceExhausted);
  // A single-valued header already there replaces, so it still fits.
  EXPECT_FALSE(h.addHeader("Content-Type", "a").ok());

  ResponseHead big;
  const std::string half(kMaxResponseHeaderBytes / 2, 'v');
  ASSERT_TRUE(big.addHeader("A", half).ok());
  auto over = big.addHeader("B", half);
  EXPECT_EQ(over.error().code(), Code::kResourceExhausted);
  ASSERT_TRUE(big.addHeader("B", half.substr(2)).ok());  // "A" + "B" + both values: exactly the cap
  EXPECT_EQ(big.headers().size(), 2u);
}

// ---- the guest ABI -------------------------------------------------------

// A reactor whose handler runs `body`, then answers the 16 bytes at 0 (where
// `body` stores the statuses the host gave it). Strings at fixed addresses:
constexpr const char* kStrings = R"(
  (data (i32.const 0x100) "Location")                 ;; 8
  (data (i32.const 0x110) "https://example.com/a")    ;; 21
  (data (i32.const 0x130) "Set-Cookie")               ;; 10
  (data (i32.const 0x140) "a=1")                      ;; 3
  (data (i32.const 0x150) "b=2")                      ;; 3
  (data (i32.const 0x160) "Bad Name")                 ;; 8
  (data (i32.const 0x170) "x\0d\0aInjected: 1")       ;; 15
  (data (i32.const 0x190) "Content-Length")           ;; 14
  (data (i32.const 0x1a0) "X-Call-Id")                ;; 9
  (data (i32.const 0x1b0) "Content-Type")             ;; 12
  (data (i32.const 0x1c0) "text/html")                ;; 9
  (data (i32.const 0x1d0) "X-Big")                    ;; 5
)";

std::string reactorWat(const std::string& body) {
  return std::string(R"((module
    (import "cwasi" "response_set" (func $set (param i32 i32) (result i32)))
    (import "cwasi" "response_status" (func $status (param i32) (result i32)))
    (import "cwasi" "response_header" (func $header (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1))") +
         kStrings + R"(
    (func (export "cwasi_alloc") (param i32) (result i32) (i32.const 0x8000))
    (func (export "cwasi_handle") (param $p i32) (param $n i32) (result i32) (local $i i32)
      )" + body + R"(
      (drop (call $set (i32.const 0) (i32.const 16)))
      (i32.const 0)))
  )";
}

class ResponseAbi : public ::testing::Test {
 protected:
  void SetUp() override {
    EngineConfig c;
    c.max_instances = 4;
    auto e = Engine::create(c);
    ASSERT_TRUE(e.ok()) << e.error().toString();
    engine_ = std::move(*e);
  }

  struct Outcome {
    Result<void> done;
    std::vector<int32_t> statuses;  // what the host answered the guest's calls
    ResponseHead head;
  };

  Outcome run(const std::string& wat, std::string_view request = "") {
    Outcome o;
    auto m = engine_->loadBytes(
        {reinterpret_cast<const uint8_t*>(wat.data()), wat.size()}, "shaper.wat");
    if (!m.ok()) {
      o.done = m.error();
      return o;
    }
    SpanSource source({reinterpret_cast<const uint8_t*>(request.data()), request.size()});
    VectorSink sink;
    o.done = invoke(*engine_, *m, {}, source, sink, &o.head);
    for (size_t i = 0; i + 4 <= sink.data.size(); i += 4) {
      int32_t v;
      std::memcpy(&v, sink.data.data() + i, 4);
      o.statuses.push_back(v);
    }
    return o;
  }

  std::unique_ptr<Engine> engine_;
};

TEST_F(ResponseAbi, AReactorSetsItsStatusAndRepeatedHeaders) {
  auto o = run(reactorWat(R"(
    (i32.store (i32.const 0) (call $status (i32.const 302)))
    (i32.store (i32.const 4) (call $header (i32.const 0x100) (i32.const 8) (i32.const 0x110) (i32.const 21)))
    (i32.store (i32.const 8) (call $header (i32.const 0x130) (i32.const 10) (i32.const 0x140) (i32.const 3)))
    (i32.store (i32.const 12) (call $header (i32.const 0x130) (i32.const 10) (i32.const 0x150) (i32.const 3))))"));
  ASSERT_TRUE(o.done.ok()) << o.done.error().toString();
  EXPECT_THAT(o.statuses, ElementsAre(abi::kOk, abi::kOk, abi::kOk, abi::kOk));
  EXPECT_EQ(o.head.status(), 302);
  EXPECT_THAT(o.head.headers(), ElementsAre(Pair("Location", "https://example.com/a"),
                                            Pair("Set-Cookie", "a=1"), Pair("Set-Cookie", "b=2")));
}

TEST_F(ResponseAbi, AnInvalidStatusIsAnErrorTheGuestSeesAndKeepsTheEarlierOne) {
  auto o = run(reactorWat(R"(
    (i32.store (i32.const 0) (call $status (i32.const 404)))
    (i32.store (i32.const 4) (call $status (i32.const 99)))
    (i32.store (i32.const 8) (call $status (i32.const 600)))
    (i32.store (i32.const 12) (call $status (i32.const -1))))"));
  ASSERT_TRUE(o.done.ok()) << o.done.error().toString();
  EXPECT_THAT(o.statuses, ElementsAre(abi::kOk, abi::kErrInvalidArgument,
                                      abi::kErrInvalidArgument, abi::kErrInvalidArgument));
  EXPECT_EQ(o.head.status(), 404);
}

TEST_F(ResponseAbi, HostileHeadersAreRefusedAndLeaveTheResponseAlone) {
  auto o = run(reactorWat(R"(
    (i32.store (i32.const 0) (call $header (i32.const 0x160) (i32.const 8) (i32.const 0x140) (i32.const 3)))
    (i32.store (i32.const 4) (call $header (i32.const 0x130) (i32.const 10) (i32.const 0x170) (i32.const 15)))
    (i32.store (i32.const 8) (call $header (i32.const 0x190) (i32.const 14) (i32.const 0x140) (i32.const 3)))
    (i32.store (i32.const 12) (call $header (i32.const 0x1a0) (i32.const 9) (i32.const 0x140) (i32.const 3))))"));
  ASSERT_TRUE(o.done.ok()) << o.done.error().toString();
  EXPECT_THAT(o.statuses, ElementsAre(abi::kErrInvalidArgument, abi::kErrInvalidArgument,
                                      abi::kErrInvalidArgument, abi::kErrInvalidArgument));
  EXPECT_TRUE(o.head.empty());
}

TEST_F(ResponseAbi, PointersOutsideMemoryAreAnErrorNeverACrash) {
  auto o = run(reactorWat(R"(
    (i32.store (i32.const 0) (call $header (i32.const 0xffffff00) (i32.const 8) (i32.const 0x140) (i32.const 3)))
    (i32.store (i32.const 4) (call $header (i32.const 0x130) (i32.const 10) (i32.const 0xfffe) (i32.const 3)))
    (i32.store (i32.const 8) (call $header (i32.const 0x130) (i32.const -1) (i32.const 0x140) (i32.const 3)))
    (i32.store (i32.const 12) (call $header (i32.const 0x130) (i32.const 10) (i32.const 0x140) (i32.const -1))))"));
  ASSERT_TRUE(o.done.ok()) << o.done.error().toString();
  EXPECT_THAT(o.statuses, ElementsAre(abi::kErrInvalidArgument, abi::kErrInvalidArgument,
                                      abi::kErrInvalidArgument, abi::kErrInvalidArgument));
  EXPECT_TRUE(o.head.empty());
}

TEST_F(ResponseAbi, TooManyOrTooLargeHeadersAreTooLarge) {
  auto o = run(reactorWat(R"(
    (block $done (loop $again
      (br_if $done (i32.eq (local.get $i) (i32.const )" + std::to_string(abi::kMaxResponseHeaders) + R"()))
      (drop (call $header (i32.const 0x130) (i32.const 10) (i32.const 0x140) (i32.const 3)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $again)))
    (i32.store (i32.const 0) (call $header (i32.const 0x130) (i32.const 10) (i32.const 0x150) (i32.const 3))))"));
  ASSERT_TRUE(o.done.ok()) << o.done.error().toString();
  EXPECT_EQ(o.statuses.at(0), abi::kErrTooLarge);
  EXPECT_EQ(o.head.headers().size(), abi::kMaxResponseHeaders);

  auto big = run(reactorWat(R"(
    (memory.fill (i32.const 0x1000) (i32.const 97) (i32.const 20000))
    (i32.store (i32.const 0) (call $header (i32.const 0x1d0) (i32.const 5) (i32.const 0x1000) (i32.const )" +
                            std::to_string(abi::kMaxResponseHeaderBytes) + R"()))
    (i32.store (i32.const 4) (call $header (i32.const 0x1d0) (i32.const 5) (i32.const 0x1000) (i32.const 100))))"));
  ASSERT_TRUE(big.done.ok()) << big.done.error().toString();
  EXPECT_EQ(big.statuses.at(0), abi::kErrTooLarge);
  EXPECT_EQ(big.statuses.at(1), abi::kOk);
  EXPECT_THAT(big.head.headers(), ElementsAre(Pair("X-Big", std::string(100, 'a'))));
}

TEST_F(ResponseAbi, AFailingHandlerStaysAFailureAndGivesNoHead) {
  const std::string wat = std::string(R"((module
    (import "cwasi" "response_status" (func $status (param i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "cwasi_alloc") (param i32) (result i32) (i32.const 16))
    (func (export "cwasi_handle") (param i32 i32) (result i32)
      (drop (call $status (i32.const 201)))
      (i32.const 3)))
  )");
  auto o = run(wat);
  ASSERT_FALSE(o.done.ok());
  EXPECT_EQ(o.done.error().code(), Code::kAborted);
  EXPECT_EQ(o.done.error().message(), "cwasi_handle returned status 3");
  EXPECT_TRUE(o.head.empty());
}

TEST_F(ResponseAbi, EachHandleCallStartsWithAnEmptyHead) {
  // Sets 201 and a Location only when the request is not empty.
  const std::string wat = reactorWat(R"(
    (if (local.get $n) (then
      (drop (call $status (i32.const 201)))
      (drop (call $header (i32.const 0x100) (i32.const 8) (i32.const 0x110) (i32.const 21))))))");
  auto m = engine_->loadBytes({reinterpret_cast<const uint8_t*>(wat.data()), wat.size()}, "w");
  ASSERT_TRUE(m.ok()) << m.error().toString();
  auto inst = Instance::create(*engine_, *m, {});
  ASSERT_TRUE(inst.ok()) << inst.error().toString();
  const uint8_t x = 'x';
  ASSERT_TRUE((*inst)->handle({&x, 1}).ok());
  EXPECT_EQ((*inst)->responseHead().status(), 201);
  ASSERT_TRUE((*inst)->handle({}).ok());
  EXPECT_TRUE((*inst)->responseHead().empty());
}

TEST_F(ResponseAbi, ACommandMaySetItsHeadToo) {
  const std::string wat = std::string(R"((module
    (import "cwasi" "response_status" (func $status (param i32) (result i32)))
    (import "cwasi" "response_header" (func $header (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1))") + kStrings + R"(
    (func (export "_start")
      (drop (call $status (i32.const 418)))
      (drop (call $header (i32.const 0x1b0) (i32.const 12) (i32.const 0x1c0) (i32.const 9)))))
  )";
  auto o = run(wat);
  ASSERT_TRUE(o.done.ok()) << o.done.error().toString();
  EXPECT_EQ(o.head.status(), 418);
  EXPECT_THAT(o.head.headers(), ElementsAre(Pair("Content-Type", "text/html")));
}

TEST_F(ResponseAbi, AVersionOneGuestGetsAnEmptyHeadAndItsBody) {
  auto m = engine_->loadFile(testing::functionPath("echo"));
  ASSERT_TRUE(m.ok()) << m.error().toString();
  SpanSource source({reinterpret_cast<const uint8_t*>("ping"), 4});
  VectorSink sink;
  ResponseHead head;
  ASSERT_TRUE(head.setStatus(500).ok());  // overwritten with the function's (none)
  auto done = invoke(*engine_, *m, {}, source, sink, &head);
  ASSERT_TRUE(done.ok()) << done.error().toString();
  EXPECT_EQ(std::string(sink.data.begin(), sink.data.end()), "ping");
  EXPECT_TRUE(head.empty());
}

TEST(Abi, ResponseHeaderLimitsMatchTheSdkHeader) {
  std::ifstream f(testing::sourcePath("sdk/c/cwasi.h"));
  std::string text((std::istreambuf_iterator<char>(f)), {});
  std::smatch m;
  ASSERT_TRUE(std::regex_search(text, m, std::regex(R"(#define CWASI_MAX_RESPONSE_HEADERS (\d+))")));
  EXPECT_EQ(std::stoul(m[1]), abi::kMaxResponseHeaders);
  ASSERT_TRUE(
      std::regex_search(text, m, std::regex(R"(#define CWASI_MAX_RESPONSE_HEADER_BYTES (\d+))")));
  EXPECT_EQ(std::stoul(m[1]), abi::kMaxResponseHeaderBytes);
}

}  // namespace
}  // namespace cwasi::runtime

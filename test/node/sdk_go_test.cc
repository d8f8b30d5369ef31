// The Go guest SDK (sdk/go) as users meet it: its example functions
// (sdk/go/examples, built by cmake/GoFunctions.cmake) through cwasid over real
// HTTP and through `cwasi run`, held to the same behaviours as their C twins
// (functions/text/upper.c, functions/http/redirect.c), and calling functions
// of either language.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <ostream>

#include "node/daemon.h"

namespace cwasi::node {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace cwasi::node::testing;

// The C function and its Go twin, by role, for `cwasi run` (the same
// behaviours through cwasid are Sdks/GuestSdk in sdk_test.cc).
struct Sdk {
  const char* name;
  const char* upper;
  const char* redirect;
};
const Sdk kC{"C", "upper", "redirect"};
const Sdk kGo{"Go", "go-upper", "go-redirect"};
// Test names read "GetParam() = Go", not the struct's bytes.
void PrintTo(const Sdk& sdk, std::ostream* os) { *os << sdk.name; }

std::string errorOf(const Reply& r) {
  json body = json::parse(r.body, nullptr, false);
  return body.is_object() && body.contains("error") ? body["error"].get<std::string>() : r.body;
}

// Every byte value, lower case letters among them.
std::string allBytes(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7 + i / 256) % 256);
  return s;
}

std::string upperAscii(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

using GoSdkOverHttp = DaemonTest;

TEST_F(GoSdkOverHttp, ARequestCarriesMethodPathQueryAndHeaders) {
  Daemon& d = *daemon_;
  ASSERT_EQ(d.deploy(spec("echo", "go-echo")).status, 202);
  Reply r = curl({"-X", "PUT", "-H", "Content-Type: text/csv", "-H", "X-Echo: seen here", "-H",
                  "Authorization: Bearer secret", "--data-binary", "a,b\n1,2",
                  d.url_with("/function/echo/items/7?page=2&q=x")});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "a,b\n1,2");
  EXPECT_THAT(r.headers, HasSubstr("\r\nContent-Type: text/csv\r\n"));
  EXPECT_THAT(r.headers, HasSubstr("\r\nX-Echo-Method: PUT\r\n"));
  EXPECT_THAT(r.headers, HasSubstr("\r\nX-Echo-Path: /items/7\r\n"));
  EXPECT_THAT(r.headers, HasSubstr("\r\nX-Echo-Query: page=2&q=x\r\n"));
  EXPECT_THAT(r.headers, HasSubstr("\r\nX-Echo-Header: seen here\r\n"));
  EXPECT_THAT(r.headers, Not(HasSubstr("secret")));
}

TEST_F(GoSdkOverHttp, ACallReachesFunctionsOfEitherLanguage) {
  Daemon& d = *daemon_;
  ASSERT_EQ(d.deploy(spec("caller", "go-caller")).status, 202);
  ASSERT_EQ(d.deploy(spec("upper", "upper")).status, 202);
  ASSERT_EQ(d.deploy(spec("go-upper", "go-upper")).status, 202);
  ASSERT_EQ(d.deploy(spec("c-caller", "caller")).status, 202);

  EXPECT_EQ(d.invoke("caller", "call upper\nfrom go to c").body, "FROM GO TO C");
  // A response of 512 KiB comes back through the Go function's cwasi_alloc.
  const std::string big = allBytes(512 << 10);
  http::HttpResponse r = d.fetch("POST", "/function/caller", "call go-upper\n" + big);
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body == upperAscii(big)) << "the response to a call differs";
  // C calling Go: the C caller answers the 4-byte status, then the response.
  Reply c = d.invoke("c-caller", "c go-upper\nfrom c to go");
  EXPECT_EQ(c.body, std::string(4, '\0') + "FROM C TO GO");
}

TEST_F(GoSdkOverHttp, SentMessagesAreReceivedInOrderThenRecvTimesOut) {
  Daemon& d = *daemon_;
  ASSERT_EQ(d.deploy(spec("caller", "go-caller")).status, 202);
  EXPECT_EQ(d.invoke("caller", "send caller\nfirst").body, "sent");
  EXPECT_EQ(d.invoke("caller", "send caller\nsecond").body, "sent");
  EXPECT_EQ(d.invoke("caller", "recv 1000").body, "first");
  EXPECT_EQ(d.invoke("caller", "recv 1000").body, "second");
  Reply none = d.invoke("caller", "recv 50");
  EXPECT_EQ(none.status, 500);
  EXPECT_EQ(errorOf(none), "cwasi: recv: timeout");
  EXPECT_EQ(errorOf(d.invoke("caller", "send nope\nx")), "cwasi: send \"nope\": unknown target");
}

TEST_F(GoSdkOverHttp, AnUnknownTargetIsTheGuestsErrorWhichItReports) {
  Daemon& d = *daemon_;
  ASSERT_EQ(d.deploy(spec("caller", "go-caller")).status, 202);
  Reply r = d.invoke("caller", "call nope\nx");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(errorOf(r), "cwasi: call \"nope\": unknown target");
  EXPECT_THAT(r.body, HasSubstr("\"function\":\"caller\""));
}

TEST_F(GoSdkOverHttp, AHandlerErrorIsA500WithItsMessage) {
  Daemon& d = *daemon_;
  ASSERT_EQ(d.deploy(spec("caller", "go-caller")).status, 202);
  Reply fail = d.invoke("caller", "fail the ledger is closed");
  EXPECT_EQ(fail.status, 500);
  EXPECT_EQ(errorOf(fail), "the ledger is closed");

  Reply panic = d.invoke("caller", "panic out of cheese");
  EXPECT_EQ(panic.status, 500);
  EXPECT_EQ(errorOf(panic), "panic: out of cheese");

  // A failed callee: the caller sees ErrFunctionFailed with its text.
  Reply nested = d.invoke("caller", "call caller\nfail inner trouble");
  EXPECT_EQ(nested.status, 500);
  EXPECT_EQ(errorOf(nested), "cwasi: call \"caller\": function failed: inner trouble");

  EXPECT_EQ(d.invoke("caller", "call caller\ncall caller\nfail x").status, 500);
  ASSERT_EQ(d.deploy(spec("upper", "go-upper")).status, 202);
  EXPECT_EQ(d.invoke("caller", "call upper\nstill serving").body, "STILL SERVING");
}

// `cwasi run`: a reactor reads its request on stdin and answers on stdout.
SubprocessResult cwasi(std::vector<std::string> args, std::string input = "") {
  std::vector<std::string> argv = {binPath("cwasi").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = runSubprocess({.argv = argv, .input = std::move(input), .timeout = 120s});
  EXPECT_TRUE(r.ok());
  EXPECT_FALSE(r->timed_out);
  return r.ok() ? *r : SubprocessResult{};
}

class SdkRun : public ::testing::TestWithParam<Sdk> {};

TEST_P(SdkRun, UpperAnswersEveryByteExactlyAndLogsOnStderr) {
  const std::string body = allBytes(100000);
  auto r = cwasi({"run", functionPath(GetParam().upper).string()}, body);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out == upperAscii(body));
  EXPECT_EQ(r.err, "upper: 100000 bytes\n");
}

TEST_P(SdkRun, RedirectAnswersItsBody) {
  auto r = cwasi({"run", functionPath(GetParam().redirect).string()}, "https://x.example/\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "moved\n");
}

INSTANTIATE_TEST_SUITE_P(CAndGo, SdkRun, ::testing::Values(kC, kGo),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(GoSdkRun, AFailingHandlerExitsNonZeroWithItsMessage) {
  auto fail = cwasi({"run", functionPath("go-caller").string()}, "fail no luck");
  EXPECT_EQ(fail.exit_code, 1);
  EXPECT_EQ(fail.out, "no luck");
  // `cwasi run` has no other functions to call: the guest hears so.
  auto call = cwasi({"run", functionPath("go-caller").string()}, "call upper\nx");
  EXPECT_EQ(call.exit_code, 1);
  EXPECT_THAT(call.out, HasSubstr("cwasi: call \"upper\": "));
  auto panic = cwasi({"run", functionPath("go-caller").string()}, "panic at the disco");
  EXPECT_EQ(panic.exit_code, 1);
  EXPECT_EQ(panic.out, "panic: at the disco");
  EXPECT_THAT(panic.err, HasSubstr("goroutine"));  // the stack, for the logs
}

// A module imports only what it uses: one that sends no outbound HTTP runs on
// hosts of ABI version 2, which refuse cwasi.http_request.
TEST(GoSdkModules, ImportOnlyWhatTheyUseAndExportTheReactorABI) {
  auto inspect = [](const std::string& fn) {
    auto r = cwasi({"inspect", functionPath(fn).string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  };
  const std::string upper = inspect("go-upper");
  EXPECT_THAT(upper, HasSubstr("kind:    reactor"));
  for (const char* e : {"func _initialize", "func cwasi_alloc", "func cwasi_handle"}) {
    EXPECT_THAT(upper, HasSubstr(e));
  }
  EXPECT_THAT(upper, HasSubstr("func cwasi.response_set"));
  EXPECT_THAT(upper, Not(HasSubstr("cwasi.call")));
  EXPECT_THAT(upper, Not(HasSubstr("cwasi.http_request")));
  const std::string caller = inspect("go-caller");
  EXPECT_THAT(caller, HasSubstr("func cwasi.call"));
  EXPECT_THAT(caller, Not(HasSubstr("cwasi.http_request")));
  EXPECT_THAT(inspect("go-fetch"), HasSubstr("func cwasi.http_request"));
}

TEST(GoSdkModules, SizesOfTheSameFunctionsInCAndGo) {
  std::printf("%-10s %10s %10s\n", "function", "C bytes", "Go bytes");
  for (const char* name : {"upper", "redirect"}) {
    const auto c = fs::file_size(functionPath(name));
    const auto go = fs::file_size(functionPath(std::string("go-") + name));
    std::printf("%-10s %10ju %10ju\n", name, static_cast<uintmax_t>(c), static_cast<uintmax_t>(go));
    RecordProperty(std::string(name) + "_c_bytes", std::to_string(c));
    RecordProperty(std::string(name) + "_go_bytes", std::to_string(go));
    EXPECT_LT(go, 4u << 20) << name << ": a Go function grew past 4 MiB";
  }
}

}  // namespace
}  // namespace cwasi::node

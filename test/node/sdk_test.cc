// The guest SDKs through cwasid over real HTTP: the same behaviours from the
// C SDK's functions (functions/), the Rust SDK's (sdk/rust/examples, built as
// rust-<name>.wasm) and the Go SDK's (sdk/go/examples, go-<name>.wasm), then
// what only the Rust SDK's examples exercise (Go's: sdk_go_test.cc):
// the request's HTTP context, handler errors, calls between functions.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "node/daemon.h"

namespace cwasi::node {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace cwasi::node::testing;

// Every byte value, a NUL in the middle and a body past one read buffer.
std::string binaryBody() {
  std::string s;
  for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
  s += std::string("mixed Case\0text", 15);
  for (int i = 0; i < 300000; ++i) s.push_back(static_cast<char>('a' + i % 26));
  return s;
}

std::string upperAscii(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

// One SDK's functions: C's are "upper", Rust's "rust-upper", Go's "go-upper".
struct Sdk {
  std::string name, prefix;
};
void PrintTo(const Sdk& sdk, std::ostream* os) { *os << sdk.name; }

class GuestSdk : public DaemonTest, public ::testing::WithParamInterface<Sdk> {
 protected:
  std::string fn(const std::string& name) const { return GetParam().prefix + name; }
};

TEST_P(GuestSdk, UpperAndEchoAreByteExact) {
  Daemon& d = *daemon_;
  ASSERT_EQ(d.deploy(spec("upper", fn("upper"))).status, 202);
  ASSERT_EQ(d.deploy(spec("echo", fn("echo"))).status, 202);
  const std::string body = binaryBody();
  http::HttpResponse up = d.fetch("POST", "/function/upper", body);
  EXPECT_EQ(up.status, 200);
  EXPECT_TRUE(up.body == upperAscii(body)) << "upper changed the bytes (" << up.body.size() << ")";
  http::HttpResponse echo = d.fetch("POST", "/function/echo", body);
  EXPECT_EQ(echo.status, 200);
  EXPECT_EQ(echo.content_type, "application/octet-stream");
  EXPECT_TRUE(echo.body == body) << "echo changed the bytes (" << echo.body.size() << ")";
  EXPECT_EQ(d.fetch("POST", "/function/echo", "").body, "");
  EXPECT_EQ(d.invoke("upper", "Hello, cwasi").body, "HELLO, CWASI");
}

TEST_P(GuestSdk, ARedirectAnswers302WithLocationAndContentType) {
  Daemon& d = *daemon_;
  ASSERT_EQ(d.deploy(spec("redirect", fn("redirect"))).status, 202);
  Reply r = d.invoke("redirect", "https://cwasi.example/next?x=1\n");
  EXPECT_EQ(r.status, 302);
  EXPECT_THAT(r.headers, HasSubstr("HTTP/1.1 302 Found\r\n"));
  EXPECT_THAT(r.headers, HasSubstr("\r\nLocation: https://cwasi.example/next?x=1\r\n"));
  EXPECT_THAT(r.headers, HasSubstr("\r\nContent-Type: text/plain; charset=utf-8\r\n"));
  EXPECT_EQ(r.body, "moved\n");
  EXPECT_THAT(d.invoke("redirect", "").headers, HasSubstr("\r\nLocation: https://example.com/\r\n"));
  Reply evil = d.invoke("redirect", "/x\r\nSet-Cookie: evil=1");
  EXPECT_EQ(evil.status, 400);
  EXPECT_EQ(evil.body, "redirect: the target is not a valid Location\n");
  EXPECT_THAT(evil.headers, Not(HasSubstr("evil")));
  EXPECT_THAT(evil.headers, Not(HasSubstr("Location")));
}

INSTANTIATE_TEST_SUITE_P(Sdks, GuestSdk,
                         ::testing::Values(Sdk{"C", ""}, Sdk{"Rust", "rust-"}, Sdk{"Go", "go-"}),
                         [](const auto& info) { return info.param.name; });

class RustSdk : public DaemonTest {};

TEST_F(RustSdk, ARequestCarriesMethodPathQueryAndHeaders) {
  Daemon& d = *daemon_;
  ASSERT_EQ(d.deploy(spec("echo", "rust-echo")).status, 202);
  Reply r = curl({"-H", "X-Trace-Token: t-1", "-H", "Authorization: Bearer secret", "-X", "PUT",
                  "--data-binary", "x", d.url_with("/function/echo/a/b?show=request&k=v%20w")});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.headers, HasSubstr("\r\nContent-Type: text/plain; charset=utf-8\r\n"));
  EXPECT_THAT(r.body, HasSubstr("method=PUT\npath=/a/b\nquery=show=request&k=v%20w\n"));
  EXPECT_THAT(r.body, HasSubstr("header X-Trace-Token=t-1\n"));
  EXPECT_THAT(r.body, HasSubstr("header X-Call-Id="));
  EXPECT_THAT(r.body, Not(HasSubstr("secret")));
}

TEST_F(RustSdk, AHandlerReturningErrIsA500WithItsMessage) {
  Daemon& d = *daemon_;
  ASSERT_EQ(d.deploy(spec("echo", "rust-echo")).status, 202);
  Reply r = curl({"--data-binary", "x", d.url_with("/function/echo?fail=out+of+tea")});
  EXPECT_EQ(r.status, 500);
  json body = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << r.body;
  EXPECT_EQ(body["error"], "out of tea");
  EXPECT_EQ(body["function"], "echo");
}

TEST_F(RustSdk, StatusesAndHeadersTheHostRefusesFailTheInvocationNamingThem) {
  Daemon& d = *daemon_;
  ASSERT_EQ(d.deploy(spec("echo", "rust-echo")).status, 202);
  Reply created = curl({"--data-binary", "made", d.url_with("/function/echo?status=201&header=X-Made:yes")});
  EXPECT_EQ(created.status, 201);
  EXPECT_THAT(created.headers, HasSubstr("\r\nX-Made: yes\r\n"));
  EXPECT_EQ(created.body, "made");

  Reply length = curl({"--data-binary", "x", d.url_with("/function/echo?header=Content-Length:1")});
  EXPECT_EQ(length.status, 500);
  EXPECT_THAT(length.body, HasSubstr("response header Content-Length: invalid argument"));
  Reply odd = curl({"--data-binary", "x", d.url_with("/function/echo?status=700")});
  EXPECT_EQ(odd.status, 500);
  EXPECT_THAT(odd.body, HasSubstr("response status 700: invalid argument"));
}

TEST_F(RustSdk, CallsAnotherFunctionAndReportsItsErrors) {
  Daemon& d = *daemon_;
  ASSERT_EQ(d.deploy(spec("caller", "rust-caller")).status, 202);
  ASSERT_EQ(d.deploy(spec("upper", "upper")).status, 202);        // C
  ASSERT_EQ(d.deploy(spec("rupper", "rust-upper")).status, 202);  // Rust
  ASSERT_EQ(d.deploy(spec("trap", "unreachable")).status, 202);
  EXPECT_EQ(d.invoke("caller", "upper\ncalled from Rust").body, "CALLED FROM RUST");
  const std::string big = binaryBody();
  http::HttpResponse r = d.fetch("POST", "/function/caller", "rupper\n" + big);
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body == upperAscii(big)) << r.body.size();

  Reply ghost = d.invoke("caller", "ghost\nx");
  EXPECT_EQ(ghost.status, 500);
  json body = json::parse(ghost.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << ghost.body;
  EXPECT_EQ(body["error"], "call ghost: unknown target");
  Reply trapped = d.invoke("caller", "trap\nx");
  EXPECT_EQ(trapped.status, 500);
  EXPECT_THAT(trapped.body, HasSubstr("call trap: function failed: "));
  EXPECT_THAT(trapped.body, HasSubstr("unreachable"));
  Reply bad = d.invoke("caller", "no newline");
  EXPECT_EQ(bad.status, 500);
  EXPECT_THAT(bad.body, HasSubstr("expected TARGET"));
}

TEST_F(RustSdk, ACommandServesTheSameHandlerWithCgiOutput) {
  Daemon& d = *daemon_;
  json cgi = {{"annotations", {{"cwasi.io/response", "cgi"}}}};
  ASSERT_EQ(d.deploy(spec("page", "rust-page", cgi)).status, 202);
  Reply r = d.invoke("page", "<hi>");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.headers, HasSubstr("\r\nContent-Type: text/html; charset=utf-8\r\n"));
  EXPECT_THAT(r.headers, HasSubstr("\r\nSet-Cookie: seen=1; Path=/\r\n"));
  EXPECT_EQ(r.body, "<!doctype html>\n<p>POST request: <code>&lt;hi&gt;</code></p>\n");
  Reply teapot = d.invoke("page", "teapot");
  EXPECT_EQ(teapot.status, 418);
  EXPECT_EQ(teapot.body, "short and stout\n");
}

}  // namespace
}  // namespace cwasi::node

// CGI output (RFC 3875 §6) as a function's HTTP response: what parses, what
// is refused and why, and the annotation that opts in.
#include "cwasi/trigger/cgi.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cwasi/node/deployment.h"

namespace cwasi::node {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

// The message of parsing `output`, which must fail.
std::string refusal(std::string_view output) {
  auto r = trigger::parseCgiOutput(output);
  if (r.ok()) return "(parsed)";
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
  return r.error().message();
}

TEST(Cgi, HeadersABlankLineAndTheBody) {
  auto r = trigger::parseCgiOutput("Content-Type: text/html\nSet-Cookie: a=1\nSet-Cookie: b=2\n\n<p>hi</p>\n");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->head.status(), 0);  // the gateway's 200
  EXPECT_THAT(r->head.headers(), ElementsAre(Pair("Content-Type", "text/html"),
                                             Pair("Set-Cookie", "a=1"), Pair("Set-Cookie", "b=2")));
  EXPECT_EQ(r->body, "<p>hi</p>\n");
}

TEST(Cgi, CrlfLineEndsWorkAndTheBodyIsKeptByteForByte) {
  auto r = trigger::parseCgiOutput("Content-Type:text/plain\r\n\r\nline\r\n\r\n\n\x00\xff");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_THAT(r->head.headers(), ElementsAre(Pair("Content-Type", "text/plain")));
  EXPECT_EQ(r->body, "line\r\n\r\n\n");  // the literal ends at its NUL
  static constexpr char kBinary[] = "Content-Type: a/b\n\n\x00\xff";
  auto bin = trigger::parseCgiOutput(std::string_view(kBinary, sizeof kBinary - 1));
  ASSERT_TRUE(bin.ok());
  EXPECT_EQ(bin->body, std::string_view("\x00\xff", 2));
}

TEST(Cgi, StatusSetsTheCodeWithOrWithoutAReason) {
  auto r = trigger::parseCgiOutput("Status: 404 Not Found\nContent-Type: text/plain\n\nnope");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->head.status(), 404);
  EXPECT_EQ(r->body, "nope");
  auto bare = trigger::parseCgiOutput("status:201\n\n");
  ASSERT_TRUE(bare.ok()) << bare.error().message();
  EXPECT_EQ(bare->head.status(), 201);
  EXPECT_TRUE(bare->head.headers().empty());
  EXPECT_EQ(bare->body, "");
}

TEST(Cgi, LocationAloneImpliesAFound) {
  auto r = trigger::parseCgiOutput("Location: https://example.com/next\n\n");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->head.status(), 302);
  EXPECT_EQ(r->head.header("location"), "https://example.com/next");
  auto moved = trigger::parseCgiOutput("Location: /b\nStatus: 301 Moved Permanently\n\n");
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(moved->head.status(), 301);  // an explicit Status wins, whatever the order
}

TEST(Cgi, OutputWithoutABlankLineIsRefused) {
  EXPECT_EQ(refusal("Content-Type: text/plain\nhello"), "no blank line ends the header section");
  EXPECT_EQ(refusal(""), "no blank line ends the header section");
  EXPECT_EQ(refusal("Content-Type: text/plain\n"), "no blank line ends the header section");
}

TEST(Cgi, ALineWithoutAColonIsRefusedByNumber) {
  EXPECT_EQ(refusal("Hello from cwasi!\n"), "header line 1 has no colon");
  EXPECT_EQ(refusal("Content-Type: a/b\nhello\n\n"), "header line 2 has no colon");
}

TEST(Cgi, BadNamesAndFoldedLinesAreRefused) {
  EXPECT_THAT(refusal("Bad Name: x\n\n"), HasSubstr("header line 1: the name before the colon is not an HTTP token"));
  EXPECT_THAT(refusal(": x\n\n"), HasSubstr("not an HTTP token"));
  EXPECT_THAT(refusal("Content-Type: a/b\n folded\n\n"), HasSubstr("header line 2"));
}

TEST(Cgi, BadStatusesAreRefused) {
  for (std::string_view bad : {"Status: 99\n\n", "Status: 600 Nope\n\n", "Status: abc\n\n",
                               "Status: 2000\n\n", "Status:\n\n", "Status: 20\n\n",
                               "Status: 100 Continue\n\n", "Status: 200\nStatus: 404\n\n"}) {
    EXPECT_THAT(refusal(bad), HasSubstr("Status")) << bad;
  }
}

TEST(Cgi, CrOrLfInjectionIsRefused) {
  // A CR alone does not end a line: it would on some clients.
  EXPECT_THAT(refusal("Content-Type: a/b\rSet-Cookie: evil=1\n\n"), HasSubstr("stray CR"));
  EXPECT_THAT(refusal("Location: /x\r\rSet-Cookie: evil=1\n\n"), HasSubstr("stray CR"));
  EXPECT_THAT(refusal(std::string_view("Content-Type: a\0b\n\n", 19)),
              HasSubstr("control character"));
}

TEST(Cgi, HeadersTheGatewayOwnsAreRefused) {
  EXPECT_THAT(refusal("Content-Type: a/b\nContent-Length: 3\n\nabc"),
              HasSubstr("header line 2: header Content-Length is set by the gateway"));
  EXPECT_THAT(refusal("Content-Type: a/b\nx-call-id: forged\n\n"), HasSubstr("x-call-id"));
  EXPECT_THAT(refusal("Content-Type: a/b\nTransfer-Encoding: chunked\n\n"),
              HasSubstr("Transfer-Encoding"));
}

TEST(Cgi, TheHeaderSectionIsBounded) {
  const std::string long_value(trigger::kMaxCgiHeaderBytes, 'a');
  EXPECT_THAT(refusal("Content-Type: " + long_value + "\n\n"), HasSubstr("larger than"));
  // No blank line in sight within the bound: refused without reading on.
  EXPECT_THAT(refusal(std::string(trigger::kMaxCgiHeaderBytes * 4, 'x')), HasSubstr("larger than"));
  std::string many = "Content-Type: a/b\n";
  for (size_t i = 0; i < runtime::kMaxResponseHeaders; ++i) many += "Set-Cookie: x\n";
  EXPECT_THAT(refusal(many + "\n"), HasSubstr("more than"));
}

TEST(Cgi, OutputWithoutAnyCgiFieldIsRefused) {
  EXPECT_THAT(refusal("X-Thing: 1\n\nbody"), HasSubstr("none of Status, Location and Content-Type"));
  EXPECT_THAT(refusal("\nbody"), HasSubstr("none of Status"));
}

TEST(Cgi, TheAnnotationIsCgiOrRaw) {
  EXPECT_EQ(*trigger::responseModeFrom({}), trigger::ResponseMode::kRaw);
  EXPECT_EQ(*trigger::responseModeFrom({{"cwasi.io/response", "raw"}}), trigger::ResponseMode::kRaw);
  EXPECT_EQ(*trigger::responseModeFrom({{"cwasi.io/response", "cgi"}}), trigger::ResponseMode::kCgi);
  auto bad = trigger::responseModeFrom({{"cwasi.io/response", "CGI"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), Code::kInvalidArgument);
  EXPECT_THAT(bad.error().message(), HasSubstr("cwasi.io/response"));
  EXPECT_THAT(bad.error().message(), HasSubstr("'CGI'"));
}

TEST(Cgi, ADeploymentReadsTheAnnotationAndKeepsItWhenStored) {
  nlohmann::json j = {{"service", "page"},
                      {"image", "/f.wasm"},
                      {"annotations", {{"cwasi.io/response", "cgi"}}}};
  auto d = parseDeployment(j);
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(d->response, trigger::ResponseMode::kCgi);
  auto again = parseDeployment(toJson(*d));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->response, trigger::ResponseMode::kCgi);
  j["annotations"]["cwasi.io/response"] = "wagi";
  auto bad = parseDeployment(j);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), Code::kInvalidArgument);
  EXPECT_THAT(bad.error().message(), HasSubstr("annotation cwasi.io/response"));
}

}  // namespace
}  // namespace cwasi::node

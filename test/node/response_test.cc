// Functions shape their HTTP response, through cwasid and real clients: a
// reactor with the guest ABI's status and headers (functions/http/redirect),
// a command with CGI output (functions/http/content_type, functions/http/cat
// for output the test writes), and CGI output gone wrong.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "node/daemon.h"

namespace cwasi::node {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace cwasi::node::testing;

class FunctionResponses : public DaemonTest {
 protected:
  static json cgi() { return {{"annotations", {{"cwasi.io/response", "cgi"}}}}; }
};

TEST_F(FunctionResponses, ARedirectFunctionAnswers302WithItsLocation) {
  Daemon& d = *daemon_;
  ASSERT_EQ(d.deploy(spec("redirect", "redirect")).status, 202);
  Reply r = d.invoke("redirect", "https://cwasi.example/next?x=1\n");
  EXPECT_EQ(r.status, 302);
  EXPECT_THAT(r.headers, HasSubstr("HTTP/1.1 302 Found\r\n"));
  EXPECT_THAT(r.headers, HasSubstr("\r\nLocation: https://cwasi.example/next?x=1\r\n"));
  EXPECT_THAT(r.headers, HasSubstr("\r\nContent-Type: text/plain; charset=utf-8\r\n"));
  EXPECT_THAT(r.headers, HasSubstr("\r\nX-Call-Id: "));  // the gateway's own stay
  EXPECT_EQ(r.body, "moved\n");

  Reply fixed = d.invoke("redirect", "");
  EXPECT_EQ(fixed.status, 302);
  EXPECT_THAT(fixed.headers, HasSubstr("\r\nLocation: https://example.com/\r\n"));

  // A target that would inject a header: the host refuses it, the function
  // answers 400 and no header leaks.
  Reply evil = d.invoke("redirect", "/x\r\nSet-Cookie: evil=1");
  EXPECT_EQ(evil.status, 400);
  EXPECT_THAT(evil.headers, Not(HasSubstr("evil")));
  EXPECT_THAT(evil.headers, Not(HasSubstr("Location")));
}

TEST_F(FunctionResponses, ACgiCommandChoosesItsContentTypeStatusAndHeaders) {
  Daemon& d = *daemon_;
  ASSERT_EQ(d.deploy(spec("page", "content-type", cgi())).status, 202);
  Reply r = d.invoke("page", "<hi>");
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.headers, HasSubstr("\r\nContent-Type: text/html; charset=utf-8\r\n"));
  EXPECT_THAT(r.headers, Not(HasSubstr("application/octet-stream")));
  EXPECT_THAT(r.headers, HasSubstr("\r\nSet-Cookie: seen=1; Path=/\r\n"));
  EXPECT_THAT(r.headers, HasSubstr("\r\nSet-Cookie: lang=en; Path=/\r\n"));
  EXPECT_THAT(r.body, HasSubstr("<!doctype html>"));
  EXPECT_THAT(r.body, HasSubstr("POST request: <code>&lt;hi&gt;</code>"));
  EXPECT_THAT(r.body, Not(HasSubstr("Content-Type")));  // the header section is not the body

  Reply teapot = d.invoke("page", "teapot");
  EXPECT_EQ(teapot.status, 418);
  EXPECT_EQ(teapot.body, "short and stout\n");

  // The metrics count what the function answered.
  const std::string m = d.metrics();
  EXPECT_EQ(metric(m, "gateway_function_invocation_total{code=\"418\",function_name=\"page\"}"), 1);
  EXPECT_EQ(metric(m, "gateway_function_invocation_total{code=\"200\",function_name=\"page\"}"), 1);
}

TEST_F(FunctionResponses, WithoutTheAnnotationACommandsOutputIsTheBody) {
  Daemon& d = *daemon_;
  ASSERT_EQ(d.deploy(spec("page", "content-type")).status, 202);
  Reply r = d.invoke("page", "x");
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.headers, HasSubstr("\r\nContent-Type: application/octet-stream\r\n"));
  EXPECT_THAT(r.body, ::testing::StartsWith("Content-Type: text/html"));
}

TEST_F(FunctionResponses, MalformedCgiOutputIsA502NamingTheFaultAndTheDaemonKeepsServing) {
  Daemon& d = *daemon_;
  ASSERT_EQ(d.deploy(spec("cat", "cat", cgi())).status, 202);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"Content-Type: text/plain\nno blank line", "no blank line ends the header section"},
      {"Content-Type: text/plain\nhello\n\n", "header line 2 has no colon"},
      {"Status: 777 Odd\n\n", "bad Status"},
      {"Content-Type: a/b\rSet-Cookie: evil=1\n\n", "stray CR"},
      {"Content-Type: a/b\nContent-Length: 1\n\nabc", "Content-Length is set by the gateway"},
      {"Content-Type: " + std::string(40000, 'a') + "\n\n", "larger than"},
  };
  for (const auto& [output, fault] : cases) {
    Reply r = d.invoke("cat", output);
    EXPECT_EQ(r.status, 502) << fault;
    json body = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << r.body;
    EXPECT_EQ(body["function"], "cat");
    EXPECT_THAT(body["error"].get<std::string>(), HasSubstr("invalid CGI output"));
    EXPECT_THAT(body["error"].get<std::string>(), HasSubstr(fault));
    EXPECT_THAT(r.headers, Not(HasSubstr("evil")));
  }
  Reply good = d.invoke("cat", "Status: 201 Created\r\nContent-Type: text/plain\r\n\r\nmade");
  EXPECT_EQ(good.status, 201);
  EXPECT_EQ(good.body, "made");
  ASSERT_EQ(d.deploy(spec("upper", "upper")).status, 202);
  EXPECT_EQ(d.invoke("upper", "still here").body, "STILL HERE");
}

TEST_F(FunctionResponses, AnUnknownResponseModeIsRefusedNamingTheAnnotation) {
  Reply r = daemon_->deploy(spec("page", "content-type",
                                 {{"annotations", {{"cwasi.io/response", "wagi"}}}}));
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("cwasi.io/response"));
  EXPECT_THAT(r.body, HasSubstr("wagi"));
}

}  // namespace
}  // namespace cwasi::node

// What a function sees of an HTTP request, and how its outcome is answered.
#include "cwasi/trigger/function_http.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

namespace cwasi::trigger {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Pair;

TEST(FunctionHttp, TheRequestBecomesTheWatchdogsEnvironmentWithoutCredentials) {
  http::HttpRequest req;
  req.method = "PUT";
  req.query = "a=1";
  req.headers = {{"X-Custom-Thing", "v1"},
                 {"Authorization", "Bearer token"},
                 {"proxy-authorization", "Basic cHJveHk6cGFzcw=="},
                 {"Content-Type", "text/plain"}};
  auto env = requestEnv(req, "/sub/path", "call-7");
  EXPECT_THAT(env, Contains(Pair("Http_Method", "PUT")));
  EXPECT_THAT(env, Contains(Pair("Http_Path", "/sub/path")));
  EXPECT_THAT(env, Contains(Pair("Http_Query", "a=1")));
  EXPECT_THAT(env, Contains(Pair("Http_X_Call_Id", "call-7")));
  EXPECT_THAT(env, Contains(Pair("Http_X_Custom_Thing", "v1")));
  EXPECT_THAT(env, Contains(Pair("Http_Content_Type", "text/plain")));
  for (const auto& [k, v] : env) {
    EXPECT_EQ(v.find("token"), std::string::npos) << k;
    EXPECT_EQ(v.find("cHJveHk6cGFzcw"), std::string::npos) << k;  // Proxy-Authorization
  }
  EXPECT_THAT(requestEnv(req, "", "c"), Contains(Pair("Http_Path", "/")));
}

// Found by the http_request fuzz target: "A%uthorization" became
// Http_Authorization, and a header "Method" a second Http_Method.
TEST(FunctionHttp, NoHeaderPosesAsCredentialsOrTheGatewaysVariables) {
  http::HttpRequest req;
  req.method = "GET";
  req.headers = {{"A%uthorization", "Bearer token"}, {"Proxy.Authorization", "Basic x"},
                 {"method", "DELETE"}, {"Path", "/admin"}, {"QUERY", "q"}, {"X-Call-Id.", "forged"},
                 {"Accept", "*/*"}};
  std::map<std::string, std::vector<std::string>> env;
  for (const auto& [k, v] : requestEnv(req, "/p", "call-1")) env[k].push_back(v);
  EXPECT_FALSE(env.contains("Http_Authorization"));
  EXPECT_FALSE(env.contains("Http_Proxy_Authorization"));
  EXPECT_EQ(env["Http_Method"], std::vector<std::string>{"GET"});
  EXPECT_EQ(env["Http_Path"], std::vector<std::string>{"/p"});
  EXPECT_EQ(env["Http_Query"], std::vector<std::string>{""});
  EXPECT_EQ(env["Http_X_Call_Id"], std::vector<std::string>{"call-1"});
  EXPECT_EQ(env["Http_Accept"], std::vector<std::string>{"*/*"});
}

TEST(FunctionHttp, OutcomesBecomeResponses) {
  Invocation ok;
  ok.result = std::vector<uint8_t>{'h', 'i'};
  http::HttpResponse r = invocationResponse("f", ok, std::chrono::milliseconds(100));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hi");
  EXPECT_EQ(r.header("X-Cold-Start"), "false");
  Invocation late;
  late.result = deadlineExceeded("x");
  r = invocationResponse("f", late, std::chrono::milliseconds(100));
  EXPECT_EQ(r.status, 504);
  EXPECT_THAT(r.body, HasSubstr("timed out after 100 ms"));
  Invocation failed;
  failed.result = aborted("");
  r = invocationResponse("f", failed, std::chrono::milliseconds(100));
  EXPECT_EQ(r.status, 500);
  EXPECT_THAT(r.body, HasSubstr("\"function\":\"f\""));
}

TEST(FunctionHttp, TheFunctionsStatusAndHeadersShapeTheResponse) {
  Invocation inv;
  inv.result = std::vector<uint8_t>{'<', 'p', '>'};
  ASSERT_TRUE(inv.head.setStatus(201).ok());
  ASSERT_TRUE(inv.head.addHeader("Content-Type", "text/html").ok());
  ASSERT_TRUE(inv.head.addHeader("Set-Cookie", "a=1").ok());
  ASSERT_TRUE(inv.head.addHeader("Set-Cookie", "b=2").ok());
  http::HttpResponse r = invocationResponse("f", inv, std::chrono::milliseconds(100));
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.content_type, "text/html");  // replaces application/octet-stream
  EXPECT_EQ(r.body, "<p>");
  EXPECT_THAT(r.headers, Contains(Pair("Set-Cookie", "a=1")));
  EXPECT_THAT(r.headers, Contains(Pair("Set-Cookie", "b=2")));
  EXPECT_THAT(r.headers, ::testing::Not(Contains(Pair("Content-Type", ::testing::_))));
  EXPECT_EQ(r.header("X-Cold-Start"), "false");  // the gateway's own stay
}

TEST(FunctionHttp, AnErrorIgnoresTheHeadAndInvalidCgiOutputIsA502) {
  Invocation inv;
  ASSERT_TRUE(inv.head.setStatus(302).ok());
  inv.result = dataLoss("invalid CGI output: header line 1 has no colon");
  http::HttpResponse r = invocationResponse("f", inv, std::chrono::milliseconds(100));
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_THAT(r.body, HasSubstr("header line 1 has no colon"));
  EXPECT_THAT(r.body, HasSubstr("\"function\":\"f\""));
}

}  // namespace
}  // namespace cwasi::trigger

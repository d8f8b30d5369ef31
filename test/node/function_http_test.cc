// What a function sees of an HTTP request, and how its outcome is answered.
#include "cwasi/node/function_http.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cwasi::node {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Pair;

TEST(FunctionHttp, TheRequestBecomesTheWatchdogsEnvironmentWithoutCredentials) {
  HttpRequest req;
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

TEST(FunctionHttp, OutcomesBecomeResponses) {
  Invocation ok;
  ok.result = std::vector<uint8_t>{'h', 'i'};
  HttpResponse r = invocationResponse("f", ok, std::chrono::milliseconds(100));
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

}  // namespace
}  // namespace cwasi::node

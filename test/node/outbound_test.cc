// Outbound HTTP through cwasid: a deployment's allowedOutboundHosts reach the
// function's cwasi_http_request (functions/http/fetch), invoked over HTTP; a
// small web server on loopback stands in for the destination.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "node/daemon.h"
#include "support/web_server.h"

namespace cwasi::node {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace cwasi::node::testing;
using cwasi::testing::WebServer;

class OutboundThroughCwasid : public DaemonTest {
 protected:
  std::vector<std::string> extraFlags() override { return {"--max-outbound-response-mb", "1"}; }
};

TEST_F(OutboundThroughCwasid, AGrantedFunctionFetchesAndOthersAreDenied) {
  WebServer server([](const cwasi::testing::SeenRequest& r) {
    return cwasi::testing::reply(200, "fetched " + r.target);
  });
  ASSERT_TRUE(server.ok()) << server.error();
  Daemon& d = *daemon_;
  ASSERT_EQ(d.deploy(spec("granted", "fetch", {{"allowedOutboundHosts", {server.url()}}})).status, 202);
  ASSERT_EQ(d.deploy(spec("ungranted", "fetch")).status, 202);

  Reply ok = d.invoke("granted", server.url("/a?b=c"));
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_THAT(ok.body, StartsWith("0 200\n"));
  EXPECT_THAT(ok.body, HasSubstr("\n\nfetched /a?b=c"));

  Reply denied = d.invoke("ungranted", server.url("/a"));
  EXPECT_EQ(denied.status, 502);
  EXPECT_THAT(denied.body, StartsWith("9 0\n"));
  EXPECT_EQ(server.connections(), 1);

  // The grants are echoed in the function's status.
  json status = d.status("granted");
  EXPECT_EQ(status["allowedOutboundHosts"], json::array({server.url()}));
  EXPECT_FALSE(d.status("ungranted").contains("allowedOutboundHosts"));
}

TEST_F(OutboundThroughCwasid, TheDaemonsResponseCapApplies) {
  WebServer server([](const cwasi::testing::SeenRequest&) {
    return cwasi::testing::reply(200, std::string((1u << 20) + 1, 'x'));
  });
  ASSERT_TRUE(server.ok());
  Daemon& d = *daemon_;
  ASSERT_EQ(d.deploy(spec("big", "fetch", {{"allowedOutboundHosts", {server.url()}}})).status, 202);
  EXPECT_THAT(d.invoke("big", server.url("/")).body, StartsWith("4 0\n"));
}

TEST_F(OutboundThroughCwasid, ABadPatternIsRefusedNamingIt) {
  Daemon& d = *daemon_;
  Reply r = d.deploy(spec("bad", "fetch", {{"allowedOutboundHosts", {"http://ok.example.com", "ftp://x"}}}));
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("allowedOutboundHosts"));
  EXPECT_THAT(r.body, HasSubstr("ftp://x"));
}

// The SDKs' fetch examples, each through its language's binding of
// cwasi_http_request: granted, not granted, nothing listening.
class SdkFetch : public DaemonTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(SdkFetch, GrantedFetchesDeniedAndRefusedAreTheGuestsErrors) {
  Daemon& d = *daemon_;
  WebServer server([](const cwasi::testing::SeenRequest& r) {
    return cwasi::testing::reply(200, "page " + r.target, "Content-Type: text/x-page\r\n");
  });
  ASSERT_TRUE(server.ok()) << server.error();
  const std::string grant = "http://127.0.0.1:" + std::to_string(server.port());
  ASSERT_EQ(d.deploy(spec("granted", GetParam(), {{"allowedOutboundHosts", {grant}}})).status, 202);
  ASSERT_EQ(d.deploy(spec("ungranted", GetParam())).status, 202);

  Reply ok = d.invoke("granted", server.url("/a?b=1"));
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.body, "page /a?b=1");
  EXPECT_THAT(ok.headers, HasSubstr("Content-Type: text/x-page"));
  EXPECT_EQ(server.connections(), 1);

  Reply denied = d.invoke("ungranted", server.url("/secret"));
  EXPECT_NE(denied.status, 200);
  EXPECT_THAT(denied.body, ::testing::ContainsRegex("denied|not granted"));
  Reply other_port = d.invoke("granted", "http://127.0.0.1:1/");
  EXPECT_NE(other_port.status, 200);
  EXPECT_THAT(other_port.body, ::testing::ContainsRegex("denied|not granted"));
  EXPECT_EQ(server.connections(), 1);  // neither reached it

  // Granted, but nothing listens there.
  ASSERT_EQ(d.deploy(spec("anyport", GetParam(), {{"allowedOutboundHosts", {"http://127.0.0.1:*"}}}))
                .status,
            202);
  Reply refused = d.invoke("anyport", "http://127.0.0.1:1/");
  EXPECT_NE(refused.status, 200);
  EXPECT_THAT(refused.body, ::testing::ContainsRegex("connect"));
}

INSTANTIATE_TEST_SUITE_P(Sdks, SdkFetch, ::testing::Values("rust-fetch", "go-fetch", "go-fetch-nethttp"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (auto& c : n) c = c == '-' ? '_' : c;
                           return n;
                         });

}  // namespace
}  // namespace cwasi::node

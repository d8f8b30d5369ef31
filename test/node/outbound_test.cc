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

class OutboundThroughCwasid : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = makeTempDir("cwasid-outbound-");
    ASSERT_TRUE(dir.ok());
    root_ = *dir;
    daemon_ = Daemon::start(root_ / "state", {"--max-outbound-response-mb", "1"});
  }
  void TearDown() override {
    if (daemon_) EXPECT_EQ(daemon_->stop(), 0);
    fs::remove_all(root_);
  }

  fs::path root_;
  std::unique_ptr<Daemon> daemon_;
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

}  // namespace
}  // namespace cwasi::node

// Outbound HTTP (guest ABI v3, cwasi.http_request): the grant and URL rules,
// and the `fetch` function against a small HTTP server on loopback that
// stands in for a remote web server and counts the connections it gets.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <thread>

#include "cwasi/comm/guest_abi.h"
#include "cwasi/comm/outbound.h"
#include "cwasi/common/mutex.h"
#include "cwasi/common/net.h"
#include "cwasi/host/function_host.h"
#include "cwasi/runtime/abi.h"
#include "support/wasi_test.h"
#include "support/web_server.h"

namespace cwasi::comm {
namespace {

namespace abi = runtime::abi;
using namespace std::chrono_literals;
using testing::reply;
using testing::SeenRequest;
using testing::WebServer;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

// ---- grants and URLs ------------------------------------------------------

bool allowed(const std::vector<std::string>& grants, const std::string& url) {
  auto g = OutboundGrants::parse(grants);
  EXPECT_TRUE(g.ok()) << g.error().toString();
  auto u = http::parseUrl(url);
  EXPECT_TRUE(u.ok()) << url << ": " << u.error().toString();
  return g.ok() && u.ok() && g->allows(*u);
}

TEST(OutboundGrants, NoGrantAllowsNothing) {
  OutboundGrants none;
  EXPECT_FALSE(none.allows(*http::parseUrl("http://example.com/")));
}

TEST(OutboundGrants, MatchSchemeHostAndPortWithDefaultPorts) {
  EXPECT_TRUE(allowed({"http://api.example.com"}, "http://api.example.com/x"));
  EXPECT_TRUE(allowed({"http://api.example.com"}, "http://api.example.com:80/x"));
  EXPECT_FALSE(allowed({"http://api.example.com"}, "http://api.example.com:8080/x"));
  EXPECT_FALSE(allowed({"http://api.example.com"}, "https://api.example.com/x"));
  EXPECT_TRUE(allowed({"https://api.example.com"}, "https://api.example.com:443/"));
  EXPECT_FALSE(allowed({"http://api.example.com"}, "http://other.example.com/"));
  EXPECT_TRUE(allowed({"http://127.0.0.1:8080"}, "http://127.0.0.1:8080/"));
  EXPECT_FALSE(allowed({"http://127.0.0.1:8080"}, "http://127.0.0.1:8081/"));
}

TEST(OutboundGrants, HostNamesCompareCaseInsensitively) {
  EXPECT_TRUE(allowed({"http://API.Example.com"}, "http://api.EXAMPLE.com/"));
  EXPECT_TRUE(allowed({"HTTP://api.example.com"}, "Http://api.example.com/"));
}

TEST(OutboundGrants, WildcardsCoverSubdomainsAnyPortAndAnyScheme) {
  EXPECT_TRUE(allowed({"http://*.example.com"}, "http://a.b.example.com/"));
  EXPECT_FALSE(allowed({"http://*.example.com"}, "http://example.com/"));
  EXPECT_FALSE(allowed({"http://*.example.com"}, "http://evilexample.com/"));
  EXPECT_FALSE(allowed({"http://*.example.com"}, "http://example.com.evil.net/"));
  EXPECT_TRUE(allowed({"*://localhost:*"}, "http://localhost:1234/"));
  EXPECT_TRUE(allowed({"*://localhost:*"}, "https://LOCALHOST/"));
  EXPECT_FALSE(allowed({"*://localhost:*"}, "http://127.0.0.1:1234/"));
  EXPECT_TRUE(allowed({"http://*:*"}, "http://10.1.2.3:99/"));
}

// Other spellings of 127.0.0.1 are not 127.0.0.1: a grant names one address.
TEST(OutboundGrants, LoopbackSpellingsAreNotTheGrantedAddress) {
  const std::vector<std::string> grant = {"http://127.0.0.1:8080"};
  for (const char* url : {"http://127.1:8080/", "http://2130706433:8080/",
                          "http://0x7f.0.0.1:8080/", "http://0x7f000001:8080/",
                          "http://0177.0.0.1:8080/", "http://[::ffff:127.0.0.1]:8080/",
                          "http://[::ffff:7f00:1]:8080/", "http://0.0.0.0:8080/",
                          "http://localhost:8080/", "http://127.0.0.2:8080/",
                          "http://[::1]:8080/", "http://127.0.0.1.:8080/"}) {
    EXPECT_FALSE(allowed(grant, url)) << url;
  }
  EXPECT_TRUE(allowed({"http://localhost:8080"}, "http://localhost:8080/"));
  EXPECT_FALSE(allowed({"http://localhost:8080"}, "http://127.0.0.1:8080/"));
}

TEST(OutboundGrants, IPv6AddressesCompareInCanonicalForm) {
  EXPECT_TRUE(allowed({"http://[::1]:8080"}, "http://[::1]:8080/"));
  EXPECT_TRUE(allowed({"http://[::1]:8080"}, "http://[0:0:0:0:0:0:0:1]:8080/"));
  EXPECT_TRUE(allowed({"http://[0::1]:8080"}, "http://[::1]:8080/"));
  EXPECT_FALSE(allowed({"http://[::1]:8080"}, "http://127.0.0.1:8080/"));
  EXPECT_FALSE(allowed({"http://[::1]:8080"}, "http://[::2]:8080/"));
  EXPECT_FALSE(allowed({"http://[::1]:8080"}, "http://localhost:8080/"));
  EXPECT_TRUE(allowed({"http://[2001:DB8::1]"}, "http://[2001:db8:0::1]/"));
}

TEST(OutboundGrants, WildcardsNeverMatchAddresses) {
  EXPECT_FALSE(OutboundGrants::parse({"http://*.0.1"}).ok());
  EXPECT_FALSE(OutboundGrants::parse({"http://*.0x1"}).ok());
  EXPECT_TRUE(OutboundGrants::parse({"http://*.cafe"}).ok());
}

TEST(OutboundGrants, BadPatternsAreRefusedNamingThem) {
  for (const char* bad : {"", "example.com", "ftp://example.com", "http://", "http://exa mple.com",
                          "http://example.com/path", "http://user@example.com",
                          "http://example.com:0", "http://example.com:65536",
                          "http://example.com:80..90", "http://ex*ample.com", "*://example.com",
                          "http://[::1", "http://%6c%6f.com", "http://a..b"}) {
    auto g = parseOutboundGrant(bad);
    ASSERT_FALSE(g.ok()) << bad;
    EXPECT_EQ(g.error().code(), Code::kInvalidArgument);
    EXPECT_THAT(g.error().message(), HasSubstr("'" + std::string(bad) + "'"));
  }
}

TEST(OutboundGrants, ACommaSeparatedListIgnoresBlanks) {
  auto g = OutboundGrants::parseList(" http://a.example.com , ,*://localhost:*,");
  ASSERT_TRUE(g.ok()) << g.error().toString();
  EXPECT_EQ(g->patterns(), (std::vector<std::string>{"http://a.example.com", "*://localhost:*"}));
  EXPECT_FALSE(OutboundGrants::parseList("http://a.example.com,nonsense").ok());
}

TEST(OutboundHeaders, ParseLinesAndRefuseWhatTheHostSets) {
  auto h = parseOutboundHeaders("X-A: 1\nX-B:two  \n\nAccept:\t*/*\n");
  ASSERT_TRUE(h.ok()) << h.error().toString();
  ASSERT_EQ(h->size(), 3u);
  EXPECT_EQ((*h)[1], (std::pair<std::string, std::string>{"X-B", "two"}));
  for (const char* bad : {"Host: evil.com", "content-length: 5", "Transfer-Encoding: chunked",
                          "Connection: keep-alive", "X-A: 1\r\nX-B: 2", "X-A: a\rb", "NoColon",
                          "Bad Name: x", ": empty", "X-A: \x01"}) {
    auto r = parseOutboundHeaders(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) EXPECT_EQ(r.error().code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_EQ(parseOutboundHeaders(std::string(70000, 'x')).error().code(), Code::kResourceExhausted);
}

TEST(OutboundStatus, ErrorsMapToTheAbiCodes) {
  EXPECT_EQ(outboundStatusFor(permissionDenied("")), abi::kErrDenied);
  EXPECT_EQ(outboundStatusFor(unavailable("")), abi::kErrConnect);
  EXPECT_EQ(outboundStatusFor(deadlineExceeded("")), abi::kErrTimeout);
  EXPECT_EQ(outboundStatusFor(resourceExhausted("")), abi::kErrTooLarge);
  EXPECT_EQ(outboundStatusFor(invalidArgument("")), abi::kErrInvalidArgument);
  EXPECT_EQ(outboundStatusFor(unimplemented("")), abi::kErrUnsupported);
  EXPECT_EQ(outboundStatusFor(aborted("")), abi::kErrUnavailable);
}

// ---- a web server on loopback ---------------------------------------------

std::string okReply(const SeenRequest&) { return reply(200, "hello"); }

// What the `fetch` function saw: cwasi_http_request's status, the HTTP
// status, the response's headers and body.
struct Fetched {
  int32_t rc = -1;
  int status = 0;
  std::string headers, body;
};

class Outbound : public ::testing::Test {
 protected:
  // A host with `fetch` granted `grants`, capping responses at 1 MiB.
  void host(std::vector<std::string> grants, std::chrono::milliseconds fn_timeout = 0ms,
            ByteBudget* budget = nullptr) {
    host::HostConfig c;
    c.engine.max_instances = 8;
    c.outbound.max_response_bytes = 1u << 20;
    c.outbound.budget = budget;
    host::FunctionSpec fetch{"fetch", testing::functionPath("fetch")};
    auto g = OutboundGrants::parse(grants);
    ASSERT_TRUE(g.ok()) << g.error().toString();
    fetch.allowed_outbound_hosts = std::move(*g);
    fetch.limits.timeout = fn_timeout;
    c.functions = {fetch};
    auto h = host::FunctionHost::start(std::move(c));
    ASSERT_TRUE(h.ok()) << h.error().toString();
    host_ = std::move(*h);
  }

  Fetched fetch(const std::string& request) {
    Fetched f;
    auto r = host_->invoke("fetch", {reinterpret_cast<const uint8_t*>(request.data()), request.size()});
    EXPECT_TRUE(r.ok()) << r.error().toString();
    if (!r.ok()) return f;
    std::string out(r->body.begin(), r->body.end());
    size_t nl = out.find('\n');
    std::sscanf(out.c_str(), "%d %d", &f.rc, &f.status);
    size_t blank = out.find("\n\n", nl);
    if (blank == std::string::npos) blank = nl;  // no headers
    f.headers = out.substr(nl + 1, blank - nl);
    f.body = out.substr(blank + 2 <= out.size() ? blank + 2 : out.size());
    if (blank == nl) f.body = out.substr(nl + 2 <= out.size() ? nl + 2 : out.size());
    return f;
  }

  std::unique_ptr<host::FunctionHost> host_;
};

std::string local(const WebServer& s, const std::string& path = "/") {
  return "http://127.0.0.1:" + std::to_string(s.port()) + path;
}

TEST_F(Outbound, AGrantedRequestCarriesMethodHeadersAndBodyBothWays) {
  WebServer server([](const SeenRequest& r) {
    return reply(201, "got " + r.body, "X-Answer: 42\r\nContent-Type: text/plain\r\n");
  });
  ASSERT_TRUE(server.ok()) << server.error();
  host({local(server, "")});
  auto f = fetch("PUT " + local(server, "/things/1?x=y") + "\nX-Token: abc\nContent-Type: text/plain\n\npayload");
  EXPECT_EQ(f.rc, abi::kOk);
  EXPECT_EQ(f.status, 201);
  EXPECT_EQ(f.body, "got payload");
  EXPECT_THAT(f.headers, HasSubstr("X-Answer: 42\n"));
  EXPECT_THAT(f.headers, HasSubstr("Content-Type: text/plain\n"));
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "PUT");
  EXPECT_EQ(seen[0].target, "/things/1?x=y");
  EXPECT_EQ(seen[0].body, "payload");
  EXPECT_THAT(seen[0].head, HasSubstr("\r\nX-Token: abc"));
  EXPECT_THAT(seen[0].head, HasSubstr("\r\nHost: 127.0.0.1:" + std::to_string(server.port())));
  EXPECT_THAT(seen[0].head, HasSubstr("\r\nContent-Length: 7"));
}

TEST_F(Outbound, AnyHttpStatusIsASuccessPassedThrough) {
  WebServer server([](const SeenRequest&) { return reply(404, "nope"); });
  ASSERT_TRUE(server.ok());
  host({local(server, "")});
  auto f = fetch(local(server, "/missing"));
  EXPECT_EQ(f.rc, abi::kOk);
  EXPECT_EQ(f.status, 404);
  EXPECT_EQ(f.body, "nope");
}

TEST_F(Outbound, ADestinationNotGrantedIsDeniedWithoutAConnection) {
  WebServer server(okReply);
  ASSERT_TRUE(server.ok());
  host({"http://127.0.0.1:1"});
  EXPECT_EQ(fetch(local(server)).rc, abi::kErrDenied);
  EXPECT_EQ(server.connections(), 0);
}

TEST_F(Outbound, NoGrantAtAllDeniesEverything) {
  WebServer server(okReply);
  ASSERT_TRUE(server.ok());
  host({});
  EXPECT_EQ(fetch(local(server)).rc, abi::kErrDenied);
  EXPECT_EQ(server.connections(), 0);
}

TEST_F(Outbound, LoopbackSpellingsOfAGrantedAddressAreDeniedWithoutAConnection) {
  WebServer server(okReply);
  ASSERT_TRUE(server.ok());
  host({local(server, "")});
  const std::string port = std::to_string(server.port());
  for (std::string host : {"127.1", "2130706433", "0x7f.0.0.1", "[::ffff:127.0.0.1]", "0.0.0.0",
                           "localhost", "127.000.000.001"}) {
    EXPECT_EQ(fetch("http://" + host + ":" + port + "/").rc, abi::kErrDenied) << host;
  }
  EXPECT_EQ(fetch("http://evil@127.0.0.1:" + port + "/").rc, abi::kErrInvalidArgument);
  EXPECT_EQ(fetch("http://%31%32%37.0.0.1:" + port + "/").rc, abi::kErrInvalidArgument);
  EXPECT_EQ(server.connections(), 0);
  EXPECT_EQ(fetch(local(server)).rc, abi::kOk);
  EXPECT_EQ(server.connections(), 1);
}

TEST_F(Outbound, AnIPv6LoopbackGrantReachesOnlyIPv6Loopback) {
  WebServer server(okReply, "::1");
  if (!server.ok()) GTEST_SKIP() << "no IPv6 loopback: " << server.error();
  const std::string port = std::to_string(server.port());
  host({"http://[::1]:" + port});
  auto f = fetch("http://[0:0:0:0:0:0:0:1]:" + port + "/v6");
  EXPECT_EQ(f.rc, abi::kOk);
  EXPECT_EQ(f.body, "hello");
  EXPECT_EQ(fetch("http://127.0.0.1:" + port + "/").rc, abi::kErrDenied);
  EXPECT_EQ(fetch("http://localhost:" + port + "/").rc, abi::kErrDenied);
  EXPECT_EQ(server.connections(), 1);
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_THAT(seen[0].head, HasSubstr("\r\nHost: [::1]:" + port));
}

TEST_F(Outbound, ARedirectToAGrantedHostIsFollowed) {
  WebServer target([](const SeenRequest& r) { return reply(200, "final " + r.method + " " + r.body); });
  ASSERT_TRUE(target.ok());
  const std::string to = local(target, "/end");
  WebServer first([&](const SeenRequest&) { return reply(307, "", "Location: " + to + "\r\n"); });
  ASSERT_TRUE(first.ok());
  host({local(first, ""), local(target, "")});
  auto f = fetch("POST " + local(first, "/start") + "\n\nbody");
  EXPECT_EQ(f.rc, abi::kOk);
  EXPECT_EQ(f.status, 200);
  EXPECT_EQ(f.body, "final POST body");  // 307 keeps the method and the body
}

TEST_F(Outbound, A303RedirectContinuesAsAGetWithoutTheBody) {
  WebServer server([](const SeenRequest& r) {
    if (r.target == "/form") return reply(303, "", "Location: /done\r\n");
    return reply(200, r.method + "[" + r.body + "]");
  });
  ASSERT_TRUE(server.ok());
  host({local(server, "")});
  auto f = fetch("POST " + local(server, "/form") + "\nContent-Type: text/plain\n\ndata");
  EXPECT_EQ(f.rc, abi::kOk);
  EXPECT_EQ(f.body, "GET[]");
}

TEST_F(Outbound, ARedirectToADeniedHostIsDeniedAndNeverConnected) {
  WebServer denied(okReply);
  ASSERT_TRUE(denied.ok());
  const std::string to = local(denied, "/secret");
  WebServer first([&](const SeenRequest&) { return reply(302, "", "Location: " + to + "\r\n"); });
  ASSERT_TRUE(first.ok());
  host({local(first, "")});
  EXPECT_EQ(fetch(local(first, "/go")).rc, abi::kErrDenied);
  EXPECT_EQ(first.connections(), 1);
  EXPECT_EQ(denied.connections(), 0);
}

// Interim replies are not the answer: 100 Continue and 103 Early Hints are
// skipped, and a 101 nobody asked for is no reply at all.
TEST_F(Outbound, InterimRepliesAreSkippedAndAnUnaskedUpgradeIsRefused) {
  WebServer server([](const SeenRequest& r) {
    if (r.target == "/upgrade") {
      return std::string("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
    }
    return "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n" +
           reply(201, "final");
  });
  ASSERT_TRUE(server.ok());
  host({local(server, "")});
  auto f = fetch(local(server, "/"));
  EXPECT_EQ(f.rc, abi::kOk);
  EXPECT_EQ(f.body, "final");
  EXPECT_EQ(f.status, 201);
  EXPECT_NE(fetch(local(server, "/upgrade")).rc, abi::kOk);
}

TEST_F(Outbound, TooManyRedirectsAreUnavailable) {
  WebServer loop([](const SeenRequest&) { return reply(301, "", "Location: /again\r\n"); });
  ASSERT_TRUE(loop.ok());
  host({local(loop, "")});
  EXPECT_EQ(fetch(local(loop, "/")).rc, abi::kErrUnavailable);
  EXPECT_EQ(loop.connections(), 6);  // the request and 5 redirects
}

TEST_F(Outbound, ARefusedPortIsAConnectError) {
  net::Endpoint bound;
  auto fd = net::listenTcp({"127.0.0.1", 0}, &bound);
  ASSERT_TRUE(fd.ok());
  fd->reset();  // nothing listens there now
  const std::string url = "http://127.0.0.1:" + std::to_string(bound.port) + "/";
  host({url.substr(0, url.size() - 1)});
  EXPECT_EQ(fetch(url).rc, abi::kErrConnect);
}

TEST_F(Outbound, AnUnresolvableNameIsAConnectError) {
  host({"http://no-such-host.invalid"});
  auto f = fetch("GET http://no-such-host.invalid/ 5000");
  EXPECT_THAT(f.rc, ::testing::AnyOf(abi::kErrConnect, abi::kErrTimeout));
  EXPECT_EQ(f.rc, abi::kErrConnect) << "the resolver did not answer within 5 s";
}

TEST_F(Outbound, AResponseOverTheCapIsTooLarge) {
  WebServer server([](const SeenRequest&) { return reply(200, std::string((1u << 20) + 1, 'x')); });
  ASSERT_TRUE(server.ok());
  host({local(server, "")});
  EXPECT_EQ(fetch(local(server)).rc, abi::kErrTooLarge);
}

// Issue 21 #3: 64 guests fetching 16 MiB at once held 2.4 GB. A reply's
// body takes from the host's in-flight budget as it comes (a Content-Length's
// worth at once) and gives it back once the guest has it: past the budget,
// the guest is told to retry later, and the host holds nothing more.
TEST_F(Outbound, AReplyBodyIsTakenFromTheHostsByteBudget) {
  WebServer server([](const SeenRequest& r) {
    return reply(200, std::string(r.target == "/large" ? 600'000 : 1000, 'r'));
  });
  ASSERT_TRUE(server.ok());
  ByteBudget budget(512u << 10);
  host({local(server, "")}, 0ms, &budget);
  auto small = fetch(local(server, "/small"));
  EXPECT_EQ(small.rc, abi::kOk);
  EXPECT_EQ(small.body.size(), 1000u);
  auto large = fetch(local(server, "/large"));
  EXPECT_EQ(large.rc, abi::kErrUnavailable);
  EXPECT_EQ(budget.used(), 0u);  // given back, both times
  ByteBudget roomy(1u << 20);
  host({local(server, "")}, 0ms, &roomy);
  EXPECT_EQ(fetch(local(server, "/large")).body.size(), 600'000u);
  EXPECT_EQ(roomy.used(), 0u);
}

TEST_F(Outbound, AResponseWithoutALengthIsCappedToo) {
  WebServer server([](const SeenRequest&) {
    return "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + std::string((1u << 20) + 10, 'x');
  });
  ASSERT_TRUE(server.ok());
  host({local(server, "")});
  EXPECT_EQ(fetch(local(server)).rc, abi::kErrTooLarge);
}

TEST_F(Outbound, ASlowServerTimesOutWithinTheGuestsTimeout) {
  WebServer server([](const SeenRequest&) { return std::string(WebServer::kStall); });
  ASSERT_TRUE(server.ok());
  host({local(server, "")});
  const auto start = Clock::now();
  EXPECT_EQ(fetch("GET " + local(server) + " 300").rc, abi::kErrTimeout);
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_GE(Clock::now() - start, 290ms);
}

TEST_F(Outbound, TheInvocationsDeadlineBoundsTheRequest) {
  WebServer server([](const SeenRequest&) { return std::string(WebServer::kStall); });
  ASSERT_TRUE(server.ok());
  host({local(server, "")}, 400ms);
  const auto start = Clock::now();
  auto r = host_->invoke("fetch", {reinterpret_cast<const uint8_t*>(local(server).data()),
                                   local(server).size()});
  EXPECT_LT(Clock::now() - start, 3s);  // not the default 30 s
  if (r.ok()) {
    EXPECT_THAT(std::string(r->body.begin(), r->body.end()), HasSubstr("3 0"));
  } else {
    EXPECT_EQ(r.error().code(), Code::kDeadlineExceeded);
  }
}

TEST_F(Outbound, AServerThatClosesWithoutAnsweringIsAConnectError) {
  WebServer server([](const SeenRequest&) { return std::string(); });
  ASSERT_TRUE(server.ok());
  host({local(server, "")});
  EXPECT_EQ(fetch(local(server)).rc, abi::kErrConnect);
}

TEST_F(Outbound, AServerThatDoesNotSpeakHttpIsUnavailable) {
  WebServer server([](const SeenRequest&) { return std::string("SSH-2.0-OpenSSH\r\n\r\n"); });
  ASSERT_TRUE(server.ok());
  host({local(server, "")});
  EXPECT_EQ(fetch(local(server)).rc, abi::kErrUnavailable);
}

TEST_F(Outbound, HttpsIsUnsupportedOnceGranted) {
  host({"https://example.com"});
  EXPECT_EQ(fetch("https://example.com/").rc, abi::kErrUnsupported);
  EXPECT_EQ(fetch("https://other.example.com/").rc, abi::kErrDenied);
}

TEST_F(Outbound, BadMethodsUrlsAndHeadersAreInvalidArguments) {
  WebServer server(okReply);
  ASSERT_TRUE(server.ok());
  host({local(server, "")});
  EXPECT_EQ(fetch("G(T " + local(server)).rc, abi::kErrInvalidArgument);
  EXPECT_EQ(fetch("CONNECT " + local(server)).rc, abi::kErrInvalidArgument);
  EXPECT_EQ(fetch("ftp://127.0.0.1/").rc, abi::kErrInvalidArgument);
  for (const char* header : {"Host: evil.example.com", "Content-Length: 1", "Transfer-Encoding: chunked",
                             "Connection: upgrade", "X-A: b\rX-Injected: 1"}) {
    EXPECT_EQ(fetch("GET " + local(server) + "\n" + header + "\n\n").rc, abi::kErrInvalidArgument)
        << header;
  }
  EXPECT_EQ(server.connections(), 0);
}

// A guest passing pointers outside its memory gets INVALID_ARGUMENT, and the
// host neither crashes nor writes anywhere.
TEST(OutboundAbi, PointersOutsideMemoryAreInvalidArguments) {
  testing::TempDir dir;
  auto write = [&](const std::string& name, const std::string& call_args) {
    std::ofstream(dir / name) << R"((module
      (import "cwasi" "http_request" (func $req (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
      (import "cwasi" "response_set" (func $set (param i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 0) "GET")
      (data (i32.const 16) "http://127.0.0.1:1/")
      (func (export "cwasi_alloc") (param i32) (result i32) (i32.const 4096))
      (func (export "cwasi_handle") (param i32 i32) (result i32)
        (i32.store (i32.const 1024) (call $req )" + call_args + R"())
        (drop (call $set (i32.const 1024) (i32.const 4)))
        (i32.const 0)))
    )";
    return dir / name;
  };
  // method, url, headers, body, timeout, status*, headers**, len*, body**, len*
  const std::string ok_outs = "(i32.const 2048) (i32.const 2052) (i32.const 2056) (i32.const 2060) (i32.const 2064)";
  struct Case {
    const char* name;
    std::string args;
  } cases[] = {
      {"method.wat", "(i32.const 70000) (i32.const 3) (i32.const 16) (i32.const 19) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) " + ok_outs},
      {"url.wat", "(i32.const 0) (i32.const 3) (i32.const 65530) (i32.const 100) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) " + ok_outs},
      {"headers.wat", "(i32.const 0) (i32.const 3) (i32.const 16) (i32.const 19) (i32.const -1) (i32.const 2) (i32.const 0) (i32.const 0) (i32.const 0) " + ok_outs},
      {"body.wat", "(i32.const 0) (i32.const 3) (i32.const 16) (i32.const 19) (i32.const 0) (i32.const 0) (i32.const 100) (i32.const -1) (i32.const 0) " + ok_outs},
      {"status.wat", "(i32.const 0) (i32.const 3) (i32.const 16) (i32.const 19) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 65534) (i32.const 2052) (i32.const 2056) (i32.const 2060) (i32.const 2064)"},
      {"out.wat", "(i32.const 0) (i32.const 3) (i32.const 16) (i32.const 19) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 2048) (i32.const 2052) (i32.const 2056) (i32.const 2060) (i32.const -4)"},
  };
  host::HostConfig c;
  for (const auto& k : cases) {
    host::FunctionSpec f{std::string(k.name).substr(0, std::string(k.name).find('.')), write(k.name, k.args)};
    f.allowed_outbound_hosts = *OutboundGrants::parse({"http://127.0.0.1:1"});
    c.functions.push_back(std::move(f));
  }
  auto h = host::FunctionHost::start(std::move(c));
  ASSERT_TRUE(h.ok()) << h.error().toString();
  for (const auto& k : cases) {
    const std::string name = std::string(k.name).substr(0, std::string(k.name).find('.'));
    auto r = (*h)->invoke(name, {});
    ASSERT_TRUE(r.ok()) << name << ": " << r.error().toString();
    ASSERT_EQ(r->body.size(), 4u);
    int32_t rc;
    std::memcpy(&rc, r->body.data(), 4);
    EXPECT_EQ(rc, abi::kErrInvalidArgument) << name;
  }
}

// Outside a function host nobody offers outbound HTTP: UNSUPPORTED.
TEST(OutboundAbi, AnInstanceWithoutAnOutboundClientGetsUnsupported) {
  runtime::EngineConfig config;
  config.host_functions = guestAbiFunctions();
  auto engine = runtime::Engine::create(std::move(config));
  ASSERT_TRUE(engine.ok());
  auto r = testing::WasiTest("fetch").engine(**engine).input("http://127.0.0.1:1/").run();
  ASSERT_FALSE(r.error) << r.error->toString();
  EXPECT_THAT(r.out, ::testing::StartsWith("8 0\n"));
}

}  // namespace
}  // namespace cwasi::comm

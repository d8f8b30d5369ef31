// The one URL parser (guests' outbound requests, callbacks, registries, the
// CLI's gateway) and the HTTP messages' helpers.
#include "cwasi/http/url.h"

#include <gtest/gtest.h>

#include "cwasi/http/message.h"

namespace cwasi::http {
namespace {

TEST(Url, RefusesWhatCouldBeReadTwoWays) {
  for (const char* bad : {"http://evil@127.0.0.1/", "http://a:b@example.com/",
                          "http://%31%32%37.0.0.1/", "http://exa%6dple.com/",
                          "http://example.com/\r\nX: y", "http://example.com/a b",
                          "http://example.com\\@evil.com/", "http://[::1%25lo]/", "file:///etc/passwd",
                          "example.com/", "http:///", "http://example.com:/",
                          "http://example.com:99999/", "http://[::1]x/", "gopher://example.com/"}) {
    auto u = parseUrl(bad);
    EXPECT_FALSE(u.ok()) << bad;
    if (!u.ok()) EXPECT_EQ(u.error().code(), Code::kInvalidArgument);
  }
}

TEST(Url, KeepsPathAndQueryAndDropsTheFragment) {
  auto u = parseUrl("http://Example.COM:8080/a/b?c=d#frag");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "example.com");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->target, "/a/b?c=d");
  EXPECT_EQ(u->authority(), "example.com:8080");
  EXPECT_EQ(parseUrl("http://example.com")->target, "/");
  EXPECT_EQ(parseUrl("http://example.com?x")->target, "/?x");
  EXPECT_EQ(parseUrl("http://[::1]/")->authority(), "[::1]");
}

TEST(Url, RedirectsResolveAgainstTheirBase) {
  auto base = *parseUrl("http://a.example.com:8080/dir/page?q=1");
  EXPECT_EQ(resolveRedirect(base, "http://b.example.com/x")->origin(), "http://b.example.com");
  EXPECT_EQ(resolveRedirect(base, "//c.example.com/y")->origin(), "http://c.example.com");
  EXPECT_EQ(resolveRedirect(base, "/root")->target, "/root");
  EXPECT_EQ(resolveRedirect(base, "/root")->origin(), "http://a.example.com:8080");
  EXPECT_EQ(resolveRedirect(base, "other")->target, "/dir/other");
  EXPECT_EQ(resolveRedirect(base, "?z=2")->target, "/dir/page?z=2");
  EXPECT_FALSE(resolveRedirect(base, "http://evil@b.example.com/").ok());
}

// What node's old parser got wrong: brackets kept around an IPv6 host,
// `user@host` taken for the host, a query folded into the host.
TEST(Url, AHostIsNeverReadWithItsBracketsUserinfoOrQuery) {
  auto v6 = parseUrl("http://[::1]:8080/x");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_TRUE(v6->ipv6);
  EXPECT_EQ(v6->port, 8080);
  EXPECT_EQ(v6->hostPort(), "[::1]:8080");
  auto query = parseUrl("http://example.com?cb=1");
  ASSERT_TRUE(query.ok());
  EXPECT_EQ(query->host, "example.com");
  EXPECT_EQ(query->target, "/?cb=1");
  auto port_query = parseUrl("http://127.0.0.1:9000?x=1");
  ASSERT_TRUE(port_query.ok());
  EXPECT_EQ(port_query->port, 9000);
  EXPECT_EQ(port_query->target, "/?x=1");
  EXPECT_FALSE(parseUrl("http://user@example.com/").ok());
  EXPECT_FALSE(parseUrl("http://example.com /x").ok());
  EXPECT_EQ(parseUrl("https://example.com/")->port, 443);
  EXPECT_EQ(parseUrl("https://example.com/")->hostPort(), "example.com:443");
}

TEST(HttpRequest, QueryParametersAreDecoded) {
  HttpRequest r;
  r.query = "name=a%20b&tail=5&plus=c+d";
  EXPECT_EQ(r.queryParam("name"), "a b");
  EXPECT_EQ(r.queryParam("tail"), "5");
  EXPECT_EQ(r.queryParam("plus"), "c d");
  EXPECT_EQ(r.queryParam("none"), "");
}

TEST(HttpResponse, AJsonErrorIsEscapedAndValidUtf8) {
  EXPECT_EQ(HttpResponse::jsonError(400, "a \"b\"\\\n\x01").body,
            R"({"error":"a \"b\"\\\n\u0001"})");
  EXPECT_EQ(jsonString("h\xc3\xa9 \xe2\x82\xac"), "\"h\xc3\xa9 \xe2\x82\xac\"");  // UTF-8 kept
  EXPECT_EQ(jsonString("\xff\xc3"), R"("\ufffd\ufffd")");                      // not UTF-8
  EXPECT_EQ(jsonString("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");          // a surrogate
}

}  // namespace
}  // namespace cwasi::http

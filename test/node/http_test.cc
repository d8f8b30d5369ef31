// HTTP helpers: URLs and queries.
#include "cwasi/node/http.h"

#include <gtest/gtest.h>

namespace cwasi::node {
namespace {

TEST(Http, UrlsAndQueriesParse) {
  auto u = parseHttpUrl("http://127.0.0.1:8080/function/x?a=1");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->target, "/function/x?a=1");
  EXPECT_FALSE(parseHttpUrl("https://example.com/").ok());
  EXPECT_FALSE(parseHttpUrl("http://host:99999/").ok());
  HttpRequest r;
  r.query = "name=a%20b&tail=5&plus=c+d";
  EXPECT_EQ(r.queryParam("name"), "a b");
  EXPECT_EQ(r.queryParam("tail"), "5");
  EXPECT_EQ(r.queryParam("plus"), "c d");
  EXPECT_EQ(r.queryParam("none"), "");
}

}  // namespace
}  // namespace cwasi::node

#include "cwasi/common/net.h"

#include <gtest/gtest.h>

namespace cwasi::net {
namespace {

TEST(Endpoint, HostsAndPortsParseAndPrintBack) {
  for (const char* text : {"127.0.0.1:8080", "[::1]:9000", "localhost:0", "[fd00::1]:7"}) {
    auto ep = parseEndpoint(text);
    ASSERT_TRUE(ep.ok()) << text;
    EXPECT_EQ(ep->toString(), text);
  }
  EXPECT_EQ(parseEndpoint("[::1]:9000")->host, "::1");
  EXPECT_FALSE(parseEndpoint("host").ok());
  EXPECT_FALSE(parseEndpoint("host:65536").ok());
  EXPECT_FALSE(parseEndpoint("[::1]9000").ok());
}

// Found by the endpoint fuzz target: "a]:b:1" gave the host "a]:b", which
// prints as "[a]:b]:1" and reads back as something else.
TEST(Endpoint, ABracketInTheHostIsRefused) {
  for (const char* text : {"a]:b:1", "x[y:80", "[[::1]:80", "]:80"}) {
    EXPECT_FALSE(parseEndpoint(text).ok()) << text;
  }
}

}  // namespace
}  // namespace cwasi::net

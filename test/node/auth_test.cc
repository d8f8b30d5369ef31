// Who may call admin routes and private functions.
#include "cwasi/node/auth.h"

#include <gtest/gtest.h>

namespace cwasi::node {
namespace {

http::HttpRequest with(const std::string& authorization) {
  http::HttpRequest r;
  r.headers.emplace_back("Authorization", authorization);
  return r;
}

TEST(Authorizer, TheTokenAsBearerOrBasicPassword) {
  Authorizer auth("s3cret");
  EXPECT_TRUE(auth.allows(with("Bearer s3cret")));
  EXPECT_TRUE(auth.allows(with("Basic YWRtaW46czNjcmV0")));  // admin:s3cret
  EXPECT_FALSE(auth.allows(with("Bearer wrong")));
  EXPECT_FALSE(auth.allows(with("Bearer s3cret2")));
  EXPECT_FALSE(auth.allows(with("")));
  EXPECT_FALSE(auth.allows(http::HttpRequest{}));
  EXPECT_EQ(Authorizer::challenge().status, 401);
}

TEST(Authorizer, BasicAuthNeedsTheAdminUsersName) {
  Authorizer admin("s3cret");
  EXPECT_FALSE(admin.allows(with("Basic b3BzOnMzY3JldA==")));  // ops:s3cret
  EXPECT_FALSE(admin.allows(with("Basic OnMzY3JldA==")));      // :s3cret
  EXPECT_FALSE(admin.allows(with("Basic YWRtaW46czNjcmV0!")));  // not base64
  Authorizer ops("s3cret", "ops");
  EXPECT_TRUE(ops.allows(with("Basic b3BzOnMzY3JldA==")));
  EXPECT_FALSE(ops.allows(with("Basic YWRtaW46czNjcmV0")));
}

TEST(Authorizer, SchemesAreCaseInsensitive) {  // RFC 7235
  Authorizer auth("s3cret");
  EXPECT_TRUE(auth.allows(with("bearer s3cret")));
  EXPECT_TRUE(auth.allows(with("BEARER s3cret")));
  EXPECT_TRUE(auth.allows(with("basic YWRtaW46czNjcmV0")));
  EXPECT_FALSE(auth.allows(with("Bearers3cret")));
}

}  // namespace
}  // namespace cwasi::node

// Who may call the daemon's admin routes and private functions: the holder of
// the admin token, presented as `Authorization: Bearer <token>` or as the
// password of Basic auth (faas-cli's way). Compared in constant time.
#pragma once

#include <string>

#include "cwasi/node/http.h"

namespace cwasi::node {

class Authorizer {
 public:
  explicit Authorizer(std::string token) : token_(std::move(token)) {}
  bool allows(const HttpRequest& req) const;
  // The 401 answer, with its WWW-Authenticate challenge.
  static HttpResponse challenge();

 private:
  std::string token_;
};

}  // namespace cwasi::node

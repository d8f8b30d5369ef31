// Who may call the daemon's admin routes and private functions: the holder of
// the admin token, presented as `Authorization: Bearer <token>` or as Basic
// auth's password with the admin user's name (faas-cli's way: `admin`, as
// OpenFaaS's gateway has it, unless configured). Compared in constant time.
#pragma once

#include <string>

#include "cwasi/http/message.h"

namespace cwasi::node {

class Authorizer {
 public:
  explicit Authorizer(std::string token, std::string user = "admin")
      : token_(std::move(token)), user_(std::move(user)) {}
  bool allows(const http::HttpRequest& req) const;
  // The 401 answer, with its WWW-Authenticate challenge.
  static http::HttpResponse challenge();

 private:
  std::string token_;
  std::string user_;
};

}  // namespace cwasi::node

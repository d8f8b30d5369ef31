#include "cwasi/trigger/function_http.h"

#include <strings.h>

#include <algorithm>

#include <nlohmann/json.hpp>

namespace cwasi::trigger {
namespace {

using json = nlohmann::json;

// "content-type" -> "Content_Type", as OpenFaaS's watchdog names header vars.
std::string envNameForHeader(std::string_view header) {
  std::string out = "Http_";
  bool upper = true;
  for (char c : header) {
    if (c == '-') {
      out += '_';
      upper = true;
    } else if (std::isalnum(static_cast<unsigned char>(c))) {
      out += static_cast<char>(upper ? std::toupper(static_cast<unsigned char>(c))
                                     : std::tolower(static_cast<unsigned char>(c)));
      upper = false;
    }
  }
  return out;
}

}  // namespace

// What a function sees of the request, the way OpenFaaS's watchdog shows it.
std::vector<std::pair<std::string, std::string>> requestEnv(const http::HttpRequest& req,
                                                            const std::string& sub_path,
                                                            const std::string& call_id) {
  std::vector<std::pair<std::string, std::string>> env;
  env.emplace_back("Http_Method", req.method);
  env.emplace_back("Http_Path", sub_path.empty() ? "/" : sub_path);
  env.emplace_back("Http_Query", req.query);
  env.emplace_back("Http_X_Call_Id", call_id);
  const size_t set_here = env.size();
  for (const auto& [k, v] : req.headers) {
    // Credentials meant for the gateway (or a proxy) never reach a function,
    // nor does a header pose as a variable set above. Decided on the
    // variable's name: "Authori.zation" or "Method" would otherwise get there.
    std::string name = envNameForHeader(k);
    if (name == "Http_Authorization" || name == "Http_Proxy_Authorization") continue;
    const bool taken = std::any_of(env.begin(), env.begin() + static_cast<ptrdiff_t>(set_here),
                                   [&](const auto& e) { return e.first == name; });
    if (taken) continue;
    env.emplace_back(std::move(name), v);
  }
  return env;
}

std::string durationSeconds(std::chrono::steady_clock::duration d) {
  return std::to_string(std::chrono::duration<double>(d).count());
}

// The response to one invocation of `name`.
http::HttpResponse invocationResponse(const std::string& name, Invocation inv,
                                std::chrono::milliseconds timeout) {
  http::HttpResponse r;
  if (inv.result.ok()) {
    r.status = httpStatusOf(inv);
    r.content_type = "application/octet-stream";
    for (const auto& [k, v] : inv.head.headers()) {
      if (strcasecmp(k.c_str(), "Content-Type") == 0) {
        r.content_type = v;
      } else {
        r.headers.emplace_back(k, v);
      }
    }
    r.body.assign(inv.result->begin(), inv.result->end());
  } else {
    const Error& e = inv.result.error();
    std::string message = e.message();
    if (e.code() == Code::kDeadlineExceeded) {
      message = name + ": timed out after " + std::to_string(timeout.count()) + " ms";
    }
    r = http::HttpResponse::json(httpStatusFor(e), json{{"error", message}, {"function", name}}.dump(-1, ' ', false, json::error_handler_t::replace));
  }
  r.headers.emplace_back("X-Duration-Seconds", durationSeconds(inv.duration));
  r.headers.emplace_back("X-Cold-Start", inv.cold_start ? "true" : "false");
  return r;
}

}  // namespace cwasi::trigger

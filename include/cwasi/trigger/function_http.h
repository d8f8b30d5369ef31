// A function behind HTTP, the same for cwasid's /function/{name} and for a
// pod's HTTP trigger in the shim: what the function sees of a request (its
// environment, the way OpenFaaS's watchdog shows it) and how an invocation's
// outcome becomes a response (through httpStatusFor).
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "cwasi/http/message.h"
#include "cwasi/trigger/invoker.h"

namespace cwasi::trigger {

// Http_Method, Http_Path (`sub_path`, "/" when empty), Http_Query,
// Http_X_Call_Id and Http_<Header> for each header but Authorization,
// Proxy-Authorization and those whose variable would be one of the first
// four.
std::vector<std::pair<std::string, std::string>> requestEnv(const http::HttpRequest& req,
                                                            const std::string& sub_path,
                                                            const std::string& call_id);

// The function's output with the status and headers it gave (200 and
// application/octet-stream when it gave none), or the error as
// {"error", "function"} JSON with its status (504 names the timeout, 502 bad
// CGI output); X-Duration-Seconds, X-Cold-Start.
http::HttpResponse invocationResponse(const std::string& name, Invocation inv,
                                std::chrono::milliseconds timeout);

// Seconds, as X-Duration-Seconds shows them.
std::string durationSeconds(std::chrono::steady_clock::duration d);

}  // namespace cwasi::trigger

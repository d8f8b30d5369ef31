// Admission in front of a handler, holding no thread while it waits: a
// request for a Target takes a slot of the Target's limiter now, waits in its
// queue parked (the HTTP server keeps only the connection), or is refused
// (429). The slot travels with the request (HttpRequest::admission) and goes
// back when the request is done with — answered, dropped or timed out.
#pragma once

#include <chrono>

#include "cwasi/http/server.h"
#include "cwasi/trigger/target.h"

namespace cwasi::trigger {

// The HTTP server's Gate decision for a request to `target`, to start by
// `deadline` (the function's timeout from now).
http::GateDecision admitRequest(const Target& target, std::chrono::steady_clock::time_point deadline,
                                http::HttpRequest& req, http::Resume resume);
// Whether the request holds a slot the gate gave it (run it with
// Invoker::invokeAdmitted, not invoke).
bool holdsSlot(const http::HttpRequest& req);

}  // namespace cwasi::trigger

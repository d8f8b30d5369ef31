// faas-cli-like commands: clients of cwasid's HTTP API. The gateway comes from
// --gateway, $CWASI_GATEWAY or http://127.0.0.1:8080; the admin token from
// --admin-token, $CWASI_ADMIN_TOKEN, or the default state dir's token file.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "cwasi/cli/cli.h"
#include "cwasi/common/files.h"
#include "cwasi/http/client.h"

namespace cwasi::cli {
namespace {

using json = nlohmann::json;

struct Client {
  std::string gateway = "http://127.0.0.1:8080";
  std::string token;
  std::chrono::milliseconds timeout{60000};

  // Takes the client's own flags; false when `flag` is not one of them.
  Result<bool> flag(const std::string& f, Args& args) {
    if (f == "--gateway" || f == "-g") {
      TRY_ASSIGN(gateway, args.value(f));
    } else if (f == "--admin-token") {
      TRY_ASSIGN(token, args.value(f));
    } else {
      return false;
    }
    return true;
  }

  void fromEnvironment() {
    if (const char* g = std::getenv("CWASI_GATEWAY"); g && *g && gateway == "http://127.0.0.1:8080") {
      gateway = g;
    }
    if (gateway.find("://") == std::string::npos) gateway = "http://" + gateway;
    if (token.empty()) {
      if (const char* t = std::getenv("CWASI_ADMIN_TOKEN"); t && *t) token = t;
    }
    if (token.empty()) {
      if (auto bytes = readFile(std::filesystem::path(defaultStateDir()) / "token"); bytes.ok()) {
        token.assign(bytes->begin(), bytes->end());
        while (!token.empty() && (token.back() == '\n' || token.back() == ' ')) token.pop_back();
      }
    }
  }

  Result<http::HttpResponse> request(const std::string& method, const std::string& target,
                                     const std::string& body, http::Headers headers = {}) {
    std::string base = gateway;
    while (!base.empty() && base.back() == '/') base.pop_back();
    TRY_ASSIGN(http::Url url, http::parseUrl(base + target));
    if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
    auto r = http::httpFetch(url, method, headers, body, timeout);
    if (!r.ok()) return std::move(r).error().withContext("gateway " + gateway);
    return r;
  }
};

// The gateway's error message from a JSON error body, or the body itself.
std::string errorText(const http::HttpResponse& r) {
  json j = json::parse(r.body, nullptr, false);
  std::string msg = !j.is_discarded() && j.is_object() && j.contains("error") && j["error"].is_string()
                        ? j["error"].get<std::string>()
                        : r.body;
  return "HTTP " + std::to_string(r.status) + ": " + msg;
}

int failResponse(const http::HttpResponse& r) { return fail(1, errorText(r)); }

std::string readStdin() {
  const std::vector<uint8_t> in = readAllStdin();
  return std::string(in.begin(), in.end());
}

// Parses flags common to every client command, leaving the rest to `own`.
template <class Own>
Result<std::vector<std::string>> parseClientArgs(const std::vector<std::string>& argv, Client& c,
                                                 Own own) {
  Args args(argv);
  TRY_ASSIGN(auto positional, args.parseInterleaved([&](const std::string& f) -> Result<bool> {
    TRY_ASSIGN(bool mine, c.flag(f, args));
    if (mine) return true;
    return own(f, args);
  }));
  c.fromEnvironment();
  return positional;
}

}  // namespace

int deployCommand(const std::vector<std::string>& argv) {
  Client c;
  json d = json::object();
  std::string file;
  auto rest = parseClientArgs(argv, c, [&](const std::string& f, Args& args) -> Result<bool> {
    if (f == "-f" || f == "--file") {
      TRY_ASSIGN(file, args.value(f));
    } else if (f == "--env" || f == "-e" || f == "--label" || f == "-l" || f == "--annotation") {
      TRY_ASSIGN(std::string v, args.value(f));
      TRY_ASSIGN(auto kv, keyValue(v, f));
      const char* field = (f == "--env" || f == "-e") ? "envVars" : (f == "--annotation" ? "annotations" : "labels");
      d[field][kv.first] = kv.second;
    } else if (f == "--memory") {
      TRY_ASSIGN(std::string v, args.value(f));
      d["limits"]["memory"] = v;
    } else if (f == "--timeout" || f == "--scale-to-zero-after") {
      TRY_ASSIGN(std::string v, args.value(f));
      d[f == "--timeout" ? "timeout" : "scaleToZeroAfter"] = v;
    } else if (f == "--min-scale" || f == "--max-scale" || f == "--target" || f == "--max-inflight") {
      TRY_ASSIGN(uint64_t v, args.number(f));
      const char* field = f == "--min-scale" ? "minScale"
                          : f == "--max-scale" ? "maxScale"
                          : f == "--target"    ? "targetConcurrency"
                                               : "maxInflight";
      d[field] = v;
    } else if (f == "--private") {
      d["public"] = false;
    } else if (f == "--trust-domain") {
      TRY_ASSIGN(std::string v, args.value(f));
      d["trustDomain"] = v;
    } else {
      return false;
    }
    return true;
  });
  if (!rest.ok()) return fail(kExitUsage, "deploy: " + rest.error().message());
  if (!file.empty()) {
    auto bytes = readFile(file);
    if (!bytes.ok()) return fail(kExitUsage, bytes.error().message());
    json from = json::parse(bytes->begin(), bytes->end(), nullptr, false);
    if (from.is_discarded() || !from.is_object()) return fail(kExitUsage, file + " is not a JSON object");
    from.update(d, true);
    d = std::move(from);
  }
  if (rest->size() == 2) {
    d["service"] = (*rest)[0];
    d["image"] = (*rest)[1];
  } else if (!rest->empty() || file.empty()) {
    return fail(kExitUsage, "usage: cwasi deploy [options] NAME MODULE|IMAGE.tar|IMAGE-REFERENCE  (or -f deployment.json)");
  }
  // The daemon reads a module from its own filesystem: a file here (or what
  // is plainly a path) goes as an absolute path; anything else is an image
  // reference, which the daemon pulls.
  if (d.contains("image") && d["image"].is_string()) {
    const std::string image = d["image"].get<std::string>();
    std::error_code ec;
    const bool path = image.rfind("./", 0) == 0 || image.rfind("../", 0) == 0 ||
                      std::filesystem::exists(image, ec);
    auto abs = std::filesystem::absolute(image, ec);
    if (path && !ec) d["image"] = abs.string();
  }
  auto r = c.request("PUT", "/system/functions", d.dump());
  if (r.ok() && r->status == 404) r = c.request("POST", "/system/functions", d.dump());
  if (!r.ok()) return fail(kExitUsage, r.error().message());
  if (r->status >= 300) return failResponse(*r);
  json status = json::parse(r->body, nullptr, false);
  std::printf("deployed %s (%s)\n", d.value("service", std::string("?")).c_str(),
              status.is_object() ? status.value("digest", std::string()).substr(0, 12).c_str() : "");
  std::printf("invoke: curl -sS -d 'input' %s/function/%s\n", c.gateway.c_str(),
              d.value("service", std::string("?")).c_str());
  return 0;
}

int invokeCommand(const std::vector<std::string>& argv) {
  Client c;
  bool async = false;
  std::string callback, query, method = "POST";
  http::Headers headers;
  auto rest = parseClientArgs(argv, c, [&](const std::string& f, Args& args) -> Result<bool> {
    if (f == "--async" || f == "-a") {
      async = true;
    } else if (f == "--callback") {
      TRY_ASSIGN(callback, args.value(f));
    } else if (f == "--query") {
      TRY_ASSIGN(query, args.value(f));
    } else if (f == "--method") {
      TRY_ASSIGN(method, args.value(f));
    } else if (f == "--header" || f == "-H") {
      TRY_ASSIGN(std::string v, args.value(f));
      const size_t colon = v.find(':');
      if (colon == std::string::npos || colon == 0) return invalidArgument(f + " expects NAME:VALUE");
      std::string value = v.substr(colon + 1);
      while (!value.empty() && value[0] == ' ') value.erase(0, 1);
      headers.emplace_back(v.substr(0, colon), value);
    } else {
      return false;
    }
    return true;
  });
  if (!rest.ok()) return fail(kExitUsage, "invoke: " + rest.error().message());
  if (rest->size() != 1) return fail(kExitUsage, "usage: cwasi invoke [options] NAME < request");
  if (!callback.empty()) headers.emplace_back("X-Callback-Url", callback);
  std::string target = (async ? "/async-function/" : "/function/") + (*rest)[0];
  if (!query.empty()) target += "?" + query;
  auto r = c.request(async ? "POST" : method, target, readStdin(), headers);
  if (!r.ok()) return fail(kExitUsage, r.error().message());
  if (r->status >= 300) return failResponse(*r);
  if (async) {
    std::printf("%s\n", r->header("X-Call-Id").c_str());
  } else {
    std::fwrite(r->body.data(), 1, r->body.size(), stdout);
  }
  return 0;
}

int listCommand(const std::vector<std::string>& argv) {
  Client c;
  bool as_json = false;
  auto rest = parseClientArgs(argv, c, [&](const std::string& f, Args&) -> Result<bool> {
    if (f != "--json") return false;
    as_json = true;
    return true;
  });
  if (!rest.ok()) return fail(kExitUsage, "ls: " + rest.error().message());
  auto r = c.request("GET", "/system/functions", "");
  if (!r.ok()) return fail(kExitUsage, r.error().message());
  if (r->status >= 300) return failResponse(*r);
  if (as_json) {
    std::printf("%s\n", r->body.c_str());
    return 0;
  }
  json list = json::parse(r->body, nullptr, false);
  if (!list.is_array()) return fail(1, "unexpected answer from the gateway");
  std::printf("%-24s %12s %9s %11s  %s\n", "Function", "Invocations", "Replicas", "Cold starts", "Image");
  for (const auto& f : list) {
    std::printf("%-24s %12llu %9d %11llu  %s\n", f.value("name", std::string()).c_str(),
                f.value("invocationCount", 0ull), f.value("replicas", 0),
                f.value("coldStarts", 0ull), f.value("image", std::string()).c_str());
  }
  return 0;
}

int removeCommand(const std::vector<std::string>& argv) {
  Client c;
  auto rest = parseClientArgs(argv, c, [](const std::string&, Args&) -> Result<bool> { return false; });
  if (!rest.ok()) return fail(kExitUsage, "rm: " + rest.error().message());
  if (rest->size() != 1) return fail(kExitUsage, "usage: cwasi rm NAME");
  auto r = c.request("DELETE", "/system/functions", json{{"functionName", (*rest)[0]}}.dump());
  if (!r.ok()) return fail(kExitUsage, r.error().message());
  if (r->status >= 300) return failResponse(*r);
  std::printf("removed %s\n", (*rest)[0].c_str());
  return 0;
}

int scaleCommand(const std::vector<std::string>& argv) {
  Client c;
  std::optional<uint64_t> replicas;
  auto rest = parseClientArgs(argv, c, [&](const std::string& f, Args& args) -> Result<bool> {
    if (f != "--replicas") return false;
    TRY_ASSIGN(replicas, args.number(f));
    return true;
  });
  if (!rest.ok()) return fail(kExitUsage, "scale: " + rest.error().message());
  if (rest->size() == 2 && !replicas) {
    auto n = parseNumber((*rest)[1], "replicas");
    if (!n.ok()) return fail(kExitUsage, n.error().message());
    replicas = *n;
    rest->pop_back();
  }
  if (rest->size() != 1 || !replicas) return fail(kExitUsage, "usage: cwasi scale NAME --replicas N");
  auto r = c.request("POST", "/system/scale-function/" + (*rest)[0],
                     json{{"serviceName", (*rest)[0]}, {"replicas", *replicas}}.dump());
  if (!r.ok()) return fail(kExitUsage, r.error().message());
  if (r->status >= 300) return failResponse(*r);
  json status = json::parse(r->body, nullptr, false);
  std::printf("scaled %s to %d\n", (*rest)[0].c_str(),
              status.is_object() ? status.value("replicas", 0) : -1);
  return 0;
}

int logsCommand(const std::vector<std::string>& argv) {
  Client c;
  uint64_t tail = 100;
  auto rest = parseClientArgs(argv, c, [&](const std::string& f, Args& args) -> Result<bool> {
    if (f != "--tail") return false;
    TRY_ASSIGN(tail, args.number(f));
    return true;
  });
  if (!rest.ok()) return fail(kExitUsage, "logs: " + rest.error().message());
  if (rest->size() != 1) return fail(kExitUsage, "usage: cwasi logs NAME [--tail N]");
  auto r = c.request("GET", "/system/logs?name=" + (*rest)[0] + "&tail=" + std::to_string(tail), "");
  if (!r.ok()) return fail(kExitUsage, r.error().message());
  if (r->status >= 300) return failResponse(*r);
  size_t pos = 0;
  while (pos < r->body.size()) {
    size_t end = r->body.find('\n', pos);
    if (end == std::string::npos) end = r->body.size();
    json line = json::parse(r->body.substr(pos, end - pos), nullptr, false);
    if (line.is_object()) {
      std::printf("%s %s\n", line.value("timestamp", std::string()).c_str(),
                  line.value("text", std::string()).c_str());
    }
    pos = end + 1;
  }
  return 0;
}

int workflowCommand(const std::vector<std::string>& argv) {
  Client c;
  auto rest = parseClientArgs(argv, c, [](const std::string&, Args&) -> Result<bool> { return false; });
  if (!rest.ok()) return fail(kExitUsage, "workflow: " + rest.error().message());
  const char* usage = "usage: cwasi workflow deploy FILE | invoke NAME < input | ls | rm NAME";
  if (rest->empty()) return fail(kExitUsage, usage);
  const std::string& sub = (*rest)[0];
  Result<http::HttpResponse> r = invalidArgument(usage);
  if (sub == "deploy" && rest->size() == 2) {
    auto bytes = readFile((*rest)[1]);
    if (!bytes.ok()) return fail(kExitUsage, bytes.error().message());
    r = c.request("PUT", "/system/workflows", std::string(bytes->begin(), bytes->end()),
                  {{"Content-Type", "application/yaml"}});
  } else if (sub == "invoke" && rest->size() == 2) {
    r = c.request("POST", "/workflow/" + (*rest)[1], readStdin());
  } else if (sub == "ls" && rest->size() == 1) {
    r = c.request("GET", "/system/workflows", "");
  } else if (sub == "rm" && rest->size() == 2) {
    r = c.request("DELETE", "/system/workflows", json{{"name", (*rest)[1]}}.dump());
  } else {
    return fail(kExitUsage, usage);
  }
  if (!r.ok()) return fail(kExitUsage, r.error().message());
  if (r->status >= 300) return failResponse(*r);
  if (sub == "deploy") {
    json w = json::parse(r->body, nullptr, false);
    std::printf("deployed workflow %s (%zu steps)\n", w.is_object() ? w.value("name", std::string()).c_str() : "?",
                w.is_object() && w.contains("steps") ? w["steps"].size() : 0);
  } else if (sub == "ls") {
    json list = json::parse(r->body, nullptr, false);
    for (const auto& w : list.is_array() ? list : json::array()) {
      std::string steps;
      for (const auto& s : w["steps"]) steps += (steps.empty() ? "" : " ") + s.value("function", std::string());
      std::printf("%-24s %s\n", w.value("name", std::string()).c_str(), steps.c_str());
    }
  } else if (sub == "rm") {
    std::printf("removed workflow %s\n", (*rest)[1].c_str());
  } else {
    std::fwrite(r->body.data(), 1, r->body.size(), stdout);
  }
  return 0;
}

}  // namespace cwasi::cli

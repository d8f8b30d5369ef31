// faas-cli-like commands: clients of cwasid's HTTP API. The gateway comes from
// --gateway, $CWASI_GATEWAY or http://127.0.0.1:8080; the admin token from
// --admin-token, $CWASI_ADMIN_TOKEN, or the default state dir's token file.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <tuple>

#include "commands.h"
#include "cwasi/cli/cli.h"
#include "cwasi/common/files.h"
#include "cwasi/http/client.h"
#include "cwasi/node/deployment.h"
#include "flags.h"

namespace cwasi::cli {
namespace {

using json = nlohmann::json;

struct Client {
  std::string gateway = "http://127.0.0.1:8080";
  std::string token;
  std::chrono::milliseconds timeout{60000};

  // The client's flags, on each command that talks to the gateway.
  void declare(CLI::App& app) {
    app.add_option("-g,--gateway", gateway, "cwasid's address, URL or HOST:PORT")
        ->type_name("URL")
        ->capture_default_str()
        ->envname("CWASI_GATEWAY");
    app.add_option("--admin-token", token,
                   "the /system/* token (default: the one in cwasid's default state dir)")
        ->envname("CWASI_ADMIN_TOKEN");
  }

  // Once the flags have parsed: the gateway as a URL, the token from the
  // state dir if neither the flag nor the environment gave one.
  void finish() {
    if (gateway.find("://") == std::string::npos) gateway = "http://" + gateway;
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

// A command that talks to cwasid: the client's flags and the command's own.
class ClientCommand : public Command {
 public:
  explicit ClientCommand(CLI::App& app) : Command(app) {
    client_.declare(app);
  }
  int run() final {
    client_.finish();
    return runClient(client_);
  }

 protected:
  // Runs with the flags parsed and the client ready.
  virtual int runClient(Client& c) = 0;

 private:
  Client client_;
};

// Deploys (or updates) a function: flags, a deployment file, or both.
class DeployCommand final : public ClientCommand {
 public:
  explicit DeployCommand(CLI::App& app) : ClientCommand(app) {
    app.add_option("NAME", name_, "the function's name");
    app.add_option("IMAGE", image_,
                   "MODULE (a .wasm file here), IMAGE.tar, or REGISTRY/REPO:TAG");
    app.add_option("-f,--file", file_, "a deployment, JSON (flags override its fields)")
        ->type_name("FILE");
    app.add_option("-e,--env", env_, "an environment variable, K=V (repeatable)")
        ->allow_extra_args(false);
    app.add_option("-l,--label", labels_, "a label, K=V (repeatable)")->allow_extra_args(false);
    app.add_option("--annotation", annotations_,
                   "an annotation, K=V (repeatable; cwasi.io/response=cgi: CGI output)")
        ->allow_extra_args(false);
    // Left out, a field takes the daemon's default: the one shown.
    const node::Deployment defaults;
    addText(app, "--memory", "the memory limit, as 64Mi (default: cwasid's --default-memory-limit)",
            "/limits/memory")
        ->type_name("SIZE");
    addText(app, "--timeout", "the timeout, as 30s (default: cwasid's --timeout-ms)", "/timeout")
        ->type_name("DURATION");
    addText(app, "--scale-to-zero-after",
            "with --min-scale 0: unloaded after idling this long, as 5m", "/scaleToZeroAfter")
        ->type_name("DURATION")
        ->default_str(std::to_string(defaults.scale_to_zero_after.count() / 60000) + "m");
    addText(app, "--trust-domain", "functions of one trust domain may run embedded in each other",
            "/trustDomain")
        ->type_name("DOMAIN")
        ->default_str(defaults.trust_domain);
    addNumber(app, "--min-scale", "replicas kept loaded", "/minScale")
        ->default_str(std::to_string(defaults.min_scale));
    addNumber(app, "--max-scale", "replicas at most", "/maxScale")
        ->default_str(std::to_string(defaults.max_scale));
    addNumber(app, "--target", "concurrent requests per replica the autoscaler aims at",
              "/targetConcurrency")
        ->default_str(std::to_string(defaults.target_concurrency));
    addNumber(app, "--max-inflight", "requests at once; more get 429 (default: max-scale * target)",
              "/maxInflight");
    app.add_flag_callback("--private", [this] { d_["public"] = false; },
                          "not reachable from outside the node's functions");
  }

 protected:
  int runClient(Client& c) override {
    for (const auto& [flag, values, field] :
         {std::tuple{"--env", &env_, "envVars"}, {"--label", &labels_, "labels"},
          {"--annotation", &annotations_, "annotations"}}) {
      for (const std::string& v : *values) {
        auto kv = keyValue(v, flag);
        if (!kv.ok()) return fail(kExitUsage, kv.error().message());
        d_[field][kv->first] = kv->second;
      }
    }
    json d = d_;
    if (!file_.empty()) {
      auto bytes = readFile(file_);
      if (!bytes.ok()) return fail(kExitUsage, bytes.error().message());
      json from = json::parse(bytes->begin(), bytes->end(), nullptr, false);
      if (from.is_discarded() || !from.is_object()) {
        return fail(kExitUsage, file_ + " is not a JSON object");
      }
      from.update(d, true);
      d = std::move(from);
    }
    if (!name_.empty() && !image_.empty()) {
      d["service"] = name_;
      d["image"] = image_;
    } else if (!name_.empty() || file_.empty()) {
      return fail(kExitUsage,
                  "deploy needs NAME and MODULE|IMAGE.tar|IMAGE-REFERENCE, or -f deployment.json "
                  "(see cwasi deploy --help)");
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
    const std::string digest =
        status.is_object() ? status.value("digest", std::string()).substr(0, 12) : "";
    std::printf("deployed %s (%s)\n", d.value("service", std::string("?")).c_str(), digest.c_str());
    std::printf("invoke: curl -sS -d 'input' %s/function/%s\n", c.gateway.c_str(),
                d.value("service", std::string("?")).c_str());
    return 0;
  }

 private:
  // A text flag that sets the deployment's field at `pointer` as it is.
  CLI::Option* addText(CLI::App& app, const std::string& name, const std::string& help,
                       const char* pointer) {
    return app.add_option_function<std::string>(
        name, [this, pointer](const std::string& v) { d_[json::json_pointer(pointer)] = v; }, help);
  }
  // A numeric flag (any non-negative number) that sets the field at `pointer`.
  CLI::Option* addNumber(CLI::App& app, const std::string& name, const std::string& help,
                         const char* pointer) {
    return app.add_option_function<uint64_t>(
           name, [this, pointer](const uint64_t& v) { d_[json::json_pointer(pointer)] = v; }, help)
        ->transform(inRange(0));
  }

  std::string name_, image_, file_;
  std::vector<std::string> env_, labels_, annotations_;
  json d_ = json::object();  // what the flags set
};

// Invokes a function with stdin as the request body.
class InvokeCommand final : public ClientCommand {
 public:
  explicit InvokeCommand(CLI::App& app) : ClientCommand(app) {
    app.add_option("NAME", name_, "the function")->required();
    app.add_flag("-a,--async", async_, "queue the call; print its call id");
    app.add_option("--callback", callback_, "with --async: where to POST the result")
        ->type_name("URL");
    app.add_option("--query", query_, "the query string, as a=1&b=2");
    app.add_option("--method", method_, "the HTTP method (not with --async)")
        ->capture_default_str();
    app.add_option("-H,--header", header_lines_, "a request header, 'NAME: VALUE' (repeatable)")
        ->type_name("HEADER")
        ->allow_extra_args(false);
  }

 protected:
  int runClient(Client& c) override {
    http::Headers headers;
    for (const std::string& v : header_lines_) {
      const size_t colon = v.find(':');
      if (colon == std::string::npos || colon == 0) {
        return fail(kExitUsage, "--header expects NAME:VALUE, got '" + v + "'");
      }
      std::string value = v.substr(colon + 1);
      while (!value.empty() && value[0] == ' ') value.erase(0, 1);
      headers.emplace_back(v.substr(0, colon), value);
    }
    if (!callback_.empty()) headers.emplace_back("X-Callback-Url", callback_);
    std::string target = (async_ ? "/async-function/" : "/function/") + name_;
    if (!query_.empty()) target += "?" + query_;
    auto r = c.request(async_ ? "POST" : method_, target, readStdin(), headers);
    if (!r.ok()) return fail(kExitUsage, r.error().message());
    if (r->status >= 300) return failResponse(*r);
    if (async_) {
      std::printf("%s\n", r->header("X-Call-Id").c_str());
    } else {
      std::fwrite(r->body.data(), 1, r->body.size(), stdout);
    }
    return 0;
  }

 private:
  std::string name_, callback_, query_, method_ = "POST";
  bool async_ = false;
  std::vector<std::string> header_lines_;
};

// Lists the functions deployed.
class ListCommand final : public ClientCommand {
 public:
  explicit ListCommand(CLI::App& app) : ClientCommand(app) {
    app.add_flag("--json", as_json_, "the gateway's answer as it is");
  }

 protected:
  int runClient(Client& c) override {
    auto r = c.request("GET", "/system/functions", "");
    if (!r.ok()) return fail(kExitUsage, r.error().message());
    if (r->status >= 300) return failResponse(*r);
    if (as_json_) {
      std::printf("%s\n", r->body.c_str());
      return 0;
    }
    json list = json::parse(r->body, nullptr, false);
    if (!list.is_array()) return fail(1, "unexpected answer from the gateway");
    std::printf("%-24s %12s %9s %11s  %s\n", "Function", "Invocations", "Replicas", "Cold starts",
                "Image");
    for (const auto& f : list) {
      std::printf("%-24s %12llu %9d %11llu  %s\n", f.value("name", std::string()).c_str(),
                  f.value("invocationCount", 0ull), f.value("replicas", 0),
                  f.value("coldStarts", 0ull), f.value("image", std::string()).c_str());
    }
    return 0;
  }

 private:
  bool as_json_ = false;
};

// Removes a function.
class RemoveCommand final : public ClientCommand {
 public:
  explicit RemoveCommand(CLI::App& app) : ClientCommand(app) {
    app.add_option("NAME", name_, "the function")->required();
  }

 protected:
  int runClient(Client& c) override {
    auto r = c.request("DELETE", "/system/functions", json{{"functionName", name_}}.dump());
    if (!r.ok()) return fail(kExitUsage, r.error().message());
    if (r->status >= 300) return failResponse(*r);
    std::printf("removed %s\n", name_.c_str());
    return 0;
  }

 private:
  std::string name_;
};

// Sets a function's replicas.
class ScaleCommand final : public ClientCommand {
 public:
  explicit ScaleCommand(CLI::App& app) : ClientCommand(app) {
    app.add_option("NAME", name_, "the function")->required();
    auto set = [this](const uint64_t& n) { replicas_ = n; };
    CLI::Option* positional =
        app.add_option_function<uint64_t>("REPLICAS", set, "as --replicas")->transform(inRange(0));
    app.add_option_function<uint64_t>("--replicas", set, "replicas to run (0: unload it)")
        ->transform(inRange(0))
        ->excludes(positional);
  }

 protected:
  int runClient(Client& c) override {
    if (!replicas_) {
      return fail(kExitUsage, "scale needs --replicas N (see cwasi scale --help)");
    }
    auto r = c.request("POST", "/system/scale-function/" + name_,
                       json{{"serviceName", name_}, {"replicas", *replicas_}}.dump());
    if (!r.ok()) return fail(kExitUsage, r.error().message());
    if (r->status >= 300) return failResponse(*r);
    json status = json::parse(r->body, nullptr, false);
    std::printf("scaled %s to %d\n", name_.c_str(),
                status.is_object() ? status.value("replicas", 0) : -1);
    return 0;
  }

 private:
  std::string name_;
  std::optional<uint64_t> replicas_;
};

// Prints a function's stderr lines.
class LogsCommand final : public ClientCommand {
 public:
  explicit LogsCommand(CLI::App& app) : ClientCommand(app) {
    app.add_option("NAME", name_, "the function")->required();
    app.add_option("--tail", tail_, "the last lines only (0: all)")
        ->capture_default_str()
        ->transform(inRange(0));
  }

 protected:
  int runClient(Client& c) override {
    auto r = c.request("GET", "/system/logs?name=" + name_ + "&tail=" + std::to_string(tail_), "");
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

 private:
  std::string name_;
  uint64_t tail_ = 100;
};

// `cwasi workflow deploy|invoke|ls|rm`: one request each.
class WorkflowCommand final : public ClientCommand {
 public:
  enum class Action { kDeploy, kInvoke, kList, kRemove };
  WorkflowCommand(CLI::App& app, Action action) : ClientCommand(app), action_(action) {
    if (action == Action::kDeploy) {
      app.add_option("FILE", arg_, "the workflow, YAML")->required();
    } else if (action != Action::kList) {
      app.add_option("NAME", arg_, "the workflow")->required();
    }
  }

 protected:
  int runClient(Client& c) override {
    Result<http::HttpResponse> r = internal("no request");
    switch (action_) {
      case Action::kDeploy: {
        auto bytes = readFile(arg_);
        if (!bytes.ok()) return fail(kExitUsage, bytes.error().message());
        r = c.request("PUT", "/system/workflows", std::string(bytes->begin(), bytes->end()),
                      {{"Content-Type", "application/yaml"}});
        break;
      }
      case Action::kInvoke: r = c.request("POST", "/workflow/" + arg_, readStdin()); break;
      case Action::kList: r = c.request("GET", "/system/workflows", ""); break;
      case Action::kRemove:
        r = c.request("DELETE", "/system/workflows", json{{"name", arg_}}.dump());
        break;
    }
    if (!r.ok()) return fail(kExitUsage, r.error().message());
    if (r->status >= 300) return failResponse(*r);
    switch (action_) {
      case Action::kDeploy: {
        json w = json::parse(r->body, nullptr, false);
        std::printf("deployed workflow %s (%zu steps)\n",
                    w.is_object() ? w.value("name", std::string()).c_str() : "?",
                    w.is_object() && w.contains("steps") ? w["steps"].size() : 0);
        break;
      }
      case Action::kList: {
        json list = json::parse(r->body, nullptr, false);
        for (const auto& w : list.is_array() ? list : json::array()) {
          std::string steps;
          for (const auto& s : w["steps"]) {
            steps += (steps.empty() ? "" : " ") + s.value("function", std::string());
          }
          std::printf("%-24s %s\n", w.value("name", std::string()).c_str(), steps.c_str());
        }
        break;
      }
      case Action::kRemove: std::printf("removed workflow %s\n", arg_.c_str()); break;
      case Action::kInvoke: std::fwrite(r->body.data(), 1, r->body.size(), stdout); break;
    }
    return 0;
  }

 private:
  Action action_;
  std::string arg_;
};

// The workflow commands, under `cwasi workflow`.
void declareWorkflow(CLI::App& workflow, Commands& out) {
  workflow.require_subcommand(0, 1);
  using Action = WorkflowCommand::Action;
  for (const auto& [name, help, action] :
       {std::tuple{"deploy", "deploy or update a workflow", Action::kDeploy},
        {"invoke", "invoke a workflow (stdin: its input)", Action::kInvoke},
        {"ls", "the workflows deployed", Action::kList},
        {"rm", "remove a workflow", Action::kRemove}}) {
    out.push_back(std::make_unique<WorkflowCommand>(
        *workflow.add_subcommand(name, help)->group("commands"), action));
  }
}

}  // namespace

void addPlatformCommands(Subcommands& out) {
  const std::string kGroup = "platform (clients of cwasid)";
  out.push_back({"deploy", "", "deploy or update a function", kGroup,
                 declareCommand<DeployCommand>});
  out.push_back({"invoke", "", "invoke a function (stdin: the request)", kGroup,
                 declareCommand<InvokeCommand>});
  out.push_back({"ls", "list", "the functions deployed", kGroup, declareCommand<ListCommand>});
  out.push_back({"rm", "remove", "remove a function", kGroup, declareCommand<RemoveCommand>});
  out.push_back({"scale", "", "set a function's replicas", kGroup, declareCommand<ScaleCommand>});
  out.push_back({"logs", "", "a function's stderr", kGroup, declareCommand<LogsCommand>});
  out.push_back({"workflow", "", "deploy, invoke, list and remove workflows", kGroup,
                 declareWorkflow});
}

}  // namespace cwasi::cli

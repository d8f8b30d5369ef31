// cwasid end to end: the real daemon binary, driven through real HTTP clients
// (curl, and our own client for the concurrent cases), the `cwasi` CLI, and a
// `cwasi serve` host on the same node for workflows that cross processes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "cwasi/common/mutex.h"
#include "cwasi/http/server.h"
#include "node/daemon.h"

namespace cwasi::node {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace cwasi::node::testing;

class Gateway : public DaemonTest {};

TEST_F(Gateway, DeployInvokeScaleRemove) {
  Daemon& d = *daemon_;
  Reply dep = d.deploy(spec("upper", "upper", {{"envVars", {{"GREETING", "hi"}}}}));
  ASSERT_EQ(dep.status, 202) << dep.body;

  Reply out = d.invoke("upper", "hello, world");
  EXPECT_EQ(out.status, 200);
  EXPECT_EQ(out.body, "HELLO, WORLD");
  EXPECT_THAT(out.headers, HasSubstr("X-Call-Id: "));

  json list = json::parse(d.admin("GET", "/system/functions").body);
  ASSERT_TRUE(list.is_array());
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["name"], "upper");
  EXPECT_EQ(list[0]["invocationCount"], 1);
  EXPECT_EQ(list[0]["envVars"]["GREETING"], "hi");

  Reply scaled = d.admin("POST", "/system/scale-function/upper", R"({"replicas": 3})");
  EXPECT_EQ(scaled.status, 202) << scaled.body;
  EXPECT_EQ(d.status("upper")["replicas"], 3);

  // Update: same name, another module.
  Reply upd = d.deploy(spec("upper", "reverse"), "PUT");
  EXPECT_EQ(upd.status, 202) << upd.body;
  EXPECT_EQ(d.invoke("upper", "abc").body, "cba");
  EXPECT_EQ(d.deploy(spec("upper", "upper")).status, 409);   // POST of an existing one
  EXPECT_EQ(d.deploy(spec("nope", "upper"), "PUT").status, 404);

  Reply rm = d.admin("DELETE", "/system/functions", R"({"functionName": "upper"})");
  EXPECT_EQ(rm.status, 202) << rm.body;
  EXPECT_EQ(d.invoke("upper", "x").status, 404);
  EXPECT_EQ(d.admin("DELETE", "/system/functions", R"({"functionName": "upper"})").status, 404);
  // Its stored module is gone with it.
  EXPECT_TRUE(fs::is_empty(root_ / "state" / "modules"));
}

TEST_F(Gateway, HundredConcurrentClientsGetTheirOwnAnswers) {
  Daemon& d = *daemon_;
  ASSERT_EQ(d.deploy(spec("upper", "upper")).status, 202);
  ASSERT_EQ(d.deploy(spec("reverse", "reverse")).status, 202);
  std::atomic<int> correct{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 100; ++i) {
    clients.emplace_back([&, i] {
      for (int k = 0; k < 5; ++k) {
        const std::string body = "client " + std::to_string(i) + " request " + std::to_string(k);
        const bool up = (i + k) % 2 == 0;
        http::HttpResponse r = d.fetch("POST", up ? "/function/upper" : "/function/reverse", body);
        std::string want = body;
        if (up) {
          for (auto& c : want) c = static_cast<char>(std::toupper(c));
        } else {
          std::reverse(want.begin(), want.end());
        }
        if (r.status == 200 && r.body == want) ++correct;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(correct.load(), 500);
  EXPECT_EQ(d.status("upper")["invocationCount"].get<int>() + d.status("reverse")["invocationCount"].get<int>(),
            500);
}

class SmallGateway : public Gateway {
  std::vector<std::string> extraFlags() override { return {"--max-body-mb", "1"}; }
};

TEST_F(SmallGateway, EveryErrorPathHasItsStatusAndTheDaemonKeepsServing) {
  Daemon& d = *daemon_;
  ASSERT_EQ(d.deploy(spec("echo", "echo")).status, 202);
  ASSERT_EQ(d.deploy(spec("loop", "loop", {{"timeout", "300ms"}})).status, 202);
  ASSERT_EQ(d.deploy(spec("trap", "unreachable")).status, 202);
  ASSERT_EQ(d.deploy(spec("bomb", "memory-bomb", {{"limits", {{"memory", "8Mi"}}}})).status, 202);

  // 413: body over the cap (1 MiB).
  const std::string big(2 << 20, 'x');
  auto dir = root_ / "big";
  ASSERT_TRUE(writeFileAtomic(dir, {reinterpret_cast<const uint8_t*>(big.data()), big.size()}).ok());
  Reply too_big = curl({"--data-binary", "@" + dir.string(), d.url_with("/function/echo")});
  EXPECT_EQ(too_big.status, 413) << too_big.body;

  // 504: past the function's timeout.
  Reply slow = d.invoke("loop", "");
  EXPECT_EQ(slow.status, 504) << slow.body;
  EXPECT_THAT(slow.body, HasSubstr("timed out"));

  // 500 with a JSON error: a trap, and memory past the limit.
  Reply trapped = d.invoke("trap", "");
  EXPECT_EQ(trapped.status, 500);
  json err = json::parse(trapped.body, nullptr, false);
  ASSERT_TRUE(err.is_object()) << trapped.body;
  EXPECT_THAT(err["error"].get<std::string>(), HasSubstr("unreachable"));
  Reply bomb = d.invoke("bomb", "");
  EXPECT_EQ(bomb.status, 500);
  EXPECT_THAT(bomb.body, HasSubstr("memory"));

  // 500 for a function exiting non-zero; its output comes back in the JSON
  // error.
  ASSERT_EQ(d.deploy(spec("fails", "env-args", {{"envVars", {{"EXIT_CODE", "3"}}}})).status, 202);
  Reply failed = d.invoke("fails", "", {"-H", "X-Seen: yes"});
  EXPECT_EQ(failed.status, 500);
  json failed_json = json::parse(failed.body, nullptr, false);
  ASSERT_TRUE(failed_json.is_object()) << failed.body;
  EXPECT_THAT(failed_json["error"].get<std::string>(), HasSubstr("env Http_X_Seen=yes"));

  // 404: unknown function and route.
  EXPECT_EQ(d.invoke("ghost", "").status, 404);
  EXPECT_EQ(curl({d.url_with("/nowhere")}).status, 404);

  // 400: malformed deployments.
  EXPECT_EQ(d.admin("POST", "/system/functions", "{not json").status, 400);
  EXPECT_EQ(d.deploy({{"service", "x"}}).status, 400);
  EXPECT_EQ(d.deploy({{"service", "x"}, {"image", "/does/not/exist.wasm"}}).status, 400);
  Reply not_wasm = d.deploy({{"service", "x"}, {"image", (root_ / "big").string()}});
  EXPECT_EQ(not_wasm.status, 400);
  EXPECT_FALSE(json::parse(not_wasm.body)["error"].get<std::string>().empty());
  EXPECT_EQ(d.deploy({{"service", "x"}, {"image", "relative.wasm"}}).status, 400);
  EXPECT_EQ(d.admin("POST", "/system/scale-function/echo", R"({"replicas": -1})").status, 400);

  // 401: /system without or with a wrong token.
  EXPECT_EQ(curl({d.url_with("/system/functions")}).status, 401);
  EXPECT_EQ(curl({"-H", "Authorization: Bearer wrong", d.url_with("/system/functions")}).status, 401);
  // Basic auth (faas-cli's way) works with the token as the password.
  EXPECT_EQ(curl({"-u", "admin:" + d.token, d.url_with("/system/functions")}).status, 200);

  // A malformed HTTP request gets a 400, and the daemon goes on.
  SubprocessOptions o;
  o.argv = {"bash", "-c", "exec 3<>/dev/tcp/" + d.url.substr(7, d.url.rfind(':') - 7) + "/" +
                               d.url.substr(d.url.rfind(':') + 1) +
                               "; printf 'GARBAGE\\r\\n\\r\\n' >&3; cat <&3"};
  auto garbage = runSubprocess(o);
  ASSERT_TRUE(garbage.ok());
  EXPECT_THAT(garbage->out, HasSubstr("400"));

  EXPECT_EQ(curl({d.url_with("/healthz")}).status, 200);
  EXPECT_EQ(d.invoke("echo", "still here").body, "still here");
}

TEST_F(Gateway, PrivateFunctionsNeedTheToken) {
  Daemon& d = *daemon_;
  ASSERT_EQ(d.deploy(spec("secret", "echo", {{"public", false}})).status, 202);
  EXPECT_EQ(d.invoke("secret", "x").status, 401);
  Reply ok = d.invoke("secret", "x", {"-H", "Authorization: Bearer " + d.token});
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "x");
}

TEST_F(Gateway, FunctionsSeeQueryHeadersAndMethodButNotTheToken) {
  Daemon& d = *daemon_;
  ASSERT_EQ(d.deploy(spec("env", "env-args", {{"public", false}})).status, 202);
  Reply r = curl({"-X", "PUT", "-H", "X-Custom-Thing: v1", "-H", "Authorization: Bearer " + d.token,
                  "--data-binary", "body", d.url_with("/function/env/sub/path?a=1&b=two")});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr("env Http_Method=PUT"));
  EXPECT_THAT(r.body, HasSubstr("env Http_Query=a=1&b=two"));
  EXPECT_THAT(r.body, HasSubstr("env Http_Path=/sub/path"));
  EXPECT_THAT(r.body, HasSubstr("env Http_X_Custom_Thing=v1"));
  EXPECT_THAT(r.body, Not(HasSubstr(d.token)));
}

TEST_F(Gateway, RestartKeepsDeploymentsWorkflowsAndToken) {
  ASSERT_EQ(daemon_->deploy(spec("upper", "upper", {{"minScale", 2}})).status, 202);
  ASSERT_EQ(daemon_->admin("POST", "/system/workflows", "name: shout\nsequence: [upper]\n").status, 202);
  const std::string token = daemon_->token;
  EXPECT_EQ(daemon_->stop(), 0);
  daemon_ = Daemon::start(root_ / "state");
  EXPECT_EQ(daemon_->token, token);
  EXPECT_EQ(daemon_->invoke("upper", "again").body, "AGAIN");
  EXPECT_EQ(daemon_->status("upper")["minScale"], 2);
  Reply w = curl({"--data-binary", "wf", daemon_->url_with("/workflow/shout")});
  EXPECT_EQ(w.status, 200);
  EXPECT_EQ(w.body, "WF");
}

TEST_F(Gateway, AsyncInvocationDeliversItsCallback) {
  Daemon& d = *daemon_;
  ASSERT_EQ(d.deploy(spec("upper", "upper")).status, 202);
  Mutex mu;
  CondVar got;
  std::optional<http::HttpRequest> received;
  http::HttpServerConfig cfg;
  cfg.listen = "127.0.0.1:0";
  auto receiver = http::HttpServer::start(cfg, [&](http::HttpRequest& req) {
    MutexLock lock(mu);
    received = req;
    got.notifyAll();
    return http::HttpResponse::text(200, "thanks");
  });
  ASSERT_TRUE(receiver.ok());
  Reply r = curl({"-H", "X-Callback-Url: http://" + (*receiver)->address() + "/done",
                  "--data-binary", "later", d.url_with("/async-function/upper")});
  EXPECT_EQ(r.status, 202);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.headers, m, std::regex("X-Call-Id: ([^\r\n]+)")));
  const std::string call_id = m[1];
  MutexLock lock(mu);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!received && got.waitUntil(mu, deadline)) {
  }
  ASSERT_TRUE(received.has_value());
  EXPECT_EQ(received->method, "POST");
  EXPECT_EQ(received->path, "/done");
  EXPECT_EQ(received->body, "LATER");
  EXPECT_EQ(received->header("X-Call-Id"), call_id);
  EXPECT_EQ(received->header("X-Function-Status"), "200");
  // Counted once its answer is in (just after the receiver saw it).
  for (int i = 0; i < 100 && metric(d.metrics(), "cwasi_async_callbacks_total{outcome=\"delivered\"}") < 1;
       ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(metric(d.metrics(), "cwasi_async_callbacks_total{outcome=\"delivered\"}"), 1);

  // A bad callback URL is refused up front, read by the one strict parser:
  // no other scheme, no userinfo, no space, no bracketed name.
  for (const std::string bad : {"ftp://x", "https://example.com/", "http://user@127.0.0.1/",
                                "http://127.0.0.1/a b", "http://[localhost]/"}) {
    Reply refused = curl({"-H", "X-Callback-Url: " + bad, "--data-binary", "x",
                          d.url_with("/async-function/upper")});
    EXPECT_EQ(refused.status, 400) << bad << ": " << refused.body;
    EXPECT_THAT(refused.body, HasSubstr("X-Callback-Url")) << bad;
  }
  EXPECT_EQ(curl({"--data-binary", "x", d.url_with("/async-function/ghost")}).status, 404);
}

TEST_F(Gateway, ScalesToZeroWhenIdleAndBackOnDemand) {
  Daemon& d = *daemon_;
  ASSERT_EQ(d.deploy(spec("upper", "upper", {{"minScale", 0}, {"scaleToZeroAfter", "200ms"}})).status, 202);
  Reply warm = d.invoke("upper", "one");
  EXPECT_EQ(warm.body, "ONE");
  EXPECT_THAT(warm.headers, HasSubstr("X-Cold-Start: false"));
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (d.status("upper")["replicas"] != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  json s = d.status("upper");
  ASSERT_EQ(s["replicas"], 0);
  EXPECT_EQ(s["availableReplicas"], 0);
  Reply cold = d.invoke("upper", "two");
  EXPECT_EQ(cold.status, 200);
  EXPECT_EQ(cold.body, "TWO");
  EXPECT_THAT(cold.headers, HasSubstr("X-Cold-Start: true"));
  s = d.status("upper");
  EXPECT_EQ(s["replicas"], 1);
  EXPECT_EQ(s["coldStarts"], 1);
  EXPECT_EQ(metric(d.metrics(), "cwasi_cold_starts_total{function_name=\"upper\"}"), 1);
}

TEST_F(Gateway, ScalesUpWithInFlightRequestsAndBackDown) {
  Daemon& d = *daemon_;
  ASSERT_EQ(d.deploy(spec("sleep", "sleep", {{"targetConcurrency", 2}, {"maxScale", 10}})).status, 202);
  std::vector<std::thread> clients;
  std::atomic<int> ok{0}, done{0};
  for (int i = 0; i < 12; ++i) {
    clients.emplace_back([&] {
      if (d.fetch("POST", "/function/sleep", "1500").body == "slept 1500 ms") ++ok;
      ++done;
    });
  }
  // Sampled while the requests are in flight.
  int peak = 0;
  while (done.load() < 12) {
    peak = std::max(peak, d.status("sleep")["replicas"].get<int>());
    std::this_thread::sleep_for(20ms);
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 12);
  EXPECT_EQ(peak, 6);  // 12 in flight / target 2
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (d.status("sleep")["replicas"] != 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(d.status("sleep")["replicas"], 1);
}

TEST_F(Gateway, AWorkflowsResultIsTheCompositionOfItsSteps) {
  Daemon& d = *daemon_;
  for (const char* f : {"upper", "reverse", "echo"}) ASSERT_EQ(d.deploy(spec(f, f)).status, 202);
  const std::string input = "Compose me";
  // By hand.
  const std::string reversed = d.invoke("reverse", input).body;
  const std::string chained = d.invoke("upper", reversed).body;
  const std::string fanned = d.invoke("upper", input).body + d.invoke("reverse", input).body;

  ASSERT_EQ(d.admin("POST", "/system/workflows", "name: chain\nsequence: [reverse, upper]\n").status, 202);
  ASSERT_EQ(d.admin("POST", "/system/workflows", R"({"name": "dag", "steps": [
      {"id": "in", "function": "echo"},
      {"id": "a", "function": "upper", "after": ["in"]},
      {"id": "b", "function": "reverse", "after": ["in"]},
      {"id": "join", "function": "echo", "after": ["a", "b"]}]})").status, 202);
  EXPECT_EQ(curl({"--data-binary", input, d.url_with("/workflow/chain")}).body, chained);
  EXPECT_EQ(curl({"--data-binary", input, d.url_with("/workflow/dag")}).body, fanned);
  EXPECT_EQ(fanned, "COMPOSE MEem esopmoC");
  // The steps moved their data embedded (in the daemon's own host).
  EXPECT_GT(metric(d.metrics(), "cwasi_comm_calls_total{mode=\"embedded\"}"), 5);

  // Errors: a bad definition, a missing step function, an unknown workflow.
  EXPECT_EQ(d.admin("POST", "/system/workflows", "name: bad\nsteps: [{id: a, function: f, after: [a]}]").status, 400);
  ASSERT_EQ(d.admin("POST", "/system/workflows", "name: broken\nsequence: [upper, ghost]").status, 202);
  Reply broken = curl({"--data-binary", "x", d.url_with("/workflow/broken")});
  EXPECT_EQ(broken.status, 404);
  EXPECT_THAT(broken.body, HasSubstr("ghost"));
  EXPECT_EQ(curl({"--data-binary", "x", d.url_with("/workflow/none")}).status, 404);
}

TEST_F(Gateway, WorkflowStepsInAnotherHostGoThroughLocalMode) {
  Daemon& d = *daemon_;
  ASSERT_EQ(d.deploy(spec("upper", "upper")).status, 202);
  // `reverse` lives in another process on the node (same runtime dir).
  auto host = testbed::ChildProcess::start(
      {binPath("cwasi").string(), "serve", "--function", "reverse=" + functionPath("reverse").string(),
       "--runtime-dir", (root_ / "run").string()});
  ASSERT_TRUE(host.ok());
  ASSERT_TRUE(host->readLine(30s).has_value());
  ASSERT_EQ(d.admin("POST", "/system/workflows", "name: mixed\nsequence: [upper, reverse]\n").status, 202);
  Reply r = curl({"--data-binary", "local hop", d.url_with("/workflow/mixed")});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "POH LACOL");
  const std::string m = d.metrics();
  EXPECT_EQ(metric(m, "cwasi_comm_calls_total{mode=\"local\"}"), 1);
  EXPECT_EQ(metric(m, "cwasi_comm_bytes_total{direction=\"out\",mode=\"local\"}"), 9);
  EXPECT_EQ(metric(m, "cwasi_comm_bytes_total{direction=\"in\",mode=\"local\"}"), 9);
  host->stop();
}

TEST_F(Gateway, MetricsCountInvocationsByStatus) {
  Daemon& d = *daemon_;
  ASSERT_EQ(d.deploy(spec("echo", "echo")).status, 202);
  ASSERT_EQ(d.deploy(spec("trap", "unreachable")).status, 202);
  for (int i = 0; i < 3; ++i) d.invoke("echo", "x");
  d.invoke("trap", "");
  const std::string m = d.metrics();
  EXPECT_EQ(metric(m, "gateway_function_invocation_total{code=\"200\",function_name=\"echo\"}"), 3);
  EXPECT_EQ(metric(m, "gateway_function_invocation_total{code=\"500\",function_name=\"trap\"}"), 1);
  EXPECT_EQ(metric(m, "gateway_functions_seconds_count{code=\"200\",function_name=\"echo\"}"), 3);
  EXPECT_EQ(metric(m, "gateway_service_count{function_name=\"echo\"}"), 1);
}

TEST_F(Gateway, DeploysAnOciImageTarball) {
  Daemon& d = *daemon_;
  const std::string image = (root_ / "hello.tar").string();
  SubprocessOptions o;
  o.argv = {binPath("cwasi").string(), "image", "build", functionPath("hello").string(), "-t",
            "example.com/hello:1", "-o", image};
  auto built = runSubprocess(o);
  ASSERT_TRUE(built.ok());
  ASSERT_EQ(built->exit_code, 0) << built->err;
  ASSERT_EQ(d.deploy({{"service", "hello"}, {"image", image}}).status, 202);
  EXPECT_EQ(d.invoke("hello", "").body, "Hello from cwasi!\n");
}

// A WASI component is told from a module at deploy: one of a world cwasi
// knows but does not run yet is a 501 naming its world, and nothing is
// deployed.
TEST_F(Gateway, AComponentIsToldApartAtDeploy) {
  Daemon& d = *daemon_;
  const std::string image = (root_ / "handler.wat").string();
  cwasi::testing::writeText(image, R"((component
  (core module $m (func (export "f") (result i32) (i32.const 0)))
  (core instance $i (instantiate $m))
  (func $f (result (result)) (canon lift (core func $i "f")))
  (instance $api (export "handle" (func $f)))
  (export "wasi:http/incoming-handler@0.2.0" (instance $api))
))");
  Reply r = d.deploy({{"service", "handler"}, {"image", image}});
  EXPECT_EQ(r.status, 501) << r.body;
  EXPECT_THAT(r.body, HasSubstr("wasi:http 0.2 handler"));
  EXPECT_EQ(d.admin("GET", "/system/function/handler").status, 404);
}

// The faas-cli-like CLI against the daemon.
TEST_F(Gateway, CliDrivesTheDaemon) {
  Daemon& d = *daemon_;
  auto cwasi = [&](std::vector<std::string> args, const std::string& input = "") {
    SubprocessOptions o;
    o.argv = {binPath("cwasi").string()};
    o.argv.insert(o.argv.end(), args.begin(), args.end());
    o.input = input;
    o.env = {{"CWASI_GATEWAY", d.url}, {"CWASI_ADMIN_TOKEN", d.token}};
    auto r = runSubprocess(o);
    EXPECT_TRUE(r.ok());
    return *r;
  };
  auto dep = cwasi({"deploy", "shout", functionPath("upper").string(), "--env", "A=1", "--max-scale", "4"});
  ASSERT_EQ(dep.exit_code, 0) << dep.err;
  EXPECT_THAT(dep.out, HasSubstr("deployed shout"));
  EXPECT_EQ(cwasi({"invoke", "shout"}, "quiet").out, "QUIET");
  auto ls = cwasi({"ls"});
  EXPECT_EQ(ls.exit_code, 0);
  EXPECT_THAT(ls.out, HasSubstr("shout"));
  auto sc = cwasi({"scale", "shout", "--replicas", "3"});
  EXPECT_EQ(sc.exit_code, 0) << sc.err;
  EXPECT_THAT(sc.out, HasSubstr("to 3"));
  auto logs = cwasi({"logs", "shout"});
  EXPECT_THAT(logs.out, HasSubstr("upper: 5 bytes"));
  const std::string wf = (root_ / "wf.yaml").string();
  const std::string text = "name: twice\nsequence: [shout, shout]\n";
  ASSERT_TRUE(writeFileAtomic(wf, {reinterpret_cast<const uint8_t*>(text.data()), text.size()}).ok());
  EXPECT_EQ(cwasi({"workflow", "deploy", wf}).exit_code, 0);
  EXPECT_EQ(cwasi({"workflow", "invoke", "twice"}, "x").out, "X");
  auto bad = cwasi({"invoke", "ghost"}, "x");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("404"));
  EXPECT_EQ(cwasi({"rm", "shout"}).exit_code, 0);
  EXPECT_EQ(cwasi({"invoke", "shout"}, "x").exit_code, 1);
  // A wrong token is refused with a clear message.
  auto denied = cwasi({"ls", "--admin-token", "wrong"});
  EXPECT_EQ(denied.exit_code, 1);
  EXPECT_THAT(denied.err, HasSubstr("401"));
}

}  // namespace
}  // namespace cwasi::node

// user-manager end to end over a real PostgreSQL: each test starts a
// throwaway cluster and the users API in front of it
// (functions/study/users-api: with_postgres.py runs users_api.py, and on
// SIGTERM stops both by PID and removes the cluster's directory), then drives
// the function in every packaging — the Wasm build through `cwasi run` and
// through cwasid (outbound HTTP granted to the API's address only), and the
// native binary — and expects the very same JSON from each.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "cwasi/common/subprocess.h"
#include "node/daemon.h"
#include "support/wasi_test.h"
#include "testbed/child_process.h"

namespace cwasi::study {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using node::testing::Daemon;

// with_postgres.py -- users_api.py --listen 127.0.0.1:0, up until destroyed.
class UsersApi {
 public:
  static std::unique_ptr<UsersApi> start() {
    const fs::path dir = cwasi::testing::sourcePath("functions/study/users-api");
    auto p = testbed::ChildProcess::start({"/usr/bin/python3", (dir / "with_postgres.py").string(),
                                           "--", "/usr/bin/python3", (dir / "users_api.py").string(),
                                           "--listen", "127.0.0.1:0"});
    EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message());
    if (!p.ok()) return nullptr;
    auto api = std::unique_ptr<UsersApi>(new UsersApi(std::move(*p)));
    auto line = api->process_.readLine(90s);  // initdb and the first start
    const std::string prefix = "listening on ";
    EXPECT_TRUE(line && line->rfind(prefix, 0) == 0) << line.value_or("(nothing: see stderr)");
    if (!line || line->rfind(prefix, 0) != 0) return nullptr;
    api->url = line->substr(prefix.size());
    return api;
  }
  // SIGTERM: the script stops the API and the postmaster (a fast shutdown).
  ~UsersApi() { EXPECT_EQ(process_.stop(30s), 128 + SIGTERM); }

  std::string url;

 private:
  explicit UsersApi(testbed::ChildProcess p) : process_(std::move(p)) {}
  testbed::ChildProcess process_;
};

enum class Mode { kCwasiRun, kCwasid, kNative };

struct Answer {
  bool ok = false;   // exit status 0, or HTTP 200
  std::string body;  // the function's JSON, without the final newline
  json value;
};

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

Answer answer(bool ok, std::string body) {
  Answer a{ok, trimmed(std::move(body)), json()};
  a.value = json::parse(a.body, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(a.value.is_discarded()) << "not JSON: " << a.body;
  return a;
}

// The function in one packaging; `grant` is the outbound grant of its Wasm
// builds (none: no grant at all; native builds have no such thing).
class UserManager {
 public:
  UserManager(Mode mode, const std::string& api_url, std::optional<std::string> grant)
      : mode_(mode), api_url_(api_url), grant_(std::move(grant)) {
    if (mode_ != Mode::kCwasid) return;
    daemon_ = Daemon::start(dir_.path() / "state");
    json extra = {{"envVars", {{"USERS_API_URL", api_url_}}}};
    if (grant_) extra["allowedOutboundHosts"] = json::array({*grant_});
    auto r = daemon_->deploy(node::testing::spec("users", "study-user-manager", extra));
    EXPECT_EQ(r.status, 202) << r.body;
  }
  ~UserManager() {
    if (daemon_) EXPECT_EQ(daemon_->stop(), 0);
  }

  Answer call(const std::string& request) {
    switch (mode_) {
      case Mode::kCwasiRun: {
        std::vector<std::string> argv = {cwasi::testing::binPath("cwasi").string(), "run"};
        if (grant_) argv.insert(argv.end(), {"--allow-outbound", *grant_});
        argv.insert(argv.end(), {"--env", "USERS_API_URL=" + api_url_,
                                 cwasi::testing::functionPath("study-user-manager").string()});
        return run(argv, {{"CWASI_CACHE_DIR", (dir_.path() / "cache").string()}}, request);
      }
      case Mode::kNative:
        return run({(fs::path(CWASI_FUNCTIONS_DIR) / "native" / "study-user-manager").string()},
                   {{"USERS_API_URL", api_url_}}, request);
      case Mode::kCwasid: {
        auto r = daemon_->invoke("users", request, {"-H", "Content-Type: application/json"});
        if (r.status == 200) return answer(true, r.body);
        // A command that exits non-zero: cwasid answers its own envelope,
        // {"error": <the function's stdout>, "function": NAME}.
        json envelope = json::parse(r.body, nullptr, false);
        EXPECT_TRUE(envelope.is_object() && envelope["error"].is_string()) << r.status << " " << r.body;
        if (!envelope.is_object() || !envelope["error"].is_string()) return answer(false, r.body);
        EXPECT_EQ(envelope["function"], "users");
        return answer(false, envelope["error"].get<std::string>());
      }
    }
    return {};
  }

 private:
  static Answer run(const std::vector<std::string>& argv,
                    std::vector<std::pair<std::string, std::string>> env, const std::string& request) {
    auto r = runSubprocess({.argv = argv, .input = request, .env = std::move(env), .timeout = 120s});
    EXPECT_TRUE(r.ok());
    if (!r.ok()) return {};
    EXPECT_FALSE(r->timed_out);
    EXPECT_TRUE(r->exit_code == 0 || r->exit_code == 1) << r->exit_code << " " << r->err;
    return answer(r->exit_code == 0, r->out);
  }

  Mode mode_;
  std::string api_url_;
  std::optional<std::string> grant_;
  cwasi::testing::TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
};

// The grant that covers exactly the API: scheme, host and port.
std::string grantFor(const std::string& url) {
  auto slash = url.find('/', std::string("http://").size());
  return url.substr(0, slash);
}

class UserManagerOverPostgres : public ::testing::TestWithParam<Mode> {
 protected:
  void SetUp() override {
    api_ = UsersApi::start();
    ASSERT_NE(api_, nullptr);
  }
  std::unique_ptr<UsersApi> api_;
};

// One scenario, the same bytes expected from every packaging (serde_json
// writes keys in order).
TEST_P(UserManagerOverPostgres, CreatesGetsListsAndSurfacesTheApisErrors) {
  UserManager f(GetParam(), api_->url, grantFor(api_->url));

  Answer ada = f.call(R"({"action": "create", "name": "Ada", "email": "ada@example.org"})");
  EXPECT_TRUE(ada.ok) << ada.body;
  EXPECT_EQ(ada.body,
            R"({"action":"create","function":"user-manager","user":{"email":"ada@example.org","id":1,"name":"Ada"}})");
  Answer grace = f.call(R"({"action": "create", "name": " Grace ", "email": "grace@example.org"})");
  EXPECT_TRUE(grace.ok) << grace.body;
  EXPECT_EQ(grace.value["user"], json({{"id", 2}, {"name", "Grace"}, {"email", "grace@example.org"}}));

  Answer got = f.call(R"({"action": "get", "id": 2})");
  EXPECT_TRUE(got.ok) << got.body;
  EXPECT_EQ(got.body,
            R"({"action":"get","function":"user-manager","user":{"email":"grace@example.org","id":2,"name":"Grace"}})");

  Answer list = f.call("{}");
  EXPECT_TRUE(list.ok) << list.body;
  EXPECT_EQ(list.body,
            R"({"action":"list","count":2,"function":"user-manager","users":[)"
            R"({"email":"ada@example.org","id":1,"name":"Ada"},{"email":"grace@example.org","id":2,"name":"Grace"}]})");
  Answer one = f.call(R"({"action": "list", "limit": 1})");
  EXPECT_EQ(one.value["count"], 1);
  EXPECT_EQ(one.value["users"][0]["name"], "Ada");

  // The email is unique in the table: PostgreSQL's 23505, the API's 409.
  Answer dup = f.call(R"({"action": "create", "name": "Ada again", "email": "ada@example.org"})");
  EXPECT_FALSE(dup.ok);
  EXPECT_EQ(dup.body,
            R"({"error":"the users API answered 409: {\"code\":\"23505\",\"details\":\"Key (email)=(ada@example.org) )"
            R"(already exists.\",\"hint\":null,\"message\":\"duplicate key value violates unique constraint )"
            R"(\\\"users_email_key\\\"\"}"})");

  Answer missing = f.call(R"({"action": "get", "id": 9})");
  EXPECT_FALSE(missing.ok);
  EXPECT_EQ(missing.body, R"({"error":"no user 9"})");

  // The failed create left nothing behind.
  EXPECT_EQ(f.call("{}").value["count"], 2);
}

INSTANTIATE_TEST_SUITE_P(Packagings, UserManagerOverPostgres,
                         ::testing::Values(Mode::kCwasiRun, Mode::kCwasid, Mode::kNative),
                         [](const auto& info) {
                           switch (info.param) {
                             case Mode::kCwasiRun: return std::string("CwasiRun");
                             case Mode::kCwasid: return std::string("Cwasid");
                             case Mode::kNative: return std::string("Native");
                           }
                           return std::string();
                         });

// Without a grant for the API, the host refuses the request before any
// connection: the function answers that the destination was denied, and the
// API sees nothing (the table stays empty).
class UserManagerDenied : public ::testing::TestWithParam<Mode> {};

TEST_P(UserManagerDenied, WithoutAGrantTheDestinationIsDenied) {
  auto api = UsersApi::start();
  ASSERT_NE(api, nullptr);
  const std::string port = api->url.substr(api->url.rfind(':') + 1);
  const std::string other = port == "1" ? "http://127.0.0.1:2" : "http://127.0.0.1:1";
  for (std::optional<std::string> grant : {std::optional<std::string>(), std::optional(other),
                                           std::optional<std::string>("http://localhost:" + port)}) {
    UserManager f(GetParam(), api->url, grant);
    Answer a = f.call(R"({"action": "create", "name": "Eve", "email": "eve@example.org"})");
    EXPECT_FALSE(a.ok) << grant.value_or("(no grant)");
    EXPECT_THAT(a.value.value("error", ""), HasSubstr("the destination was denied"))
        << grant.value_or("(no grant)");
    EXPECT_THAT(a.value.value("error", ""), HasSubstr(api->url + "/users"));
  }
  UserManager native(Mode::kNative, api->url, std::nullopt);
  EXPECT_EQ(native.call("{}").value["count"], 0);
}

INSTANTIATE_TEST_SUITE_P(Wasm, UserManagerDenied, ::testing::Values(Mode::kCwasiRun, Mode::kCwasid),
                         [](const auto& info) {
                           return std::string(info.param == Mode::kCwasiRun ? "CwasiRun" : "Cwasid");
                         });

}  // namespace
}  // namespace cwasi::study

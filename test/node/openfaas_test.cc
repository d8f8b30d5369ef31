// cwasid as OpenFaaS's gateway and faas-provider define it, through real HTTP
// (curl and our client): namespaced routes, status objects, refused fields,
// secrets, logs (tail, since, follow), Basic auth's user, /system/info. The
// real faas-cli drives the same daemon in test/node/faas_cli_test.sh.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <regex>
#include <thread>

#include "node/daemon.h"

namespace cwasi::node {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace cwasi::node::testing;

class OpenFaas : public DaemonTest {};

// Lines of an NDJSON body, parsed.
std::vector<json> ndjson(const std::string& body) {
  std::vector<json> out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find('\n', pos);
    if (end == std::string::npos) end = body.size();
    if (end > pos) out.push_back(json::parse(body.substr(pos, end - pos)));
    pos = end + 1;
  }
  return out;
}

TEST_F(OpenFaas, FunctionsAnswerUnderTheirNamespacedName) {
  Daemon& d = *daemon_;
  ASSERT_EQ(d.deploy(spec("upper", "upper")).status, 202);
  Reply r = d.invoke("upper.openfaas-fn", "hi");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "HI");
  EXPECT_THAT(r.headers, HasSubstr("X-Served-By: cwasid/"));
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.headers, m, std::regex("X-Start-Time: ([0-9]+)")));
  const auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  EXPECT_LE(std::stoll(m[1]), now_ns);
  EXPECT_GT(std::stoll(m[1]), now_ns - 60'000'000'000LL);

  Reply other = d.invoke("upper.elsewhere", "hi");
  EXPECT_EQ(other.status, 404);
  EXPECT_THAT(other.body, HasSubstr("openfaas-fn"));
  Reply queued = curl({"-X", "POST", "--data-binary", "x", d.url_with("/async-function/upper.openfaas-fn")});
  EXPECT_EQ(queued.status, 202);
  EXPECT_THAT(queued.headers, HasSubstr("X-Start-Time: "));

  Reply ns = d.admin("GET", "/system/namespaces");
  EXPECT_EQ(ns.status, 200);
  EXPECT_EQ(json::parse(ns.body), json::array({"openfaas-fn"}));
  EXPECT_EQ(d.admin("GET", "/system/functions?namespace=openfaas-fn").status, 200);
  Reply wrong = d.admin("GET", "/system/functions?namespace=team-a");
  EXPECT_EQ(wrong.status, 400);
  EXPECT_THAT(wrong.body, HasSubstr("namespace"));
}

TEST_F(OpenFaas, StatusEchoesWhatWasSubmittedAsFaasProviderShapesIt) {
  Daemon& d = *daemon_;
  ASSERT_EQ(d.deploy(spec("upper", "upper",
                          {{"namespace", "openfaas-fn"},
                           {"envProcess", "upper --fast"},
                           {"limits", {{"memory", "64Mi"}, {"cpu", "500m"}}},
                           {"requests", {{"memory", "32Mi"}, {"cpu", "100m"}}},
                           {"readOnlyRootFilesystem", true},
                           {"labels", {{"team", "a"}}}}))
                .status,
            202);
  json s = d.status("upper");
  EXPECT_EQ(s["name"], "upper");
  EXPECT_EQ(s["namespace"], "openfaas-fn");
  EXPECT_EQ(s["envProcess"], "upper --fast");
  EXPECT_EQ(s["limits"], json({{"memory", "64Mi"}, {"cpu", "500m"}}));
  EXPECT_EQ(s["requests"], json({{"memory", "32Mi"}, {"cpu", "100m"}}));
  EXPECT_EQ(s["readOnlyRootFilesystem"], true);
  EXPECT_EQ(s["labels"], json({{"team", "a"}, {"faas_function", "upper"}}));
  // omitempty: nothing submitted, nothing shown; no internal paths.
  EXPECT_FALSE(s.contains("envVars"));
  EXPECT_FALSE(s.contains("annotations"));
  EXPECT_FALSE(s.contains("secrets"));
  EXPECT_FALSE(s.contains("storedModule"));
  const std::string created = s["createdAt"];
  EXPECT_TRUE(std::regex_match(created, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
      << created;

  // An update keeps the creation time; a restart too.
  ASSERT_EQ(d.deploy(spec("upper", "upper", {{"limits", {{"memory", "128Mi"}}}}), "PUT").status, 202);
  json updated = d.status("upper");
  EXPECT_EQ(updated["createdAt"], created);
  EXPECT_EQ(updated["limits"], json({{"memory", "128Mi"}}));
  EXPECT_FALSE(updated.contains("requests"));
  EXPECT_EQ(daemon_->stop(), 0);
  daemon_ = Daemon::start(root_ / "state");
  EXPECT_EQ(daemon_->status("upper")["createdAt"], created);
}

TEST_F(OpenFaas, FieldsItCannotHonourAreRefusedByName) {
  Daemon& d = *daemon_;
  auto refused = [&](json extra, const std::string& field) {
    Reply r = d.deploy(spec("upper", "upper", extra));
    EXPECT_EQ(r.status, 400) << extra.dump();
    EXPECT_THAT(r.body, HasSubstr(field)) << extra.dump();
  };
  refused({{"constraints", {"node.platform.os == linux"}}}, "constraints");
  refused({{"namespace", "team-a"}}, "namespace");
  refused({{"gpus", 1}}, "gpus");
  refused({{"limits", {{"gpu", "1"}}}}, "limits.gpu");
  refused({{"limits", {{"cpu", "lots"}}}}, "limits.cpu");
  refused({{"limits", {{"memory", "64Mi"}}}, {"requests", {{"memory", "128Mi"}}}}, "requests.memory");
  refused({{"labels", {{"com.openfaas.scale.type", "cpu"}}}}, "com.openfaas.scale.type");
  refused({{"secrets", {"no-such-secret"}}}, "no-such-secret");
  EXPECT_EQ(d.admin("GET", "/system/functions").body, "[]");
}

TEST_F(OpenFaas, SecretsReachTheFunctionsThatNameThemReadOnly) {
  Daemon& d = *daemon_;
  Reply created = d.admin("POST", "/system/secrets", R"({"name": "db-pass", "value": "hunter2"})");
  EXPECT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(d.admin("POST", "/system/secrets", R"({"name": "db-pass", "value": "x"})").status, 409);
  EXPECT_EQ(d.admin("POST", "/system/secrets", R"({"name": "raw", "rawValue": "AAEC/w=="})").status, 201);
  EXPECT_EQ(d.admin("POST", "/system/secrets", R"({"name": "Bad_Name", "value": "x"})").status, 400);
  EXPECT_EQ(d.admin("POST", "/system/secrets", R"({"name": "both", "value": "x", "rawValue": "eQ=="})").status, 201);
  EXPECT_EQ(d.admin("POST", "/system/secrets", R"({"name": "neither"})").status, 400);
  EXPECT_EQ(d.admin("PUT", "/system/secrets", R"({"name": "nope", "value": "x"})").status, 404);
  Reply list = d.admin("GET", "/system/secrets");
  EXPECT_EQ(json::parse(list.body), json::parse(R"([{"name": "both", "namespace": "openfaas-fn"},
                                                    {"name": "db-pass", "namespace": "openfaas-fn"},
                                                    {"name": "raw", "namespace": "openfaas-fn"}])"));
  EXPECT_THAT(list.body, Not(HasSubstr("hunter2")));
  struct stat st {};
  ASSERT_EQ(::stat((root_ / "state" / "secrets" / "db-pass").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(readText(root_ / "state" / "secrets" / "raw"), std::string("\x00\x01\x02\xff", 4));
  EXPECT_EQ(readText(root_ / "state" / "secrets" / "both"), "y");  // faas-cli --from-file sends both

  ASSERT_EQ(d.deploy(spec("sr", "secret-reader", {{"secrets", {"db-pass"}}})).status, 202);
  Reply read = d.invoke("sr", "db-pass");
  EXPECT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(read.body, "hunter2");
  // Only what it names, and never for writing.
  EXPECT_EQ(d.invoke("sr", "raw").status, 500);
  Reply logs = d.admin("GET", "/system/logs?name=sr");
  EXPECT_THAT(logs.body, HasSubstr("db-pass is read-only"));
  EXPECT_THAT(logs.body, Not(HasSubstr("writable")));

  // An update reaches the running function; a secret in use stays.
  EXPECT_EQ(d.admin("PUT", "/system/secrets", R"({"name": "db-pass", "value": "correct horse"})").status, 200);
  EXPECT_EQ(d.invoke("sr", "db-pass").body, "correct horse");
  Reply in_use = d.admin("DELETE", "/system/secrets", R"({"name": "db-pass"})");
  EXPECT_EQ(in_use.status, 409);
  EXPECT_THAT(in_use.body, HasSubstr("sr"));

  // Secrets and the functions that use them survive a restart.
  EXPECT_EQ(daemon_->stop(), 0);
  daemon_ = Daemon::start(root_ / "state");
  Daemon& again = *daemon_;
  EXPECT_EQ(again.invoke("sr", "db-pass").body, "correct horse");
  EXPECT_EQ(again.admin("DELETE", "/system/functions", R"({"functionName": "sr"})").status, 202);
  EXPECT_EQ(again.admin("DELETE", "/system/secrets", R"({"name": "db-pass"})").status, 200);
  EXPECT_EQ(again.admin("DELETE", "/system/secrets", R"({"name": "db-pass"})").status, 404);
  EXPECT_FALSE(fs::exists(root_ / "state" / "secret-views" / "sr"));
  EXPECT_EQ(json::parse(again.admin("GET", "/system/secrets").body).size(), 2u);
}

// A secret's name is checked on delete as on create: a name that walks out of
// secrets/ (or an absolute one) deletes nothing, neither in the state dir nor
// anywhere else the daemon can write.
TEST_F(OpenFaas, DeletingASecretNeverReachesOutsideTheSecretsDir) {
  Daemon& d = *daemon_;
  const fs::path victim = root_ / "victim";
  cwasi::testing::writeText(victim, "keep me");
  ASSERT_EQ(d.deploy(spec("kept", "echo")).status, 202);
  const fs::path token = root_ / "state" / "token";
  const fs::path record = root_ / "state" / "functions" / "kept.json";
  ASSERT_TRUE(fs::exists(token));
  ASSERT_TRUE(fs::exists(record));
  const std::vector<std::string> names = {"../token", "../functions/kept.json", "../../victim",
                                          victim.string(), "..", ".", "a/../../token"};
  for (const std::string& name : names) {
    Reply body = d.admin("DELETE", "/system/secrets", json{{"name", name}}.dump());
    EXPECT_EQ(body.status, 400) << name << ": " << body.body;
    EXPECT_THAT(body.body, HasSubstr("invalid secret name")) << name;
    Reply query = d.admin("DELETE", "/system/secrets?name=" + name);
    EXPECT_EQ(query.status, 400) << name << ": " << query.body;
  }
  EXPECT_EQ(readText(victim), "keep me");
  EXPECT_TRUE(fs::exists(token));
  EXPECT_TRUE(fs::exists(record));
  EXPECT_EQ(d.invoke("kept", "still here").body, "still here");
}

class OpenFaasLogs : public DaemonTest {
  std::vector<std::string> extraFlags() override {
    return {"--log-follow-timeout-ms", "1500", "--max-log-follows", "1"};
  }
};

TEST_F(OpenFaasLogs, TailSinceAndFollowAsFaasCliAsksForThem) {
  Daemon& d = *daemon_;
  ASSERT_EQ(d.deploy(spec("upper", "upper")).status, 202);
  for (const char* body : {"a", "bb", "ccc"}) ASSERT_EQ(d.invoke("upper", body).status, 200);

  auto lines = [&](const std::string& query) {
    Reply r = d.admin("GET", "/system/logs?name=upper" + query);
    EXPECT_EQ(r.status, 200) << query << ": " << r.body;
    return ndjson(r.body);
  };
  auto all = lines("&tail=-1");
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0]["text"], "upper: 1 bytes");
  EXPECT_EQ(all[0]["name"], "upper");
  EXPECT_EQ(all[0]["namespace"], "openfaas-fn");
  EXPECT_EQ(lines("&tail=0").size(), 3u);
  auto last = lines("&tail=1");
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0]["text"], "upper: 3 bytes");
  EXPECT_EQ(lines("&since=2199-01-01T00:00:00Z").size(), 0u);
  EXPECT_EQ(d.admin("GET", "/system/logs?name=upper&since=2999-01-01T00:00:00Z").status, 400);
  EXPECT_EQ(lines("&since=2000-01-01T01:00:00%2B01:00").size(), 3u);
  EXPECT_EQ(d.admin("GET", "/system/logs?name=upper&since=yesterday").status, 400);
  EXPECT_EQ(d.admin("GET", "/system/logs?name=upper&tail=many").status, 400);
  EXPECT_EQ(d.admin("GET", "/system/logs?name=nobody").status, 404);

  // Follow: what was there, then what comes, until the follow timeout.
  Reply followed;
  std::thread follower([&] { followed = d.admin("GET", "/system/logs?name=upper&tail=1&follow=true"); });
  std::this_thread::sleep_for(300ms);
  Reply busy = d.admin("GET", "/system/logs?name=upper&follow=true");
  EXPECT_EQ(busy.status, 429);  // one follow at a time here
  ASSERT_EQ(d.invoke("upper", "dddd").status, 200);
  follower.join();
  EXPECT_EQ(followed.status, 200);
  EXPECT_THAT(followed.headers, HasSubstr("application/x-ndjson"));
  auto got = ndjson(followed.body);
  ASSERT_EQ(got.size(), 2u) << followed.body;
  EXPECT_EQ(got[0]["text"], "upper: 3 bytes");
  EXPECT_EQ(got[1]["text"], "upper: 4 bytes");

  // A client that leaves gives its follow back at once.
  SubprocessOptions o;
  o.argv = {"curl", "-s", "--max-time", "0.3", "-H", "Authorization: Bearer " + d.token,
            d.url_with("/system/logs?name=upper&follow=true")};
  o.timeout = 10s;
  ASSERT_TRUE(runSubprocess(o).ok());
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(d.admin("GET", "/system/logs?name=upper&follow=true&tail=1").status, 200);
}

class OpenFaasUser : public DaemonTest {
  std::vector<std::string> extraFlags() override { return {"--admin-user", "ops"}; }
};

TEST_F(OpenFaasUser, BasicAuthChecksTheUserNameToo) {
  Daemon& d = *daemon_;
  EXPECT_EQ(curl({"-u", "ops:" + d.token, d.url_with("/system/functions")}).status, 200);
  EXPECT_EQ(curl({"-u", "admin:" + d.token, d.url_with("/system/functions")}).status, 401);
  EXPECT_EQ(curl({"-u", "ops:wrong", d.url_with("/system/functions")}).status, 401);
}

TEST_F(OpenFaas, InfoNamesTheVersionAndTheCommit) {
  json info = json::parse(daemon_->admin("GET", "/system/info").body);
  EXPECT_EQ(info["provider"]["provider"], "cwasid");
  EXPECT_EQ(info["version"]["release"], CWASI_VERSION);
  const std::string sha = info["version"]["sha"];
  EXPECT_TRUE(std::regex_match(sha, std::regex("[0-9a-f]{40}(-dirty)?"))) << sha;
  EXPECT_EQ(info["provider"]["version"]["sha"], sha);
}

}  // namespace
}  // namespace cwasi::node

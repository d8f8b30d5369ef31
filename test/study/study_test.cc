// The study's nine functions (functions/study, Rust): each one's answer,
// small request and default, checked against values computed here on our
// own — through `cwasi run` for the Wasm build, and the native build's
// stdin and HTTP (--listen) modes giving the same bytes.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <tuple>

#include "cwasi/common/subprocess.h"
#include "support/wasi_test.h"
#include "testbed/child_process.h"

namespace cwasi::study {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using testing::TempDir;

// The generator of functions/study/src/lib.rs.
struct SplitMix64 {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double nextDouble() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  void fill(uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; i += 8) {
      uint64_t w = next();
      for (size_t k = 0; k < 8 && i + k < n; ++k) p[i + k] = static_cast<uint8_t>(w >> (8 * k));
    }
  }
};

uint64_t fnv1a64(const std::vector<uint8_t>& b) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint8_t c : b) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

std::string hex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) s += {d[p[i] >> 4], d[p[i] & 15]};
  return s;
}

std::string nativePath(const std::string& name) {
  return (std::filesystem::path(CWASI_FUNCTIONS_DIR) / "native" / ("study-" + name)).string();
}

struct Answer {
  int exit_code = -1;
  std::string out;
  json body;
};

Answer parse(const SubprocessResult& r) {
  Answer a{r.exit_code, r.out, json()};
  a.body = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(a.body.is_discarded()) << "not JSON: " << r.out << r.err;
  return a;
}

class Study : public ::testing::Test {
 protected:
  // `cwasi run study-NAME.wasm` with the request on stdin.
  Answer wasm(const std::string& name, const std::string& request) {
    std::vector<std::string> argv = {testing::binPath("cwasi").string(), "run",
                                     testing::functionPath("study-" + name).string()};
    auto r = runSubprocess({.argv = argv,
                            .input = request,
                            .env = {{"CWASI_CACHE_DIR", cache_.path().string()}},
                            .timeout = std::chrono::seconds(120)});
    EXPECT_TRUE(r.ok());
    EXPECT_FALSE(r->timed_out);
    return parse(*r);
  }
  // The native binary in stdin mode.
  static Answer native(const std::string& name, const std::string& request,
                       std::vector<std::pair<std::string, std::string>> env = {}) {
    auto r = runSubprocess({.argv = {nativePath(name)}, .input = request, .env = std::move(env),
                            .timeout = std::chrono::seconds(120)});
    EXPECT_TRUE(r.ok());
    return parse(*r);
  }
  TempDir cache_;
};

// ---- prime-numbers ----

TEST_F(Study, PrimeNumbersAreThePrimesUpToN) {
  auto small = wasm("prime-numbers", R"({"n": 30})");
  EXPECT_EQ(small.exit_code, 0);
  EXPECT_EQ(small.body["primes"], json({2, 3, 5, 7, 11, 13, 17, 19, 23, 29}));
  auto def = wasm("prime-numbers", "");
  EXPECT_EQ(def.body["n"], 100);
  EXPECT_EQ(def.body["count"], 25);
  EXPECT_EQ(def.body["primes"], json({2,  3,  5,  7,  11, 13, 17, 19, 23, 29, 31, 37, 41,
                                      43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97}));
}

// ---- matmul ----

json matmulChecksums(int n, uint64_t seed) {
  SplitMix64 r{seed};
  std::vector<double> a(n * n), b(n * n), c(n * n);
  for (auto& x : a) x = r.nextDouble();
  for (auto& x : b) x = r.nextDouble();
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      double s = 0;
      for (int k = 0; k < n; ++k) s += a[i * n + k] * b[k * n + j];
      c[i * n + j] = s;
    }
  double sum = 0, trace = 0;
  for (double x : c) sum += x;
  for (int i = 0; i < n; ++i) trace += c[i * n + i];
  return {{"sum", sum}, {"trace", trace}, {"corner", c[(n - 1) * n]}};
}

TEST_F(Study, MatmulChecksumsEqualAnIndependentProduct) {
  for (auto [request, n, seed] : {std::tuple{std::string(R"({"n": 7, "seed": 3})"), 7, 3},
                                  std::tuple{std::string("{}"), 50, 42}}) {
    auto a = wasm("matmul", request);
    ASSERT_EQ(a.exit_code, 0) << a.out;
    json want = matmulChecksums(n, seed);
    for (const char* k : {"sum", "trace", "corner"}) {
      double got = a.body[k], expected = want[k];
      EXPECT_NEAR(got, expected, 1e-12 * std::fabs(expected)) << request << " " << k;
    }
  }
}

// ---- linear-equations ----

TEST_F(Study, LinearEquationsSolutionHasASmallResidual) {
  auto def = wasm("linear-equations", "{}");
  ASSERT_EQ(def.exit_code, 0) << def.out;
  EXPECT_EQ(def.body["n"], 128);
  EXPECT_LT(def.body["residual"].get<double>(), 1e-9);

  // A small system: the residual of the returned x on our own copy of A, b.
  const int n = 5;
  auto small = wasm("linear-equations", R"({"n": 5, "seed": 7})");
  ASSERT_EQ(small.exit_code, 0) << small.out;
  ASSERT_EQ(small.body["x"].size(), 5u);
  SplitMix64 r{7};
  std::vector<double> a(n * n), b(n);
  for (auto& v : a) v = r.nextDouble() * 2 - 1;
  for (auto& v : b) v = r.nextDouble() * 2 - 1;
  double r2 = 0;
  for (int i = 0; i < n; ++i) {
    double s = -b[i];
    for (int j = 0; j < n; ++j) s += a[i * n + j] * small.body["x"][j].get<double>();
    r2 += s * s;
  }
  EXPECT_LT(std::sqrt(r2), 1e-12);
  EXPECT_LT(small.body["residual"].get<double>(), 1e-12);
}

// ---- n-body ----

TEST_F(Study, NBodyEnergyIsTheBenchmarksGameValue) {
  auto def = wasm("n-body", "");
  ASSERT_EQ(def.exit_code, 0) << def.out;
  EXPECT_EQ(def.body["steps"], 1000);
  EXPECT_NEAR(def.body["energy_before"].get<double>(), -0.169075164, 1e-9);
  EXPECT_NEAR(def.body["energy_after"].get<double>(), -0.169087605, 1e-9);
  auto none = wasm("n-body", R"({"steps": 0})");
  EXPECT_EQ(none.body["energy_before"], none.body["energy_after"]);
}

// ---- float-operation ----

TEST_F(Study, FloatOperationSumsMatchClosedForms) {
  for (auto [request, n] : {std::pair{std::string(R"({"n": 1000})"), 1000.0},
                            std::pair{std::string(""), 1e7}}) {
    auto a = wasm("float-operation", request);
    ASSERT_EQ(a.exit_code, 0) << a.out;
    // Σ_{k<n} sin k = sin((n−1)/2)·sin(n/2)/sin(1/2), and cos likewise.
    double ratio = std::sin(n / 2) / std::sin(0.5);
    EXPECT_NEAR(a.body["sum_sin"].get<double>(), std::sin((n - 1) / 2) * ratio, 1e-6);
    EXPECT_NEAR(a.body["sum_cos"].get<double>(), std::cos((n - 1) / 2) * ratio, 1e-6);
    double sqrt_sum = 0;
    for (double k = 0; k < n; ++k) sqrt_sum += std::sqrt(k);
    EXPECT_NEAR(a.body["sum_sqrt"].get<double>(), sqrt_sum, 1e-12 * sqrt_sum);
  }
}

// ---- aes ----

TEST_F(Study, AesCiphertextIsOpenSslsAndRoundTrips) {
  for (auto [request, size, seed] :
       {std::tuple{std::string(R"({"size": 37, "iterations": 2, "seed": 9})"), 37, 9},
        std::tuple{std::string("{}"), 1000, 42}}) {
    auto a = wasm("aes", request);
    ASSERT_EQ(a.exit_code, 0) << a.out;
    SplitMix64 r{static_cast<uint64_t>(seed)};
    uint8_t key[16], iv[16];
    r.fill(key, 16);
    r.fill(iv, 16);
    std::vector<uint8_t> msg(size), ct(size);
    r.fill(msg.data(), msg.size());
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    int len = 0;
    ASSERT_EQ(EVP_EncryptInit_ex(ctx, EVP_aes_128_cfb128(), nullptr, key, iv), 1);
    ASSERT_EQ(EVP_EncryptUpdate(ctx, ct.data(), &len, msg.data(), size), 1);
    EVP_CIPHER_CTX_free(ctx);
    char want[17];
    snprintf(want, sizeof want, "%016llx", static_cast<unsigned long long>(fnv1a64(ct)));
    EXPECT_EQ(a.body["key"], hex(key, 16));
    EXPECT_EQ(a.body["iv"], hex(iv, 16));
    EXPECT_EQ(a.body["ciphertext_fnv1a64"], want) << request;
    EXPECT_EQ(a.body["ciphertext_head"], hex(ct.data(), std::min(size, 32)));
    EXPECT_EQ(a.body["round_trip"], true);
  }
}

// ---- whatlang ----

TEST_F(Study, WhatlangDetectsEachLanguage) {
  auto def = wasm("whatlang", "{}");
  ASSERT_EQ(def.exit_code, 0) << def.out;
  EXPECT_EQ(def.body["samples"], 15);
  EXPECT_EQ(def.body["correct"], 15) << def.out;
  std::set<std::string> languages;
  for (const auto& r : def.body["results"]) languages.insert(r["expected"]);
  EXPECT_EQ(languages, (std::set<std::string>{"deu", "eng", "ita", "rus", "spa"}));

  json texts = {
      "Gestern Abend sind wir mit den Kindern in die Stadt gefahren und haben dort "
      "ein sehr gutes Abendessen gegessen.",
      "Ieri sera siamo andati in città con i bambini e abbiamo mangiato una cena "
      "davvero buona in un piccolo ristorante.",
      "Ayer por la noche fuimos a la ciudad con los niños y comimos una cena muy "
      "buena en un pequeño restaurante.",
      "Вчера вечером мы поехали с детьми в город и очень вкусно поужинали в "
      "маленьком ресторане.",
      "Last night we drove into town with the children and had a very good dinner "
      "in a small restaurant."};
  auto small = wasm("whatlang", json({{"texts", texts}}).dump());
  ASSERT_EQ(small.exit_code, 0) << small.out;
  std::vector<std::string> got;
  for (const auto& r : small.body["results"]) got.push_back(r["lang"]);
  EXPECT_EQ(got, (std::vector<std::string>{"deu", "ita", "spa", "rus", "eng"}));
}

// ---- fuzzysearch ----

// Each matched position holds the pattern's next character (case aside).
void expectPositionsSpellPattern(const json& match, const std::string& pattern) {
  std::string text = match["text"];
  ASSERT_EQ(match["positions"].size(), pattern.size());
  for (size_t i = 0; i < pattern.size(); ++i) {
    size_t p = match["positions"][i];
    ASSERT_LT(p, text.size());
    EXPECT_EQ(std::tolower(text[p]), std::tolower(pattern[i])) << i;
  }
}

TEST_F(Study, FuzzysearchFindsThePhraseInTheCorpus) {
  auto def = wasm("fuzzysearch", "");
  ASSERT_EQ(def.exit_code, 0) << def.out;
  EXPECT_GT(def.body["corpus_bytes"].get<size_t>(), 2'000'000u);
  EXPECT_GT(def.body["fortunes"].get<size_t>(), 10'000u);
  ASSERT_EQ(def.body["matches"].size(), 5u);
  const json& best = def.body["matches"][0];
  EXPECT_THAT(best["text"].get<std::string>(), HasSubstr("Time flies like an arrow"));
  expectPositionsSpellPattern(best, "time flies like an arrow");
  // Contiguous: the exact phrase beats every scattered match.
  EXPECT_EQ(best["positions"].back().get<size_t>() - best["positions"][0].get<size_t>(), 23u);
  for (size_t i = 1; i < 5; ++i) EXPECT_LE(def.body["matches"][i]["score"], best["score"]);

  auto small = wasm("fuzzysearch", R"({"pattern": "fruit flies like a banana", "limit": 1})");
  ASSERT_EQ(small.body["matches"].size(), 1u);
  EXPECT_THAT(small.body["matches"][0]["text"].get<std::string>(),
              HasSubstr("Fruit flies like a banana"));
  expectPositionsSpellPattern(small.body["matches"][0], "fruit flies like a banana");
}

// ---- user-manager ----

// A stand-in for PostgREST over a `users` table: POST /users, GET
// /users?id=eq.N, GET /users?order=id.asc&limit=N, in memory.
class FakeUsersApi {
 public:
  FakeUsersApi() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), len), 0);
    EXPECT_EQ(listen(fd_, 16), 0);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeUsersApi() {
    shutdown(fd_, SHUT_RDWR);
    thread_.join();
    close(fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  void serve() {
    for (;;) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string req;
      char buf[4096];
      ssize_t n;
      size_t head_end = std::string::npos, length = 0;
      while ((n = read(c, buf, sizeof buf)) > 0) {
        req.append(buf, n);
        if (head_end == std::string::npos && (head_end = req.find("\r\n\r\n")) != std::string::npos) {
          auto p = req.find("Content-Length: ");
          if (p != std::string::npos && p < head_end) length = std::stoul(req.substr(p + 16));
        }
        if (head_end != std::string::npos && req.size() >= head_end + 4 + length) break;
      }
      auto [status, body] = answer(req.substr(0, req.find(' ')),
                                   req.substr(req.find(' ') + 1,
                                              req.find(" HTTP/") - req.find(' ') - 1),
                                   req.substr(head_end + 4));
      std::string out = "HTTP/1.1 " + std::to_string(status) +
                        " X\r\nContent-Type: application/json\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n" + body;
      (void)!write(c, out.data(), out.size());
      close(c);
    }
  }
  std::pair<int, std::string> answer(const std::string& method, const std::string& target,
                                     const std::string& body) {
    if (method == "POST" && target == "/users") {
      json u = json::parse(body);
      u["id"] = users_.size() + 1;
      users_.push_back(u);
      return {201, json::array({u}).dump()};
    }
    if (method == "GET" && target.rfind("/users?id=eq.", 0) == 0) {
      size_t id = std::stoul(target.substr(13));
      return {200, (id >= 1 && id <= users_.size() ? json::array({users_[id - 1]})
                                                   : json::array()).dump()};
    }
    if (method == "GET" && target.rfind("/users?order=id.asc&limit=", 0) == 0) {
      return {200, json(users_).dump()};
    }
    return {404, R"({"message":"no route"})"};
  }

  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::vector<json> users_;  // only the server thread touches it
};

TEST_F(Study, UserManagerValidatesRequestsBeforeAnyCall) {
  for (const char* request : {R"({"action": "create", "name": "", "email": "a@b"})",
                              R"({"action": "create", "name": "Ada", "email": "nobody"})",
                              R"({"action": "get"})", R"({"action": "drop"})"}) {
    auto a = wasm("user-manager", request);
    EXPECT_EQ(a.exit_code, 1) << request;
    EXPECT_TRUE(a.body.contains("error")) << request;
    EXPECT_EQ(native("user-manager", request).out, a.out) << request;
  }
}

// `cwasi run` without --allow-outbound: the host refuses the API's address
// (users_test.cc runs it granted, against PostgreSQL).
TEST_F(Study, UserManagerInWasmWithoutAGrantSaysTheDestinationWasDenied) {
  auto a = wasm("user-manager", "{}");
  EXPECT_EQ(a.exit_code, 1);
  EXPECT_THAT(a.body["error"].get<std::string>(),
              HasSubstr("http://127.0.0.1:3000/users?order=id.asc&limit=100: the destination was denied"));
}

TEST_F(Study, UserManagerNativeCreatesGetsAndListsThroughTheRestApi) {
  FakeUsersApi api;
  std::vector<std::pair<std::string, std::string>> env = {{"USERS_API_URL", api.url()}};
  auto created = native("user-manager",
                        R"({"action": "create", "name": "Ada", "email": "ada@example.org"})", env);
  ASSERT_EQ(created.exit_code, 0) << created.out;
  EXPECT_EQ(created.body["user"], json({{"id", 1}, {"name", "Ada"}, {"email", "ada@example.org"}}));
  native("user-manager", R"({"action": "create", "name": "Grace", "email": "grace@example.org"})",
         env);
  auto got = native("user-manager", R"({"action": "get", "id": 2})", env);
  EXPECT_EQ(got.body["user"]["name"], "Grace");
  auto missing = native("user-manager", R"({"action": "get", "id": 9})", env);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.body["error"].get<std::string>(), HasSubstr("no user 9"));
  auto list = native("user-manager", "{}", env);
  EXPECT_EQ(list.body["count"], 2);
}

// ---- native: stdin and HTTP modes give the same bytes ----

struct Case {
  std::string name, request;
  int status = 200;  // 400: the request is refused, the same way in both modes
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.name << " " << c.request; }

class StudyNative : public ::testing::TestWithParam<Case> {};

// POST `body` to `url` with curl: (HTTP status, body).
std::pair<int, std::string> curl(const std::string& method, const std::string& url,
                                 const std::string& body) {
  auto r = runSubprocess({.argv = {"curl", "-sS", "-X", method, "--data-binary", "@-", "-H",
                                   "Content-Type: application/json", "-w", "\n%{http_code}", url},
                          .input = body,
                          .timeout = std::chrono::seconds(120)});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0) << r->err;
  auto cut = r->out.rfind('\n');
  if (cut == std::string::npos) return {0, r->out};
  return {std::stoi(r->out.substr(cut + 1)), r->out.substr(0, cut)};
}

TEST_P(StudyNative, StdinAndHttpGiveTheSameJson) {
  const Case& c = GetParam();
  auto stdin_mode = runSubprocess({.argv = {nativePath(c.name)}, .input = c.request});
  ASSERT_TRUE(stdin_mode.ok());
  ASSERT_EQ(stdin_mode->exit_code, c.status == 200 ? 0 : 1) << stdin_mode->out << stdin_mode->err;

  // Port 0: the server prints the one it bound.
  auto server = testbed::ChildProcess::start({nativePath(c.name), "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(server.ok()) << server.error().message();
  auto line = server->readLine(std::chrono::seconds(10));
  ASSERT_TRUE(line && line->rfind("listening on ", 0) == 0) << line.value_or("(none)");
  std::string base = "http://" + line->substr(13);

  auto [health, health_body] = curl("GET", base + "/_/health", "");
  EXPECT_EQ(health, 200);
  auto [status, body] = curl("POST", base + "/", c.request);
  EXPECT_EQ(status, c.status);
  EXPECT_EQ(body, stdin_mode->out);
  auto [bad_status, bad_body] = curl("POST", base + "/", "[");
  EXPECT_EQ(bad_status, 400);
  EXPECT_THAT(bad_body, HasSubstr("\"error\""));
  server->stop();
}

INSTANTIATE_TEST_SUITE_P(
    Functions, StudyNative,
    ::testing::Values(Case{"aes", R"({"size": 64, "iterations": 3})"},
                      Case{"float-operation", R"({"n": 100000})"},
                      Case{"linear-equations", R"({"n": 16, "seed": 5})"},
                      Case{"matmul", "{}"}, Case{"fuzzysearch", R"({"pattern": "grok"})"},
                      Case{"n-body", "{}"}, Case{"prime-numbers", R"({"n": 1000})"},
                      Case{"whatlang", "{}"},
                      Case{"user-manager", R"({"action": "get", "id": 0})", 400}),
    [](const auto& info) {
      std::string n = info.param.name;
      std::replace(n.begin(), n.end(), '-', '_');
      return n;
    });

}  // namespace
}  // namespace cwasi::study

// `cwasi` driven as a user would: a real process, real stdio, exit codes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "cwasi/cli/cli.h"
#include "cwasi/common/subprocess.h"
#include "support/wasi_test.h"
#include "support/web_server.h"

namespace cwasi::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using testing::functionPath;
using testing::TempDir;

class Cli : public ::testing::Test {
 protected:
  // Runs `cwasi ARGS` with a private cache dir, and `env` on top.
  SubprocessResult cwasi(std::vector<std::string> args, std::string input = "",
                         std::vector<std::pair<std::string, std::string>> env = {}) {
    std::vector<std::string> argv = {testing::binPath("cwasi").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    env.emplace_back("CWASI_CACHE_DIR", cache_.path().string());
    auto r = runSubprocess({.argv = argv,
                            .input = std::move(input),
                            .env = std::move(env),
                            .timeout = std::chrono::seconds(60)});
    EXPECT_TRUE(r.ok());
    EXPECT_FALSE(r->timed_out) << "cwasi did not finish";
    return r.ok() ? *r : SubprocessResult{};
  }

  static SubprocessResult node(std::vector<std::string> args, std::string input = "") {
    std::vector<std::string> argv = {"node", "--no-warnings",
                                     testing::sourcePath("test/support/node_wasi.cjs").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = runSubprocess({.argv = argv, .input = std::move(input)});
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : SubprocessResult{};
  }

  static std::string fn(const std::string& name) { return functionPath(name).string(); }

  size_t cacheEntries() {
    fs::path dir = cache_.path() / "modules";
    if (!fs::exists(dir)) return 0;
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir)) n += e.path().extension() == ".cwasm";
    return n;
  }

  TempDir cache_;
};

TEST_F(Cli, RunsHello) {
  auto r = cwasi({"run", fn("hello")});
  EXPECT_EQ(r.out, "Hello from cwasi!\n");
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.exit_code, 0);
}

// `fetch` prints "<cwasi status> <HTTP status>\n<headers>\n<body>".
TEST_F(Cli, RunReachesOnlyWhatAllowOutboundGrants) {
  testing::WebServer server([](const testing::SeenRequest& r) { return testing::reply(200, "hi " + r.target); });
  ASSERT_TRUE(server.ok()) << server.error();
  auto denied = cwasi({"run", fn("fetch")}, server.url("/x"));
  EXPECT_EQ(denied.exit_code, 0) << denied.err;
  EXPECT_THAT(denied.out, ::testing::StartsWith("9 0\n"));
  EXPECT_EQ(server.connections(), 0);
  auto other = cwasi({"run", "--allow-outbound", "http://127.0.0.1:1", fn("fetch")}, server.url("/x"));
  EXPECT_THAT(other.out, ::testing::StartsWith("9 0\n"));
  EXPECT_EQ(server.connections(), 0);
  auto r = cwasi({"run", "--allow-outbound", "http://example.com", "--allow-outbound", server.url(),
                  fn("fetch")},
                 server.url("/x"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "0 200\nContent-Length: 5\n\nhi /x");
  auto bad = cwasi({"run", "--allow-outbound", "http://a/b", fn("fetch")});
  EXPECT_EQ(bad.exit_code, kExitUsage);
  EXPECT_THAT(bad.err, HasSubstr("'http://a/b'"));
}

TEST_F(Cli, EachSubcommandPrintsItsOwnUsage) {
  for (const char* c : {"run", "compile", "inspect", "serve", "call", "daemon", "image", "deploy",
                        "invoke", "ls", "rm", "scale", "logs", "workflow", "version"}) {
    auto r = cwasi({c, "--help"});
    EXPECT_EQ(r.exit_code, 0) << c << ": " << r.err;
    EXPECT_EQ(r.out.rfind(std::string("usage: cwasi ") + c, 0), 0u) << c << ": " << r.out;
  }
  auto later = cwasi({"serve", "--function", "x=y.wasm", "-h"});
  EXPECT_EQ(later.exit_code, 0);
  EXPECT_THAT(later.out, HasSubstr("--mode-policy"));
  // After run's module, --help is the guest's argument.
  auto guest = cwasi({"run", fn("env-args"), "--help"});
  EXPECT_EQ(guest.exit_code, 0);
  EXPECT_THAT(guest.out, HasSubstr("--help"));
  EXPECT_THAT(guest.out, Not(HasSubstr("usage:")));
  auto unknown = cwasi({"serve", "--bogus"});
  EXPECT_EQ(unknown.exit_code, 125);
}

TEST_F(Cli, PassesStdinArgsEnvAndExitCode) {
  auto wc = cwasi({"run", fn("wc")}, "a b c\nd\n");
  EXPECT_EQ(wc.out, "2 4 8\n");
  auto ea = cwasi({"run", "--env", "EXIT_CODE=3", "--env", "X=y z", fn("env-args"), "--flag", "p"});
  EXPECT_EQ(ea.out, "arg[0]=" + fn("env-args") + "\narg[1]=--flag\narg[2]=p\nenv EXIT_CODE=3\nenv X=y z\n");
  EXPECT_EQ(ea.exit_code, 3);
}

TEST_F(Cli, RunsAReactorFromStdinToStdout) {
  auto r = cwasi({"run", fn("echo")}, "request body");
  EXPECT_EQ(r.out, "request body");
  EXPECT_EQ(r.exit_code, 0);
}

TEST_F(Cli, GrantsDirectoriesExplicitly) {
  TempDir dir;
  testing::writeText(dir / "f.txt", "file text");
  auto granted = cwasi({"run", "--dir-ro", dir.path().string() + "::/in", fn("cat-file"), "/in/f.txt"});
  EXPECT_EQ(granted.out, "file text");
  EXPECT_EQ(granted.exit_code, 0);
  auto not_granted = cwasi({"run", fn("cat-file"), (dir / "f.txt").string()});
  EXPECT_EQ(not_granted.out, "");
  EXPECT_EQ(not_granted.exit_code, 1);
  EXPECT_THAT(not_granted.err, HasSubstr("cat-file: " + (dir / "f.txt").string()));
  auto missing = cwasi({"run", "--dir", "/nonexistent/x::/in", fn("cat-file"), "/in/f"});
  EXPECT_EQ(missing.exit_code, kExitCannotRun);
  EXPECT_THAT(missing.err, HasSubstr("cannot grant directory /nonexistent/x"));
}

// Node's WASI is an independent implementation: the same module must print
// the same thing under both.
TEST_F(Cli, MatchesNodeWasiOutput) {
  TempDir dir;
  testing::writeText(dir / "f.txt", "line one\nline two\n");
  struct Case {
    std::vector<std::string> cwasi_args, node_args;
    std::string input;
  };
  std::vector<Case> cases = {
      {{fn("hello")}, {fn("hello")}, ""},
      {{fn("wc")}, {fn("wc")}, "the quick brown fox\njumps over\n\nthe lazy dog"},
      {{"--env", "A=1", fn("env-args"), "x", "y z"}, {"--env", "A=1", fn("env-args"), "x", "y z"}, ""},
      {{"--dir", dir.path().string() + "::/d", fn("cat-file"), "/d/f.txt"},
       {"--dir", dir.path().string() + "::/d", fn("cat-file"), "/d/f.txt"}, ""},
      {{fn("regex-grep"), "line|fox"}, {fn("regex-grep"), "line|fox"}, "line one\nno\nfox\n"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> a = {"run"};
    a.insert(a.end(), c.cwasi_args.begin(), c.cwasi_args.end());
    auto ours = cwasi(a, c.input);
    auto ref = node(c.node_args, c.input);
    EXPECT_EQ(ours.out, ref.out) << c.cwasi_args.front();
    EXPECT_EQ(ours.exit_code, ref.exit_code) << c.cwasi_args.front();
    EXPECT_FALSE(ours.out.empty());
  }
}

TEST_F(Cli, MisbehavingModulesEndWithTheirDocumentedErrors) {
  struct Case {
    std::string fn;
    std::vector<std::string> flags;
    int code;
    std::string message;
  };
  std::vector<Case> cases = {
      {"loop", {"--timeout-ms", "200"}, kExitTimeout, "timed out after 200 ms in function '"},
      {"memory-bomb", {"--memory-mb", "32"}, kExitResourceLimit,
       "memory limit of 32 MiB exceeded in function '"},
      {"loop", {"--fuel", "500000"}, kExitResourceLimit, "fuel exhausted (500000 units)"},
      {"stack-overflow", {}, kExitTrap, "trap: stack overflow in function 'recurse'"},
      {"out-of-bounds", {}, kExitTrap,
       "trap: out of bounds memory access in function 'write_out_of_bounds'"},
      {"unreachable", {}, kExitTrap,
       "trap: unreachable instruction executed (abort) in function 'reach_unreachable'"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> a = {"run"};
    a.insert(a.end(), c.flags.begin(), c.flags.end());
    a.push_back(fn(c.fn));
    auto r = cwasi(a);
    EXPECT_EQ(r.exit_code, c.code) << c.fn << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr(c.message)) << c.fn;
    // One line naming the cause.
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

TEST_F(Cli, BadModulesGiveClearErrors) {
  TempDir dir;
  testing::writeText(dir / "garbage.wasm", "definitely not wasm");
  std::string hello = testing::readText(functionPath("hello"));
  testing::writeText(dir / "truncated.wasm", hello.substr(0, hello.size() / 3));
  testing::writeText(dir / "import.wat",
                     R"((module (import "env" "mystery" (func)) (func (export "_start") call 0)))");

  auto garbage = cwasi({"run", (dir / "garbage.wasm").string()});
  EXPECT_EQ(garbage.exit_code, kExitCannotRun);
  EXPECT_THAT(garbage.err, HasSubstr("garbage.wasm is not a WebAssembly module"));

  auto truncated = cwasi({"run", (dir / "truncated.wasm").string()});
  EXPECT_EQ(truncated.exit_code, kExitCannotRun);
  EXPECT_THAT(truncated.err, HasSubstr("truncated.wasm is not a valid module"));

  auto import = cwasi({"run", (dir / "import.wat").string()});
  EXPECT_EQ(import.exit_code, kExitCannotRun);
  EXPECT_THAT(import.err, HasSubstr("env::mystery"));

  auto missing = cwasi({"run", (dir / "missing.wasm").string()});
  EXPECT_EQ(missing.exit_code, kExitNotFound);
  EXPECT_THAT(missing.err, HasSubstr("missing.wasm"));

  auto dir_as_module = cwasi({"run", dir.path().string()});
  EXPECT_EQ(dir_as_module.exit_code, kExitCannotRun);
  EXPECT_THAT(dir_as_module.err, HasSubstr("is a directory"));

  for (const auto& r : {garbage, truncated, import, missing, dir_as_module}) {
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

TEST_F(Cli, UsageErrors) {
  EXPECT_EQ(cwasi({}).exit_code, kExitUsage);
  EXPECT_EQ(cwasi({"frobnicate"}).exit_code, kExitUsage);
  auto bad_flag = cwasi({"run", "--nope", fn("hello")});
  EXPECT_EQ(bad_flag.exit_code, kExitUsage);
  EXPECT_THAT(bad_flag.err, HasSubstr("unknown option --nope"));
  auto bad_number = cwasi({"run", "--timeout-ms", "soon", fn("hello")});
  EXPECT_EQ(bad_number.exit_code, kExitUsage);
  EXPECT_THAT(bad_number.err, HasSubstr("--timeout-ms: expects a non-negative number, got 'soon'"));
  EXPECT_EQ(cwasi({"run"}).exit_code, kExitUsage);
  EXPECT_EQ(cwasi({"--help"}).exit_code, 0);
}

// One policy for numbers out of range, whatever the flag: refused, naming
// the range (--handler-threads 5000 used to become 1024 without a word).
TEST_F(Cli, NumbersOutOfRangeAreRefusedNamingTheRange) {
  const std::vector<std::vector<std::string>> cases = {
      {"run", "--memory-mb", "0", fn("hello")},
      {"run", "--memory-mb", "9999", fn("hello")},
      {"serve", "--ring-kb", "2"},
      {"daemon", "--handler-threads", "5000"},
      {"daemon", "--async-workers", "0"},
      {"daemon", "--max-instances", "20000"},
      {"daemon", "--function-thread-share", "101"},
  };
  for (const auto& args : cases) {
    auto r = cwasi(args);
    EXPECT_EQ(r.exit_code, kExitUsage) << args[1];
    EXPECT_THAT(r.err, HasSubstr(args[1] + ": must be ")) << r.err;
    EXPECT_THAT(r.err, HasSubstr(", got " + args[2])) << r.err;
  }
}

// The range is named, whatever the flag's unit; a number is whole and
// decimal (no sign, no hex, no octal), and a size is at least its floor.
TEST_F(Cli, EachNumericFlagNamesItsRange) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"daemon", "--max-body-mb", "5000"}, "--max-body-mb: must be 1..4096, got 5000"},
      {{"daemon", "--header-timeout-ms", "0"}, "--header-timeout-ms: must be at least 1, got 0"},
      {{"daemon", "--handler-threads", "0x10"},
       "--handler-threads: expects a non-negative number, got '0x10'"},
      {{"daemon", "--max-inflight-bytes", "1Ki"}, "--max-inflight-bytes: must be at least 64Ki, got 1Ki"},
      {{"call", "--ring-kb", "0", "echo"}, "--ring-kb: must be 4..1048576, got 0"},
      {{"serve", "--max-outbound-requests", "100001"},
       "--max-outbound-requests: must be 1..100000, got 100001"},
      {{"run", "--fuel", "-1", fn("hello")}, "--fuel: expects a non-negative number, got '-1'"},
      {{"logs", "x", "--tail", "many"}, "--tail: expects a non-negative number, got 'many'"},
  };
  for (const auto& c : cases) {
    auto r = cwasi(c.args);
    EXPECT_EQ(r.exit_code, kExitUsage) << c.args[1];
    EXPECT_THAT(r.err, HasSubstr(c.message));
    EXPECT_THAT(r.err, HasSubstr("(see cwasi " + c.args[0] + " --help)"));
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  // Leading zeros are decimal, not octal: 010 MiB is ten, enough for hello.
  EXPECT_EQ(cwasi({"run", "--memory-mb", "010", fn("hello")}).exit_code, 0);
  // A number inside a composite value follows the same policy.
  auto in_spec = cwasi({"serve", "--function", "x=" + fn("hello") + ",memory-mb=99999"});
  EXPECT_EQ(in_spec.exit_code, kExitUsage);
  EXPECT_THAT(in_spec.err, HasSubstr("--function memory-mb must be 1..4096, got 99999"));
}

// Every flag of every command is in its --help, with the default it takes
// when not given (the flags without one default to nothing).
TEST_F(Cli, HelpListsEveryFlagWithItsDefault) {
  struct Flag {
    std::string name, default_value;  // "": none shown; "*": one that depends on the machine
  };
  const std::vector<Flag> kHost = {
      {"--runtime-dir", ""}, {"--cluster", ""}, {"--mode-policy", "auto"}, {"--redis", ""},
      {"--token", ""}, {"--ring-kb", "4096"}, {"--peer-idle-timeout-ms", "120000"},
      {"--handshake-timeout-ms", "2000"}, {"--max-outbound-response-mb", "16"},
      {"--max-outbound-requests", "64"}};
  const std::vector<Flag> kClient = {{"--gateway", "http://127.0.0.1:8080"}, {"--admin-token", ""}};
  auto with = [](std::vector<Flag> a, const std::vector<Flag>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  const std::vector<std::pair<std::vector<std::string>, std::vector<Flag>>> commands = {
      {{"run"},
       {{"--dir", ""}, {"--dir-ro", ""}, {"--env", ""}, {"--timeout-ms", ""}, {"--memory-mb", ""},
        {"--fuel", ""}, {"--no-cache", ""}, {"--allow-precompiled", ""}, {"--allow-outbound", ""}}},
      {{"compile"}, {{"--output", ""}, {"--fuel", ""}}},
      {{"inspect"}, {}},
      {{"serve"},
       with({{"--function", ""}, {"--drain-timeout-ms", "10000"}, {"--listen", ""},
             {"--max-connections", "256"}, {"--max-inflight-bytes", "1Gi"},
             {"--max-handshakes", "16"}},
            kHost)},
      {{"call"}, with({{"--timeout-ms", "30000"}}, kHost)},
      {{"daemon"},
       {{"--gateway", "127.0.0.1:8080"}, {"--state-dir", "/state/of/cwasid"},
        {"--admin-token", ""}, {"--admin-user", "admin"}, {"--max-log-follows", "64"},
        {"--log-follow-timeout-ms", "1800000"}, {"--max-body-mb", "16"},
        {"--max-connections", "10000"}, {"--max-inflight-bytes", "256Mi"},
        {"--first-byte-timeout-ms", "5000"}, {"--header-timeout-ms", "15000"},
        {"--body-timeout-ms", "15000"},
        {"--keepalive-timeout-ms", "60000"}, {"--handler-threads", "32"},
        {"--function-thread-share", "50"}, {"--drain-timeout-ms", "10000"},
        {"--timeout-ms", "30000"}, {"--scale-interval-ms", "1000"},
        {"--stable-window-ms", "30000"}, {"--async-workers", "4"}, {"--async-queue", "1000"},
        {"--async-queue-bytes", "256Mi"}, {"--max-instances", "512"},
        {"--max-instance-memory", "*"}, {"--default-memory-limit", "128Mi"},
        {"--registry-config", ""}, {"--pull-timeout-ms", "120000"},
        {"--runtime-dir", "/run/of/cwasi"}, {"--listen", ""}, {"--cluster", ""},
        {"--mode-policy", "auto"}, {"--redis", ""}, {"--token", ""}, {"--ring-kb", "4096"},
        {"--peer-idle-timeout-ms", "120000"}, {"--handshake-timeout-ms", "2000"},
        {"--max-outbound-response-mb", "16"},
        {"--max-outbound-requests", "64"}}},
      {{"image", "build"},
       {{"--tag", "cwasi/function:latest"}, {"--output", ""}, {"--artifact", ""},
        {"--annotation", ""}}},
      {{"image", "push"}, {{"--plain-http", ""}, {"--registry-config", ""}}},
      {{"image", "pull"}, {{"--output", ""}, {"--plain-http", ""}, {"--registry-config", ""}}},
      {{"deploy"},
       with({{"--file", ""}, {"--env", ""}, {"--label", ""}, {"--annotation", ""}, {"--memory", ""},
             {"--timeout", ""}, {"--scale-to-zero-after", "15m"}, {"--trust-domain", "default"},
             {"--min-scale", "1"}, {"--max-scale", "20"}, {"--target", "10"}, {"--max-inflight", ""},
             {"--private", ""}},
            kClient)},
      {{"invoke"},
       with({{"--async", ""}, {"--callback", ""}, {"--query", ""}, {"--method", "POST"},
             {"--header", ""}},
            kClient)},
      {{"ls"}, with({{"--json", ""}}, kClient)},
      {{"rm"}, kClient},
      {{"scale"}, with({{"--replicas", ""}}, kClient)},
      {{"logs"}, with({{"--tail", "100"}}, kClient)},
      {{"workflow", "deploy"}, kClient},
      {{"workflow", "invoke"}, kClient},
      {{"workflow", "ls"}, kClient},
      {{"workflow", "rm"}, kClient},
  };
  for (const auto& [command, flags] : commands) {
    std::vector<std::string> args = command;
    args.push_back("--help");
    auto r = cwasi(args, "",
                   {{"CWASI_STATE_DIR", "/state/of/cwasid"}, {"CWASI_RUNTIME_DIR", "/run/of/cwasi"},
                    {"CWASI_GATEWAY", ""}});
    const std::string name = ::testing::PrintToString(command);
    ASSERT_EQ(r.exit_code, 0) << name << ": " << r.err;
    for (const Flag& f : flags) {
      // The flag's own line: "  --flag TYPE (..., default X)" or "  -o,--flag ...".
      std::string line;
      for (size_t at = r.out.find(f.name); at != std::string::npos; at = r.out.find(f.name, at + 1)) {
        const size_t start = r.out.rfind('\n', at) + 1;
        const std::string before = r.out.substr(start, at - start);
        const char after = at + f.name.size() < r.out.size() ? r.out[at + f.name.size()] : '\n';
        if (std::regex_match(before, std::regex("  (-[A-Za-z],)?")) && (after == ' ' || after == '\n')) {
          line = r.out.substr(start, r.out.find('\n', at) - start);
          break;
        }
      }
      if (line.empty()) {
        ADD_FAILURE() << name << " --help lacks " << f.name << ":\n" << r.out;
        continue;
      }
      const bool has_default = line.find("(default ") != std::string::npos ||
                               line.find(", default ") != std::string::npos;
      EXPECT_EQ(has_default, !f.default_value.empty()) << name << ": " << line;
      if (has_default && f.default_value != "*") {
        EXPECT_THAT(line, HasSubstr("default " + f.default_value)) << name;
      }
    }
  }
  // Ranges are shown too, and an environment variable that stands in for a flag.
  auto daemon = cwasi({"daemon", "--help"});
  EXPECT_THAT(daemon.out, HasSubstr("--handler-threads N (1..1024, default 32)"));
  EXPECT_THAT(daemon.out, HasSubstr("--token TEXT (env CWASI_TOKEN)"));
  EXPECT_THAT(cwasi({"run", "--help"}).out, HasSubstr("--memory-mb N (1..4096)"));
}

TEST_F(Cli, CachesCompiledModulesAndSurvivesCorruption) {
  EXPECT_EQ(cacheEntries(), 0u);
  EXPECT_EQ(cwasi({"run", fn("hello")}).out, "Hello from cwasi!\n");
  ASSERT_EQ(cacheEntries(), 1u);
  fs::path entry;
  for (const auto& e : fs::directory_iterator(cache_.path() / "modules")) {
    if (e.path().extension() == ".cwasm") entry = e.path();
  }
  auto written = fs::last_write_time(entry);
  EXPECT_EQ(cwasi({"run", fn("hello")}).out, "Hello from cwasi!\n");
  EXPECT_EQ(fs::last_write_time(entry), written);  // a hit: not rewritten
  testing::writeText(entry, "corrupted");
  auto r = cwasi({"run", fn("hello")});
  EXPECT_EQ(r.out, "Hello from cwasi!\n");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_GT(fs::file_size(entry), 100u);  // rebuilt
  EXPECT_EQ(cwasi({"run", "--no-cache", fn("hello")}).exit_code, 0);
}

TEST_F(Cli, CompilesAheadOfTimeAndRunsTheArtifact) {
  TempDir dir;
  std::string out = (dir / "hello.cwasm").string();
  auto c = cwasi({"compile", fn("hello"), "-o", out});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_GT(fs::file_size(out), 0u);
  auto refused = cwasi({"run", out});
  EXPECT_EQ(refused.exit_code, kExitCannotRun);
  EXPECT_THAT(refused.err, HasSubstr("--allow-precompiled"));
  auto ran = cwasi({"run", "--allow-precompiled", out});
  EXPECT_EQ(ran.out, "Hello from cwasi!\n");
  EXPECT_EQ(ran.exit_code, 0);
}

TEST_F(Cli, InspectsAModule) {
  auto r = cwasi({"inspect", fn("echo")});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("kind:    reactor"));
  EXPECT_THAT(r.out, HasSubstr("func cwasi.response_set"));
  EXPECT_THAT(r.out, HasSubstr("func cwasi_handle"));
  EXPECT_THAT(r.out, MatchesRegex("(.|\n)*size:    [0-9]+ bytes(.|\n)*"));
  auto hello = cwasi({"inspect", fn("hello")});
  EXPECT_THAT(hello.out, HasSubstr("kind:    command"));
  EXPECT_THAT(hello.out, HasSubstr("wasi_snapshot_preview1.fd_write"));
}

// The Rust SDK's examples (sdk/rust/examples) run as the C ones do: the
// request on stdin, the response on stdout, a handler's Err as its status.
TEST_F(Cli, RunsRustSdkReactors) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  std::string upper = bytes;
  for (char& c : upper) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  auto up = cwasi({"run", fn("rust-upper")}, bytes);
  EXPECT_EQ(up.exit_code, 0) << up.err;
  EXPECT_TRUE(up.out == upper);
  EXPECT_EQ(up.err, "upper: 256 bytes\n");
  auto echo = cwasi({"run", fn("rust-echo")}, bytes);
  EXPECT_EQ(echo.exit_code, 0);
  EXPECT_TRUE(echo.out == bytes);
  EXPECT_EQ(cwasi({"run", fn("rust-echo")}).out, "");
  auto shown = cwasi({"run", "--env", "Http_Query=show=request", "--env", "Http_X_Trace=t",
                      fn("rust-echo")}, "x");
  EXPECT_EQ(shown.out, "method=\npath=\nquery=show=request\nheader X-Trace=t\n");

  auto failed = cwasi({"run", "--env", "Http_Query=fail=no+tea", fn("rust-echo")}, "x");
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_EQ(failed.out, "no tea");
  auto moved = cwasi({"run", fn("rust-redirect")}, "https://cwasi.example/\n");
  EXPECT_EQ(moved.exit_code, 0);
  EXPECT_EQ(moved.out, "moved\n");
  auto page = cwasi({"run", fn("rust-page")}, "teapot");  // a command: CGI output
  EXPECT_EQ(page.exit_code, 0);
  EXPECT_EQ(page.out, "Status: 418\nContent-Type: text/plain; charset=utf-8\n\nshort and stout\n");
  // `cwasi run` hosts no other function: the call's error comes back named.
  auto call = cwasi({"run", fn("rust-caller")}, "upper\nx");
  EXPECT_EQ(call.exit_code, 1);
  EXPECT_EQ(call.out, "call upper: not supported by this host");
}

// A Rust module imports only the ABI it uses: only the fetch example imports
// version 3's http_request, so the others load on version 2 hosts.
TEST_F(Cli, RustModulesImportOnlyTheAbiTheyUse) {
  for (const char* f : {"rust-upper", "rust-echo", "rust-redirect", "rust-caller"}) {
    auto r = cwasi({"inspect", fn(f)});
    EXPECT_EQ(r.exit_code, 0) << f;
    EXPECT_THAT(r.out, HasSubstr("kind:    reactor")) << f;
    EXPECT_THAT(r.out, HasSubstr("func cwasi_alloc")) << f;
    EXPECT_THAT(r.out, Not(HasSubstr("http_request"))) << f;
  }
  auto page = cwasi({"inspect", fn("rust-page")});
  EXPECT_THAT(page.out, HasSubstr("kind:    command"));
  EXPECT_THAT(page.out, Not(HasSubstr("func cwasi.")));  // CGI output needs no cwasi import
  auto upper = cwasi({"inspect", fn("rust-upper")});
  EXPECT_THAT(upper.out, HasSubstr("func cwasi.response_set"));
  EXPECT_THAT(upper.out, Not(HasSubstr("cwasi.response_status")));
  EXPECT_THAT(cwasi({"inspect", fn("rust-caller")}).out, HasSubstr("func cwasi.call"));
  EXPECT_THAT(cwasi({"inspect", fn("rust-fetch")}).out, HasSubstr("func cwasi.http_request"));
}

TEST_F(Cli, SigtermStopsALoopingGuest) {
  // The loop runs without a timeout; SIGTERM (as `kill` or containerd sends)
  // must stop it and cwasi exits 130.
  std::vector<std::string> argv = {"sh", "-c",
                                   testing::binPath("cwasi").string() + " run " + fn("loop") +
                                       " & pid=$!; sleep 0.3; kill -TERM $pid; wait $pid"};
  auto r = runSubprocess({.argv = argv, .timeout = std::chrono::seconds(20)});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->exit_code, kExitCancelled);
  EXPECT_THAT(r->err, HasSubstr("invocation cancelled"));
}

}  // namespace
}  // namespace cwasi::cli

// containerd-shim-cwasi-v1 under a real containerd (started by the suite,
// everything under a temp dir), driven with `ctr` as a user would: images
// built by `cwasi image build`, imported, run with --runtime io.containerd.cwasi.v1.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include "cwasi/common/files.h"
#include "cwasi/common/sha256.h"
#include "cwasi/common/subprocess.h"
#include "testbed/containerd.h"
#include "support/wasi_test.h"

namespace cwasi {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using cwasi::testing::binPath;
using cwasi::testing::functionPath;

constexpr char kRuntime[] = "io.containerd.cwasi.v1";

class Containerd : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto dir = makeTempDir("cwasi-containerd-");
    ASSERT_TRUE(dir.ok());
    dir_ = new fs::path(*dir);
    const std::string path = binPath("containerd-shim-cwasi-v1").parent_path().string() + ":" +
                             std::getenv("PATH");
    auto c = testbed::ContainerdProcess::start(
        *dir_, {{"PATH", path},
                {"CWASI_RUNTIME_DIR", (*dir_ / "cwasi-run").string()},
                {"CWASI_CACHE_DIR", (*dir_ / "cwasi-cache").string()}});
    ASSERT_TRUE(c.ok()) << c.error().message();
    containerd_ = c->release();
    for (const char* f : {"hello", "env-args", "loop", "memory-bomb", "upper", "call", "wc"}) {
      importImage(f, functionPath(f));
    }
    // Wasm magic, then garbage: an image that builds but does not load.
    const std::vector<uint8_t> junk = {0, 'a', 's', 'm', 1, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef};
    ASSERT_TRUE(writeFileAtomic(*dir_ / "junk.wasm", junk).ok());
    importImage("junk", *dir_ / "junk.wasm");
  }

  static void TearDownTestSuite() {
    delete containerd_;
    containerd_ = nullptr;
    // Nothing of ours may stay mounted.
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    while (std::getline(in, line)) {
      if (line.find(dir_->string()) != std::string::npos) {
        std::smatch m;
        if (std::regex_search(line, m, std::regex("^\\S+ \\S+ \\S+ \\S+ (\\S+)"))) {
          (void)runSubprocess({.argv = {"umount", "-l", m[1]}});
        }
      }
    }
    fs::remove_all(*dir_);
    delete dir_;
  }

  static void importImage(const std::string& name, const fs::path& module) {
    const std::string tar = (*dir_ / (name + ".tar")).string();
    auto built = runSubprocess({.argv = {binPath("cwasi").string(), "image", "build", module.string(),
                                         "-t", "docker.io/cwasi/" + name + ":test", "-o", tar}});
    ASSERT_TRUE(built.ok());
    ASSERT_EQ(built->exit_code, 0) << built->err;
    auto r = containerd_->ctr({"image", "import", "--all-platforms", tar});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  static std::string image(const std::string& name) { return "docker.io/cwasi/" + name + ":test"; }

  // ctr run [--rm] --runtime cwasi --snapshotter native [extra] IMAGE ID [args]
  static SubprocessResult run(const std::string& id, const std::string& name,
                              std::vector<std::string> extra = {}, std::vector<std::string> args = {},
                              bool rm = true) {
    std::vector<std::string> argv = {"run", "--runtime", kRuntime, "--snapshotter", "native"};
    if (rm) argv.push_back("--rm");
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(image(name));
    argv.push_back(id);
    argv.insert(argv.end(), args.begin(), args.end());
    return containerd_->ctr(argv);
  }

  // "ID PID STATUS" rows of `ctr task ls`.
  static std::map<std::string, std::pair<int, std::string>> tasks() {
    std::map<std::string, std::pair<int, std::string>> out;
    auto r = containerd_->ctr({"task", "ls"});
    std::istringstream in(r.out);
    std::string id, pid, status;
    std::getline(in, id);  // header
    while (in >> id >> pid >> status) out[id] = {std::atoi(pid.c_str()), status};
    return out;
  }

  static bool waitForStatus(const std::string& id, const std::string& status) {
    for (int i = 0; i < 500; ++i) {
      auto t = tasks();
      if (t.contains(id) && t[id].second == status) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  static void remove(const std::string& id) {
    containerd_->ctr({"task", "delete", "-f", id});
    containerd_->ctr({"container", "rm", id});
  }

  static size_t mountsUnder(const fs::path& p) {
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    size_t n = 0;
    while (std::getline(in, line)) n += line.find(p.string()) != std::string::npos;
    return n;
  }

  static fs::path* dir_;
  static testbed::ContainerdProcess* containerd_;
};

fs::path* Containerd::dir_ = nullptr;
testbed::ContainerdProcess* Containerd::containerd_ = nullptr;

TEST_F(Containerd, HelloImageRunsAndPrints) {
  auto r = run("hello-1", "hello");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Hello from cwasi!\n");
}

TEST_F(Containerd, PublishesTaskEventsInOrder) {
  auto events = testbed::ChildProcess::start({"ctr", "-a", containerd_->socket(), "events"});
  ASSERT_TRUE(events.ok());
  std::this_thread::sleep_for(200ms);  // subscribed
  ASSERT_EQ(run("events-1", "hello").exit_code, 0);
  std::vector<std::string> topics;
  while (topics.empty() || topics.back() != "/tasks/delete") {
    auto line = events->readLine(10s);
    if (!line) break;
    if (line->find("\"events-1\"") == std::string::npos) continue;
    std::smatch m;
    if (std::regex_search(*line, m, std::regex(" (/tasks/[a-z]+) "))) topics.push_back(m[1]);
  }
  EXPECT_EQ(topics, (std::vector<std::string>{"/tasks/create", "/tasks/start", "/tasks/exit",
                                               "/tasks/delete"}));
}

TEST_F(Containerd, ArgsEnvAndExitCodeComeThrough) {
  auto r = run("env-1", "env-args", {"--env", "EXIT_CODE=3", "--env", "GREETING=hi"},
               {"/module.wasm", "first"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.out, HasSubstr("arg[1]=first"));
  EXPECT_THAT(r.out, HasSubstr("env GREETING=hi"));
}

TEST_F(Containerd, StdinReachesTheFunction) {
  auto r = containerd_->ctr({"run", "--rm", "--runtime", kRuntime, "--snapshotter", "native",
                             image("wc"), "wc-1"},
                            std::chrono::seconds(60), "one two\nthree\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "2 3 14\n");
}

// `ctr run --rm IMAGE id < /dev/null` for a guest that reads stdin: ctr opens
// and closes the stdin fifo's write side before the task exists. The guest
// must see an empty input at once (it once hung forever, as runc never does).
TEST_F(Containerd, ClosedStdinEndsAtOnceForAGuestThatReadsIt) {
  const std::string command = "exec ctr -a " + containerd_->socket() + " run --rm --runtime " +
                              kRuntime + " --snapshotter native " + image("wc") +
                              " wc-devnull < /dev/null";
  auto r = runSubprocess({.argv = {"sh", "-c", command}, .timeout = std::chrono::seconds(30)});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->timed_out) << "ctr run hung on a closed stdin";
  EXPECT_EQ(r->exit_code, 0) << r->err;
  EXPECT_EQ(r->out, "0 0 0\n");
  EXPECT_LT(r->wall, std::chrono::seconds(10));
  if (r->timed_out) remove("wc-devnull");
  // The same with an empty pipe that ctr reads to its end at once.
  auto empty = containerd_->ctr({"run", "--rm", "--runtime", kRuntime, "--snapshotter", "native",
                                 image("wc"), "wc-empty"},
                                std::chrono::seconds(30), "");
  EXPECT_EQ(empty.exit_code, 0) << empty.err;
  EXPECT_EQ(empty.out, "0 0 0\n");
  if (empty.exit_code != 0) remove("wc-empty");
}

TEST_F(Containerd, KillStopsALoopingFunction) {
  for (const auto& [signal, status] : std::vector<std::pair<std::string, int>>{{"SIGKILL", 137}, {"SIGTERM", 143}}) {
    const std::string id = "loop-" + signal;
    SubprocessResult fg;
    std::thread runner([&] { fg = run(id, "loop"); });
    ASSERT_TRUE(waitForStatus(id, "RUNNING"));
    auto k = containerd_->ctr({"task", "kill", "-s", signal, id});
    EXPECT_EQ(k.exit_code, 0) << k.err;
    runner.join();
    EXPECT_EQ(fg.exit_code, status) << fg.err;
  }
}

TEST_F(Containerd, MemoryLimitIsEnforced) {
  auto r = run("bomb-1", "memory-bomb", {"--memory-limit", std::to_string(16 << 20)});
  EXPECT_EQ(r.exit_code, 137);
  EXPECT_THAT(r.err + r.out, HasSubstr("memory limit of 16 MiB exceeded"));
}

TEST_F(Containerd, PodMembersCallEmbeddedOtherPodsLocally) {
  // `upper` serves calls in pod A.
  auto served = run("upper-a", "upper",
                    {"--annotation", "io.kubernetes.cri.sandbox-id=pod-a", "--annotation",
                     "cwasi.io/function=upper", "-d"},
                    {}, false);
  ASSERT_EQ(served.exit_code, 0) << served.err;
  ASSERT_TRUE(waitForStatus("upper-a", "RUNNING"));
  // A caller in the same pod: the same shim process, an embedded call.
  auto same = run("call-a", "call", {"--annotation", "io.kubernetes.cri.sandbox-id=pod-a"},
                  {"/module.wasm", "upper", "same pod"});
  EXPECT_EQ(same.exit_code, 0) << same.err;
  EXPECT_EQ(same.out, "SAME POD\n");
  // One in another pod: another shim, a local (shared-memory) call.
  auto held = run("call-b", "call", {"--annotation", "io.kubernetes.cri.sandbox-id=pod-b", "-d"},
                  {"/module.wasm", "upper", "other pod"}, false);
  ASSERT_EQ(held.exit_code, 0) << held.err;
  auto t = tasks();
  ASSERT_TRUE(t.contains("upper-a") && t.contains("call-b"));
  EXPECT_NE(t["upper-a"].first, t["call-b"].first);  // two shim processes
  auto other = run("call-b2", "call", {"--annotation", "io.kubernetes.cri.sandbox-id=pod-b"},
                   {"/module.wasm", "upper", "other pod"});
  EXPECT_EQ(other.exit_code, 0) << other.err;
  EXPECT_EQ(other.out, "OTHER POD\n");
  // A shared pod shim reports one pid for all its tasks.
  auto again = run("upper-a2", "upper", {"--annotation", "io.kubernetes.cri.sandbox-id=pod-a", "-d"},
                   {}, false);
  ASSERT_EQ(again.exit_code, 0);
  t = tasks();
  EXPECT_EQ(t["upper-a"].first, t["upper-a2"].first);
  for (const char* id : {"upper-a", "upper-a2", "call-b"}) remove(id);
}

TEST_F(Containerd, BadModulesFailCreateWithAClearError) {
  auto missing = run("missing-1", "env-args", {}, {"/nope.wasm"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_THAT(missing.err, HasSubstr("/nope.wasm (process.args[0]) not found in the rootfs"));
  auto junk = run("junk-1", "junk");
  EXPECT_NE(junk.exit_code, 0);
  EXPECT_THAT(junk.err, HasSubstr("module /module.wasm"));
  EXPECT_EQ(mountsUnder(*dir_ / "state"), 0u);
  // containerd and the shim keep working.
  EXPECT_EQ(run("hello-after-junk", "hello").out, "Hello from cwasi!\n");
}

TEST_F(Containerd, DeleteLeavesNothingBehind) {
  ASSERT_EQ(run("hello-clean", "hello").exit_code, 0);
  ASSERT_EQ(run("hello-clean2", "hello").exit_code, 0);
  // No mounts, no shim, no sockets; the module precompiled once, no temp files.
  std::this_thread::sleep_for(200ms);  // the shim exits right after answering Shutdown
  EXPECT_EQ(mountsUnder(*dir_ / "state"), 0u);
  EXPECT_TRUE(containerd_->shimPids().empty());
  std::error_code ec;
  size_t sockets = 0;
  for (const auto& e : fs::directory_iterator(*dir_ / "cwasi-run" / "shims", ec)) {
    ++sockets;
    ADD_FAILURE() << "left behind: " << e.path();
  }
  EXPECT_EQ(sockets, 0u);
  std::set<std::string> digests;
  for (const auto& e : fs::directory_iterator(*dir_ / "cwasi-cache" / "modules", ec)) {
    const std::string name = e.path().filename().string();
    EXPECT_TRUE(std::regex_match(name, std::regex("[0-9a-f]{64}-[0-9a-f]{16}\\.(cwasm|sha256)"))) << name;
    digests.insert(name.substr(0, 64));
  }
  auto hello = readFile(functionPath("hello"));
  ASSERT_TRUE(hello.ok());
  EXPECT_TRUE(digests.contains(sha256Hex(*hello)));
}

TEST_F(Containerd, TaskSurvivesAContainerdRestart) {
  auto r = run("loop-restart", "loop", {"-d"}, {}, false);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(waitForStatus("loop-restart", "RUNNING"));
  const auto shims = containerd_->shimPids();
  ASSERT_TRUE(containerd_->restart().ok());
  EXPECT_EQ(containerd_->shimPids(), shims);
  EXPECT_TRUE(waitForStatus("loop-restart", "RUNNING"));
  EXPECT_EQ(containerd_->ctr({"task", "kill", "-s", "SIGKILL", "loop-restart"}).exit_code, 0);
  EXPECT_TRUE(waitForStatus("loop-restart", "STOPPED"));
  auto del = containerd_->ctr({"task", "delete", "loop-restart"});
  EXPECT_EQ(del.exit_code, 0) << del.err;
  containerd_->ctr({"container", "rm", "loop-restart"});
}

}  // namespace
}  // namespace cwasi

// The TaskHost over the real FunctionHost, with modules built from
// functions/: what a task's function does once loaded (no containerd).
#include <fcntl.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "cwasi/shim/task_host.h"
#include "shim_fakes.h"

namespace cwasi::shim {
namespace {

using ::testing::HasSubstr;
using namespace cwasi::shim::testing;
using cwasi::testing::functionPath;

class FunctionHostTasksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TaskHostConfig config;
    config.max_instances = 8;
    auto h = startFunctionHostTasks(config);
    ASSERT_TRUE(h.ok()) << h.error().message();
    host_ = std::move(*h);
  }

  host::FunctionSpec function(const std::string& name, const std::string& module) {
    host::FunctionSpec fn(name, functionPath(module));
    fn.publish = false;  // as a task whose function was given no name
    return fn;
  }

  // A pipe whose write end is the guest's stdout; returns the read end.
  Fd captureStdout(runtime::RunContext& c) {
    int p[2];
    EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
    write_end_ = Fd(p[1]);
    c.output = runtime::OutputFd{p[1]};
    return Fd(p[0]);
  }

  std::unique_ptr<TaskHost> host_;
  Fd write_end_;
};

TEST_F(FunctionHostTasksTest, RunsACommandsMainWithItsContext) {
  ASSERT_TRUE(host_->load(function("task.env", "env-args")).ok());
  EXPECT_EQ(*host_->kind("task.env"), runtime::FunctionKind::kCommand);
  runtime::RunContext c;
  c.args = {"/module.wasm", "first"};
  c.env = {{"GREETING", "hi"}, {"EXIT_CODE", "3"}};
  Fd out = captureStdout(c);
  auto r = host_->runMain("task.env", std::move(c));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(*r, 3);
  write_end_.reset();
  const std::string text = readUntilEof(out.get());
  EXPECT_THAT(text, HasSubstr("arg[1]=first"));
  EXPECT_THAT(text, HasSubstr("env GREETING=hi"));
}

TEST_F(FunctionHostTasksTest, AGuestReadsStdinFromAPipeByPath) {
  ASSERT_TRUE(host_->load(function("task.wc", "wc")).ok());
  int in[2];
  ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
  Fd in_read(in[0]);
  ASSERT_EQ(::write(in[1], "one two\nthree\n", 14), 14);
  ::close(in[1]);
  runtime::RunContext c;
  c.args = {"wc"};
  c.input = runtime::StdinFile{"/proc/self/fd/" + std::to_string(in_read.get())};
  Fd out = captureStdout(c);
  auto r = host_->runMain("task.wc", std::move(c));
  ASSERT_TRUE(r.ok()) << r.error().message();
  write_end_.reset();
  EXPECT_EQ(readUntilEof(out.get()), "2 3 14\n");
}

TEST_F(FunctionHostTasksTest, TellsAReactorFromACommand) {
  ASSERT_TRUE(host_->load(function("upper", "upper")).ok());
  EXPECT_EQ(*host_->kind("upper"), runtime::FunctionKind::kReactor);
  host_->remove("upper");
  EXPECT_FALSE(host_->kind("upper").ok());
  host_->remove("upper");  // unknown now: ignored
}

TEST_F(FunctionHostTasksTest, ABadModuleFailsToLoad) {
  cwasi::testing::TempDir dir;
  cwasi::testing::writeText(dir / "junk.wasm", std::string("\0asm\1\0\0\0\xde\xad", 10));
  host::FunctionSpec fn;
  fn.name = "task.junk";
  fn.module = dir / "junk.wasm";
  EXPECT_FALSE(host_->load(fn).ok());
  EXPECT_FALSE(host_->kind("task.junk").ok());
}

TEST_F(FunctionHostTasksTest, CancelMemoryAndTrapsComeBackAsTheirErrors) {
  ASSERT_TRUE(host_->load(function("task.loop", "loop")).ok());
  std::atomic<bool> cancel{false};
  runtime::RunContext c;
  c.args = {"loop"};
  c.cancel = &cancel;
  std::thread killer([&] {
    std::this_thread::sleep_for(100ms);
    cancel = true;
  });
  auto looped = host_->runMain("task.loop", std::move(c));
  killer.join();
  ASSERT_FALSE(looped.ok());
  EXPECT_EQ(looped.error().code(), Code::kCancelled);

  host::FunctionSpec bomb = function("task.bomb", "memory-bomb");
  bomb.limits.memory_bytes = 16u << 20;
  ASSERT_TRUE(host_->load(bomb).ok());
  runtime::RunContext b;
  b.args = {"bomb"};
  b.limits.memory_bytes = 16u << 20;
  auto exhausted = host_->runMain("task.bomb", std::move(b));
  ASSERT_FALSE(exhausted.ok());
  EXPECT_EQ(exhausted.error().code(), Code::kResourceExhausted);

  ASSERT_TRUE(host_->load(function("task.trap", "unreachable")).ok());
  runtime::RunContext t;
  t.args = {"trap"};
  auto trapped = host_->runMain("task.trap", std::move(t));
  ASSERT_FALSE(trapped.ok());
  EXPECT_EQ(trapped.error().code(), Code::kAborted);
}

}  // namespace
}  // namespace cwasi::shim

namespace cwasi::shim {
namespace {

// The HTTP trigger over the real host: requests reach the function with the
// daemon's semantics, probes answer, and the port lives in the network
// namespace it was given (a real `ip netns`).
class HttpTriggerTest : public FunctionHostTasksTest {
 protected:
  void SetUp() override {
    FunctionHostTasksTest::SetUp();
    ASSERT_TRUE(host_->load(function("upper", "upper")).ok());
    ASSERT_TRUE(host_->load(function("loop", "loop")).ok());
  }

  // curl's status code and body, run in `netns` when given.
  static std::pair<int, std::string> curl(const std::string& url, const std::string& data,
                                          const std::string& netns = "") {
    std::string cmd = (netns.empty() ? "" : "ip netns exec " + netns + " ") +
                      "curl -s -m 10 -w '\\n%{http_code}' --data-binary '" + data + "' '" + url + "'";
    std::string out;
    if (FILE* f = ::popen(cmd.c_str(), "r")) {
      char buf[4096];
      size_t n;
      while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
      ::pclose(f);
    }
    const size_t nl = out.rfind('\n');
    if (nl == std::string::npos) return {0, out};
    return {std::atoi(out.c_str() + nl + 1), out.substr(0, nl)};
  }
};

TEST_F(HttpTriggerTest, ServesTheFunctionWithTheDaemonsSemantics) {
  HttpTriggerConfig c;
  c.function = "upper";
  c.port = 0;  // any
  auto trigger = host_->serveHttp(c);
  ASSERT_TRUE(trigger.ok()) << trigger.error().toString();
  const std::string port = (*trigger)->address().substr((*trigger)->address().rfind(':') + 1);
  auto r = curl("http://127.0.0.1:" + port + "/any/path?x=1", "make me loud");
  EXPECT_EQ(r.first, 200);
  EXPECT_EQ(r.second, "MAKE ME LOUD");
  auto probe = curl("http://127.0.0.1:" + port + "/_/health", "");
  EXPECT_EQ(probe.first, 200);
}

// curl -i: the response's head and body as one text.
std::string curlHeadAndBody(const std::string& url, const std::string& data) {
  std::string cmd = "curl -s -i -m 10 --data-binary '" + data + "' '" + url + "'";
  std::string out;
  if (FILE* f = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    ::pclose(f);
  }
  return out;
}

TEST_F(HttpTriggerTest, AReactorsStatusAndHeadersAreTheTriggersResponse) {
  ASSERT_TRUE(host_->load(function("redirect", "redirect")).ok());
  HttpTriggerConfig c;
  c.function = "redirect";
  c.port = 0;
  auto trigger = host_->serveHttp(c);
  ASSERT_TRUE(trigger.ok()) << trigger.error().toString();
  const std::string out = curlHeadAndBody("http://" + (*trigger)->address() + "/", "/elsewhere");
  EXPECT_THAT(out, ::testing::StartsWith("HTTP/1.1 302 Found\r\n"));
  EXPECT_THAT(out, HasSubstr("\r\nLocation: /elsewhere\r\n"));
  EXPECT_THAT(out, HasSubstr("\r\nX-Call-Id: "));
}

TEST_F(HttpTriggerTest, CgiOutputIsParsedWhenThePodAsksForIt) {
  ASSERT_TRUE(host_->load(function("page", "content-type")).ok());
  ASSERT_TRUE(host_->load(function("cat", "cat")).ok());
  HttpTriggerConfig c;
  c.port = 0;
  c.cgi_response = true;
  c.function = "page";
  auto page = host_->serveHttp(c);
  ASSERT_TRUE(page.ok()) << page.error().toString();
  c.function = "cat";
  auto cat = host_->serveHttp(c);
  ASSERT_TRUE(cat.ok()) << cat.error().toString();

  const std::string out = curlHeadAndBody("http://" + (*page)->address() + "/", "hi");
  EXPECT_THAT(out, ::testing::StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(out, HasSubstr("\r\nContent-Type: text/html; charset=utf-8\r\n"));
  EXPECT_THAT(out, HasSubstr("\r\nSet-Cookie: lang=en; Path=/\r\n"));
  EXPECT_THAT(out, HasSubstr("<code>hi</code>"));

  auto bad = curl("http://" + (*cat)->address() + "/", "no header section");
  EXPECT_EQ(bad.first, 502);
  EXPECT_THAT(bad.second, HasSubstr("invalid CGI output: no blank line ends the header section"));
  EXPECT_THAT(bad.second, HasSubstr("\"function\":\"cat\""));
  auto good = curl("http://" + (*cat)->address() + "/", "Status: 404\n\ngone");
  EXPECT_EQ(good.first, 404);
  EXPECT_EQ(good.second, "gone");
}

TEST_F(HttpTriggerTest, TimeoutsAreA504AndTooLargeBodiesA413) {
  HttpTriggerConfig c;
  c.function = "loop";
  c.port = 0;
  c.timeout = std::chrono::milliseconds(200);
  c.max_body_bytes = 16;
  auto trigger = host_->serveHttp(c);
  ASSERT_TRUE(trigger.ok()) << trigger.error().toString();
  const std::string url = "http://" + (*trigger)->address();
  auto slow = curl(url + "/", "spin");
  EXPECT_EQ(slow.first, 504);
  EXPECT_THAT(slow.second, HasSubstr("timed out"));
  EXPECT_EQ(curl(url + "/", std::string(100, 'x')).first, 413);
}

TEST_F(HttpTriggerTest, ThePortIsInThePodsNetworkNamespace) {
  const std::string ns = "cwasi-trg-" + std::to_string(::getpid());
  ASSERT_EQ(std::system(("ip netns add " + ns).c_str()), 0);
  (void)!std::system(("ip netns exec " + ns + " ip link set lo up").c_str());
  {
    HttpTriggerConfig c;
    c.function = "upper";
    c.port = 18088;
    c.network_namespace = "/var/run/netns/" + ns;
    auto trigger = host_->serveHttp(c);
    ASSERT_TRUE(trigger.ok()) << trigger.error().toString();
    auto inside = curl("http://127.0.0.1:18088/", "pod", ns);
    EXPECT_EQ(inside.first, 200);
    EXPECT_EQ(inside.second, "POD");
    EXPECT_EQ(curl("http://127.0.0.1:18088/", "host").first, 0);  // not on the host
  }
  (void)!std::system(("ip netns delete " + ns).c_str());
}

TEST_F(HttpTriggerTest, AMissingNamespaceIsAClearError) {
  HttpTriggerConfig c;
  c.function = "upper";
  c.network_namespace = "/var/run/netns/cwasi-no-such-ns";
  auto trigger = host_->serveHttp(c);
  ASSERT_FALSE(trigger.ok());
  EXPECT_THAT(trigger.error().message(), HasSubstr("network namespace"));
}

}  // namespace
}  // namespace cwasi::shim

// ttrpc over a real unix socket, server and client in one process: the
// framing, status codes, malformed input, and calls that overlap on one
// connection (containerd keeps a Wait open while it asks for State).
#include "cwasi/shim/ttrpc.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "cwasi/common/files.h"
#include "cwasi/common/net.h"
#include "cwasi/oci/bundle.h"

namespace cwasi::shim {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

class Ttrpc : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = makeTempDir("cwasi-ttrpc-");
    ASSERT_TRUE(dir.ok());
    dir_ = *dir;
    socket_ = (dir_ / "s.sock").string();
    server_.handle("test.Echo", "Say", [](const std::string& p, const Metadata& md) -> Result<std::string> {
      std::string out = p;
      for (const auto& [k, v] : md) out += "|" + k + "=" + v;
      return out;
    });
    server_.handle("test.Echo", "Fail", [](const std::string&, const Metadata&) -> Result<std::string> {
      return failedPrecondition("not now");
    });
    server_.handle("test.Echo", "Block", [this](const std::string&, const Metadata&) -> Result<std::string> {
      while (!release_.load()) std::this_thread::sleep_for(1ms);
      return std::string("released");
    });
    auto listener = net::listenUnix(socket_);
    ASSERT_TRUE(listener.ok());
    server_.serve(std::move(*listener));
  }
  void TearDown() override {
    release_ = true;
    fs::remove_all(dir_);
  }

  std::unique_ptr<TtrpcClient> client() {
    auto c = TtrpcClient::connect("unix://" + socket_, 2s);
    EXPECT_TRUE(c.ok());
    return c.ok() ? std::move(*c) : nullptr;
  }

  fs::path dir_;
  std::string socket_;
  std::atomic<bool> release_{false};
  TtrpcServer server_;
};

TEST_F(Ttrpc, CallsRoundTripWithMetadata) {
  auto c = client();
  auto r = c->call("test.Echo", "Say", "hello", {{"containerd-namespace-ttrpc", "ns1"}}, 2s);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(*r, "hello|containerd-namespace-ttrpc=ns1");
  // Several calls on one connection (stream ids advance).
  for (int i = 0; i < 10; ++i) EXPECT_EQ(*c->call("test.Echo", "Say", std::to_string(i), {}, 2s), std::to_string(i));
}

TEST_F(Ttrpc, ErrorsCarryTheirCode) {
  auto c = client();
  auto failed = c->call("test.Echo", "Fail", "", {}, 2s);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code(), Code::kFailedPrecondition);
  EXPECT_THAT(failed.error().message(), HasSubstr("not now"));
  auto unknown = c->call("containerd.task.v2.Task", "Pause", "", {}, 2s);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code(), Code::kUnimplemented);
  EXPECT_THAT(unknown.error().message(), HasSubstr("Pause"));
}

TEST_F(Ttrpc, ABlockedCallDoesNotHoldUpTheConnection) {
  auto c = client();
  // Raw frames on one socket: a Block request, then a Say; Say must come back first.
  auto fd = net::connectUnix(socket_, net::in(2s));
  ASSERT_TRUE(fd.ok());
  auto request = [](const std::string& method, const std::string& payload) {
    // ttrpc Request{service=1, method=2, payload=3} by hand (protobuf wire format).
    auto field = [](int n, const std::string& v) {
      std::string out(1, static_cast<char>((n << 3) | 2));
      out += static_cast<char>(v.size());
      return out + v;
    };
    return field(1, "test.Echo") + field(2, method) + field(3, payload);
  };
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  ASSERT_TRUE(writeFrame(fd->get(), {1, kFrameRequest, 0, request("Block", "")}, deadline).ok());
  ASSERT_TRUE(writeFrame(fd->get(), {3, kFrameRequest, 0, request("Say", "quick")}, deadline).ok());
  auto first = readFrame(fd->get(), deadline);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->stream, 3u);
  release_ = true;
  auto second = readFrame(fd->get(), deadline);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->stream, 1u);
}

TEST_F(Ttrpc, MalformedInputIsRefusedAndTheServerGoesOn) {
  {
    auto fd = net::connectUnix(socket_, net::in(2s));
    ASSERT_TRUE(fd.ok());
    const auto deadline = std::chrono::steady_clock::now() + 2s;
    // Not a protobuf Request: answered with InvalidArgument.
    ASSERT_TRUE(writeFrame(fd->get(), {1, kFrameRequest, 0, std::string("\xff\xff\xff", 3)}, deadline).ok());
    auto reply = readFrame(fd->get(), deadline);
    ASSERT_TRUE(reply.ok());
    EXPECT_EQ(reply->stream, 1u);
    EXPECT_THAT(reply->payload, HasSubstr("malformed"));
    // A header announcing more than 4 MiB: the connection is dropped.
    const uint8_t huge[10] = {0x10, 0, 0, 0, 0, 0, 0, 3, kFrameRequest, 0};
    ASSERT_TRUE(net::sendAll(fd->get(), huge, deadline).ok());
    uint8_t byte;
    EXPECT_FALSE(net::recvAll(fd->get(), {&byte, 1}, deadline).ok());
  }
  auto c = client();
  EXPECT_EQ(*c->call("test.Echo", "Say", "still here", {}, 2s), "still here");
}

TEST(RuntimeSpec, ReadsWhatATaskNeeds) {
  auto s = oci::parseRuntimeSpec(R"({
    "process": {"args": ["/module.wasm", "x"], "env": ["A=1", "BAD", "B=two=2"], "cwd": "/w"},
    "root": {"path": "rootfs", "readonly": true},
    "linux": {"resources": {"memory": {"limit": 16777216}}},
    "annotations": {"cwasi.io/function": "f", "io.kubernetes.cri.sandbox-id": "pod"}})",
                                 "/b");
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->args, (std::vector<std::string>{"/module.wasm", "x"}));
  EXPECT_EQ(s->env, (std::vector<std::pair<std::string, std::string>>{{"A", "1"}, {"B", "two=2"}}));
  EXPECT_EQ(s->root, fs::path("/b/rootfs"));
  EXPECT_TRUE(s->root_readonly);
  EXPECT_EQ(s->memory_limit, 16u << 20);
  EXPECT_EQ(s->annotations.at(oci::kAnnotationFunction), "f");
}

TEST(RuntimeSpec, BadSpecsSayWhatIsWrong) {
  EXPECT_THAT(oci::parseRuntimeSpec("nope", "/b").error().message(), HasSubstr("not a JSON object"));
  EXPECT_THAT(oci::parseRuntimeSpec(R"({"process": {"args": []}})", "/b").error().message(),
              HasSubstr("process.args is empty"));
  EXPECT_THAT(oci::parseRuntimeSpec(R"({"process": {"args": [1]}})", "/b").error().message(),
              HasSubstr("must be strings"));
  EXPECT_FALSE(oci::readRuntimeSpec("/nonexistent-bundle").ok());
}

}  // namespace
}  // namespace cwasi::shim

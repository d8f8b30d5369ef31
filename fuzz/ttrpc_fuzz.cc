// ttrpc, containerd's RPC to the shim (shim/ttrpc.h), from both ends. The
// first input byte picks one:
//   even: a peer's bytes to the shim's TtrpcServer over a real unix socket —
//         frames, Request envelopes and the Task service's protobuf requests;
//   odd:  a server's bytes to a TtrpcClient that made one call — frames on
//         other streams, the Response and its status.
// The Task service runs over a task table with no tasks, and Create and
// Shutdown only decode their request here: a real Create mounts what the
// request says and opens the files it names, and the fuzzer runs as root.
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <set>

#include "cwasi/common/net.h"
#include "cwasi/shim/mounts.h"
#include "cwasi/shim/task_service.h"
#include "cwasi/shim/ttrpc.h"
#include "fuzz.h"
#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"
#include "ttrpc/ttrpc.pb.h"

namespace {

using namespace cwasi;
using namespace cwasi::shim;
using namespace std::chrono_literals;
namespace task = containerd::task::v2;
constexpr char kService[] = "containerd.task.v2.Task";

// No task is ever created, so nothing is ever asked of the host.
class NoHost : public TaskHost {
 public:
  Result<void> load(const host::FunctionSpec&) override { return unimplemented("fuzz"); }
  Result<runtime::FunctionKind> kind(std::string_view) override { return unimplemented("fuzz"); }
  Result<int> runMain(std::string_view, runtime::RunContext) override { return unimplemented("fuzz"); }
  Result<std::unique_ptr<HttpTrigger>> serveHttp(const HttpTriggerConfig&) override {
    return unimplemented("fuzz");
  }
  Result<std::string> serveRemoteCalls(const std::filesystem::path&, uint16_t) override {
    return unimplemented("fuzz");
  }
  void remove(std::string_view) override {}
};

class NoEvents : public EventSink {
 public:
  void created(const TaskCreated&) override {}
  void started(const TaskStarted&) override {}
  void exited(const TaskExited&) override {}
  void deleted(const TaskDeleted&) override {}
};

// The shim's server and a listener for the client side, made once.
struct Sockets {
  Sockets() {
    std::signal(SIGPIPE, SIG_IGN);
    service.registerMethods(server);
    server.handle(kService, "Create", [](const std::string& payload, const Metadata&) -> Result<std::string> {
      task::CreateTaskRequest req;
      if (!req.ParseFromString(payload)) return invalidArgument("malformed request");
      for (const auto& m : req.rootfs()) (void)parseMountOptions({m.options().begin(), m.options().end()});
      return unimplemented("fuzz: Create only decodes");
    });
    server.handle(kService, "Shutdown", [](const std::string& payload, const Metadata&) -> Result<std::string> {
      task::ShutdownRequest req;
      if (!req.ParseFromString(payload)) return invalidArgument("malformed request");
      return std::string();
    });
    auto shim = net::listenUnix((dir / "shim.sock").string());
    auto fake = net::listenUnix((dir / "containerd.sock").string());
    if (!shim.ok() || !fake.ok()) std::abort();
    server.serve(std::move(*shim));
    containerd = std::move(*fake);
  }
  const std::filesystem::path& dir = fuzz::scratchDir();
  NoHost host;
  NoEvents events;
  TaskTable tasks{host, events, 1};
  TaskService service{tasks};
  TtrpcServer server;
  Fd containerd;  // plays containerd's server for the client side
};

Sockets& sockets() {
  static Sockets s;
  return s;
}

// The stream ids of the complete request frames in `in`, up to the first
// frame the shim refuses (over 4 MiB): one response each is due.
std::multiset<uint32_t> requestsIn(std::span<const uint8_t> in) {
  std::multiset<uint32_t> ids;
  auto be32 = [](const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
  };
  for (size_t pos = 0; in.size() - pos >= 10;) {
    const uint32_t length = be32(&in[pos]);
    if (length > kMaxFrameBytes || length > in.size() - pos - 10) break;
    if (in[pos + 8] == kFrameRequest) ids.insert(be32(&in[pos + 4]));
    pos += 10 + length;
  }
  return ids;
}

// Sends the input to the shim and reads its answers: one response frame
// holding a Response for each request, on the request's stream. (Not until
// the shim hangs up: the connection server closes a finished connection
// only when it next looks, up to 100 ms later.)
void toServer(std::span<const uint8_t> in) {
  auto fd = net::connectUnix((sockets().dir / "shim.sock").string(), net::in(5s));
  if (!fd.ok()) std::abort();
  (void)net::sendAll(fd->get(), in, net::in(5s));  // the shim may hang up early
  ::shutdown(fd->get(), SHUT_WR);
  std::multiset<uint32_t> due = requestsIn(in);
  while (!due.empty()) {
    auto frame = readFrame(fd->get(), net::in(5s));
    FUZZ_CHECK(frame.ok());
    FUZZ_CHECK(frame->type == kFrameResponse);
    auto it = due.find(frame->stream);
    FUZZ_CHECK(it != due.end());
    due.erase(it);
    grpc::Response response;
    FUZZ_CHECK(response.ParseFromString(frame->payload));
  }
}

// One call whose answer is the input.
void toClient(std::span<const uint8_t> in) {
  const std::string path = (sockets().dir / "containerd.sock").string();
  auto client = TtrpcClient::connect(path, 5s);
  if (!client.ok()) std::abort();
  auto peer = net::accept(sockets().containerd.get(), net::in(5s));
  if (!peer.ok()) std::abort();
  (void)net::sendAll(peer->get(), in, net::in(5s));
  ::shutdown(peer->get(), SHUT_WR);
  auto r = (*client)->call("containerd.services.events.ttrpc.v1.Events", "Forward", "payload",
                           {{"k", "v"}}, 5s);
  if (!r.ok()) FUZZ_CHECK(r.error().code() != Code::kDeadlineExceeded);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::span<const uint8_t> rest(data + 1, size - 1);
  if (data[0] % 2 == 0) {
    toServer(rest);
  } else {
    toClient(rest);
  }
  return 0;
}

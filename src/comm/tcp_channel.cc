// remote mode: direct TCP between function hosts. Each connection starts with
// a hello carrying the shared token; the server answers only a good one.
#include "cwasi/common/log.h"
#include "stream.h"
#include "transports.h"

namespace cwasi::comm {
namespace {

constexpr std::chrono::seconds kHandshakeTimeout{5};
constexpr size_t kMaxTokenBytes = 1024;

}  // namespace

class TcpConnection : public SocketStream {
 public:
  explicit TcpConnection(Fd fd) : SocketStream(fd.get()), fd_(std::move(fd)) {}
  bool stale() const { return net::peerClosed(fd_.get()); }

  static Result<std::unique_ptr<TcpConnection>> connect(const std::string& endpoint,
                                                        const TransportConfig& config,
                                                        net::Deadline deadline) {
    TRY_ASSIGN(net::Endpoint ep, net::parseEndpoint(endpoint));
    auto handshake_deadline = std::min(deadline, net::in(kHandshakeTimeout));
    TRY_ASSIGN(Fd fd, net::connectTcp(ep, handshake_deadline, config.tcp_buffer_bytes));
    FrameHeader hello;
    hello.type = FrameType::kHello;
    hello.payload_len = config.token.size();
    TRY(net::sendAllv(fd.get(),
                      {encodeHeader(hello),
                       {reinterpret_cast<const uint8_t*>(config.token.data()), config.token.size()}},
                      handshake_deadline));
    std::array<uint8_t, kFrameHeaderSize> reply;
    if (!net::recvAll(fd.get(), reply, handshake_deadline).ok()) {
      return unavailable("remote host " + endpoint + " refused the connection");
    }
    TRY_ASSIGN(FrameHeader ok, decodeHeader(reply, 0));
    if (ok.type != FrameType::kHelloOk) return unavailable("bad handshake from " + endpoint);
    return std::make_unique<TcpConnection>(std::move(fd));
  }

 private:
  Fd fd_;
};

std::unique_ptr<Channel> makeTcpChannel(TransportConfig config) {
  return std::make_unique<StreamChannel<TcpConnection, Mode::kRemote>>(std::move(config));
}

void serveTcpConnection(int fd, const std::atomic<bool>& stopping, LocalFunctions& functions,
                        const TransportConfig& config) {
  net::tuneTcp(fd, config.tcp_buffer_bytes);
  const std::string peer = "tcp peer fd " + std::to_string(fd);
  auto deadline = net::in(kHandshakeTimeout);
  std::array<uint8_t, kFrameHeaderSize> hb;
  if (!net::recvAll(fd, hb, deadline).ok()) return;
  auto hello = decodeHeader(hb, kMaxTokenBytes);
  if (!hello.ok()) {
    CWASI_LOG(kWarn, "rejected " << peer << ": " << hello.error().message());
    return;
  }
  std::vector<uint8_t> token(hello->payload_len);
  if (!net::recvAll(fd, token, deadline).ok()) return;
  if (auto auth = checkHello(*hello, token, config.token); !auth.ok()) {
    CWASI_LOG(kWarn, "rejected " << peer << ": " << auth.error().message());
    return;  // rejected peers get nothing
  }
  FrameHeader ok;
  ok.type = FrameType::kHelloOk;
  if (!net::sendAll(fd, encodeHeader(ok), deadline).ok()) return;
  SocketStream stream(fd);
  serveFrames(stream, functions, config.max_payload, config.peer_idle_timeout, stopping, peer);
}

}  // namespace cwasi::comm

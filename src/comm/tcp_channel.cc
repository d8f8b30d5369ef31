// remote mode: direct TCP between function hosts. Each connection starts with
// a hello carrying the shared token; the server answers only a good one.
#include <sys/socket.h>

#include <cerrno>

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

namespace {

// The hello, within the handshake's time: true when the peer may go on.
bool shakeHands(int fd, const TransportConfig& config, const Handshakes& handshakes,
                const std::string& peer) {
  auto deadline = net::in(handshakes.timeout());
  std::array<uint8_t, kFrameHeaderSize> hb;
  if (!net::recvAll(fd, hb, deadline).ok()) return false;
  auto hello = decodeHeader(hb, kMaxTokenBytes);
  if (!hello.ok()) {
    CWASI_LOG(kWarn, "rejected " << peer << ": " << hello.error().message());
    return false;
  }
  std::vector<uint8_t> token(hello->payload_len);
  if (!net::recvAll(fd, token, deadline).ok()) return false;
  if (auto auth = checkHello(*hello, token, config.token); !auth.ok()) {
    CWASI_LOG(kWarn, "rejected " << peer << ": " << auth.error().message());
    return false;  // rejected peers get nothing
  }
  FrameHeader ok;
  ok.type = FrameType::kHelloOk;
  return net::sendAll(fd, encodeHeader(ok), deadline).ok();
}

}  // namespace

Handshakes::Position Handshakes::enter(int fd) {
  MutexLock lock(mu_);
  if (live_ >= max_) {
    for (Pending& p : pending_) {
      if (p.cut) continue;
      // Only a peer that has sent nothing: a burst of good peers (a fan-out
      // opening a hundred connections) has its hellos waiting, unread yet.
      char byte;
      if (::recv(p.fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) != -1 || errno != EAGAIN) continue;
      // Wakes its thread's recv (which then fails); the fd stays open until
      // that thread leaves, so it cannot be another connection's by now.
      ::shutdown(p.fd, SHUT_RDWR);
      p.cut = true;
      --live_;
      cut_.fetch_add(1);
      break;
    }
  }
  ++live_;
  return pending_.insert(pending_.end(), Pending{fd});
}

void Handshakes::leave(Position pos) {
  MutexLock lock(mu_);
  if (!pos->cut) --live_;
  pending_.erase(pos);
}

void serveTcpConnection(int fd, const std::atomic<bool>& stopping, LocalFunctions& functions,
                        const TransportConfig& config, Handshakes& handshakes) {
  net::tuneTcp(fd, config.tcp_buffer_bytes);
  const std::string peer = "tcp peer fd " + std::to_string(fd);
  const Handshakes::Position pos = handshakes.enter(fd);
  const bool authenticated = shakeHands(fd, config, handshakes, peer);
  handshakes.leave(pos);
  if (!authenticated) return;
  SocketStream stream(fd);
  serveFrames(stream, functions, config.max_payload, config.peer_idle_timeout, stopping, peer, config.inflight.get());
}

}  // namespace cwasi::comm

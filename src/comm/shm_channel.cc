// local mode: calls to another process on the node through shared-memory
// rings. The unix socket carries only the handshake (and its closing tells
// either side that the other is gone).
#include <sys/eventfd.h>
#include <unistd.h>

#include "cwasi/common/log.h"
#include "shm_ring.h"
#include "stream.h"
#include "transports.h"

namespace cwasi::comm {
namespace {

constexpr std::chrono::seconds kHandshakeTimeout{5};
constexpr size_t kMaxTokenBytes = 1024;

Result<Fd> makeEventfd() {
  Fd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!fd.valid()) return errnoError("eventfd", errno);
  return fd;
}

}  // namespace

// One side's view of a connection: the segment, its doorbell and its two ring
// ends, as a ByteStream for the frame protocol.
class ShmConnection : public ByteStream {
 public:
  ShmConnection(Fd sock, ShmSegment seg, Fd my_efd, Fd peer_efd, bool client)
      : sock_(std::move(sock)),
        seg_(std::move(seg)),
        my_efd_(std::move(my_efd)),
        peer_efd_(std::move(peer_efd)),
        bell_(client ? seg_.control()->client_sleeping : seg_.control()->server_sleeping,
              client ? seg_.control()->server_sleeping : seg_.control()->client_sleeping,
              my_efd_.get(), peer_efd_.get(), sock_.get()),
        writer_(client ? seg_.control()->a_head : seg_.control()->b_head,
                client ? seg_.control()->a_tail : seg_.control()->b_tail,
                client ? seg_.ringA() : seg_.ringB(), seg_.ringBytes(), bell_),
        reader_(client ? seg_.control()->b_head : seg_.control()->a_head,
                client ? seg_.control()->b_tail : seg_.control()->a_tail,
                client ? seg_.ringB() : seg_.ringA(), seg_.ringBytes(), bell_) {}

  Result<void> read(std::span<uint8_t> out, net::Deadline d) override { return reader_.read(out, d); }
  bool stale() const { return net::peerClosed(sock_.get()); }
  Result<void> write(std::span<const uint8_t> b, net::Deadline d) override {
    return writer_.write(b, d);
  }

  // Client side: connects to `path`, creates the rings and hands them over.
  static Result<std::unique_ptr<ShmConnection>> connect(const std::string& path,
                                                        const TransportConfig& config,
                                                        net::Deadline deadline) {
    TRY_ASSIGN(Fd sock, net::connectUnix(path, deadline));
    TRY_ASSIGN(ShmSegment seg, ShmSegment::create(config.ring_bytes));
    TRY_ASSIGN(Fd client_efd, makeEventfd());
    TRY_ASSIGN(Fd server_efd, makeEventfd());
    FrameHeader hello;
    hello.type = FrameType::kHello;
    hello.payload_len = config.token.size();
    auto hb = encodeHeader(hello);
    std::vector<uint8_t> msg(hb.begin(), hb.end());
    msg.insert(msg.end(), config.token.begin(), config.token.end());
    const int fds[3] = {seg.fd(), server_efd.get(), client_efd.get()};
    TRY(net::sendWithFds(sock.get(), msg, fds));
    std::array<uint8_t, kFrameHeaderSize> reply;
    auto got = net::recvAll(sock.get(), reply, std::min(deadline, net::in(kHandshakeTimeout)));
    if (!got.ok()) return unavailable("local host at " + path + " refused the connection");
    TRY_ASSIGN(FrameHeader ok, decodeHeader(reply, 0));
    if (ok.type != FrameType::kHelloOk) return unavailable("bad handshake from " + path);
    return std::make_unique<ShmConnection>(std::move(sock), std::move(seg), std::move(client_efd),
                                           std::move(server_efd), true);
  }

 private:
  Fd sock_;
  ShmSegment seg_;
  Fd my_efd_, peer_efd_;
  Doorbell bell_;
  RingWriter writer_;
  RingReader reader_;
};

std::unique_ptr<Channel> makeShmChannel(TransportConfig config) {
  return std::make_unique<StreamChannel<ShmConnection, Mode::kLocal>>(std::move(config));
}

void serveShmConnection(int fd, const std::atomic<bool>& stopping, LocalFunctions& functions,
                        const TransportConfig& config) {
  // Only processes of our own user (or root) may connect.
  auto cred = net::peerCred(fd);
  if (!cred.ok() || (cred->uid != static_cast<int>(::getuid()) && cred->uid != 0)) {
    CWASI_LOG(kWarn, "rejected local connection from uid " << (cred.ok() ? cred->uid : -1));
    return;
  }
  const std::string peer = "local peer pid " + std::to_string(cred->pid);
  std::vector<uint8_t> buf(kFrameHeaderSize + kMaxTokenBytes);
  auto got = net::recvWithFds(fd, buf, 3, net::in(kHandshakeTimeout));
  if (!got.ok() || got->bytes < kFrameHeaderSize || got->fds.size() != 3) {
    CWASI_LOG(kWarn, "rejected " << peer << ": bad handshake");
    return;
  }
  auto hello = decodeHeader(std::span<const uint8_t, kFrameHeaderSize>(buf.data(), kFrameHeaderSize),
                            kMaxTokenBytes);
  if (!hello.ok() || got->bytes != kFrameHeaderSize + hello->payload_len) {
    CWASI_LOG(kWarn, "rejected " << peer << ": malformed hello");
    return;
  }
  auto auth = checkHello(*hello, std::span(buf.data() + kFrameHeaderSize, hello->payload_len),
                         config.token);
  if (!auth.ok()) {
    CWASI_LOG(kWarn, "rejected " << peer << ": " << auth.error().message());
    return;  // rejected peers get nothing
  }
  auto seg = ShmSegment::attach(std::move(got->fds[0]), config.ring_bytes * 4);
  if (!seg.ok()) {
    CWASI_LOG(kWarn, "rejected " << peer << ": " << seg.error().message());
    return;
  }
  FrameHeader ok;
  ok.type = FrameType::kHelloOk;
  if (!net::sendAll(fd, encodeHeader(ok), net::in(kHandshakeTimeout)).ok()) return;
  // The server borrows the socket fd: the ConnectionServer owns and closes it.
  ShmConnection conn(Fd(::dup(fd)), std::move(*seg), std::move(got->fds[1]),
                     std::move(got->fds[2]), false);
  serveFrames(conn, functions, config.max_payload, config.peer_idle_timeout, stopping, peer, config.inflight.get());
}

}  // namespace cwasi::comm

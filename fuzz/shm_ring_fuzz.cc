// The shared-memory rings of local calls (src/comm/shm_ring.h), with the
// peer's side played by the input: it attaches a segment whose size, seals
// and header it chose, and it moves the head and tail indices it owns to
// any value, between our reads and writes. Whatever it writes there, our
// consumer must never read, nor our producer write, outside the ring or over
// bytes not yet consumed, and what they move must be the bytes at the right
// place. The rings are heap buffers of their exact size, so that the
// address sanitizer sees a byte outside them.
#include <fuzzer/FuzzedDataProvider.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>

#include <cstring>
#include <optional>
#include <vector>

#include "comm/shm_ring.h"
#include "fuzz.h"

namespace {

using namespace cwasi;
using namespace cwasi::comm;

uint8_t patternAt(uint64_t i) { return static_cast<uint8_t>(i * 131 + (i >> 8) * 7 + 1); }

// A doorbell whose peer never rings: a wait for progress that has not come
// ends at once (its deadline has passed) instead of sleeping.
struct Bell {
  int sockets[2] = {-1, -1};  // the connection's socket, idle: the peer never closes it
  int made = ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets);
  int my_efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  int peer_efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  SharedCounter mine, peers;
  Doorbell doorbell{mine, peers, my_efd, peer_efd, sockets[0]};
};

Bell& bell() {
  static Bell* b = new Bell();  // lives as long as the process
  return *b;
}

// A segment a peer hands over: its size, seals and header are the input's.
void attach(FuzzedDataProvider& in) {
  const size_t size = in.ConsumeIntegralInRange<size_t>(0, kShmControlBytes + 4 * kMinRingBytes);
  const bool seal = in.ConsumeBool();
  ShmControl header{};
  header.magic = in.ConsumeBool() ? kShmMagic : in.ConsumeIntegral<uint32_t>();
  header.version = in.ConsumeBool() ? 1 : in.ConsumeIntegral<uint32_t>();
  header.ring_bytes = in.ConsumeBool() ? (size - std::min(size, kShmControlBytes)) / 2
                                       : in.ConsumeIntegral<uint64_t>();
  Fd fd(::memfd_create("fuzz-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd.valid() || ::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) std::abort();
  if (size >= sizeof header) (void)!::pwrite(fd.get(), &header, sizeof header, 0);
  if (seal) ::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
  auto seg = ShmSegment::attach(std::move(fd), 2 * kMinRingBytes);
  if (!seg.ok()) return;
  FUZZ_CHECK(seal);
  FUZZ_CHECK(seg->ringBytes() >= kMinRingBytes && seg->ringBytes() <= 2 * kMinRingBytes);
  FUZZ_CHECK(kShmControlBytes + 2 * seg->ringBytes() == size);
}

// Where the bytes go is checked only while an index does not pass 2^64: a
// ring whose size is not a power of two places the bytes after that point
// elsewhere than index % size. Both ends agree, and an honest peer starts
// at 0 and never gets there, so only a peer that moved its own index there
// sees its own bytes garbled; the bounds still hold, and are checked.

// Our consumer end of one ring, the peer's producer index set by the input.
class ReaderSide {
 public:
  ReaderSide(size_t cap, uint64_t start) : ring_(cap) {
    for (size_t i = 0; i < cap; ++i) ring_[i] = patternAt(i);
    head_.v = start;
    tail_.v = start;
    reader_.emplace(head_, tail_, ring_.data(), ring_.size(), bell().doorbell);
  }
  uint64_t position() const { return tail_.v.load(); }
  void peerPublishes(uint64_t head) { head_.v.store(head); }
  void read(size_t n) {
    const uint64_t before = tail_.v.load(), head = head_.v.load();
    std::vector<uint8_t> out(n);
    auto r = reader_->read(out, net::Clock::now());
    const uint64_t after = tail_.v.load();
    FUZZ_CHECK(after - before <= head - before);  // never past what was published
    if (!r.ok()) return;
    FUZZ_CHECK(after - before == n);
    if (after < before) return;  // an index passed 2^64 (above)
    for (size_t k = 0; k < n; ++k) FUZZ_CHECK(out[k] == ring_[(before + k) % ring_.size()]);
  }

 private:
  std::vector<uint8_t> ring_;
  SharedCounter head_, tail_;
  std::optional<RingReader> reader_;  // made once the indices are where the peer put them
};

// Our producer end of the other ring, the peer's consumer index set by the input.
class WriterSide {
 public:
  WriterSide(size_t cap, uint64_t start) : ring_(cap, 0) {
    head_.v = start;
    tail_.v = start;
    writer_.emplace(head_, tail_, ring_.data(), ring_.size(), bell().doorbell);
  }
  uint64_t position() const { return head_.v.load(); }
  void peerConsumes(uint64_t tail) { tail_.v.store(tail); }
  void write(size_t n) {
    const uint64_t before = head_.v.load(), tail = tail_.v.load();
    const std::vector<uint8_t> old = ring_;
    std::vector<uint8_t> bytes(n);
    for (size_t k = 0; k < n; ++k) bytes[k] = patternAt(before + k);
    auto r = writer_->write(bytes, net::Clock::now());
    const uint64_t after = head_.v.load(), written = after - before;
    const size_t cap = ring_.size();
    // Never over bytes the peer has not consumed; nothing when its index is impossible.
    FUZZ_CHECK(written <= n);
    FUZZ_CHECK(before - tail > cap ? written == 0 : after - tail <= cap);
    if (r.ok()) FUZZ_CHECK(written == n);
    if (after < before) return;  // an index passed 2^64 (above)
    for (size_t i = 0; i < cap; ++i) {
      const uint64_t offset = (i + cap - before % cap) % cap;  // from our head before
      const bool in_write = offset < written;
      FUZZ_CHECK(ring_[i] == (in_write ? patternAt(before + offset) : old[i]));
    }
  }

 private:
  std::vector<uint8_t> ring_;
  SharedCounter head_, tail_;
  std::optional<RingWriter> writer_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  if (in.ConsumeBool()) attach(in);
  const size_t cap = in.ConsumeIntegralInRange<size_t>(kMinRingBytes, 2 * kMinRingBytes);
  const uint64_t start = in.ConsumeIntegral<uint64_t>();  // indices wrap around 2^64 too
  ReaderSide reader(cap, start);
  WriterSide writer(cap, start);
  while (in.remaining_bytes() > 0) {
    const uint8_t op = in.ConsumeIntegral<uint8_t>();
    const uint64_t step = in.ConsumeIntegralInRange<uint64_t>(0, 2 * cap);
    // The peer's index: near ours (a little outside the valid window on
    // either side, too), or any value at all.
    const bool any = op & 4;
    switch (op & 3) {
      case 0:
        reader.peerPublishes(any ? in.ConsumeIntegral<uint64_t>() : reader.position() + step - cap / 2);
        break;
      case 1: reader.read(static_cast<size_t>(step)); break;
      case 2:
        writer.peerConsumes(any ? in.ConsumeIntegral<uint64_t>() : writer.position() - step + cap / 2);
        break;
      default: writer.write(static_cast<size_t>(step)); break;
    }
  }
  return 0;
}

#include "shm_ring.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <thread>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace cwasi::comm {
namespace {

// Bytes published per step: the reader starts copying while the writer fills
// the next chunk.
constexpr size_t kChunk = 256u << 10;
constexpr int kRequiredSeals = F_SEAL_SHRINK | F_SEAL_SEAL;

size_t segmentSize(size_t ring_bytes) { return kShmControlBytes + 2 * ring_bytes; }

}  // namespace

Result<ShmSegment> ShmSegment::create(size_t ring_bytes) {
  if (ring_bytes < kMinRingBytes) return invalidArgument("ring smaller than 4 KiB");
  ShmSegment s;
  s.fd_.reset(::memfd_create("cwasi-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!s.fd_.valid()) return errnoError("memfd_create", errno);
  s.size_ = segmentSize(ring_bytes);
  s.ring_bytes_ = ring_bytes;
  if (::ftruncate(s.fd_.get(), static_cast<off_t>(s.size_)) != 0) {
    return errnoError("ftruncate", errno);
  }
  if (::fcntl(s.fd_.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    return errnoError("sealing the ring memfd", errno);
  }
  void* p = ::mmap(nullptr, s.size_, PROT_READ | PROT_WRITE, MAP_SHARED, s.fd_.get(), 0);
  if (p == MAP_FAILED) return errnoError("mmap", errno);
  s.base_ = static_cast<uint8_t*>(p);
  auto* c = new (s.base_) ShmControl{};
  c->magic = kShmMagic;
  c->version = 1;
  c->ring_bytes = ring_bytes;
  return s;
}

Result<ShmSegment> ShmSegment::attach(Fd memfd, size_t max_ring_bytes) {
  int seals = ::fcntl(memfd.get(), F_GET_SEALS);
  if (seals < 0 || (seals & kRequiredSeals) != kRequiredSeals) {
    return invalidArgument("ring memory is not sealed against shrinking");
  }
  struct stat st {};
  if (::fstat(memfd.get(), &st) != 0) return errnoError("fstat", errno);
  auto size = static_cast<size_t>(st.st_size);
  if (size < segmentSize(kMinRingBytes) || size > segmentSize(max_ring_bytes) ||
      (size - kShmControlBytes) % 2 != 0) {
    return invalidArgument("ring memory of " + std::to_string(size) + " bytes is out of range");
  }
  ShmSegment s;
  s.fd_ = std::move(memfd);
  s.size_ = size;
  s.ring_bytes_ = (size - kShmControlBytes) / 2;
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, s.fd_.get(), 0);
  if (p == MAP_FAILED) return errnoError("mmap", errno);
  s.base_ = static_cast<uint8_t*>(p);
  ShmControl* c = s.control();
  if (c->magic != kShmMagic || c->version != 1 || c->ring_bytes != s.ring_bytes_) {
    return invalidArgument("ring memory has a bad header");
  }
  return s;
}

ShmSegment::ShmSegment(ShmSegment&& o) noexcept
    : fd_(std::move(o.fd_)),
      base_(std::exchange(o.base_, nullptr)),
      size_(o.size_),
      ring_bytes_(o.ring_bytes_) {}

ShmSegment& ShmSegment::operator=(ShmSegment&& o) noexcept {
  if (this != &o) {
    if (base_) ::munmap(base_, size_);
    fd_ = std::move(o.fd_);
    base_ = std::exchange(o.base_, nullptr);
    size_ = o.size_;
    ring_bytes_ = o.ring_bytes_;
  }
  return *this;
}

ShmSegment::~ShmSegment() {
  if (base_) ::munmap(base_, size_);
}

namespace {
// Threads of this process spinning in a Doorbell right now, and how many may.
std::atomic<int> g_spinners{0};
const int kMaxSpinners = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / 2);
}  // namespace

bool Doorbell::acquireSpinSlot() {
  int n = g_spinners.load(std::memory_order_relaxed);
  while (n < kMaxSpinners) {
    if (g_spinners.compare_exchange_weak(n, n + 1, std::memory_order_acquire)) return true;
  }
  return false;
}

void Doorbell::releaseSpinSlot() { g_spinners.fetch_sub(1, std::memory_order_release); }

void Doorbell::pause() {
#if defined(__x86_64__)
  _mm_pause();
#endif
}

void Doorbell::ring() {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (peers_.v.load(std::memory_order_seq_cst) != 0) {
    uint64_t one = 1;
    ssize_t w = ::write(peer_efd_, &one, sizeof one);
    (void)w;  // a full counter still wakes the peer
  }
}

Result<void> Doorbell::sleep(net::Deadline deadline) {
  pollfd fds[2] = {{my_efd_, POLLIN, 0}, {sock_, POLLIN | POLLRDHUP, 0}};
  int timeout = -1;
  if (deadline != net::Deadline::max()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - net::Clock::now());
    if (left.count() <= 0) return deadlineExceeded("shared-memory transfer timed out");
    timeout = static_cast<int>(std::min<int64_t>(left.count() + 1, INT32_MAX));
  }
  int r = ::poll(fds, 2, timeout);
  if (r < 0 && errno != EINTR) return errnoError("poll", errno);
  if (fds[0].revents & POLLIN) {
    uint64_t v;
    ssize_t n = ::read(my_efd_, &v, sizeof v);
    (void)n;
  }
  // After the handshake nothing travels on the socket: any event on it means
  // the peer closed it (or died) or broke the protocol.
  if (fds[1].revents != 0) return unavailable("the peer process closed the connection");
  if (r == 0) return deadlineExceeded("shared-memory transfer timed out");
  return {};
}

Result<void> RingWriter::write(std::span<const uint8_t> bytes, net::Deadline deadline) {
  size_t done = 0;
  while (done < bytes.size()) {
    uint64_t tail = 0;
    bool bad = false;
    auto space = [&] {
      tail = tail_.v.load(std::memory_order_acquire);
      if (pos_ - tail > cap_) bad = true;  // a peer's index we cannot have produced
      return bad || pos_ - tail < cap_;
    };
    TRY(bell_.waitUntil(space, deadline));
    if (bad) return invalidArgument("peer corrupted the ring (tail index out of range)");
    size_t free = cap_ - static_cast<size_t>(pos_ - tail);
    size_t n = std::min({free, bytes.size() - done, kChunk});
    size_t at = static_cast<size_t>(pos_ % cap_);
    size_t first = std::min(n, cap_ - at);
    std::memcpy(data_ + at, bytes.data() + done, first);
    if (n > first) std::memcpy(data_, bytes.data() + done + first, n - first);
    pos_ += n;
    done += n;
    head_.v.store(pos_, std::memory_order_release);
    bell_.ring();
  }
  return {};
}

Result<void> RingReader::read(std::span<uint8_t> out, net::Deadline deadline) {
  size_t done = 0;
  while (done < out.size()) {
    uint64_t head = 0;
    bool bad = false;
    auto data = [&] {
      head = head_.v.load(std::memory_order_acquire);
      if (head - pos_ > cap_) bad = true;
      return bad || head != pos_;
    };
    TRY(bell_.waitUntil(data, deadline));
    if (bad) return invalidArgument("peer corrupted the ring (head index out of range)");
    size_t avail = static_cast<size_t>(head - pos_);
    size_t n = std::min({avail, out.size() - done, kChunk});
    size_t at = static_cast<size_t>(pos_ % cap_);
    size_t first = std::min(n, cap_ - at);
    std::memcpy(out.data() + done, data_ + at, first);
    if (n > first) std::memcpy(out.data() + done + first, data_, n - first);
    pos_ += n;
    done += n;
    tail_.v.store(pos_, std::memory_order_release);
    bell_.ring();
  }
  return {};
}

}  // namespace cwasi::comm

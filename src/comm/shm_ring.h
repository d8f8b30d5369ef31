// Internal to the comm layer: the shared memory of one local connection and
// the byte rings inside it.
//
// A client creates a memfd (sealed against shrinking, so the server can never
// be made to fault on a truncated mapping), maps it, and passes it with two
// eventfds over the host's unix socket. Layout:
//   [Control, 4 KiB][ring A: client -> server][ring B: server -> client]
// Each ring is single-producer/single-consumer; payloads larger than the ring
// stream through it in chunks while the reader copies out concurrently.
// Waiting spins briefly, then sleeps on the side's eventfd and on the socket,
// so a peer that dies wakes the waiter at once ("unavailable", no hang).
// Indices read from shared memory come from an untrusted peer: every one is
// checked before use.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

#include "cwasi/common/fd.h"
#include "cwasi/common/net.h"
#include "cwasi/common/result.h"

namespace cwasi::comm {

inline constexpr uint32_t kShmMagic = 0x4d485343;  // "CSHM"
inline constexpr size_t kShmControlBytes = 4096;
inline constexpr size_t kMinRingBytes = 4096;

struct alignas(64) SharedCounter {
  std::atomic<uint64_t> v{0};
};

struct ShmControl {
  uint32_t magic;
  uint32_t version;
  uint64_t ring_bytes;
  SharedCounter a_head, a_tail, b_head, b_tail;
  SharedCounter client_sleeping, server_sleeping;
};
static_assert(sizeof(ShmControl) <= kShmControlBytes);

class ShmSegment {
 public:
  // Client side: a new sealed memfd with two rings of `ring_bytes`.
  static Result<ShmSegment> create(size_t ring_bytes);
  // Server side: maps a memfd received from a peer after checking its seals,
  // its size and its header; rings of at most `max_ring_bytes`.
  static Result<ShmSegment> attach(Fd memfd, size_t max_ring_bytes);

  ShmSegment(ShmSegment&& o) noexcept;
  ShmSegment& operator=(ShmSegment&& o) noexcept;
  ~ShmSegment();

  int fd() const { return fd_.get(); }
  ShmControl* control() { return reinterpret_cast<ShmControl*>(base_); }
  uint8_t* ringA() { return base_ + kShmControlBytes; }
  uint8_t* ringB() { return base_ + kShmControlBytes + ring_bytes_; }
  size_t ringBytes() const { return ring_bytes_; }

 private:
  ShmSegment() = default;
  Fd fd_;
  uint8_t* base_ = nullptr;
  size_t size_ = 0;
  size_t ring_bytes_ = 0;
};

// Wakes the peer and waits for progress, for one side of a connection.
class Doorbell {
 public:
  Doorbell(SharedCounter& mine, SharedCounter& peers, int my_eventfd, int peer_eventfd,
           int socket_fd)
      : mine_(mine), peers_(peers), my_efd_(my_eventfd), peer_efd_(peer_eventfd), sock_(socket_fd) {}

  // Wakes the peer if it sleeps. Call after publishing an index.
  void ring();
  // Waits until ready() holds. Unavailable when the peer closed its socket,
  // DeadlineExceeded past `deadline`.
  template <typename Ready>
  Result<void> waitUntil(Ready&& ready, net::Deadline deadline) {
    if (spinUntil(ready)) return {};
    for (;;) {
      mine_.v.store(1, std::memory_order_seq_cst);
      std::atomic_thread_fence(std::memory_order_seq_cst);
      if (ready()) {
        mine_.v.store(0, std::memory_order_relaxed);
        return {};
      }
      Result<void> r = sleep(deadline);
      mine_.v.store(0, std::memory_order_relaxed);
      if (ready()) return {};
      TRY(r);
    }
  }

 private:
  // Spins only while few others do: with many connections waiting at once
  // (fan-out), spinning threads would only take the CPU from the ones that
  // have work.
  template <typename Ready>
  bool spinUntil(Ready& ready) {
    if (!acquireSpinSlot()) return ready();
    auto until = net::Clock::now() + std::chrono::microseconds(kSpinMicros);
    bool done = false;
    for (int i = 0;; ++i) {
      if (ready()) {
        done = true;
        break;
      }
      if ((i & 63) == 63 && net::Clock::now() >= until) break;
      pause();
    }
    releaseSpinSlot();
    return done;
  }
  static bool acquireSpinSlot();
  static void releaseSpinSlot();
  static void pause();
  // One sleep on the eventfd and the socket; errors when the peer is gone or
  // the deadline passed.
  Result<void> sleep(net::Deadline deadline);

  // How long a waiter spins before sleeping: covers a peer that is running.
  static constexpr int kSpinMicros = 50;
  SharedCounter& mine_;
  SharedCounter& peers_;
  int my_efd_, peer_efd_, sock_;
};

// The producer end of a ring. Keeps its own head; trusts nothing it reads.
class RingWriter {
 public:
  RingWriter(SharedCounter& head, SharedCounter& tail, uint8_t* data, size_t capacity,
             Doorbell& bell)
      : head_(head), tail_(tail), data_(data), cap_(capacity), bell_(bell),
        pos_(head.v.load(std::memory_order_relaxed)) {}
  Result<void> write(std::span<const uint8_t> bytes, net::Deadline deadline);

 private:
  SharedCounter& head_;
  SharedCounter& tail_;
  uint8_t* data_;
  size_t cap_;
  Doorbell& bell_;
  uint64_t pos_;  // our head
};

// The consumer end of a ring.
class RingReader {
 public:
  RingReader(SharedCounter& head, SharedCounter& tail, uint8_t* data, size_t capacity,
             Doorbell& bell)
      : head_(head), tail_(tail), data_(data), cap_(capacity), bell_(bell),
        pos_(tail.v.load(std::memory_order_relaxed)) {}
  Result<void> read(std::span<uint8_t> out, net::Deadline deadline);

 private:
  SharedCounter& head_;
  SharedCounter& tail_;
  uint8_t* data_;
  size_t cap_;
  Doorbell& bell_;
  uint64_t pos_;  // our tail
};

}  // namespace cwasi::comm

/* A cheap 64-bit checksum (Fletcher-style over 64-bit words, order
 * sensitive) shared by the comm test and benchmark functions; the host tests
 * compute the same function to check payloads end to end. */
#ifndef CWASI_FUNCTIONS_CHECKSUM_H
#define CWASI_FUNCTIONS_CHECKSUM_H

#include <stdint.h>
#include <string.h>

static inline uint64_t cw_checksum(const uint8_t* p, uint64_t n) {
  /* Four independent Fletcher lanes over 32-byte blocks (so the CPU can run
   * them in parallel), folded together, then the tail byte by byte. */
  uint64_t a[4] = {1, 2, 3, 4}, b[4] = {0, 0, 0, 0};
  uint64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    for (int l = 0; l < 4; ++l) {
      uint64_t w;
      memcpy(&w, p + i + 8 * l, 8);
      a[l] += w;
      b[l] += a[l];
    }
  }
  uint64_t fa = a[0] ^ (a[1] << 1) ^ (a[2] << 2) ^ (a[3] << 3);
  uint64_t fb = b[0] + 3 * b[1] + 5 * b[2] + 7 * b[3];
  for (; i < n; ++i) {
    fa += p[i];
    fb += fa;
  }
  return (fb << 1) ^ fa ^ n;
}

/* The payload pattern: byte i of a payload is (i * 131 + seed) & 0xff. */
static inline void cw_fill(uint8_t* p, uint64_t n, uint32_t seed) {
  for (uint64_t i = 0; i < n; ++i) p[i] = (uint8_t)(i * 131 + seed);
}

static inline void cw_put32(uint8_t* p, uint32_t v) { memcpy(p, &v, 4); }
static inline void cw_put64(uint8_t* p, uint64_t v) { memcpy(p, &v, 8); }
static inline uint64_t cw_get64(const uint8_t* p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

#endif

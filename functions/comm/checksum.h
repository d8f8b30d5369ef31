/* A cheap 64-bit checksum (Fletcher-style over 64-bit words, order
 * sensitive) shared by the comm test and benchmark functions; the host tests
 * compute the same function to check payloads end to end. */
#ifndef CWASI_FUNCTIONS_CHECKSUM_H
#define CWASI_FUNCTIONS_CHECKSUM_H

#include <stdint.h>
#include <string.h>

static inline uint64_t cw_checksum(const uint8_t* p, uint64_t n) {
  uint64_t a = 1, b = 0;
  uint64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    a += w;
    b += a;
  }
  for (; i < n; ++i) {
    a += p[i];
    b += a;
  }
  return (b << 1) ^ a ^ n;
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

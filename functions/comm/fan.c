// fan (reactor): the three roles of the fan-out/fan-in tests and benchmark,
// chosen by the request "<role> <args>":
//   produce N SIZE WORKER   send N payloads of SIZE bytes to WORKER's mailbox
//                           (payload i: cw_fill(seed 0), first 8 bytes = i)
//   work COLLECTOR          receive one payload, send its 16-byte digest to COLLECTOR
//   collect N              receive N digests; answer N and the sum of checksums
#include <cwasi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"

static uint8_t out[32];

static int32_t answer(int32_t status, uint64_t a, uint64_t b) {
  cw_put32(out, (uint32_t)status);
  cw_put64(out + 8, a);
  cw_put64(out + 16, b);
  cwasi_response_set(out, 24);
  return status;
}

static int32_t handle(const uint8_t* req, uint32_t len) {
  char text[300];
  if (len >= sizeof text) return answer(-1, 0, 0);
  memcpy(text, req, len);
  text[len] = 0;
  char role[16], name[256];
  unsigned long n = 0, size = 0;
  if (sscanf(text, "produce %lu %lu %255s", &n, &size, name) == 3) {
    uint8_t* payload = malloc(size < 8 ? 8 : size);
    cw_fill(payload, size, 0);  // once: the benchmark times the sending, not the filling
    for (unsigned long i = 0; i < n; ++i) {
      if (size >= 8) cw_put64(payload, i);
      int32_t st = cwasi_send(name, (uint32_t)strlen(name), payload, (uint32_t)size);
      if (st != CWASI_OK) return answer(st, i, 0);
    }
    return answer(0, n, 0);
  }
  if (sscanf(text, "work %255s", name) == 1) {
    uint8_t* msg = NULL;
    uint32_t msg_len = 0;
    int32_t st = cwasi_recv(60000, &msg, &msg_len);
    if (st != CWASI_OK) return answer(st, 0, 0);
    uint8_t digest[16];
    cw_put64(digest, msg_len);
    cw_put64(digest + 8, cw_checksum(msg, msg_len));
    st = cwasi_send(name, (uint32_t)strlen(name), digest, sizeof digest);
    return answer(st, msg_len, cw_get64(digest + 8));
  }
  if (sscanf(text, "collect %lu", &n) == 1) {
    uint64_t sum = 0;
    for (unsigned long i = 0; i < n; ++i) {
      uint8_t* msg = NULL;
      uint32_t msg_len = 0;
      int32_t st = cwasi_recv(60000, &msg, &msg_len);
      if (st != CWASI_OK || msg_len != 16) return answer(st ? st : -2, i, sum);
      sum += cw_get64(msg + 8);
      free(msg);
    }
    return answer(0, n, sum);
  }
  (void)role;
  return answer(-1, 0, 0);
}

CWASI_HANDLER(handle)

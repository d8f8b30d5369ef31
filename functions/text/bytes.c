// bytes (reactor): responds with as many bytes as its request asks for (a
// decimal number; 0 when it is none), the letters a to z over and over — a
// large response from a tiny request, as the hardening benchmark needs.
#include <cwasi.h>
#include <stdlib.h>

static int32_t bytes(const uint8_t* request, uint32_t len) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < len && request[i] >= '0' && request[i] <= '9'; ++i) {
    n = n * 10 + (uint32_t)(request[i] - '0');
  }
  uint8_t* out = malloc(n ? n : 1);
  if (out == NULL) return 1;
  for (uint32_t i = 0; i < n; ++i) out[i] = (uint8_t)('a' + i % 26);
  int32_t rc = cwasi_response_set(out, n);
  free(out);
  return rc;
}

CWASI_HANDLER(bytes)

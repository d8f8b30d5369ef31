// reverse (reactor): responds with its request's bytes in reverse order.
#include <cwasi.h>
#include <stdlib.h>

static int32_t reverse(const uint8_t* request, uint32_t len) {
  uint8_t* out = malloc(len ? len : 1);
  if (out == NULL) return 1;
  for (uint32_t i = 0; i < len; ++i) out[i] = request[len - 1 - i];
  int32_t rc = cwasi_response_set(out, len);
  free(out);
  return rc;
}

CWASI_HANDLER(reverse)

// upper (reactor): responds with its request in upper case, and logs the
// request size on stderr (what `cwasi logs` shows).
#include <cwasi.h>
#include <stdio.h>
#include <stdlib.h>

static int32_t upper(const uint8_t* request, uint32_t len) {
  uint8_t* out = malloc(len ? len : 1);
  if (out == NULL) return 1;
  for (uint32_t i = 0; i < len; ++i) {
    uint8_t c = request[i];
    out[i] = (c >= 'a' && c <= 'z') ? (uint8_t)(c - 'a' + 'A') : c;
  }
  fprintf(stderr, "upper: %u bytes\n", len);
  int32_t rc = cwasi_response_set(out, len);
  free(out);
  return rc;
}

CWASI_HANDLER(upper)

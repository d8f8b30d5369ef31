// checksum (reactor): answers 16 bytes, the request's length and checksum.
#include <cwasi.h>

#include "checksum.h"

static uint8_t out[16];

static int32_t checksum(const uint8_t* request, uint32_t len) {
  cw_put64(out, len);
  cw_put64(out + 8, cw_checksum(request, len));
  return cwasi_response_set(out, sizeof out);
}

CWASI_HANDLER(checksum)

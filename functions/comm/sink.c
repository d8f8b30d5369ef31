// sink (reactor): answers the request's length (8 bytes) without reading it —
// isolates the cost of moving a payload from the work done on it.
#include <cwasi.h>

#include "checksum.h"

static uint8_t out[8];

static int32_t sink(const uint8_t* request, uint32_t len) {
  (void)request;
  cw_put64(out, len);
  return cwasi_response_set(out, sizeof out);
}

CWASI_HANDLER(sink)
